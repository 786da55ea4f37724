/**
 * Copies a snapshot's images into another repository of the same registry, by digest: every blob
 * the target lacks (streamed, bounded concurrency) and, as their blobs arrive, every manifest
 * byte-exact in the snapshot's order, each with its tags. Idempotent: what the target already holds is skipped, so
 * re-running after a crash resumes.
 */
import { ResultAsync, err, ok, okAsync, type Result } from 'neverthrow';
import type { CopyImagesError, InvalidInput } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { runPool } from '../internal/pool.js';
import { DEFAULT_RETRY, aborted, retriedBeyondSdk, retry, type RetryPolicy } from '../internal/wait.js';
import { checkLayerAvailability, putImage } from '../steps/ecr-images.js';
import { DEFAULT_PART_SIZE, ECR_PART_SIZE_BOUNDS, type PartSizeBounds, transferBlob } from './blob-transfer.js';
import { digestOf, isDockerV1 } from './manifest.js';
import type { LayerTransport } from './registry-transport.js';
import type { GraphBlob, GraphImage, ImageGraph } from './snapshot.js';

/** Where a copy is. */
export interface CopyProgress {
  readonly phase: 'checking' | 'blobs' | 'manifests' | 'done';
  readonly imagesDone: number;
  readonly imagesTotal: number;
  /** Blob bytes in the target: present before the copy, or uploaded by it. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly blobsDone: number;
  readonly blobsTotal: number;
  /**
   * Bytes this copy uploaded so far (blobs found present do not count; a blob that starts over
   * gives its bytes back). What {@link CopyProgress.ratePerSecond} is computed from.
   */
  readonly bytesCopied: number;
  /** Bytes uploaded per second since the copy started (blobs found present do not count). */
  readonly ratePerSecond: number;
  /**
   * Seconds left at that rate; `undefined` until the copy has run 2 s and uploaded 1% of
   * `bytesTotal` (an estimate from the first part is noise); at most a day.
   */
  readonly etaSeconds: number | undefined;
}

/** No estimate before the copy has run this long (and uploaded 1%). */
const ETA_AFTER_MS = 2000;
/** The longest estimate given: beyond it the number says nothing. */
const ETA_MAX_SECONDS = 86_400;
/**
 * Byte events (one per layer part) closer together than this are dropped; phase changes, each
 * blob's and each image's completion are always sent. Keeps a fast copy from paying for its listener.
 */
const BYTE_EVENT_INTERVAL_MS = 100;

/** A blob is in the target: copied now, or found there. */
interface BlobCopied {
  readonly digest: string;
  readonly skipped: boolean;
}

/** A manifest is in the target, with all its tags. */
interface ManifestCopied {
  readonly digest: string;
  readonly tags: readonly string[];
  /** `false` when the target already held the manifest and every tag. */
  readonly created: boolean;
}

/** What to copy where, and who to tell. `HE` is what the hooks (a journal) can fail with. */
export interface CopyImagesInput<HE = never> {
  readonly source: string;
  readonly target: string;
  readonly graph: ImageGraph;
  /** Blobs in flight at once (1–64). */
  readonly concurrency: number;
  /**
   * Part size used when InitiateLayerUpload does not return one (within `partSizeBounds`). ECR's
   * own answer wins within those bounds (see `partSizeFor`).
   */
  readonly partSize?: number;
  /**
   * The smallest and largest layer part. Default (and what real ECR needs): its layer-part quota,
   * 5–10 MiB ({@link ECR_PART_SIZE_BOUNDS}). Only for a registry with other limits, such as the
   * emulator started with `startLocalAws({ minimumLayerPartSize })` in a test that wants small
   * layers: `min` must be at least 1 and at most `max`.
   */
  readonly partSizeBounds?: PartSizeBounds;
  /**
   * How layer bytes reach the target (default `auto`): over ECR's registry API (`/v2/`, raw bytes,
   * as docker and skopeo push; needs `ecr:GetAuthorizationToken`), or `api` (UploadLayerPart, base64
   * in JSON, 10 MiB a call). `auto` uses the registry API unless it is out of reach, then the JSON API.
   */
  readonly transport?: LayerTransport;
  readonly onProgress?: (progress: CopyProgress) => void;
  /** Called once each blob is in the target; a failure stops the copy. For a journal. */
  readonly onBlobCopied?: (event: BlobCopied) => ResultAsync<void, HE>;
  /** Called once each manifest and all its tags are in the target; a failure stops the copy. */
  readonly onManifestCopied?: (event: ManifestCopied) => ResultAsync<void, HE>;
  /**
   * Digests a journal already recorded as in this target: not checked nor copied again. Blobs by
   * blob digest, manifests by image digest (with their tags).
   */
  readonly done?: { readonly blobs?: Iterable<string>; readonly manifests?: Iterable<string> };
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
}

/** What a copy did. */
export interface CopyReport {
  readonly blobsCopied: number;
  /** Present in the target already (or recorded as done), not copied. */
  readonly blobsSkipped: number;
  readonly bytesCopied: number;
  readonly manifestsCreated: number;
  /** Manifests the target already held with all their tags. */
  readonly manifestsExisting: number;
  readonly tagsApplied: number;
}

const MAX_CONCURRENCY = 64;

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

const validate = <HE>(ctx: RegistryContext, input: CopyImagesInput<HE>): CopyImagesError | undefined => {
  if (ctx.transportError) return ctx.transportError;
  if (input.source === input.target) return invalid('target', 'the target must be another repository than the source');
  if (!Number.isInteger(input.concurrency) || input.concurrency < 1 || input.concurrency > MAX_CONCURRENCY) {
    return invalid('concurrency', `must be an integer from 1 to ${MAX_CONCURRENCY}`);
  }
  const { partSize, partSizeBounds: bounds = ECR_PART_SIZE_BOUNDS } = input;
  if (!Number.isSafeInteger(bounds.min) || !Number.isSafeInteger(bounds.max) || bounds.min < 1 || bounds.min > bounds.max) {
    return invalid('partSizeBounds', 'min and max must be integers with 1 ≤ min ≤ max');
  }
  if (partSize !== undefined && (!Number.isInteger(partSize) || partSize < bounds.min || partSize > bounds.max)) {
    return invalid('partSize', `must be an integer from ${bounds.min} to ${bounds.max} bytes`);
  }
  const archived = input.graph.images.filter((i) => i.status !== 'ACTIVE');
  if (archived.length > 0) {
    return {
      kind: 'ImagesArchived',
      repositoryName: input.graph.repositoryName,
      images: archived.map((i) => ({ imageDigest: i.digest, imageTags: i.tags, status: i.status === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVATING' })),
    };
  }
  const unread = input.graph.images.find((i) => i.manifest === undefined);
  if (unread) return invalid('graph', `image ${unread.digest} has no manifest in the snapshot`);
  return undefined;
};

/** Counts and the rate behind progress events. */
class Tracker {
  imagesDone = 0;
  bytesDone = 0;
  blobsDone = 0;
  uploaded = 0;
  phase: CopyProgress['phase'] = 'checking';
  readonly #started: number;
  #lastByteEvent = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly ctx: RegistryContext,
    private readonly totals: { readonly images: number; readonly bytes: number; readonly blobs: number },
    private readonly listener: ((progress: CopyProgress) => void) | undefined,
  ) {
    this.#started = ctx.now().getTime();
  }

  /** A byte event: sent unless the last one was under {@link BYTE_EVENT_INTERVAL_MS} ago. */
  emitBytes(): void {
    if (!this.listener) return;
    const now = this.ctx.now().getTime();
    if (now - this.#lastByteEvent < BYTE_EVENT_INTERVAL_MS) return;
    this.#lastByteEvent = now;
    this.emit();
  }

  emit(): void {
    if (!this.listener) return;
    const elapsedMs = this.ctx.now().getTime() - this.#started;
    const rate = elapsedMs > 0 ? (Math.max(0, this.uploaded) * 1000) / elapsedMs : 0;
    const left = Math.max(0, this.totals.bytes - this.bytesDone);
    const settled = elapsedMs >= ETA_AFTER_MS && this.uploaded >= this.totals.bytes * 0.01;
    this.listener({
      phase: this.phase,
      imagesDone: this.imagesDone,
      imagesTotal: this.totals.images,
      bytesDone: this.bytesDone,
      bytesTotal: this.totals.bytes,
      blobsDone: this.blobsDone,
      blobsTotal: this.totals.blobs,
      bytesCopied: Math.max(0, this.uploaded),
      ratePerSecond: rate,
      etaSeconds: left === 0 ? 0 : settled && rate > 0 ? Math.min(ETA_MAX_SECONDS, left / rate) : undefined,
    });
  }
}

/**
 * Copies every image of `graph` from `source` into `target` (same registry), by digest.
 *
 * 1. Blobs: BatchCheckLayerAvailability on the target (100 a call); each blob that is not
 *    `AVAILABLE` is streamed from its download URL into the target's layer upload, `concurrency`
 *    blobs at a time, never more than one part of each in memory. The digest is checked before
 *    the upload is completed.
 * 2. Manifests, one at a time in the graph's order (children before indexes, subjects before
 *    referrers, otherwise push order): PutImage with the exact manifest string, its digest and
 *    media type, carrying the first tag; then one PutImage per further tag. Each manifest starts
 *    as soon as its own blobs are in the target (and the one before it is pushed), while later
 *    blobs are still moving: the manifest phase overlaps the blob transfers.
 *
 * Transient failures (throttling, network, 5xx) are retried with bounded backoff; an expired
 * download URL is fetched anew. `ImageAlreadyExists` and `LayerAlreadyExists` count as success.
 *
 * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `ImagesArchived` (nothing copied),
 * `RepositoryNotFound`, `DigestMismatch`, `LayerTransferFailed`, `ManifestRejected`, `KmsRefused`,
 * `Aborted`, the generic AWS kinds, and whatever the hooks return.
 *
 * @example
 * ```ts
 * const copied = await copyImages(ctx, { source: 'app', target: 'app-staging', graph, concurrency: 4,
 *   onProgress: (p) => console.log(p.phase, p.bytesDone, p.bytesTotal) });
 * ```
 */
export const copyImages = <HE = never>(
  ctx: RegistryContext,
  input: CopyImagesInput<HE>,
): ResultAsync<CopyReport, CopyImagesError | HE> => {
  const { source, target, graph, signal } = input;
  const policy = input.retry ?? DEFAULT_RETRY;
  const callOptions = { signal };

  const run = async (): Promise<Result<CopyReport, CopyImagesError | HE>> => {
    const problem = validate(ctx, input);
    if (problem) return err(problem);

    const doneBlobs = new Set(input.done?.blobs ?? []);
    const doneManifests = new Set(input.done?.manifests ?? []);
    const tracker = new Tracker(
      ctx,
      { images: graph.images.length, bytes: graph.totalBytes, blobs: graph.blobs.length },
      input.onProgress,
    );
    const report = { blobsCopied: 0, blobsSkipped: 0, bytesCopied: 0, manifestsCreated: 0, manifestsExisting: 0, tagsApplied: 0 };
    const blobHook = input.onBlobCopied ?? (() => okAsync<void, HE>(undefined));
    const manifestHook = input.onManifestCopied ?? (() => okAsync<void, HE>(undefined));

    // 1. What the target holds already.
    tracker.emit();
    const unknown = graph.blobs.filter((b) => !doneBlobs.has(b.digest));
    const availability = await retry(
      ctx,
      policy,
      'BatchCheckLayerAvailability',
      () => checkLayerAvailability(ctx, target, unknown.map((b) => b.digest), callOptions),
      { retryable: retriedBeyondSdk('BatchCheckLayerAvailability'), signal },
    );
    if (availability.isErr()) return err(availability.error);
    const missing: GraphBlob[] = [];
    for (const blob of graph.blobs) {
      const present = doneBlobs.has(blob.digest) || availability.value.get(blob.digest) === 'AVAILABLE';
      if (!present) {
        missing.push(blob);
        continue;
      }
      report.blobsSkipped++;
      tracker.blobsDone++;
      tracker.bytesDone += blob.size ?? 0;
      if (!doneBlobs.has(blob.digest)) {
        const hooked = await blobHook({ digest: blob.digest, skipped: true });
        if (hooked.isErr()) return err(hooked.error);
      }
    }

    // 2. Blobs, `concurrency` at a time, in the graph's order; 3. meanwhile manifests, one at a
    // time in the graph's order (so push order follows the source's), each as soon as its own
    // blobs are in the target (children and subjects are earlier in that order, so in already).
    // The manifest chain overlaps the blob transfers instead of waiting for the last blob.
    tracker.phase = 'blobs';
    tracker.emit();
    const fallbackPartSize = input.partSize ?? DEFAULT_PART_SIZE;
    /** Settles with `true` once the blob (and its hook) is done, `false` if the blobs stopped first. */
    const arrived = new Map<string, { readonly promise: Promise<boolean>; readonly settle: (done: boolean) => void }>();
    for (const blob of missing) {
      let settle: (done: boolean) => void = () => undefined;
      const promise = new Promise<boolean>((resolve) => (settle = resolve));
      arrived.set(blob.digest, { promise, settle });
    }
    /** Set when the manifest chain fails: no new blob starts. */
    let manifestsFailed = false;
    /** Whatever did not arrive never will: release the manifests waiting for it (also when a hook threw). */
    const releaseWaiting = (): void => {
      for (const entry of arrived.values()) entry.settle(false);
    };
    const pool = runPool<GraphBlob, CopyImagesError | HE>(missing, input.concurrency, (blob) => {
      const entry = arrived.get(blob.digest);
      if (manifestsFailed) return okAsync<void, CopyImagesError | HE>(undefined);
      return transferBlob(ctx, {
        source,
        target,
        digest: blob.digest,
        size: blob.size,
        fallbackPartSize,
        partSizeBounds: input.partSizeBounds,
        transport: input.transport,
        retry: policy,
        signal,
        onBytes: (bytes) => {
          tracker.bytesDone += bytes;
          tracker.uploaded += bytes;
          report.bytesCopied += bytes;
          if (bytes > 0) tracker.emitBytes();
        },
      })
        .mapErr((e): CopyImagesError | HE => e)
        .andThen(() => {
          report.blobsCopied++;
          tracker.blobsDone++;
          tracker.emit();
          return blobHook({ digest: blob.digest, skipped: false });
        })
        .map(() => entry?.settle(true));
    });
    const blobs: Promise<Result<void, CopyImagesError | HE>> = Promise.resolve(pool).then(
      (result): Result<void, CopyImagesError | HE> => {
        releaseWaiting();
        if (result.isOk()) {
          tracker.phase = 'manifests';
          tracker.emit();
        }
        return result;
      },
      (error: unknown) => {
        // A hook that threw or rejected (a bug in it): never leave the manifest chain waiting.
        releaseWaiting();
        throw error;
      },
    );

    const manifests = async (): Promise<Result<void, CopyImagesError | HE>> => {
      for (const image of graph.images) {
        if (!doneManifests.has(image.digest)) {
          for (const digest of image.blobs) {
            const entry = arrived.get(digest);
            // A blob that did not arrive: the blob pool's error is the one to report.
            if (entry !== undefined && !(await entry.promise)) return ok(undefined);
          }
          if (signal?.aborted) return err(aborted('CopyImages'));
          const pushed = await pushImage(ctx, target, image, policy, signal);
          if (pushed.isErr()) return err(pushed.error);
          if (pushed.value.created) report.manifestsCreated++;
          else report.manifestsExisting++;
          report.tagsApplied += pushed.value.tagsApplied;
          const hooked = await manifestHook({ digest: image.digest, tags: image.tags, created: pushed.value.created });
          if (hooked.isErr()) return err(hooked.error);
        } else if (signal?.aborted) return err(aborted('CopyImages'));
        tracker.imagesDone++;
        tracker.emit();
      }
      return ok(undefined);
    };
    let pushed: Result<void, CopyImagesError | HE>;
    try {
      pushed = await manifests();
    } catch (error) {
      // The manifest hook threw: stop the blobs, let those in flight end, and pass the throw on.
      manifestsFailed = true;
      await blobs.catch(() => undefined);
      throw error;
    }
    if (pushed.isErr()) manifestsFailed = true;
    const copied = await blobs;
    // The first failure in time is not known; a blob failure stops the manifests that need it,
    // so report it first, then the manifest chain's own failure.
    if (copied.isErr()) return err(copied.error);
    if (pushed.isErr()) return err(pushed.error);

    tracker.phase = 'done';
    tracker.emit();
    return ok(report);
  };
  return new ResultAsync(run());
};

/**
 * Pushes one manifest by digest with its first tag, then one PutImage per further tag (ECR takes
 * one tag a call). The manifest's digest is checked first: the bytes sent are those of the digest.
 */
const pushImage = (
  ctx: RegistryContext,
  target: string,
  image: GraphImage,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
): ResultAsync<{ readonly created: boolean; readonly tagsApplied: number }, CopyImagesError> => {
  const run = async (): Promise<Result<{ created: boolean; tagsApplied: number }, CopyImagesError>> => {
    const manifest = image.manifest;
    if (manifest === undefined) return err(invalid('graph', `image ${image.digest} has no manifest in the snapshot`));
    // Docker v1 digests cover the manifest without its signature: ECR checks those itself.
    if (!isDockerV1(image.mediaType, manifest)) {
      const actual = digestOf(manifest, image.digest);
      if (actual !== image.digest) {
        return err({ kind: 'DigestMismatch', repositoryName: target, subject: 'manifest', expected: image.digest, actual });
      }
    }
    const tags: (string | undefined)[] = image.tags.length > 0 ? [...image.tags] : [undefined];
    let created = false;
    let tagsApplied = 0;
    for (const imageTag of tags) {
      const put = await retry(
        ctx,
        policy,
        'PutImage',
        () =>
          putImage(
            ctx,
            { repositoryName: target, imageManifest: manifest, imageManifestMediaType: image.mediaType, imageDigest: image.digest, imageTag },
            { signal },
          ),
        { retryable: retriedBeyondSdk('PutImage'), signal },
      );
      if (put.isErr()) return err(put.error);
      if (put.value === 'created') {
        created = true;
        if (imageTag !== undefined) tagsApplied++;
      }
    }
    return ok({ created, tagsApplied });
  };
  return new ResultAsync(run());
};
