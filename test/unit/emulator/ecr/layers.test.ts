import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ACCOUNT, apiError, createWorld, imageManifest, putImage, REGION, sha256, uploadBlob, type World } from './helpers.js';

const MiB = 1024 * 1024;

/** Every file under a directory, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );

describe('ECR layer uploads', () => {
  let world: World;
  beforeEach(() => {
    world = createWorld();
    world.call('CreateRepository', { repositoryName: 'app' });
  });
  afterEach(() => world.cleanup());

  const initiate = (repositoryName = 'app'): string =>
    (world.call('InitiateLayerUpload', { repositoryName }) as { uploadId: string }).uploadId;

  const part = (uploadId: string, first: number, data: Buffer, last = first + data.length - 1): Record<string, unknown> =>
    world.call('UploadLayerPart', {
      repositoryName: 'app',
      uploadId,
      partFirstByte: first,
      partLastByte: last,
      layerPartBlob: data.toString('base64'),
    });

  it('announces the part size and acknowledges parts', () => {
    expect(world.call('InitiateLayerUpload', { repositoryName: 'app' })).toEqual({ uploadId: expect.any(String) as string, partSize: 10_485_760 });
    const uploadId = initiate();
    expect(part(uploadId, 0, Buffer.from('abc'))).toEqual({ registryId: ACCOUNT, repositoryName: 'app', uploadId, lastByteReceived: 2 });
    apiError(() => world.call('InitiateLayerUpload', { repositoryName: 'nope' }), 'RepositoryNotFoundException');
  });

  it('accepts only the next byte, reporting the last valid byte', () => {
    const uploadId = initiate();
    const first = apiError(() => part(uploadId, 1, Buffer.from('abc')), 'InvalidLayerPartException');
    expect(first.fields).toEqual({ registryId: ACCOUNT, repositoryName: 'app', uploadId, lastValidByteReceived: -1 });
    part(uploadId, 0, Buffer.from('abc'));
    expect(apiError(() => part(uploadId, 0, Buffer.from('def')), 'InvalidLayerPartException').fields).toMatchObject({ lastValidByteReceived: 2 });
    expect(apiError(() => part(uploadId, 5, Buffer.from('def')), 'InvalidLayerPartException').fields).toMatchObject({ lastValidByteReceived: 2 });
    apiError(() => part(uploadId, 3, Buffer.from('def'), 9), 'InvalidLayerPartException');
    apiError(() => part(uploadId, 3, Buffer.alloc(0), 2), 'InvalidLayerPartException');
    // Refused parts change nothing: the upload continues where it was.
    expect(part(uploadId, 3, Buffer.from('def'))).toMatchObject({ lastByteReceived: 5 });
  });

  it('refuses parts above 20,971,520 bytes and unknown uploads', () => {
    const uploadId = initiate();
    apiError(() => part(uploadId, 0, Buffer.alloc(20_971_521)), 'InvalidLayerPartException');
    apiError(() => part('00000000-0000-0000-0000-000000000000', 0, Buffer.from('a')), 'UploadNotFoundException');
    apiError(() => part('constructor', 0, Buffer.from('a')), 'UploadNotFoundException');
    apiError(
      () => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: 'nope', layerDigests: [sha256('a')] }),
      'UploadNotFoundException',
    );
  });

  it('completes multi-part uploads whose non-last parts are at least 5 MiB', () => {
    const data = randomBytes(5 * MiB + 1000);
    const digest = uploadBlob(world, 'app', data, 5 * MiB);
    expect(world.ecr.inspect.storedObjects()).toEqual([
      { region: REGION, repositoryName: 'app', digest, kind: 'blob', size: data.length, encryptedWith: 'AES256' },
    ]);
  });

  it('refuses small non-last parts, empty uploads and wrong digests, keeping the upload', () => {
    const small = initiate();
    part(small, 0, Buffer.alloc(1000, 1));
    part(small, 1000, Buffer.alloc(1000, 2));
    apiError(
      () => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: small, layerDigests: [sha256(Buffer.alloc(2000))] }),
      'LayerPartTooSmallException',
    );
    const empty = initiate();
    apiError(() => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: empty, layerDigests: [sha256('')] }), 'EmptyUploadException');
    const wrong = initiate();
    part(wrong, 0, Buffer.from('hello'));
    apiError(() => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: wrong, layerDigests: [sha256('other')] }), 'InvalidLayerException');
    apiError(() => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: wrong, layerDigests: ['nodigest'] }), 'InvalidParameterException');
    // The running hash was spent on the failed attempt; the digest is recomputed from the part file.
    expect(world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: wrong, layerDigests: [sha256('hello')] })).toMatchObject({
      layerDigest: sha256('hello'),
    });
    expect(world.ecr.inspect.storedObjects().map((o) => o.digest)).toEqual([sha256('hello')]);
  });

  it('reports a layer that is already there, and ends that upload', () => {
    uploadBlob(world, 'app', Buffer.from('same'));
    const again = initiate();
    part(again, 0, Buffer.from('same'));
    apiError(() => world.call('CompleteLayerUpload', { repositoryName: 'app', uploadId: again, layerDigests: [sha256('same')] }), 'LayerAlreadyExistsException');
    apiError(() => part(again, 4, Buffer.from('x')), 'UploadNotFoundException');
  });

  it('stores blobs encrypted in files and removes the part file', () => {
    const secret = Buffer.from('plaintext layer that must not appear on disk '.repeat(100));
    uploadBlob(world, 'app', secret);
    const files = filesUnder(join(world.dataDir, 'ecr')).filter((file) => !file.endsWith('.key'));
    expect(files).toHaveLength(1);
    expect(files[0]).toContain('/blobs/');
    const stored = readFileSync(files[0]!);
    expect(stored.length).toBe(secret.length);
    expect(stored.includes(Buffer.from('plaintext layer'))).toBe(false);
  });

  it('keeps blobs per repository', () => {
    world.call('CreateRepository', { repositoryName: 'other' });
    const digest = uploadBlob(world, 'app', Buffer.from('mine'));
    expect(world.call('BatchCheckLayerAvailability', { repositoryName: 'other', layerDigests: [digest] })).toEqual({
      layers: [{ layerDigest: digest, layerAvailability: 'UNAVAILABLE' }],
      failures: [],
    });
  });

  it('resumes an upload after a restart', () => {
    const data = randomBytes(5 * MiB + 10);
    const uploadId = initiate();
    part(uploadId, 0, data.subarray(0, 5 * MiB));
    const reopened = world.reopen();
    reopened.call('UploadLayerPart', {
      repositoryName: 'app',
      uploadId,
      partFirstByte: 5 * MiB,
      partLastByte: data.length - 1,
      layerPartBlob: data.subarray(5 * MiB).toString('base64'),
    });
    expect(reopened.call('CompleteLayerUpload', { repositoryName: 'app', uploadId, layerDigests: [sha256(data)] })).toMatchObject({
      layerDigest: sha256(data),
    });
  });

  describe('in a KMS repository', () => {
    let keyArn: string;
    beforeEach(() => {
      keyArn = world.kms.addKey().arn;
      world.call('CreateRepository', { repositoryName: 'secure', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn } });
    });

    it('encrypts each blob under a data key with the repository and object context', () => {
      const digest = uploadBlob(world, 'secure', Buffer.from('layer'));
      const [call] = world.kms.callsOf('generateDataKey');
      const repoArn = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/secure`;
      expect(call?.args[0]).toBe(REGION);
      expect(call?.args[1]).toBe(keyArn);
      expect(call?.args[2]).toEqual({
        'aws:ecr:arn': repoArn,
        'aws:s3:arn': expect.stringMatching(new RegExp(`^arn:aws:s3:::${REGION}-starport-layer-bucket/[0-9a-f-]{36}/${digest}$`)) as string,
      });
      expect(world.ecr.inspect.storedObjects(REGION, 'secure')).toEqual([
        { region: REGION, repositoryName: 'secure', digest, kind: 'blob', size: 5, encryptedWith: keyArn },
      ]);
    });

    it('answers KmsException when the key is disabled, and stores nothing', () => {
      world.kms.setState(keyArn, 'Disabled');
      const uploadId = (world.call('InitiateLayerUpload', { repositoryName: 'secure' }) as { uploadId: string }).uploadId;
      world.call('UploadLayerPart', { repositoryName: 'secure', uploadId, partFirstByte: 0, partLastByte: 0, layerPartBlob: 'YQ==' });
      const error = apiError(
        () => world.call('CompleteLayerUpload', { repositoryName: 'secure', uploadId, layerDigests: [sha256('a')] }),
        'KmsException',
      );
      expect(error.fields).toEqual({ kmsError: 'DisabledException' });
      expect(world.ecr.inspect.storedObjects(REGION, 'secure')).toEqual([]);
      world.kms.setState(keyArn, 'Enabled');
      world.call('CompleteLayerUpload', { repositoryName: 'secure', uploadId, layerDigests: [sha256('a')] });
      expect(world.ecr.inspect.storedObjects(REGION, 'secure')).toHaveLength(1);
    });
  });

  describe('BatchCheckLayerAvailability', () => {
    it('reports available, unavailable, archived and malformed digests', () => {
      const manifest = imageManifest(world, 'app', 'one');
      const image = putImage(world, 'app', manifest, 'v1');
      const layer = (JSON.parse(manifest) as { layers: { digest: string }[] }).layers[0]!.digest;
      const loose = uploadBlob(world, 'app', Buffer.from('loose'));
      const missing = sha256('missing');
      expect(world.call('BatchCheckLayerAvailability', { repositoryName: 'app', layerDigests: [layer, loose, missing, 'bad', ''] })).toEqual({
        layers: [
          { layerDigest: layer, layerAvailability: 'AVAILABLE', layerSize: 19, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip' },
          { layerDigest: loose, layerAvailability: 'AVAILABLE', layerSize: 5 },
          { layerDigest: missing, layerAvailability: 'UNAVAILABLE' },
        ],
        failures: [
          { layerDigest: 'bad', failureCode: 'InvalidLayerDigest', failureReason: 'Invalid layer digest' },
          { layerDigest: '', failureCode: 'MissingLayerDigest', failureReason: 'The layer digest is missing' },
        ],
      });
      world.call('UpdateImageStorageClass', { repositoryName: 'app', imageId: { imageDigest: image }, targetStorageClass: 'ARCHIVE' });
      expect(world.call('BatchCheckLayerAvailability', { repositoryName: 'app', layerDigests: [layer] })).toMatchObject({
        layers: [{ layerDigest: layer, layerAvailability: 'ARCHIVED' }],
      });
      apiError(
        () => world.call('BatchCheckLayerAvailability', { repositoryName: 'app', layerDigests: Array(101).fill(layer) }),
        'InvalidParameterException',
      );
    });
  });
});

describe('ECR layer downloads', () => {
  let server: Server;
  let baseUrl = '';
  let world: World;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const route = world.ecr.routes.find((r) => r.matches(req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/'));
      if (route === undefined) {
        res.writeHead(404).end();
        return;
      }
      route.handle(req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    world = createWorld({ baseUrl });
  });
  afterEach(() => world.cleanup());

  const setUp = (repositoryName: string, layer: Buffer): string => {
    const config = uploadBlob(world, repositoryName, Buffer.from('{"os":"linux"}'));
    const digest = uploadBlob(world, repositoryName, layer, layer.length > 5 * MiB ? 5 * MiB : layer.length);
    putImage(
      world,
      repositoryName,
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: config, size: 14 },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest, size: layer.length }],
      }),
      'v1',
    );
    return digest;
  };

  const urlFor = (repositoryName: string, layerDigest: string): string =>
    (world.call('GetDownloadUrlForLayer', { repositoryName, layerDigest }) as { downloadUrl: string }).downloadUrl;

  it('streams the decrypted bytes of a referenced layer', async () => {
    world.call('CreateRepository', { repositoryName: 'app' });
    const layer = randomBytes(6 * MiB);
    const digest = setUp('app', layer);
    const result = world.call('GetDownloadUrlForLayer', { repositoryName: 'app', layerDigest: digest });
    expect(result).toEqual({ downloadUrl: expect.stringMatching(new RegExp(`^${baseUrl}/__ecr-blob/[0-9a-f]{64}$`)) as string, layerDigest: digest });
    const response = await fetch((result as { downloadUrl: string }).downloadUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe(String(layer.length));
    expect(response.headers.get('x-amz-server-side-encryption')).toBe('AES256');
    const body = Buffer.from(await response.arrayBuffer());
    expect(sha256(body)).toBe(digest);
    const head = await fetch(urlFor('app', digest), { method: 'HEAD' });
    expect(head.status).toBe(200);
  });

  it('refuses layers that are missing or not referenced by an active image', () => {
    world.call('CreateRepository', { repositoryName: 'app' });
    apiError(() => urlFor('app', sha256('nothing')), 'LayersNotFoundException');
    const loose = uploadBlob(world, 'app', Buffer.from('loose'));
    apiError(() => urlFor('app', loose), 'LayerInaccessibleException');
    apiError(() => urlFor('app', 'not-a-digest'), 'InvalidParameterException');
    const digest = setUp('app', Buffer.from('layer'));
    world.call('UpdateImageStorageClass', { repositoryName: 'app', imageId: { imageTag: 'v1' }, targetStorageClass: 'ARCHIVE' });
    apiError(() => urlFor('app', digest), 'LayerInaccessibleException');
  });

  it('expires after 10 minutes of emulator time', async () => {
    world.call('CreateRepository', { repositoryName: 'app' });
    const digest = setUp('app', Buffer.from('layer'));
    const url = urlFor('app', digest);
    world.clock.advance(10 * 60 * 1000);
    expect((await fetch(url)).status).toBe(200);
    world.clock.advance(1);
    const expired = await fetch(url);
    expect(expired.status).toBe(403);
    expect(await expired.text()).toContain('Request has expired');
    expect((await fetch(`${baseUrl}/__ecr-blob/unknown`)).status).toBe(403);
  });

  it('decrypts through KMS on every download: a disabled key or retired grant breaks it', async () => {
    const keyArn = world.kms.addKey().arn;
    world.call('CreateRepository', { repositoryName: 'secure', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn } });
    const layer = Buffer.from('kms layer');
    const digest = setUp('secure', layer);
    const url = urlFor('secure', digest);
    const ok = await fetch(url);
    expect(ok.headers.get('x-amz-server-side-encryption-aws-kms-key-id')).toBe(keyArn);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(layer);
    expect(world.kms.callsOf('decrypt').at(-1)?.args[3]).toMatchObject({ 'aws:ecr:arn': `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/secure` });

    world.kms.setState(keyArn, 'Disabled');
    const disabled = await fetch(url);
    expect(disabled.status).toBe(400);
    expect(await disabled.text()).toContain('KMS.DisabledException');

    world.kms.setState(keyArn, 'Enabled');
    for (const grant of world.kms.grants) grant.retired = true;
    const denied = await fetch(url);
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('KMS.AccessDeniedException');
  });

  it('survives a restart, and stops once the repository and its files are gone', async () => {
    world.call('CreateRepository', { repositoryName: 'app' });
    const digest = setUp('app', Buffer.from('layer'));
    const url = urlFor('app', digest);
    world = world.reopen();
    expect((await fetch(url)).status).toBe(200);
    world.call('DeleteRepository', { repositoryName: 'app', force: true });
    expect((await fetch(url)).status).toBe(403);
    expect(filesUnder(join(world.dataDir, 'ecr')).filter((file) => !file.endsWith('.key'))).toEqual([]);
  });
});
