import { BatchGetImageCommand, CreateRepositoryCommand, DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, seedRealisticRepository, startLocalAws } from '../../src/testing/index.js';

// Pushes every kind of image over HTTP: 23 s of the default 30 s on a loaded 2-core machine (two CPU hogs).
describe('seedRealisticRepository on the local emulator', { timeout: 120_000 }, () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
  });
  afterAll(async () => {
    ecr.destroy();
    await aws.stop();
  });

  it('pushes an index with its platforms, a Docker image, an untagged image and a referrer, byte-exact', async () => {
    // Prepare
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'seeded', encryptionConfiguration: { encryptionType: 'KMS' } }));

    // Act
    const seeded = await seedRealisticRepository(ecr, 'seeded', { layerBytes: 6 * 1024 * 1024 });

    // Assess: every image is there, with the exact manifest bytes and the tags asked for.
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'seeded', filter: { tagStatus: 'ANY' } }));
    expect(new Set(described.imageDetails?.map((d) => d.imageDigest))).toEqual(new Set(seeded.images.map((i) => i.digest)));
    const got = await ecr.send(
      new BatchGetImageCommand({
        repositoryName: 'seeded',
        imageIds: seeded.images.map((i) => ({ imageDigest: i.digest })),
        acceptedMediaTypes: [...new Set(seeded.images.map((i) => i.mediaType))],
      }),
    );
    for (const image of seeded.images) {
      expect(got.images?.find((i) => i.imageId?.imageDigest === image.digest)?.imageManifest).toBe(image.manifest);
    }
    expect(described.imageDetails?.find((d) => d.imageDigest === seeded.index.digest)?.imageTags?.sort()).toEqual(['1.0', 'latest']);
    expect(described.imageDetails?.find((d) => d.imageDigest === seeded.signature.digest)?.subjectManifestDigest).toBe(seeded.index.digest);
    expect(described.imageDetails?.find((d) => d.imageDigest === seeded.untagged.digest)?.imageTags ?? []).toEqual([]);
    // Layers of 6 MiB cross the 5 MiB minimum part size: multi-part uploads were accepted.
    expect(seeded.totalBlobBytes).toBeGreaterThan(6 * 1024 * 1024 * 3);
  });
});
