/**
 * A realistic repository: an OCI index with two platform manifests, a Docker v2 image with two
 * tags, an older untagged image, and a cosign-style signature that refers to the Docker image
 * through `subject`. Manifests are written as their tools write them (Docker indents with three
 * spaces), so a copier that re-serialises JSON changes their digests and fails.
 */
import { type FakeEcr, bytesFor, sha256 } from './fake-ecr.js';

export const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';
const COSIGN_SIG = 'application/vnd.dev.cosign.artifact.sig.v1+json';

const at = (minutes: number): Date => new Date(Date.parse('2025-06-01T00:00:00Z') + minutes * 60_000);

export interface AppFixture {
  readonly untagged: string;
  readonly amd64: string;
  readonly arm64: string;
  readonly index: string;
  readonly docker: string;
  readonly signature: string;
  /** Every blob with its size. */
  readonly blobs: ReadonlyMap<string, number>;
  /** The layer shared by the Docker image and the amd64 manifest. */
  readonly sharedLayer: string;
  readonly manifests: ReadonlyMap<string, string>;
}

/** Fills `repositoryName` in the fake with the fixture; `bigLayerBytes` adds a large layer to the Docker image. */
export const buildApp = (fake: FakeEcr, repositoryName = 'app', bigLayerBytes = 0): AppFixture => {
  const blobs = new Map<string, number>();
  const manifests = new Map<string, string>();
  const blob = (bytes: Buffer, mediaType: string): { mediaType: string; digest: string; size: number } => {
    const digest = fake.addBlob(repositoryName, bytes);
    blobs.set(digest, bytes.length);
    return { mediaType, digest, size: bytes.length };
  };
  const image = (manifest: string, mediaType: string, tags: string[], minutes: number, extra: { artifactMediaType?: string; subject?: string } = {}): string => {
    const digest = fake.addImage(repositoryName, { manifest, mediaType, tags, pushedAt: at(minutes), status: 'ACTIVE', ...extra });
    manifests.set(digest, manifest);
    return digest;
  };
  const config = (arch: string, note: string): Buffer =>
    Buffer.from(JSON.stringify({ architecture: arch, os: 'linux', config: { Env: [`NOTE=${note}`] }, rootfs: { type: 'layers', diff_ids: [] } }));

  const sharedLayerDescriptor = blob(bytesFor(1, 300_000), DOCKER_LAYER);

  // t=0: an old image whose tag moved on: untagged, still pulled by digest.
  const untagged = image(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: DOCKER_V2,
        config: blob(config('amd64', 'old'), DOCKER_CONFIG),
        layers: [blob(bytesFor(2, 50_000), DOCKER_LAYER)],
      },
      null,
      3,
    ),
    DOCKER_V2,
    [],
    0,
  );

  // The index claims an earlier push time than its children: the copy order must still put them first.
  const platform = (arch: string, layer: { mediaType: string; digest: string; size: number }, minutes: number): string =>
    image(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: blob(config(arch, 'multi'), OCI_CONFIG), layers: [layer] }),
      OCI_MANIFEST,
      [],
      minutes,
    );
  const arm64 = platform('arm64', blob(bytesFor(3, 120_000), OCI_LAYER), 2);
  const amd64 = platform('amd64', { ...sharedLayerDescriptor, mediaType: OCI_LAYER }, 3);
  const indexManifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      { mediaType: OCI_MANIFEST, digest: amd64, size: manifests.get(amd64)?.length, platform: { architecture: 'amd64', os: 'linux' } },
      { mediaType: OCI_MANIFEST, digest: arm64, size: manifests.get(arm64)?.length, platform: { architecture: 'arm64', os: 'linux', variant: 'v8' } },
    ],
  });
  const index = image(indexManifest, OCI_INDEX, ['multi'], 1);

  const dockerLayers = [sharedLayerDescriptor, blob(bytesFor(4, 80_000), DOCKER_LAYER)];
  if (bigLayerBytes > 0) dockerLayers.push(blob(bytesFor(5, bigLayerBytes), DOCKER_LAYER));
  const docker = image(
    JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_V2, config: blob(config('amd64', 'app'), DOCKER_CONFIG), layers: dockerLayers }, null, 3),
    DOCKER_V2,
    ['latest', 'v1'],
    4,
  );

  // A cosign signature (OCI 1.1 referrer), stamped earlier than its subject.
  const empty = blob(Buffer.from('{}'), 'application/vnd.oci.empty.v1+json');
  const payload = blob(
    Buffer.from(JSON.stringify({ critical: { identity: { 'docker-reference': 'app' }, image: { 'docker-manifest-digest': docker }, type: 'cosign container image signature' } })),
    'application/vnd.dev.cosign.simplesigning.v1+json',
  );
  const signature = image(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: COSIGN_SIG,
      config: empty,
      layers: [{ ...payload, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQDx1' } }],
      subject: { mediaType: DOCKER_V2, digest: docker, size: manifests.get(docker)?.length },
    }),
    OCI_MANIFEST,
    [],
    0.5,
    { artifactMediaType: COSIGN_SIG, subject: docker },
  );

  return { untagged, amd64, arm64, index, docker, signature, blobs, sharedLayer: sharedLayerDescriptor.digest, manifests };
};

export { sha256 };
