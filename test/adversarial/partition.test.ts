/**
 * D17: a key ARN of another partition than the repository's region. The preflight compares the
 * ARN's partition with the region's (as the AWS SDK's endpoint rules assign regions to partitions)
 * before any call, and the emulator's KMS does not resolve a key ARN of another partition.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeKeyCommand, NotFoundException } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEncryptedRepository } from '../../src/operations/create-repository.js';
import { partitionOfRegion, preflight } from '../../src/preflight/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { ACCOUNT, enabledKey, fakeContext, installFakes, KEY_ARN, KEY_ID, REGION, type Stubs } from '../fixtures/create-stubs.js';
import { createKey, kmsFor, registryFor } from '../helpers/local-aws.js';
import { okAsync } from 'neverthrow';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let sts: Stubs['sts'];
let state: Stubs['state'];

describe('partitionOfRegion', () => {
  it.each([
    ['eu-west-1', 'aws'],
    ['us-east-1', 'aws'],
    ['il-central-1', 'aws'],
    ['mx-central-1', 'aws'],
    ['cn-north-1', 'aws-cn'],
    ['cn-northwest-1', 'aws-cn'],
    ['us-gov-west-1', 'aws-us-gov'],
    ['us-gov-east-1', 'aws-us-gov'],
    ['us-iso-east-1', 'aws-iso'],
    ['us-isob-east-1', 'aws-iso-b'],
    ['eu-isoe-west-1', 'aws-iso-e'],
    ['us-isof-south-1', 'aws-iso-f'],
    ['eusc-de-east-1', 'aws-eusc'],
  ] as const)('%s is in %s', (region, partition) => {
    expect(partitionOfRegion(region)).toBe(partition);
  });

  it('knows no partition for a name no partition claims (nothing is compared then)', () => {
    expect(partitionOfRegion('local')).toBeUndefined();
    expect(partitionOfRegion('moon-base-1x')).toBeUndefined();
  });
});

describe('preflight: a key ARN of another partition (mocked clients)', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  it.each([
    ['aws-cn', `arn:aws-cn:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`],
    ['aws-us-gov', `arn:aws-us-gov:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`],
    ['aws-iso', `arn:aws-iso:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`],
    ['aws-cn (alias ARN)', `arn:aws-cn:kms:${REGION}:${ACCOUNT}:alias/app`],
  ])('refuses a %s key for a repository in %s, before any call', async (_, key) => {
    const report = (await preflight(fakeContext(), { repositoryName: 'team/app', encryption: { type: 'KMS', key } }))._unsafeUnwrap();
    expect(report.ok).toBe(false);
    const error = report.findings.find((f) => f.severity === 'error');
    expect(error?.check).toBe('keyRegion');
    expect(error?.error).toMatchObject({ kind: 'InvalidEncryption', key });
    expect(error?.message).toContain(`partition ${key.split(':')[1] ?? ''}`);
    expect(kms).not.toHaveReceivedAnyCommand();
  });

  it('createEncryptedRepository returns the InvalidEncryption before any AWS call', async () => {
    const key = `arn:aws-cn:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
    const result = await createEncryptedRepository(fakeContext(), { repositoryName: 'team/app', encryption: { type: 'KMS', key } });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidEncryption', key });
    expect(kms).not.toHaveReceivedAnyCommand();
    expect(ecr).not.toHaveReceivedAnyCommand();
    expect(sts).not.toHaveReceivedAnyCommand();
  });

  it('refuses a commercial key ARN for a repository in a China region', async () => {
    const key = `arn:aws:kms:cn-north-1:${ACCOUNT}:key/${KEY_ID}`;
    const ctx = fakeContext({ region: () => okAsync('cn-north-1') });
    const report = (await preflight(ctx, { repositoryName: 'team/app', encryption: { type: 'KMS', key } }))._unsafeUnwrap();
    expect(report.findings.find((f) => f.severity === 'error')?.error).toMatchObject({ kind: 'InvalidEncryption', key });
  });

  it('accepts a China key ARN for a repository in a China region', async () => {
    const key = `arn:aws-cn:kms:cn-north-1:${ACCOUNT}:key/${KEY_ID}`;
    state.keys.set(key, enabledKey({ Arn: key }));
    state.grants.set(key, []);
    const ctx = fakeContext({ region: () => okAsync('cn-north-1') });
    const report = (await preflight(ctx, { repositoryName: 'team/app', encryption: { type: 'KMS', key } }))._unsafeUnwrap();
    expect(report.findings.filter((f) => f.check === 'keyRegion')).toEqual([]);
    expect(report.facts.keyArn).toBe(key);
  });

  it('refuses a key that DescribeKey resolves into another partition', async () => {
    const foreign = `arn:aws-us-gov:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
    state.keys.set('alias/app', enabledKey({ Arn: foreign }));
    state.grants.set(foreign, []);
    const report = (await preflight(fakeContext(), { repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } }))._unsafeUnwrap();
    expect(report.findings.find((f) => f.check === 'keyRegion')?.error).toMatchObject({ kind: 'InvalidEncryption', key: foreign });
    expect(report.ok).toBe(false);
  });

  it('still accepts the same key in its own partition', async () => {
    const report = (await preflight(fakeContext(), { repositoryName: 'team/app', encryption: { type: 'KMS', key: KEY_ARN } }))._unsafeUnwrap();
    expect(report.ok).toBe(true);
  });
});

describe('the emulator\'s KMS and a key ARN of another partition (real SDK clients)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    // The mocks above replace every client's send (class mocks): real calls from here on.
    for (const mock of [ecr, kms, iam, sts]) mock.restore();
    aws = await startLocalAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  it.each(['aws-cn', 'aws-us-gov', 'aws-iso-b'])('does not resolve the %s twin of an existing key ARN, nor its alias ARN', async (partition) => {
    const client = kmsFor(aws);
    try {
      const key = await createKey(client, { alias: `alias/twin-${partition}` });
      expect((await client.send(new DescribeKeyCommand({ KeyId: key.arn }))).KeyMetadata?.Arn).toBe(key.arn);
      const twin = key.arn.replace(/^arn:aws:/, `arn:${partition}:`);
      await expect(client.send(new DescribeKeyCommand({ KeyId: twin }))).rejects.toBeInstanceOf(NotFoundException);
      const aliasTwin = `arn:${partition}:kms:${aws.region}:${aws.account}:alias/twin-${partition}`;
      await expect(client.send(new DescribeKeyCommand({ KeyId: aliasTwin }))).rejects.toBeInstanceOf(NotFoundException);
    } finally {
      client.destroy();
    }
  });

  it('ECR does not create a repository with the twin either, and the library refuses it before any call', async () => {
    const client = kmsFor(aws);
    const key = await createKey(client);
    client.destroy();
    const twin = key.arn.replace(/^arn:aws:/, 'arn:aws-cn:');
    const ecrClient = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
    try {
      await expect(
        ecrClient.send(new CreateRepositoryCommand({ repositoryName: 'partition/direct', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: twin } })),
      ).rejects.toThrow();
    } finally {
      ecrClient.destroy();
    }
    const registry = registryFor(aws);
    try {
      const result = await registry.createEncryptedRepository({ repositoryName: 'partition/lib', encryption: { type: 'KMS', key: twin } });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidEncryption', key: twin });
    } finally {
      registry.destroy();
    }
    expect(aws.inspect.ecr?.repositories().map((r) => r.repositoryName) ?? []).toEqual([]);
  });
});
