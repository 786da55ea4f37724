/**
 * skopeo (Debian's package; `.ci/run` installs it) against the emulator's registry API (`/v2/`):
 * copies a multi-arch OCI index, a Docker v2 image and an OCI artifact with a referrer into a
 * KMS-encrypted repository and back, with identical digests; the ECR JSON API lists what skopeo
 * pushed, `migrateRepository` moves it, and skopeo pulls it back byte-identical. Logins are refused
 * as ECR refuses them: none, expired (the emulator's clock), another account's principal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient, GetAuthorizationTokenCommand, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryJournal, type EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, manualClock, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor, registryFor } from '../helpers/local-aws.js';
import { blobIn, OciLayout, readDirImage, sha256, taggedIn, writeDirImage, type Descriptor } from './oci-layout.js';
import { available, skopeo, type Run } from './tools.js';

const OUTSIDER = '444455556666';

/** A GET with headers fetch would not send (Host). */
const get = (aws: LocalAws, path: string, headers: Readonly<Record<string, string>>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
  new Promise((resolve, reject) => {
    const request = httpRequest(`${aws.endpoint}${path}`, { headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });

const ok = (result: Run): Run => {
  if (result.code !== 0) throw new Error(`skopeo exit ${String(result.code)}: ${result.stderr}`);
  return result;
};

describe.runIf(available('skopeo'))('skopeo against the registry API', { timeout: 300_000 }, () => {
  const clock = manualClock(new Date());
  const work = mkdtempSync(join(tmpdir(), 'skopeo-test-'));
  let aws: LocalAws;
  let library: EncryptedRegistry;
  let ecr: ECRClient;
  let keyArn: string;
  let password: string;
  let host: string;
  const source = join(work, 'source');
  const layout = new OciLayout(source);
  const dockerDir = join(work, 'docker-source');
  let amd64: Descriptor;
  let index: Descriptor;
  let docker: Descriptor;
  let sbom: Descriptor;

  const loginOf = async (client: ECRClient): Promise<string> => {
    const answer = await client.send(new GetAuthorizationTokenCommand({}));
    const token = answer.authorizationData?.[0]?.authorizationToken ?? '';
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    expect(decoded.startsWith('AWS:')).toBe(true);
    return decoded.slice('AWS:'.length);
  };

  const push = (from: string, to: string, ...extra: string[]): Promise<Run> =>
    skopeo(work, 'copy', '--all', '--preserve-digests', '--dest-tls-verify=false', '--dest-creds', `AWS:${password}`, ...extra, from, `docker://${host}/${to}`);
  const pull = (from: string, to: string): Promise<Run> =>
    skopeo(work, 'copy', '--all', '--preserve-digests', '--src-tls-verify=false', '--src-creds', `AWS:${password}`, `docker://${host}/${from}`, to);

  beforeAll(async () => {
    aws = await startLocalAws({ clock, accounts: ['111122223333', OUTSIDER] });
    host = aws.endpoint.replace('http://', '');
    library = registryFor(aws);
    ecr = new ECRClient(aws.clientConfig());
    keyArn = (await createKey(kmsFor(aws))).arn;
    (await library.createEncryptedRepository({ repositoryName: 'oci/app', encryption: { type: 'KMS', key: keyArn } }))._unsafeUnwrap();
    password = await loginOf(ecr);

    amd64 = layout.image(1, { architecture: 'amd64' });
    const arm64 = layout.image(2, { architecture: 'arm64' });
    index = layout.index([amd64, arm64]);
    layout.tag(index, 'multi');
    docker = layout.image(3, { flavour: 'docker', layers: 3 });
    writeDirImage(source, docker, dockerDir);
    layout.tag(amd64, 'amd64');
    sbom = layout.artifact(amd64, 'application/vnd.example.sbom.v1', '{"spdxVersion":"SPDX-2.3"}');
    layout.tag(sbom, 'sbom');
  });
  afterAll(async () => {
    library.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('copies a multi-arch index, a Docker v2 image and an artifact in, and back with the same digests', async () => {
    for (const tag of ['multi', 'amd64', 'sbom']) ok(await push(`oci:${source}:${tag}`, `oci/app:${tag}`));
    ok(await push(`dir:${dockerDir}`, 'oci/app:docker'));

    // The ECR API lists what skopeo pushed, digests and tags as pushed.
    const described = await ecr.send(new DescribeImagesCommand({ repositoryName: 'oci/app' }));
    const byDigest = new Map((described.imageDetails ?? []).map((d) => [d.imageDigest, d]));
    expect(byDigest.get(index.digest)?.imageTags).toEqual(['multi']);
    expect(byDigest.get(index.digest)?.imageManifestMediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(byDigest.get(docker.digest)?.imageManifestMediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(byDigest.get(sbom.digest)?.subjectManifestDigest).toBe(amd64.digest);

    // Stored encrypted under the repository's key: every blob and manifest.
    const stored = aws.inspect.ecr?.storedObjects(aws.region, 'oci/app') ?? [];
    expect(stored.length).toBeGreaterThan(10);
    expect(stored.every((object) => object.encryptedWith === keyArn)).toBe(true);

    for (const tag of ['multi', 'sbom']) {
      const out = join(work, `back-${tag}`);
      ok(await pull(`oci/app:${tag}`, `oci:${out}:${tag}`));
      const back = taggedIn(out, tag);
      expect(back.digest).toBe(taggedIn(source, tag).digest);
      expect(sha256(blobIn(out, back.digest))).toBe(back.digest);
    }
    const dockerBack = join(work, 'back-docker');
    ok(await pull('oci/app:docker', `dir:${dockerBack}`));
    expect(sha256(readDirImage(dockerBack).manifest)).toBe(docker.digest);
  });

  it('serves the referrers API for the artifact\'s subject', async () => {
    const auth = `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
    const answer = await fetch(`${aws.endpoint}/v2/oci/app/referrers/${amd64.digest}`, { headers: { authorization: auth } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/vnd.oci.image.index.v1+json');
    const body = (await answer.json()) as { manifests: Descriptor[] };
    expect(body.manifests).toEqual([{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sbom.digest, size: sbom.size, artifactType: 'application/vnd.example.sbom.v1' }]);
    const filtered = await fetch(`${aws.endpoint}/v2/oci/app/referrers/${amd64.digest}?artifactType=other`, { headers: { authorization: auth } });
    expect(filtered.headers.get('oci-filters-applied')).toBe('artifactType');
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });

  it('pulls back byte-identical what migrateRepository moved to another key', async () => {
    const other = (await createKey(kmsFor(aws))).arn;
    const migrated = await library.migrateRepository({ repositoryName: 'oci/app', encryption: { type: 'KMS', key: other }, journal: memoryJournal() });
    expect(migrated._unsafeUnwrap()).toMatchObject({ changed: true, to: { type: 'KMS', keyArn: other } });
    const stored = aws.inspect.ecr?.storedObjects(aws.region, 'oci/app') ?? [];
    expect(stored.every((object) => object.encryptedWith === other)).toBe(true);

    const out = join(work, 'after-migration');
    ok(await pull('oci/app:multi', `oci:${out}:multi`));
    const dockerOut = join(work, 'after-migration-docker');
    ok(await pull('oci/app:docker', `dir:${dockerOut}`));
    expect(taggedIn(out, 'multi').digest).toBe(index.digest);
    // Every manifest and blob skopeo wrote is the source's, byte for byte.
    for (const digest of [amd64.digest, index.digest]) expect(blobIn(out, digest).equals(blobIn(source, digest))).toBe(true);
    const pulled = readDirImage(dockerOut);
    expect(pulled.manifest.equals(blobIn(source, docker.digest))).toBe(true);
    const manifest = JSON.parse(pulled.manifest.toString('utf8')) as { config: Descriptor; layers: Descriptor[] };
    for (const blob of [manifest.config, ...manifest.layers]) expect(pulled.blob(blob.digest).equals(blobIn(source, blob.digest))).toBe(true);
  });

  it('refuses a call without a login (401 with ECR\'s challenge), and skopeo without credentials', async () => {
    const answer = await fetch(`${aws.endpoint}/v2/`);
    expect(answer.status).toBe(401);
    expect(answer.headers.get('www-authenticate')).toBe(`Basic realm="https://${host}/",service="ecr.amazonaws.com"`);
    expect(((await answer.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe('UNAUTHORIZED');
    const result = await skopeo(work, 'inspect', '--tls-verify=false', '--raw', `docker://${host}/oci/app:docker`);
    expect(result.code).not.toBe(0);
  });

  it('refuses another account\'s login with ECR\'s DENIED, until the repository policy allows it', async () => {
    const outsider = aws.principals.createUser('outsider', { account: OUTSIDER, policies: [allow([['ecr:*']])] });
    const outsiderPassword = await loginOf(new ECRClient(aws.clientConfig({ credentials: outsider.credentials })));
    // The outsider names the registry by its host name; 127.0.0.1 alone is its own account's registry.
    const headers = {
      authorization: `Basic ${Buffer.from(`AWS:${outsiderPassword}`).toString('base64')}`,
      host: `${aws.account}.dkr.ecr.${aws.region}.amazonaws.com`,
      accept: 'application/vnd.docker.distribution.manifest.v2+json',
    };
    const denied = await get(aws, '/v2/oci/app/manifests/docker', headers);
    expect(denied.status).toBe(403);
    const body = JSON.parse(denied.body) as { errors: { code: string; message: string }[] };
    expect(body.errors[0]?.code).toBe('DENIED');
    expect(body.errors[0]?.message).toContain(`User: arn:aws:iam::${OUTSIDER}:user/outsider is not authorized to perform: ecr:BatchGetImage on resource: arn:aws:ecr:${aws.region}:${aws.account}:repository/oci/app`);

    const policy = { Version: '2012-10-17', Statement: [{ Sid: 'Outsider', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${OUTSIDER}:root` }, Action: ['ecr:BatchGetImage'] }] };
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'oci/app', policyText: JSON.stringify(policy) }));
    const allowed = await get(aws, '/v2/oci/app/manifests/docker', headers);
    expect(allowed.status).toBe(200);
    expect(allowed.headers['docker-content-digest']).toBe(docker.digest);
    // Its login is for its own registry when the host does not say otherwise: there is no oci/app there.
    const own = await get(aws, '/v2/oci/app/manifests/docker', { ...headers, host });
    expect(own.status).toBe(404);
    expect((JSON.parse(own.body) as { errors: { code: string }[] }).errors[0]?.code).toBe('NAME_UNKNOWN');
  });

  it('refuses an expired login (12 hours on the emulator\'s clock) with ECR\'s words', async () => {
    const auth = `Basic ${Buffer.from(`AWS:${password}`).toString('base64')}`;
    expect((await fetch(`${aws.endpoint}/v2/`, { headers: { authorization: auth } })).status).toBe(200);
    clock.advance(12 * 60 * 60 * 1000 + 1000);
    const answer = await fetch(`${aws.endpoint}/v2/`, { headers: { authorization: auth } });
    expect(answer.status).toBe(403);
    expect(((await answer.json()) as { errors: unknown[] }).errors[0]).toMatchObject({
      code: 'DENIED',
      message: 'Your authorization token has expired. Reauthenticate and try again.',
    });
    const result = await skopeo(work, 'inspect', '--tls-verify=false', '--raw', '--creds', `AWS:${password}`, `docker://${host}/oci/app:docker`);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/expired/i);
    clock.advance(-(12 * 60 * 60 * 1000 + 1000));
  });
});
