/**
 * Layer uploads (strictly sequential parts appended to a file, hashed as they come, encrypted as a
 * stream on completion), availability checks, and pre-signed-style download URLs served by a
 * {@link RawRoute} that decrypts through KMS on every download.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError, type RawRoute } from '../core.js';
import { encryptionContext, imagesUsingBlob, repositoryDirectory, type EcrContext, type Handler } from './context.js';
import { DIGEST } from './input.js';
import { own, type RepositoryRecord, type UploadRecord } from './state.js';
import { EMULATOR_KEY, hashFile } from './storage.js';

/** What InitiateLayerUpload announces as the part size (at ECR's minimum part size). */
export const PART_SIZE = 10_485_760;
/** The model's maximum `layerPartBlob`. */
export const MAX_PART_BYTES = 20_971_520;

/**
 * The part size InitiateLayerUpload announces for a minimum part size: twice the minimum (ECR's
 * 10 MiB at its 5 MiB minimum), at most the model's maximum part.
 */
const announcedPartSize = (minimum: number): number => Math.min(MAX_PART_BYTES, 2 * minimum);

const MIB = 1024 * 1024;
const sizeWords = (bytes: number): string => (bytes % MIB === 0 ? `${String(bytes / MIB)} MiB` : `${String(bytes)} bytes`);
const DOWNLOAD_PATH = '/__ecr-blob/';

const uploadNotFound = (uploadId: string, repository: RepositoryRecord): ApiError =>
  new ApiError(
    'UploadNotFoundException',
    `Upload with id '${uploadId}' is not found in the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
  );

const findUpload = (ecr: EcrContext, repository: RepositoryRecord, uploadId: string): UploadRecord => {
  const upload = own(repository.uploads, uploadId);
  if (upload === undefined || !ecr.store.exists(upload.tempFile)) throw uploadNotFound(uploadId, repository);
  return upload;
};

const initiateLayerUpload: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'InitiateLayerUpload');
  const uploadId = randomUUID();
  const tempFile = `${repositoryDirectory(repository)}/uploads/${uploadId}`;
  mkdirSync(dirname(ecr.store.path(tempFile)), { recursive: true });
  writeFileSync(ecr.store.path(tempFile), Buffer.alloc(0));
  repository.uploads[uploadId] = { uploadId, tempFile, received: 0, partSizes: [] };
  ecr.uploadHashes.set(uploadId, { hash: createHash('sha256'), bytes: 0 });
  return { uploadId, partSize: announcedPartSize(ecr.minimumLayerPartSize) };
};

const uploadLayerPart: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'UploadLayerPart');
  const uploadId = input.string('uploadId');
  const first = input.number('partFirstByte', 0, Number.MAX_SAFE_INTEGER);
  const last = input.number('partLastByte', 0, Number.MAX_SAFE_INTEGER);
  // JSON 1.1 carries blobs as base64.
  const data = Buffer.from(input.string('layerPartBlob'), 'base64');
  const upload = findUpload(ecr, repository, uploadId);
  const invalidPart = (reason: string): ApiError =>
    new ApiError('InvalidLayerPartException', reason, {
      fields: {
        registryId: repository.account,
        repositoryName: repository.name,
        uploadId,
        lastValidByteReceived: upload.received - 1,
      },
    });
  if (data.length === 0 || data.length > MAX_PART_BYTES) {
    throw invalidPart(`The layer part size must be between 1 and ${String(MAX_PART_BYTES)} bytes, got ${String(data.length)}`);
  }
  if (first !== upload.received) {
    throw invalidPart(`The first byte ${String(first)} is not consecutive to the last byte received ${String(upload.received - 1)}`);
  }
  if (last !== first + data.length - 1) {
    throw invalidPart(`partLastByte ${String(last)} does not match the ${String(data.length)} bytes sent from ${String(first)}`);
  }
  appendFileSync(ecr.store.path(upload.tempFile), data);
  const running = ecr.uploadHashes.get(uploadId);
  if (running !== undefined && running.bytes === upload.received) {
    running.hash.update(data);
    running.bytes += data.length;
  }
  upload.received += data.length;
  upload.partSizes.push(data.length);
  return { registryId: repository.account, repositoryName: repository.name, uploadId, lastByteReceived: last };
};

const completeLayerUpload: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'CompleteLayerUpload');
  const uploadId = input.string('uploadId');
  const digests = input.strings('layerDigests', 1, 100, { pattern: DIGEST });
  const upload = findUpload(ecr, repository, uploadId);
  if (upload.received === 0) {
    throw new ApiError('EmptyUploadException', `The upload with id '${uploadId}' does not contain any layer parts`);
  }
  if (upload.partSizes.slice(0, -1).some((size) => size < ecr.minimumLayerPartSize)) {
    throw new ApiError('LayerPartTooSmallException', `Layer parts must be at least ${sizeWords(ecr.minimumLayerPartSize)} in size, except the last one`);
  }
  const digest = uploadDigest(ecr, upload);
  // The emulator computes sha256 only; the first digest given is the layer's.
  const expected = digests[0] ?? '';
  if (expected !== digest) {
    throw new ApiError('InvalidLayerException', `The layer digest calculated for this layer (${digest}) does not match the digest specified (${expected})`);
  }
  if (own(repository.blobs, digest) !== undefined) {
    dropUpload(ecr, repository, upload);
    throw new ApiError(
      'LayerAlreadyExistsException',
      `The layer with digest '${digest}' already exists in the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
    );
  }
  sealUpload(ecr, repository, upload, digest);
  return { registryId: repository.account, repositoryName: repository.name, uploadId, layerDigest: digest };
};

/** The sha256 of what an upload received: its running hash, or the part file rehashed after a restart. */
export const uploadDigest = (ecr: EcrContext, upload: UploadRecord): string => {
  const running = ecr.uploadHashes.get(upload.uploadId);
  ecr.uploadHashes.delete(upload.uploadId);
  const hash = running !== undefined && running.bytes === upload.received ? running.hash : hashFile(ecr.store.path(upload.tempFile));
  return `sha256:${hash.digest('hex')}`;
};

/**
 * Encrypts a finished upload into the repository's blob `digest` with a fresh data key of the
 * repository's key (KMS first: a refused data key leaves the upload as it was), then drops the upload.
 */
export const sealUpload = (ecr: EcrContext, repository: RepositoryRecord, upload: UploadRecord, digest: string): void => {
  const key = ecr.store.dataKey(repository.region, repository.kmsKey ?? EMULATOR_KEY, encryptionContext(repository, 'layer', digest));
  const sealed = ecr.store.sealFile(
    ecr.store.path(upload.tempFile),
    `${repositoryDirectory(repository)}/blobs/${digest.replace(':', '-')}`,
    upload.received,
    key,
  );
  repository.blobs[digest] = { digest, sealed };
  dropUpload(ecr, repository, upload);
};

/** Forgets an upload and removes its part file. */
export const dropUpload = (ecr: EcrContext, repository: RepositoryRecord, upload: UploadRecord): void => {
  delete repository.uploads[upload.uploadId];
  ecr.uploadHashes.delete(upload.uploadId);
  ecr.store.remove(upload.tempFile);
};

const batchCheckLayerAvailability: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'BatchCheckLayerAvailability');
  const digests = input.strings('layerDigests', 1, 100);
  const layers: Record<string, unknown>[] = [];
  const failures: Record<string, unknown>[] = [];
  for (const layerDigest of digests) {
    if (layerDigest === '') {
      failures.push({ layerDigest, failureCode: 'MissingLayerDigest', failureReason: 'The layer digest is missing' });
      continue;
    }
    if (!DIGEST.test(layerDigest)) {
      failures.push({ layerDigest, failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' });
      continue;
    }
    const blob = own(repository.blobs, layerDigest);
    if (blob === undefined) {
      layers.push({ layerDigest, layerAvailability: 'UNAVAILABLE' });
      continue;
    }
    const users = imagesUsingBlob(ecr, repository, layerDigest);
    const archived = users.length > 0 && users.every((image) => image.status !== 'ACTIVE');
    layers.push({
      layerDigest,
      layerAvailability: archived ? 'ARCHIVED' : 'AVAILABLE',
      layerSize: blob.sealed.size,
      ...(blob.mediaType === undefined ? {} : { mediaType: blob.mediaType }),
    });
  }
  return { layers, failures };
};

const getDownloadUrlForLayer: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'GetDownloadUrlForLayer');
  const layerDigest = input.string('layerDigest', { pattern: DIGEST });
  if (own(repository.blobs, layerDigest) === undefined) {
    throw new ApiError('LayersNotFoundException', `The layer with digest '${layerDigest}' was not found in the repository with name '${repository.name}'`);
  }
  const users = imagesUsingBlob(ecr, repository, layerDigest);
  if (users.length === 0) {
    throw new ApiError('LayerInaccessibleException', 'The specified layer is not available because it is not associated with an image');
  }
  if (users.every((image) => image.status !== 'ACTIVE')) {
    throw new ApiError('LayerInaccessibleException', 'The specified layer is only referenced by archived images, which cannot be pulled until restored');
  }
  const now = ecr.now();
  for (const [token, download] of Object.entries(ecr.state.downloads)) {
    if (download.expiresAt < now) delete ecr.state.downloads[token];
  }
  const token = randomBytes(32).toString('hex');
  ecr.state.downloads[token] = {
    account: repository.account,
    region: repository.region,
    repositoryName: repository.name,
    repositoryUuid: repository.uuid,
    digest: layerDigest,
    expiresAt: now + ecr.downloadUrlTtlMs,
  };
  return { downloadUrl: `${ecr.deps.baseUrl()}${DOWNLOAD_PATH}${token}`, layerDigest };
};

export const layerHandlers: Readonly<Record<string, Handler>> = {
  InitiateLayerUpload: initiateLayerUpload,
  UploadLayerPart: uploadLayerPart,
  CompleteLayerUpload: completeLayerUpload,
  BatchCheckLayerAvailability: batchCheckLayerAvailability,
  GetDownloadUrlForLayer: getDownloadUrlForLayer,
};

/**
 * One `Range: bytes=<first>-[<last>]` or `bytes=-<suffix>` (RFC 9110, as S3 GetObject accepts it);
 * undefined for no range or one the server may ignore (several ranges, another unit).
 */
const byteRange = (header: string | undefined, size: number): { readonly start: number; readonly end: number } | 'unsatisfiable' | undefined => {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
};

/** Passes on bytes `start`..`end` (inclusive) of a stream: the plaintext is decrypted from its start, then cut. */
const sliceBytes = (start: number, end: number): Transform => {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      const from = Math.max(start - offset, 0);
      const to = Math.min(end + 1 - offset, chunk.length);
      offset += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
};

/** An S3-style XML error, as a pre-signed S3 URL answers. */
const s3Error = (res: ServerResponse, status: number, code: string, message: string): void => {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

/** `GET|HEAD /__ecr-blob/<token>`: streams the decrypted layer while the link is fresh. */
export const downloadRoute = (ecr: EcrContext): RawRoute => ({
  matches: (method, path) => (method === 'GET' || method === 'HEAD') && path.startsWith(DOWNLOAD_PATH),
  handle: async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const download = own(ecr.state.downloads, path.slice(DOWNLOAD_PATH.length));
    if (download === undefined) return s3Error(res, 403, 'AccessDenied', 'The request signature is not valid');
    if (ecr.now() > download.expiresAt) return s3Error(res, 403, 'AccessDenied', 'Request has expired');
    const repository = ecr.findRepository(download, download.repositoryName);
    const blob = repository?.uuid === download.repositoryUuid ? own(repository.blobs, download.digest) : undefined;
    if (repository === undefined || blob === undefined) return s3Error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    let dataKey: Buffer;
    try {
      dataKey = ecr.store.unsealKey(repository.region, blob.sealed);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // S3 reports KMS failures as KMS.<code>; a denied KMS call is a 403.
      return s3Error(res, error.code === 'AccessDeniedException' ? 403 : 400, `KMS.${error.code}`, error.message);
    }
    const size = blob.sealed.size;
    const range = byteRange(req.headers.range, size);
    if (range === 'unsatisfiable') return s3Error(res, 416, 'InvalidRange', 'The requested range is not satisfiable');
    res.writeHead(range === undefined ? 200 : 206, {
      'content-type': 'application/octet-stream',
      'content-length': range === undefined ? size : range.end - range.start + 1,
      'accept-ranges': 'bytes',
      ...(range === undefined ? {} : { 'content-range': `bytes ${String(range.start)}-${String(range.end)}/${String(size)}` }),
      'x-amz-server-side-encryption': repository.kmsKey === undefined ? 'AES256' : 'aws:kms',
      ...(repository.kmsKey === undefined ? {} : { 'x-amz-server-side-encryption-aws-kms-key-id': repository.kmsKey }),
    });
    if (req.method === 'HEAD') {
      res.end();
      return undefined;
    }
    try {
      const plain = ecr.store.openStream(blob.sealed, dataKey);
      await (range === undefined ? pipeline(plain, res) : pipeline(plain, sliceBytes(range.start, range.end), res));
    } catch {
      // A failed GCM tag or a vanished file: cut the connection so the client sees a broken download.
      res.destroy();
    }
    return undefined;
  },
});
