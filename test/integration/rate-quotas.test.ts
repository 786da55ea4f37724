/**
 * Fault injection by quota: the emulator answers ThrottlingException beyond AWS's request-rate
 * quotas (`rateQuotas: 'aws'`), and concurrent migrations through ONE registry stay under them
 * (its rate governor), with no SDK retry to hide a throttle (`maxAttempts: 1`).
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal } from '../../src/index.js';
import type { RegistryContext } from '../../src/internal/context.js';
import { systemClock } from '../../src/internal/wait.js';
import { registryContextFor } from '../../src/registry-context.js';
import { governorFor } from '../../src/registry-options.js';
import { putImage } from '../../src/steps/ecr-images.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { ecrOnlyContext } from '../fixtures/index.js';
import { TEST_POLL } from '../helpers/local-aws.js';
import { busiestWindow } from '../helpers/windows.js';

const REPOSITORIES = 6;
const IMAGES = 2;

let aws: LocalAws;
let admin: ECRClient;


const seed = async (prefix: string): Promise<string[]> => {
  const names = Array.from({ length: REPOSITORIES }, (_, i) => `${prefix}-${i}`);
  for (const [r, name] of names.entries()) {
    await admin.send(new CreateRepositoryCommand({ repositoryName: name }));
    for (let i = 0; i < IMAGES; i += 1) await pushImage(admin, name, { layers: [randomBytes(2_048, r * 10 + i + 1)], tags: [`v${i}`] });
  }
  return names;
};

const migrateAll = (registry: EncryptedRegistry, names: readonly string[]) =>
  Promise.all(names.map((repositoryName) => registry.migrateRepository({ repositoryName, encryption: { type: 'KMS' }, journal: memoryJournal() })));

beforeAll(async () => {
  aws = await startLocalAws({ rateQuotas: 'aws', minimumLayerPartSize: 1024 });
  // The set-up pushes faster than PutImage's 10/s: the SDK's retries (standard backoff) absorb it.
  admin = new ECRClient({ ...aws.clientConfig(), maxAttempts: 20 });
});

afterAll(async () => {
  admin.destroy();
  await aws.stop();
});

/** The library's context over a real ECR client of the emulator, with the registry's governor or none. */
const contextFor = (rateQuotas: Readonly<Record<string, number>> | false): RegistryContext =>
  ecrOnlyContext(aws, new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 }), { rate: governorFor(rateQuotas, systemClock) });

/** `count` PutImage calls at once, each tagging the same manifest anew. */
const putAtOnce = async (ctx: RegistryContext, repositoryName: string, count: number) => {
  const image = await pushImage(admin, repositoryName, { layers: [randomBytes(1_024, 7)] });
  // The push's own PutImage counts against the account's quota too: let its second pass.
  await systemClock.sleep(1_100);
  const from = aws.inspect.calls().length;
  const results = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      putImage(ctx, { repositoryName, imageManifest: image.manifest, imageManifestMediaType: image.mediaType, imageDigest: image.digest, imageTag: `t${i}` }),
    ),
  );
  return { results, calls: aws.inspect.calls().slice(from) };
};

describe('request-rate quotas', () => {
  it('40 PutImage at once through the governor: none throttled, at most 10 in any second (AWS quota 10/s)', async () => {
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'burst-governed' }));
    const ctx = contextFor({});
    const { results, calls } = await putAtOnce(ctx, 'burst-governed', 40);
    ctx.ecr.destroy();
    expect(results.filter((r) => r.isErr()).map((r) => JSON.stringify(r._unsafeUnwrapErr()).slice(0, 300))).toEqual([]);
    const puts = calls.filter((c) => c.operation === 'PutImage');
    expect(puts.filter((c) => c.error !== undefined)).toEqual([]);
    expect(puts).toHaveLength(40);
    expect(busiestWindow(puts.map((c) => c.time.getTime()), 1_000)).toBeLessThanOrEqual(10);
  });

  it('the same burst without the governor is throttled by the emulator beyond 10 a second', async () => {
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'burst-ungoverned' }));
    const ctx = contextFor(false);
    const { results, calls } = await putAtOnce(ctx, 'burst-ungoverned', 40);
    ctx.ecr.destroy();
    const throttled = calls.filter((c) => c.operation === 'PutImage' && c.error === 'ThrottlingException');
    expect(throttled.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.isErr()).map((r) => r._unsafeUnwrapErr().kind)).toEqual(throttled.map(() => 'Throttled'));
  });

  it("the SDK's retries take a place of their own: 5xx on the first 6 PutImage attempts, still at most 5 arrivals a second", async () => {
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'burst-retried' }));
    const image = await pushImage(admin, 'burst-retried', { layers: [randomBytes(1_024, 8)] });
    await systemClock.sleep(1_100);
    // The registry's own clients (retry pacing is theirs), 3 attempts, PutImage paced at 5 a second.
    const made: { destroy(): void }[] = [];
    const ctx = registryContextFor({ clientConfig: { ...aws.clientConfig(), maxAttempts: 3 }, rateQuotas: { 'ecr:PutImage': 5 } }, (client) => {
      made.push(client);
      return client;
    });
    const fault = aws.faults.serverError({ operation: 'ecr:PutImage', times: 6 });
    const from = aws.inspect.calls().length;
    try {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          putImage(ctx, { repositoryName: 'burst-retried', imageManifest: image.manifest, imageManifestMediaType: image.mediaType, imageDigest: image.digest, imageTag: `r${i}` }),
        ),
      );
      expect(results.filter((r) => r.isErr()).map((r) => r._unsafeUnwrapErr().kind)).toEqual([]);
    } finally {
      fault.remove();
      for (const client of made) client.destroy();
    }
    const puts = aws.inspect.calls().slice(from).filter((c) => c.operation === 'PutImage');
    // 6 failed attempts retried, 10 that succeeded: every arrival counted, none beyond the pace.
    expect(puts.filter((c) => c.status >= 500)).toHaveLength(6);
    expect(puts).toHaveLength(16);
    expect(busiestWindow(puts.map((c) => c.time.getTime()), 1_000)).toBeLessThanOrEqual(5);
  });

  it(`${REPOSITORIES} concurrent migrations through one registry under AWS's quotas: no call throttled`, async () => {
    const names = await seed('governed');
    // The seed's own PutImage calls count against the account's quota for one more second.
    await systemClock.sleep(1_100);
    const from = aws.inspect.calls().length;
    // The SDK may retry what a loaded machine makes fail (a timeout); the emulator's log below shows
    // that no call was throttled, which is what the governor promises.
    const registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: TEST_POLL, rateQuotas: 'aws' });
    try {
      const results = await migrateAll(registry, names);
      expect(results.filter((r) => r.isErr()).map((r) => JSON.stringify(r._unsafeUnwrapErr()).slice(0, 400))).toEqual([]);
      for (const result of results) expect(result._unsafeUnwrap()).toMatchObject({ changed: true, counts: { images: IMAGES } });
    } finally {
      registry.destroy();
    }
    const calls = aws.inspect.calls().slice(from);
    expect(calls.filter((c) => c.error === 'ThrottlingException' || c.error === 'Throttling')).toEqual([]);
    const puts = calls.filter((c) => c.service === 'ecr' && c.operation === 'PutImage').map((c) => c.time.getTime());
    expect(puts.length).toBeGreaterThanOrEqual(REPOSITORIES * IMAGES * 2);
    expect(busiestWindow(puts, 1_000)).toBeLessThanOrEqual(10);
  }, 120_000);
});
