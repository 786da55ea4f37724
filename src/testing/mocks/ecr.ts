/**
 * The ECR commands of a mock scenario, answered from the in-memory account with the shapes and
 * exceptions of the service model (botocore `ecr/2015-09-21/service-2.json`).
 */
import {
  BatchCheckLayerAvailabilityCommand,
  type BatchCheckLayerAvailabilityCommandInput,
  BatchGetImageCommand,
  type BatchGetImageCommandInput,
  CreateRepositoryCommand,
  type CreateRepositoryCommandInput,
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryCommand,
  type DeleteRepositoryCommandInput,
  DeleteRepositoryPolicyCommand,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  type DescribeRepositoriesCommandInput,
  DescribeRepositoryCreationTemplatesCommand,
  ECRServiceException,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ImageAlreadyExistsException,
  type ImageDetail,
  ImageDigestDoesNotMatchException,
  type ImageIdentifier,
  ImageNotFoundException,
  KmsException,
  LifecyclePolicyNotFoundException,
  ListImagesCommand,
  type ListImagesCommandInput,
  ListTagsForResourceCommand,
  type ListTagsForResourceCommandInput,
  PutImageCommand,
  type PutImageCommandInput,
  PutImageScanningConfigurationCommand,
  type PutImageScanningConfigurationCommandInput,
  PutImageTagMutabilityCommand,
  type PutImageTagMutabilityCommandInput,
  PutLifecyclePolicyCommand,
  type PutLifecyclePolicyCommandInput,
  type Repository,
  RepositoryAlreadyExistsException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
  SetRepositoryPolicyCommand,
  type SetRepositoryPolicyCommandInput,
  TagResourceCommand,
  type TagResourceCommandInput,
  UntagResourceCommand,
  type UntagResourceCommandInput,
} from '@aws-sdk/client-ecr';
import type { AwsStub } from 'aws-sdk-client-mock';
import { addEcrGrants, isScenarioKey, managedKeyArn, manifestDigest, type MockAccount, type MockRepository, newRepository, removeEcrGrants } from './state.js';

/** An `AwsStub` of any client: the handlers only use `on(...).callsFake(...)`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- aws-sdk-client-mock's own stub type parameters
export type AnyStub = AwsStub<any, any, any>;

const meta = { $metadata: {} };

const notFound = (a: MockAccount, name: string | undefined): RepositoryNotFoundException =>
  new RepositoryNotFoundException({
    ...meta,
    message: `The repository with name '${name ?? ''}' does not exist in the registry with id '${a.account}'`,
  });

/** The repository of a request, or RepositoryNotFoundException as ECR answers it. */
const repositoryOf = (a: MockAccount, name: string | undefined): MockRepository => {
  const repository = name === undefined ? undefined : a.repositories.get(name);
  if (repository === undefined) throw notFound(a, name);
  return repository;
};

const byArn = (a: MockAccount, arn: string | undefined): MockRepository => {
  for (const repository of a.repositories.values()) if (repository.arn === arn) return repository;
  throw notFound(a, arn?.split(':repository/')[1]);
};

const describeRepository = (a: MockAccount, r: MockRepository): Repository => ({
  repositoryArn: r.arn,
  registryId: a.account,
  repositoryName: r.name,
  repositoryUri: r.uri,
  createdAt: r.createdAt,
  imageTagMutability: r.imageTagMutability as Repository['imageTagMutability'],
  ...(r.imageTagMutabilityExclusionFilters === undefined ? {} : { imageTagMutabilityExclusionFilters: r.imageTagMutabilityExclusionFilters }),
  imageScanningConfiguration: { scanOnPush: r.scanOnPush },
  encryptionConfiguration: { ...r.encryption },
});

const imageIdsOf = (r: MockRepository): ImageIdentifier[] =>
  [...r.images.values()].flatMap((i) => (i.tags.length === 0 ? [{ imageDigest: i.digest }] : i.tags.map((imageTag) => ({ imageDigest: i.digest, imageTag }))));

const findImage = (r: MockRepository, id: ImageIdentifier) =>
  [...r.images.values()].find((i) => (id.imageDigest === undefined || i.digest === id.imageDigest) && (id.imageTag === undefined || i.tags.includes(id.imageTag)));

const detail = (a: MockAccount, r: MockRepository, i: NonNullable<ReturnType<typeof findImage>>): ImageDetail => ({
  registryId: a.account,
  repositoryName: r.name,
  imageDigest: i.digest,
  ...(i.tags.length === 0 ? {} : { imageTags: [...i.tags] }),
  imageSizeInBytes: i.sizeInBytes,
  imagePushedAt: i.pushedAt,
  imageManifestMediaType: i.mediaType,
  artifactMediaType: 'application/vnd.oci.image.config.v1+json',
  imageStatus: 'ACTIVE',
});

/** Each handler is async, so an exception it raises reaches the caller as a rejection, as the SDK's would. */
const handle = <I>(fn: (input: I) => unknown) => async (input: I): Promise<unknown> => {
  await Promise.resolve();
  return fn(input);
};

const throttling = (): ECRServiceException =>
  new ECRServiceException({ name: 'ThrottlingException', $fault: 'client', ...meta, message: 'Rate exceeded' });

/** Wires the ECR commands the library sends. */
export const wireEcr = (ecr: AnyStub, a: MockAccount): void => {
  ecr.on(DescribeRepositoriesCommand).callsFake(
    handle((input: DescribeRepositoriesCommandInput) => {
      if (a.failures.has('throttled')) throw throttling();
      const names = input.repositoryNames;
      const repositories = names === undefined ? [...a.repositories.values()] : names.map((n) => repositoryOf(a, n));
      return { repositories: repositories.map((r) => describeRepository(a, r)) };
    }),
  );
  ecr.on(CreateRepositoryCommand).callsFake(
    handle((input: CreateRepositoryCommandInput) => {
      if (a.failures.has('accessDenied')) {
        throw new ECRServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          ...meta,
          message: `User: ${a.callerArn} is not authorized to perform: ecr:CreateRepository`,
        });
      }
      if (a.failures.has('kmsRefused')) {
        throw new KmsException({ ...meta, message: 'KMS key is not enabled', kmsError: 'KMSInvalidStateException' });
      }
      const name = input.repositoryName ?? '';
      if (a.repositories.has(name)) {
        throw new RepositoryAlreadyExistsException({ ...meta, message: `The repository with name '${name}' already exists in the registry with id '${a.account}'` });
      }
      const type = input.encryptionConfiguration?.encryptionType ?? 'AES256';
      const reference = input.encryptionConfiguration?.kmsKey;
      let keyArn: string | undefined;
      if (type !== 'AES256') {
        keyArn = reference === undefined || reference === 'alias/aws/ecr' ? managedKeyArn(a) : isScenarioKey(a, reference) ? a.keyArn : undefined;
        if (keyArn === undefined) throw new KmsException({ ...meta, message: `Key '${reference ?? ''}' does not exist`, kmsError: 'NotFoundException' });
      }
      const repository = newRepository(a, name, keyArn === undefined ? { encryptionType: 'AES256' } : { encryptionType: type, kmsKey: keyArn });
      repository.imageTagMutability = input.imageTagMutability ?? 'MUTABLE';
      repository.imageTagMutabilityExclusionFilters = input.imageTagMutabilityExclusionFilters?.map((f) => ({ filterType: 'WILDCARD', filter: f.filter ?? '' }));
      repository.scanOnPush = input.imageScanningConfiguration?.scanOnPush ?? false;
      repository.tags = (input.tags ?? []).map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }));
      a.repositories.set(name, repository);
      if (keyArn !== undefined) addEcrGrants(a, keyArn, repository);
      return { repository: describeRepository(a, repository) };
    }),
  );
  ecr.on(DeleteRepositoryCommand).callsFake(
    handle((input: DeleteRepositoryCommandInput) => {
      const repository = repositoryOf(a, input.repositoryName);
      if (input.force !== true && (repository.images.size > 0 || a.failures.has('repositoryNotEmpty'))) {
        throw new RepositoryNotEmptyException({ ...meta, message: `The repository with name '${repository.name}' cannot be deleted because it still contains images` });
      }
      a.repositories.delete(repository.name);
      // ECR retires the repository's grants as it deletes it; `grantsLeftBehind` models it failing to.
      if (!a.failures.has('grantsLeftBehind')) removeEcrGrants(a, repository.arn);
      return { repository: describeRepository(a, repository) };
    }),
  );
  wireImages(ecr, a);
  wireSettings(ecr, a);
};

const wireImages = (ecr: AnyStub, a: MockAccount): void => {
  ecr.on(ListImagesCommand).callsFake(
    handle((input: ListImagesCommandInput) => {
      const repository = repositoryOf(a, input.repositoryName);
      const ids = imageIdsOf(repository);
      if (a.failures.has('repositoryNotEmpty') && ids.length === 0) ids.push({ imageDigest: manifestDigest('mock image'), imageTag: 'latest' });
      return { imageIds: ids };
    }),
  );
  ecr.on(DescribeImagesCommand).callsFake(
    handle((input: DescribeImagesCommandInput) => {
      const repository = repositoryOf(a, input.repositoryName);
      if (input.imageIds === undefined) return { imageDetails: [...repository.images.values()].map((i) => detail(a, repository, i)) };
      return {
        imageDetails: input.imageIds.map((id) => {
          const image = findImage(repository, id);
          if (image === undefined) {
            throw new ImageNotFoundException({ ...meta, message: `The image with imageId {imageDigest:'${id.imageDigest ?? ''}'} does not exist within the repository` });
          }
          return detail(a, repository, image);
        }),
      };
    }),
  );
  ecr.on(BatchGetImageCommand).callsFake(
    handle((input: BatchGetImageCommandInput) => {
      const repository = repositoryOf(a, input.repositoryName);
      const ids = input.imageIds ?? [];
      const found = ids.map((id) => ({ id, image: findImage(repository, id) }));
      return {
        images: found.flatMap(({ id, image }) =>
          image === undefined
            ? []
            : [{ registryId: a.account, repositoryName: repository.name, imageId: { imageDigest: image.digest, ...(id.imageTag === undefined ? {} : { imageTag: id.imageTag }) }, imageManifest: image.manifest, imageManifestMediaType: image.mediaType }],
        ),
        failures: found.flatMap(({ id, image }) =>
          image === undefined ? [{ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }] : [],
        ),
      };
    }),
  );
  ecr.on(BatchCheckLayerAvailabilityCommand).callsFake(
    handle((input: BatchCheckLayerAvailabilityCommandInput) => {
      repositoryOf(a, input.repositoryName);
      // SIMPLIFICATION of the mock, not AWS behaviour: ECR answers per repository; here every blob
      // of a scenario image is AVAILABLE in every repository, so a migration moves no layer bytes.
      return {
        layers: (input.layerDigests ?? []).map((layerDigest) => ({
          layerDigest,
          layerAvailability: a.blobs.has(layerDigest) ? 'AVAILABLE' : 'UNAVAILABLE',
          layerSize: 1024,
        })),
        failures: [],
      };
    }),
  );
  ecr.on(PutImageCommand).callsFake(
    handle((input: PutImageCommandInput) => {
      const repository = repositoryOf(a, input.repositoryName);
      const manifest = input.imageManifest ?? '';
      const digest = manifestDigest(manifest);
      if (input.imageDigest !== undefined && input.imageDigest !== digest) {
        throw new ImageDigestDoesNotMatchException({ ...meta, message: `Invalid parameter at 'imageDigest' failed to satisfy constraint: 'the digest does not match the manifest'` });
      }
      const existing = repository.images.get(digest);
      const tag = input.imageTag;
      if (existing !== undefined && (tag === undefined || existing.tags.includes(tag))) {
        throw new ImageAlreadyExistsException({ ...meta, message: `Image with digest '${digest}' and tag '${tag ?? ''}' already exists in the repository` });
      }
      if (tag !== undefined) for (const other of repository.images.values()) other.tags.splice(0, other.tags.length, ...other.tags.filter((t) => t !== tag));
      const image = existing ?? { digest, manifest, mediaType: input.imageManifestMediaType ?? 'application/vnd.oci.image.manifest.v1+json', tags: [], pushedAt: a.now(), sizeInBytes: 1536 };
      if (tag !== undefined) image.tags.push(tag);
      repository.images.set(digest, image);
      return {
        image: { registryId: a.account, repositoryName: repository.name, imageId: { imageDigest: digest, ...(tag === undefined ? {} : { imageTag: tag }) }, imageManifest: manifest, imageManifestMediaType: image.mediaType },
      };
    }),
  );
};

const wireSettings = (ecr: AnyStub, a: MockAccount): void => {
  const repo = (input: { repositoryName?: string | undefined }) => repositoryOf(a, input.repositoryName);
  const ids = (r: MockRepository) => ({ registryId: a.account, repositoryName: r.name });
  ecr.on(GetRepositoryPolicyCommand).callsFake(
    handle((input: { repositoryName?: string }) => {
      const r = repo(input);
      if (r.policy === undefined) throw new RepositoryPolicyNotFoundException({ ...meta, message: `Repository policy does not exist for the repository with name '${r.name}'` });
      return { ...ids(r), policyText: r.policy };
    }),
  );
  ecr.on(SetRepositoryPolicyCommand).callsFake(
    handle((input: SetRepositoryPolicyCommandInput) => {
      const r = repo(input);
      r.policy = input.policyText;
      return { ...ids(r), policyText: r.policy };
    }),
  );
  ecr.on(DeleteRepositoryPolicyCommand).callsFake(
    handle((input: { repositoryName?: string }) => {
      const r = repo(input);
      const policyText = r.policy;
      if (policyText === undefined) throw new RepositoryPolicyNotFoundException({ ...meta, message: `Repository policy does not exist for the repository with name '${r.name}'` });
      r.policy = undefined;
      return { ...ids(r), policyText };
    }),
  );
  const noLifecycle = (r: MockRepository) =>
    new LifecyclePolicyNotFoundException({ ...meta, message: `Lifecycle policy does not exist for the repository with name '${r.name}' in the registry with id '${a.account}'` });
  ecr.on(GetLifecyclePolicyCommand).callsFake(
    handle((input: { repositoryName?: string }) => {
      const r = repo(input);
      if (r.lifecyclePolicy === undefined) throw noLifecycle(r);
      return { ...ids(r), lifecyclePolicyText: r.lifecyclePolicy, lastEvaluatedAt: r.createdAt };
    }),
  );
  ecr.on(PutLifecyclePolicyCommand).callsFake(
    handle((input: PutLifecyclePolicyCommandInput) => {
      const r = repo(input);
      r.lifecyclePolicy = input.lifecyclePolicyText;
      return { ...ids(r), lifecyclePolicyText: r.lifecyclePolicy };
    }),
  );
  ecr.on(DeleteLifecyclePolicyCommand).callsFake(
    handle((input: { repositoryName?: string }) => {
      const r = repo(input);
      const lifecyclePolicyText = r.lifecyclePolicy;
      if (lifecyclePolicyText === undefined) throw noLifecycle(r);
      r.lifecyclePolicy = undefined;
      return { ...ids(r), lifecyclePolicyText, lastEvaluatedAt: r.createdAt };
    }),
  );
  ecr.on(PutImageTagMutabilityCommand).callsFake(
    handle((input: PutImageTagMutabilityCommandInput) => {
      const r = repo(input);
      r.imageTagMutability = input.imageTagMutability ?? 'MUTABLE';
      r.imageTagMutabilityExclusionFilters = input.imageTagMutabilityExclusionFilters?.map((f) => ({ filterType: 'WILDCARD', filter: f.filter ?? '' }));
      return { ...ids(r), imageTagMutability: r.imageTagMutability, imageTagMutabilityExclusionFilters: r.imageTagMutabilityExclusionFilters };
    }),
  );
  ecr.on(PutImageScanningConfigurationCommand).callsFake(
    handle((input: PutImageScanningConfigurationCommandInput) => {
      const r = repo(input);
      r.scanOnPush = input.imageScanningConfiguration?.scanOnPush ?? false;
      return { ...ids(r), imageScanningConfiguration: { scanOnPush: r.scanOnPush } };
    }),
  );
  ecr.on(ListTagsForResourceCommand).callsFake(handle((input: ListTagsForResourceCommandInput) => ({ tags: byArn(a, input.resourceArn).tags.map((t) => ({ ...t })) })));
  ecr.on(TagResourceCommand).callsFake(
    handle((input: TagResourceCommandInput) => {
      const r = byArn(a, input.resourceArn);
      for (const t of input.tags ?? []) r.tags = [...r.tags.filter((x) => x.Key !== t.Key), { Key: t.Key ?? '', Value: t.Value ?? '' }];
      return {};
    }),
  );
  ecr.on(UntagResourceCommand).callsFake(
    handle((input: UntagResourceCommandInput) => {
      const r = byArn(a, input.resourceArn);
      r.tags = r.tags.filter((t) => !(input.tagKeys ?? []).includes(t.Key));
      return {};
    }),
  );
  ecr.on(DescribeRegistryCommand).callsFake(handle(() => ({ registryId: a.account, replicationConfiguration: { rules: [] } })));
  ecr.on(DescribeRepositoryCreationTemplatesCommand).callsFake(handle(() => ({ registryId: a.account, repositoryCreationTemplates: [] })));
  ecr.on(DescribePullThroughCacheRulesCommand).callsFake(handle(() => ({ pullThroughCacheRules: [] })));
};

export { handle };
