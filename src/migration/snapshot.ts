/**
 * A snapshot of everything a repository holds, as the copy engine and the verifier need it: every
 * image by digest with its exact manifest, its tags and how images reference each other, the
 * de-duplicated blob set, and the order to copy in. Plain JSON (dates as ISO strings), so a
 * migration journal can store it as is.
 */
import type { ImageDetail } from '@aws-sdk/client-ecr';
import { ResultAsync, err, ok, type Result } from 'neverthrow';
import type { ImagesUnavailable, SnapshotImagesError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { runPool } from '../internal/pool.js';
import { DEFAULT_RETRY, retriedBeyondSdk, retry, type RetryPolicy } from '../internal/wait.js';
import { ECR_BATCH_LIMIT, MANIFEST_MEDIA_TYPES, batchGetImages, describeImages } from '../steps/ecr-images.js';
import { manifestReferences } from './manifest.js';
import type { ImageStatus } from './types.js';

/** One image (one manifest), by digest. */
export interface GraphImage {
  readonly digest: string;
  /** Tags pointing at it; empty for untagged images, index children and most referrers. */
  readonly tags: readonly string[];
  /** ISO time of the push; the copy keeps the relative order, ECR resets the time itself. */
  readonly pushedAt: string | undefined;
  readonly status: ImageStatus;
  /** `imageManifestMediaType` as ECR stores it. */
  readonly mediaType: string | undefined;
  /** The OCI artifact type (config media type), when ECR reported one. */
  readonly artifactMediaType: string | undefined;
  readonly sizeInBytes: number | undefined;
  /** The exact manifest string; `undefined` for images that are not `ACTIVE` (they cannot be read). */
  readonly manifest: string | undefined;
  /** Manifests this index lists (children): copied before it. */
  readonly children: readonly string[];
  /** Indexes in this repository that list this manifest. */
  readonly parents: readonly string[];
  /** The image this one refers to (OCI 1.1 `subject`): copied before it. */
  readonly subject: string | undefined;
  /** Images in this repository whose subject is this one. */
  readonly referrers: readonly string[];
  /** Config and layer blobs, config first. */
  readonly blobs: readonly string[];
}

/** One blob, stored once however many images use it. */
export interface GraphBlob {
  readonly digest: string;
  /** From the manifests' descriptors; Docker v1 manifests give none. */
  readonly size: number | undefined;
  readonly mediaType: string | undefined;
  /** Digests of the images that reference it. */
  readonly usedBy: readonly string[];
}

/** A reference to a manifest that is not in the repository. */
interface DanglingReference {
  readonly from: string;
  readonly to: string;
  readonly relation: 'child' | 'subject';
}

/** Everything a repository holds, and the order to copy it in. */
export interface ImageGraph {
  readonly repositoryName: string;
  readonly takenAt: string;
  /**
   * Every image. The `ACTIVE` ones come first, in copy order: children before their indexes,
   * subjects before their referrers, otherwise by push time. Then the others, by push time.
   */
  readonly images: readonly GraphImage[];
  /** Digests of the images that are `ARCHIVED` or `ACTIVATING`: they cannot be copied until restored. */
  readonly archived: readonly string[];
  /** The blobs of the `ACTIVE` images, de-duplicated, in the order their images are copied. */
  readonly blobs: readonly GraphBlob[];
  /** Foreign layers (with `urls`): not stored in the registry, so not copied. */
  readonly externalBlobs: readonly string[];
  /** Sum of the blob sizes the manifests give. */
  readonly totalBytes: number;
  /** Blobs whose size no manifest gives (Docker v1), left out of `totalBytes`. */
  readonly blobsOfUnknownSize: number;
  readonly danglingReferences: readonly DanglingReference[];
  /** The manifest media types to accept when reading these images back. */
  readonly mediaTypes: readonly string[];
}

/** Options of {@link snapshotImages}. */
export interface SnapshotOptions {
  readonly signal?: AbortSignal;
  readonly retry?: RetryPolicy;
}

const STATUSES = new Set<string>(['ACTIVE', 'ARCHIVED', 'ACTIVATING']);
const statusOf = (detail: ImageDetail): ImageStatus =>
  detail.imageStatus !== undefined && STATUSES.has(detail.imageStatus) ? detail.imageStatus : 'ACTIVE';

/** A minimal binary heap: Kahn's algorithm picks the earliest-pushed ready image next. */
class MinHeap<T> {
  readonly #items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => boolean) {}
  get size(): number {
    return this.#items.length;
  }
  push(item: T): void {
    const a = this.#items;
    a.push(item);
    for (let i = a.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i] as T, a[parent] as T)) break;
      [a[i], a[parent]] = [a[parent] as T, a[i] as T];
      i = parent;
    }
  }
  pop(): T | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l] as T, a[m] as T)) m = l;
        if (r < a.length && this.less(a[r] as T, a[m] as T)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m] as T, a[i] as T];
        i = m;
      }
    }
    return top;
  }
}

interface Draft {
  readonly detail: ImageDetail;
  readonly digest: string;
  readonly index: number;
  readonly pushedMs: number;
  manifest: string | undefined;
  mediaType: string | undefined;
}

/**
 * Orders images so that every child precedes its index and every subject its referrers; among
 * images that are ready, the earliest pushed goes first (lifecycle rules count by push time).
 */
const copyOrder = (drafts: readonly Draft[], deps: ReadonlyMap<string, readonly string[]>): Draft[] => {
  const byDigest = new Map(drafts.map((d) => [d.digest, d]));
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const d of drafts) {
    const own = (deps.get(d.digest) ?? []).filter((x) => byDigest.has(x) && x !== d.digest);
    waiting.set(d.digest, new Set(own).size);
    for (const x of new Set(own)) dependents.set(x, [...(dependents.get(x) ?? []), d.digest]);
  }
  const earlier = (a: Draft, b: Draft): boolean => a.pushedMs < b.pushedMs || (a.pushedMs === b.pushedMs && a.index < b.index);
  const ready = new MinHeap<Draft>(earlier);
  for (const d of drafts) if (waiting.get(d.digest) === 0) ready.push(d);
  const out: Draft[] = [];
  for (let d = ready.pop(); d !== undefined; d = ready.pop()) {
    out.push(d);
    for (const next of dependents.get(d.digest) ?? []) {
      const left = (waiting.get(next) ?? 0) - 1;
      waiting.set(next, left);
      const draft = byDigest.get(next);
      if (left === 0 && draft) ready.push(draft);
    }
  }
  // Content addressing rules out cycles; should one appear anyway, nothing is dropped.
  if (out.length < drafts.length) {
    const placed = new Set(out.map((d) => d.digest));
    out.push(...drafts.filter((d) => !placed.has(d.digest)).sort((a, b) => (earlier(a, b) ? -1 : 1)));
  }
  return out;
};

const buildGraph = (repositoryName: string, takenAt: Date, drafts: readonly Draft[]): ImageGraph => {
  const active = drafts.filter((d) => statusOf(d.detail) === 'ACTIVE');
  const inRepo = new Set(drafts.map((d) => d.digest));
  const refs = new Map(active.map((d) => [d.digest, d.manifest === undefined ? undefined : manifestReferences(d.manifest)]));
  const parents = new Map<string, string[]>();
  const referrers = new Map<string, string[]>();
  const dangling: DanglingReference[] = [];
  const deps = new Map<string, string[]>();
  const subjectOf = (d: Draft): string | undefined => refs.get(d.digest)?.subject ?? d.detail.subjectManifestDigest;
  for (const d of drafts) {
    const children = refs.get(d.digest)?.manifests ?? [];
    const subject = subjectOf(d);
    for (const child of children) {
      if (inRepo.has(child)) parents.set(child, [...(parents.get(child) ?? []), d.digest]);
      else dangling.push({ from: d.digest, to: child, relation: 'child' });
    }
    if (subject !== undefined) {
      if (inRepo.has(subject)) referrers.set(subject, [...(referrers.get(subject) ?? []), d.digest]);
      else dangling.push({ from: d.digest, to: subject, relation: 'subject' });
    }
    deps.set(d.digest, [...children, ...(subject === undefined ? [] : [subject])]);
  }

  const ordered = copyOrder(active, deps);
  const rest = drafts.filter((d) => statusOf(d.detail) !== 'ACTIVE').sort((a, b) => a.pushedMs - b.pushedMs || a.index - b.index);

  const blobs = new Map<string, { size: number | undefined; mediaType: string | undefined; usedBy: string[] }>();
  const external = new Set<string>();
  for (const d of ordered) {
    for (const b of refs.get(d.digest)?.blobs ?? []) {
      if (b.external) {
        external.add(b.digest);
        continue;
      }
      const known = blobs.get(b.digest);
      if (known === undefined) blobs.set(b.digest, { size: b.size, mediaType: b.mediaType, usedBy: [d.digest] });
      else {
        known.usedBy.push(d.digest);
        known.size ??= b.size;
      }
    }
  }
  const graphBlobs = [...blobs].map(([digest, b]): GraphBlob => ({ digest, size: b.size, mediaType: b.mediaType, usedBy: b.usedBy }));

  const image = (d: Draft): GraphImage => {
    const r = refs.get(d.digest);
    return {
      digest: d.digest,
      tags: [...(d.detail.imageTags ?? [])].sort(),
      pushedAt: d.detail.imagePushedAt?.toISOString(),
      status: statusOf(d.detail),
      mediaType: d.mediaType,
      artifactMediaType: d.detail.artifactMediaType,
      sizeInBytes: d.detail.imageSizeInBytes,
      manifest: d.manifest,
      children: r?.manifests ?? [],
      parents: parents.get(d.digest) ?? [],
      subject: subjectOf(d),
      referrers: referrers.get(d.digest) ?? [],
      blobs: (r?.blobs ?? []).filter((b) => !b.external).map((b) => b.digest),
    };
  };
  const mediaTypes = [...new Set([...MANIFEST_MEDIA_TYPES, ...drafts.flatMap((d) => (d.mediaType ? [d.mediaType] : []))])];
  return {
    repositoryName,
    takenAt: takenAt.toISOString(),
    images: [...ordered, ...rest].map(image),
    archived: rest.map((d) => d.digest),
    blobs: graphBlobs,
    externalBlobs: [...external],
    totalBytes: graphBlobs.reduce((sum, b) => sum + (b.size ?? 0), 0),
    blobsOfUnknownSize: graphBlobs.filter((b) => b.size === undefined).length,
    danglingReferences: dangling,
    // acceptedMediaTypes takes at most 100 entries.
    mediaTypes: mediaTypes.slice(0, 100),
  };
};

/**
 * Takes a snapshot of every image in a repository: DescribeImages over every page (tagged,
 * untagged, archived), then every `ACTIVE` manifest by digest with BatchGetImage (100 a call).
 * Archived images are listed, without manifests: they cannot be read until restored.
 *
 * Errors (`error.kind`): `InsecureEndpoint`, `RepositoryNotFound`, `ImagesUnavailable` (ECR listed
 * an image it then could not return), `Aborted`, and the generic AWS kinds.
 *
 * @example
 * ```ts
 * const graph = await snapshotImages(ctx, 'app');
 * if (graph.isOk()) console.log(graph.value.images.length, graph.value.totalBytes);
 * ```
 */
export const snapshotImages = (
  ctx: RegistryContext,
  repositoryName: string,
  options: SnapshotOptions = {},
): ResultAsync<ImageGraph, SnapshotImagesError> => {
  const { signal } = options;
  const policy = options.retry ?? DEFAULT_RETRY;
  const callOptions = { signal };
  const run = async (): Promise<Result<ImageGraph, SnapshotImagesError>> => {
    if (ctx.transportError) return err(ctx.transportError);
    const takenAt = ctx.now();
    const details = await retry(ctx, policy, 'DescribeImages', () => describeImages(ctx, repositoryName, callOptions), { retryable: retriedBeyondSdk('DescribeImages'), signal });
    if (details.isErr()) return err(details.error);

    const drafts = new Map<string, Draft>();
    for (const detail of details.value) {
      if (detail.imageDigest === undefined || drafts.has(detail.imageDigest)) continue;
      drafts.set(detail.imageDigest, {
        detail,
        digest: detail.imageDigest,
        index: drafts.size,
        pushedMs: detail.imagePushedAt?.getTime() ?? Number.MAX_SAFE_INTEGER,
        manifest: undefined,
        mediaType: detail.imageManifestMediaType,
      });
    }
    const readable = [...drafts.values()].filter((d) => statusOf(d.detail) === 'ACTIVE').map((d) => d.digest);
    const accepted = [...new Set([...MANIFEST_MEDIA_TYPES, ...[...drafts.values()].flatMap((d) => (d.mediaType ? [d.mediaType] : []))])].slice(0, 100);
    const batches: string[][] = [];
    for (let i = 0; i < readable.length; i += ECR_BATCH_LIMIT) batches.push(readable.slice(i, i + ECR_BATCH_LIMIT));

    const failures: ImagesUnavailable['failures'][number][] = [];
    const fetched = await runPool(batches, 4, (batch) =>
      retry(ctx, policy, 'BatchGetImage', () => batchGetImages(ctx, repositoryName, batch.map((imageDigest) => ({ imageDigest })), accepted, callOptions), {
        retryable: retriedBeyondSdk('BatchGetImage'),
        signal,
      }).map(({ images, failures: batchFailures }) => {
        failures.push(...batchFailures);
        for (const image of images) {
          const draft = image.imageId?.imageDigest === undefined ? undefined : drafts.get(image.imageId.imageDigest);
          if (draft === undefined || image.imageManifest === undefined) continue;
          draft.manifest = image.imageManifest;
          draft.mediaType = image.imageManifestMediaType ?? draft.mediaType;
        }
      }),
    );
    if (fetched.isErr()) return err(fetched.error);
    const unreturned = readable.filter((digest) => drafts.get(digest)?.manifest === undefined);
    if (failures.length > 0 || unreturned.length > 0) {
      const reported = new Set(failures.map((f) => f.imageDigest));
      const silent = unreturned
        .filter((digest) => !reported.has(digest))
        .map((imageDigest) => ({ imageDigest, imageTag: undefined, failureCode: 'NotReturned', failureReason: undefined }));
      return err({ kind: 'ImagesUnavailable', repositoryName, failures: [...failures, ...silent] });
    }
    return ok(buildGraph(repositoryName, takenAt, [...drafts.values()]));
  };
  return new ResultAsync(run());
};
