import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ACCOUNT, apiError, createWorld, DOCKER_MANIFEST, imageManifest, OCI_INDEX, OCI_MANIFEST, putImage, REGION, sha256, uploadBlob, type World,
} from './helpers.js';

interface ImageShape {
  imageId: { imageDigest: string; imageTag?: string };
  imageManifest: string;
  imageManifestMediaType: string;
}
interface BatchGet {
  images: ImageShape[];
  failures: { imageId: Record<string, string>; failureCode: string; failureReason: string }[];
}
interface Detail {
  imageDigest: string;
  imageTags?: string[];
  imageStatus: string;
  [key: string]: unknown;
}

describe('ECR images', () => {
  let world: World;
  beforeEach(() => {
    world = createWorld({ imageRestoreMs: 60_000 });
    world.call('CreateRepository', { repositoryName: 'app' });
  });
  afterEach(() => world.cleanup());

  const get = (imageIds: Record<string, string>[], extra: Record<string, unknown> = {}): BatchGet =>
    world.call('BatchGetImage', { repositoryName: 'app', imageIds, ...extra }) as unknown as BatchGet;
  const list = (input: Record<string, unknown> = {}): { imageIds: Record<string, string>[]; nextToken?: string } =>
    world.call('ListImages', { repositoryName: 'app', ...input }) as never;
  const describeAll = (input: Record<string, unknown> = {}): { imageDetails: Detail[]; nextToken?: string } =>
    world.call('DescribeImages', { repositoryName: 'app', ...input }) as never;

  describe('PutImage', () => {
    it('keeps the manifest byte-exact and digests its bytes', () => {
      const manifest = imageManifest(world, 'app', 'one', { annotations: { note: 'café ☕' } });
      const result = world.call('PutImage', { repositoryName: 'app', imageManifest: manifest, imageTag: 'v1' });
      const digest = sha256(Buffer.from(manifest, 'utf8'));
      expect(result).toEqual({
        image: {
          registryId: ACCOUNT,
          repositoryName: 'app',
          imageId: { imageDigest: digest, imageTag: 'v1' },
          imageManifest: manifest,
          imageManifestMediaType: OCI_MANIFEST,
        },
      });
      const pulled = get([{ imageTag: 'v1' }]);
      expect(pulled.images[0]?.imageManifest).toBe(manifest);
      expect(pulled.images[0]?.imageId).toEqual({ imageDigest: digest, imageTag: 'v1' });
      expect(get([{ imageDigest: digest }]).images[0]?.imageId).toEqual({ imageDigest: digest });
    });

    it('checks a given digest', () => {
      const manifest = imageManifest(world, 'app', 'one');
      apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: manifest, imageDigest: sha256('other') }), 'ImageDigestDoesNotMatchException');
      apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: manifest, imageDigest: 'nope' }), 'InvalidParameterException');
      expect(list().imageIds).toEqual([]);
      expect(() => world.call('PutImage', { repositoryName: 'app', imageManifest: manifest, imageDigest: sha256(manifest) })).not.toThrow();
    });

    it('takes the media type from imageManifestMediaType or the manifest', () => {
      const withType = imageManifest(world, 'app', 'one');
      const bare = JSON.stringify({ ...(JSON.parse(withType) as object), mediaType: undefined });
      const error = apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: bare }), 'InvalidParameterException');
      expect(error.message).toContain('Invalid JSON syntax');
      apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: '{not json' }), 'InvalidParameterException');
      apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: withType, imageManifestMediaType: DOCKER_MANIFEST }), 'InvalidParameterException');
      apiError(() => world.call('PutImage', { repositoryName: 'app', imageManifest: bare, imageManifestMediaType: 'text/plain' }), 'InvalidParameterException');
      const result = world.call('PutImage', { repositoryName: 'app', imageManifest: bare, imageManifestMediaType: OCI_MANIFEST }) as { image: ImageShape };
      expect(result.image.imageManifestMediaType).toBe(OCI_MANIFEST);
      expect(get([{ imageDigest: sha256(bare) }]).images[0]?.imageManifestMediaType).toBe(OCI_MANIFEST);
    });

    it('requires referenced blobs in this repository, ignoring foreign layers', () => {
      const config = uploadBlob(world, 'app', Buffer.from('{}'));
      const manifest = (layers: unknown[]): string =>
        JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 2 }, layers });
      const missing = sha256('missing');
      const error = apiError(() => putImage(world, 'app', manifest([{ mediaType: 'x', digest: missing, size: 1 }])), 'LayersNotFoundException');
      expect(error.message).toContain(missing);
      world.call('CreateRepository', { repositoryName: 'other' });
      apiError(() => world.call('PutImage', { repositoryName: 'other', imageManifest: manifest([]) }), 'LayersNotFoundException');
      const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: missing, size: 1, urls: ['https://example.invalid/l'] };
      expect(() => putImage(world, 'app', manifest([foreign]))).not.toThrow();
      apiError(() => putImage(world, 'app', JSON.stringify({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: {} })), 'InvalidParameterException');
    });

    it('requires the children of an index, and protects them from deletion', () => {
      const childA = putImage(world, 'app', imageManifest(world, 'app', 'amd64'));
      const childB = putImage(world, 'app', imageManifest(world, 'app', 'arm64'));
      const index = (children: string[]): string =>
        JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((digest) => ({ mediaType: OCI_MANIFEST, digest, size: 1 })) });
      const missing = sha256('nope');
      apiError(() => putImage(world, 'app', index([childA, missing])), 'ReferencedImagesNotFoundException');
      const indexDigest = putImage(world, 'app', index([childA, childB]), 'multi');
      const blocked = world.call('BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageDigest: childA }] });
      expect(blocked).toEqual({
        imageIds: [],
        failures: [{ imageId: { imageDigest: childA }, failureCode: 'ImageReferencedByManifestList', failureReason: expect.stringContaining(indexDigest) as string }],
      });
      const both = world.call('BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageDigest: indexDigest }, { imageDigest: childA }] });
      expect(both).toEqual({ imageIds: [{ imageDigest: indexDigest, imageTag: 'multi' }, { imageDigest: childA }], failures: [] });
      const detail = describeAll().imageDetails;
      expect(detail.map((d) => d.imageDigest)).toEqual([childB]);
    });

    it('moves mutable tags, leaving the old image untagged', () => {
      const first = putImage(world, 'app', imageManifest(world, 'app', 'one'), 'latest');
      const second = putImage(world, 'app', imageManifest(world, 'app', 'two'), 'latest');
      expect(list().imageIds).toEqual([{ imageDigest: first }, { imageDigest: second, imageTag: 'latest' }]);
    });

    it('refuses to move immutable tags, honouring exclusion filters', () => {
      world.call('PutImageTagMutability', {
        repositoryName: 'app',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'dev-*' }],
      });
      const one = imageManifest(world, 'app', 'one');
      const two = imageManifest(world, 'app', 'two');
      putImage(world, 'app', one, 'v1');
      putImage(world, 'app', one, 'dev-x');
      apiError(() => putImage(world, 'app', two, 'v1'), 'ImageTagAlreadyExistsException');
      expect(() => putImage(world, 'app', two, 'dev-x')).not.toThrow();

      world.call('PutImageTagMutability', { repositoryName: 'app', imageTagMutability: 'IMMUTABLE' });
      apiError(() => putImage(world, 'app', one, 'dev-x'), 'ImageTagAlreadyExistsException');
      world.call('PutImageTagMutability', {
        repositoryName: 'app',
        imageTagMutability: 'MUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'release' }],
      });
      putImage(world, 'app', two, 'release');
      apiError(() => putImage(world, 'app', one, 'release'), 'ImageTagAlreadyExistsException');
      expect(() => putImage(world, 'app', two, 'v1')).not.toThrow();
    });

    it('answers ImageAlreadyExistsException for the same digest and tag, but adds new tags', () => {
      const manifest = imageManifest(world, 'app', 'one');
      const digest = putImage(world, 'app', manifest, 'v1');
      apiError(() => putImage(world, 'app', manifest, 'v1'), 'ImageAlreadyExistsException');
      apiError(() => putImage(world, 'app', manifest), 'ImageAlreadyExistsException');
      putImage(world, 'app', manifest, 'v2');
      expect(list().imageIds).toEqual([{ imageDigest: digest, imageTag: 'v1' }, { imageDigest: digest, imageTag: 'v2' }]);
      apiError(() => putImage(world, 'app', manifest, 't'.repeat(301)), 'InvalidParameterException');
    });
  });

  describe('BatchGetImage', () => {
    it('reports failures instead of throwing', () => {
      const digest = putImage(world, 'app', imageManifest(world, 'app', 'one'), 'v1');
      const other = putImage(world, 'app', imageManifest(world, 'app', 'two'), 'v2');
      const result = get([
        { imageTag: 'missing' },
        { imageDigest: 'bad' },
        {},
        { imageDigest: other, imageTag: 'v1' },
        { imageDigest: digest, imageTag: 'v1' },
      ]);
      expect(result.images.map((i) => i.imageId)).toEqual([{ imageDigest: digest, imageTag: 'v1' }]);
      expect(result.failures.map((f) => [f.imageId, f.failureCode])).toEqual([
        [{ imageTag: 'missing' }, 'ImageNotFound'],
        [{ imageDigest: 'bad' }, 'InvalidImageDigest'],
        [{}, 'MissingDigestAndTag'],
        [{ imageDigest: other, imageTag: 'v1' }, 'ImageTagDoesNotMatchDigest'],
      ]);
      apiError(() => get([]), 'InvalidParameterException');
      apiError(() => world.call('BatchGetImage', { repositoryName: 'nope', imageIds: [{ imageTag: 'v1' }] }), 'RepositoryNotFoundException');
    });

    it('never translates: by digest any type, by tag only accepted types', () => {
      const digest = putImage(world, 'app', imageManifest(world, 'app', 'one'), 'v1');
      const accepted = { acceptedMediaTypes: [DOCKER_MANIFEST] };
      expect(get([{ imageDigest: digest }], accepted).images).toHaveLength(1);
      expect(get([{ imageTag: 'v1' }], accepted).failures[0]?.failureCode).toBe('UnsupportedImageType');
      expect(get([{ imageTag: 'v1' }], { acceptedMediaTypes: [DOCKER_MANIFEST, OCI_MANIFEST] }).images).toHaveLength(1);
    });
  });

  describe('in a KMS repository', () => {
    let keyArn: string;
    beforeEach(() => {
      keyArn = world.kms.addKey().arn;
      world.call('CreateRepository', { repositoryName: 'secure', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn } });
    });

    it('encrypts manifests under the key and decrypts them on pull', () => {
      const digest = putImage(world, 'secure', imageManifest(world, 'secure', 'one'), 'v1');
      const contexts = world.kms.callsOf('generateDataKey').map((c) => (c.args[2] as Record<string, string>)['aws:s3:arn']);
      expect(contexts.at(-1)).toMatch(new RegExp(`^arn:aws:s3:::${REGION}-starport-manifest-bucket/.+/${digest}$`));
      expect(world.ecr.inspect.storedObjects(REGION, 'secure').every((o) => o.encryptedWith === keyArn)).toBe(true);
      expect(world.ecr.inspect.storedObjects(REGION, 'secure').map((o) => o.kind)).toEqual(['blob', 'blob', 'manifest']);
      const pulled = world.call('BatchGetImage', { repositoryName: 'secure', imageIds: [{ imageTag: 'v1' }] }) as unknown as BatchGet;
      expect(pulled.images).toHaveLength(1);
      expect(world.kms.callsOf('decrypt')).toHaveLength(1);
    });

    it('fails pushes with KmsException and pulls with KmsError when the key is disabled', () => {
      const manifest = imageManifest(world, 'secure', 'one');
      putImage(world, 'secure', manifest, 'v1');
      const other = imageManifest(world, 'secure', 'other');
      world.kms.setState(keyArn, 'Disabled');
      expect(apiError(() => putImage(world, 'secure', other, 'v2'), 'KmsException').fields).toEqual({ kmsError: 'DisabledException' });
      const pulled = world.call('BatchGetImage', { repositoryName: 'secure', imageIds: [{ imageTag: 'v1' }] }) as unknown as BatchGet;
      expect(pulled.images).toEqual([]);
      expect(pulled.failures[0]).toMatchObject({ failureCode: 'KmsError', failureReason: expect.stringContaining('DisabledException') as string });
      expect(world.ecr.inspect.repositories(REGION).find((r) => r.repositoryName === 'secure')?.imageCount).toBe(1);
    });
  });

  describe('ListImages and DescribeImages', () => {
    it('lists one entry per tag, filters by tag status, and pages', () => {
      const a = putImage(world, 'app', imageManifest(world, 'app', 'a'), 'a1');
      putImage(world, 'app', imageManifest(world, 'app', 'a'), 'a2');
      const b = putImage(world, 'app', imageManifest(world, 'app', 'b'));
      const c = putImage(world, 'app', imageManifest(world, 'app', 'c'), 'c1');
      expect(list().imageIds).toEqual([
        { imageDigest: a, imageTag: 'a1' },
        { imageDigest: a, imageTag: 'a2' },
        { imageDigest: b },
        { imageDigest: c, imageTag: 'c1' },
      ]);
      expect(list({ filter: { tagStatus: 'UNTAGGED' } }).imageIds).toEqual([{ imageDigest: b }]);
      expect(list({ filter: { tagStatus: 'TAGGED' } }).imageIds).toHaveLength(3);
      const first = list({ maxResults: 3 });
      expect(first.imageIds).toHaveLength(3);
      expect(first.nextToken).toBeDefined();
      const second = list({ maxResults: 3, nextToken: first.nextToken });
      expect(second).toEqual({ imageIds: [{ imageDigest: c, imageTag: 'c1' }] });
      apiError(() => list({ nextToken: 'x' }), 'InvalidParameterException');
      apiError(() => world.call('DescribeImages', { repositoryName: 'app', nextToken: first.nextToken }), 'InvalidParameterException');
      apiError(() => list({ filter: { tagStatus: 'SOME' } }), 'InvalidParameterException');
    });

    it('describes images with sizes, times, media types and push order', () => {
      const config = Buffer.from('{"architecture":"amd64"}');
      const layer = Buffer.from('0123456789');
      const configDigest = uploadBlob(world, 'app', config);
      const layerDigest = uploadBlob(world, 'app', layer);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: layerDigest, size: layer.length }],
      });
      const pushedAt = world.clock.ms;
      const digest = putImage(world, 'app', manifest, 'v1');
      // Same millisecond: order still follows pushes.
      const later = putImage(world, 'app', imageManifest(world, 'app', 'later'));
      const { imageDetails } = describeAll();
      expect(imageDetails[0]).toEqual({
        registryId: ACCOUNT,
        repositoryName: 'app',
        imageDigest: digest,
        imageTags: ['v1'],
        imageSizeInBytes: config.length + layer.length,
        imagePushedAt: pushedAt / 1000,
        imageManifestMediaType: DOCKER_MANIFEST,
        artifactMediaType: 'application/vnd.docker.container.image.v1+json',
        imageStatus: 'ACTIVE',
      });
      expect(imageDetails.map((d) => d.imageDigest)).toEqual([digest, later]);
      expect(imageDetails[1]?.imageTags).toBeUndefined();
      expect(describeAll({ imageIds: [{ imageTag: 'v1' }, { imageDigest: digest }] }).imageDetails).toHaveLength(1);
      apiError(() => describeAll({ imageIds: [{ imageTag: 'nope' }] }), 'ImageNotFoundException');
      apiError(() => describeAll({ imageIds: [{ imageTag: 'v1' }], maxResults: 5 }), 'InvalidParameterException');
      world.call('BatchGetImage', { repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] });
      expect(describeAll({ imageIds: [{ imageTag: 'v1' }] }).imageDetails[0]?.lastRecordedPullTime).toBe(world.clock.ms / 1000);
      const paged = describeAll({ maxResults: 1 });
      expect(paged.imageDetails.map((d) => d.imageDigest)).toEqual([digest]);
      expect(describeAll({ maxResults: 1, nextToken: paged.nextToken }).imageDetails.map((d) => d.imageDigest)).toEqual([later]);
    });
  });

  describe('archive', () => {
    it('archives, hides and refuses pulls, then restores through ACTIVATING', () => {
      const digest = putImage(world, 'app', imageManifest(world, 'app', 'one'), 'v1');
      const archive = { repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'ARCHIVE' };
      expect(world.call('UpdateImageStorageClass', archive)).toEqual({
        registryId: ACCOUNT,
        repositoryName: 'app',
        imageId: { imageDigest: digest, imageTag: 'v1' },
        imageStatus: 'ARCHIVED',
      });
      expect(list().imageIds).toEqual([]);
      expect(list({ filter: { imageStatus: 'ARCHIVED' } }).imageIds).toEqual([{ imageDigest: digest, imageTag: 'v1' }]);
      expect(describeAll({ filter: { imageStatus: 'ANY' } }).imageDetails[0]).toMatchObject({ imageStatus: 'ARCHIVED', lastArchivedAt: world.clock.ms / 1000 });
      expect(get([{ imageTag: 'v1' }]).failures[0]?.failureCode).toBe('ImageInaccessible');

      const restore = { repositoryName: 'app', imageId: { imageDigest: digest }, targetStorageClass: 'STANDARD' };
      expect(world.call('UpdateImageStorageClass', restore)).toMatchObject({ imageStatus: 'ACTIVATING' });
      apiError(() => world.call('UpdateImageStorageClass', archive), 'ImageStorageClassUpdateNotSupportedException');
      expect(get([{ imageTag: 'v1' }]).failures[0]?.failureCode).toBe('ImageInaccessible');
      expect(list({ filter: { imageStatus: 'ACTIVATING' } }).imageIds).toHaveLength(1);
      world.clock.advance(60_000);
      expect(list().imageIds).toEqual([{ imageDigest: digest, imageTag: 'v1' }]);
      expect(describeAll().imageDetails[0]).toMatchObject({ imageStatus: 'ACTIVE', lastActivatedAt: world.clock.ms / 1000 });
      expect(get([{ imageTag: 'v1' }]).images).toHaveLength(1);
      apiError(() => world.call('UpdateImageStorageClass', { ...archive, imageId: { imageTag: 'nope' } }), 'ImageNotFoundException');
      apiError(() => world.call('UpdateImageStorageClass', { ...archive, targetStorageClass: 'GLACIER' }), 'InvalidParameterException');
    });

    it('restores an archived image that is pushed again', () => {
      const manifest = imageManifest(world, 'app', 'one');
      putImage(world, 'app', manifest, 'v1');
      world.call('UpdateImageStorageClass', { repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'ARCHIVE' });
      putImage(world, 'app', manifest, 'v1');
      expect(describeAll().imageDetails[0]?.imageStatus).toBe('ACTIVE');
    });
  });

  describe('BatchDeleteImage', () => {
    it('removes a tag, deletes with the last tag, and deletes by digest with all tags', () => {
      const manifest = imageManifest(world, 'app', 'one');
      const digest = putImage(world, 'app', manifest, 'v1');
      putImage(world, 'app', manifest, 'v2');
      expect(world.call('BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] })).toEqual({
        imageIds: [{ imageDigest: digest, imageTag: 'v1' }],
        failures: [],
      });
      expect(list().imageIds).toEqual([{ imageDigest: digest, imageTag: 'v2' }]);
      world.call('BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageTag: 'v2' }] });
      expect(list().imageIds).toEqual([]);

      const again = putImage(world, 'app', manifest, 'a');
      putImage(world, 'app', manifest, 'b');
      expect(world.call('BatchDeleteImage', { repositoryName: 'app', imageIds: [{ imageDigest: again }, { imageTag: 'gone' }] })).toEqual({
        imageIds: [{ imageDigest: again, imageTag: 'a' }, { imageDigest: again, imageTag: 'b' }],
        failures: [{ imageId: { imageTag: 'gone' }, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' }],
      });
      expect(world.ecr.inspect.storedObjects().filter((o) => o.kind === 'manifest')).toEqual([]);
    });
  });

  describe('ListImageReferrers', () => {
    it('lists referrers of a subject with artifact type filters and paging', () => {
      const subject = putImage(world, 'app', imageManifest(world, 'app', 'subject'), 'v1');
      const subjectSize = Buffer.byteLength((get([{ imageDigest: subject }]).images[0]?.imageManifest ?? ''), 'utf8');
      const empty = uploadBlob(world, 'app', Buffer.from('{}'));
      const referrer = (artifactType: string, seed: string): string =>
        putImage(
          world,
          'app',
          JSON.stringify({
            schemaVersion: 2,
            mediaType: OCI_MANIFEST,
            artifactType,
            config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
            layers: [],
            subject: { mediaType: OCI_MANIFEST, digest: subject, size: subjectSize },
            annotations: { seed },
          }),
        );
      const sig = referrer('application/vnd.dev.cosign.artifact.sig.v1+json', 's');
      const sbom = referrer('application/spdx+json', 'b');
      const result = world.call('ListImageReferrers', { repositoryName: 'app', subjectId: { imageDigest: subject } }) as {
        referrers: { digest: string; artifactType: string; size: number; annotations: Record<string, string>; artifactStatus: string; mediaType: string }[];
      };
      expect(result.referrers.map((r) => r.digest)).toEqual([sig, sbom]);
      expect(result.referrers[0]).toMatchObject({ mediaType: OCI_MANIFEST, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', annotations: { seed: 's' }, artifactStatus: 'ACTIVE' });
      expect(result.referrers[0]?.size).toBeGreaterThan(100);
      const filtered = world.call('ListImageReferrers', {
        repositoryName: 'app',
        subjectId: { imageDigest: subject },
        filter: { artifactTypes: ['application/spdx+json'] },
      }) as { referrers: { digest: string }[] };
      expect(filtered.referrers.map((r) => r.digest)).toEqual([sbom]);
      const paged = world.call('ListImageReferrers', { repositoryName: 'app', subjectId: { imageDigest: subject }, maxResults: 1 }) as { nextToken?: string };
      expect(paged.nextToken).toBeDefined();
      apiError(() => world.call('ListImageReferrers', { repositoryName: 'app', subjectId: { imageDigest: subject }, maxResults: 51 }), 'InvalidParameterException');
      expect(describeAll({ imageIds: [{ imageDigest: sig }] }).imageDetails[0]?.subjectManifestDigest).toBe(subject);
      expect(world.authorizer.calls.at(-1)?.action).toBe('ecr:DescribeImages');
      expect(world.authorizer.calls.filter((c) => c.action === 'ecr:BatchGetImage').length).toBeGreaterThan(0);
    });
  });

  describe('snapshot and restore', () => {
    it('reloads every image and blob from the snapshot and the files', () => {
      const keyArn = world.kms.addKey().arn;
      world.call('CreateRepository', { repositoryName: 'secure', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn } });
      const manifest = imageManifest(world, 'app', 'one');
      putImage(world, 'app', manifest, 'v1');
      putImage(world, 'secure', imageManifest(world, 'secure', 'two'), 'v1');
      world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: '{"Statement":[]}' });
      const reopened = world.reopen();
      expect(reopened.ecr.inspect.repositories()).toEqual(world.ecr.inspect.repositories());
      expect(reopened.ecr.inspect.storedObjects()).toEqual(world.ecr.inspect.storedObjects());
      const pulled = reopened.call('BatchGetImage', { repositoryName: 'app', imageIds: [{ imageTag: 'v1' }] }) as unknown as BatchGet;
      expect(pulled.images[0]?.imageManifest).toBe(manifest);
      expect(reopened.call('GetRepositoryPolicy', { repositoryName: 'app' })).toMatchObject({ policyText: '{"Statement":[]}' });
      expect(() => reopened.call('CreateRepository', { repositoryName: 'third' })).not.toThrow();
      expect(() => reopened.ecr.restore({ version: 99 })).toThrow();
    });
  });
});
