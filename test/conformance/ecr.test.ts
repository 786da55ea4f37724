/**
 * ECR conformance: the real `ECRClient` (SigV4, AWS JSON 1.1) round-trips every ECR operation the
 * emulator supports, and its errors come back as the SDK's own exception classes with their
 * fields. Bad requests change no state. The emulator runs on a manual clock (URL expiry, restores).
 */
import { createHash } from 'node:crypto';
import {
  BatchCheckLayerAvailabilityCommand,
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  BatchGetRepositoryScanningConfigurationCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  ECRClient,
  ECRServiceException,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  GetLifecyclePolicyCommand,
  GetRegistryPolicyCommand,
  GetRegistryScanningConfigurationCommand,
  GetRepositoryPolicyCommand,
  ImageAlreadyExistsException,
  ImageDigestDoesNotMatchException,
  ImageTagAlreadyExistsException,
  InitiateLayerUploadCommand,
  InvalidLayerException,
  InvalidLayerPartException,
  InvalidParameterException,
  KmsException,
  LayerAlreadyExistsException,
  LayerInaccessibleException,
  LayerPartTooSmallException,
  LayersNotFoundException,
  LifecyclePolicyNotFoundException,
  ListImageReferrersCommand,
  ListImagesCommand,
  ListTagsForResourceCommand,
  PutImageCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  PutLifecyclePolicyCommand,
  ReferencedImagesNotFoundException,
  RegistryPolicyNotFoundException,
  RepositoryAlreadyExistsException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
  SetRepositoryPolicyCommand,
  StartImageScanCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateImageStorageClassCommand,
  UploadLayerPartCommand,
  UploadNotFoundException,
} from '@aws-sdk/client-ecr';
import { DisableKeyCommand, EnableKeyCommand, type KMSClient, RetireGrantCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalAws,
  manualClock,
  MEDIA_TYPES,
  pushImage,
  pushIndex,
  randomBytes,
  startLocalAws,
  uploadBlob,
} from '../../src/testing/index.js';
import { createKey, kmsFor } from '../helpers/local-aws.js';

const MiB = 1024 * 1024;
const clock = manualClock();
let aws: LocalAws;
let ecr: ECRClient;
let kms: KMSClient;

beforeAll(async () => {
  aws = await startLocalAws({ clock });
  ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  kms = kmsFor(aws);
});
afterAll(async () => {
  ecr.destroy();
  kms.destroy();
  await aws.stop();
});

const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const rejection = async (promise: Promise<unknown>): Promise<unknown> => promise.then(
  () => {
    throw new Error('expected the call to fail');
  },
  (error: unknown) => error,
);
/** Everything ECR holds, to prove a bad request changed nothing. */
const ecrState = () => ({
  repositories: aws.inspect.ecr?.repositories().map((r) => ({ ...r })),
  objects: aws.inspect.ecr?.storedObjects(),
});
const newRepository = async (name: string, extra: Partial<ConstructorParameters<typeof CreateRepositoryCommand>[0]> = {}) => {
  const { repository } = await ecr.send(new CreateRepositoryCommand({ repositoryName: name, ...extra }));
  return repository!;
};

describe('repositories', () => {
  it('creates with settings and KMS by alias, echoing the key ARN, and describes with paging', async () => {
    const key = await createKey(kms, { alias: 'alias/conformance' });
    const repository = await newRepository('conf/repo-a', {
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/conformance' },
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      tags: [{ Key: 'team', Value: 'core' }],
    });
    expect(repository).toMatchObject({
      repositoryName: 'conf/repo-a',
      repositoryArn: `arn:aws:ecr:us-east-1:${aws.account}:repository/conf/repo-a`,
      registryId: aws.account,
      repositoryUri: `${aws.account}.dkr.ecr.us-east-1.amazonaws.com/conf/repo-a`,
      imageTagMutability: 'IMMUTABLE',
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn },
    });
    expect(repository.createdAt).toBeInstanceOf(Date);
    await newRepository('conf/repo-b');

    const first = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1 }));
    expect(first.repositories).toHaveLength(1);
    expect(first.nextToken).toBeDefined();
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1, ...(token ? { nextToken: token } : {}) }));
      names.push(...(page.repositories ?? []).map((r) => r.repositoryName ?? ''));
      token = page.nextToken;
    } while (token);
    expect(names).toEqual(expect.arrayContaining(['conf/repo-a', 'conf/repo-b']));
    const aes = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['conf/repo-b'] }));
    expect(aes.repositories?.[0]?.encryptionConfiguration).toEqual({ encryptionType: 'AES256' });
  });

  it('answers the modelled exceptions for unknown, duplicate and malformed repositories, changing nothing', async () => {
    await newRepository('conf/dup');
    const before = ecrState();

    const missing = await rejection(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['conf/missing'] })));
    const duplicate = await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'conf/dup' })));
    const malformed = await rejection(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Conf/UPPER' })));
    const deleteMissing = await rejection(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'conf/missing' })));

    expect(missing).toBeInstanceOf(RepositoryNotFoundException);
    expect(missing).toMatchObject({ $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect((missing as Error).message).toContain('conf/missing');
    expect(duplicate).toBeInstanceOf(RepositoryAlreadyExistsException);
    expect(malformed).toBeInstanceOf(InvalidParameterException);
    expect(deleteMissing).toBeInstanceOf(RepositoryNotFoundException);
    expect(ecrState()).toEqual(before);
  });

  it('answers KmsException with kmsError for a key ECR cannot use, and creates nothing', async () => {
    const disabled = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
    const before = ecrState();
    const grantsBefore = aws.inspect.grants(disabled.arn).length;

    const refused = await rejection(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'conf/disabled-key', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: disabled.arn } })),
    );
    const missingKey = await rejection(
      ecr.send(new CreateRepositoryCommand({ repositoryName: 'conf/missing-key', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/nope' } })),
    );

    expect(refused).toBeInstanceOf(KmsException);
    expect((refused as KmsException).kmsError).toBe('DisabledException');
    expect(missingKey).toBeInstanceOf(KmsException);
    expect((missingKey as KmsException).kmsError).toBe('NotFoundException');
    expect(ecrState()).toEqual(before);
    expect(aws.inspect.grants(disabled.arn)).toHaveLength(grantsBefore);
  });

  it('deletes: RepositoryNotEmptyException without force, then with force', async () => {
    await newRepository('conf/delete-me');
    await pushImage(ecr, 'conf/delete-me', { layers: [randomBytes(256, 1)], tags: ['v1'] });
    const before = ecrState();

    const refused = await rejection(ecr.send(new DeleteRepositoryCommand({ repositoryName: 'conf/delete-me' })));

    expect(refused).toBeInstanceOf(RepositoryNotEmptyException);
    expect(ecrState()).toEqual(before);
    const { repository } = await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'conf/delete-me', force: true }));
    expect(repository?.repositoryName).toBe('conf/delete-me');
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'conf/delete-me')).toBe(false);
  });

  it('round-trips repository and lifecycle policies, and answers their not-found exceptions', async () => {
    const repository = await newRepository('conf/policies');
    const missingPolicy = await rejection(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'conf/policies' })));
    const missingLifecycle = await rejection(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'conf/policies' })));
    expect(missingPolicy).toBeInstanceOf(RepositoryPolicyNotFoundException);
    expect(missingLifecycle).toBeInstanceOf(LifecyclePolicyNotFoundException);

    const policyText = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: ['ecr:BatchGetImage'] }],
    });
    const set = await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'conf/policies', policyText }));
    expect(set).toMatchObject({ registryId: aws.account, repositoryName: 'conf/policies', policyText });
    expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'conf/policies' }))).policyText).toBe(policyText);
    await ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName: 'conf/policies' }));
    expect(await rejection(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'conf/policies' })))).toBeInstanceOf(RepositoryPolicyNotFoundException);

    const lifecyclePolicyText = JSON.stringify({
      rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }],
    });
    await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: 'conf/policies', lifecyclePolicyText }));
    expect((await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'conf/policies' }))).lifecyclePolicyText).toBe(lifecyclePolicyText);
    await ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName: 'conf/policies' }));
    expect(await rejection(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'conf/policies' })))).toBeInstanceOf(LifecyclePolicyNotFoundException);

    // Tags, mutability and scanning.
    const arn = repository.repositoryArn!;
    await ecr.send(new TagResourceCommand({ resourceArn: arn, tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
    await ecr.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a'] }));
    expect((await ecr.send(new ListTagsForResourceCommand({ resourceArn: arn }))).tags).toEqual([{ Key: 'b', Value: '2' }]);
    const mutability = await ecr.send(
      new PutImageTagMutabilityCommand({
        repositoryName: 'conf/policies',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      }),
    );
    expect(mutability).toMatchObject({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }] });
    const scanning = await ecr.send(new PutImageScanningConfigurationCommand({ repositoryName: 'conf/policies', imageScanningConfiguration: { scanOnPush: true } }));
    expect(scanning.imageScanningConfiguration).toEqual({ scanOnPush: true });
    const scanConfig = await ecr.send(new BatchGetRepositoryScanningConfigurationCommand({ repositoryNames: ['conf/policies'] }));
    expect(scanConfig.scanningConfigurations?.[0]).toMatchObject({ repositoryName: 'conf/policies', scanOnPush: true });
  });

  it('answers the registry-level reads', async () => {
    const token = await ecr.send(new GetAuthorizationTokenCommand({}));
    const data = token.authorizationData?.[0];
    expect(Buffer.from(data?.authorizationToken ?? '', 'base64').toString('utf8')).toMatch(/^AWS:.+/);
    expect(data?.expiresAt).toBeInstanceOf(Date);
    expect(data?.proxyEndpoint).toContain(aws.account);
    expect((await ecr.send(new DescribeRegistryCommand({}))).registryId).toBe(aws.account);
    expect((await ecr.send(new DescribePullThroughCacheRulesCommand({}))).pullThroughCacheRules).toEqual([]);
    expect((await ecr.send(new DescribeRepositoryCreationTemplatesCommand({}))).repositoryCreationTemplates).toEqual([]);
    expect((await ecr.send(new GetRegistryScanningConfigurationCommand({}))).registryId).toBe(aws.account);
    expect(await rejection(ecr.send(new GetRegistryPolicyCommand({})))).toBeInstanceOf(RegistryPolicyNotFoundException);
  });
});

describe('layers', () => {
  it('uploads in order, and refuses an out-of-order part with lastValidByteReceived, keeping what was received', async () => {
    await newRepository('conf/layers');
    const data = randomBytes(6 * MiB + 100, 3);
    const { uploadId, partSize } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'conf/layers' }));
    expect(partSize).toBeGreaterThan(0);
    const firstPart = data.subarray(0, 5 * MiB);
    const sent = await ecr.send(
      new UploadLayerPartCommand({ repositoryName: 'conf/layers', uploadId, partFirstByte: 0, partLastByte: firstPart.length - 1, layerPartBlob: firstPart }),
    );
    expect(sent).toMatchObject({ uploadId, lastByteReceived: 5 * MiB - 1, repositoryName: 'conf/layers', registryId: aws.account });

    const gap = await rejection(
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layers', uploadId, partFirstByte: 5 * MiB + 10, partLastByte: 5 * MiB + 19, layerPartBlob: data.subarray(5 * MiB + 10, 5 * MiB + 20) })),
    );
    expect(gap).toBeInstanceOf(InvalidLayerPartException);
    expect(gap).toMatchObject({ uploadId, lastValidByteReceived: 5 * MiB - 1, repositoryName: 'conf/layers', registryId: aws.account });

    // The upload goes on from the last valid byte, as if the bad part had never been sent.
    const rest = data.subarray(5 * MiB);
    await ecr.send(
      new UploadLayerPartCommand({ repositoryName: 'conf/layers', uploadId, partFirstByte: 5 * MiB, partLastByte: data.length - 1, layerPartBlob: rest }),
    );
    const digest = sha256(data);
    const done = await ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'conf/layers', uploadId, layerDigests: [digest] }));
    expect(done).toMatchObject({ layerDigest: digest, uploadId });

    const available = await ecr.send(
      new BatchCheckLayerAvailabilityCommand({ repositoryName: 'conf/layers', layerDigests: [digest, sha256('absent'), 'sha256:malformed'] }),
    );
    expect(available.layers).toEqual([
      { layerDigest: digest, layerAvailability: 'AVAILABLE', layerSize: data.length },
      { layerDigest: sha256('absent'), layerAvailability: 'UNAVAILABLE' },
    ]);
    expect(available.failures).toEqual([expect.objectContaining({ layerDigest: 'sha256:malformed', failureCode: 'InvalidLayerDigest' })]);

    // The same blob again: LayerAlreadyExistsException.
    const again = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'conf/layers' }));
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layers', uploadId: again.uploadId, partFirstByte: 0, partLastByte: data.length - 1, layerPartBlob: data }));
    expect(await rejection(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'conf/layers', uploadId: again.uploadId, layerDigests: [digest] })))).toBeInstanceOf(
      LayerAlreadyExistsException,
    );
  });

  it('refuses a small first part, a wrong digest, an unknown upload and a malformed digest, storing nothing', async () => {
    await newRepository('conf/layer-errors');
    const before = ecrState();
    const data = randomBytes(3000, 4);

    const small = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'conf/layer-errors' }));
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layer-errors', uploadId: small.uploadId, partFirstByte: 0, partLastByte: 999, layerPartBlob: data.subarray(0, 1000) }));
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layer-errors', uploadId: small.uploadId, partFirstByte: 1000, partLastByte: 2999, layerPartBlob: data.subarray(1000) }));
    const tooSmall = await rejection(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'conf/layer-errors', uploadId: small.uploadId, layerDigests: [sha256(data)] })));
    expect(tooSmall).toBeInstanceOf(LayerPartTooSmallException);

    const wrong = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'conf/layer-errors' }));
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layer-errors', uploadId: wrong.uploadId, partFirstByte: 0, partLastByte: 2999, layerPartBlob: data }));
    const mismatch = await rejection(ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'conf/layer-errors', uploadId: wrong.uploadId, layerDigests: [sha256('other bytes')] })));
    expect(mismatch).toBeInstanceOf(InvalidLayerException);

    const unknown = await rejection(
      ecr.send(new UploadLayerPartCommand({ repositoryName: 'conf/layer-errors', uploadId: '00000000-0000-0000-0000-000000000000', partFirstByte: 0, partLastByte: 0, layerPartBlob: new Uint8Array([1]) })),
    );
    expect(unknown).toBeInstanceOf(UploadNotFoundException);

    const malformed = await rejection(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'conf/layer-errors', layerDigest: 'sha256:not-hex' })));
    expect(malformed).toBeInstanceOf(InvalidParameterException);
    expect((malformed as Error).message).toContain('layerDigest');
    const absent = await rejection(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'conf/layer-errors', layerDigest: sha256('absent') })));
    expect(absent).toBeInstanceOf(LayersNotFoundException);

    expect(aws.inspect.ecr?.storedObjects(undefined, 'conf/layer-errors')).toEqual(before.objects?.filter((o) => o.repositoryName === 'conf/layer-errors'));
  });

  it('serves a layer through a download URL that works, then expires', async () => {
    await newRepository('conf/download', { encryptionConfiguration: { encryptionType: 'KMS' } });
    const layer = randomBytes(4096, 5);
    const image = await pushImage(ecr, 'conf/download', { layers: [layer], tags: ['v1'] });
    const digest = image.blobs[1]!.digest;

    const unreferenced = await uploadBlob(ecr, 'conf/download', randomBytes(100, 6), MEDIA_TYPES.ociLayer);
    expect(await rejection(ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'conf/download', layerDigest: unreferenced.digest })))).toBeInstanceOf(
      LayerInaccessibleException,
    );

    const { downloadUrl, layerDigest } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'conf/download', layerDigest: digest }));
    expect(layerDigest).toBe(digest);
    const fresh = await fetch(downloadUrl!);
    expect(fresh.status).toBe(200);
    expect(fresh.headers.get('x-amz-server-side-encryption')).toBe('aws:kms');
    expect(sha256(new Uint8Array(await fresh.arrayBuffer()))).toBe(digest);

    clock.advance(11 * 60_000);
    const stale = await fetch(downloadUrl!);
    expect(stale.status).toBe(403);
    expect(await stale.text()).toContain('Request has expired');
  });
});

describe('images', () => {
  it('keeps manifest bytes exactly, pulls by tag and digest, lists and describes with paging, and deletes', async () => {
    await newRepository('conf/images');
    const amd = await pushImage(ecr, 'conf/images', { layers: [randomBytes(1000, 10)], label: 'amd' });
    const arm = await pushImage(ecr, 'conf/images', { layers: [randomBytes(1000, 11)], label: 'arm', platform: { os: 'linux', architecture: 'arm64' } });
    const index = await pushIndex(ecr, 'conf/images', [amd, arm], { tags: ['latest'] });
    const docker = await pushImage(ecr, 'conf/images', { layers: [randomBytes(1000, 12)], format: 'docker', tags: ['legacy'] });
    expect(index.digest).toBe(sha256(index.manifest));

    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'conf/images',
        imageIds: [{ imageTag: 'latest' }, { imageDigest: docker.digest }, { imageTag: 'missing' }, { imageDigest: 'sha256:zz' }],
        acceptedMediaTypes: [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest],
      }),
    );
    expect(got.images?.map((i) => i.imageManifest)).toEqual([index.manifest, docker.manifest]);
    expect(got.images?.[0]).toMatchObject({ imageId: { imageTag: 'latest', imageDigest: index.digest }, imageManifestMediaType: MEDIA_TYPES.ociIndex });
    expect(got.failures?.map((f) => f.failureCode)).toEqual(['ImageNotFound', 'InvalidImageDigest']);

    const listed: string[] = [];
    let token: string | undefined;
    do {
      const page = await ecr.send(new ListImagesCommand({ repositoryName: 'conf/images', maxResults: 2, ...(token ? { nextToken: token } : {}) }));
      listed.push(...(page.imageIds ?? []).map((i) => i.imageDigest ?? ''));
      token = page.nextToken;
    } while (token);
    expect(new Set(listed)).toEqual(new Set([amd.digest, arm.digest, index.digest, docker.digest]));
    const tagged = await ecr.send(new DescribeImagesCommand({ repositoryName: 'conf/images', filter: { tagStatus: 'TAGGED' } }));
    expect(new Set(tagged.imageDetails?.map((d) => d.imageDigest))).toEqual(new Set([index.digest, docker.digest]));
    const detail = tagged.imageDetails?.find((d) => d.imageDigest === docker.digest);
    expect(detail).toMatchObject({ imageTags: ['legacy'], imageManifestMediaType: MEDIA_TYPES.dockerManifest, imageStatus: 'ACTIVE' });
    expect(detail?.imagePushedAt).toBeInstanceOf(Date);

    const deleted = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'conf/images', imageIds: [{ imageTag: 'legacy' }, { imageTag: 'gone' }] }));
    expect(deleted.imageIds).toEqual([{ imageDigest: docker.digest, imageTag: 'legacy' }]);
    expect(deleted.failures?.[0]).toMatchObject({ failureCode: 'ImageNotFound' });
    // A child of an index cannot be deleted while the index refers to it.
    const child = await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'conf/images', imageIds: [{ imageDigest: amd.digest }] }));
    expect(child.failures?.[0]).toMatchObject({ failureCode: 'ImageReferencedByManifestList' });
  });

  it('refuses bad manifests with the exceptions AWS gives, changing nothing', async () => {
    await newRepository('conf/bad-manifests');
    const base = await pushImage(ecr, 'conf/bad-manifests', { layers: [randomBytes(500, 20)], tags: ['v1'] });
    await ecr.send(new PutImageTagMutabilityCommand({ repositoryName: 'conf/bad-manifests', imageTagMutability: 'IMMUTABLE' }));
    const before = ecrState();
    const put = (imageManifest: string, extra: Partial<ConstructorParameters<typeof PutImageCommand>[0]> = {}) =>
      rejection(ecr.send(new PutImageCommand({ repositoryName: 'conf/bad-manifests', imageManifest, imageManifestMediaType: MEDIA_TYPES.ociManifest, ...extra })));

    const missingBlob = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { mediaType: MEDIA_TYPES.ociConfig, digest: sha256('no config'), size: 9 },
      layers: [],
    });
    expect(await put(missingBlob)).toBeInstanceOf(LayersNotFoundException);

    const missingChild = JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: sha256('no child'), size: 10, platform: { os: 'linux', architecture: 'amd64' } }],
    });
    expect(await put(missingChild, { imageManifestMediaType: MEDIA_TYPES.ociIndex })).toBeInstanceOf(ReferencedImagesNotFoundException);

    expect(await put(base.manifest, { imageTag: 'v1' })).toBeInstanceOf(ImageAlreadyExistsException);
    const other = base.manifest.replace('"schemaVersion": 2', '"schemaVersion":2');
    expect(await put(other, { imageTag: 'v1' })).toBeInstanceOf(ImageTagAlreadyExistsException);
    expect(await put(base.manifest, { imageDigest: sha256('different') })).toBeInstanceOf(ImageDigestDoesNotMatchException);
    expect(await put('{ not json')).toBeInstanceOf(InvalidParameterException);
    expect(await put(base.manifest, { imageDigest: 'sha256:malformed' })).toBeInstanceOf(InvalidParameterException);

    expect(ecrState()).toEqual(before);
  });

  it('lists the referrers of a subject', async () => {
    await newRepository('conf/referrers');
    const subject = await pushImage(ecr, 'conf/referrers', { layers: [randomBytes(300, 30)], tags: ['v1'] });
    const signature = await pushImage(ecr, 'conf/referrers', {
      layers: [new TextEncoder().encode('sig')],
      subject,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    });
    const { referrers } = await ecr.send(new ListImageReferrersCommand({ repositoryName: 'conf/referrers', subjectId: { imageDigest: subject.digest } }));
    expect(referrers).toEqual([
      expect.objectContaining({ digest: signature.digest, mediaType: MEDIA_TYPES.ociManifest, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json' }),
    ]);
  });

  it('archives an image (hidden by default, not pullable) and restores it', async () => {
    await newRepository('conf/archive');
    const image = await pushImage(ecr, 'conf/archive', { layers: [randomBytes(300, 40)], tags: ['old'] });
    const archived = await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: 'conf/archive', imageId: { imageTag: 'old' }, targetStorageClass: 'ARCHIVE' }));
    expect(archived.imageStatus).toBe('ARCHIVED');

    expect((await ecr.send(new DescribeImagesCommand({ repositoryName: 'conf/archive' }))).imageDetails).toEqual([]);
    const any = await ecr.send(new DescribeImagesCommand({ repositoryName: 'conf/archive', filter: { imageStatus: 'ANY' } }));
    expect(any.imageDetails?.[0]).toMatchObject({ imageDigest: image.digest, imageStatus: 'ARCHIVED' });
    const pull = await ecr.send(new BatchGetImageCommand({ repositoryName: 'conf/archive', imageIds: [{ imageTag: 'old' }] }));
    expect(pull.failures?.[0]?.failureCode).toBe('ImageInaccessible');

    const restoring = await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: 'conf/archive', imageId: { imageTag: 'old' }, targetStorageClass: 'STANDARD' }));
    expect(restoring.imageStatus).toBe('ACTIVATING');
    clock.advance(60_000);
    const restored = await ecr.send(new BatchGetImageCommand({ repositoryName: 'conf/archive', imageIds: [{ imageTag: 'old' }] }));
    expect(restored.images?.[0]?.imageManifest).toBe(image.manifest);
  });
});

describe('KMS through ECR', () => {
  it('a disabled key breaks pushes and pulls; enabling it again mends both', async () => {
    const key = await createKey(kms);
    await newRepository('conf/disabled', { encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } });
    const image = await pushImage(ecr, 'conf/disabled', { layers: [randomBytes(700, 50)], tags: ['v1'] });
    const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'conf/disabled', layerDigest: image.blobs[1]!.digest }));
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));

    const pull = await ecr.send(new BatchGetImageCommand({ repositoryName: 'conf/disabled', imageIds: [{ imageTag: 'v1' }] }));
    expect(pull.images).toEqual([]);
    expect(pull.failures?.[0]?.failureCode).toBe('KmsError');
    expect(pull.failures?.[0]?.failureReason).toContain('DisabledException');
    const download = await fetch(downloadUrl!);
    expect(download.status).toBe(400);
    expect(await download.text()).toContain('KMS.DisabledException');
    const push = await rejection(pushImage(ecr, 'conf/disabled', { layers: [randomBytes(700, 51)], tags: ['v2'] }));
    expect(push).toBeInstanceOf(KmsException);
    expect((push as KmsException).kmsError).toBe('DisabledException');

    await kms.send(new EnableKeyCommand({ KeyId: key.id }));
    const again = await ecr.send(new BatchGetImageCommand({ repositoryName: 'conf/disabled', imageIds: [{ imageTag: 'v1' }] }));
    expect(again.images?.[0]?.imageManifest).toBe(image.manifest);
  });

  it('a retired grant breaks pulls at once', async () => {
    const key = await createKey(kms);
    const repository = await newRepository('conf/retired', { encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } });
    await pushImage(ecr, 'conf/retired', { layers: [randomBytes(700, 60)], tags: ['v1'] });
    const grants = aws.inspect.grants(key.arn).filter((g) => g.encryptionContextSubset?.['aws:ecr:arn'] === repository.repositoryArn);
    expect(grants).toHaveLength(2);
    for (const grant of grants) await kms.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: grant.grantId }));

    const pull = await ecr.send(new BatchGetImageCommand({ repositoryName: 'conf/retired', imageIds: [{ imageTag: 'v1' }] }));

    expect(pull.images).toEqual([]);
    expect(pull.failures?.[0]?.failureCode).toBe('KmsError');
  });
});

describe('protocol', () => {
  it('answers an operation it does not support with an error naming it', async () => {
    await newRepository('conf/unsupported');
    const error = await rejection(ecr.send(new StartImageScanCommand({ repositoryName: 'conf/unsupported', imageId: { imageTag: 'v1' } })));
    expect(error).toBeInstanceOf(ECRServiceException);
    expect(error).toMatchObject({ name: 'UnknownOperationException', $metadata: { httpStatusCode: 400 } });
    expect((error as Error).message).toContain('StartImageScan');
  });

  it('refuses a wrong signature and an unknown access key with AWS\'s exceptions, changing nothing', async () => {
    const before = ecrState();
    const wrongSecret = new ECRClient({
      ...aws.clientConfig({ credentials: { accessKeyId: aws.credentials.accessKeyId, secretAccessKey: 'not-the-secret' } }),
      maxAttempts: 1,
    });
    const unknownKey = new ECRClient({ ...aws.clientConfig({ credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' } }), maxAttempts: 1 });
    try {
      const badSignature = await rejection(wrongSecret.send(new CreateRepositoryCommand({ repositoryName: 'conf/unsigned' })));
      const badKey = await rejection(unknownKey.send(new CreateRepositoryCommand({ repositoryName: 'conf/unsigned' })));
      expect(badSignature).toMatchObject({ name: 'InvalidSignatureException', $fault: 'client' });
      expect(badKey).toMatchObject({ name: 'UnrecognizedClientException' });
    } finally {
      wrongSecret.destroy();
      unknownKey.destroy();
    }
    expect(ecrState()).toEqual(before);
  });

  it('authorizes every action: a user without ecr:CreateRepository is denied with AccessDeniedException', async () => {
    const reader = aws.principals.createUser('ecr-reader', { policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:Describe*', Resource: '*' }] }] });
    const asReader = new ECRClient({ ...aws.clientConfig({ credentials: reader.credentials }), maxAttempts: 1 });
    try {
      await asReader.send(new DescribeRepositoriesCommand({}));
      const denied = await rejection(asReader.send(new CreateRepositoryCommand({ repositoryName: 'conf/denied' })));
      expect(denied).toMatchObject({ name: 'AccessDeniedException' });
      expect((denied as Error).message).toContain('ecr:CreateRepository');
    } finally {
      asReader.destroy();
    }
  });
});
