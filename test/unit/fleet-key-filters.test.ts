/**
 * The fleet filter's keys by alias and key id (resolved once per run with DescribeKey, `aws/ecr`
 * through ListAliases), an alias that names no key refused before anything is listed, and the name
 * glob compiled by the policy evaluator's compiler. aws-sdk-client-mock, real SDK exceptions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient, type Repository } from '@aws-sdk/client-ecr';
import { DescribeKeyCommand, KMSClient, ListAliasesCommand, NotFoundException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, parseRepositoryFilter, type RepositoryFilter } from '../../src/index.js';
import { nameGlob } from '../../src/fleet-migration/where.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const ACCOUNT = '111111111111';
const PROD = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
const DEV = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/99999999-2222-3333-4444-555555555555`;
const AWS_ECR_ID = 'aaaaaaaa-2222-3333-4444-555555555555';
const AWS_ECR = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/${AWS_ECR_ID}`;
const dir = mkdtempSync(join(tmpdir(), 'fleet-keys-'));
const registry = () => new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' } } });

const repo = (name: string, type: 'AES256' | 'KMS' = 'AES256', key?: string): Repository => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/${name}`,
  encryptionConfiguration: { encryptionType: type, ...(key ? { kmsKey: key } : {}) },
});

const REGISTRY = [repo('plain'), repo('prod', 'KMS', PROD), repo('dev', 'KMS', DEV), repo('managed', 'KMS', AWS_ECR), repo('unreported', 'KMS')];

const ALIASES: Readonly<Record<string, string>> = {
  'alias/ecr-prod': PROD,
  [`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/ecr-dev`]: DEV,
  '99999999-2222-3333-4444-555555555555': DEV,
};

const selected = async (where: RepositoryFilter) =>
  (await registry().migrateRepositories({ encryption: 'AES256', where, journal: join(dir, 'plan.json'), planOnly: true })).map((r) =>
    r.plan.repositories.map((p) => p.repositoryName),
  );

describe('migrateRepositories key filters by alias', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    ecr.on(DescribeRepositoriesCommand).callsFake((input: { repositoryNames?: string[] }) =>
      input.repositoryNames === undefined ? { repositories: REGISTRY } : { repositories: REGISTRY.filter((r) => r.repositoryName === input.repositoryNames?.[0]) },
    );
    kms.on(DescribeKeyCommand).callsFake((input: { KeyId: string }) => {
      const arn = ALIASES[input.KeyId];
      if (arn === undefined) throw new NotFoundException({ $metadata: {}, message: `Alias arn:aws:kms:eu-west-1:${ACCOUNT}:${input.KeyId} is not found.` });
      return { KeyMetadata: { KeyId: arn.split('/')[1], Arn: arn, KeyManager: 'CUSTOMER' } };
    });
    kms.on(ListAliasesCommand).resolves({
      Aliases: [{ AliasName: 'alias/aws/ecr', AliasArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/aws/ecr`, TargetKeyId: AWS_ECR_ID }],
    });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses key!=alias/…,arn:… and key=<alias ARN or key id> as key references', () => {
    // Act
    const filter = parseRepositoryFilter([`key!=alias/ecr-prod, ${DEV}`, `key=arn:aws:kms:eu-west-1:${ACCOUNT}:alias/ecr-dev,99999999-2222-3333-4444-555555555555`]);

    // Assess
    expect(filter._unsafeUnwrap()).toEqual({
      notOnKeys: ['alias/ecr-prod', DEV],
      onKeys: [`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/ecr-dev`, '99999999-2222-3333-4444-555555555555'],
    });
    expect(parseRepositoryFilter(['key=ecr-prod'])._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'where', reason: expect.stringContaining('ecr-prod: not a key id') as unknown });
  });

  it('resolves each alias, alias ARN and key id once with DescribeKey, and selects by the key ARN ECR reports', async () => {
    // Act
    const notProd = await selected({ notOnKeys: ['alias/ecr-prod'] });
    const dev = await selected({ onKeys: [`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/ecr-dev`, '99999999-2222-3333-4444-555555555555'], notOnKeys: ['alias/ecr-prod', 'alias/ecr-prod'] });

    // Assess
    expect(notProd._unsafeUnwrap()).toEqual(['dev', 'managed', 'plain', 'unreported']);
    expect(dev._unsafeUnwrap()).toEqual(['dev']);
    expect(kms.commandCalls(DescribeKeyCommand).map((c) => c.args[0].input.KeyId)).toEqual([
      'alias/ecr-prod',
      `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/ecr-dev`,
      '99999999-2222-3333-4444-555555555555',
      'alias/ecr-prod',
    ]);
  });

  it('makes no KMS call for key ARNs', async () => {
    // Act
    const result = await selected({ onKeys: [PROD] });

    // Assess
    expect(result._unsafeUnwrap()).toEqual(['prod']);
    expect(kms.calls()).toHaveLength(0);
  });

  it.each([
    [{ notOnKeys: ['alias/ecr-prdo'] }, 'alias/ecr-prdo'],
    [{ onKeys: [PROD, 'alias/gone'] }, 'alias/gone'],
  ])('answers KeyNotFound naming the alias of %j before listing any repository', async (where, key) => {
    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where, journal: join(dir, 'missing.json') });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound', operation: 'DescribeKey', key });
    expect(ecr.calls()).toHaveLength(0);
  });

  it.each([
    [{ notOnKeys: ['arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555'] }, 'where.notOnKeys'],
    [{ onKeys: ['arn:aws:kms:us-east-1:111111111111:alias/ecr-prod'] }, 'where.onKeys'],
  ])('refuses a key or alias ARN of another Region (%j: no repository can be on it) before any AWS call', async (where, field) => {
    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where, journal: join(dir, 'region.json') });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field, reason: expect.stringContaining('is in us-east-1: no repository of eu-west-1 can be on it') as unknown });
    expect(ecr.calls()).toHaveLength(0);
    expect(kms.calls()).toHaveLength(0);
  });

  it('finds alias/aws/ecr through ListAliases (never DescribeKey, which would create the key) and counts a KMS repository without a reported key as on it', async () => {
    // Act
    const onManaged = await selected({ onKeys: ['alias/aws/ecr'] });
    const notManaged = await selected({ notOnKeys: [`arn:aws:kms:eu-west-1:${ACCOUNT}:alias/aws/ecr`] });

    // Assess
    expect(onManaged._unsafeUnwrap()).toEqual(['managed', 'unreported']);
    expect(notManaged._unsafeUnwrap()).toEqual(['dev', 'plain', 'prod']);
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(0);
    expect(kms.commandCalls(ListAliasesCommand)).toHaveLength(2);
  });

  it('with no aws/ecr key in the account yet, alias/aws/ecr stands for no key ARN (no repository can be on it)', async () => {
    // Prepare: AWS lists the predefined alias without a target until the key exists.
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/aws/ecr', AliasArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:alias/aws/ecr` }] });

    // Act
    const onManaged = await selected({ onKeys: ['alias/aws/ecr'] });

    // Assess
    expect(onManaged._unsafeUnwrap()).toEqual(['unreported']);
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(0);
  });
});

describe('the name glob (the policy evaluator compiles it)', () => {
  it.each([
    ['team/*', 'team/a/b', true],
    ['team/*', 'team', false],
    ['team/*', 'xteam/a', false],
    ['team?', 'teamx', true],
    ['team?', 'team', false],
    ['team?', 'teamxy', false],
    ['*', 'anything/at/all', true],
    ['a.b', 'axb', false],
    ['a.b', 'a.b', true],
    ['a+b', 'a+b', true],
    ['a+b', 'aab', false],
    ['(x)|y', '(x)|y', true],
    ['(x)|y', 'y', false],
    ['${x}', '${x}', true],
    ['app', 'app', true],
    ['app', 'App', false],
    ['app', 'apps', false],
    ['*-prod', 'team/api-prod', true],
  ])('%s against %s is %s', (pattern, name, expected) => {
    // Act and assess
    expect(nameGlob(pattern)(name)).toBe(expected);
  });
});
