/**
 * ECR's `partSize` from InitiateLayerUpload is not trusted blindly: parts stay within the
 * service-quota page's 5–10 MiB, and a layer that cannot fit in 4,200 parts is refused before any
 * byte moves.
 */
import { ECRClient, GetDownloadUrlForLayerCommand, InitiateLayerUploadCommand, UploadLayerPartCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, partSizeFor, transferBlob } from '../../../src/migration/blob-transfer.js';
import { copyImages } from '../../../src/migration/copy.js';
import { snapshotImages } from '../../../src/migration/snapshot.js';
import { DEFAULT_RETRY } from '../../../src/internal/retry.js';
import { FakeEcr, MiB, bytesFor, sha256, testContext } from './fake-ecr.js';
import { buildApp } from './fixtures.js';

const ecr = mockClient(ECRClient);
let fake: FakeEcr;

beforeAll(async () => {
  fake = new FakeEcr();
  await fake.start();
});
afterAll(() => fake.stop());
beforeEach(() => {
  ecr.reset();
  fake.repos.clear();
  fake.completed.length = 0;
  fake.partSize = 5 * MiB;
  fake.install(ecr);
});

/** Copies an app whose big layer has `size` bytes and returns the part sizes of that layer's upload. */
const partsOfBigLayer = async (size: number): Promise<number[] | undefined> => {
  buildApp(fake, 'app', size);
  fake.repo('app-staging');
  const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();
  const result = await copyImages(testContext(), { source: 'app', target: 'app-staging', graph, concurrency: 2 });
  expect(result.isOk()).toBe(true);
  return fake.completed.find((c) => c.digest === sha256(bytesFor(5, size)))?.parts.map((p) => p.size);
};

describe('layer part size', () => {
  it('uses 5 MiB parts when ECR asks for parts of 1 byte (below the quota floor)', async () => {
    fake.partSize = 1;
    expect(await partsOfBigLayer(11 * MiB)).toEqual([5 * MiB, 5 * MiB, MiB]);
  });

  it('uses the fallback (10 MiB) when ECR answers a part size of 0', async () => {
    fake.partSize = 0;
    expect(await partsOfBigLayer(21 * MiB)).toEqual([10 * MiB, 10 * MiB, MiB]);
  });

  it('caps parts at 10 MiB (the quota ceiling) when ECR asks for 100 MiB', async () => {
    fake.partSize = 100 * MiB;
    expect(await partsOfBigLayer(25 * MiB)).toEqual([10 * MiB, 10 * MiB, 5 * MiB]);
  });

  it('refuses a layer that needs more than 4,200 parts of 10 MiB before any call', async () => {
    // Prepare: the manifest says 42,000 MiB + 1 byte; no byte of it needs to exist.
    const size = MAX_PARTS * MAX_PART_SIZE + 1;

    // Act
    const result = await transferBlob(testContext(), {
      source: 'app',
      target: 'app-staging',
      digest: sha256('huge'),
      size,
      fallbackPartSize: 10 * MiB,
      retry: DEFAULT_RETRY,
    });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'LayerTransferFailed', stage: 'upload', reason: 'LayerTooLarge', repositoryName: 'app-staging' });
    expect(ecr.commandCalls(GetDownloadUrlForLayerCommand)).toHaveLength(0);
    expect(ecr.commandCalls(InitiateLayerUploadCommand)).toHaveLength(0);
    expect(ecr.commandCalls(UploadLayerPartCommand)).toHaveLength(0);
  });

  it('chooses parts within the quota that fit 4,200 parts', () => {
    expect(partSizeFor(1, undefined, 10 * MiB)).toBe(MIN_PART_SIZE);
    expect(partSizeFor(0, undefined, 10 * MiB)).toBe(10 * MiB);
    expect(partSizeFor(100 * MiB, undefined, 10 * MiB)).toBe(MAX_PART_SIZE);
    expect(partSizeFor(Number.NaN, undefined, 7 * MiB)).toBe(7 * MiB);
    // ECR asks 5 MiB, but 30,000 MiB need 7,315,049-byte parts to fit in 4,200.
    const size = 30_000 * MiB;
    const raised = partSizeFor(5 * MiB, size, 10 * MiB);
    expect(raised).toBe(Math.ceil(size / MAX_PARTS));
    expect(Math.ceil(size / (raised ?? 1))).toBeLessThanOrEqual(MAX_PARTS);
    expect(partSizeFor(5 * MiB, MAX_PARTS * MAX_PART_SIZE, 10 * MiB)).toBe(MAX_PART_SIZE);
    expect(partSizeFor(5 * MiB, MAX_PARTS * MAX_PART_SIZE + 1, 10 * MiB)).toBeUndefined();
  });
});
