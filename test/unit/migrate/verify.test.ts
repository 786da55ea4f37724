import { BatchDeleteImageCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { copyImages } from '../../../src/migration/copy.js';
import { snapshotImages, type ImageGraph } from '../../../src/migration/snapshot.js';
import { verifyCopy } from '../../../src/migration/verify.js';
import { pushManifest } from '../../../src/testing/index.js';
import { addBlob, addImage, type AppFixture, buildApp, bytesFor, DOCKER_V2, ensureRepository, OCI_MANIFEST } from '../../fixtures/app-repository.js';
import { useEmulatedEcr } from '../../fixtures/emulated-ecr.js';

const world = useEmulatedEcr();

const copied = async (): Promise<{ app: AppFixture; graph: ImageGraph }> => {
  const app = await buildApp(world.target);
  await ensureRepository(world.target, 'app-staging');
  const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
  (await copyImages(world.context(), { source: 'app', target: 'app-staging', graph, concurrency: 2 }))._unsafeUnwrap();
  world.recorder.reset();
  return { app, graph };
};

type Answer = Record<string, unknown> & { images?: Record<string, unknown>[]; imageDetails?: Record<string, unknown>[]; layers?: Record<string, unknown>[] };

describe('verifyCopy', () => {
  it('accepts a faithful copy, reading manifests by digest and blobs 100 a call', async () => {
    const { app, graph } = await copied();

    const report = (await verifyCopy(world.context(), { target: 'app-staging', graph }))._unsafeUnwrap();

    expect(report).toEqual({ images: 6, tags: 3, blobs: app.blobs.size });
    const asked = world.recorder.inputs('BatchGetImage').flatMap((input) => input.imageIds as { imageTag?: string }[]);
    expect(asked.every((id) => id.imageTag === undefined)).toBe(true);
    expect(world.recorder.inputs('BatchCheckLayerAvailability')).toHaveLength(1);
  });

  it('lists every difference: a missing digest, other manifest bytes or media type, a moved tag, a missing blob', async () => {
    // Prepare: damage the copy in four ways. Deleting an image and moving a tag happen in ECR;
    // other bytes under the same digest, another media type and a lost blob cannot be made through
    // ECR's API, so ECR's answers are changed on their way to the library.
    const { app, graph } = await copied();
    await world.target.ecr.send(new BatchDeleteImageCommand({ repositoryName: 'app-staging', imageIds: [{ imageDigest: app.untagged }] }));
    await pushManifest(world.target.ecr, 'app-staging', app.manifests.get(app.arm64) ?? '', OCI_MANIFEST, ['multi']);
    world.recorder.answer('BatchGetImage', (output) => {
      for (const image of (output as Answer).images ?? []) {
        const digest = (image.imageId as { imageDigest?: string }).imageDigest;
        if (digest === app.docker) image.imageManifest = JSON.stringify(JSON.parse(String(image.imageManifest)));
        if (digest === app.signature) image.imageManifestMediaType = DOCKER_V2;
      }
    });
    world.recorder.answer('DescribeImages', (output) => {
      for (const detail of (output as Answer).imageDetails ?? []) if (detail.imageDigest === app.signature) detail.imageManifestMediaType = DOCKER_V2;
    });
    world.recorder.answer('BatchCheckLayerAvailability', (output) => {
      (output as Answer).layers = ((output as Answer).layers ?? []).map((l) => (l.layerDigest === app.sharedLayer ? { layerDigest: app.sharedLayer, layerAvailability: 'UNAVAILABLE' } : l));
    });

    // Act
    const error = (await verifyCopy(world.context(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

    // Assess
    expect(error).toEqual({
      kind: 'CopyVerificationFailed',
      repositoryName: 'app-staging',
      missingImages: [{ imageDigest: app.untagged, failureCode: 'ImageNotFound' }],
      manifestMismatches: [
        { imageDigest: app.docker, expectedMediaType: DOCKER_V2, actualMediaType: DOCKER_V2, bytesDiffer: true },
        { imageDigest: app.signature, expectedMediaType: OCI_MANIFEST, actualMediaType: DOCKER_V2, bytesDiffer: false },
      ],
      tagMismatches: [{ tag: 'multi', expected: app.index, actual: app.arm64 }],
      missingBlobs: [{ layerDigest: app.sharedLayer, availability: 'UNAVAILABLE' }],
      notCopied: [],
    });
  });

  it('reports a tag absent from the target', async () => {
    const { app, graph } = await copied();
    await world.target.ecr.send(new BatchDeleteImageCommand({ repositoryName: 'app-staging', imageIds: [{ imageTag: 'v1' }] }));

    const error = (await verifyCopy(world.context(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'CopyVerificationFailed', tagMismatches: [{ tag: 'v1', expected: app.docker, actual: undefined }] });
  });

  it('fails a snapshot whose archived images could not be copied', async () => {
    await buildApp(world.target);
    const archived = await addImage(world.target, 'app', {
      manifest: JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { digest: await addBlob(world.target, 'app', bytesFor(9, 9)) }, layers: [] }),
      mediaType: DOCKER_V2,
      tags: ['old'],
      pushedAt: new Date('2020-01-01T00:00:00Z'),
      archived: true,
    });
    await ensureRepository(world.target, 'app-staging');
    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
    const active: ImageGraph = { ...graph, images: graph.images.filter((i) => i.status === 'ACTIVE'), archived: [] };
    (await copyImages(world.context(), { source: 'app', target: 'app-staging', graph: active, concurrency: 2 }))._unsafeUnwrap();

    const error = (await verifyCopy(world.context(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'CopyVerificationFailed', notCopied: [archived], missingImages: [], tagMismatches: [] });
  });

  it('maps a missing target to RepositoryNotFound', async () => {
    await buildApp(world.target);
    const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();

    const error = (await verifyCopy(world.context(), { target: 'gone', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: 'gone' });
  });
});
