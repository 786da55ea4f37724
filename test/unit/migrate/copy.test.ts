import {
  BatchCheckLayerAvailabilityCommand,
  CompleteLayerUploadCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  ServerException,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { errAsync, okAsync } from 'neverthrow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyImages, type CopyImagesInput, type CopyProgress } from '../../../src/migration/copy.js';
import { snapshotImages, type ImageGraph } from '../../../src/migration/snapshot.js';
import { verifyCopy } from '../../../src/migration/verify.js';
import { FakeEcr, MiB, bytesFor, sha256, testContext, throttling } from './fake-ecr.js';
import { DOCKER_V2, buildApp, type AppFixture } from './fixtures.js';

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
  fake.pushes.length = 0;
  fake.completed.length = 0;
  fake.downloads.length = 0;
  fake.downloadFailures.clear();
  fake.corrupt.clear();
  fake.redirects.clear();
  fake.cutOffs.clear();
  fake.partSize = 5 * MiB;
  fake.urlBase = undefined;
  fake.maxBlobsInFlight = 0;
  fake.blobsInFlight.clear();
  fake.install(ecr);
});

const prepare = async (bigLayerBytes = 0): Promise<{ app: AppFixture; graph: ImageGraph }> => {
  const app = buildApp(fake, 'app', bigLayerBytes);
  fake.repo('app-staging');
  const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();
  ecr.resetHistory();
  return { app, graph };
};

const copy = <HE = never>(graph: ImageGraph, extra: Partial<CopyImagesInput<HE>> = {}) =>
  copyImages<HE>(testContext(), { source: 'app', target: 'app-staging', graph, concurrency: 3, ...extra });

describe('copyImages', () => {
  it('copies every image, untagged ones and referrers included, and the copy verifies', async () => {
    // Prepare
    const { app, graph } = await prepare();

    // Act
    const report = (await copy(graph))._unsafeUnwrap();

    // Assess
    const staging = fake.repo('app-staging');
    for (const [digest, manifest] of app.manifests) expect(staging.images.get(digest)?.manifest).toBe(manifest);
    expect(staging.images.get(app.untagged)?.tags).toEqual([]);
    expect(staging.images.get(app.signature)?.subject).toBe(app.docker);
    expect([...staging.blobs.keys()].sort()).toEqual([...app.blobs.keys()].sort());
    expect(report).toEqual({
      blobsCopied: app.blobs.size,
      blobsSkipped: 0,
      bytesCopied: [...app.blobs.values()].reduce((a, b) => a + b, 0),
      manifestsCreated: 6,
      manifestsExisting: 0,
      tagsApplied: 3,
    });
    expect((await verifyCopy(testContext(), { target: 'app-staging', graph }))._unsafeUnwrap()).toEqual({ images: 6, tags: 3, blobs: app.blobs.size });
  });

  it('pushes index children before the index and subjects before referrers, in push order otherwise', async () => {
    const { app, graph } = await prepare();

    await copy(graph);

    const firstPush = [...new Set(fake.pushes.map((p) => p.digest))];
    expect(firstPush).toEqual([app.untagged, app.arm64, app.amd64, app.index, app.docker, app.signature]);
    // Every blob was in place before the first manifest.
    expect(ecr.commandCalls(CompleteLayerUploadCommand).length).toBe(app.blobs.size);
  });

  it('re-applies every tag, one PutImage per tag, with the exact manifest, digest and media type', async () => {
    const { app, graph } = await prepare();

    await copy(graph);

    const puts = ecr.commandCalls(PutImageCommand).map((c) => c.args[0].input);
    expect(puts.filter((p) => p.imageDigest === app.docker)).toEqual([
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.docker), imageDigest: app.docker, imageManifestMediaType: DOCKER_V2, imageTag: 'latest' },
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.docker), imageDigest: app.docker, imageManifestMediaType: DOCKER_V2, imageTag: 'v1' },
    ]);
    expect(puts.filter((p) => p.imageDigest === app.untagged)).toEqual([
      { repositoryName: 'app-staging', imageManifest: app.manifests.get(app.untagged), imageDigest: app.untagged, imageManifestMediaType: DOCKER_V2 },
    ]);
    expect(fake.repo('app-staging').images.get(app.docker)?.tags).toEqual(['latest', 'v1']);
    expect(fake.repo('app-staging').images.get(app.index)?.tags).toEqual(['multi']);
  });

  it('streams a 25 MiB layer in parts of exactly the returned part size, in order, last part smaller', async () => {
    // Prepare: 25 MiB + 1000 bytes, so five full parts and a short one.
    const size = 25 * MiB + 1000;
    const { graph } = await prepare(size);
    const big = sha256(bytesFor(5, size));

    // Act
    const result = await copy(graph);

    // Assess
    expect(result.isOk()).toBe(true);
    const upload = fake.completed.find((c) => c.digest === big);
    expect(upload?.parts.map((p) => [p.first, p.last, p.size])).toEqual([
      [0, 5 * MiB - 1, 5 * MiB],
      [5 * MiB, 10 * MiB - 1, 5 * MiB],
      [10 * MiB, 15 * MiB - 1, 5 * MiB],
      [15 * MiB, 20 * MiB - 1, 5 * MiB],
      [20 * MiB, 25 * MiB - 1, 5 * MiB],
      [25 * MiB, 25 * MiB + 999, 1000],
    ]);
    // The parts are the blob's bytes, in order.
    const expected = bytesFor(5, size);
    expect(upload?.parts.map((p) => p.sha)).toEqual(upload?.parts.map((p) => sha256(expected.subarray(p.first, p.last + 1))));
    expect(ecr).toHaveReceivedCommandWith(CompleteLayerUploadCommand, { repositoryName: 'app-staging', layerDigests: [big] });
  });

  it('uses the part size ECR returns over the fallback', async () => {
    fake.partSize = 6 * MiB;
    const size = 13 * MiB;
    const { graph } = await prepare(size);

    await copy(graph, { partSize: 5 * MiB });

    const upload = fake.completed.find((c) => c.digest === sha256(bytesFor(5, size)));
    expect(upload?.parts.map((p) => p.size)).toEqual([6 * MiB, 6 * MiB, MiB]);
  });

  it('fetches a new download URL when the old one has expired (403), and restarts the blob', async () => {
    const { app, graph } = await prepare();
    fake.downloadFailures.set(app.sharedLayer, [403]);

    const result = await copy(graph);

    expect(result.isOk()).toBe(true);
    expect(ecr.commandCalls(GetDownloadUrlForLayerCommand).filter((c) => c.args[0].input.layerDigest === app.sharedLayer)).toHaveLength(2);
    expect(fake.repo('app-staging').blobs.get(app.sharedLayer)).toEqual(fake.repo('app').blobs.get(app.sharedLayer));
  });

  it('restarts a blob whose download breaks off mid-stream, after some parts were uploaded', async () => {
    const size = 12 * MiB;
    const { graph } = await prepare(size);
    const big = sha256(bytesFor(5, size));
    fake.cutOffs.set(big, 7 * MiB);
    const events: CopyProgress[] = [];

    const result = await copy(graph, { onProgress: (p) => events.push(p) });

    expect(result.isOk()).toBe(true);
    expect(ecr.commandCalls(InitiateLayerUploadCommand).length).toBe(graph.blobs.length + 1);
    expect(fake.completed.find((c) => c.digest === big)?.parts.map((p) => p.size)).toEqual([5 * MiB, 5 * MiB, 2 * MiB]);
    // The bytes of the broken attempt were given back, so the total still adds up.
    expect(events.at(-1)?.bytesDone).toBe(graph.totalBytes);
  });

  it('refuses a blob whose bytes do not match its digest, before CompleteLayerUpload', async () => {
    const { app, graph } = await prepare();
    fake.corrupt.add(app.sharedLayer);

    const error = (await copy(graph, { concurrency: 1 }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'DigestMismatch', subject: 'blob', expected: app.sharedLayer, repositoryName: 'app' });
    expect(error.kind === 'DigestMismatch' && error.actual).toBe(sha256(bytesFor(999, 300_000)));
    const completed = ecr.commandCalls(CompleteLayerUploadCommand).map((c) => c.args[0].input.layerDigests?.[0]);
    expect(completed).not.toContain(app.sharedLayer);
    // Manifests whose blobs were all in may have been pushed meanwhile, in order; none that needs the bad blob.
    const pushed = [...new Set(fake.pushes.map((p) => p.digest))];
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

    const names = ecr.calls().map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    const firstPut = names.indexOf('PutImageCommand');
    const lastComplete = names.lastIndexOf('CompleteLayerUploadCommand');
    expect(firstPut).toBeGreaterThan(-1);
    expect(firstPut).toBeLessThan(lastComplete);
    // Still one at a time in the graph's order.
    expect([...new Set(fake.pushes.map((p) => p.digest))]).toEqual(graph.images.map((i) => i.digest));
  });

  it('skips blobs the target already holds', async () => {
    const { app, graph } = await prepare();
    const present = [app.sharedLayer, ...[...app.blobs.keys()].slice(0, 2)];
    for (const digest of present) fake.repo('app-staging').blobs.set(digest, fake.repo('app').blobs.get(digest) ?? Buffer.alloc(0));

    const report = (await copy(graph))._unsafeUnwrap();

    const located = ecr.commandCalls(GetDownloadUrlForLayerCommand).map((c) => c.args[0].input.layerDigest);
    for (const digest of present) expect(located).not.toContain(digest);
    expect(report.blobsSkipped).toBe(new Set(present).size);
    expect(report.blobsCopied).toBe(app.blobs.size - new Set(present).size);
  });

  it('is idempotent: a second run finds everything and uploads nothing', async () => {
    const { graph } = await prepare();
    await copy(graph);
    ecr.resetHistory();

    const report = (await copy(graph))._unsafeUnwrap();

    expect(ecr).not.toHaveReceivedCommand(InitiateLayerUploadCommand);
    expect(report).toMatchObject({ blobsCopied: 0, manifestsCreated: 0, manifestsExisting: 6, tagsApplied: 0 });
    // ImageAlreadyExistsException was answered for every PutImage and counted as success.
    expect(ecr.commandCalls(PutImageCommand)).toHaveLength(7);
  });

  it('retries throttled calls and a lost part answer, then succeeds', async () => {
    const { graph } = await prepare(11 * MiB);
    fake.failNext('UploadLayerPart', throttling, 2);
    fake.failNext('PutImage', throttling);
    fake.failNext('BatchCheckLayerAvailability', () => new ServerException({ $metadata: { httpStatusCode: 500 }, message: 'internal' }));

    const result = await copy(graph, { concurrency: 1 });

    expect(result.isOk()).toBe(true);
    expect((await verifyCopy(testContext(), { target: 'app-staging', graph })).isOk()).toBe(true);
  });

  it('treats InvalidLayerPartException at the part end as a part that arrived when its answer was lost', async () => {
    // Prepare: ECR stores the first part but the answer is lost; the retry is then "not consecutive".
    const { graph } = await prepare(11 * MiB);
    fake.lostPartAnswers = 1;

    const result = await copy(graph, { concurrency: 1 });

    expect(result.isOk()).toBe(true);
    expect(ecr).toHaveReceivedCommandWith(UploadLayerPartCommand, { partFirstByte: 0 });
    const partCalls = ecr.commandCalls(UploadLayerPartCommand).map((c) => c.args[0].input.partFirstByte);
    expect(partCalls.filter((first) => first === 0).length).toBeGreaterThanOrEqual(2);
    expect((await verifyCopy(testContext(), { target: 'app-staging', graph })).isOk()).toBe(true);
  });

  it('checks availability and fetches manifests 100 a call', async () => {
    // Prepare: 250 images with one distinct layer each.
    for (let i = 0; i < 250; i++) {
      const layer = bytesFor(100 + i, 64);
      const layerDigest = fake.addBlob('app', layer);
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { mediaType: 'c', digest: layerDigest, size: 64 }, layers: [] });
      fake.addImage('app', { manifest, mediaType: DOCKER_V2, tags: [], pushedAt: new Date(1_700_000_000_000 + i), status: 'ACTIVE' });
    }
    fake.repo('app-staging');
    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    const result = await copy(graph, { concurrency: 8 });

    expect(result.isOk()).toBe(true);
    expect(ecr.commandCalls(BatchCheckLayerAvailabilityCommand).map((c) => c.args[0].input.layerDigests?.length)).toEqual([100, 100, 50]);
    // The pool starts eight blobs at once and never a ninth before one is done.
    expect(fake.maxBlobsInFlight).toBe(8);
    expect(ecr.commandCalls(PutImageCommand)).toHaveLength(250);
  });

  it('refuses a graph with archived images before any call', async () => {
    const { graph } = await prepare();
    const first = graph.images[0];
    if (!first) throw new Error('fixture has images');
    const archived: ImageGraph = { ...graph, images: [...graph.images, { ...first, digest: 'sha256:ab', status: 'ARCHIVED', manifest: undefined }], archived: ['sha256:ab'] };

    const error = (await copy(archived))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'ImagesArchived', repositoryName: 'app', images: [{ imageDigest: 'sha256:ab', status: 'ARCHIVED' }] });
    expect(ecr.calls()).toHaveLength(0);
  });

  it('refuses a download URL over plain http to a host that is not loopback', async () => {
    const { graph } = await prepare();
    fake.urlBase = 'http://prod-eu-west-1-starport-layer-bucket.s3.eu-west-1.amazonaws.com';

    const error = (await copy(graph))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'InsecureEndpoint' });
    expect(fake.downloads).toEqual([]);
  });

  it('follows a download redirect, and refuses one that leaves TLS', async () => {
    const { app, graph } = await prepare();
    fake.redirects.set(app.sharedLayer, `/app/${encodeURIComponent(app.sharedLayer)}?moved=1`);

    expect((await copy(graph)).isOk()).toBe(true);
    expect(fake.downloads.filter((path) => path.includes(app.sharedLayer.slice(7)))).toHaveLength(2);

    fake.repos.delete('app-staging');
    fake.repo('app-staging');
    fake.redirects.set(app.sharedLayer, `http://example.com/${encodeURIComponent(app.sharedLayer)}`);
    expect((await copy(graph))._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: `http://example.com/${encodeURIComponent(app.sharedLayer)}` });
  });

  it('rejects a concurrency or part size out of bounds', async () => {
    const { graph } = await prepare();

    expect((await copy(graph, { concurrency: 0 }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'concurrency' });
    expect((await copy(graph, { partSize: 1024 }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'partSize' });
    expect((await copy(graph, { target: 'app' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'target' });
  });

  it('reports progress up to every image, blob and byte', async () => {
    const { app, graph } = await prepare(6 * MiB);
    const events: CopyProgress[] = [];

    await copy(graph, { onProgress: (p) => events.push(p) });

    const last = events.at(-1);
    expect(last).toMatchObject({ phase: 'done', imagesDone: 6, imagesTotal: 6, blobsDone: app.blobs.size, blobsTotal: app.blobs.size, etaSeconds: 0 });
    expect(last?.bytesDone).toBe(last?.bytesTotal);
    expect(last?.ratePerSecond).toBeGreaterThan(0);
    for (let i = 1; i < events.length; i++) expect(events[i]?.bytesDone).toBeGreaterThanOrEqual(events[i - 1]?.bytesDone ?? 0);
    expect(new Set(events.map((e) => e.phase))).toEqual(new Set(['checking', 'blobs', 'manifests', 'done']));
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
    ecr.resetHistory();

    await copy(graph, { done: { blobs, manifests } });

    expect(ecr).not.toHaveReceivedCommand(BatchCheckLayerAvailabilityCommand);
    expect(ecr).not.toHaveReceivedCommand(PutImageCommand);
  });

  it('stops at a journal failure and returns it', async () => {
    const { graph } = await prepare();
    const journalError = { kind: 'JournalWriteFailed', path: '/tmp/journal.json' } as const;

    const error = (await copy(graph, { onManifestCopied: () => errAsync(journalError) }))._unsafeUnwrapErr();

    expect(error).toBe(journalError);
    expect(new Set(fake.pushes.map((p) => p.digest)).size).toBe(1);
  });

  it('stops when aborted, and reports Aborted', async () => {
    const { graph } = await prepare();
    const controller = new AbortController();

    const error = (await copy(graph, { signal: controller.signal, onBlobCopied: () => okAsync(controller.abort()) }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'Aborted' });
    expect(ecr).not.toHaveReceivedCommand(PutImageCommand);
  });
});
