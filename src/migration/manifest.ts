/**
 * Reads what a manifest references: its config and layer blobs, the manifests an index lists, and
 * its OCI 1.1 `subject`. Manifests are parsed only to read these; the bytes that are copied are
 * always the original string.
 */
import { createHash } from 'node:crypto';

/** A blob a manifest references, with what the manifest says of it. */
interface BlobReference {
  readonly digest: string;
  /** From the descriptor; Docker v1 manifests give none. */
  readonly size: number | undefined;
  readonly mediaType: string | undefined;
  /**
   * Foreign (non-distributable) layers with `urls` are not stored in the registry: they are
   * fetched from their URLs, so there is nothing to copy.
   */
  readonly external: boolean;
}

/** What one manifest references. */
export interface ManifestReferences {
  /** Config first, then layers in manifest order; duplicates removed. */
  readonly blobs: readonly BlobReference[];
  /** Manifests an index (manifest list) lists, in order. */
  readonly manifests: readonly string[];
  /** The OCI 1.1 subject this manifest refers to. */
  readonly subject: string | undefined;
  /** `false` when the manifest is not JSON: it then references nothing we can see. */
  readonly parsed: boolean;
}

/** Docker v1 manifests carry a JWS signature: their digest is not the sha256 of the stored bytes. */
export const isDockerV1 = (mediaType: string | undefined, manifest: string): boolean =>
  mediaType === 'application/vnd.docker.distribution.manifest.v1+prettyjws' ||
  mediaType === 'application/vnd.docker.distribution.manifest.v1+json' ||
  (mediaType === undefined && /"schemaVersion"\s*:\s*1\b/.test(manifest));

const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const NON_DISTRIBUTABLE = /\.foreign\.|nondistributable/;

const descriptor = (v: unknown): BlobReference | undefined => {
  if (!isRecord(v) || typeof v.digest !== 'string' || !DIGEST.test(v.digest)) return undefined;
  const mediaType = typeof v.mediaType === 'string' ? v.mediaType : undefined;
  const hasUrls = Array.isArray(v.urls) && v.urls.length > 0;
  return {
    digest: v.digest,
    size: typeof v.size === 'number' && Number.isSafeInteger(v.size) && v.size >= 0 ? v.size : undefined,
    mediaType,
    external: hasUrls && mediaType !== undefined && NON_DISTRIBUTABLE.test(mediaType),
  };
};

const descriptors = (v: unknown): BlobReference[] =>
  Array.isArray(v) ? v.map(descriptor).filter((d): d is BlobReference => d !== undefined) : [];

/**
 * Reads the references of a Docker v2 / OCI manifest, a manifest list / OCI index, an OCI artifact
 * manifest (`blobs`) or a Docker v1 manifest (`fsLayers`).
 */
export const manifestReferences = (manifest: string): ManifestReferences => {
  let doc: unknown;
  try {
    doc = JSON.parse(manifest);
  } catch {
    return { blobs: [], manifests: [], subject: undefined, parsed: false };
  }
  if (!isRecord(doc)) return { blobs: [], manifests: [], subject: undefined, parsed: false };
  const config = descriptor(doc.config);
  const v1Layers = Array.isArray(doc.fsLayers)
    ? doc.fsLayers.flatMap((l) => (isRecord(l) ? [descriptor({ digest: l.blobSum })] : [])).filter((d): d is BlobReference => d !== undefined)
    : [];
  const all = [...(config ? [config] : []), ...descriptors(doc.layers), ...descriptors(doc.blobs), ...v1Layers];
  const seen = new Set<string>();
  const blobs = all.filter((b) => !seen.has(b.digest) && seen.add(b.digest));
  const manifests = descriptors(doc.manifests).map((d) => d.digest);
  return { blobs, manifests, subject: descriptor(doc.subject)?.digest, parsed: true };
};

/** The hash algorithms a digest may name, as node:crypto spells them. */
export const digestAlgorithm = (digest: string): 'sha256' | 'sha512' | undefined => {
  const algorithm = digest.slice(0, digest.indexOf(':'));
  return algorithm === 'sha256' || algorithm === 'sha512' ? algorithm : undefined;
};

/** The digest of bytes, in the algorithm the digest `like` names (sha256 unless it names sha512). */
export const digestOf = (bytes: string | Uint8Array, like = 'sha256:'): string => {
  const algorithm = digestAlgorithm(like) ?? 'sha256';
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
};
