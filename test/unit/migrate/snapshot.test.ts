import { BatchGetImageCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { snapshotImages } from '../../../src/migration/snapshot.js';
import { FakeEcr, bytesFor, testContext, throttling } from './fake-ecr.js';
import { DOCKER_V2, OCI_INDEX, OCI_MANIFEST, buildApp } from './fixtures.js';

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
  fake.install(ecr);
});

describe('snapshotImages', () => {
  it('lists every image by digest with its exact manifest, tags, status and links', async () => {
    // Prepare
    const app = buildApp(fake);

    // Act
    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    // Assess
    const byDigest = new Map(graph.images.map((i) => [i.digest, i]));
    expect(byDigest.size).toBe(6);
    for (const [digest, manifest] of app.manifests) expect(byDigest.get(digest)?.manifest).toBe(manifest);
    expect(byDigest.get(app.docker)).toMatchObject({ tags: ['latest', 'v1'], mediaType: DOCKER_V2, status: 'ACTIVE', referrers: [app.signature] });
    expect(byDigest.get(app.untagged)).toMatchObject({ tags: [], mediaType: DOCKER_V2 });
    expect(byDigest.get(app.index)).toMatchObject({ tags: ['multi'], mediaType: OCI_INDEX, children: [app.amd64, app.arm64] });
    expect(byDigest.get(app.amd64)).toMatchObject({ parents: [app.index], mediaType: OCI_MANIFEST });
    expect(byDigest.get(app.signature)).toMatchObject({ subject: app.docker, artifactMediaType: 'application/vnd.dev.cosign.artifact.sig.v1+json' });
    expect(byDigest.get(app.docker)?.pushedAt).toBe('2025-06-01T00:04:00.000Z');
    expect(graph.archived).toEqual([]);
    expect(graph.danglingReferences).toEqual([]);
  });

  it('orders children before their index and subjects before referrers, otherwise by push time', async () => {
    const app = buildApp(fake);

    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    expect(graph.images.map((i) => i.digest)).toEqual([app.untagged, app.arm64, app.amd64, app.index, app.docker, app.signature]);
  });

  it('de-duplicates blobs, with sizes from the manifests, in copy order', async () => {
    const app = buildApp(fake);

    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    expect(new Map(graph.blobs.map((b) => [b.digest, b.size]))).toEqual(app.blobs);
    expect(graph.totalBytes).toBe([...app.blobs.values()].reduce((a, b) => a + b, 0));
    expect(graph.blobsOfUnknownSize).toBe(0);
    const shared = graph.blobs.find((b) => b.digest === app.sharedLayer);
    expect(shared?.usedBy).toEqual([app.amd64, app.docker]);
    // The untagged image is copied first, so its config comes first.
    expect(graph.blobs[0]?.digest).toBe(graph.images[0]?.blobs[0]);
  });

  it('asks for every image and every manifest media type, by digest, 100 a call', async () => {
    // Prepare: 250 small images over three DescribeImages pages.
    fake.pageSize = 100;
    const layer = fake.addBlob('many', bytesFor(7, 10));
    for (let i = 0; i < 250; i++) {
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { mediaType: 'x', digest: layer, size: 10 }, layers: [], n: i });
      fake.addImage('many', { manifest, mediaType: DOCKER_V2, tags: i % 2 ? [`t${i}`] : [], pushedAt: new Date(1_700_000_000_000 + i), status: 'ACTIVE' });
    }

    // Act
    const graph = (await snapshotImages(testContext(), 'many'))._unsafeUnwrap();
    fake.pageSize = 1000;

    // Assess
    expect(graph.images).toHaveLength(250);
    expect(ecr).toHaveReceivedCommandTimes(DescribeImagesCommand, 3);
    expect(ecr).toHaveReceivedCommandWith(DescribeImagesCommand, { filter: { tagStatus: 'ANY', imageStatus: 'ANY' }, maxResults: 1000 });
    const gets = ecr.commandCalls(BatchGetImageCommand).map((c) => c.args[0].input);
    expect(gets.map((g) => g.imageIds?.length)).toEqual([100, 100, 50]);
    for (const g of gets) {
      expect(g.imageIds?.every((id) => id.imageDigest !== undefined && id.imageTag === undefined)).toBe(true);
      expect(g.acceptedMediaTypes).toEqual(
        expect.arrayContaining([
          DOCKER_V2,
          'application/vnd.docker.distribution.manifest.list.v2+json',
          OCI_MANIFEST,
          OCI_INDEX,
          'application/vnd.docker.distribution.manifest.v1+prettyjws',
        ]),
      );
    }
  });

  it('reports archived images without reading them: they cannot be pulled', async () => {
    const app = buildApp(fake);
    const archived = fake.addImage('app', {
      manifest: '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"sha256:00"},"layers":[]}',
      mediaType: DOCKER_V2,
      tags: ['2019'],
      pushedAt: new Date('2019-01-01T00:00:00Z'),
      status: 'ARCHIVED',
    });

    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    expect(graph.archived).toEqual([archived]);
    expect(graph.images.at(-1)).toMatchObject({ digest: archived, status: 'ARCHIVED', manifest: undefined, tags: ['2019'] });
    const asked = ecr.commandCalls(BatchGetImageCommand).flatMap((c) => c.args[0].input.imageIds?.map((id) => id.imageDigest) ?? []);
    expect(asked).not.toContain(archived);
    expect(asked).toContain(app.docker);
  });

  it('returns ImagesUnavailable when ECR lists an image it then cannot return', async () => {
    const app = buildApp(fake);
    ecr.on(BatchGetImageCommand).resolves({
      images: [],
      failures: [{ imageId: { imageDigest: app.docker }, failureCode: 'KmsError', failureReason: 'key disabled' }],
    });

    const error = (await snapshotImages(testContext(), 'app'))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'ImagesUnavailable', repositoryName: 'app' });
    expect(error.kind === 'ImagesUnavailable' && error.failures).toEqual(
      expect.arrayContaining([{ imageDigest: app.docker, imageTag: undefined, failureCode: 'KmsError', failureReason: 'key disabled' }]),
    );
  });

  it('maps RepositoryNotFoundException to RepositoryNotFound', async () => {
    const error = (await snapshotImages(testContext(), 'nope'))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: 'nope' });
  });

  it('retries a throttled DescribeImages, then succeeds', async () => {
    buildApp(fake);
    fake.failNext('DescribeImages', throttling, 2);

    const graph = await snapshotImages(testContext(), 'app');

    expect(graph.isOk()).toBe(true);
    expect(ecr).toHaveReceivedCommandTimes(DescribeImagesCommand, 3);
  });
});
