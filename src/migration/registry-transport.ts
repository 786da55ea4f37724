/**
 * The upload half of a blob copy over ECR's registry API (`/v2/` on
 * `<account>.dkr.ecr.<region>.amazonaws.com`), as `docker push` and `skopeo copy` do it: raw bytes,
 * streamed from the download straight into one `PATCH` (no base64, no JSON, no SigV4 hash of each
 * part, no part buffer), then `PUT ?digest=`. Authenticated with HTTP Basic and the password from
 * `GetAuthorizationToken` (12 hours), fetched once per ECR client and refreshed once when the
 * registry answers 401 or "token has expired".
 *
 * One `PATCH` per blob, never several: ECR's chunked uploads are not safe (containers-roadmap#2831:
 * every `PATCH` after the first is answered 201 and its body dropped; tart#273). A failure in the
 * middle of the stream starts the blob over (a fresh download and upload), as the JSON API path does
 * for a lost upload. Each call counts against the ECR action it is authorized as
 * (`InitiateLayerUpload`, `UploadLayerPart`, `CompleteLayerUpload`) in the rate governor.
 */
import { createHash } from 'node:crypto';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import type { ECRClient } from '@aws-sdk/client-ecr';
import { err, ok, type Result } from 'neverthrow';
import type { Aborted, DigestMismatch, GenericAwsError, InsecureEndpoint, LayerTransferFailed } from '../errors.js';
import { awsCall, unexpectedResponse } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { checkTransport, redactUrl } from '../internal/transport.js';
import { aborted } from '../internal/wait.js';

/** How a blob's bytes reach the target: `registry` (`/v2/`, raw bytes), `api` (UploadLayerPart), `auto` (registry, else api). */
export type LayerTransport = 'auto' | 'registry' | 'api';

/** A login for the registry API. */
interface Login {
  readonly origin: string;
  /** `Basic <token>`: the token is already base64 of `AWS:<password>`. */
  readonly authorization: string;
}

/** Per ECR client: the login (while valid), and whether the registry API is out of reach (`auto` then uses the JSON API). */
interface ClientState {
  login: Promise<Result<Login, GenericAwsError | InsecureEndpoint>> | undefined;
  unavailable: boolean;
  /** Set once a registry call succeeded: from then on a failure is the registry's answer, not its absence. */
  reached: boolean;
}
const states = new WeakMap<ECRClient, ClientState>();
const stateOf = (ecr: ECRClient): ClientState => {
  const known = states.get(ecr);
  if (known !== undefined) return known;
  const created: ClientState = { login: undefined, unavailable: false, reached: false };
  states.set(ecr, created);
  return created;
};

/** `auto` found no registry API behind this client: its blobs go through the JSON API from now on. */
export const registryUnavailable = (ctx: RegistryContext): void => {
  stateOf(ctx.ecr).unavailable = true;
};

/** Whether this client should try the registry API for its next blob. */
export const useRegistry = (ctx: RegistryContext, transport: LayerTransport): boolean =>
  transport === 'registry' || (transport === 'auto' && !stateOf(ctx.ecr).unavailable);

/** A custom endpoint (the emulator, a proxy) serves `/v2/` on the same origin; AWS on `proxyEndpoint`. */
const customOrigin = async (ecr: ECRClient): Promise<string | undefined> => {
  const configured: unknown = (ecr.config as { endpoint?: unknown }).endpoint;
  if (configured === undefined || configured === null) return undefined;
  const value: unknown = typeof configured === 'function' ? await (configured as () => unknown)() : configured;
  if (typeof value === 'string') return new URL(value).origin;
  if (value instanceof URL) return value.origin;
  const { protocol, hostname, port } = value as { protocol?: unknown; hostname?: unknown; port?: unknown };
  if (typeof protocol !== 'string' || typeof hostname !== 'string') return undefined;
  const scheme = protocol.endsWith(':') ? protocol : `${protocol}:`;
  return `${scheme}//${hostname}${typeof port === 'number' || typeof port === 'string' ? `:${String(port)}` : ''}`;
};

const fetchLogin = async (ctx: RegistryContext): Promise<Result<Login, GenericAwsError | InsecureEndpoint>> => {
  const answer = await awsCall({ signal: ctx.signal, rate: ctx.rate }, 'ecr', 'GetAuthorizationToken', (o) =>
    ctx.ecr.send(new GetAuthorizationTokenCommand({}), o),
  );
  if (answer.isErr()) return err(answer.error);
  const data = answer.value.authorizationData?.[0];
  if (data?.authorizationToken === undefined) return err(unexpectedResponse('ecr', 'GetAuthorizationToken', 'the answer has no token', 'authorizationData'));
  let origin: string | undefined;
  try {
    origin = (await customOrigin(ctx.ecr)) ?? (data.proxyEndpoint === undefined ? undefined : new URL(data.proxyEndpoint).origin);
  } catch {
    origin = undefined;
  }
  if (origin === undefined) return err(unexpectedResponse('ecr', 'GetAuthorizationToken', 'the answer has no usable proxyEndpoint', 'proxyEndpoint'));
  const insecure = checkTransport(origin, ctx.allowInsecureHttp === true);
  if (insecure) return err(insecure);
  return ok({ origin, authorization: `Basic ${data.authorizationToken}` });
};

/** The client's login, fetched on first use or when `stale` is the one that was refused. */
const login = (ctx: RegistryContext, stale?: Login): Promise<Result<Login, GenericAwsError | InsecureEndpoint>> => {
  const state = stateOf(ctx.ecr);
  const current = state.login;
  if (current !== undefined && stale === undefined) return current;
  const refresh = async (): Promise<Result<Login, GenericAwsError | InsecureEndpoint>> => {
    if (current !== undefined && stale !== undefined) {
      const held = await current;
      // Someone refreshed already: use theirs.
      if (held.isOk() && held.value.authorization !== stale.authorization) return held;
    }
    return fetchLogin(ctx);
  };
  const next = refresh().then((result) => {
    if (result.isErr() && state.login === next) state.login = undefined;
    return result;
  });
  state.login = next;
  return next;
};

/**
 * An attempt's failure: for good, or cured by starting the blob over. `fallback` (only before this
 * client's first upload through the registry API was accepted): `client` when the registry API is
 * not there at all (no login, 400/404/405, no connection), `blob` for any other refusal of the first
 * POST: `auto` then sends that blob through the JSON API, whose errors say more (RepositoryNotFound,
 * KmsRefused).
 */
export interface RegistryFailure {
  readonly error: LayerTransferFailed | DigestMismatch | Aborted | InsecureEndpoint | GenericAwsError;
  readonly restart: boolean;
  readonly fallback?: 'client' | 'blob' | undefined;
}

/** One blob to upload from an open download. */
export interface RegistryUpload {
  readonly source: string;
  readonly target: string;
  readonly digest: string;
  readonly algorithm: string;
  readonly size: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly onBytes: ((bytes: number) => void) | undefined;
}

interface Answer {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

const REQUEST_IDLE_TIMEOUT_MS = 120_000;
/** Bytes between two progress reports. */
const PROGRESS_STEP = 1024 * 1024;

/**
 * Keep-alive sockets of the registry calls and layer downloads, apart from the process's global agent (whose pool the
 * caller's own requests share): an idle one is closed after 4 s, before the 5 s keep-alive timeout
 * of a Node server (the emulator) closes it under a new request ("socket hang up").
 */
const IDLE_SOCKET_MS = 4_000;
/** Also used for the layer downloads (`blob-transfer.ts`). */
export const agents = { http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }), https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) };

/** One HTTP request; `body` is piped in when given. Rejects on a network failure. */
const send = (url: string, method: string, headers: OutgoingHttpHeaders, signal: AbortSignal | undefined, body?: (req: NodeJS.WritableStream) => Promise<void>): Promise<Answer> =>
  new Promise<Answer>((resolve, reject) => {
    const secure = url.startsWith('https:');
    const make = secure ? httpsRequest : httpRequest;
    const agent = secure ? agents.https : agents.http;
    const req = make(url, { method, headers, agent, ...(signal === undefined ? {} : { signal }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => {
        // Error bodies are small JSON documents; never keep more than 64 KiB of one.
        if (chunks.reduce((n, c) => n + c.length, 0) < 65_536) chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(REQUEST_IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('registry request stalled'), { code: 'ETIMEDOUT' })));
    if (body === undefined) req.end();
    else body(req).catch((cause: unknown) => req.destroy(cause instanceof Error ? cause : new Error(String(cause))));
  });

/** The distribution spec's error code of an answer (`UNAUTHORIZED`, `DENIED`, …), when it has one. */
const errorCode = (answer: Answer): { readonly code: string; readonly message: string } => {
  try {
    const parsed = JSON.parse(answer.body) as { errors?: { code?: unknown; message?: unknown }[] };
    const first = parsed.errors?.[0];
    return { code: typeof first?.code === 'string' ? first.code : '', message: typeof first?.message === 'string' ? first.message : '' };
  } catch {
    return { code: '', message: answer.body.slice(0, 200) };
  }
};

/** The login was refused: 401, or ECR's 403 "Your authorization token has expired". */
const loginRefused = (answer: Answer): boolean =>
  answer.status === 401 || (answer.status === 403 && /expired/i.test(errorCode(answer).message));

const restartable = (status: number): boolean => status === 404 || status === 408 || status === 429 || status >= 500;

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

/**
 * Uploads the blob being downloaded in `download` into `target` over the registry API: POST,
 * one streamed PATCH hashing every byte, then PUT `?digest=` once the hash is the digest.
 */
export const uploadOverRegistry = async (
  ctx: RegistryContext,
  t: RegistryUpload,
  download: IncomingMessage,
): Promise<Result<'completed', RegistryFailure>> => {
  const state = stateOf(ctx.ecr);
  const failure = (stage: LayerTransferFailed['stage'], reason: string, message: string, cause: unknown, restart: boolean): RegistryFailure => ({
    error: { kind: 'LayerTransferFailed', repositoryName: stage === 'download' ? t.source : t.target, layerDigest: t.digest, stage, reason, message, cause },
    restart,
  });
  /** A refused login is retried by starting over only after a PATCH (its body cannot be sent again); POST and PUT were already sent again with a fresh login. */
  const answerFailure = (stage: LayerTransferFailed['stage'], what: string, answer: Answer): RegistryFailure => {
    const { code, message } = errorCode(answer);
    const refused = loginRefused(answer);
    const restart = refused ? what === 'PATCH' : restartable(answer.status);
    return failure(stage, `HTTP ${String(answer.status)}${code === '' ? '' : ` ${code}`}`, `${what} answered ${String(answer.status)}: ${message}`.trim(), undefined, restart);
  };
  let sent = 0;
  const giveBack = (f: RegistryFailure): Result<'completed', RegistryFailure> => {
    download.destroy();
    if (sent > 0) t.onBytes?.(-sent);
    return err(f);
  };
  const networkFailure = (stage: LayerTransferFailed['stage'], cause: unknown): RegistryFailure =>
    t.signal?.aborted ? { error: aborted('CopyImages'), restart: false } : failure(stage, 'NetworkError', messageOf(cause), cause, true);

  let current = await login(ctx);
  if (current.isErr()) return giveBack({ error: current.error, restart: false, fallback: state.reached ? undefined : 'client' });
  /** A bodiless call, sent again once with a fresh login if the login was refused. */
  const call = async (api: string, method: string, url: string): Promise<Answer> => {
    for (let tried = 0; ; tried++) {
      if (current.isErr()) throw new Error('no login');
      const release = ctx.rate === undefined ? undefined : await ctx.rate.acquire(`ecr:${api}`, t.signal);
      let answer: Answer;
      try {
        answer = await send(url, method, { authorization: current.value.authorization, 'content-length': 0 }, t.signal);
      } finally {
        release?.();
      }
      if (answer.status === 429) ctx.rate?.throttled(`ecr:${api}`);
      if (tried > 0 || !loginRefused(answer)) return answer;
      current = await login(ctx, current.value);
      if (current.isErr()) return answer;
    }
  };
  const { origin } = current.value;
  const resolve = (location: string | string[] | undefined, fallback: string): string => {
    const text = Array.isArray(location) ? location[0] : location;
    return text === undefined ? fallback : new URL(text, origin).toString();
  };

  // 1. POST: a new upload.
  const start = `${origin}/v2/${t.target}/blobs/uploads/`;
  let started: Answer;
  try {
    started = await call('InitiateLayerUpload', 'POST', start);
  } catch (cause) {
    return giveBack({ ...networkFailure('upload', cause), fallback: state.reached ? undefined : 'client' });
  }
  if (started.status !== 202) {
    // No registry API there (a proxy or VPC endpoint of the JSON API only): `auto` uses the JSON API.
    const absent = started.status === 400 || started.status === 404 || started.status === 405;
    return giveBack({ ...answerFailure('upload', `POST ${redactUrl(start)}`, started), fallback: state.reached ? undefined : absent ? 'client' : 'blob' });
  }
  state.reached = true;
  let location = resolve(started.headers.location, start);
  const insecure = checkTransport(location, ctx.allowInsecureHttp === true);
  if (insecure) return giveBack({ error: insecure, restart: false });

  // 2. One PATCH streaming the download, hashed on the way: each chunk is hashed as it is handed
  // to the request (a listener beside the pipe, not a Transform stage: no extra stream buffering
  // or per-chunk callbacks; the same bytes in the same order).
  const hash = createHash(t.algorithm);
  let unreported = 0;
  const meter = (chunk: Buffer): void => {
    hash.update(chunk);
    sent += chunk.length;
    unreported += chunk.length;
    if (unreported >= PROGRESS_STEP) {
      t.onBytes?.(unreported);
      unreported = 0;
    }
  };
  const length = download.headers['content-length'];
  const headers: OutgoingHttpHeaders = {
    authorization: current.value.authorization,
    'content-type': 'application/octet-stream',
    ...(length === undefined ? { 'transfer-encoding': 'chunked' } : { 'content-length': length }),
  };
  let patched: Answer;
  const release = ctx.rate === undefined ? undefined : await ctx.rate.acquire('ecr:UploadLayerPart', t.signal);
  try {
    patched = await send(location, 'PATCH', headers, t.signal, (req) => {
      // Attached in the same tick as the pipe, before the download flows: no chunk is missed.
      download.on('data', meter);
      return pipeline(download, req);
    });
  } catch (cause) {
    return giveBack(networkFailure('upload', cause));
  } finally {
    release?.();
  }
  if (unreported > 0) t.onBytes?.(unreported);
  if (patched.status !== 202 && patched.status !== 201 && patched.status !== 204) {
    // A refused login mid-stream cannot be replayed: the blob starts over with a fresh one.
    if (loginRefused(patched)) await login(ctx, current.value);
    return giveBack(answerFailure('upload', 'PATCH', patched));
  }
  location = resolve(patched.headers.location, location);

  const actual = `${t.algorithm}:${hash.digest('hex')}`;
  if (actual !== t.digest) {
    if (t.size !== undefined && sent < t.size) {
      return giveBack(failure('download', 'Truncated', `received ${String(sent)} of ${String(t.size)} bytes`, undefined, true));
    }
    return giveBack({ error: { kind: 'DigestMismatch', repositoryName: t.source, subject: 'blob', expected: t.digest, actual }, restart: false });
  }

  // 3. PUT ?digest=: the registry checks the digest itself and stores the blob.
  const url = new URL(location);
  url.searchParams.set('digest', t.digest);
  let completed: Answer;
  try {
    completed = await call('CompleteLayerUpload', 'PUT', url.toString());
  } catch (cause) {
    return giveBack(networkFailure('complete', cause));
  }
  if (completed.status !== 201) return giveBack(answerFailure('complete', 'PUT', completed));
  return ok('completed');
};
