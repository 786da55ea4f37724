/**
 * Blobs on the registry API, in the same store as ECR's layer API: an upload is an ECR layer upload
 * (its part file, its running sha256), sealed on completion with a fresh data key of the
 * repository's key, exactly as CompleteLayerUpload does. Bodies are streamed to the part file,
 * never held whole in memory.
 *
 * Actions (ECR user guide, "IAM permissions for pushing an image" and "… pulling an image"): POST
 * `ecr:InitiateLayerUpload`, PATCH `ecr:UploadLayerPart`, PUT `ecr:CompleteLayerUpload` (and
 * `ecr:UploadLayerPart` when it carries bytes), HEAD `ecr:BatchCheckLayerAvailability`, GET
 * `ecr:GetDownloadUrlForLayer` (answered with a redirect to the emulator's pre-signed-style URL,
 * as ECR redirects to S3). A cross-repository mount needs `ecr:GetDownloadUrlForLayer` on the
 * source repository (ECR user guide, "Blob mounting").
 */
import { createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiError } from '../core.js';
import { repositoryArn, type EcrContext } from '../ecr/context.js';
import { DIGEST, REPOSITORY_NAME } from '../ecr/input.js';
import { dropUpload, layerHandlers, sealUpload, uploadDigest } from '../ecr/layers.js';
import { own, type RepositoryRecord, type UploadRecord } from '../ecr/state.js';
import { declaredLength } from '../http-body.js';
import { ecrInput, RegistryError, sendEmpty, viaEcr, type RegistryCall } from './wire.js';

/** ECR's largest layer: 52,000 MiB (ECR service quotas, "Layer size"). */
const MAX_LAYER_BYTES = 52_000 * 1024 * 1024;

const blobUnknown = (digest: string): RegistryError => new RegistryError(404, 'BLOB_UNKNOWN', `The blob ${digest} is not known to this repository`);

const uploadUnknown = (uploadId: string): RegistryError =>
  new RegistryError(404, 'BLOB_UPLOAD_UNKNOWN', `Upload with id '${uploadId}' is not found`);

/** Uploads a request is appending to right now: a second request on the same one is refused. */
const busy = new WeakMap<EcrContext, Set<string>>();
const busyUploads = (ecr: EcrContext): Set<string> => {
  const existing = busy.get(ecr);
  if (existing !== undefined) return existing;
  const created = new Set<string>();
  busy.set(ecr, created);
  return created;
};

const uploadHeaders = (call: RegistryCall, upload: UploadRecord): Record<string, string> => ({
  location: `/v2/${call.name}/blobs/uploads/${upload.uploadId}`,
  'docker-upload-uuid': upload.uploadId,
  // "Range: 0-<offset>" (distribution spec), the last byte received; 0-0 before the first.
  range: `0-${String(Math.max(upload.received - 1, 0))}`,
});

/** `HEAD /v2/<name>/blobs/<digest>` (`ecr:BatchCheckLayerAvailability`). */
export const headBlob = (call: RegistryCall, digest: string): void => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'BatchCheckLayerAvailability'));
  const blob = own(repository.blobs, digest);
  if (blob === undefined) throw blobUnknown(digest);
  sendEmpty(call.res, 200, {
    'content-length': String(blob.sealed.size),
    'content-type': 'application/octet-stream',
    'docker-content-digest': digest,
  });
};

/**
 * `GET /v2/<name>/blobs/<digest>` (`ecr:GetDownloadUrlForLayer`): a 307 to a pre-signed-style URL
 * of this emulator (ECR answers with a redirect to S3), which streams the decrypted blob and
 * honours `Range`.
 */
export const getBlob = (call: RegistryCall, digest: string): void => {
  if (!DIGEST.test(digest)) throw new RegistryError(400, 'DIGEST_INVALID', `Invalid digest ${digest}`);
  const answer = viaEcr(() => layerHandlers.GetDownloadUrlForLayer?.(call.ecr, ecrInput(call, { layerDigest: digest }), call.ctx), {
    code: 'BLOB_UNKNOWN',
    message: `The blob ${digest} is not known to this repository, or no image uses it`,
  }) as { downloadUrl: string };
  sendEmpty(call.res, 307, { location: answer.downloadUrl, 'docker-content-digest': digest });
};

/** Streams the request body onto the end of an upload's part file, updating its running hash. */
const appendBody = async (call: RegistryCall, repository: RepositoryRecord, upload: UploadRecord): Promise<number> => {
  const { ecr } = call;
  const length = declaredLength(call.req.headers);
  if (length !== undefined && upload.received + length > MAX_LAYER_BYTES) {
    throw new RegistryError(413, 'SIZE_INVALID', `A layer may not exceed ECR's ${String(MAX_LAYER_BYTES)} bytes`);
  }
  const running = ecr.uploadHashes.get(upload.uploadId);
  const hashing = running !== undefined && running.bytes === upload.received ? running : undefined;
  let added = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      added += chunk.length;
      if (upload.received + added > MAX_LAYER_BYTES) {
        done(new RegistryError(413, 'SIZE_INVALID', `A layer may not exceed ECR's ${String(MAX_LAYER_BYTES)} bytes`));
        return;
      }
      hashing?.hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(call.req, meter, createWriteStream(ecr.store.path(upload.tempFile), { flags: 'a' }));
  } catch (error) {
    // What reached the file is unknown: the upload cannot go on.
    dropUpload(ecr, repository, upload);
    throw error instanceof RegistryError ? error : new RegistryError(400, 'BLOB_UPLOAD_INVALID', 'The upload was interrupted; start a new one');
  }
  if (hashing !== undefined) hashing.bytes += added;
  upload.received += added;
  if (added > 0) upload.partSizes.push(added);
  return added;
};

/** The upload a path names, held for this request (refused while another request appends to it). */
const holdUpload = (call: RegistryCall, repository: RepositoryRecord, uploadId: string): UploadRecord => {
  const upload = own(repository.uploads, uploadId);
  if (upload === undefined || !call.ecr.store.exists(upload.tempFile)) throw uploadUnknown(uploadId);
  const held = busyUploads(call.ecr);
  // GUESS: the spec does not say how a registry answers two requests on one upload at once.
  if (held.has(uploadId)) throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', `Upload ${uploadId} is receiving another request`, { range: `0-${String(Math.max(upload.received - 1, 0))}` });
  held.add(uploadId);
  return upload;
};

const release = (call: RegistryCall, uploadId: string): void => {
  busyUploads(call.ecr).delete(uploadId);
};

/** Seals a finished upload as `expected` (or drops it when the blob is already there); 201. */
const complete = (call: RegistryCall, repository: RepositoryRecord, upload: UploadRecord, expected: string): void => {
  const digest = uploadDigest(call.ecr, upload);
  if (digest !== expected) {
    dropUpload(call.ecr, repository, upload);
    throw new RegistryError(400, 'DIGEST_INVALID', `The layer digest calculated for this layer (${digest}) does not match the digest specified (${expected})`);
  }
  if (own(repository.blobs, digest) === undefined) {
    viaEcr(() => sealUpload(call.ecr, repository, upload, digest));
  } else {
    dropUpload(call.ecr, repository, upload);
  }
  sendEmpty(call.res, 201, { location: `/v2/${call.name}/blobs/${digest}`, 'docker-content-digest': digest });
};

const startUpload = (call: RegistryCall): { readonly repository: RepositoryRecord; readonly upload: UploadRecord } => {
  const { uploadId } = viaEcr(() => layerHandlers.InitiateLayerUpload?.(call.ecr, ecrInput(call), call.ctx)) as { uploadId: string };
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'InitiateLayerUpload'));
  const upload = own(repository.uploads, uploadId);
  if (upload === undefined) throw new RegistryError(500, 'UNKNOWN', 'InitiateLayerUpload left no upload');
  return { repository, upload };
};

/**
 * Mounts `digest` from repository `from` of the same registry when ECR would (ECR user guide,
 * "Blob mounting": same registry, identical encryption type and key, `ecr:GetDownloadUrlForLayer`
 * on the source). The emulator behaves as if the registry's `BLOB_MOUNTING` account setting were
 * ENABLED (it does not emulate account settings). The blob is re-sealed under this repository's
 * encryption context: ECR's grant for a repository decrypts only under its own `aws:ecr:arn`.
 */
const tryMount = async (call: RegistryCall, target: RepositoryRecord, digest: string, from: string): Promise<boolean> => {
  if (!DIGEST.test(digest) || !REPOSITORY_NAME.test(from)) return false;
  const source = call.ecr.findRepository(call.ref, from);
  const blob = source === undefined ? undefined : own(source.blobs, digest);
  if (source === undefined || blob === undefined) return false;
  if (source.encryptionType !== target.encryptionType || source.kmsKey !== target.kmsKey) return false;
  try {
    call.ecr.authorize(call.ctx, 'GetDownloadUrlForLayer', repositoryArn(source.region, source.account, source.name), call.ref, source);
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
  if (own(target.blobs, digest) !== undefined) return true;
  const { repository, upload } = startUpload(call);
  try {
    const plain = call.ecr.store.openStream(blob.sealed, viaEcr(() => call.ecr.store.unsealKey(source.region, blob.sealed)));
    await pipeline(plain, createWriteStream(call.ecr.store.path(upload.tempFile)));
    upload.received = blob.sealed.size;
    call.ecr.uploadHashes.delete(upload.uploadId);
    if (uploadDigest(call.ecr, upload) !== digest) throw new RegistryError(500, 'UNKNOWN', `The stored blob ${digest} of ${from} does not match its digest`);
    viaEcr(() => sealUpload(call.ecr, repository, upload, digest));
    return true;
  } catch (error) {
    if (own(repository.uploads, upload.uploadId) !== undefined) dropUpload(call.ecr, repository, upload);
    throw error;
  }
};

/**
 * `POST /v2/<name>/blobs/uploads/[?digest=|?mount=&from=]`: starts an upload (202 with its
 * `Location`), uploads a whole blob at once (`?digest=`, 201), or mounts one (201; 202 and a
 * plain upload when ECR would not mount it, as the spec allows).
 */
export const postUpload = async (call: RegistryCall): Promise<void> => {
  const mount = call.query.get('mount');
  const from = call.query.get('from');
  if (mount !== null && from !== null) {
    const target = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'InitiateLayerUpload'));
    if (await tryMount(call, target, mount, from)) {
      sendEmpty(call.res, 201, { location: `/v2/${call.name}/blobs/${mount}`, 'docker-content-digest': mount });
      return;
    }
  }
  const digest = call.query.get('digest');
  const { repository, upload } = startUpload(call);
  if (digest === null) {
    sendEmpty(call.res, 202, uploadHeaders(call, upload));
    return;
  }
  viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'UploadLayerPart'));
  viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'CompleteLayerUpload'));
  holdUpload(call, repository, upload.uploadId);
  try {
    await appendBody(call, repository, upload);
    complete(call, repository, upload, digest);
  } finally {
    release(call, upload.uploadId);
  }
};

/** `PATCH /v2/<name>/blobs/uploads/<id>` (`ecr:UploadLayerPart`): one chunk, in order (`Content-Range` checked when sent). */
export const patchUpload = async (call: RegistryCall, uploadId: string): Promise<void> => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'UploadLayerPart'));
  const upload = holdUpload(call, repository, uploadId);
  try {
    const range = call.req.headers['content-range'];
    if (range !== undefined) {
      const match = /^(?:bytes )?(\d+)-(\d+)$/.exec(range.trim());
      if (match === null || Number(match[1]) !== upload.received) {
        // Distribution spec: an out-of-order chunk is 416 Requested Range Not Satisfiable.
        throw new RegistryError(416, 'BLOB_UPLOAD_INVALID', `The chunk must start at byte ${String(upload.received)}`, uploadHeaders(call, upload));
      }
    }
    await appendBody(call, repository, upload);
    sendEmpty(call.res, 202, uploadHeaders(call, upload));
  } finally {
    release(call, uploadId);
  }
};

/** `PUT /v2/<name>/blobs/uploads/<id>?digest=` (`ecr:CompleteLayerUpload`, plus `ecr:UploadLayerPart` for a final chunk). */
export const putUpload = async (call: RegistryCall, uploadId: string): Promise<void> => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'CompleteLayerUpload'));
  const digest = call.query.get('digest');
  if (digest === null || !DIGEST.test(digest)) throw new RegistryError(400, 'DIGEST_INVALID', 'A digest query parameter is required');
  const upload = holdUpload(call, repository, uploadId);
  try {
    const length = declaredLength(call.req.headers);
    if (length !== 0) {
      if (length !== undefined || call.req.headers['transfer-encoding'] !== undefined) {
        viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'UploadLayerPart'));
      }
      await appendBody(call, repository, upload);
    }
    complete(call, repository, upload, digest);
  } finally {
    release(call, uploadId);
  }
};

/** `GET /v2/<name>/blobs/uploads/<id>`: where the upload stands (204 with `Range`). GUESS: authorized as `ecr:UploadLayerPart`. */
export const uploadStatus = (call: RegistryCall, uploadId: string): void => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'UploadLayerPart'));
  const upload = own(repository.uploads, uploadId);
  if (upload === undefined) throw uploadUnknown(uploadId);
  sendEmpty(call.res, 204, uploadHeaders(call, upload));
};

/** `DELETE /v2/<name>/blobs/uploads/<id>`: cancels it (204). GUESS: authorized as `ecr:UploadLayerPart`. */
export const cancelUpload = (call: RegistryCall, uploadId: string): void => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'UploadLayerPart'));
  const upload = holdUpload(call, repository, uploadId);
  try {
    dropUpload(call.ecr, repository, upload);
  } finally {
    release(call, uploadId);
  }
  sendEmpty(call.res, 204, {});
};

