/**
 * Fleet migration on the emulator: five repositories, some AES256, one already on the target key,
 * one whose repository policy refuses the migration; the right ones migrated with every digest,
 * the failure reported, the others untouched by it.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type RepositoriesMigrationProgress } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

/** A repository policy that refuses SetRepositoryPolicy to everyone: the migration's freeze cannot be set. */
const REFUSING_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'NoPolicyChanges', Effect: 'Deny', Principal: '*', Action: ['ecr:SetRepositoryPolicy', 'ecr:DeleteRepositoryPolicy'] }],
});

// Each test migrates several repositories over HTTP: one took the whole default 30 s on a loaded
// 2-core machine (two CPU hogs), the other 16 s.
describe('migrateRepositories on the local emulator', { timeout: 120_000 }, () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let registry: EncryptedRegistry;
  let dir: string;
  let keyArn: string;
  let otherKeyArn: string;

  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
    const kms = new KMSClient(aws.clientConfig());
    keyArn = (await kms.send(new CreateKeyCommand({ Description: 'fleet target' }))).KeyMetadata?.Arn ?? '';
    otherKeyArn = (await kms.send(new CreateKeyCommand({ Description: 'fleet other' }))).KeyMetadata?.Arn ?? '';
    kms.destroy();
    dir = mkdtempSync(join(tmpdir(), 'fleet-migrate-'));
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = async (name: string, encryption: { encryptionType: 'AES256' | 'KMS'; kmsKey?: string }, seed: number): Promise<void> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name, encryptionConfiguration: encryption }));
    await pushImage(ecr, name, { layers: [randomBytes(6 * 1024, seed), randomBytes(3 * 1024, seed + 1)], tags: ['v1'], label: `${name}-1` });
    await pushImage(ecr, name, { layers: [randomBytes(5 * 1024, seed + 2)], label: `${name}-untagged` });
  };

  const digestsOf = async (name: string): Promise<string[]> =>
    ((await ecr.send(new DescribeImagesCommand({ repositoryName: name, maxResults: 1000 }))).imageDetails ?? []).map((d) => d.imageDigest ?? '').sort();

  const encryptionOf = async (name: string): Promise<{ type: string | undefined; key: string | undefined }> => {
    const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
    return { type: repo?.encryptionConfiguration?.encryptionType, key: repo?.encryptionConfiguration?.kmsKey };
  };

  it('migrates the selected repositories, reports the one that fails, and leaves no staging repository or orphan grant', async () => {
    // Prepare: five repositories under fleet/, and one outside the selection.
    await create('fleet/a', { encryptionType: 'AES256' }, 10);
    await create('fleet/b', { encryptionType: 'AES256' }, 20);
    await create('fleet/c', { encryptionType: 'KMS', kmsKey: otherKeyArn }, 30);
    await create('fleet/done', { encryptionType: 'KMS', kmsKey: keyArn }, 40);
    await create('fleet/refuses', { encryptionType: 'AES256' }, 50);
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fleet/refuses', policyText: REFUSING_POLICY, force: true }));
    await create('other/app', { encryptionType: 'AES256' }, 60);
    const names = ['fleet/a', 'fleet/b', 'fleet/c', 'fleet/done', 'fleet/refuses'];
    const before = Object.fromEntries(await Promise.all([...names, 'other/app'].map(async (n) => [n, await digestsOf(n)] as const)));
    const journal = join(dir, 'fleet.json');
    const updates: RepositoriesMigrationProgress[] = [];

    // Act
    const plan = (await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, where: { name: 'fleet/*' }, journal, planOnly: true }))._unsafeUnwrap();
    const journalAfterPlan = existsSync(journal);
    const run = await registry.migrateRepositories({
      encryption: { type: 'KMS', key: keyArn },
      where: { name: 'fleet/*' },
      journal,
      concurrency: 2,
      onProgress: (p) => updates.push(p),
    });

    // Assess: the plan
    expect(plan.planOnly).toBe(true);
    expect(plan.plan.repositories.map((r) => r.repositoryName)).toEqual(names);
    expect(plan.plan.totals).toMatchObject({ repositories: 5, nothingToDo: 1, images: 10 });
    expect(plan.plan.bindingQuota?.api).toBe('ecr:PutImage');
    // AES256 → KMS: ECR's own grants for the staging and the recreated repository, and for deleting the staging one.
    expect(plan.plan.repositories[0]?.quotaCalls).toMatchObject({ 'kms:CreateGrant': 4, 'kms:RetireGrant': 2, 'ecr:PutImage': 4 });
    expect(plan.plan.estimatedSeconds).toBeGreaterThan(0);
    expect(journalAfterPlan).toBe(false);
    // The run
    const result = run._unsafeUnwrap();
    const status = Object.fromEntries(result.repositories.map((r) => [r.repositoryName, r.status]));
    expect(status).toEqual({ 'fleet/a': 'migrated', 'fleet/b': 'migrated', 'fleet/c': 'migrated', 'fleet/done': 'unchanged', 'fleet/refuses': 'failed' });
    expect(result.repositories.find((r) => r.repositoryName === 'fleet/refuses')?.error?.kind).toBeDefined();
    expect(result.totals).toEqual({ migrated: 3, unchanged: 1, failed: 1, pending: 0 });
    for (const name of ['fleet/a', 'fleet/b', 'fleet/c', 'fleet/done']) {
      expect({ name, digests: await digestsOf(name), encryption: await encryptionOf(name) }).toEqual({ name, digests: before[name], encryption: { type: 'KMS', key: keyArn } });
    }
    expect(await digestsOf('fleet/refuses')).toEqual(before['fleet/refuses']);
    expect(await encryptionOf('fleet/refuses')).toEqual({ type: 'AES256', key: undefined });
    expect(await encryptionOf('other/app')).toEqual({ type: 'AES256', key: undefined });
    expect(await digestsOf('other/app')).toEqual(before['other/app']);
    const repositories = (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName);
    expect(repositories.filter((n) => n.includes('-migrating-'))).toEqual([]);
    expect((await registry.findOrphanedGrants())._unsafeUnwrap().keys.flatMap((k) => k.orphans)).toEqual([]);
    // The fleet journal is kept (one repository failed) and says so.
    const recorded = JSON.parse(readFileSync(journal, 'utf8')) as { repositories: { repositoryName: string; status: string }[] };
    expect(recorded.repositories.map((r) => r.status)).toEqual(['migrated', 'migrated', 'migrated', 'unchanged', 'failed']);
    // One progress display: repositories done grow to 4 of 5, bytes to the total.
    const last = updates.at(-1);
    expect(last).toMatchObject({ repositoriesDone: 4, repositoriesTotal: 5, failed: 1, running: [] });
    expect(last?.bytesDone).toBe(last?.bytesTotal);
    expect(updates.map((u) => u.repositoriesDone)).toEqual([...updates.map((u) => u.repositoriesDone)].sort((x, y) => x - y));
  });

  it('selects by encryption and key, and an empty selection is nothing to do (no journal written)', async () => {
    // Prepare
    await create('select/aes', { encryptionType: 'AES256' }, 70);
    await create('select/on-other', { encryptionType: 'KMS', kmsKey: otherKeyArn }, 80);
    await create('select/on-target', { encryptionType: 'KMS', kmsKey: keyArn }, 90);
    const journal = join(dir, 'select.json');

    // Act
    const notOnTarget = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, where: { name: 'select/*', notOnKeys: [keyArn] }, journal, planOnly: true });
    const aes = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, where: { name: 'select/*', encryptionTypes: ['AES256'] }, journal, planOnly: true });
    const none = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, where: { name: 'nothing/*' }, journal });

    // Assess
    expect(notOnTarget._unsafeUnwrap().plan.repositories.map((r) => r.repositoryName)).toEqual(['select/aes', 'select/on-other']);
    expect(aes._unsafeUnwrap().plan.repositories.map((r) => r.repositoryName)).toEqual(['select/aes']);
    expect(none._unsafeUnwrap()).toMatchObject({ planOnly: false, repositories: [], totals: { migrated: 0, unchanged: 0, failed: 0, pending: 0 } });
    expect(existsSync(journal)).toBe(false);
  });
});
