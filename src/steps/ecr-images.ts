/**
 * One safe wrapper per ECR image and layer call the copy engine needs. Each maps the exceptions its
 * operation models, by `name` (ECR, KMS and IAM share exception names), and leaves the rest to the
 * generic mapping. Batched calls are cut at ECR's limit of 100 ids; paginated calls are drained.
 */
import {
  BatchCheckLayerAvailabilityCommand,
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  DescribeImagesCommand,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  ListImagesCommand,
  PutImageCommand,
  UploadLayerPartCommand,
  type Image,
  type ImageDetail,
  type ImageIdentifier,
} from '@aws-sdk/client-ecr';
import { ResultAsync, err, ok, type Result } from 'neverthrow';
import type {
  GenericAwsError,
  ImageFailure,
  ImagesUnavailable,
  KmsRefused,
  LayerTransferFailed,
  ManifestRejected,
  ManifestRejectedReason,
  RepositoryNotFound,
} from '../errors.js';
import { allPages, awsCall, type CallScope, expectList, type ServiceException } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { kmsRefused, repositoryNotFound } from './ecr-errors.js';

/** ECR's limit for ids in BatchGetImage, BatchCheckLayerAvailability and DescribeImages by id. */
export const ECR_BATCH_LIMIT = 100;
/** ECR's page limit for ListImages and DescribeImages. */
export const ECR_PAGE_LIMIT = 1000;

/**
 * Every manifest media type this library can store back unchanged. Sent as `acceptedMediaTypes`
 * and always fetching by digest, so ECR never translates a manifest (which changes its digest).
 */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v1+json',
] as const;

/** Options every wrapper takes. */
export interface CallOptions {
  readonly signal?: AbortSignal | undefined;
}

/** The signal a call runs under: the one given to this call, else the operation's. */
const scope = (ctx: RegistryContext, options: CallOptions | undefined): CallScope => ({ signal: options?.signal ?? ctx.signal, rate: ctx.rate });

type RepositoryScoped<E> = E | RepositoryNotFound | GenericAwsError;

const chunk = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
};

/** Runs `step` on each batch in turn and concatenates the results; stops at the first error. */
const eachBatch = <T, R, E>(
  items: readonly T[],
  step: (batch: T[]) => ResultAsync<readonly R[], E>,
): ResultAsync<R[], E> =>
  new ResultAsync(
    (async (): Promise<Result<R[], E>> => {
      const out: R[] = [];
      for (const batch of chunk(items, ECR_BATCH_LIMIT)) {
        const result = await step(batch);
        if (result.isErr()) return err(result.error);
        out.push(...result.value);
      }
      return ok(out);
    })(),
  );

/** The filter that shows every image: tagged and untagged, active, archived and being restored. */
const EVERY_IMAGE = { tagStatus: 'ANY', imageStatus: 'ANY' } as const;

/**
 * ListImages over every page, every image (`tagStatus` and `imageStatus` `ANY`: by default ECR
 * hides archived images). One entry per tag; an untagged image appears once without a tag.
 */
export const listImages = (
  ctx: RegistryContext,
  repositoryName: string,
  options?: CallOptions,
): ResultAsync<ImageIdentifier[], RepositoryScoped<never>> =>
  allPages((nextToken) =>
    awsCall(
      scope(ctx, options),
      'ecr',
      'ListImages',
      (o) =>
        ctx.ecr.send(
          new ListImagesCommand({ repositoryName, filter: EVERY_IMAGE, maxResults: ECR_PAGE_LIMIT, ...(nextToken ? { nextToken } : {}) }),
          o,
        ),
      (e) => repositoryNotFound(repositoryName)(e),
    ).andThen((out) => expectList('ecr', 'ListImages', 'imageIds', out.imageIds).map((items) => ({ items, nextToken: out.nextToken }))),
  );

/** DescribeImages over every page, every image (tagged, untagged, archived, being restored). */
export const describeImages = (
  ctx: RegistryContext,
  repositoryName: string,
  options?: CallOptions,
): ResultAsync<ImageDetail[], RepositoryScoped<never>> =>
  allPages((nextToken) =>
    awsCall(
      scope(ctx, options),
      'ecr',
      'DescribeImages',
      (o) =>
        ctx.ecr.send(
          new DescribeImagesCommand({ repositoryName, filter: EVERY_IMAGE, maxResults: ECR_PAGE_LIMIT, ...(nextToken ? { nextToken } : {}) }),
          o,
        ),
      (e) => repositoryNotFound(repositoryName)(e),
    ).andThen((out) => expectList('ecr', 'DescribeImages', 'imageDetails', out.imageDetails).map((items) => ({ items, nextToken: out.nextToken }))),
  );

/**
 * DescribeImages for the given digests, 100 per call. ECR throws `ImageNotFoundException` when any
 * of a batch is missing: that comes back as `ImagesUnavailable` naming the whole batch.
 */
export const describeImagesByDigest = (
  ctx: RegistryContext,
  repositoryName: string,
  imageDigests: readonly string[],
  options?: CallOptions,
): ResultAsync<ImageDetail[], RepositoryScoped<ImagesUnavailable>> =>
  eachBatch(imageDigests, (batch) =>
    awsCall(
      scope(ctx, options),
      'ecr',
      'DescribeImages',
      (o) =>
        ctx.ecr.send(
          new DescribeImagesCommand({ repositoryName, imageIds: batch.map((imageDigest) => ({ imageDigest })), filter: { imageStatus: 'ANY' } }),
          o,
        ),
      (e): RepositoryNotFound | ImagesUnavailable | undefined =>
        e.name === 'ImageNotFoundException'
          ? {
              kind: 'ImagesUnavailable',
              repositoryName,
              failures: batch.map((imageDigest) => ({ imageDigest, imageTag: undefined, failureCode: 'ImageNotFound', failureReason: e.message })),
              cause: e,
            }
          : repositoryNotFound(repositoryName)(e),
    ).andThen((out) => expectList('ecr', 'DescribeImages', 'imageDetails', out.imageDetails)),
  );

/** What BatchGetImage returned: the images, and the ones ECR could not return (as values). */
export interface BatchGetImagesResult {
  readonly images: readonly Image[];
  readonly failures: readonly ImageFailure[];
}

/**
 * BatchGetImage, 100 ids per call. Fetch by digest, with every media type you can store back in
 * `acceptedMediaTypes`, and ECR returns the stored manifest untranslated. Missing images are
 * `failures`, not errors.
 */
export const batchGetImages = (
  ctx: RegistryContext,
  repositoryName: string,
  imageIds: readonly ImageIdentifier[],
  acceptedMediaTypes: readonly string[] = MANIFEST_MEDIA_TYPES,
  options?: CallOptions,
): ResultAsync<BatchGetImagesResult, RepositoryScoped<never>> =>
  eachBatch(imageIds, (batch) =>
    awsCall(
      scope(ctx, options),
      'ecr',
      'BatchGetImage',
      (o) =>
        ctx.ecr.send(new BatchGetImageCommand({ repositoryName, imageIds: batch, acceptedMediaTypes: [...acceptedMediaTypes] }), o),
      (e) => repositoryNotFound(repositoryName)(e),
    ).andThen((out) =>
      expectList('ecr', 'BatchGetImage', 'images', out.images).map((images) => [
      {
        images,
        // An absent `failures` is no failure: the caller checks every asked image came back.
        failures: (out.failures ?? []).map(
          (f): ImageFailure => ({
            imageDigest: f.imageId?.imageDigest,
            imageTag: f.imageId?.imageTag,
            failureCode: f.failureCode ?? 'Unknown',
            failureReason: f.failureReason,
          }),
        ),
      },
      ]),
    ),
  ).map((parts) => ({ images: parts.flatMap((p) => p.images), failures: parts.flatMap((p) => p.failures) }));

/**
 * BatchCheckLayerAvailability, 100 digests per call: digest → `AVAILABLE`, `UNAVAILABLE`,
 * `ARCHIVED`, or the failure code (`InvalidLayerDigest`, `MissingLayerDigest`).
 */
export const checkLayerAvailability = (
  ctx: RegistryContext,
  repositoryName: string,
  layerDigests: readonly string[],
  options?: CallOptions,
): ResultAsync<Map<string, string>, RepositoryScoped<never>> =>
  eachBatch(layerDigests, (batch) =>
    awsCall(
      scope(ctx, options),
      'ecr',
      'BatchCheckLayerAvailability',
      (o) => ctx.ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName, layerDigests: batch }), o),
      (e) => repositoryNotFound(repositoryName)(e),
    ).andThen((out) =>
      expectList('ecr', 'BatchCheckLayerAvailability', 'layers', out.layers).map((layers): [string, string][] => [
        ...layers.flatMap((l): [string, string][] => (l.layerDigest === undefined ? [] : [[l.layerDigest, l.layerAvailability ?? 'UNAVAILABLE']])),
        // A digest in neither list is not known to be available: the caller treats it as missing.
        ...(out.failures ?? []).flatMap((f): [string, string][] => (f.layerDigest === undefined ? [] : [[f.layerDigest, f.failureCode ?? 'Unknown']])),
      ]),
    ),
  ).map((entries) => new Map(entries));

const layerFailure = (
  repositoryName: string,
  layerDigest: string,
  stage: LayerTransferFailed['stage'],
  e: ServiceException,
): LayerTransferFailed => ({ kind: 'LayerTransferFailed', repositoryName, layerDigest, stage, reason: e.name, message: e.message, cause: e });

const LOCATE_FAILURES = new Set(['LayersNotFoundException', 'LayerInaccessibleException', 'UnableToGetUpstreamLayerException']);

/** GetDownloadUrlForLayer: a pre-signed URL for a layer or config blob referenced by an image. */
export const getDownloadUrlForLayer = (
  ctx: RegistryContext,
  repositoryName: string,
  layerDigest: string,
  options?: CallOptions,
): ResultAsync<string, RepositoryScoped<LayerTransferFailed>> =>
  awsCall(
    scope(ctx, options),
    'ecr',
    'GetDownloadUrlForLayer',
    (o) => ctx.ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName, layerDigest }), o),
    (e): RepositoryNotFound | LayerTransferFailed | undefined =>
      LOCATE_FAILURES.has(e.name) ? layerFailure(repositoryName, layerDigest, 'locate', e) : repositoryNotFound(repositoryName)(e),
  ).andThen((out) =>
    out.downloadUrl
      ? ok(out.downloadUrl)
      : err<string, LayerTransferFailed>({
          kind: 'LayerTransferFailed',
          repositoryName,
          layerDigest,
          stage: 'locate',
          reason: 'NoDownloadUrl',
          message: 'GetDownloadUrlForLayer answered without a downloadUrl',
          cause: undefined,
        }),
  );

/** An upload ECR has opened. */
export interface LayerUpload {
  readonly uploadId: string;
  /** The part size ECR expects, when it said. */
  readonly partSize: number | undefined;
}

/** InitiateLayerUpload in the target repository. */
export const initiateLayerUpload = (
  ctx: RegistryContext,
  repositoryName: string,
  options?: CallOptions,
): ResultAsync<LayerUpload, RepositoryScoped<KmsRefused | LayerTransferFailed>> =>
  awsCall(
    scope(ctx, options),
    'ecr',
    'InitiateLayerUpload',
    (o) => ctx.ecr.send(new InitiateLayerUploadCommand({ repositoryName }), o),
    (e) => kmsRefused('InitiateLayerUpload', e) ?? repositoryNotFound(repositoryName)(e),
  ).andThen((out) =>
    out.uploadId
      ? ok({ uploadId: out.uploadId, partSize: out.partSize })
      : err<LayerUpload, LayerTransferFailed>({
          kind: 'LayerTransferFailed',
          repositoryName,
          layerDigest: '',
          stage: 'upload',
          reason: 'NoUploadId',
          message: 'InitiateLayerUpload answered without an uploadId',
          cause: undefined,
        }),
  );

/** One part of a layer upload. */
export interface LayerPart {
  readonly repositoryName: string;
  readonly uploadId: string;
  /** For error reports only: ECR does not take it here. */
  readonly layerDigest: string;
  /** Offset of the part's first byte in the blob. */
  readonly firstByte: number;
  readonly bytes: Uint8Array;
}

const UPLOAD_FAILURES = new Set(['InvalidLayerPartException', 'UploadNotFoundException']);

/**
 * UploadLayerPart. When a retried part had in fact arrived (the answer was lost), ECR refuses it
 * with `InvalidLayerPartException` whose `lastValidByteReceived` is the part's last byte: that is
 * success. Returns the last byte ECR holds.
 */
export const uploadLayerPart = (
  ctx: RegistryContext,
  part: LayerPart,
  options?: CallOptions,
): ResultAsync<number, RepositoryScoped<KmsRefused | LayerTransferFailed>> => {
  const { repositoryName, uploadId, layerDigest, firstByte, bytes } = part;
  const partLastByte = firstByte + bytes.length - 1;
  return awsCall(
    scope(ctx, options),
    'ecr',
    'UploadLayerPart',
    (o) => ctx.ecr.send(new UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: firstByte, partLastByte, layerPartBlob: bytes }), o),
    (e) =>
      UPLOAD_FAILURES.has(e.name)
        ? layerFailure(repositoryName, layerDigest, 'upload', e)
        : (kmsRefused('UploadLayerPart', e) ?? repositoryNotFound(repositoryName)(e)),
    (e) =>
      e.name === 'InvalidLayerPartException' && (e as { lastValidByteReceived?: unknown }).lastValidByteReceived === partLastByte
        ? partLastByte
        : undefined,
  ).map((out) => (typeof out === 'number' ? out : (out.lastByteReceived ?? partLastByte)));
};

const COMPLETE_FAILURES = new Set([
  'InvalidLayerException',
  'LayerPartTooSmallException',
  'EmptyUploadException',
  'UploadNotFoundException',
]);

/** CompleteLayerUpload for one blob. `LayerAlreadyExistsException` means it is there: success. */
export const completeLayerUpload = (
  ctx: RegistryContext,
  repositoryName: string,
  uploadId: string,
  layerDigest: string,
  options?: CallOptions,
): ResultAsync<'completed' | 'existed', RepositoryScoped<KmsRefused | LayerTransferFailed>> =>
  awsCall(
    scope(ctx, options),
    'ecr',
    'CompleteLayerUpload',
    (o) => ctx.ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [layerDigest] }), o),
    (e) =>
      COMPLETE_FAILURES.has(e.name)
        ? layerFailure(repositoryName, layerDigest, 'complete', e)
        : (kmsRefused('CompleteLayerUpload', e) ?? repositoryNotFound(repositoryName)(e)),
    (e) => (e.name === 'LayerAlreadyExistsException' ? ('existed' as const) : undefined),
  ).map((out) => (out === 'existed' ? out : ('completed' as const)));

/** A manifest to store, byte-exact, under its digest. */
export interface ManifestPush {
  readonly repositoryName: string;
  /** The exact manifest string the source returned: never re-serialised. */
  readonly imageManifest: string;
  readonly imageManifestMediaType: string | undefined;
  readonly imageDigest: string;
  readonly imageTag?: string | undefined;
}

const PUT_IMAGE_REASONS: Readonly<Record<string, ManifestRejectedReason>> = {
  LayersNotFoundException: 'LayersNotFound',
  ReferencedImagesNotFoundException: 'ReferencedImagesNotFound',
  ImageTagAlreadyExistsException: 'ImageTagAlreadyExists',
  ImageDigestDoesNotMatchException: 'ImageDigestDoesNotMatch',
  InvalidParameterException: 'InvalidParameter',
  LimitExceededException: 'LimitExceeded',
};

/**
 * PutImage by digest (and with one tag, when given). `ImageAlreadyExistsException` ("no changes
 * to the manifest or image tag") means it is there: success.
 */
export const putImage = (
  ctx: RegistryContext,
  push: ManifestPush,
  options?: CallOptions,
): ResultAsync<'created' | 'existed', RepositoryScoped<KmsRefused | ManifestRejected>> => {
  const { repositoryName, imageManifest, imageManifestMediaType, imageDigest, imageTag } = push;
  return awsCall(
    scope(ctx, options),
    'ecr',
    'PutImage',
    (o) =>
      ctx.ecr.send(
        new PutImageCommand({
          repositoryName,
          imageManifest,
          imageDigest,
          ...(imageManifestMediaType === undefined ? {} : { imageManifestMediaType }),
          ...(imageTag === undefined ? {} : { imageTag }),
        }),
        o,
      ),
    (e): RepositoryNotFound | KmsRefused | ManifestRejected | undefined => {
      const reason = PUT_IMAGE_REASONS[e.name];
      if (reason !== undefined) {
        return { kind: 'ManifestRejected', service: 'ecr', operation: 'PutImage', cause: e, repositoryName, imageDigest, imageTag, reason, message: e.message };
      }
      return kmsRefused('PutImage', e) ?? repositoryNotFound(repositoryName)(e);
    },
    (e) => (e.name === 'ImageAlreadyExistsException' ? ('existed' as const) : undefined),
  ).map((out) => (out === 'existed' ? out : ('created' as const)));
};
