/**
 * The registry-API upload path of `transferBlob` against a scripted registry on 127.0.0.1 (the
 * ECR JSON API mocked with aws-sdk-client-mock): login refresh, restarts, fallback, digests.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CompleteLayerUploadCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  InitiateLayerUploadCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { transferBlob } from '../../../src/migration/blob-transfer.js';
import type { LayerTransport } from '../../../src/migration/registry-transport.js';
import { REGION, testContext } from '../../fixtures/index.js';

const BYTES = Buffer.alloc(300_000, 7);
const DIGEST = `sha256:${createHash('sha256').update(BYTES).digest('hex')}`;
const RETRY = { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 };

/** What the scripted registry answers to each method, in order; `undefined` = the normal answer. */
interface Script {
  POST: (number | undefined)[];
  PATCH: (number | undefined)[];
  PUT: (number | undefined)[];
}

describe('transferBlob over the registry API (/v2/)', () => {
  let server: Server;
  let origin = '';
  let script: Script;
  let seen: { method: string; authorization: string | undefined; bytes: number }[] = [];
  let stored: string | undefined;

  const answer = (res: ServerResponse, status: number, headers: Record<string, string> = {}, body = ''): void => {
    res.writeHead(status, { 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const method = req.method ?? '';
    const url = new URL(req.url ?? '/', origin);
    seen.push({ method, authorization: req.headers.authorization, bytes: body.length });
    const scripted = (script[method as keyof Script] ?? []).shift();
    if (scripted === 401) return answer(res, 401, { 'www-authenticate': 'Basic realm="x"' }, JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'Not Authorized' }] }));
    if (scripted !== undefined) return answer(res, scripted, { 'content-type': 'application/json' }, JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `scripted ${String(scripted)}` }] }));
    if (method === 'POST') return answer(res, 202, { location: '/v2/app-staging/blobs/uploads/u1' });
    if (method === 'PATCH') {
      stored = `sha256:${createHash('sha256').update(body).digest('hex')}`;
      return answer(res, 202, { location: '/v2/app-staging/blobs/uploads/u1', range: `0-${String(body.length - 1)}` });
    }
    if (method === 'PUT') return answer(res, url.searchParams.get('digest') === stored ? 201 : 400);
    return answer(res, 404);
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      if ((req.url ?? '').startsWith('/download')) {
        res.writeHead(200, { 'content-length': BYTES.length });
        res.end(BYTES);
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handle(req, res, Buffer.concat(chunks)));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    script = { POST: [], PATCH: [], PUT: [] };
    seen = [];
    stored = undefined;
  });

  /** A fresh ECR client with the registry's origin as its endpoint, mocked: each login is a new token. */
  const setUp = () => {
    const ecr = new ECRClient({ region: REGION, endpoint: origin, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });
    const mock = mockClient(ecr);
    let logins = 0;
    mock.on(GetAuthorizationTokenCommand).callsFake(() => ({
      authorizationData: [{ authorizationToken: Buffer.from(`AWS:password-${String(++logins)}`).toString('base64'), proxyEndpoint: 'https://111122223333.dkr.ecr.eu-west-1.amazonaws.com' }],
    }));
    mock.on(GetDownloadUrlForLayerCommand).resolves({ downloadUrl: `${origin}/download`, layerDigest: DIGEST });
    mock.on(InitiateLayerUploadCommand).resolves({ uploadId: 'api-upload', partSize: 10 * 1024 * 1024 });
    mock.on(UploadLayerPartCommand).callsFake((input: { partLastByte?: number }) => ({ lastByteReceived: input.partLastByte }));
    mock.on(CompleteLayerUploadCommand).resolves({ layerDigest: DIGEST });
    return { mock, ctx: testContext({ ecr }) };
  };
  const transfer = (ctx: ReturnType<typeof setUp>['ctx'], transport?: LayerTransport) =>
    transferBlob(ctx, { source: 'app', target: 'app-staging', digest: DIGEST, size: BYTES.length, fallbackPartSize: 10 * 1024 * 1024, retry: RETRY, ...(transport ? { transport } : {}) });

  it('streams the blob in one PATCH of raw bytes and completes it with PUT ?digest=, logged in with the GetAuthorizationToken token', async () => {
    const { mock, ctx } = setUp();

    const result = await transfer(ctx);

    expect(result._unsafeUnwrap()).toBe('completed');
    expect(seen.map((s) => s.method)).toEqual(['POST', 'PATCH', 'PUT']);
    expect(seen[1]?.bytes).toBe(BYTES.length);
    expect(stored).toBe(DIGEST);
    expect(seen.every((s) => s.authorization === `Basic ${Buffer.from('AWS:password-1').toString('base64')}`)).toBe(true);
    expect(mock.commandCalls(UploadLayerPartCommand)).toHaveLength(0);
  });

  it('logs in again once when the registry answers 401, and goes on with the new login', async () => {
    const { mock, ctx } = setUp();
    script.POST = [401];

    const result = await transfer(ctx);

    expect(result._unsafeUnwrap()).toBe('completed');
    expect(mock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'PATCH', 'PUT']);
    expect(seen[1]?.authorization).toBe(`Basic ${Buffer.from('AWS:password-2').toString('base64')}`);
  });

  it('gives up with the 401 when the fresh login is refused too: one refresh, no loop', async () => {
    const { mock, ctx } = setUp();
    script.POST = [401, 401, 401, 401];

    const result = await transfer(ctx, 'registry');

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'LayerTransferFailed', stage: 'upload', reason: 'HTTP 401 UNAUTHORIZED' });
    expect(mock.commandCalls(GetAuthorizationTokenCommand)).toHaveLength(2);
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(2);
  });

  it('starts the blob over (new download, new upload) when the PATCH answers 5xx, and completes it', async () => {
    const { mock, ctx } = setUp();
    script.PATCH = [503];

    const result = await transfer(ctx);

    expect(result._unsafeUnwrap()).toBe('completed');
    expect(mock.commandCalls(GetDownloadUrlForLayerCommand)).toHaveLength(2);
    expect(seen.map((s) => s.method)).toEqual(['POST', 'PATCH', 'POST', 'PATCH', 'PUT']);
    expect(stored).toBe(DIGEST);
  });

  it('falls back to UploadLayerPart (auto) when the endpoint has no registry API (404 on POST); registry alone fails', async () => {
    const { mock, ctx } = setUp();
    script.POST = [404];

    expect((await transfer(ctx))._unsafeUnwrap()).toBe('completed');
    expect(mock.commandCalls(UploadLayerPartCommand)).toHaveLength(1);
    // The client is marked: its next blob goes straight to the JSON API.
    expect((await transfer(ctx))._unsafeUnwrap()).toBe('completed');
    expect(seen.filter((s) => s.method === 'POST')).toHaveLength(1);

    const forced = setUp();
    script.POST = [404, 404, 404];
    expect((await transfer(forced.ctx, 'registry'))._unsafeUnwrapErr()).toMatchObject({ kind: 'LayerTransferFailed', reason: 'HTTP 404 UNKNOWN' });
  });

  it('sends one blob through UploadLayerPart (auto) when the first POST answers 5xx, and tries the registry API again for the next', async () => {
    const { mock, ctx } = setUp();
    script.POST = [503];

    expect((await transfer(ctx))._unsafeUnwrap()).toBe('completed');
    expect(mock.commandCalls(UploadLayerPartCommand)).toHaveLength(1);
    expect((await transfer(ctx))._unsafeUnwrap()).toBe('completed');

    expect(mock.commandCalls(UploadLayerPartCommand)).toHaveLength(1);
    expect(seen.map((s) => s.method)).toEqual(['POST', 'POST', 'PATCH', 'PUT']);
  });

  it('never completes an upload whose bytes do not hash to the digest', async () => {
    const { ctx } = setUp();

    const result = await transferBlob(ctx, { source: 'app', target: 'app-staging', digest: `sha256:${'0'.repeat(64)}`, size: BYTES.length, fallbackPartSize: 10 * 1024 * 1024, retry: RETRY });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'DigestMismatch', expected: `sha256:${'0'.repeat(64)}`, actual: DIGEST });
    expect(seen.map((s) => s.method)).toEqual(['POST', 'PATCH']);
  });
});
