import { DeleteRepositoryCommand } from '@aws-sdk/client-ecr';
import { errAsync, okAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { copyImages, type CopyImagesInput, type CopyProgress } from '../../../src/migration/copy.js';
import { snapshotImages, type ImageGraph } from '../../../src/migration/snapshot.js';
import { verifyCopy } from '../../../src/migration/verify.js';
import { ApiError, pushManifest } from '../../../src/testing/index.js';
import {
  addBlob,
  type AppFixture,
  blobBytes,
  buildApp,
  bytesFor,
  DOCKER_V2,
  ensureRepository,
  imagesIn,
  SHARED_LAYER_BYTES,
  sha256,
  SMALL_PART_BOUNDS,
  UNIT,
} from '../../fixtures/app-repository.js';
import { useEmulatedEcr } from '../../fixtures/emulated-ecr.js';

// These tests pin the JSON API path (UploadLayerPart): `transport: 'api'` (the registry API path is in
// test/integration/registry-transport.test.ts).
// Parts are KiB here, not MiB (SMALL_PART_BOUNDS: one UNIT stands for a MiB of ECR's 5–10 MiB quota).
// ECR answers parts of 5 units here (the emulator's own answer is 10); downloads pass the fault proxy.
const world = useEmulatedEcr({ routeDownloads: true, partSize: 5 * UNIT });

const prepare = async (bigLayerBytes = 0): Promise<{ app: AppFixture; graph: ImageGraph }> => {
  const app = await buildApp(world.target, 'app', bigLayerBytes);
  await ensureRepository(world.target, 'app-staging');
  const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
  world.recorder.reset();
  return { app, graph };
};

const copy = <HE = never>(graph: ImageGraph, extra: Partial<CopyImagesInput<HE>> = {}) =>
  copyImages<HE>(world.context(), { source: 'app', target: 'app-staging', graph, concurrency: 3, partSizeBounds: SMALL_PART_BOUNDS, transport: 'api', ...extra });

/** Digests of the manifests PutImage stored, in order (ImageAlreadyExists answers left out). */
const pushes = (): string[] => world.recorder.calls.filter((c) => c.command === 'PutImage' && c.ok).map((c) => String(c.input.imageDigest));

/** Digests of the blobs a repository holds. */
const blobsIn = (repositoryName: string): string[] =>
  (world.aws.inspect.ecr?.storedObjects(undefined, repositoryName) ?? []).filter((o) => o.kind === 'blob').map((o) => o.digest);

const throttled = (): ApiError => new ApiError('ThrottlingException', 'Rate exceeded', { status: 400 });

describe('copyImages', () => {
  it('copies every image, untagged ones and referrers included, and the copy verifies', async () => {
    // Prepare
    const { app, graph } = await prepare();

    // Act
    const report = (await copy(graph))._unsafeUnwrap();

    // Assess
    const staging = await imagesIn(world.target, 'app-staging');
    for (const [digest, manifest] of app.manifests) expect(staging.get(digest)?.manifest).toBe(manifest);
    expect(staging.get(app.untagged)?.tags).toEqual([]);
    expect(staging.get(app.signature)?.subject).toBe(app.docker);
    expect(blobsIn('app-staging').sort()).toEqual([...app.blobs.keys()].sort());
    expect(report).toEqual({
      blobsCopied: app.blobs.size,
      blobsSkipped: 0,
      bytesCopied: [...app.blobs.values()].reduce((a, b) => a + b, 0),
      manifestsCreated: 6,
      manifestsExisting: 0,
      tagsApplied: 3,
    });
    expect((await verifyCopy(world.context(), { target: 'app-staging', graph }))._unsafeUnwrap()).toEqual({ images: 6, tags: 3, blobs: app.blobs.size });
  });

  it('pushes index children before the index and subjects before referrers, in push order otherwise', async () => {
    const { app, graph } = await prepare();

    await copy(graph);

    const firstPush = [...new Set(pushes())];
    expect(firstPush).toEqual([app.untagged, app.arm64, app.amd64, app.index, app.docker, app.signature]);
    // Every blob was in place before the first manifest.
    expect(world.recorder.inputs('CompleteLayerUpload').length).toBe(app.blobs.size);
  });

  it('re-applies every tag, one PutImage per tag, with the exact manifest, digest and media type', async () => {
    const { app, graph } = await prepare();

    await copy(graph);

    const puts = world.recorder.inputs('PutImage');
    expect(puts.filter((p) => p.imageDigest === app.docker)).toEqual([
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.docker), imageDigest: app.docker, imageManifestMediaType: DOCKER_V2, imageTag: 'latest' },
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.docker), imageDigest: app.docker, imageManifestMediaType: DOCKER_V2, imageTag: 'v1' },
    ]);
    expect(puts.filter((p) => p.imageDigest === app.untagged)).toEqual([
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.untagged), imageDigest: app.untagged, imageManifestMediaType: DOCKER_V2 },
    ]);
    const staging = await imagesIn(world.target, 'app-staging');
    expect(staging.get(app.docker)?.tags.sort()).toEqual(['latest', 'v1']);
    expect(staging.get(app.index)?.tags).toEqual(['multi']);
  });

  it('streams a 25-unit layer in parts of exactly the returned part size, in order, last part smaller', async () => {
    // Prepare: 25 units + 1000 bytes, so five full parts and a short one.
    const size = 25 * UNIT + 1000;
    const { graph } = await prepare(size);
    const big = sha256(bytesFor(5, size));

    // Act
    const result = await copy(graph);

    // Assess
    expect(result.isOk()).toBe(true);
    const upload = { parts: world.recorder.partsOf(big) };
    expect(upload.parts?.map((p) => [p.first, p.last, p.size])).toEqual([
      [0, 5 * UNIT - 1, 5 * UNIT],
      [5 * UNIT, 10 * UNIT - 1, 5 * UNIT],
      [10 * UNIT, 15 * UNIT - 1, 5 * UNIT],
      [15 * UNIT, 20 * UNIT - 1, 5 * UNIT],
      [20 * UNIT, 25 * UNIT - 1, 5 * UNIT],
      [25 * UNIT, 25 * UNIT + 999, 1000],
    ]);
    // The parts are the blob's bytes, in order.
    const expected = bytesFor(5, size);
    expect(upload.parts?.map((p) => p.sha)).toEqual(upload.parts?.map((p) => sha256(expected.subarray(p.first, p.last + 1))));
    expect(world.recorder.inputs('CompleteLayerUpload')).toContainEqual(expect.objectContaining({ repositoryName: 'app-staging', layerDigests: [big] }));
  });

  it('uses the part size ECR returns over the fallback', async () => {
    world.recorder.answer('InitiateLayerUpload', (output) => void (output.partSize = 6 * UNIT));
    const size = 13 * UNIT;
    const { graph } = await prepare(size);

    await copy(graph, { partSize: 5 * UNIT });

    expect(world.recorder.partsOf(sha256(bytesFor(5, size)))?.map((p) => p.size)).toEqual([6 * UNIT, 6 * UNIT, UNIT]);
  });

  it('fetches a new download URL when the old one has expired (403), and restarts the blob', async () => {
    const { app, graph } = await prepare();
    world.downloads.statuses.set(app.sharedLayer, [403]);

    const result = await copy(graph);

    expect(result.isOk()).toBe(true);
    expect(world.recorder.inputs('GetDownloadUrlForLayer').filter((input) => input.layerDigest === app.sharedLayer)).toHaveLength(2);
    expect(await blobBytes(world.target, 'app-staging', app.sharedLayer)).toEqual(await blobBytes(world.target, 'app', app.sharedLayer));
  });

  it('restarts a blob whose download breaks off mid-stream, after some parts were uploaded', async () => {
    const size = 12 * UNIT;
    const { graph } = await prepare(size);
    const big = sha256(bytesFor(5, size));
    world.downloads.cutOffs.set(big, 7 * UNIT);
    const events: CopyProgress[] = [];

    const result = await copy(graph, { onProgress: (p) => events.push(p) });

    expect(result.isOk()).toBe(true);
    expect(world.recorder.inputs('InitiateLayerUpload').length).toBe(graph.blobs.length + 1);
    expect(world.recorder.partsOf(big)?.map((p) => p.size)).toEqual([5 * UNIT, 5 * UNIT, 2 * UNIT]);
    // The bytes of the broken attempt were given back, so the total still adds up.
    expect(events.at(-1)?.bytesDone).toBe(graph.totalBytes);
  });

  it('refuses a blob whose bytes do not match its digest, before CompleteLayerUpload', async () => {
    const { app, graph } = await prepare();
    world.downloads.corrupt.add(app.sharedLayer);

    const error = (await copy(graph, { concurrency: 1 }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'DigestMismatch', subject: 'blob', expected: app.sharedLayer, repositoryName: 'app' });
    expect(error.kind === 'DigestMismatch' && error.actual).toBe(sha256(bytesFor(999, SHARED_LAYER_BYTES)));
    const completed = world.recorder.inputs('CompleteLayerUpload').map((input) => (input.layerDigests as string[])[0]);
    expect(completed).not.toContain(app.sharedLayer);
    // Manifests whose blobs were all in may have been pushed meanwhile, in order; none that needs the bad blob.
    const pushed = [...new Set(pushes())];
    expect(pushed).toEqual(graph.images.slice(0, pushed.length).map((i) => i.digest));
    for (const digest of pushed) {
      const image = graph.images.find((i) => i.digest === digest);
      expect(image?.blobs.every((b) => completed.includes(b))).toBe(true);
    }
    expect(graph.images.filter((i) => i.blobs.includes(app.sharedLayer)).map((i) => i.digest)).not.toContain(pushed.at(-1) ?? '');
  });

  it('pushes each manifest as soon as its own blobs are in, while later blobs still move', async () => {
    const { graph } = await prepare();

    (await copy(graph, { concurrency: 1 }))._unsafeUnwrap();

    const names = world.recorder.calls.map((c) => c.command);
    const firstPut = names.indexOf('PutImage');
    const lastComplete = names.lastIndexOf('CompleteLayerUpload');
    expect(firstPut).toBeGreaterThan(-1);
    expect(firstPut).toBeLessThan(lastComplete);
    // Still one at a time in the graph's order.
    expect([...new Set(pushes())]).toEqual(graph.images.map((i) => i.digest));
  });

  it('skips blobs the target already holds', async () => {
    const { app, graph } = await prepare();
    const present = [app.sharedLayer, ...[...app.blobs.keys()].slice(0, 2)];
    for (const digest of new Set(present)) await addBlob(world.target, 'app-staging', await blobBytes(world.target, 'app', digest));
    world.recorder.reset();

    const report = (await copy(graph))._unsafeUnwrap();

    const located = world.recorder.inputs('GetDownloadUrlForLayer').map((input) => input.layerDigest);
    for (const digest of present) expect(located).not.toContain(digest);
    expect(report.blobsSkipped).toBe(new Set(present).size);
    expect(report.blobsCopied).toBe(app.blobs.size - new Set(present).size);
  });

  it('is idempotent: a second run finds everything and uploads nothing', async () => {
    const { graph } = await prepare();
    await copy(graph);
    world.recorder.reset();

    const report = (await copy(graph))._unsafeUnwrap();

    expect(world.recorder.inputs('InitiateLayerUpload')).toHaveLength(0);
    expect(report).toMatchObject({ blobsCopied: 0, manifestsCreated: 0, manifestsExisting: 6, tagsApplied: 0 });
    // ImageAlreadyExistsException was answered for every PutImage and counted as success.
    expect(world.recorder.inputs('PutImage')).toHaveLength(7);
  });

  /** HTTP attempts of `command` the recorder saw (every SDK attempt is one). */
  const attempts = (command: string): number => world.recorder.inputs(command).length;

  it('leaves throttled reads, a throttled PutImage and a 5xx to the SDK retry, and succeeds', async () => {
    // Prepare
    const { graph } = await prepare(11 * UNIT);
    world.aws.faults.failNth('ecr:PutImage', 1, throttled());
    world.aws.faults.failNth('ecr:PutImage', 2, throttled());
    world.aws.faults.failNth('ecr:BatchCheckLayerAvailability', 1, new ApiError('ServerException', 'internal', { status: 500 }));

    // Act
    const result = await copy(graph, { concurrency: 1 });

    // Assess: the SDK's own attempts (3 by default) carried both through: one HTTP attempt per failure more.
    expect(result.isOk()).toBe(true);
    expect(attempts('BatchCheckLayerAvailability')).toBe(2);
    expect(attempts('PutImage')).toBe(7 + 2);
    expect((await verifyCopy(world.context(), { target: 'app-staging', graph })).isOk()).toBe(true);
  });

  it('does not retry an API call again once the SDK gave up: a PutImage throttled three times fails after three HTTP attempts', async () => {
    // Prepare
    const { graph } = await prepare();
    for (const n of [1, 2, 3]) world.aws.faults.failNth('ecr:PutImage', n, throttled());

    // Act
    const error = (await copy(graph, { concurrency: 1 }))._unsafeUnwrapErr();

    // Assess: not attempts × attempts (the old double retry tried it again on top of the SDK's tries).
    expect(error).toMatchObject({ kind: 'Throttled' });
    expect(attempts('PutImage')).toBe(3);
  });

  it('retries a layer part throttled beyond the SDK attempts itself (ECR documents layer-upload throttling), then succeeds', async () => {
    // Prepare: the first UploadLayerPart is throttled on all three SDK attempts, then once more.
    const { graph } = await prepare(11 * UNIT);
    for (const n of [1, 2, 3, 4]) world.aws.faults.failNth('ecr:UploadLayerPart', n, throttled());

    // Act
    const result = await copy(graph, { concurrency: 1 });

    // Assess: two calls of ours (three SDK attempts, then two), on the same upload and the same first byte.
    expect(result.isOk()).toBe(true);
    const parts = world.recorder.inputs('UploadLayerPart');
    const first = parts[0];
    expect(parts.slice(0, 5).every((p) => p.uploadId === first?.uploadId && p.partFirstByte === 0)).toBe(true);
    expect(parts.filter((p) => p.uploadId === first?.uploadId && p.partFirstByte === 0)).toHaveLength(5);
    expect(world.recorder.inputs('InitiateLayerUpload')).toHaveLength(graph.blobs.length);
    expect((await verifyCopy(world.context(), { target: 'app-staging', graph })).isOk()).toBe(true);
  });

  it('treats InvalidLayerPartException at the part end as a part that arrived when its answer was lost', async () => {
    // Prepare: ECR stores the first part but the answer is lost; the retry is then "not consecutive".
    const { graph } = await prepare(11 * UNIT);
    world.aws.faults.dropConnection({ operation: 'ecr:UploadLayerPart', nth: 1, when: 'after' });

    const result = await copy(graph, { concurrency: 1 });

    expect(result.isOk()).toBe(true);
    expect(world.recorder.inputs('UploadLayerPart')).toContainEqual(expect.objectContaining({ partFirstByte: 0 }));
    const partCalls = world.recorder.inputs('UploadLayerPart').map((input) => input.partFirstByte);
    expect(partCalls.filter((first) => first === 0).length).toBeGreaterThanOrEqual(2);
    expect((await verifyCopy(world.context(), { target: 'app-staging', graph })).isOk()).toBe(true);
  });

  // About 2,500 calls to the emulator (seeding and copying 250 images): slow on a loaded machine.
  it('checks availability and fetches manifests 100 a call', { timeout: 180_000 }, async () => {
    // Prepare: 250 images with one distinct layer each.
    await ensureRepository(world.target, 'app');
    const pushOne = async (i: number): Promise<void> => {
      const layer = bytesFor(100 + i, 64);
      const layerDigest = await addBlob(world.target, 'app', layer);
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { mediaType: 'c', digest: layerDigest, size: 64 }, layers: [] });
      await pushManifest(world.target.ecr, 'app', manifest, DOCKER_V2);
    };
    // Fifty at a time: a thousand calls one by one take too long on a busy machine.
    for (let start = 0; start < 250; start += 50) await Promise.all(Array.from({ length: 50 }, (_, i) => pushOne(start + i)));
    await ensureRepository(world.target, 'app-staging');
    world.recorder.reset();
    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
    // The snapshot read the 250 manifests 100 a call.
    expect(world.recorder.inputs('BatchGetImage').map((input) => (input.imageIds as unknown[]).length).sort((a, b) => b - a)).toEqual([100, 100, 50]);
    world.recorder.reset();

    const result = await copy(graph, { concurrency: 8 });

    expect(result.isOk()).toBe(true);
    expect(world.recorder.inputs('BatchCheckLayerAvailability').map((input) => (input.layerDigests as string[]).length)).toEqual([100, 100, 50]);
    // The pool starts eight blobs at once and never a ninth before one is done.
    expect(world.recorder.maxBlobsInFlight).toBe(8);
    expect(world.recorder.inputs('PutImage')).toHaveLength(250);
  });

  it('refuses a graph with archived images before any call', async () => {
    const { graph } = await prepare();
    const first = graph.images[0];
    if (!first) throw new Error('fixture has images');
    const archived: ImageGraph = { ...graph, images: [...graph.images, { ...first, digest: 'sha256:ab', status: 'ARCHIVED', manifest: undefined }], archived: ['sha256:ab'] };

    const error = (await copy(archived))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'ImagesArchived', repositoryName: 'app', images: [{ imageDigest: 'sha256:ab', status: 'ARCHIVED' }] });
    expect(world.recorder.calls).toHaveLength(0);
  });

  it('refuses a download URL over plain http to a host that is not loopback', async () => {
    const { graph } = await prepare();
    world.recorder.answer('GetDownloadUrlForLayer', (output) => {
      output.downloadUrl = String(output.downloadUrl).replace(/^http:\/\/127\.0\.0\.1:\d+/, 'http://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com');
    });

    const error = (await copy(graph))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'InsecureEndpoint' });
    expect(world.downloads.downloads).toEqual([]);
  });

  it('with allowInsecureHttp, downloads over plain http from a host that is not loopback (an emulator at a CI service name)', async () => {
    const { graph } = await prepare();
    // 0.0.0.0 is not loopback by name, yet reaches this machine's 127.0.0.1 listeners on Linux
    // (this answer replaces the fault proxy's routing: the layers come from the emulator itself).
    world.recorder.answer('GetDownloadUrlForLayer', (output) => {
      output.downloadUrl = String(output.downloadUrl).replace(/^http:\/\/127\.0\.0\.1:/, 'http://0.0.0.0:');
    });

    expect((await copy(graph))._unsafeUnwrapErr()).toMatchObject({ kind: 'InsecureEndpoint' });
    const result = await copyImages(
      { ...world.context(), allowInsecureHttp: true },
      { source: 'app', target: 'app-staging', graph, concurrency: 3, partSizeBounds: SMALL_PART_BOUNDS },
    );

    expect(result.isOk()).toBe(true);
    expect(blobsIn('app-staging').length).toBeGreaterThan(0);
  });

  it('follows a download redirect, and refuses one that leaves TLS', async () => {
    const { app, graph } = await prepare();
    world.downloads.redirects.set(app.sharedLayer, `/${encodeURIComponent(app.sharedLayer)}?to={to}&moved=1`);

    expect((await copy(graph)).isOk()).toBe(true);
    expect(world.downloads.downloads.filter((path) => path.includes(app.sharedLayer.slice(7)))).toHaveLength(2);

    await world.target.ecr.send(new DeleteRepositoryCommand({ repositoryName: 'app-staging', force: true }));
    await ensureRepository(world.target, 'app-staging');
    world.downloads.redirects.set(app.sharedLayer, `http://example.com/${encodeURIComponent(app.sharedLayer)}`);
    expect((await copy(graph))._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: `http://example.com/${encodeURIComponent(app.sharedLayer)}` });
  });

  it('rejects a concurrency or part size out of bounds', async () => {
    const { graph } = await prepare();

    expect((await copy(graph, { concurrency: 0 }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'concurrency' });
    expect((await copy(graph, { partSize: 1024 }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'partSize' });
    expect((await copy(graph, { partSizeBounds: { min: 0, max: 10 } }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'partSizeBounds' });
    expect((await copy(graph, { partSizeBounds: { min: 11, max: 10 } }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'partSizeBounds' });
    expect((await copy(graph, { target: 'app' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'target' });
  });

  it('reports progress up to every image, blob and byte', async () => {
    const { app, graph } = await prepare(6 * UNIT);
    const events: CopyProgress[] = [];

    await copy(graph, { onProgress: (p) => events.push(p) });

    const last = events.at(-1);
    expect(last).toMatchObject({ phase: 'done', imagesDone: 6, imagesTotal: 6, blobsDone: app.blobs.size, blobsTotal: app.blobs.size, etaSeconds: 0 });
    expect(last?.bytesDone).toBe(last?.bytesTotal);
    expect(last?.ratePerSecond).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i]?.bytesDone).toBeGreaterThanOrEqual(events[i - 1]?.bytesDone ?? 0);
    expect(new Set(events.map((e) => e.phase))).toEqual(new Set(['checking', 'blobs', 'manifests', 'done']));
  });

  it('sends at most one byte event per 100 ms, and no estimate before 2 s and 1% (issue 15 B2)', async () => {
    const { graph } = await prepare(12 * UNIT);
    const at = (clock: () => number) => ({ ...world.context(), now: () => new Date(clock()) });
    // A clock that never moves: every part's byte event after the first falls within 100 ms.
    const frozen: CopyProgress[] = [];
    await ensureRepository(world.target, 'app-frozen');
    await ensureRepository(world.target, 'app-moving');
    (await copyImages(at(() => 0), { source: 'app', target: 'app-frozen', graph, concurrency: 1, partSizeBounds: SMALL_PART_BOUNDS, transport: 'api', onProgress: (p) => frozen.push(p) }))._unsafeUnwrap();
    // A clock that moves a second at every reading: every part's event is sent, and estimates appear after 2 s.
    let t = 0;
    const moving: CopyProgress[] = [];
    (await copyImages(at(() => (t += 1000)), { source: 'app', target: 'app-moving', graph, concurrency: 1, partSizeBounds: SMALL_PART_BOUNDS, transport: 'api', onProgress: (p) => moving.push(p) }))._unsafeUnwrap();

    const bytesOnly = (events: CopyProgress[]) => events.filter((e, i) => i > 0 && e.phase === 'blobs' && e.blobsDone === events[i - 1]?.blobsDone && e.bytesDone !== events[i - 1]?.bytesDone).length;
    expect(bytesOnly(moving)).toBeGreaterThan(bytesOnly(frozen));
    expect(bytesOnly(frozen)).toBeLessThanOrEqual(1);
    expect(bytesOnly(moving)).toBeGreaterThanOrEqual(2); // the big layer's parts
    // Frozen: no time has passed, so no estimate until the end (0 left); the rate counts only bytes uploaded.
    expect(frozen.filter((e) => e.etaSeconds !== undefined).every((e) => e.etaSeconds === 0 && e.bytesDone === e.bytesTotal)).toBe(true);
    expect(moving.some((e) => e.etaSeconds !== undefined && e.etaSeconds > 0)).toBe(true);
    expect(moving.at(-1)?.bytesCopied).toBe(graph.totalBytes);
  });

  it('tells the journal about each blob and manifest, and skips what it recorded', async () => {
    const { app, graph } = await prepare();
    const blobs: string[] = [];
    const manifests: string[] = [];
    await copy(graph, {
      onBlobCopied: (e) => okAsync(void blobs.push(e.digest)),
      onManifestCopied: (e) => okAsync(void manifests.push(e.digest)),
    });
    expect(new Set(blobs)).toEqual(new Set(app.blobs.keys()));
    expect(manifests).toEqual(graph.images.map((i) => i.digest));
    world.recorder.reset();

    await copy(graph, { done: { blobs, manifests } });

    expect(world.recorder.inputs('BatchCheckLayerAvailability')).toHaveLength(0);
    expect(world.recorder.inputs('PutImage')).toHaveLength(0);
  });

  it('stops at a journal failure and returns it', async () => {
    const { graph } = await prepare();
    const journalError = { kind: 'JournalWriteFailed', path: '/tmp/journal.json' } as const;

    const error = (await copy(graph, { onManifestCopied: () => errAsync(journalError) }))._unsafeUnwrapErr();

    expect(error).toBe(journalError);
    expect(new Set(pushes()).size).toBe(1);
  });

  it('stops when aborted, and reports Aborted', async () => {
    const { graph } = await prepare();
    const controller = new AbortController();

    const error = (await copy(graph, { signal: controller.signal, onBlobCopied: () => okAsync(controller.abort()) }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'Aborted' });
    expect(world.recorder.inputs('PutImage')).toHaveLength(0);
  });
});
