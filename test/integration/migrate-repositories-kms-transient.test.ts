/**
 * Fleet migration meeting ECR's `KmsException`: KMS's own code is passed on in `kmsError`
 * ("The error code returned by KMS", ECR API reference). A code KMS documents as retryable
 * (its throttling, `KMSInternalException`, `DependencyTimeoutException`) is resumed by the fleet;
 * any other (a disabled key) is reported at once. Faults are counted by call order.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { ApiError, type FaultHandle, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };
/** The fleet's pauses between resumes end at once. */
const instant = { now: () => new Date(), sleep: () => Promise.resolve() };
const kmsException = (kmsError: string): ApiError => new ApiError('KmsException', `KMS error: ${kmsError}`, { fields: { kmsError } });

describe('migrateRepositories and KmsException', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let registry: EncryptedRegistry;
  let dir: string;
  let keyArn: string;
  let faults: FaultHandle[] = [];

  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL, clock: instant });
    const kms = new KMSClient(aws.clientConfig());
    keyArn = (await kms.send(new CreateKeyCommand({ Description: 'fleet target' }))).KeyMetadata?.Arn ?? '';
    kms.destroy();
    dir = mkdtempSync(join(tmpdir(), 'fleet-kms-transient-'));
  });
  afterEach(() => {
    for (const fault of faults) fault.remove();
    faults = [];
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = async (name: string, seed: number): Promise<string[]> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name, encryptionConfiguration: { encryptionType: 'AES256' } }));
    await pushImage(ecr, name, { layers: [randomBytes(2 * 1024, seed)], tags: ['v1'], label: `${name}-1` });
    return ((await ecr.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails ?? []).map((d) => d.imageDigest ?? '');
  };
  const encryptionOf = async (name: string): Promise<string | undefined> =>
    (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.encryptionConfiguration?.kmsKey;

  it.each(['ThrottlingException', 'KMSInternalException', 'DependencyTimeoutException'])(
    'KmsException with kmsError %s when creating staging is resumed by the fleet, and the repository migrated',
    async (kmsError) => {
      // Prepare: ECR's first CreateRepository (the KMS staging repository) answers KmsException.
      const name = `kms-transient/${kmsError.toLowerCase()}`;
      const digests = await create(name, kmsError.length);
      faults = [aws.faults.failNth('ecr:CreateRepository', 1, kmsException(kmsError))];

      // Act
      const run = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, repositoryNames: [name], journal: join(dir, `${kmsError}.json`), concurrency: 1 });

      // Assess: migrated on the second run, every image kept.
      const outcome = run._unsafeUnwrap().repositories[0];
      expect({ status: outcome?.status, attempts: outcome?.attempts, error: outcome?.error?.kind }).toEqual({ status: 'migrated', attempts: 2, error: undefined });
      expect(await encryptionOf(name)).toBe(keyArn);
      expect(((await ecr.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails ?? []).map((d) => d.imageDigest)).toEqual(digests);
    },
  );

  it('KmsException with kmsError DisabledException is reported at once, not resumed', async () => {
    // Prepare
    const name = 'kms-refused/disabled';
    await create(name, 7);
    faults = [aws.faults.failNth('ecr:CreateRepository', 1, kmsException('DisabledException'))];

    // Act
    const run = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, repositoryNames: [name], journal: join(dir, 'disabled.json'), concurrency: 1 });

    // Assess: one run, stopped with KmsRefused; the repository left as it was.
    const outcome = run._unsafeUnwrap().repositories[0];
    expect({ status: outcome?.status, attempts: outcome?.attempts }).toEqual({ status: 'failed', attempts: 1 });
    expect(outcome?.error?.kind === 'MigrationFailed' ? outcome.error.cause : outcome?.error).toMatchObject({ kind: 'KmsRefused', kmsError: 'DisabledException' });
    expect(await encryptionOf(name)).toBeUndefined();
  });
});
