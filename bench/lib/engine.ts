/**
 * The two ways bytes are moved in the benchmarks:
 * - the library: a snapshot of the source, `copyImages` into a target with other encryption, and
 *   the verification of the copy (what one pass of a migration does);
 * - the floor: a minimal loop over the same blobs through the same HTTP data path
 *   (GetDownloadUrlForLayer → download → InitiateLayerUpload / UploadLayerPart /
 *   CompleteLayerUpload) at the same concurrency, then one PutImage per image and tag. It knows
 *   the digests already, so it neither hashes, checks availability, nor verifies.
 */
import { get, type IncomingMessage } from 'node:http';
import {
  CompleteLayerUploadCommand,
  type ECRClient,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import type { Result } from 'neverthrow';
import type { RegistryContext } from '../../src/internal/context.js';
import { copyImages } from '../../src/migrate/copy.js';
import { snapshotImages } from '../../src/migrate/snapshot.js';
import { verifyCopy } from '../../src/migrate/verify.js';
import type { PushedImage } from '../../src/testing/index.js';
import { inParallel, seconds } from './env.js';

/** What one move did. */
export interface Moved {
  readonly seconds: number;
  /** CPU seconds of this process meanwhile (user + system): the emulator's work included. */
  readonly cpuSeconds: number;
  readonly bytes: number;
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
 * The floor for one blob: URL, download, upload in the parts ECR asks for, complete. One part
 * buffer per blob (no larger than the blob), reused once the SDK is done with it.
 */
const floorBlob = async (ecr: ECRClient, source: string, target: string, digest: string): Promise<number> => {
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

/** The floor: every blob at `concurrency`, then every image's manifest (one PutImage per tag) at `concurrency`. */
export const floorMove = async (
  ecr: ECRClient,
  source: string,
  target: string,
  images: readonly PushedImage[],
  concurrency: number,
): Promise<Moved> => {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const digests = [...new Set(images.flatMap((i) => i.blobs.map((b) => b.digest)))];
  const sizes = await inParallel(digests, concurrency, (digest) => floorBlob(ecr, source, target, digest));
  await inParallel(images, concurrency, async (image) => {
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
  return { seconds: seconds(started), cpuSeconds: cpuSince(cpu), bytes: sizes.reduce((a, b) => a + b, 0), blobs: digests.length, images: images.length };
};
