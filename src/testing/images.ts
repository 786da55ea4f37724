/**
 * Pushing realistic images through the ECR API (no docker): blobs uploaded in parts, manifests
 * byte-exact by digest, multi-arch indexes, untagged images and referrers. For tests, the demo and
 * the benchmarks; these helpers throw on failure, as test tooling does.
 */
import { createHash } from 'node:crypto';
import {
  CompleteLayerUploadCommand,
  type ECRClient,
  InitiateLayerUploadCommand,
  PutImageCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';

/** Manifest media types. */
export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

/** A blob's bytes: in memory, or produced in chunks (so a 2 GiB layer never sits in memory). */
export type BlobSource =
  | Uint8Array
  | { readonly size: number; readonly chunks: () => Iterable<Uint8Array> | AsyncIterable<Uint8Array> };

/** A blob as stored: its digest and size. */
export interface PushedBlob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
}

/** An image as stored: its digest, exact manifest and media type, and the blobs it references. */
export interface PushedImage {
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly tags: readonly string[];
  readonly blobs: readonly PushedBlob[];
}

const sha256 = (data: Uint8Array | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/**
 * Deterministic pseudo-random bytes (xorshift), so tests and benchmarks are repeatable without
 * keeping large fixtures.
 *
 * @example
 * ```ts
 * const layer = randomBytes(5 * 1024 * 1024, 42);
 * ```
 */
export const randomBytes = (size: number, seed: number): Uint8Array => {
  const out = new Uint8Array(size);
  let x = (seed | 0) || 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
    if (i + 1 < size) out[i + 1] = (x >>> 8) & 0xff;
    if (i + 2 < size) out[i + 2] = (x >>> 16) & 0xff;
    if (i + 3 < size) out[i + 3] = (x >>> 24) & 0xff;
  }
  return out;
};

/**
 * A large blob produced in 1 MiB chunks of deterministic bytes: nothing the size of the blob is
 * ever held in memory.
 *
 * @example
 * ```ts
 * await uploadBlob(ecr, 'app', streamedBlob(2 * 1024 ** 3, 7));
 * ```
 */
export const streamedBlob = (size: number, seed: number): BlobSource => ({
  size,
  chunks: function* () {
    const chunk = 1024 * 1024;
    for (let offset = 0, n = 0; offset < size; offset += chunk, n++) {
      yield randomBytes(Math.min(chunk, size - offset), seed * 7919 + n + 1);
    }
  },
});

async function* chunksOf(source: BlobSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) yield source;
  else yield* source.chunks();
}

/**
 * Uploads one blob with InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload, in parts of
 * the size ECR asks for, hashing as it goes. A blob already present counts as uploaded.
 *
 * @example
 * ```ts
 * const { digest } = await uploadBlob(ecr, 'app', randomBytes(1024, 1));
 * ```
 */
export const uploadBlob = async (
  ecr: ECRClient,
  repositoryName: string,
  source: BlobSource,
  mediaType: string = MEDIA_TYPES.ociLayer,
): Promise<PushedBlob> => {
  const { uploadId, partSize = 10 * 1024 * 1024 } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName }));
  if (!uploadId) throw new Error('InitiateLayerUpload returned no uploadId');
  const hash = createHash('sha256');
  let part = new Uint8Array(partSize);
  let filled = 0;
  let sent = 0;
  const flush = async (): Promise<void> => {
    if (filled === 0) return;
    await ecr.send(
      new UploadLayerPartCommand({
        repositoryName,
        uploadId,
        partFirstByte: sent,
        partLastByte: sent + filled - 1,
        layerPartBlob: part.subarray(0, filled),
      }),
    );
    sent += filled;
    filled = 0;
    part = new Uint8Array(partSize); // the SDK may still hold the previous buffer
  };
  for await (const chunk of chunksOf(source)) {
    hash.update(chunk);
    for (let offset = 0; offset < chunk.length; ) {
      const take = Math.min(partSize - filled, chunk.length - offset);
      part.set(chunk.subarray(offset, offset + take), filled);
      filled += take;
      offset += take;
      if (filled === partSize) await flush();
    }
  }
  await flush();
  const digest = `sha256:${hash.digest('hex')}`;
  try {
    await ecr.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [digest] }));
  } catch (error) {
    if (!(error instanceof Error && error.name === 'LayerAlreadyExistsException')) throw error;
  }
  return { digest, size: sent, mediaType };
};

/**
 * Pushes a manifest byte-exact (PutImage with its digest and media type), once untagged or once
 * per tag.
 *
 * @example
 * ```ts
 * await pushManifest(ecr, 'app', manifestText, MEDIA_TYPES.ociManifest, ['v1']);
 * ```
 */
export const pushManifest = async (
  ecr: ECRClient,
  repositoryName: string,
  manifest: string,
  mediaType: string,
  tags: readonly string[] = [],
): Promise<string> => {
  const digest = sha256(manifest);
  const put = async (imageTag?: string): Promise<void> => {
    try {
      await ecr.send(
        new PutImageCommand({
          repositoryName,
          imageManifest: manifest,
          imageManifestMediaType: mediaType,
          imageDigest: digest,
          ...(imageTag ? { imageTag } : {}),
        }),
      );
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ImageAlreadyExistsException')) throw error;
    }
  };
  if (tags.length === 0) await put();
  for (const tag of tags) await put(tag);
  return digest;
};

/** What an image is made of. */
export interface ImageSpec {
  readonly layers: readonly BlobSource[];
  readonly tags?: readonly string[];
  /** `oci` (default) or `docker` (Docker image manifest v2, schema 2). */
  readonly format?: 'oci' | 'docker';
  readonly platform?: { readonly os: string; readonly architecture: string };
  /** Makes it a referrer (OCI 1.1): a signature or SBOM of this image. */
  readonly subject?: PushedImage;
  readonly artifactType?: string;
  /** Distinguishes otherwise identical configs. */
  readonly label?: string;
}

/**
 * Pushes one image: its layers, a config blob, then the manifest (byte-exact, by digest).
 *
 * @example
 * ```ts
 * const image = await pushImage(ecr, 'app', { layers: [randomBytes(4096, 1)], tags: ['v1'] });
 * ```
 */
export const pushImage = async (ecr: ECRClient, repositoryName: string, spec: ImageSpec): Promise<PushedImage> => {
  const docker = spec.format === 'docker';
  const layerType = docker ? MEDIA_TYPES.dockerLayer : MEDIA_TYPES.ociLayer;
  const layers: PushedBlob[] = [];
  for (const layer of spec.layers) layers.push(await uploadBlob(ecr, repositoryName, layer, layerType));
  const platform = spec.platform ?? { os: 'linux', architecture: 'amd64' };
  const configJson = JSON.stringify({
    architecture: platform.architecture,
    os: platform.os,
    config: { Labels: { 'org.example.label': spec.label ?? repositoryName } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
  });
  const configType = spec.artifactType && !docker ? 'application/vnd.oci.empty.v1+json' : docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig;
  const config = await uploadBlob(ecr, repositoryName, new TextEncoder().encode(configType.includes('empty') ? '{}' : configJson), configType);
  const mediaType = docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest;
  const manifestObject: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType,
    ...(spec.artifactType ? { artifactType: spec.artifactType } : {}),
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...(spec.subject ? { subject: { mediaType: spec.subject.mediaType, digest: spec.subject.digest, size: spec.subject.size } } : {}),
  };
  // Indented, as many tools write it: the bytes (and so the digest) must survive a copy untouched.
  const manifest = JSON.stringify(manifestObject, null, 3);
  const tags = spec.tags ?? [];
  const digest = await pushManifest(ecr, repositoryName, manifest, mediaType, tags);
  return { digest, manifest, mediaType, size: Buffer.byteLength(manifest), tags, blobs: [config, ...layers] };
};

/**
 * Pushes a multi-platform index (OCI image index, or Docker manifest list) over images already
 * pushed (children first: ECR refuses an index whose children are missing).
 *
 * @example
 * ```ts
 * const index = await pushIndex(ecr, 'app', [amd64, arm64], { tags: ['latest'] });
 * ```
 */
export const pushIndex = async (
  ecr: ECRClient,
  repositoryName: string,
  children: readonly PushedImage[],
  options: { readonly tags?: readonly string[]; readonly format?: 'oci' | 'docker'; readonly platforms?: readonly { os: string; architecture: string }[] } = {},
): Promise<PushedImage> => {
  const mediaType = options.format === 'docker' ? MEDIA_TYPES.dockerList : MEDIA_TYPES.ociIndex;
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType,
    manifests: children.map((child, i) => ({
      mediaType: child.mediaType,
      digest: child.digest,
      size: child.size,
      platform: options.platforms?.[i] ?? { os: 'linux', architecture: i === 0 ? 'amd64' : 'arm64' },
    })),
  });
  const tags = options.tags ?? [];
  const digest = await pushManifest(ecr, repositoryName, manifest, mediaType, tags);
  return { digest, manifest, mediaType, size: Buffer.byteLength(manifest), tags, blobs: [] };
};

/** What {@link seedRealisticRepository} pushed. */
export interface SeededRepository {
  readonly index: PushedImage;
  readonly platforms: readonly PushedImage[];
  readonly docker: PushedImage;
  readonly untagged: PushedImage;
  readonly signature: PushedImage;
  readonly images: readonly PushedImage[];
  readonly totalBlobBytes: number;
}

/**
 * Seeds a repository the way real ones look: a multi-arch OCI index with two platform manifests
 * (tagged `latest` and `1.0`), a Docker v2 image (`legacy`), an untagged image, and a
 * signature artifact referring to the index, with `layerBytes` of random layer data per image.
 *
 * @example
 * ```ts
 * const seeded = await seedRealisticRepository(ecr, 'team/app', { layerBytes: 2 * 1024 * 1024 });
 * ```
 */
export const seedRealisticRepository = async (
  ecr: ECRClient,
  repositoryName: string,
  options: { readonly layerBytes?: number; readonly seed?: number } = {},
): Promise<SeededRepository> => {
  const size = options.layerBytes ?? 1024 * 1024;
  const seed = options.seed ?? 1;
  const amd64 = await pushImage(ecr, repositoryName, {
    layers: [randomBytes(size, seed), randomBytes(Math.ceil(size / 4), seed + 1)],
    platform: { os: 'linux', architecture: 'amd64' },
    label: 'amd64',
  });
  const arm64 = await pushImage(ecr, repositoryName, {
    layers: [randomBytes(size, seed + 2), randomBytes(Math.ceil(size / 4), seed + 3)],
    platform: { os: 'linux', architecture: 'arm64' },
    label: 'arm64',
  });
  const index = await pushIndex(ecr, repositoryName, [amd64, arm64], {
    tags: ['latest', '1.0'],
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
  });
  const docker = await pushImage(ecr, repositoryName, {
    layers: [randomBytes(size, seed + 4)],
    format: 'docker',
    tags: ['legacy'],
    label: 'docker',
  });
  const untagged = await pushImage(ecr, repositoryName, { layers: [randomBytes(Math.ceil(size / 2), seed + 5)], label: 'untagged' });
  const signature = await pushImage(ecr, repositoryName, {
    layers: [new TextEncoder().encode(JSON.stringify({ critical: { image: { 'docker-manifest-digest': index.digest } } }))],
    subject: index,
    artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
    label: 'signature',
  });
  const images = [amd64, arm64, index, docker, untagged, signature];
  const blobs = new Map<string, number>();
  for (const image of images) for (const blob of image.blobs) blobs.set(blob.digest, blob.size);
  return {
    index,
    platforms: [amd64, arm64],
    docker,
    untagged,
    signature,
    images,
    totalBlobBytes: [...blobs.values()].reduce((a, b) => a + b, 0),
  };
};
