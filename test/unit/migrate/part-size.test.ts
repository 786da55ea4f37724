/**
 * ECR's `partSize` from InitiateLayerUpload is not trusted blindly: parts stay within the
 * service-quota page's 5–10 MiB, and a layer that cannot fit in 4,200 parts is refused before any
 * byte moves. The copies run on the emulator with the quota scaled down (one UNIT, a KiB, stands
 * for a MiB: `SMALL_PART_BOUNDS`); the real quota, the default, is pinned by `partSizeFor` below.
 */
import { describe, expect, it } from 'vitest';
import { ECR_PART_SIZE_BOUNDS, MAX_PARTS, MAX_PART_SIZE, MIN_PART_SIZE, partSizeFor, transferBlob } from '../../../src/migration/blob-transfer.js';
import { copyImages } from '../../../src/migration/copy.js';
import { snapshotImages } from '../../../src/migration/snapshot.js';
import { DEFAULT_RETRY } from '../../../src/internal/wait.js';
import { buildApp, bytesFor, ensureRepository, MiB, sha256, SMALL_PART_BOUNDS, UNIT } from '../../fixtures/app-repository.js';
import { useEmulatedEcr } from '../../fixtures/emulated-ecr.js';

const world = useEmulatedEcr();

/** ECR answers InitiateLayerUpload with this `partSize` (undefined: leaves it out). */
const ecrAsksFor = (partSize: number): void => world.recorder.answer('InitiateLayerUpload', (output) => void (output.partSize = partSize));

/** Copies an app whose big layer has `size` bytes and returns the part sizes of that layer's upload. */
const partsOfBigLayer = async (size: number): Promise<number[] | undefined> => {
  await buildApp(world.target, 'app', size);
  await ensureRepository(world.target, 'app-staging');
  const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
  const result = await copyImages(world.context(), { source: 'app', target: 'app-staging', graph, concurrency: 2, partSizeBounds: SMALL_PART_BOUNDS, transport: 'api' });
  expect(result.isOk()).toBe(true);
  return world.recorder.partsOf(sha256(bytesFor(5, size)))?.map((p) => p.size);
};

describe('layer part size', () => {
  it('uses parts of the floor (5 units) when ECR asks for parts of 1 byte (below the floor)', async () => {
    ecrAsksFor(1);
    expect(await partsOfBigLayer(11 * UNIT)).toEqual([5 * UNIT, 5 * UNIT, UNIT]);
  });

  it('uses the fallback (kept within the bounds: 10 units) when ECR answers a part size of 0', async () => {
    ecrAsksFor(0);
    expect(await partsOfBigLayer(21 * UNIT)).toEqual([10 * UNIT, 10 * UNIT, UNIT]);
  });

  it('caps parts at the ceiling (10 units) when ECR asks for 100 units', async () => {
    ecrAsksFor(100 * UNIT);
    expect(await partsOfBigLayer(25 * UNIT)).toEqual([10 * UNIT, 10 * UNIT, 5 * UNIT]);
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

  it('defaults to ECR\'s quota, and keeps parts within other bounds when given them', () => {
    expect(ECR_PART_SIZE_BOUNDS).toEqual({ min: 5 * MiB, max: 10 * MiB });
    expect(partSizeFor(1, undefined, 10 * MiB, SMALL_PART_BOUNDS)).toBe(5 * UNIT);
    expect(partSizeFor(100 * MiB, undefined, 10 * MiB, SMALL_PART_BOUNDS)).toBe(10 * UNIT);
    expect(partSizeFor(0, undefined, 10 * MiB, SMALL_PART_BOUNDS)).toBe(10 * UNIT);
    expect(partSizeFor(5 * UNIT, MAX_PARTS * 10 * UNIT + 1, 10 * UNIT, SMALL_PART_BOUNDS)).toBeUndefined();
  });
});
