import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import type { InsecureEndpoint } from '../errors.js';
import type { RegistryLogger } from '../types.js';

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** Whether a host name is this machine: `localhost`, `::1` or anything in 127.0.0.0/8. */
const isLoopbackHost = (host: string): boolean =>
  LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127(?:\.\d{1,3}){3}$/.test(host);

// `scheme://user:password@host…`: everything between `//` and the last `@` before the path.
const USERINFO = /^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#]*@/;
// Query parameters of a presigned URL that are credentials (SigV4 query signing).
const SECRET_QUERY = /([?&](?:X-Amz-Signature|X-Amz-Security-Token|X-Amz-Credential|Signature|AWSAccessKeyId)=)[^&#]*/gi;

/**
 * A URL as it may be shown in an error, a log line or a message: without `user:password@` and
 * without the signature, token and credential of a presigned URL. Works on text that does not
 * parse as a URL too. Every URL the library puts into an error goes through here.
 *
 * @example
 * ```ts
 * redactUrl('http://admin:hunter2@ecr.example.com/'); // 'http://***@ecr.example.com/'
 * ```
 */
export const redactUrl = (url: string): string => url.replace(USERINFO, '$1***@').replace(SECRET_QUERY, '$1***');

/** The error for an endpoint, its URL redacted. */
const insecure = (url: string): InsecureEndpoint => ({ kind: 'InsecureEndpoint', endpoint: redactUrl(url) });

/**
 * Refuses plain `http://` unless the host is loopback: image layers and signed requests travel
 * over TLS only. With `allowInsecureHttp` (the registry's explicit opt-in, for an emulator at a CI
 * service name such as `http://localstack:4566`) plain `http://` to any host is accepted too; what
 * is neither http nor https, or no URL, is refused always. Returns the error to report, or
 * `undefined` when the URL is acceptable.
 */
export const checkTransport = (url: string, allowInsecureHttp = false): InsecureEndpoint | undefined => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return insecure(url);
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && (allowInsecureHttp || isLoopbackHost(parsed.hostname))) return undefined;
  return insecure(url);
};

/** The host (`name:port`) of a plain-`http://` URL that is not loopback: what `allowInsecureHttp` lets through. */
const insecureHttpHost = (url: string): string | undefined => {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname) ? parsed.host : undefined;
  } catch {
    return undefined;
  }
};

// ---------------------------------------------------------------------------------------------
// The endpoint a client will really use
// ---------------------------------------------------------------------------------------------

type Config = Record<string, unknown>;

const isRecord = (value: unknown): value is Config => typeof value === 'object' && value !== null;

/** Calls a config provider (`() => Promise<T>`) or takes a plain value, as the SDK's `normalizeProvider`. */
const provided = async (value: unknown): Promise<unknown> => (typeof value === 'function' ? await (value as () => unknown)() : value);

/** The text of a smithy `Endpoint` (`{ protocol, hostname, port, path }`), a `URL` or a string. */
const endpointText = (endpoint: unknown): string | undefined => {
  if (typeof endpoint === 'string') return endpoint;
  if (endpoint instanceof URL) return endpoint.href;
  if (!isRecord(endpoint)) return undefined;
  if (endpoint.url instanceof URL || typeof endpoint.url === 'string') return endpointText(endpoint.url);
  const { protocol, hostname, port, path } = endpoint;
  if (typeof protocol !== 'string' || typeof hostname !== 'string') return undefined;
  const scheme = protocol.endsWith(':') ? protocol : `${protocol}:`;
  const portText = typeof port === 'number' || typeof port === 'string' ? `:${String(port)}` : '';
  return `${scheme}//${hostname}${portText}${typeof path === 'string' ? path : '/'}`;
};

/**
 * The endpoint URL a client's next request will go to, resolved from the client's own config in
 * the order the SDK itself uses (`@smithy/core` `getEndpointFromInstructions`):
 * 1. a custom `endpoint` in the client's config;
 * 2. otherwise, unless `ignoreConfiguredEndpointUrls`, the configured one: `AWS_ENDPOINT_URL_<SERVICE>`,
 *    `AWS_ENDPOINT_URL`, the profile's `[services]` section or its `endpoint_url`
 *    (`serviceConfiguredEndpoint`, read from the shared config file);
 * 3. otherwise what the client's `endpointProvider` answers for its region, FIPS and dual-stack
 *    settings.
 * `undefined` when it cannot be resolved: the SDK cannot resolve it either and sends nothing.
 */
const clientEndpoint = async (config: unknown): Promise<string | undefined> => {
  if (!isRecord(config)) return undefined;
  try {
    if (config.endpoint !== undefined && config.endpoint !== null) return endpointText(await provided(config.endpoint));
    if (config.ignoreConfiguredEndpointUrls !== true && typeof config.serviceConfiguredEndpoint === 'function') {
      const configured = endpointText(await provided(config.serviceConfiguredEndpoint));
      if (configured !== undefined) return configured;
    }
    if (typeof config.endpointProvider !== 'function') return undefined;
    const params = {
      Region: await provided(config.region),
      UseFIPS: (await provided(config.useFipsEndpoint)) === true,
      UseDualStack: (await provided(config.useDualstackEndpoint)) === true,
    };
    return endpointText(await (config.endpointProvider as (p: unknown, c: unknown) => unknown)(params, {}));
  } catch {
    return undefined;
  }
};

/** What {@link checkClientEndpoints} reports a plain-http endpoint it let through to. */
const INSECURE_HTTP_WARNING = 'plain HTTP to a non-loopback endpoint (allowInsecureHttp): requests, and the image layers a migration copies, travel unencrypted';

/**
 * Checks the endpoint each client will use (see {@link clientEndpoint}) before the first call:
 * the first insecure one is the error. Plain-http endpoints let through by `allowInsecureHttp`
 * are logged as one warning naming their hosts (`fields.insecureHttpHosts`).
 */
export const checkClientEndpoints = (
  configs: readonly unknown[],
  allowInsecureHttp = false,
  logger?: RegistryLogger,
): ResultAsync<void, InsecureEndpoint> =>
  ResultAsync.fromSafePromise(Promise.all(configs.map(clientEndpoint))).andThen((urls) => {
    const known = urls.filter((url): url is string => url !== undefined);
    const problem = known.map((url) => checkTransport(url, allowInsecureHttp)).find((e) => e !== undefined);
    if (problem !== undefined) return errAsync<void, InsecureEndpoint>(problem);
    const hosts = [...new Set(known.flatMap((url) => insecureHttpHost(url) ?? []))];
    if (hosts.length > 0) logger?.warn(INSECURE_HTTP_WARNING, { insecureHttpHosts: hosts });
    return okAsync<void, InsecureEndpoint>(undefined);
  });
