/**
 * The emulator's registry API (`/v2/`) spoken over HTTP as a registry client would (fetch, no
 * library code): chunked and monolithic uploads, cross-repository mounts, manifests with content
 * negotiation, blobs with ranges, tags with pagination, DELETE, body caps, each call authorized as
 * its ECR action — and one store with the ECR JSON API.
 */
import { createHash } from 'node:crypto';
import { BatchCheckLayerAvailabilityCommand, DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

describe('the registry API (/v2/) over HTTP', () => {
  let aws: LocalAws;
  let library: EncryptedRegistry;
  let keyArn: string;
  let auth: string;

  const login = async (client: ECRClient): Promise<string> => {
    const token = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
    return `Basic ${token}`;
  };

  const call = async (method: string, path: string, options: { body?: Uint8Array | string; headers?: Record<string, string>; as?: string } = {}): Promise<Answer> => {
    const url = path.startsWith('http') ? path : `${aws.endpoint}${path}`;
    const answer = await fetch(url, {
      method,
      redirect: 'manual',
      headers: { authorization: options.as ?? auth, ...options.headers },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
    return { status: answer.status, headers: answer.headers, body: Buffer.from(await answer.arrayBuffer()) };
  };
  const errorOf = (answer: Answer): { code: string; message: string } =>
    (JSON.parse(answer.body.toString('utf8')) as { errors: { code: string; message: string }[] }).errors[0] ?? { code: '', message: '' };

  const pushBlob = async (repository: string, bytes: Uint8Array): Promise<string> => {
    const digest = sha256(bytes);
    const answer = await call('POST', `/v2/${repository}/blobs/uploads/?digest=${digest}`, { body: bytes });
    expect(answer.status, answer.body.toString()).toBe(201);
    return digest;
  };
  const manifestOf = (config: string, configSize: number, layers: readonly { digest: string; size: number }[]): string =>
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: configSize },
      layers: layers.map((layer) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer })),
    });

  beforeAll(async () => {
    aws = await startLocalAws();
    library = registryFor(aws);
    keyArn = (await createKey(kmsFor(aws))).arn;
    for (const name of ['reg/a', 'reg/b']) (await library.createEncryptedRepository({ repositoryName: name, encryption: { type: 'KMS', key: keyArn } }))._unsafeUnwrap();
    const other = (await createKey(kmsFor(aws))).arn;
    (await library.createEncryptedRepository({ repositoryName: 'reg/other-key', encryption: { type: 'KMS', key: other } }))._unsafeUnwrap();
    auth = await login(new ECRClient(aws.clientConfig()));
  });
  afterAll(async () => {
    library.destroy();
    await aws.stop();
  });

  it('answers GET /v2/ with 200 and the API version header once logged in', async () => {
    const answer = await call('GET', '/v2/');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('docker-distribution-api-version')).toBe('registry/2.0');
  });

  it('takes a chunked upload in order (Location, Docker-Upload-UUID, Range), refuses a chunk out of order, completes on PUT with a last chunk', async () => {
    const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => i % 251));
    const started = await call('POST', '/v2/reg/a/blobs/uploads/');
    expect(started.status).toBe(202);
    const location = started.headers.get('location') ?? '';
    const uploadId = started.headers.get('docker-upload-uuid') ?? '';
    expect(location).toBe(`/v2/reg/a/blobs/uploads/${uploadId}`);
    expect(started.headers.get('range')).toBe('0-0');

    const first = await call('PATCH', location, { body: bytes.subarray(0, 1000), headers: { 'content-range': '0-999', 'content-type': 'application/octet-stream' } });
    expect(first.status).toBe(202);
    expect(first.headers.get('range')).toBe('0-999');
    const wrong = await call('PATCH', location, { body: bytes.subarray(1500, 2000), headers: { 'content-range': '1500-1999' } });
    expect(wrong.status).toBe(416);
    expect(errorOf(wrong).code).toBe('BLOB_UPLOAD_INVALID');
    const second = await call('PATCH', location, { body: bytes.subarray(1000, 2000) });
    expect(second.headers.get('range')).toBe('0-1999');
    const status = await call('GET', location);
    expect(status.status).toBe(204);
    expect(status.headers.get('range')).toBe('0-1999');

    const digest = sha256(bytes);
    const done = await call('PUT', `${location}?digest=${digest}`, { body: bytes.subarray(2000) });
    expect(done.status).toBe(201);
    expect(done.headers.get('docker-content-digest')).toBe(digest);
    expect(done.headers.get('location')).toBe(`/v2/reg/a/blobs/${digest}`);

    // One store: the JSON API sees the layer the registry API received.
    const ecr = new ECRClient(aws.clientConfig());
    const checked = await ecr.send(new BatchCheckLayerAvailabilityCommand({ repositoryName: 'reg/a', layerDigests: [digest] }));
    expect(checked.layers?.[0]).toMatchObject({ layerAvailability: 'AVAILABLE', layerSize: 3000 });
    const head = await call('HEAD', `/v2/reg/a/blobs/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('3000');
    expect(head.headers.get('docker-content-digest')).toBe(digest);
    expect((await call('HEAD', `/v2/reg/a/blobs/sha256:${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('refuses a monolithic upload whose digest is not of its bytes (DIGEST_INVALID) and stores nothing', async () => {
    const answer = await call('POST', `/v2/reg/a/blobs/uploads/?digest=sha256:${'1'.repeat(64)}`, { body: 'not those bytes' });
    expect(answer.status).toBe(400);
    expect(errorOf(answer).code).toBe('DIGEST_INVALID');
    expect(aws.inspect.ecr?.storedObjects(aws.region, 'reg/a').some((o) => o.digest === `sha256:${'1'.repeat(64)}`)).toBe(false);
  });

  it('takes a monolithic upload sent as curl -d sends it (form content type), not as a Query API call', async () => {
    const bytes = Buffer.from('sent by curl --data-binary');
    const digest = sha256(bytes);
    const answer = await call('POST', `/v2/reg/a/blobs/uploads/?digest=${digest}`, { body: bytes, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(answer.status).toBe(201);
    expect(answer.headers.get('docker-content-digest')).toBe(digest);
  });

  it('stores a manifest PUT by tag as the image DescribeImages lists, serves it by tag and digest with content negotiation, and its blobs by redirect with ranges', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const layer = Buffer.from('layer bytes '.repeat(100));
    const configDigest = await pushBlob('reg/a', config);
    const layerDigest = await pushBlob('reg/a', layer);
    const manifest = manifestOf(configDigest, config.length, [{ digest: layerDigest, size: layer.length }]);
    const digest = sha256(Buffer.from(manifest));

    const put = await call('PUT', '/v2/reg/a/manifests/v1', { body: manifest, headers: { 'content-type': OCI_MANIFEST } });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(digest);
    // Pushing it again is not an error.
    expect((await call('PUT', '/v2/reg/a/manifests/v1', { body: manifest, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);

    const described = await new ECRClient(aws.clientConfig()).send(new DescribeImagesCommand({ repositoryName: 'reg/a' }));
    expect(described.imageDetails?.find((d) => d.imageDigest === digest)).toMatchObject({ imageTags: ['v1'], imageManifestMediaType: OCI_MANIFEST });
    expect(aws.inspect.ecr?.storedObjects(aws.region, 'reg/a').every((o) => o.encryptedWith === keyArn)).toBe(true);

    const byTag = await call('GET', '/v2/reg/a/manifests/v1', { headers: { accept: `${OCI_MANIFEST}, application/vnd.oci.image.index.v1+json` } });
    expect(byTag.status).toBe(200);
    expect(byTag.body.toString('utf8')).toBe(manifest);
    expect(byTag.headers.get('content-type')).toBe(OCI_MANIFEST);
    expect(byTag.headers.get('docker-content-digest')).toBe(digest);
    const head = await call('HEAD', `/v2/reg/a/manifests/${digest}`);
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(Buffer.byteLength(manifest)));
    const refused = await call('GET', '/v2/reg/a/manifests/v1', { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
    expect(refused.status).toBe(404);
    expect(errorOf(refused).code).toBe('MANIFEST_UNKNOWN');
    expect(errorOf(await call('GET', '/v2/reg/a/manifests/nope')).code).toBe('MANIFEST_UNKNOWN');

    const redirect = await call('GET', `/v2/reg/a/blobs/${layerDigest}`);
    expect(redirect.status).toBe(307);
    const url = redirect.headers.get('location') ?? '';
    const whole = await fetch(url);
    expect(Buffer.from(await whole.arrayBuffer()).equals(layer)).toBe(true);
    const part = await fetch(url, { headers: { range: 'bytes=5-24' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 5-24/${String(layer.length)}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(layer.subarray(5, 25))).toBe(true);
    const tail = await fetch(url, { headers: { range: 'bytes=-7' } });
    expect(Buffer.from(await tail.arrayBuffer()).equals(layer.subarray(layer.length - 7))).toBe(true);
    expect((await fetch(url, { headers: { range: `bytes=${String(layer.length)}-` } })).status).toBe(416);
  });

  it('refuses a manifest whose blobs are missing (MANIFEST_BLOB_UNKNOWN) and one above ECR\'s 4 MiB (413)', async () => {
    const missing = manifestOf(`sha256:${'2'.repeat(64)}`, 2, []);
    const answer = await call('PUT', '/v2/reg/a/manifests/broken', { body: missing, headers: { 'content-type': OCI_MANIFEST } });
    expect(answer.status).toBe(400);
    expect(errorOf(answer).code).toBe('MANIFEST_BLOB_UNKNOWN');
    const huge = await call('PUT', '/v2/reg/a/manifests/huge', { body: Buffer.alloc(4_194_305, 0x20), headers: { 'content-type': OCI_MANIFEST } });
    expect(huge.status).toBe(413);
  });

  it('lists tags in order, n at a time with a Link to the next page', async () => {
    const config = Buffer.from('{"os":"linux","tags":true}');
    const configDigest = await pushBlob('reg/b', config);
    for (const tag of ['c', 'a', 'b', 'd']) {
      const manifest = JSON.stringify({ ...JSON.parse(manifestOf(configDigest, config.length, [])), annotations: { tag } });
      expect((await call('PUT', `/v2/reg/b/manifests/${tag}`, { body: manifest, headers: { 'content-type': OCI_MANIFEST } })).status).toBe(201);
    }
    const first = await call('GET', '/v2/reg/b/tags/list?n=3');
    expect(JSON.parse(first.body.toString())).toEqual({ name: 'reg/b', tags: ['a', 'b', 'c'] });
    expect(first.headers.get('link')).toBe('</v2/reg/b/tags/list?n=3&last=c>; rel="next"');
    const next = await call('GET', '/v2/reg/b/tags/list?n=3&last=c');
    expect(JSON.parse(next.body.toString())).toEqual({ name: 'reg/b', tags: ['d'] });
    expect(next.headers.get('link')).toBeNull();

    // DELETE by tag removes the tag (the image too when it was its last), as BatchDeleteImage does.
    expect((await call('DELETE', '/v2/reg/b/manifests/d')).status).toBe(202);
    expect(JSON.parse((await call('GET', '/v2/reg/b/tags/list')).body.toString())).toEqual({ name: 'reg/b', tags: ['a', 'b', 'c'] });
    expect((await call('DELETE', '/v2/reg/b/manifests/d')).status).toBe(404);
    expect((await call('DELETE', `/v2/reg/b/blobs/${configDigest}`)).status).toBe(405);
  });

  it('mounts a blob from a repository under the same key (re-sealed under the target\'s context), not from one under another key', async () => {
    const bytes = Buffer.from('shared layer '.repeat(50));
    const digest = await pushBlob('reg/a', bytes);
    const mounted = await call('POST', `/v2/reg/b/blobs/uploads/?mount=${digest}&from=reg/a`);
    expect(mounted.status).toBe(201);
    expect(mounted.headers.get('docker-content-digest')).toBe(digest);
    expect(aws.inspect.ecr?.storedObjects(aws.region, 'reg/b').find((o) => o.digest === digest)).toMatchObject({ encryptedWith: keyArn, size: bytes.length });
    const notMounted = await call('POST', `/v2/reg/other-key/blobs/uploads/?mount=${digest}&from=reg/a`);
    expect(notMounted.status).toBe(202);
    expect(notMounted.headers.get('location')).toMatch(/^\/v2\/reg\/other-key\/blobs\/uploads\//);
  });

  it('authorizes each call as its ECR action: a puller may pull, not push', async () => {
    const puller = aws.principals.createUser('puller', {
      policies: [allow([['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability']])],
    });
    const as = await login(new ECRClient(aws.clientConfig({ credentials: puller.credentials })));
    expect((await call('GET', '/v2/reg/a/manifests/v1', { as })).status).toBe(200);
    const push = await call('POST', '/v2/reg/a/blobs/uploads/', { as });
    expect(push.status).toBe(403);
    expect(errorOf(push)).toMatchObject({ code: 'DENIED' });
    expect(errorOf(push).message).toContain(`is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:${aws.region}:${aws.account}:repository/reg/a`);
    const tags = await call('GET', '/v2/reg/a/tags/list', { as });
    expect(errorOf(tags).message).toContain('ecr:ListImages');
    const missing = await call('GET', '/v2/reg/none/manifests/v1');
    expect(missing.status).toBe(404);
    expect(errorOf(missing).code).toBe('NAME_UNKNOWN');
  });

  it('refuses a password it did not issue, and a user other than AWS, with 401 and the challenge', async () => {
    for (const credentials of ['AWS:forged.password', `someone:${Buffer.from(auth.slice(6), 'base64').toString().slice(4)}`]) {
      const answer = await call('GET', '/v2/', { as: `Basic ${Buffer.from(credentials).toString('base64')}` });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toMatch(/^Basic realm="https:\/\/127\.0\.0\.1:\d+\/",service="ecr\.amazonaws\.com"$/);
    }
  });
});

describe('the registry API through a VPC endpoint (ecr.dkr)', () => {
  it('applies the endpoint\'s policy to registry calls sent to its port, and not to those sent to the main one', async () => {
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Resource: '*' }] } as const;
    const aws = await startLocalAws({ vpcEndpoints: { 'vpce-0dkr': { service: 'ecr.dkr', policy } } });
    try {
      const library = registryFor(aws);
      (await library.createEncryptedRepository({ repositoryName: 'vpce/app', encryption: { type: 'AES256' } }))._unsafeUnwrap();
      library.destroy();
      const token = (await new ECRClient(aws.clientConfig()).send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
      const headers = { authorization: `Basic ${token}` };
      const direct = await fetch(`${aws.endpoint}/v2/vpce/app/tags/list`, { headers });
      expect(direct.status).toBe(200);
      const through = await fetch(`${aws.network.endpointFor('vpce-0dkr')}/v2/vpce/app/tags/list`, { headers });
      expect(through.status).toBe(403);
      const body = (await through.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]?.code).toBe('DENIED');
      expect(body.errors[0]?.message).toContain('ecr:ListImages');
    } finally {
      await aws.stop();
    }
  });
});
