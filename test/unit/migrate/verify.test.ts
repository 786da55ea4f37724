import { BatchCheckLayerAvailabilityCommand, BatchGetImageCommand, ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { copyImages } from '../../../src/migration/copy.js';
import { snapshotImages, type ImageGraph } from '../../../src/migration/snapshot.js';
import { verifyCopy } from '../../../src/migration/verify.js';
import { FakeEcr, bytesFor, testContext } from './fake-ecr.js';
import { DOCKER_V2, OCI_MANIFEST, buildApp, type AppFixture } from './fixtures.js';

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

const copied = async (): Promise<{ app: AppFixture; graph: ImageGraph }> => {
  const app = buildApp(fake);
  fake.repo('app-staging');
  const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();
  (await copyImages(testContext(), { source: 'app', target: 'app-staging', graph, concurrency: 2 }))._unsafeUnwrap();
  ecr.resetHistory();
  return { app, graph };
};

describe('verifyCopy', () => {
  it('accepts a faithful copy, reading manifests by digest and blobs 100 a call', async () => {
    const { app, graph } = await copied();

    const report = (await verifyCopy(testContext(), { target: 'app-staging', graph }))._unsafeUnwrap();

    expect(report).toEqual({ images: 6, tags: 3, blobs: app.blobs.size });
    const asked = ecr.commandCalls(BatchGetImageCommand).flatMap((c) => c.args[0].input.imageIds ?? []);
    expect(asked.every((id) => id.imageTag === undefined)).toBe(true);
    expect(ecr).toHaveReceivedCommandTimes(BatchCheckLayerAvailabilityCommand, 1);
  });

  it('lists every difference: a missing digest, other manifest bytes or media type, a moved tag, a missing blob', async () => {
    // Prepare: damage the copy in four ways.
    const { app, graph } = await copied();
    const staging = fake.repo('app-staging');
    staging.images.delete(app.untagged);
    const docker = staging.images.get(app.docker);
    if (!docker) throw new Error('copied');
    const reformatted = JSON.stringify(JSON.parse(docker.manifest));
    staging.images.set(app.docker, { ...docker, manifest: reformatted });
    const signature = staging.images.get(app.signature);
    if (!signature) throw new Error('copied');
    staging.images.set(app.signature, { ...signature, mediaType: DOCKER_V2 });
    const index = staging.images.get(app.index);
    if (index) index.tags = [];
    const arm = staging.images.get(app.arm64);
    if (arm) arm.tags = ['multi'];
    staging.blobs.delete(app.sharedLayer);

    // Act
    const error = (await verifyCopy(testContext(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

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
    const docker = fake.repo('app-staging').images.get(app.docker);
    if (docker) docker.tags = ['latest'];

    const error = (await verifyCopy(testContext(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'CopyVerificationFailed', tagMismatches: [{ tag: 'v1', expected: app.docker, actual: undefined }] });
  });

  it('fails a snapshot whose archived images could not be copied', async () => {
    buildApp(fake);
    const archived = fake.addImage('app', {
      manifest: JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: { digest: fake.addBlob('app', bytesFor(9, 9)) }, layers: [] }),
      mediaType: DOCKER_V2,
      tags: ['old'],
      pushedAt: new Date('2020-01-01T00:00:00Z'),
      status: 'ARCHIVED',
    });
    fake.repo('app-staging');
    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();
    const active: ImageGraph = { ...graph, images: graph.images.filter((i) => i.status === 'ACTIVE'), archived: [] };
    (await copyImages(testContext(), { source: 'app', target: 'app-staging', graph: active, concurrency: 2 }))._unsafeUnwrap();

    const error = (await verifyCopy(testContext(), { target: 'app-staging', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'CopyVerificationFailed', notCopied: [archived], missingImages: [], tagMismatches: [] });
  });

  it('maps a missing target to RepositoryNotFound', async () => {
    buildApp(fake);
    const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();

    const error = (await verifyCopy(testContext(), { target: 'gone', graph }))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: 'gone' });
  });
});
