import { describe, expect, it } from 'vitest';
import { digestOf, isDockerV1, manifestReferences } from '../../../src/migration/manifest.js';

const d = (n: number): string => `sha256:${n.toString(16).padStart(64, '0')}`;

describe('manifestReferences', () => {
  it('reads config then layers of an image manifest, de-duplicated, with sizes', () => {
    const refs = manifestReferences(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'c', digest: d(1), size: 10 },
        layers: [
          { mediaType: 'l', digest: d(2), size: 20 },
          { mediaType: 'l', digest: d(2), size: 20 },
          { mediaType: 'l', digest: d(3), size: 30 },
        ],
      }),
    );

    expect(refs.blobs.map((b) => [b.digest, b.size])).toEqual([[d(1), 10], [d(2), 20], [d(3), 30]]);
    expect(refs.manifests).toEqual([]);
    expect(refs.parsed).toBe(true);
  });

  it('reads the children of an index and the subject of a referrer', () => {
    expect(manifestReferences(JSON.stringify({ manifests: [{ digest: d(4) }, { digest: d(5) }] })).manifests).toEqual([d(4), d(5)]);
    expect(manifestReferences(JSON.stringify({ config: { digest: d(1), size: 2 }, layers: [], subject: { digest: d(6), size: 9 } })).subject).toBe(d(6));
  });

  it('reads Docker v1 fsLayers without sizes, and artifact manifests blobs', () => {
    const v1 = manifestReferences(JSON.stringify({ schemaVersion: 1, fsLayers: [{ blobSum: d(7) }, { blobSum: d(7) }, { blobSum: d(8) }] }));
    expect(v1.blobs).toEqual([
      { digest: d(7), size: undefined, mediaType: undefined, external: false },
      { digest: d(8), size: undefined, mediaType: undefined, external: false },
    ]);
    expect(manifestReferences(JSON.stringify({ blobs: [{ digest: d(9), size: 1 }] })).blobs.map((b) => b.digest)).toEqual([d(9)]);
  });

  it('marks foreign layers with urls as external', () => {
    const refs = manifestReferences(
      JSON.stringify({ layers: [{ mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: d(10), size: 5, urls: ['https://mcr.microsoft.com/x'] }] }),
    );
    expect(refs.blobs[0]?.external).toBe(true);
  });

  it('ignores what is not JSON or not a descriptor', () => {
    expect(manifestReferences('not json')).toMatchObject({ parsed: false, blobs: [] });
    expect(manifestReferences(JSON.stringify({ layers: [{ digest: 'nope' }, 42], config: 'x' })).blobs).toEqual([]);
  });
});

describe('digestOf and isDockerV1', () => {
  it('hashes in the algorithm the digest names', () => {
    expect(digestOf('{}')).toBe('sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    expect(digestOf('{}', 'sha512:00').startsWith('sha512:')).toBe(true);
  });

  it('recognises signed Docker v1 manifests, whose digest is not that of their bytes', () => {
    expect(isDockerV1('application/vnd.docker.distribution.manifest.v1+prettyjws', '{}')).toBe(true);
    expect(isDockerV1(undefined, '{"schemaVersion": 1}')).toBe(true);
    expect(isDockerV1('application/vnd.oci.image.manifest.v1+json', '{"schemaVersion":2}')).toBe(false);
  });
});
