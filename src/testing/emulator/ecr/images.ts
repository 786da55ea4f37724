/**
 * Image actions: PutImage (byte-exact manifests, reference checks, tag rules), pulls with
 * BatchGetImage, listing, archive/restore, deletion and OCI referrers.
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../core.js';
import { encryptionContext, repositoryDirectory, type EcrContext, type Handler } from './context.js';
import { DIGEST, epochSeconds, page, wildcardMatches, type Input } from './input.js';
import { parseManifest } from './manifest.js';
import { own, type ImageRecord, type ImageStatus, type RepositoryRecord } from './state.js';
import { EMULATOR_KEY } from './storage.js';

const MAX_MANIFEST = 4_194_304;
const TAG_RULE = { min: 1, max: 300 };
const STATUS_FILTERS = ['ACTIVE', 'ARCHIVED', 'ACTIVATING', 'ANY'];
const TAG_STATUSES = ['TAGGED', 'UNTAGGED', 'ANY'];

interface ImageId {
  readonly imageDigest?: string;
  readonly imageTag?: string;
}

interface Failure {
  readonly failureCode: string;
  readonly failureReason: string;
}

const imageIdOf = (input: Input): ImageId => {
  const imageDigest = input.optionalString('imageDigest');
  const imageTag = input.optionalString('imageTag');
  return { ...(imageDigest === undefined ? {} : { imageDigest }), ...(imageTag === undefined ? {} : { imageTag }) };
};

const imageByTag = (repository: RepositoryRecord, tag: string): ImageRecord | undefined =>
  Object.values(repository.images).find((image) => image.tags.includes(tag));

/** Finds an image, or says why not in BatchGetImage's failure vocabulary. */
const resolve = (ecr: EcrContext, repository: RepositoryRecord, id: ImageId): ImageRecord | Failure => {
  const { imageDigest, imageTag } = id;
  if (imageDigest === undefined && imageTag === undefined) {
    return { failureCode: 'MissingDigestAndTag', failureReason: 'Invalid request parameters: both tag and digest cannot be null' };
  }
  if (imageDigest !== undefined && !DIGEST.test(imageDigest)) {
    return { failureCode: 'InvalidImageDigest', failureReason: 'Invalid request parameters: image digest should satisfy the regex' };
  }
  if (imageTag !== undefined && (imageTag.length < 1 || imageTag.length > 300)) {
    return { failureCode: 'InvalidImageTag', failureReason: 'Invalid request parameters: image tag should have length between 1 and 300' };
  }
  const byDigest = imageDigest === undefined ? undefined : own(repository.images, imageDigest);
  const byTag = imageTag === undefined ? undefined : imageByTag(repository, imageTag);
  if (imageDigest !== undefined && imageTag !== undefined && byDigest !== undefined && byTag !== byDigest) {
    return { failureCode: 'ImageTagDoesNotMatchDigest', failureReason: 'Invalid request parameters: image tag and digest do not match' };
  }
  const image = imageDigest === undefined ? byTag : byDigest;
  if (image === undefined) return { failureCode: 'ImageNotFound', failureReason: 'Requested image not found' };
  return ecr.settle(image);
};

const isFailure = (value: ImageRecord | Failure): value is Failure => 'failureCode' in value;

/** Whether a tag may not move, given the repository's mutability and exclusion filters. */
export const tagIsImmutable = (repository: RepositoryRecord, tag: string): boolean => {
  const excluded = (repository.imageTagMutabilityExclusionFilters ?? []).some((filter) => wildcardMatches(filter.filter, tag));
  switch (repository.imageTagMutability) {
    case 'IMMUTABLE':
      return true;
    case 'IMMUTABLE_WITH_EXCLUSION':
      return !excluded;
    case 'MUTABLE_WITH_EXCLUSION':
      return excluded;
    default:
      return false;
  }
};

const putImage: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'PutImage');
  const manifest = input.string('imageManifest', { min: 1, max: MAX_MANIFEST });
  const declaredMediaType = input.optionalString('imageManifestMediaType');
  const tag = input.optionalString('imageTag', TAG_RULE);
  const givenDigest = input.optionalString('imageDigest', { pattern: DIGEST });

  // The digest is of the exact bytes sent; the text is never re-serialised.
  const bytes = Buffer.from(manifest, 'utf8');
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (givenDigest !== undefined && givenDigest !== digest) {
    throw new ApiError(
      'ImageDigestDoesNotMatchException',
      `The image digest '${givenDigest}' does not match the digest '${digest}' calculated for the image manifest`,
    );
  }
  const parsed = parseManifest(manifest, declaredMediaType);
  const missingBlobs = parsed.blobs.filter((blob) => own(repository.blobs, blob.digest) === undefined).map((blob) => blob.digest);
  if (missingBlobs.length > 0) {
    throw new ApiError(
      'LayersNotFoundException',
      `Layers with digests '[${missingBlobs.join(', ')}]' required for pushing image into repository with name '${repository.name}' in the registry with id '${repository.account}' do not exist`,
    );
  }
  const missingChildren = parsed.children.filter((child) => own(repository.images, child) === undefined);
  if (missingChildren.length > 0) {
    throw new ApiError(
      'ReferencedImagesNotFoundException',
      `Manifest references images that do not exist in the repository: [${missingChildren.join(', ')}]`,
    );
  }

  const existing = own(repository.images, digest);
  const archived = existing !== undefined && ecr.settle(existing).status === 'ARCHIVED';
  const holder = tag === undefined ? undefined : imageByTag(repository, tag);
  if (existing !== undefined && !archived && (tag === undefined || holder === existing)) {
    throw new ApiError(
      'ImageAlreadyExistsException',
      `Image with digest '${digest}'${tag === undefined ? '' : ` and tag '${tag}'`} already exists in the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
    );
  }
  if (tag !== undefined && holder !== undefined && holder.digest !== digest && tagIsImmutable(repository, tag)) {
    throw new ApiError(
      'ImageTagAlreadyExistsException',
      `The image tag '${tag}' already exists in the '${repository.name}' repository and cannot be overwritten because the tag is immutable.`,
    );
  }

  const now = ecr.now();
  let image = existing;
  if (image === undefined) {
    // KMS first: a refused data key must leave no trace.
    const key = ecr.store.dataKey(repository.region, repository.kmsKey ?? EMULATOR_KEY, encryptionContext(repository, 'manifest', digest));
    const sealed = ecr.store.sealBuffer(bytes, `${repositoryDirectory(repository)}/manifests/${digest.replace(':', '-')}`, key);
    const sizeInBytes = parsed.isIndex
      ? bytes.length
      : parsed.blobs.reduce((sum, blob) => sum + (own(repository.blobs, blob.digest)?.sealed.size ?? 0), 0);
    image = {
      digest,
      sealed,
      mediaType: parsed.mediaType,
      artifactMediaType: parsed.configMediaType,
      artifactType: parsed.artifactType,
      subject: parsed.subject,
      annotations: parsed.annotations,
      blobs: parsed.blobs.map((blob) => blob.digest),
      children: [...parsed.children],
      sizeInBytes,
      tags: [],
      pushedAt: now,
      sequence: repository.nextSequence++,
      status: 'ACTIVE',
    };
    repository.images[digest] = image;
  } else if (archived) {
    // Re-pushing an archived image restores it (aws-facts §6).
    image.status = 'ACTIVE';
    image.lastActivatedAt = now;
  }
  for (const blob of parsed.blobs) {
    const record = own(repository.blobs, blob.digest);
    if (record !== undefined && record.mediaType === undefined && blob.mediaType !== undefined) record.mediaType = blob.mediaType;
  }
  if (tag !== undefined && holder !== image) {
    if (holder !== undefined) holder.tags = holder.tags.filter((t) => t !== tag);
    image.tags.push(tag);
  }
  ecr.afterPush?.(repository, image, tag);
  return {
    image: {
      registryId: repository.account,
      repositoryName: repository.name,
      imageId: { imageDigest: digest, ...(tag === undefined ? {} : { imageTag: tag }) },
      imageManifest: manifest,
      imageManifestMediaType: parsed.mediaType,
    },
  };
};

const batchGetImage: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'BatchGetImage');
  const ids = input.objects('imageIds', 1, 100).map(imageIdOf);
  const accepted = input.optionalStrings('acceptedMediaTypes', 1, 100);
  const images: Record<string, unknown>[] = [];
  const failures: Record<string, unknown>[] = [];
  for (const id of ids) {
    const found = resolve(ecr, repository, id);
    if (isFailure(found)) {
      failures.push({ imageId: id, ...found });
      continue;
    }
    if (found.status !== 'ACTIVE') {
      failures.push({
        imageId: id,
        failureCode: 'ImageInaccessible',
        failureReason: `The image is ${found.status.toLowerCase()} and cannot be pulled until it is restored`,
      });
      continue;
    }
    // By digest the stored manifest is returned as is; by tag ECR would translate, which the emulator does not.
    if (accepted !== undefined && id.imageDigest === undefined && !accepted.includes(found.mediaType)) {
      failures.push({
        imageId: id,
        failureCode: 'UnsupportedImageType',
        failureReason: `The image manifest media type ${found.mediaType} is not in acceptedMediaTypes, and the emulator does not translate manifests`,
      });
      continue;
    }
    let manifest: string;
    try {
      manifest = ecr.store.openBuffer(found.sealed, ecr.store.unsealKey(repository.region, found.sealed)).toString('utf8');
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      failures.push({ imageId: id, failureCode: 'KmsError', failureReason: `${error.code}: ${error.message}` });
      continue;
    }
    found.lastPulledAt = ecr.now();
    images.push({
      registryId: repository.account,
      repositoryName: repository.name,
      imageId: { imageDigest: found.digest, ...(id.imageTag === undefined ? {} : { imageTag: id.imageTag }) },
      imageManifest: manifest,
      imageManifestMediaType: found.mediaType,
    });
  }
  return { images, failures };
};

interface ListFilter {
  readonly tagStatus: string;
  readonly imageStatus: string;
}

const readFilter = (input: Input): ListFilter => {
  const filter = input.optionalObject('filter');
  return {
    tagStatus: filter?.optionalString('tagStatus', { oneOf: TAG_STATUSES }) ?? 'ANY',
    // Only ACTIVE images unless asked (aws-facts §6).
    imageStatus: filter?.optionalString('imageStatus', { oneOf: STATUS_FILTERS }) ?? 'ACTIVE',
  };
};

const statusMatches = (filter: string, status: ImageStatus): boolean => filter === 'ANY' || filter === status;

const filteredImages = (ecr: EcrContext, repository: RepositoryRecord, filter: ListFilter): ImageRecord[] =>
  ecr.images(repository).filter(
    (image) =>
      statusMatches(filter.imageStatus, image.status) &&
      (filter.tagStatus === 'ANY' || (filter.tagStatus === 'TAGGED') === image.tags.length > 0),
  );

const listImages: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'ListImages');
  const maxResults = input.optionalNumber('maxResults', 1, 1000) ?? 100;
  const nextToken = input.optionalString('nextToken');
  const filter = readFilter(input);
  // One entry per tag; an untagged image appears once, by digest.
  const entries = filteredImages(ecr, repository, filter).flatMap((image) =>
    image.tags.length === 0 ? [{ imageDigest: image.digest }] : image.tags.map((imageTag) => ({ imageDigest: image.digest, imageTag })),
  );
  const result = page('ListImages', entries, nextToken, maxResults);
  return { imageIds: result.items, ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }) };
};

const imageDetail = (repository: RepositoryRecord, image: ImageRecord): Record<string, unknown> => ({
  registryId: repository.account,
  repositoryName: repository.name,
  imageDigest: image.digest,
  ...(image.tags.length === 0 ? {} : { imageTags: [...image.tags] }),
  imageSizeInBytes: image.sizeInBytes,
  imagePushedAt: epochSeconds(image.pushedAt),
  imageManifestMediaType: image.mediaType,
  ...(image.artifactMediaType === undefined ? {} : { artifactMediaType: image.artifactMediaType }),
  ...(image.lastPulledAt === undefined ? {} : { lastRecordedPullTime: epochSeconds(image.lastPulledAt) }),
  ...(image.subject === undefined ? {} : { subjectManifestDigest: image.subject }),
  imageStatus: image.status,
  ...(image.lastArchivedAt === undefined ? {} : { lastArchivedAt: epochSeconds(image.lastArchivedAt) }),
  ...(image.lastActivatedAt === undefined ? {} : { lastActivatedAt: epochSeconds(image.lastActivatedAt) }),
});

const imageNotFound = (repository: RepositoryRecord, id: ImageId): ApiError =>
  new ApiError(
    'ImageNotFoundException',
    `The image with imageId {imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'} does not exist within the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
  );

/** For the single-image actions: a failure becomes the matching exception. */
const requireImage = (ecr: EcrContext, repository: RepositoryRecord, id: ImageId): ImageRecord => {
  const found = resolve(ecr, repository, id);
  if (!isFailure(found)) return found;
  if (found.failureCode === 'ImageNotFound' || found.failureCode === 'ImageTagDoesNotMatchDigest') throw imageNotFound(repository, id);
  throw new ApiError('InvalidParameterException', found.failureReason);
};

const describeImages: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'DescribeImages');
  const ids = input.optionalObjects('imageIds', 1, 100)?.map(imageIdOf);
  const maxResults = input.optionalNumber('maxResults', 1, 1000);
  const nextToken = input.optionalString('nextToken');
  const filter = readFilter(input);
  if (ids !== undefined) {
    if (maxResults !== undefined || nextToken !== undefined) {
      throw new ApiError('InvalidParameterException', 'maxResults and nextToken cannot be used with imageIds');
    }
    const images = [...new Set(ids.map((id) => requireImage(ecr, repository, id)))];
    return { imageDetails: images.map((image) => imageDetail(repository, image)) };
  }
  const result = page('DescribeImages', filteredImages(ecr, repository, filter), nextToken, maxResults ?? 100);
  return {
    imageDetails: result.items.map((image) => imageDetail(repository, image)),
    ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }),
  };
};

/** ARCHIVE archives at once; STANDARD restores through ACTIVATING (for `imageRestoreMs` of emulator time). */
const updateImageStorageClass: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'UpdateImageStorageClass');
  const id = imageIdOf(input.object('imageId'));
  const target = input.string('targetStorageClass', { oneOf: ['STANDARD', 'ARCHIVE'] });
  const image = requireImage(ecr, repository, id);
  const now = ecr.now();
  if (target === 'ARCHIVE') {
    if (image.status === 'ACTIVATING') {
      throw new ApiError('ImageStorageClassUpdateNotSupportedException', 'An image cannot be archived while it is being restored');
    }
    if (image.status === 'ACTIVE') {
      image.status = 'ARCHIVED';
      image.lastArchivedAt = now;
    }
  } else if (image.status === 'ARCHIVED') {
    image.status = 'ACTIVATING';
    image.activeAt = now + ecr.imageRestoreMs;
    ecr.settle(image);
  }
  return {
    registryId: repository.account,
    repositoryName: repository.name,
    imageId: { imageDigest: image.digest, ...(id.imageTag === undefined ? {} : { imageTag: id.imageTag }) },
    imageStatus: image.status,
  };
};

const batchDeleteImage: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'BatchDeleteImage');
  const ids = input.objects('imageIds', 1, 100).map(imageIdOf);
  const imageIds: Record<string, unknown>[] = [];
  const failures: Record<string, unknown>[] = [];
  for (const id of ids) {
    const found = resolve(ecr, repository, id);
    if (isFailure(found)) {
      failures.push({ imageId: id, ...found });
      continue;
    }
    // By tag, only the tag goes, unless it was the last one: then the image goes too.
    const removesImage = id.imageTag === undefined || found.tags.length === 1;
    if (removesImage) {
      const parents = Object.values(repository.images).filter((image) => image.children.includes(found.digest));
      if (parents.length > 0) {
        failures.push({
          imageId: id,
          failureCode: 'ImageReferencedByManifestList',
          failureReason: `Requested image referenced by manifest list: [${parents.map((parent) => parent.digest).join(', ')}]`,
        });
        continue;
      }
      for (const tag of found.tags) imageIds.push({ imageDigest: found.digest, imageTag: tag });
      if (found.tags.length === 0) imageIds.push({ imageDigest: found.digest });
      delete repository.images[found.digest];
      ecr.store.remove(found.sealed.file);
    } else if (id.imageTag !== undefined) {
      found.tags = found.tags.filter((tag) => tag !== id.imageTag);
      imageIds.push({ imageDigest: found.digest, imageTag: id.imageTag });
    }
  }
  return { imageIds, failures };
};

/** Needs `ecr:BatchGetImage`, as the API reference says for ListImageReferrers. */
const listImageReferrers: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'BatchGetImage');
  const subject = input.object('subjectId').string('imageDigest', { pattern: DIGEST });
  const filter = input.optionalObject('filter');
  const artifactTypes = filter?.optionalStrings('artifactTypes', 1, 100);
  const status = filter?.optionalString('artifactStatus', { oneOf: STATUS_FILTERS }) ?? 'ACTIVE';
  const maxResults = input.optionalNumber('maxResults', 1, 50) ?? 20;
  const nextToken = input.optionalString('nextToken');
  const referrers = ecr
    .images(repository)
    .filter(
      (image) =>
        image.subject === subject &&
        statusMatches(status, image.status) &&
        (artifactTypes === undefined || (image.artifactType !== undefined && artifactTypes.includes(image.artifactType))),
    )
    .map((image) => ({
      digest: image.digest,
      mediaType: image.mediaType,
      ...(image.artifactType === undefined ? {} : { artifactType: image.artifactType }),
      size: image.sealed.size,
      ...(image.annotations === undefined ? {} : { annotations: { ...image.annotations } }),
      artifactStatus: image.status,
    }));
  const result = page('ListImageReferrers', referrers, nextToken, maxResults);
  return { referrers: result.items, ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }) };
};

export const imageHandlers: Readonly<Record<string, Handler>> = {
  PutImage: putImage,
  BatchGetImage: batchGetImage,
  ListImages: listImages,
  DescribeImages: describeImages,
  UpdateImageStorageClass: updateImageStorageClass,
  BatchDeleteImage: batchDeleteImage,
  ListImageReferrers: listImageReferrers,
};
