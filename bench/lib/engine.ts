/**
 * The two ways a repository is migrated in the benchmarks:
 * - the library: `registry.migrateRepository` with an in-memory journal (freeze, snapshot,
 *   staging, copy, verify, delete, recreate, copy back, verify, settings, delete staging);
 * - the floor: the same bytes moved the same number of times (into a staging repository and
 *   back) by a minimal loop through the library's data path at the same concurrency, then one
 *   PutImage per image and tag, with only the repository steps a migration cannot do without:
 *   CreateRepository (staging), DeleteRepository (original), CreateRepository (original),
 *   DeleteRepository (staging). It knows the digests already, so it neither hashes, checks
 *   availability, freezes, verifies, checks grants nor restores settings. Two data paths:
 *   `registry` (the library's default: one GetAuthorizationToken, then per blob
 *   GetDownloadUrlForLayer → download → `/v2/` POST, one streamed PATCH, PUT `?digest=`; see
 *   `registry-floor.ts`) and `api` (the JSON API's fallback: GetDownloadUrlForLayer → download →
 *   InitiateLayerUpload / UploadLayerPart in base64 parts / CompleteLayerUpload), kept as an
 *   informative second figure.
 *
 * `libraryMove` (one pass: snapshot, `copyImages`, `verifyCopy`) is kept for comparisons.
 */
import { get, type IncomingMessage } from 'node:http';
import {
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import type { Result } from 'neverthrow';
import type { RegistryContext } from '../../src/internal/context.js';
import { copyImages } from '../../src/migration/copy.js';
import { memoryJournal } from '../../src/migration/journal.js';
import type { EncryptedRegistry } from '../../src/registry.js';
import { snapshotImages } from '../../src/migration/snapshot.js';
import { verifyCopy } from '../../src/migration/verify.js';
import type { PushedImage } from '../../src/testing/index.js';
import { inParallel, seconds } from './env.js';
import { registryFloorBlob, registryLogin } from './registry-floor.js';

/** What one move did. */
export interface Moved {
  readonly seconds: number;
  /** CPU seconds of this process meanwhile (user + system): the emulator's work included. */
  readonly cpuSeconds: number;
  /** Blob bytes uploaded (a migration uploads every blob twice: into staging and back). */
  readonly bytes: number;
  /** Blob uploads (twice the distinct blobs for a migration). */
  readonly blobs: number;
  readonly images: number;
}

/** The value of a library result; a benchmark of a failure means nothing, so an error throws. */
export const unwrap = <T, E>(result: Result<T, E>, what: string): T => {
  if (result.isErr()) throw new Error(`${what} failed: ${JSON.stringify(result.error, (_k, v: unknown) => (v instanceof Error ? v.message : v))}`);
  return result.value;
};

const cpuSince = (start: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
};

/** The library: snapshot, copy, verify. Throws on any error (a benchmark of a failure means nothing). */
export const libraryMove = async (ctx: RegistryContext, source: string, target: string, concurrency: number): Promise<Moved> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const graph = unwrap(await snapshotImages(ctx, source), 'snapshotImages');
  const report = unwrap(await copyImages(ctx, { source, target, graph, concurrency }), 'copyImages');
  unwrap(await verifyCopy(ctx, { target, graph }), 'verifyCopy');
  return { seconds: seconds(started), cpuSeconds: cpuSince(cpu), bytes: report.bytesCopied, blobs: report.blobsCopied, images: graph.images.length };
};

const download = (url: string): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const request = get(url, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`download answered ${String(response.statusCode)}`));
        return;
      }
      resolve(response);
    });
    request.on('error', reject);
  });

/**
 * The JSON API floor for one blob: URL, download, upload in the parts ECR asks for, complete. One
 * part buffer per blob (no larger than the blob), reused once the SDK is done with it.
 */
const apiFloorBlob = async (ecr: ECRClient, source: string, target: string, digest: string): Promise<number> => {
  const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: source, layerDigest: digest }));
  if (!downloadUrl) throw new Error('no download URL');
  const body = await download(downloadUrl);
  const { uploadId, partSize = 10 * 1024 * 1024 } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: target }));
  const length = Number(body.headers['content-length'] ?? partSize);
  const part = Buffer.allocUnsafe(Math.min(partSize, length));
  let filled = 0;
  let sent = 0;
  const flush = async (): Promise<void> => {
    await ecr.send(
      new UploadLayerPartCommand({ repositoryName: target, uploadId, partFirstByte: sent, partLastByte: sent + filled - 1, layerPartBlob: part.subarray(0, filled) }),
    );
    sent += filled;
    filled = 0;
  };
  for await (const chunk of body as AsyncIterable<Buffer>) {
    for (let offset = 0; offset < chunk.length; ) {
      const n = Math.min(part.length - filled, chunk.length - offset);
      chunk.copy(part, filled, offset, offset + n);
      filled += n;
      offset += n;
      if (filled === part.length) await flush();
    }
  }
  if (filled > 0) await flush();
  await ecr.send(new CompleteLayerUploadCommand({ repositoryName: target, uploadId, layerDigests: [digest] }));
  return sent;
};

/** How the floor copies one blob from `source` to `target`; resolves with the bytes moved. */
type FloorBlob = (source: string, target: string, digest: string) => Promise<number>;

/** The floor's data path: the registry API (the library's default) or the JSON API (its fallback). */
export type FloorPath = { readonly kind: 'registry'; readonly origin: string } | { readonly kind: 'api' };

/**
 * The floor: every blob at `concurrency`; meanwhile every image's manifest (one PutImage per tag),
 * `concurrency` images at once, each as soon as its own blobs are in (the library overlaps its
 * manifests with the blob transfers too, one at a time).
 */
const floorMove = async (
  ecr: ECRClient,
  source: string,
  target: string,
  images: readonly PushedImage[],
  concurrency: number,
  blob: FloorBlob,
): Promise<Moved> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const digests = [...new Set(images.flatMap((i) => i.blobs.map((b) => b.digest)))];
  // One settled-when-copied promise per blob, so a manifest waits for its own blobs only.
  const copied = new Map<string, { readonly done: Promise<void>; settle: (error?: Error) => void }>();
  for (const digest of digests) {
    let settle: (error?: Error) => void = () => undefined;
    const done = new Promise<void>((resolve, reject) => {
      settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    // A failure surfaces through the blob lanes; a manifest waiting for it only stops.
    done.catch(() => undefined);
    copied.set(digest, { done, settle });
  }
  const lanes = inParallel(digests, concurrency, async (digest) => {
    try {
      const bytes = await blob(source, target, digest);
      copied.get(digest)?.settle();
      return bytes;
    } catch (error) {
      copied.get(digest)?.settle(error instanceof Error ? error : new Error('blob copy failed'));
      throw error;
    }
  });
  const blobIn = (digest: string): Promise<void> => copied.get(digest)?.done ?? Promise.resolve();
  const manifests = inParallel(images, concurrency, async (image) => {
    for (const b of image.blobs) await blobIn(b.digest);
    for (const imageTag of image.tags.length > 0 ? image.tags : [undefined]) {
      await ecr.send(
        new PutImageCommand({
          repositoryName: target,
          imageManifest: image.manifest,
          imageManifestMediaType: image.mediaType,
          imageDigest: image.digest,
          ...(imageTag === undefined ? {} : { imageTag }),
        }),
      );
    }
  });
  const [sizes] = await Promise.all([lanes, manifests]);
  return { seconds: seconds(started), cpuSeconds: cpuSince(cpu), bytes: sizes.reduce((a, b) => a + b, 0), blobs: digests.length, images: images.length };
};

/** What a migration moved, besides time. */
export interface Migrated extends Moved {
  /** Milliseconds per migration step (library only). */
  readonly steps?: Readonly<Record<string, number>>;
}

/**
 * The library: `migrateRepository` of `repositoryName` to KMS with `key`, in-memory journal.
 * Every blob is uploaded twice (staging, then back), so `bytes` is twice the repository's.
 */
export const libraryMigration = async (registry: EncryptedRegistry, repositoryName: string, key: string, concurrency: number): Promise<Migrated> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const result = unwrap(
    await registry.migrateRepository({ repositoryName, encryption: { type: 'KMS', key }, journal: memoryJournal(), concurrency }),
    'migrateRepository',
  );
  if (!result.changed) throw new Error(`${repositoryName} already had the target encryption: nothing was migrated`);
  return {
    seconds: seconds(started),
    cpuSeconds: cpuSince(cpu),
    bytes: 2 * result.counts.bytes,
    blobs: 2 * result.counts.blobs,
    images: result.counts.images,
    steps: result.steps,
  };
};

/**
 * The floor of a migration: (registry path) one registry login, create a staging repository under
 * `key`, floor-move every blob and manifest into it, delete the original, recreate it under `key`,
 * floor-move everything back, delete the staging repository.
 */
export const floorMigration = async (
  ecr: ECRClient,
  repositoryName: string,
  images: readonly PushedImage[],
  key: string,
  concurrency: number,
  path: FloorPath,
): Promise<Migrated> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  let blob: FloorBlob = (source, target, digest) => apiFloorBlob(ecr, source, target, digest);
  if (path.kind === 'registry') {
    const login = await registryLogin(ecr, path.origin);
    blob = (source, target, digest) => registryFloorBlob(ecr, login, source, target, digest);
  }
  const staging = `${repositoryName}-floor-staging`;
  const create = (name: string): Promise<unknown> =>
    ecr.send(new CreateRepositoryCommand({ repositoryName: name, encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key } }));
  await create(staging);
  const there = await floorMove(ecr, repositoryName, staging, images, concurrency, blob);
  await ecr.send(new DeleteRepositoryCommand({ repositoryName, force: true }));
  await create(repositoryName);
  const back = await floorMove(ecr, staging, repositoryName, images, concurrency, blob);
  await ecr.send(new DeleteRepositoryCommand({ repositoryName: staging, force: true }));
  return { seconds: seconds(started), cpuSeconds: cpuSince(cpu), bytes: there.bytes + back.bytes, blobs: there.blobs + back.blobs, images: images.length };
};
