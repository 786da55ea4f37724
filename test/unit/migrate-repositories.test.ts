/**
 * `migrateRepositories` with aws-sdk-client-mock: the `where` parser, the selection over a paged
 * DescribeRepositories (filters, staging repositories left out, named repositories), bad input
 * answered before any AWS call, and the fleet journal's guards. Rejections are real SDK exceptions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient, ECRServiceException, type Repository, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, parseRepositoryFilter } from '../../src/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const KEY = 'arn:aws:kms:eu-west-1:111111111111:key/11111111-2222-3333-4444-555555555555';
const OTHER = 'arn:aws:kms:eu-west-1:111111111111:key/99999999-2222-3333-4444-555555555555';
const dir = mkdtempSync(join(tmpdir(), 'fleet-unit-'));
const registry = () => new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' } } });

const repo = (name: string, type: 'AES256' | 'KMS' | 'KMS_DSSE' = 'AES256', key?: string): Repository => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:eu-west-1:111111111111:repository/${name}`,
  encryptionConfiguration: { encryptionType: type, ...(key ? { kmsKey: key } : {}) },
});

const REGISTRY = [
  repo('team/a'),
  repo('team/b', 'KMS', OTHER),
  repo('team/c', 'KMS', KEY),
  repo('team/a-migrating-0123456789ab', 'KMS', KEY),
  repo('other/x', 'KMS_DSSE', OTHER),
  repo('teamx'),
];

describe('parseRepositoryFilter', () => {
  it('reads encryption, key and name expressions, all of which must hold', () => {
    // Act
    const filter = parseRepositoryFilter(['encryption=aes256,KMS', `key!=${KEY}, ${OTHER}`, 'name=team/*', 'encryption!=KMS']);

    // Assess
    expect(filter._unsafeUnwrap()).toEqual({ encryptionTypes: ['AES256'], notOnKeys: [KEY, OTHER], name: 'team/*' });
    expect(parseRepositoryFilter([`key=${KEY}`])._unsafeUnwrap()).toEqual({ onKeys: [KEY] });
    expect(parseRepositoryFilter([])._unsafeUnwrap()).toEqual({});
  });

  it.each([
    ['owner=me', 'unknown field owner'],
    ['encryption=RSA', 'RSA is not one of AES256, KMS, KMS_DSSE'],
    ['key!=ecr', 'ecr: not a key id (UUID or mrk-…), key ARN, alias name (alias/…) or alias ARN'],
    ['name=', 'has no value'],
    ['encryption', 'is not <field>=<value>'],
    ['name!=team/*', 'name takes one glob'],
  ])('refuses %s as InvalidInput', (expression, reason) => {
    // Act
    const filter = parseRepositoryFilter([expression]);

    // Assess
    const error = filter._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'InvalidInput', field: 'where' });
    expect(error.reason).toContain(reason);
  });
});

describe('EncryptedRegistry.migrateRepositories selection and input', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    // Two pages of the registry; a repository described by name is not found (its plan fails, its row stays).
    ecr.on(DescribeRepositoriesCommand).callsFake((input: { repositoryNames?: string[]; nextToken?: string }) => {
      if (input.repositoryNames !== undefined) throw new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${input.repositoryNames[0] ?? ''}' does not exist` });
      return input.nextToken === undefined ? { repositories: REGISTRY.slice(0, 3), nextToken: 'page2' } : { repositories: REGISTRY.slice(3) };
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const plannedNames = async (where: Parameters<EncryptedRegistry['migrateRepositories']>[0]['where'], repositoryNames?: string[]): Promise<string[]> => {
    const result = await registry().migrateRepositories({
      encryption: { type: 'KMS', key: KEY },
      ...(where === undefined ? {} : { where }),
      ...(repositoryNames === undefined ? {} : { repositoryNames }),
      journal: join(dir, 'plan.json'),
      planOnly: true,
    });
    return result._unsafeUnwrap().plan.repositories.map((r) => r.repositoryName);
  };

  it('selects over every page by type, key and name glob, never a staging repository', async () => {
    // Act and assess
    expect(await plannedNames({})).toEqual(['other/x', 'team/a', 'team/b', 'team/c', 'teamx']);
    expect(await plannedNames({ encryptionTypes: ['AES256'] })).toEqual(['team/a', 'teamx']);
    expect(await plannedNames({ notOnKeys: [KEY] })).toEqual(['other/x', 'team/a', 'team/b', 'teamx']);
    expect(await plannedNames({ onKeys: [OTHER], encryptionTypes: ['KMS'] })).toEqual(['team/b']);
    expect(await plannedNames({ name: 'team/*' })).toEqual(['team/a', 'team/b', 'team/c']);
    expect(await plannedNames({ name: 'team?' })).toEqual(['teamx']);
    expect(await plannedNames({ name: 'team/*' }, ['team/b', 'other/x'])).toEqual(['team/b']);
    // Both pages were read each time (five filtered runs, plus the first).
    expect(ecr.commandCalls(DescribeRepositoriesCommand, { nextToken: 'page2' })).toHaveLength(7);
  });

  it('takes named repositories as named, and a missing one is a plan row with its error, not a failure of the whole', async () => {
    // Act
    const result = await registry().migrateRepositories({ encryption: { type: 'KMS', key: KEY }, repositoryNames: ['gone/app'], journal: join(dir, 'named.json'), planOnly: true });

    // Assess
    const plan = result._unsafeUnwrap().plan;
    expect(plan.repositories).toEqual([expect.objectContaining({ repositoryName: 'gone/app', ready: false, error: expect.objectContaining({ kind: 'RepositoryNotFound' }) as unknown })]);
    expect(plan.totals).toMatchObject({ repositories: 1, blocked: 1, toMigrate: 0 });
  });

  it('answers AccessDenied when the registry cannot be listed', async () => {
    // Prepare
    ecr.on(DescribeRepositoriesCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not allowed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal: join(dir, 'denied.json') });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'DescribeRepositories' });
  });

  it.each([
    [{ where: {} }, 'encryption'],
    [{ encryption: 'AES256' as const }, 'where'],
    [{ encryption: 'AES256' as const, where: {}, concurrency: 0 }, 'concurrency'],
    [{ encryption: 'AES256' as const, where: {}, blobConcurrency: 65 }, 'blobConcurrency'],
    [{ encryption: 'AES256' as const, where: { notOnKeys: ['ecr-prod'] } }, 'where.notOnKeys'],
    [{ resume: true, where: {} }, 'resume'],
    [{ resume: true, planOnly: true }, 'planOnly'],
    [{ encryption: 'AES256' as const, where: { name: 42 } }, 'where.name'],
  ])('refuses bad input %j before any AWS call', async (input, field) => {
    // Act
    const result = await registry().migrateRepositories(input as Parameters<EncryptedRegistry['migrateRepositories']>[0]);

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
    expect(ecr.calls()).toHaveLength(0);
  });

  it('refuses a bad repository name and a bad encryption with their own kinds', async () => {
    // Act
    const name = await registry().migrateRepositories({ encryption: 'AES256', repositoryNames: ['Bad Name'] });
    const encryption = await registry().migrateRepositories({ encryption: { type: 'RSA' } as never, where: {} });

    // Assess
    expect(name._unsafeUnwrapErr().kind).toBe('InvalidRepositoryName');
    expect(encryption._unsafeUnwrapErr().kind).toBe('InvalidEncryption');
    expect(ecr.calls()).toHaveLength(0);
  });

  it('resumes only a journal that records a fleet migration, and never starts over an unfinished one', async () => {
    // Prepare
    const unfinished = join(dir, 'unfinished.json');
    writeFileSync(unfinished, JSON.stringify({ format: 'encrypted-ecr/fleet-migration', version: 1, region: 'eu-west-1', startedAt: 'then', encryption: 'AES256', plan: {}, repositories: [] }));
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, '{"format":"something else"}');

    // Act
    const nothing = await registry().migrateRepositories({ resume: true, journal: join(dir, 'none.json') });
    const again = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal: unfinished });
    const wrong = await registry().migrateRepositories({ resume: true, journal: foreign });

    // Assess
    expect(nothing._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'journal' });
    expect(nothing._unsafeUnwrapErr()).toHaveProperty('reason', expect.stringContaining('records no fleet migration') as unknown);
    expect(again._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'journal' });
    expect(again._unsafeUnwrapErr()).toHaveProperty('reason', expect.stringContaining('resume it') as unknown);
    expect(wrong._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load' });
    expect(ecr.calls()).toHaveLength(0);
  });
});
