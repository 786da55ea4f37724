/**
 * What ECR reads from a manifest: its media type, the blobs and child manifests it needs, and the
 * OCI 1.1 referrer fields. The manifest text itself is never re-serialised (digests are of its bytes).
 */
import { ApiError } from '../core.js';
import { DIGEST } from './input.js';

const MEDIA_TYPES = {
  dockerV1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerV1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerV2: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.dockerList, MEDIA_TYPES.ociIndex];
const SUPPORTED: readonly string[] = Object.values(MEDIA_TYPES);
const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json';

interface BlobReference {
  readonly digest: string;
  readonly mediaType: string | undefined;
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly isIndex: boolean;
  /** Config and layers that must be in the repository (foreign layers excluded). */
  readonly blobs: readonly BlobReference[];
  readonly children: readonly string[];
  readonly subject: string | undefined;
  readonly artifactType: string | undefined;
  /** The config media type, as DescribeImages reports `artifactMediaType`. */
  readonly configMediaType: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
}

/** The misleading error ECR gives for unparsable manifests and for OCI manifests without a media type (aws-facts §6). */
const invalidJson = (): ApiError =>
  new ApiError('InvalidParameterException', "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'");

const invalidManifest = (reason: string): ApiError =>
  new ApiError('InvalidParameterException', `Invalid parameter at 'ImageManifest' failed to satisfy constraint: '${reason}'`);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const descriptorDigest = (value: unknown, where: string): string => {
  if (!isObject(value) || typeof value.digest !== 'string' || !DIGEST.test(value.digest)) {
    throw invalidManifest(`${where} must be a descriptor with a valid digest`);
  }
  return value.digest;
};

const descriptors = (value: unknown, where: string): Record<string, unknown>[] => {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalidManifest(`${where} must be a list`);
  return value.map((item, index) => {
    descriptorDigest(item, `${where}[${String(index)}]`);
    return item as Record<string, unknown>;
  });
};

const stringOrUndefined = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);

const annotationsOf = (value: unknown): Record<string, string> | undefined => {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  return entries.length === 0 ? undefined : Object.fromEntries(entries);
};

/** Parses a manifest pushed with PutImage; `declaredMediaType` is `imageManifestMediaType`. */
export const parseManifest = (text: string, declaredMediaType: string | undefined): ParsedManifest => {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw invalidJson();
  }
  if (!isObject(json)) throw invalidJson();

  const inManifest = stringOrUndefined(json.mediaType);
  if (declaredMediaType !== undefined && inManifest !== undefined && declaredMediaType !== inManifest) {
    throw new ApiError(
      'InvalidParameterException',
      `Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'does not match the manifest mediaType ${inManifest}'`,
    );
  }
  let mediaType = declaredMediaType ?? inManifest;
  if (mediaType === undefined && json.schemaVersion === 1) {
    mediaType = json.signatures === undefined ? MEDIA_TYPES.dockerV1 : MEDIA_TYPES.dockerV1Signed;
  }
  if (mediaType === undefined) throw invalidJson();
  if (!SUPPORTED.includes(mediaType)) throw invalidManifest(`Unsupported manifest media type ${mediaType}`);

  const subject = json.subject === undefined ? undefined : descriptorDigest(json.subject, 'subject');
  const annotations = annotationsOf(json.annotations);
  const explicitArtifactType = stringOrUndefined(json.artifactType);

  if (INDEX_TYPES.includes(mediaType)) {
    const children = descriptors(json.manifests, 'manifests').map((item) => item.digest as string);
    return {
      mediaType, isIndex: true, blobs: [], children, subject, artifactType: explicitArtifactType, configMediaType: undefined, annotations,
    };
  }

  if (mediaType === MEDIA_TYPES.dockerV1 || mediaType === MEDIA_TYPES.dockerV1Signed) {
    const layers = Array.isArray(json.fsLayers) ? (json.fsLayers as unknown[]) : [];
    const blobs = layers.map((layer, index) => {
      if (!isObject(layer) || typeof layer.blobSum !== 'string' || !DIGEST.test(layer.blobSum)) {
        throw invalidManifest(`fsLayers[${String(index)}] must have a valid blobSum`);
      }
      return { digest: layer.blobSum, mediaType: undefined };
    });
    return {
      mediaType, isIndex: false, blobs: unique(blobs), children: [], subject: undefined, artifactType: undefined, configMediaType: undefined, annotations: undefined,
    };
  }

  const config = json.config;
  descriptorDigest(config, 'config');
  const configRecord = config as Record<string, unknown>;
  const configMediaType = stringOrUndefined(configRecord.mediaType);
  // Foreign (non-distributable) layers live elsewhere: ECR does not hold them.
  const layers = descriptors(json.layers, 'layers').filter(
    (layer) => !(Array.isArray(layer.urls) && layer.urls.length > 0) && !String(layer.mediaType).includes('foreign'),
  );
  const blobs: BlobReference[] = [configRecord, ...layers].map((item) => ({
    digest: item.digest as string,
    mediaType: stringOrUndefined(item.mediaType),
  }));
  const artifactType = explicitArtifactType ?? (configMediaType !== OCI_IMAGE_CONFIG && mediaType === MEDIA_TYPES.ociManifest ? configMediaType : undefined);
  return { mediaType, isIndex: false, blobs: unique(blobs), children: [], subject, artifactType, configMediaType, annotations };
};

const unique = (blobs: readonly BlobReference[]): BlobReference[] => {
  const seen = new Set<string>();
  return blobs.filter((blob) => (seen.has(blob.digest) ? false : (seen.add(blob.digest), true)));
};
