import { BatchGetImageCommand, type BatchGetImageCommandInput, DescribeImagesCommand, type DescribeImagesCommandInput, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { snapshotImages } from '../../../src/migration/snapshot.js';
import { ApiError } from '../../../src/testing/index.js';
import { addBlob, addImage, bytesFor, buildApp, DOCKER_V2, OCI_INDEX, OCI_MANIFEST, sha256 } from '../../fixtures/app-repository.js';
import { useEmulatedEcr } from '../../fixtures/emulated-ecr.js';
import { testContext } from '../../fixtures/index.js';

const world = useEmulatedEcr();

describe('snapshotImages', () => {
  it('lists every image by digest with its exact manifest, tags, status and links', async () => {
    // Prepare
    const app = await buildApp(world.target);

    // Act
    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();

    // Assess
    const byDigest = new Map(graph.images.map((i) => [i.digest, i]));
    expect(byDigest.size).toBe(6);
    for (const [digest, manifest] of app.manifests) expect(byDigest.get(digest)?.manifest).toBe(manifest);
    expect(byDigest.get(app.docker)).toMatchObject({ tags: ['latest', 'v1'], mediaType: DOCKER_V2, status: 'ACTIVE', referrers: [app.signature] });
    expect(byDigest.get(app.untagged)).toMatchObject({ tags: [], mediaType: DOCKER_V2 });
    expect(byDigest.get(app.index)).toMatchObject({ tags: ['multi'], mediaType: OCI_INDEX, children: [app.amd64, app.arm64] });
    expect(byDigest.get(app.amd64)).toMatchObject({ parents: [app.index], mediaType: OCI_MANIFEST });
    // ECR's artifactMediaType of a referrer: the emulator answers its config's media type (GUESS:
    // AWS documents only "the artifact media type of the image"); the snapshot keeps what ECR said.
    expect(byDigest.get(app.signature)).toMatchObject({ subject: app.docker, artifactMediaType: 'application/vnd.oci.empty.v1+json' });
    expect(byDigest.get(app.docker)?.pushedAt).toBe('2025-06-01T00:04:00.000Z');
    expect(graph.archived).toEqual([]);
    expect(graph.danglingReferences).toEqual([]);
  });

  it('orders children before their index and subjects before referrers, otherwise by push time', async () => {
    const app = await buildApp(world.target);

    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();

    expect(graph.images.map((i) => i.digest)).toEqual([app.untagged, app.arm64, app.amd64, app.index, app.docker, app.signature]);
  });

  it('de-duplicates blobs, with sizes from the manifests, in copy order', async () => {
    const app = await buildApp(world.target);

    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();

    expect(new Map(graph.blobs.map((b) => [b.digest, b.size]))).toEqual(app.blobs);
    expect(graph.totalBytes).toBe([...app.blobs.values()].reduce((a, b) => a + b, 0));
    expect(graph.blobsOfUnknownSize).toBe(0);
    const shared = graph.blobs.find((b) => b.digest === app.sharedLayer);
    expect(shared?.usedBy).toEqual([app.amd64, app.docker]);
    // The untagged image is copied first, so its config comes first.
    expect(graph.blobs[0]?.digest).toBe(graph.images[0]?.blobs[0]);
  });

  it('asks for every image and every manifest media type, by digest, 100 a call', async () => {
    // Prepare: 250 small images, which ECR (a per-test stub here: the emulator never pages below
    // the maxResults asked for) answers over three DescribeImages pages of 100.
    const ecr = mockClient(ECRClient);
    const layer = sha256(bytesFor(7, 10));
    const images = Array.from({ length: 250 }, (_, i) => {
      const manifest = JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { mediaType: 'x', digest: layer, size: 10 }, layers: [], n: i });
      return { manifest, digest: sha256(manifest), tags: i % 2 ? [`t${i}`] : [], pushedAt: new Date(1_700_000_000_000 + i) };
    });
    ecr.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
      const start = Number(input.nextToken ?? '0');
      const page = images.slice(start, start + 100).map((i) => ({
        repositoryName: 'many',
        imageDigest: i.digest,
        ...(i.tags.length > 0 ? { imageTags: i.tags } : {}),
        imagePushedAt: i.pushedAt,
        imageManifestMediaType: DOCKER_V2,
        imageStatus: 'ACTIVE',
      }));
      return Promise.resolve({ imageDetails: page, ...(start + 100 < images.length ? { nextToken: String(start + 100) } : {}) });
    });
    ecr.on(BatchGetImageCommand).callsFake((input: BatchGetImageCommandInput) =>
      Promise.resolve({
        images: (input.imageIds ?? []).map((id) => {
          const image = images.find((i) => i.digest === id.imageDigest);
          return { repositoryName: 'many', imageId: { imageDigest: image?.digest }, imageManifest: image?.manifest, imageManifestMediaType: DOCKER_V2 };
        }),
        failures: [],
      }),
    );

    // Act
    const graph = (await snapshotImages(testContext(), 'many'))._unsafeUnwrap();

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
    ecr.restore();
  });

  it('reports archived images without reading them: they cannot be pulled', async () => {
    const app = await buildApp(world.target);
    const config = await addBlob(world.target, 'app', bytesFor(8, 8));
    const archived = await addImage(world.target, 'app', {
      manifest: `{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"digest":"${config}"},"layers":[]}`,
      mediaType: DOCKER_V2,
      tags: ['2019'],
      pushedAt: new Date('2019-01-01T00:00:00Z'),
      archived: true,
    });

    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();

    expect(graph.archived).toEqual([archived]);
    expect(graph.images.at(-1)).toMatchObject({ digest: archived, status: 'ARCHIVED', manifest: undefined, tags: ['2019'] });
    const asked = world.recorder.inputs('BatchGetImage').flatMap((input) => (input.imageIds as { imageDigest?: string }[]).map((id) => id.imageDigest));
    expect(asked).not.toContain(archived);
    expect(asked).toContain(app.docker);
  });

  it('returns ImagesUnavailable when ECR lists an image it then cannot return', async () => {
    const app = await buildApp(world.target);
    world.recorder.answer('BatchGetImage', (output) => {
      output.images = [];
      output.failures = [{ imageId: { imageDigest: app.docker }, failureCode: 'KmsError', failureReason: 'key disabled' }];
    });

    const error = (await snapshotImages(world.context(), 'app'))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'ImagesUnavailable', repositoryName: 'app' });
    expect(error.kind === 'ImagesUnavailable' && error.failures).toEqual(
      expect.arrayContaining([{ imageDigest: app.docker, imageTag: undefined, failureCode: 'KmsError', failureReason: 'key disabled' }]),
    );
  });

  it('maps RepositoryNotFoundException to RepositoryNotFound', async () => {
    const error = (await snapshotImages(world.context(), 'nope'))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: 'nope' });
  });

  it('retries a throttled DescribeImages, then succeeds', async () => {
    await buildApp(world.target);
    const throttled = (): ApiError => new ApiError('ThrottlingException', 'Rate exceeded', { status: 400 });
    world.aws.faults.failNth('ecr:DescribeImages', 1, throttled());
    world.aws.faults.failNth('ecr:DescribeImages', 2, throttled());

    const graph = await snapshotImages(world.context(), 'app');

    expect(graph.isOk()).toBe(true);
    expect(world.recorder.inputs('DescribeImages')).toHaveLength(3);
  });
});
