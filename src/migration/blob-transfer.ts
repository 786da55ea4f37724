/**
 * Moves one blob from a source repository to a target repository without holding it in memory:
 * the pre-signed download is read as a stream and cut into parts of the size ECR asks for, each
 * uploaded (strictly in order) before more is read. The digest is computed on the way and checked
 * before the upload is completed. Memory per blob in flight: one part buffer, plus what the SDK
 * needs to send that part.
 */
import { createHash } from 'node:crypto';
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { err, ok, type Result, type ResultAsync } from 'neverthrow';
import type {
  Aborted,
  DigestMismatch,
  GenericAwsError,
  InsecureEndpoint,
  KmsRefused,
  LayerTransferFailed,
  RepositoryNotFound,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { aborted, retriedBeyondSdk, retry, type RetryPolicy } from '../internal/wait.js';
import { checkTransport } from '../internal/transport.js';
import {
  completeLayerUpload,
  getDownloadUrlForLayer,
  initiateLayerUpload,
  uploadLayerPart,
} from '../steps/ecr-images.js';
import { digestAlgorithm } from './manifest.js';
import { agents, type LayerTransport, registryUnavailable, uploadOverRegistry, useRegistry } from './registry-transport.js';

/**
 * ECR's bounds for a layer part uploaded through the API, from the service-quotas page
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html, "only applicable if
 * you are using Amazon ECR API actions directly"): "Minimum layer part size" 5 MiB (except the
 * last part), "Maximum layer part size" 10 MiB, "Layer parts" 4,200, none adjustable. The
 * UploadLayerPart reference allows 20,971,520 bytes per request, but
 * the quota is the narrower, documented limit for this very case, so parts never exceed 10 MiB;
 * a layer over 4,200 × 10 MiB (42,000 MiB, below the 52,000 MiB layer maximum) cannot be uploaded
 * through the API and is refused before any byte moves.
 */
export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PART_SIZE = 10 * 1024 * 1024;
export const MAX_PARTS = 4_200;
/** When ECR does not say which part size it wants. */
export const DEFAULT_PART_SIZE = 10 * 1024 * 1024;

/** The smallest and largest layer part (every part but the last is at least `min`). */
export interface PartSizeBounds {
  readonly min: number;
  readonly max: number;
}

/** ECR's layer-part quota: 5–10 MiB. The default everywhere; only tests against a registry with other limits pass others. */
export const ECR_PART_SIZE_BOUNDS: PartSizeBounds = { min: MIN_PART_SIZE, max: MAX_PART_SIZE };

/**
 * The part size for a blob: ECR's `partSize` from InitiateLayerUpload (or the fallback) kept within
 * the quota's 5–10 MiB, and raised (within 10 MiB) when the blob's known size would need more than
 * 4,200 parts. `undefined` when the blob cannot fit in 4,200 parts of 10 MiB.
 *
 * @example
 * ```ts
 * partSizeFor(1, undefined, DEFAULT_PART_SIZE); // 5 MiB: ECR's 1 byte is below the quota's floor
 * ```
 */
export const partSizeFor = (
  asked: number | undefined,
  size: number | undefined,
  fallback: number,
  bounds: PartSizeBounds = ECR_PART_SIZE_BOUNDS,
): number | undefined => {
  const wanted = asked !== undefined && Number.isFinite(asked) && asked > 0 ? asked : fallback;
  const bounded = Math.min(bounds.max, Math.max(bounds.min, Number.isFinite(wanted) ? Math.floor(wanted) : DEFAULT_PART_SIZE));
  if (size === undefined || size <= bounded * MAX_PARTS) return bounded;
  const needed = Math.ceil(size / MAX_PARTS);
  return needed <= bounds.max ? needed : undefined;
};

const tooManyParts = (t: { readonly target: string; readonly digest: string; readonly partSizeBounds?: PartSizeBounds | undefined }, size: number, what: string): LayerTransferFailed => ({
  kind: 'LayerTransferFailed',
  repositoryName: t.target,
  layerDigest: t.digest,
  stage: 'upload',
  reason: 'LayerTooLarge',
  message:
    `${what} ${size} bytes: more than ECR's ${MAX_PARTS} layer parts of at most ${(t.partSizeBounds ?? ECR_PART_SIZE_BOUNDS).max} bytes (service quotas "Layer parts" and ` +
    '"Maximum layer part size", not adjustable) can hold through the API',
  cause: undefined,
});
/** A download that sends nothing for this long is abandoned and restarted. */
const DOWNLOAD_IDLE_TIMEOUT_MS = 120_000;
/** S3 may redirect a download to another endpoint. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 3;

/** What can stop one blob. */
export type BlobTransferError =
  | InsecureEndpoint
  | RepositoryNotFound
  | KmsRefused
  | LayerTransferFailed
  | DigestMismatch
  | Aborted
  | GenericAwsError;

/** One blob to move. */
export interface BlobTransfer {
  readonly source: string;
  readonly target: string;
  readonly digest: string;
  /** From the manifests, when known: sizes the part buffer of small blobs. */
  readonly size: number | undefined;
  /** Part size when InitiateLayerUpload does not return one. */
  readonly fallbackPartSize: number;
  /** The part sizes allowed (default {@link ECR_PART_SIZE_BOUNDS}, ECR's quota). */
  readonly partSizeBounds?: PartSizeBounds | undefined;
  readonly retry: RetryPolicy;
  /**
   * How the bytes reach the target (default `auto`): `registry` streams them raw over ECR's
   * registry API (`/v2/`, as docker and skopeo push), `api` in UploadLayerPart parts, `auto` the
   * registry API unless it is out of reach for this client (no `ecr:GetAuthorizationToken`, no
   * `/v2/` behind a custom endpoint), then the JSON API.
   */
  readonly transport?: LayerTransport | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Bytes uploaded (positive), or given back when the blob restarts (negative). */
  readonly onBytes?: (bytes: number) => void;
}

/** An attempt either fails for good, or fails in a way a fresh start (new URL, new upload) may cure. */
interface Failure {
  readonly error: BlobTransferError;
  readonly restart: boolean;
}

const fatal = (error: BlobTransferError): Failure => ({ error, restart: false });

const downloadFailure = (t: BlobTransfer, reason: string, message: string, cause: unknown): LayerTransferFailed => ({
  kind: 'LayerTransferFailed',
  repositoryName: t.source,
  layerDigest: t.digest,
  stage: 'download',
  reason,
  message,
  cause,
});

const openDownload = (url: string, signal: AbortSignal | undefined): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const secure = url.startsWith('https:');
    const get = secure ? httpsGet : httpGet;
    const request = get(url, { agent: secure ? agents.https : agents.http, ...(signal === undefined ? {} : { signal }) }, resolve);
    request.on('error', reject);
    request.setTimeout(DOWNLOAD_IDLE_TIMEOUT_MS, () =>
      request.destroy(Object.assign(new Error('download stalled'), { code: 'ETIMEDOUT' })),
    );
  });

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/** Restartable: the URL expired (S3 answers 403), throttling, or a server fault. */
const restartableStatus = (status: number): boolean => status === 403 || status === 408 || status === 429 || status >= 500;

/** Upload failures a fresh upload cures: the upload vanished, or ECR holds other bytes than we sent. */
const restartableUpload = (error: BlobTransferError): boolean =>
  error.kind === 'LayerTransferFailed' && (error.reason === 'UploadNotFoundException' || error.reason === 'InvalidLayerPartException');

const attempt = async (ctx: RegistryContext, t: BlobTransfer, viaApi = false): Promise<Result<'completed' | 'existed', Failure>> => {
  const { signal } = t;
  const callOptions = { signal };
  /** One API call: the SDK retries it; we retry only what {@link retriedBeyondSdk} names (throttled layer uploads). */
  const call = <T, E extends BlobTransferError>(operation: string, fn: () => ResultAsync<T, E>): ResultAsync<T, E | Aborted> =>
    retry(ctx, t.retry, operation, fn, { retryable: retriedBeyondSdk(operation), signal });
  const algorithm = digestAlgorithm(t.digest);
  if (algorithm === undefined) {
    return err(fatal({ ...downloadFailure(t, 'UnsupportedDigest', `cannot verify digest ${t.digest}`, undefined), stage: 'locate' }));
  }
  // Before any call: a blob that cannot fit in 4,200 parts of the largest allowed size.
  const bounds = t.partSizeBounds ?? ECR_PART_SIZE_BOUNDS;
  if (t.size !== undefined && partSizeFor(bounds.max, t.size, bounds.max, bounds) === undefined) return err(fatal(tooManyParts(t, t.size, 'the blob has')));

  const url = await call('GetDownloadUrlForLayer', () => getDownloadUrlForLayer(ctx, t.source, t.digest, callOptions));
  if (url.isErr()) return err(fatal(url.error));
  let location = url.value;
  let response: IncomingMessage;
  for (let hops = 0; ; hops++) {
    // Every hop is checked: a redirect must not lead off TLS.
    const insecure = checkTransport(location, ctx.allowInsecureHttp === true);
    if (insecure) return err(fatal(insecure));
    try {
      response = await openDownload(location, signal);
    } catch (cause) {
      if (signal?.aborted) return err(fatal(aborted('CopyImages')));
      return err({ error: downloadFailure(t, 'NetworkError', messageOf(cause), cause), restart: true });
    }
    const next = response.headers.location;
    if (!REDIRECTS.has(response.statusCode ?? 0) || next === undefined || hops >= MAX_REDIRECTS) break;
    response.resume();
    location = new URL(next, location).toString();
  }
  const status = response.statusCode ?? 0;
  if (status !== 200) {
    response.resume();
    const failure = downloadFailure(t, `HTTP ${status}`, `download answered ${status} ${response.statusMessage ?? ''}`.trim(), undefined);
    return err({ error: failure, restart: restartableStatus(status) });
  }

  const transport = t.transport ?? 'auto';
  if (!viaApi && useRegistry(ctx, transport)) {
    const uploaded = await uploadOverRegistry(ctx, { source: t.source, target: t.target, digest: t.digest, algorithm, size: t.size, signal, onBytes: t.onBytes }, response);
    if (uploaded.isOk()) return ok(uploaded.value);
    const { fallback } = uploaded.error;
    if (transport === 'auto' && fallback !== undefined) {
      ctx.logger.debug('layer upload through UploadLayerPart: the registry API refused or is out of reach', { reason: uploaded.error.error.kind, for: fallback });
      if (fallback === 'client') registryUnavailable(ctx);
      return attempt(ctx, t, true);
    }
    return err({ error: uploaded.error.error, restart: uploaded.error.restart });
  }

  const upload = await call('InitiateLayerUpload', () => initiateLayerUpload(ctx, t.target, callOptions));
  if (upload.isErr()) {
    response.destroy();
    const error = upload.error.kind === 'LayerTransferFailed' ? { ...upload.error, layerDigest: t.digest } : upload.error;
    return err(fatal(error));
  }
  const { uploadId } = upload.value;
  // Parts are as large as ECR asks, within the quota (never trusted blindly: 0, 1 byte or 100 MiB are kept in 5–10 MiB).
  const partSize = partSizeFor(upload.value.partSize, t.size, t.fallbackPartSize, bounds) ?? bounds.max;

  const hash = createHash(algorithm);
  let part = Buffer.allocUnsafe(t.size !== undefined && t.size > 0 && t.size < partSize ? t.size : partSize);
  let filled = 0;
  let sent = 0;
  const flush = async (): Promise<Result<void, Failure>> => {
    const bytes = part.subarray(0, filled);
    // A blob larger than its descriptor said (or of unknown size) must still fit in 4,200 parts.
    if (sent / partSize >= MAX_PARTS) return err(fatal(tooManyParts(t, sent + filled, 'the blob has at least')));
    const result = await call('UploadLayerPart', () =>
      uploadLayerPart(ctx, { repositoryName: t.target, uploadId, layerDigest: t.digest, firstByte: sent, bytes }, callOptions),
    );
    if (result.isErr()) {
      return err({ error: result.error, restart: restartableUpload(result.error) });
    }
    sent += filled;
    t.onBytes?.(filled);
    filled = 0;
    return ok(undefined);
  };
  const giveBack = <T>(failure: Failure): Result<T, Failure> => {
    response.destroy();
    t.onBytes?.(-sent);
    return err(failure);
  };

  const chunks = response[Symbol.asyncIterator]();
  for (;;) {
    let next: IteratorResult<unknown>;
    try {
      next = await chunks.next();
    } catch (cause) {
      if (signal?.aborted) return giveBack(fatal(aborted('CopyImages')));
      return giveBack({ error: downloadFailure(t, 'NetworkError', messageOf(cause), cause), restart: true });
    }
    if (next.done) break;
    const chunk = next.value;
    if (!Buffer.isBuffer(chunk)) throw new TypeError('a download without encoding yields Buffers');
    hash.update(chunk);
    for (let offset = 0; offset < chunk.length; ) {
      if (filled === part.length && part.length < partSize) {
        // The blob is larger than its descriptor said: grow to a full part.
        const bigger = Buffer.allocUnsafe(partSize);
        part.copy(bigger, 0, 0, filled);
        part = bigger;
      }
      const n = Math.min(part.length - filled, chunk.length - offset);
      chunk.copy(part, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === partSize) {
        const flushed = await flush();
        if (flushed.isErr()) return giveBack(flushed.error);
      }
    }
  }
  if (filled > 0) {
    const flushed = await flush();
    if (flushed.isErr()) return giveBack(flushed.error);
  }

  const received = sent;
  const actual = `${algorithm}:${hash.digest('hex')}`;
  if (actual !== t.digest) {
    // Fewer bytes than the manifest says is a cut-off download, not a wrong blob.
    if (t.size !== undefined && received < t.size) {
      return giveBack({ error: downloadFailure(t, 'Truncated', `received ${received} of ${t.size} bytes`, undefined), restart: true });
    }
    return giveBack(fatal({ kind: 'DigestMismatch', repositoryName: t.source, subject: 'blob', expected: t.digest, actual }));
  }

  const completed = await call('CompleteLayerUpload', () => completeLayerUpload(ctx, t.target, uploadId, t.digest, callOptions));
  if (completed.isErr()) return giveBack({ error: completed.error, restart: restartableUpload(completed.error) });
  return ok(completed.value);
};

/**
 * Copies one blob: GetDownloadUrlForLayer on the source, stream the download, InitiateLayerUpload
 * on the target, UploadLayerPart in order, check the digest, CompleteLayerUpload. An expired URL
 * (403), a dropped download, a lost upload or a 5xx download starts the blob over with a fresh URL,
 * within `retry.attempts`; AWS calls retry transient failures on their own.
 */
export const transferBlob = (ctx: RegistryContext, t: BlobTransfer): ResultAsync<'completed' | 'existed', BlobTransferError> =>
  retry(ctx, t.retry, 'CopyImages', () => attempt(ctx, t), {
    retryable: ({ error, restart }) => {
      if (restart) ctx.logger.debug('restarting a blob', { digest: t.digest, reason: error.kind === 'LayerTransferFailed' ? error.reason : error.kind });
      return restart;
    },
    signal: t.signal,
  }).mapErr((failure) => ('restart' in failure ? failure.error : failure));
