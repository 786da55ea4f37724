/**
 * Manifests, tags and referrers on the registry API, over the same images the ECR JSON API lists:
 * a manifest PUT is ECR's PutImage (so `ecr:PutImage`, the same checks, the same encrypted store),
 * a pull is authorized as `ecr:BatchGetImage`, a DELETE as `ecr:BatchDeleteImage`, `tags/list` as
 * `ecr:ListImages`, and the referrers API as ECR's ListImageReferrers (`ecr:BatchGetImage`).
 */
import { createHash } from 'node:crypto';
import { ApiError } from '../core.js';
import { imageHandlers } from '../ecr/images.js';
import { pullThroughCache } from '../ecr/on-behalf.js';
import { DIGEST } from '../ecr/input.js';
import { own, type ImageRecord, type RepositoryRecord } from '../ecr/state.js';
import { readBody } from '../http-body.js';
import { API_VERSION_HEADER, ecrInput, fromApiError, RegistryError, sendEmpty, sendJson, viaEcr, type RegistryCall } from './wire.js';

/** ECR's `ImageManifest` maximum (4 MiB, the API model), also the registry's. */
const MAX_MANIFEST = 4_194_304;

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

/** The manifest media types ECR stores (the emulator's `parseManifest` list). */
const MANIFEST_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX,
];

const isDigest = (reference: string): boolean => reference.includes(':');

const manifestUnknown = (reference: string, call: RegistryCall): RegistryError =>
  new RegistryError(404, 'MANIFEST_UNKNOWN', `Requested image not found: ${call.name}@${reference}`);

/** The image a tag or digest names, or the registry's 404. */
const findImage = (call: RegistryCall, repository: RepositoryRecord, reference: string): ImageRecord => {
  const image = isDigest(reference)
    ? own(repository.images, reference)
    : Object.values(repository.images).find((candidate) => candidate.tags.includes(reference));
  if (image === undefined) throw manifestUnknown(reference, call);
  return call.ecr.settle(image);
};

/** The media types an `Accept` header lists (parameters such as `q` dropped). */
const acceptedTypes = (header: string | string[] | undefined): string[] =>
  (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((part) => part.split(';')[0]?.trim().toLowerCase() ?? '')
    .filter((type) => type !== '');

/**
 * `GET|HEAD /v2/<name>/manifests/<tag|digest>` (`ecr:BatchGetImage`). Content negotiation: the
 * stored manifest is served as is (its bytes are its digest) when `Accept` lists its media type,
 * `*\/*`, or nothing; otherwise 404 `MANIFEST_UNKNOWN` in the words of the reference registry
 * ("OCI index found, but accept header does not support OCI indexes"). ECR converts a Docker v2
 * manifest to schema 1 for clients that accept only that; the emulator does not (GUESS-free: it
 * refuses instead of inventing bytes).
 */
export const getManifest = (call: RegistryCall, reference: string): void => {
  // A pull-through cache rule's prefix: the first pull creates the repository and caches the image.
  viaEcr(() => pullThroughCache(call.ecr, call.ref, call.name, reference, call.ctx));
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'BatchGetImage'));
  const image = findImage(call, repository, reference);
  if (image.status !== 'ACTIVE') {
    // GUESS: ECR answers BatchGetImage with ImageInaccessible; on the registry API a 404 is what a client can act on.
    throw new RegistryError(404, 'MANIFEST_UNKNOWN', `The image ${image.digest} is ${image.status.toLowerCase()} and cannot be pulled until it is restored`);
  }
  const accepted = acceptedTypes(call.req.headers.accept);
  if (accepted.length > 0 && !accepted.includes('*/*') && !accepted.includes(image.mediaType)) {
    const what = image.mediaType === OCI_INDEX ? 'OCI index' : image.mediaType;
    throw new RegistryError(404, 'MANIFEST_UNKNOWN', `${what} found, but accept header does not support it (${image.mediaType})`);
  }
  const bytes = viaEcr(() => call.ecr.store.openBuffer(image.sealed, call.ecr.store.unsealKey(repository.region, image.sealed)));
  const head = call.req.method === 'HEAD';
  if (!head) image.lastPulledAt = call.ecr.now();
  call.res.writeHead(200, {
    ...API_VERSION_HEADER,
    'content-type': image.mediaType,
    'content-length': String(bytes.length),
    'docker-content-digest': image.digest,
  });
  call.res.end(head ? undefined : bytes);
};

/**
 * `PUT /v2/<name>/manifests/<tag|digest>`: ECR's PutImage with the exact bytes sent (so its digest,
 * reference, tag-mutability and blob checks apply). Pushing what is already there (same digest,
 * same tag) is not an error on the registry API, as `docker push` of an unchanged image shows.
 */
export const putManifest = async (call: RegistryCall, reference: string): Promise<void> => {
  const body = await readBody(call.req, MAX_MANIFEST);
  if (body === undefined) throw new RegistryError(413, 'MANIFEST_INVALID', `The manifest exceeds ECR's ${String(MAX_MANIFEST)} bytes`);
  const text = body.toString('utf8');
  if (!Buffer.from(text, 'utf8').equals(body)) throw new RegistryError(400, 'MANIFEST_INVALID', 'The manifest is not UTF-8 JSON');
  const contentType = String(call.req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
  const byDigest = isDigest(reference);
  if (byDigest && !DIGEST.test(reference)) throw new RegistryError(400, 'DIGEST_INVALID', `Invalid digest ${reference}`);
  const input = ecrInput(call, {
    imageManifest: text,
    ...(MANIFEST_TYPES.includes(contentType) ? { imageManifestMediaType: contentType } : {}),
    ...(byDigest ? { imageDigest: reference } : { imageTag: reference }),
  });
  // PutImage digests the exact bytes; so does the registry.
  const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  try {
    imageHandlers.PutImage?.(call.ecr, input, call.ctx);
  } catch (error) {
    // Already there with this tag (or untagged, by digest): the push is done.
    if (error instanceof ApiError && (error.code === 'LayersNotFoundException' || error.code === 'ReferencedImagesNotFoundException')) {
      throw new RegistryError(400, 'MANIFEST_BLOB_UNKNOWN', error.message);
    }
    if (!(error instanceof ApiError) || error.code !== 'ImageAlreadyExistsException') throw fromApiError(error);
  }
  const subject = call.ecr.findRepository(call.ref, call.name)?.images[digest]?.subject;
  sendEmpty(call.res, 201, {
    location: `/v2/${call.name}/manifests/${digest}`,
    'docker-content-digest': digest,
    // Distribution spec 1.1: a registry that serves the referrers API says so on a manifest with a subject.
    ...(subject === undefined ? {} : { 'oci-subject': subject }),
  });
};

/**
 * `DELETE /v2/<name>/manifests/<tag|digest>`: ECR's BatchDeleteImage of that one image id
 * (`ecr:BatchDeleteImage`): by digest the image goes, by tag only the tag (the image too when it
 * was its last tag), as the JSON API does. 202 as the spec says.
 */
export const deleteManifest = (call: RegistryCall, reference: string): void => {
  const imageId = isDigest(reference) ? { imageDigest: reference } : { imageTag: reference };
  const result = viaEcr(() => imageHandlers.BatchDeleteImage?.(call.ecr, ecrInput(call, { imageIds: [imageId] }), call.ctx)) as {
    failures: { failureCode: string; failureReason: string }[];
  };
  const failure = result.failures[0];
  if (failure !== undefined) {
    if (failure.failureCode === 'ImageNotFound') throw manifestUnknown(reference, call);
    // GUESS: the spec has no code for "still referenced by an index"; 409 DENIED says it cannot go.
    throw new RegistryError(failure.failureCode === 'ImageReferencedByManifestList' ? 409 : 400, failure.failureCode === 'ImageReferencedByManifestList' ? 'DENIED' : 'MANIFEST_INVALID', failure.failureReason);
  }
  sendEmpty(call.res, 202, {});
};

/**
 * `GET /v2/<name>/tags/list[?n=&last=]` (`ecr:ListImages`): the tags of the repository's ACTIVE
 * images in lexical order, `n` at a time after `last`, with a `Link: <…>; rel="next"` header while
 * more remain (distribution spec, "Content Discovery").
 */
export const listTags = (call: RegistryCall): void => {
  const repository = viaEcr(() => call.ecr.repositoryFor(ecrInput(call), call.ctx, 'ListImages'));
  const last = call.query.get('last');
  const nText = call.query.get('n');
  const n = nText === null ? undefined : Number(nText);
  if (n !== undefined && (!Number.isSafeInteger(n) || n < 0)) throw new RegistryError(400, 'PAGINATION_NUMBER_INVALID', `n=${String(nText)} is not a count`);
  const all = call.ecr
    .images(repository)
    .filter((image) => image.status === 'ACTIVE')
    .flatMap((image) => image.tags)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .filter((tag) => last === null || tag > last);
  const tags = n === undefined ? all : all.slice(0, n);
  const more = n !== undefined && n > 0 && all.length > n;
  const lastTag = tags[tags.length - 1];
  sendJson(call.req, call.res, { name: call.name, tags }, more && lastTag !== undefined
    ? { link: `</v2/${call.name}/tags/list?n=${String(n)}&last=${encodeURIComponent(lastTag)}>; rel="next"` }
    : {});
};

/**
 * `GET /v2/<name>/referrers/<digest>[?artifactType=]`: an OCI image index of the manifests whose
 * `subject` is `digest` (ECR's ListImageReferrers, `ecr:BatchGetImage`), empty when there are none
 * or the subject does not exist (distribution spec 1.1, "Listing Referrers"), with
 * `OCI-Filters-Applied: artifactType` when filtered.
 */
export const listReferrers = (call: RegistryCall, digest: string): void => {
  if (!DIGEST.test(digest)) throw new RegistryError(400, 'DIGEST_INVALID', `Invalid digest ${digest}`);
  const artifactType = call.query.get('artifactType');
  const result = viaEcr(() =>
    imageHandlers.ListImageReferrers?.(
      call.ecr,
      ecrInput(call, { subjectId: { imageDigest: digest }, maxResults: 50, ...(artifactType === null ? {} : { filter: { artifactTypes: [artifactType] } }) }),
      call.ctx,
    ),
  ) as { referrers: { digest: string; mediaType: string; artifactType?: string; size: number; annotations?: Record<string, string> }[] };
  const manifests = result.referrers.map((referrer) => ({
    mediaType: referrer.mediaType,
    digest: referrer.digest,
    size: referrer.size,
    ...(referrer.artifactType === undefined ? {} : { artifactType: referrer.artifactType }),
    ...(referrer.annotations === undefined ? {} : { annotations: referrer.annotations }),
  }));
  sendJson(call.req, call.res, { schemaVersion: 2, mediaType: OCI_INDEX, manifests }, {
    'content-type': OCI_INDEX,
    ...(artifactType === null ? {} : { 'oci-filters-applied': 'artifactType' }),
  });
};
