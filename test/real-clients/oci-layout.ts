/**
 * OCI image layouts written on disk for skopeo's `oci:` transport (OCI image spec, "Image Layout"):
 * `oci-layout`, `index.json` and `blobs/sha256/<hex>`, built from bytes made here (no network).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from '../../src/testing/index.js';

export const OCI = {
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  index: 'application/vnd.oci.image.index.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  empty: 'application/vnd.oci.empty.v1+json',
} as const;

export const DOCKER = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly platform?: { readonly architecture: string; readonly os: string };
  readonly annotations?: Readonly<Record<string, string>>;
}

export const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A layout under construction: blobs are written as they are added. */
export class OciLayout {
  readonly #refs: Descriptor[] = [];

  constructor(readonly dir: string) {
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  }

  /** Writes a blob, answers its descriptor. */
  blob(mediaType: string, bytes: Uint8Array, extra: Partial<Descriptor> = {}): Descriptor {
    const digest = sha256(bytes);
    writeFileSync(join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length)), bytes);
    return { mediaType, digest, size: bytes.length, ...extra };
  }

  json(mediaType: string, value: unknown, extra: Partial<Descriptor> = {}): Descriptor {
    return this.blob(mediaType, Buffer.from(JSON.stringify(value), 'utf8'), extra);
  }

  /** An image of `layers` random gzip layers (deterministic from `seed`), in OCI or Docker v2 media types. */
  image(seed: number, options: { readonly flavour?: 'oci' | 'docker'; readonly layers?: number; readonly layerSize?: number; readonly architecture?: string } = {}): Descriptor {
    const types = options.flavour === 'docker' ? DOCKER : OCI;
    const architecture = options.architecture ?? 'amd64';
    const plain = Array.from({ length: options.layers ?? 2 }, (_, i) => Buffer.from(randomBytes(options.layerSize ?? 4096, seed * 100 + i)));
    const layers = plain.map((bytes) => this.blob(types.layer, gzipSync(bytes)));
    const config = this.json(types.config, {
      architecture,
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: plain.map(sha256) },
    });
    return this.json(types.manifest, { schemaVersion: 2, mediaType: types.manifest, config, layers }, { platform: { architecture, os: 'linux' } });
  }

  /** A multi-arch OCI index over `manifests`. */
  index(manifests: readonly Descriptor[]): Descriptor {
    return this.json(OCI.index, { schemaVersion: 2, mediaType: OCI.index, manifests });
  }

  /** An OCI 1.1 artifact whose `subject` is `subject`. */
  artifact(subject: Descriptor, artifactType: string, content: string): Descriptor {
    const config = this.blob(OCI.empty, Buffer.from('{}'));
    const layer = this.blob('application/spdx+json', Buffer.from(content, 'utf8'));
    const { platform: _platform, ...bare } = subject;
    return this.json(OCI.manifest, { schemaVersion: 2, mediaType: OCI.manifest, artifactType, config, layers: [layer], subject: bare }, { artifactType });
  }

  /** Names `descriptor` as `tag` in `index.json` (rewritten). */
  tag(descriptor: Descriptor, tag: string): void {
    this.#refs.push({ ...descriptor, annotations: { 'org.opencontainers.image.ref.name': tag } });
    writeFileSync(join(this.dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI.index, manifests: this.#refs }));
  }
}

/**
 * skopeo's `dir:` transport for one image of a layout (`version`, `manifest.json`, blobs by hex
 * digest): skopeo's `oci:` transport only lists OCI media types, so a Docker v2 image travels as `dir:`.
 */
export const writeDirImage = (layout: string, manifest: Descriptor, dir: string): void => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  const bytes = blobIn(layout, manifest.digest);
  writeFileSync(join(dir, 'manifest.json'), bytes);
  const parsed = JSON.parse(bytes.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
  for (const blob of [parsed.config, ...parsed.layers]) writeFileSync(join(dir, blob.digest.slice('sha256:'.length)), blobIn(layout, blob.digest));
};

/** The manifest and blobs of a `dir:` image. */
export const readDirImage = (dir: string): { readonly manifest: Buffer; blob(digest: string): Buffer } => ({
  manifest: readFileSync(join(dir, 'manifest.json')),
  blob: (digest) => readFileSync(join(dir, digest.slice('sha256:'.length))),
});

/** The descriptor `index.json` of a layout names `tag`. */
export const taggedIn = (dir: string, tag: string): Descriptor => {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const found = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (found === undefined) throw new Error(`no ${tag} in ${dir}/index.json`);
  return found;
};

/** A blob's bytes in a layout. */
export const blobIn = (dir: string, digest: string): Buffer => readFileSync(join(dir, 'blobs', 'sha256', digest.slice('sha256:'.length)));
