/**
 * The floor's blob copy over ECR's registry API (`/v2/`), the library's default data path
 * (`src/migration/registry-transport.ts` with `blob-transfer.ts`): one GetAuthorizationToken for
 * the login, then per blob GetDownloadUrlForLayer on the source and a GET of that URL (the read
 * path the library uses), a POST for a new upload in the target, one PATCH streaming the download
 * straight into it, and PUT `?digest=`. Plain `node:http` on a keep-alive agent, nothing held but
 * the socket buffers: no hashing (the floor knows the digests; the registry checks them at the
 * PUT), no retry, no progress, no rate governor. A refusal or a dropped socket throws (a benchmark
 * of a failure means nothing).
 */
import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { GetAuthorizationTokenCommand, GetDownloadUrlForLayerCommand, type ECRClient } from '@aws-sdk/client-ecr';

/** A login for the registry API: where it is, and the `Authorization` header of every call. */
export interface RegistryLogin {
  readonly origin: string;
  readonly authorization: string;
}

/**
 * Keep-alive sockets, closed after 4 s idle, before the 5 s keep-alive timeout of the emulator's
 * Node server closes them under a new request (as the library's agents do).
 */
const agent = new Agent({ keepAlive: true, timeout: 4_000 });

/**
 * One GetAuthorizationToken. `origin` is the registry's (the emulator serves `/v2/` on its own
 * endpoint, as the library finds it from the client's configured endpoint; on AWS it would be the
 * answer's `proxyEndpoint`).
 */
export const registryLogin = async (ecr: ECRClient, origin: string): Promise<RegistryLogin> => {
  const { authorizationData } = await ecr.send(new GetAuthorizationTokenCommand({}));
  const token = authorizationData?.[0]?.authorizationToken;
  if (token === undefined) throw new Error('GetAuthorizationToken returned no token');
  return { origin: new URL(origin).origin, authorization: `Basic ${token}` };
};

/** One request; `body` is piped in when given. Resolves with the answer once its body is read. */
const send = (url: string, method: string, headers: OutgoingHttpHeaders, body?: IncomingMessage): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body === undefined) req.end();
    else pipeline(body, req).catch(reject);
  });

const expectStatus = (answer: IncomingMessage, status: number, what: string): void => {
  if (answer.statusCode !== status) throw new Error(`${what} answered ${String(answer.statusCode)}, not ${String(status)}`);
};

const open = (url: string): Promise<IncomingMessage> =>
  new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      if (res.statusCode === 200) {
        resolve(res);
        return;
      }
      res.resume();
      reject(new Error(`download answered ${String(res.statusCode)}`));
    });
    req.on('error', reject);
    req.end();
  });

/** Copies one blob from `source` to `target` over the registry API; the bytes moved. */
export const registryFloorBlob = async (ecr: ECRClient, login: RegistryLogin, source: string, target: string, digest: string): Promise<number> => {
  const { downloadUrl } = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: source, layerDigest: digest }));
  if (downloadUrl === undefined) throw new Error('no download URL');
  const download = await open(downloadUrl);
  const length = download.headers['content-length'];
  if (length === undefined) throw new Error('the download has no content-length');
  const start = `${login.origin}/v2/${target}/blobs/uploads/`;
  const started = await send(start, 'POST', { authorization: login.authorization, 'content-length': 0 });
  expectStatus(started, 202, 'POST');
  const location = new URL(started.headers.location ?? start, login.origin);
  const patched = await send(location.toString(), 'PATCH', { authorization: login.authorization, 'content-type': 'application/octet-stream', 'content-length': length }, download);
  expectStatus(patched, 202, 'PATCH');
  const complete = new URL(patched.headers.location ?? location.toString(), login.origin);
  complete.searchParams.set('digest', digest);
  expectStatus(await send(complete.toString(), 'PUT', { authorization: login.authorization, 'content-length': 0 }), 201, 'PUT');
  return Number(length);
};
