/**
 * ECR's `partSize` from InitiateLayerUpload is not trusted blindly: parts stay within the
 * service-quota page's 5–10 MiB, and a layer that cannot fit in 4,200 parts is refused before any
 * byte moves.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, partSizeFor, transferBlob } from '../../../src/migration/blob-transfer.js';
import { copyImages } from '../../../src/migration/copy.js';
import { snapshotImages } from '../../../src/migration/snapshot.js';
import { DEFAULT_RETRY } from '../../../src/internal/retry.js';
import { buildApp, bytesFor, ensureRepository, MiB, sha256 } from '../../fixtures/app-repository.js';
import { useEmulatedEcr } from '../../fixtures/emulated-ecr.js';

const world = useEmulatedEcr();

/** ECR answers InitiateLayerUpload with this `partSize` (undefined: leaves it out). */
const ecrAsksFor = (partSize: number): void => world.recorder.answer('InitiateLayerUpload', (output) => void (output.partSize = partSize));

/** Copies an app whose big layer has `size` bytes and returns the part sizes of that layer's upload. */
const partsOfBigLayer = async (size: number): Promise<number[] | undefined> => {
  await buildApp(world.target, 'app', size);
  await ensureRepository(world.target, 'app-staging');
  const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
  const result = await copyImages(world.context(), { source: 'app', target: 'app-staging', graph, concurrency: 2 });
  expect(result.isOk()).toBe(true);
  return world.recorder.partsOf(sha256(bytesFor(5, size)))?.map((p) => p.size);
};

describe('layer part size', () => {
  it('uses 5 MiB parts when ECR asks for parts of 1 byte (below the quota floor)', async () => {
    ecrAsksFor(1);
    expect(await partsOfBigLayer(11 * MiB)).toEqual([5 * MiB, 5 * MiB, MiB]);
  });

  it('uses the fallback (10 MiB) when ECR answers a part size of 0', async () => {
    ecrAsksFor(0);
    expect(await partsOfBigLayer(21 * MiB)).toEqual([10 * MiB, 10 * MiB, MiB]);
  });

  it('caps parts at 10 MiB (the quota ceiling) when ECR asks for 100 MiB', async () => {
    ecrAsksFor(100 * MiB);
    expect(await partsOfBigLayer(25 * MiB)).toEqual([10 * MiB, 10 * MiB, 5 * MiB]);
  });

  it('refuses a layer that needs more than 4,200 parts of 10 MiB before any call', async () => {
    // Prepare: the manifest says 42,000 MiB + 1 byte; no byte of it needs to exist.
    const size = MAX_PARTS * MAX_PART_SIZE + 1;

    // Act
    const result = await transferBlob(world.context(), {
      source: 'app',
      target: 'app-staging',
      digest: sha256('huge'),
      size,
      fallbackPartSize: 10 * MiB,
      retry: DEFAULT_RETRY,
    });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'LayerTransferFailed', stage: 'upload', reason: 'LayerTooLarge', repositoryName: 'app-staging' });
    expect(world.recorder.inputs('GetDownloadUrlForLayer')).toHaveLength(0);
    expect(world.recorder.inputs('InitiateLayerUpload')).toHaveLength(0);
    expect(world.recorder.inputs('UploadLayerPart')).toHaveLength(0);
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
