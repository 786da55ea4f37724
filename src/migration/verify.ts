/**
 * Checks a target repository against a snapshot: every image by digest with byte-identical
 * manifest and the same media type, every tag on the same digest, every blob `AVAILABLE`.
 */
import { ResultAsync, err, errAsync, ok } from 'neverthrow';
import type {
  BlobDifference,
  CopyVerificationFailed,
  ManifestDifference,
  TagDifference,
  VerifyCopyError,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { DEFAULT_RETRY, retriedBeyondSdk, retry, type RetryPolicy } from '../internal/wait.js';
import { batchGetImages, checkLayerAvailability, describeImages } from '../steps/ecr-images.js';
import type { ImageGraph } from './snapshot.js';

/** What to verify. */
export interface VerifyCopyInput {
  readonly target: string;
  readonly graph: ImageGraph;
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
}

/** What was found identical. */
export interface VerifyReport {
  readonly images: number;
  readonly tags: number;
  readonly blobs: number;
}

/**
 * Verifies that `target` holds everything in `graph`: manifests by digest with BatchGetImage (100
 * a call, every media type accepted so nothing is translated), tags from DescribeImages, blobs
 * with BatchCheckLayerAvailability (100 a call). Images the target holds beyond the snapshot are
 * not differences. Archived images of the snapshot cannot have been copied: they are listed as
 * `notCopied`, which fails the verification.
 *
 * Errors (`error.kind`): `CopyVerificationFailed` (every difference listed), `InsecureEndpoint`,
 * `RepositoryNotFound`, `Aborted`, and the generic AWS kinds.
 *
 * @example
 * ```ts
 * const verified = await verifyCopy(ctx, { target: 'app-staging', graph });
 * if (verified.isErr() && verified.error.kind === 'CopyVerificationFailed') console.error(verified.error.missingImages);
 * ```
 */
export const verifyCopy = (ctx: RegistryContext, input: VerifyCopyInput): ResultAsync<VerifyReport, VerifyCopyError> => {
  const { target, graph, signal } = input;
  if (ctx.transportError) return errAsync(ctx.transportError);
  const policy = input.retry ?? DEFAULT_RETRY;
  const callOptions = { signal };
  const readable = graph.images.filter((i) => i.manifest !== undefined);

  return ResultAsync.combine([
    retry(ctx, policy, 'BatchGetImage', () => batchGetImages(ctx, target, readable.map((i) => ({ imageDigest: i.digest })), graph.mediaTypes, callOptions), {
      retryable: retriedBeyondSdk('BatchGetImage'),
      signal,
    }),
    retry(ctx, policy, 'DescribeImages', () => describeImages(ctx, target, callOptions), { retryable: retriedBeyondSdk('DescribeImages'), signal }),
    retry(ctx, policy, 'BatchCheckLayerAvailability', () => checkLayerAvailability(ctx, target, graph.blobs.map((b) => b.digest), callOptions), {
      retryable: retriedBeyondSdk('BatchCheckLayerAvailability'),
      signal,
    }),
  ] as const).andThen(([got, details, availability]) => {
    const returned = new Map(got.images.flatMap((i) => (i.imageId?.imageDigest ? [[i.imageId.imageDigest, i] as const] : [])));
    const failed = new Map(got.failures.flatMap((f) => (f.imageDigest ? [[f.imageDigest, f.failureCode] as const] : [])));

    const missingImages: CopyVerificationFailed['missingImages'][number][] = [];
    const manifestMismatches: ManifestDifference[] = [];
    for (const image of readable) {
      const actual = returned.get(image.digest);
      if (actual === undefined) {
        missingImages.push({ imageDigest: image.digest, failureCode: failed.get(image.digest) ?? 'NotReturned' });
        continue;
      }
      const bytesDiffer = actual.imageManifest !== image.manifest;
      const typeDiffers = image.mediaType !== undefined && actual.imageManifestMediaType !== image.mediaType;
      if (bytesDiffer || typeDiffers) {
        manifestMismatches.push({
          imageDigest: image.digest,
          expectedMediaType: image.mediaType,
          actualMediaType: actual.imageManifestMediaType,
          bytesDiffer,
        });
      }
    }

    const tagged = new Map<string, string>();
    for (const detail of details) {
      for (const tag of detail.imageTags ?? []) if (detail.imageDigest) tagged.set(tag, detail.imageDigest);
    }
    const tagMismatches: TagDifference[] = [];
    let tags = 0;
    for (const image of readable) {
      for (const tag of image.tags) {
        tags++;
        const actual = tagged.get(tag);
        if (actual !== image.digest) tagMismatches.push({ tag, expected: image.digest, actual });
      }
    }

    const missingBlobs: BlobDifference[] = graph.blobs
      .map((b) => ({ layerDigest: b.digest, availability: availability.get(b.digest) ?? 'NotReturned' }))
      .filter((b) => b.availability !== 'AVAILABLE');

    const notCopied = graph.archived;
    const differences = missingImages.length + manifestMismatches.length + tagMismatches.length + missingBlobs.length + notCopied.length;
    if (differences > 0) {
      return err<VerifyReport, VerifyCopyError>({
        kind: 'CopyVerificationFailed',
        repositoryName: target,
        missingImages,
        manifestMismatches,
        tagMismatches,
        missingBlobs,
        notCopied,
      });
    }
    return ok({ images: readable.length, tags, blobs: graph.blobs.length });
  });
};
