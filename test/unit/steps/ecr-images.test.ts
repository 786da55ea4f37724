import {
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  ECRClient,
  GetDownloadUrlForLayerCommand,
  ImageNotFoundException,
  ImageTagAlreadyExistsException,
  InitiateLayerUploadCommand,
  InvalidLayerPartException,
  KmsException,
  LayerAlreadyExistsException,
  LayerInaccessibleException,
  LayersNotFoundException,
  ListImagesCommand,
  PutImageCommand,
  ReferencedImagesNotFoundException,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  completeLayerUpload,
  describeImagesByDigest,
  getDownloadUrlForLayer,
  initiateLayerUpload,
  listImages,
  putImage,
  uploadLayerPart,
} from '../../../src/steps/ecr-images.js';
import { testContext } from '../../fixtures/index.js';

const ecr = mockClient(ECRClient);
const digest = `sha256:${'a'.repeat(64)}`;
const push = { repositoryName: 'app', imageManifest: '{}', imageManifestMediaType: 'application/vnd.oci.image.manifest.v1+json', imageDigest: digest };

beforeEach(() => ecr.reset());

describe('ECR image steps', () => {
  it('listImages asks for every image, 1000 a page, and follows nextToken', async () => {
    ecr
      .on(ListImagesCommand)
      .resolvesOnce({ imageIds: [{ imageDigest: digest, imageTag: 'a' }], nextToken: 'p2' })
      .resolvesOnce({ imageIds: [{ imageDigest: digest }] });

    const ids = (await listImages(testContext(), 'app'))._unsafeUnwrap();

    expect(ids).toEqual([{ imageDigest: digest, imageTag: 'a' }, { imageDigest: digest }]);
    expect(ecr).toHaveReceivedNthCommandWith(ListImagesCommand, 1, { repositoryName: 'app', filter: { tagStatus: 'ANY', imageStatus: 'ANY' }, maxResults: 1000 });
    expect(ecr).toHaveReceivedNthCommandWith(ListImagesCommand, 2, { nextToken: 'p2' });
  });

  it('describeImagesByDigest asks 100 digests a call and maps ImageNotFoundException to ImagesUnavailable', async () => {
    const digests = Array.from({ length: 150 }, (_, i) => `sha256:${i.toString(16).padStart(64, '0')}`);
    ecr
      .on(DescribeImagesCommand)
      .resolvesOnce({ imageDetails: [] })
      .rejectsOnce(new ImageNotFoundException({ $metadata: {}, message: 'not found' }));

    const error = (await describeImagesByDigest(testContext(), 'app', digests))._unsafeUnwrapErr();

    expect(ecr.commandCalls(DescribeImagesCommand).map((c) => c.args[0].input.imageIds?.length)).toEqual([100, 50]);
    expect(error).toMatchObject({ kind: 'ImagesUnavailable', repositoryName: 'app' });
    expect(error.kind === 'ImagesUnavailable' && error.failures.map((f) => f.imageDigest)).toEqual(digests.slice(100));
  });

  it('getDownloadUrlForLayer maps the layer exceptions to LayerTransferFailed at the locate stage', async () => {
    ecr
      .on(GetDownloadUrlForLayerCommand)
      .rejectsOnce(new LayersNotFoundException({ $metadata: {}, message: 'no layer' }))
      .rejectsOnce(new LayerInaccessibleException({ $metadata: {}, message: 'not referenced' }));

    const first = (await getDownloadUrlForLayer(testContext(), 'app', digest))._unsafeUnwrapErr();
    const second = (await getDownloadUrlForLayer(testContext(), 'app', digest))._unsafeUnwrapErr();

    expect(first).toMatchObject({ kind: 'LayerTransferFailed', stage: 'locate', reason: 'LayersNotFoundException', layerDigest: digest });
    expect(second).toMatchObject({ kind: 'LayerTransferFailed', reason: 'LayerInaccessibleException' });
  });

  it('initiateLayerUpload maps KmsException to KmsRefused with the KMS error code', async () => {
    ecr.on(InitiateLayerUploadCommand).rejects(new KmsException({ $metadata: {}, message: 'key disabled', kmsError: 'DisabledException' }));

    const error = (await initiateLayerUpload(testContext(), 'app'))._unsafeUnwrapErr();

    expect(error).toMatchObject({ kind: 'KmsRefused', operation: 'InitiateLayerUpload', kmsError: 'DisabledException', message: 'key disabled' });
  });

  it('uploadLayerPart sends inclusive byte positions and reports a part ECR holds other bytes for', async () => {
    ecr.on(UploadLayerPartCommand).rejects(new InvalidLayerPartException({ $metadata: {}, message: 'not consecutive', lastValidByteReceived: 3 }));

    const error = (await uploadLayerPart(testContext(), { repositoryName: 'app', uploadId: 'u', layerDigest: digest, firstByte: 10, bytes: new Uint8Array(5) }))._unsafeUnwrapErr();

    expect(ecr).toHaveReceivedCommandWith(UploadLayerPartCommand, { partFirstByte: 10, partLastByte: 14 });
    expect(error).toMatchObject({ kind: 'LayerTransferFailed', stage: 'upload', reason: 'InvalidLayerPartException' });
  });

  it('completeLayerUpload sends the digest and counts LayerAlreadyExists as success', async () => {
    ecr
      .on(CompleteLayerUploadCommand)
      .resolvesOnce({ layerDigest: digest })
      .rejectsOnce(new LayerAlreadyExistsException({ $metadata: {}, message: 'layer exists' }));

    expect((await completeLayerUpload(testContext(), 'app', 'u', digest))._unsafeUnwrap()).toBe('completed');
    expect((await completeLayerUpload(testContext(), 'app', 'u', digest))._unsafeUnwrap()).toBe('existed');
    expect(ecr).toHaveReceivedCommandWith(CompleteLayerUploadCommand, { repositoryName: 'app', uploadId: 'u', layerDigests: [digest] });
  });

  it('putImage maps the refusals ECR models to ManifestRejected with a reason', async () => {
    ecr
      .on(PutImageCommand)
      .rejectsOnce(new ReferencedImagesNotFoundException({ $metadata: {}, message: 'child missing' }))
      .rejectsOnce(new ImageTagAlreadyExistsException({ $metadata: {}, message: 'immutable' }));

    const first = (await putImage(testContext(), push))._unsafeUnwrapErr();
    const second = (await putImage(testContext(), { ...push, imageTag: 'v1' }))._unsafeUnwrapErr();

    expect(first).toMatchObject({ kind: 'ManifestRejected', reason: 'ReferencedImagesNotFound', imageDigest: digest, imageTag: undefined });
    expect(second).toMatchObject({ kind: 'ManifestRejected', reason: 'ImageTagAlreadyExists', imageTag: 'v1' });
  });
});
