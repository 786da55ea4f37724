/**
 * Fleet migration meeting transient failures on the emulator: a repository whose migration stops
 * on a call still throttled after the SDK's attempts (what the fleet bench's repro loop captured:
 * `MigrationFailed` at `copyToStaging`, cause `Throttled` GetDownloadUrlForLayer) is resumed by the
 * fleet from the failed step and comes out migrated; a refusal is not retried; the resumes are
 * bounded. Faults are counted by call order (`aws.faults`), never by time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type RegistryLogger } from '../../src/index.js';
import { ApiError, type FaultHandle, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };
/** The library's own pauses (the fleet's between resumes) end at once; the SDK's backoff is its own. */
const instant = { now: () => new Date(), sleep: () => Promise.resolve() };
const throttling = (): ApiError => new ApiError('ThrottlingException', 'Rate exceeded', { status: 400 });

describe('migrateRepositories resumes a repository that failed on a transient error', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let registry: EncryptedRegistry;
  let dir: string;
  let keyArn: string;
  const warnings: string[] = [];
  let faults: FaultHandle[] = [];

  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    const logger: RegistryLogger = { debug: () => undefined, info: () => undefined, warn: (message) => warnings.push(message) };
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL, clock: instant, logger });
    const kms = new KMSClient(aws.clientConfig());
    keyArn = (await kms.send(new CreateKeyCommand({ Description: 'fleet target' }))).KeyMetadata?.Arn ?? '';
    kms.destroy();
    dir = mkdtempSync(join(tmpdir(), 'fleet-transient-'));
  });
  afterEach(() => {
    for (const fault of faults) fault.remove();
    faults = [];
    warnings.length = 0;
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = async (name: string, seed: number): Promise<void> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name, encryptionConfiguration: { encryptionType: 'AES256' } }));
    await pushImage(ecr, name, { layers: [randomBytes(4 * 1024, seed)], tags: ['v1'], label: `${name}-1` });
    await pushImage(ecr, name, { layers: [randomBytes(3 * 1024, seed + 1)], tags: ['v2'], label: `${name}-2` });
  };
  const digestsOf = async (name: string): Promise<string[]> =>
    ((await ecr.send(new DescribeImagesCommand({ repositoryName: name }))).imageDetails ?? []).map((d) => d.imageDigest ?? '').sort();
  const encryptionOf = async (name: string): Promise<string | undefined> =>
    (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.encryptionConfiguration?.kmsKey;
  const stagingLeft = (): string[] => (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.includes('-migrating-'));

  it('a repository throttled past the SDK attempts at copyToStaging is resumed by the fleet and migrated; the others are not disturbed', async () => {
    // Prepare: the first GetDownloadUrlForLayer is throttled on each of the SDK's three attempts
    // (one repository and one blob at a time: it is the first blob of transient/a).
    await create('transient/a', 10);
    await create('transient/b', 20);
    const before = { a: await digestsOf('transient/a'), b: await digestsOf('transient/b') };
    faults = [1, 2, 3].map((n) => aws.faults.failNth('ecr:GetDownloadUrlForLayer', n, throttling()));

    // Act
    const run = await registry.migrateRepositories({
      encryption: { type: 'KMS', key: keyArn },
      repositoryNames: ['transient/a', 'transient/b'],
      journal: join(dir, 'a.json'),
      concurrency: 1,
      blobConcurrency: 1,
    });

    // Assess: both migrated with every image; transient/a on its second run, resumed at copyToStaging.
    const result = run._unsafeUnwrap();
    expect(result.repositories.map((r) => ({ name: r.repositoryName, status: r.status, attempts: r.attempts, error: r.error?.kind }))).toEqual([
      { name: 'transient/a', status: 'migrated', attempts: 2, error: undefined },
      { name: 'transient/b', status: 'migrated', attempts: 1, error: undefined },
    ]);
    expect(result.repositories[0]?.result?.resumed).toBe(true);
    expect(result.totals).toEqual({ migrated: 2, unchanged: 0, failed: 0, pending: 0 });
    expect({ a: await digestsOf('transient/a'), b: await digestsOf('transient/b') }).toEqual(before);
    expect([await encryptionOf('transient/a'), await encryptionOf('transient/b')]).toEqual([keyArn, keyArn]);
    expect(stagingLeft()).toEqual([]);
    expect(warnings).toContain('a repository of the fleet failed on a transient error: resuming it');
  });

  it('a refusal is not retried: the repository fails on its first run', async () => {
    // Prepare: ECR refuses the first PutImage for good (not a transient answer).
    await create('refused/a', 30);
    faults = [aws.faults.failNth('ecr:PutImage', 1, new ApiError('AccessDeniedException', 'not today', { status: 400 }))];
    const mark = aws.inspect.calls().length;

    // Act
    const run = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, repositoryNames: ['refused/a'], journal: join(dir, 'b.json'), concurrency: 1 });

    // Assess: one run, stopped at copyToStaging; no resume.
    const outcome = run._unsafeUnwrap().repositories[0];
    expect({ status: outcome?.status, attempts: outcome?.attempts, kind: outcome?.error?.kind }).toEqual({ status: 'failed', attempts: 1, kind: 'MigrationFailed' });
    expect(outcome?.error?.kind === 'MigrationFailed' ? [outcome.error.step, outcome.error.cause.kind] : []).toEqual(['copyToStaging', 'AccessDenied']);
    expect(aws.inspect.calls().slice(mark).filter((c) => c.operation === 'PutImage')).toHaveLength(1);
    expect(warnings).not.toContain('a repository of the fleet failed on a transient error: resuming it');
  });

  it('a failure that stays transient is resumed twice, then reported failed with its cause', async () => {
    // Prepare: every GetDownloadUrlForLayer of this test is throttled.
    await create('throttled/a', 40);
    faults = [aws.faults.throttle({ operation: 'ecr:GetDownloadUrlForLayer' })];

    // Act
    const run = await registry.migrateRepositories({
      encryption: { type: 'KMS', key: keyArn },
      repositoryNames: ['throttled/a'],
      journal: join(dir, 'c.json'),
      concurrency: 1,
      blobConcurrency: 1,
    });

    // Assess: three runs in all, the last error kept; the original intact.
    const outcome = run._unsafeUnwrap().repositories[0];
    expect({ status: outcome?.status, attempts: outcome?.attempts }).toEqual({ status: 'failed', attempts: 3 });
    expect(outcome?.error?.kind === 'MigrationFailed' ? [outcome.error.step, outcome.error.cause.kind] : []).toEqual(['copyToStaging', 'Throttled']);
    expect(warnings.filter((w) => w === 'a repository of the fleet failed on a transient error: resuming it')).toHaveLength(2);
    expect(await encryptionOf('throttled/a')).toBeUndefined();
  });

  it('an abort while waiting to resume stops there: the fleet journal keeps the repository unfinished, not failed', async () => {
    // Prepare: the first blob throttled past the SDK's attempts; the signal fires during the fleet's pause.
    await create('aborted/a', 50);
    faults = [1, 2, 3].map((n) => aws.faults.failNth('ecr:GetDownloadUrlForLayer', n, throttling()));
    const controller = new AbortController();
    const mark = aws.inspect.calls().length;
    const aborting = new EncryptedRegistry({
      clientConfig: aws.clientConfig(),
      poll: POLL,
      // The fleet's pause before a resume is 0.5–1 s; the library's other pauses here are shorter.
      clock: { now: () => new Date(), sleep: (ms) => (ms >= 500 ? Promise.resolve(controller.abort()) : Promise.resolve()) },
    });

    // Act
    const run = await aborting.migrateRepositories({
      encryption: { type: 'KMS', key: keyArn },
      repositoryNames: ['aborted/a'],
      journal: join(dir, 'd.json'),
      concurrency: 1,
      blobConcurrency: 1,
      signal: controller.signal,
    });
    aborting.destroy();

    // Assess: the call answers Aborted; the fleet journal keeps the repository unfinished (not failed), its own journal at copyToStaging.
    expect(run._unsafeUnwrapErr()).toMatchObject({ kind: 'Aborted' });
    const recorded = JSON.parse(readFileSync(join(dir, 'd.json'), 'utf8')) as { repositories: { repositoryName: string; status: string }[] };
    expect(recorded.repositories).toEqual([expect.objectContaining({ repositoryName: 'aborted/a', status: 'running' })]);
    expect(aws.inspect.calls().slice(mark).filter((c) => c.operation === 'GetDownloadUrlForLayer')).toHaveLength(3);
  });

  it('a repository the plan could not read for a transient error is run anyway, and migrated', async () => {
    // Prepare: the plan's first DescribeImages (its only repository) is throttled on each of the SDK's attempts.
    await create('unplanned/a', 60);
    const before = await digestsOf('unplanned/a');
    faults = [1, 2, 3].map((n) => aws.faults.failNth('ecr:DescribeImages', n, throttling()));

    // Act
    const run = await registry.migrateRepositories({ encryption: { type: 'KMS', key: keyArn }, repositoryNames: ['unplanned/a'], journal: join(dir, 'e.json'), concurrency: 1 });

    // Assess
    const outcome = run._unsafeUnwrap().repositories[0];
    expect({ status: outcome?.status, attempts: outcome?.attempts, error: outcome?.error?.kind }).toEqual({ status: 'migrated', attempts: 1, error: undefined });
    expect(await digestsOf('unplanned/a')).toEqual(before);
    expect(await encryptionOf('unplanned/a')).toBe(keyArn);
  });
});
