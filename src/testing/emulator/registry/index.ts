/**
 * The OCI distribution API (`/v2/`) on the emulator, with ECR's authentication: HTTP Basic, user
 * `AWS`, the password from GetAuthorizationToken. Each call is authorized as the ECR action AWS
 * maps it to, through the emulator's one authorizer (identity policies, the repository policy, the
 * VPC endpoint's policy), and reads and writes the same encrypted store as the ECR JSON API.
 *
 * Registry host: `<account>.dkr.ecr.<region>.amazonaws.com[:port]` (or `….localhost`) in the
 * `Host` header names that registry; any other host (`127.0.0.1:<port>`) is the registry of the
 * account and region the login was issued for.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallContext, RawRoute } from '../core.js';
import type { EcrContext, RegistryRef } from '../ecr/context.js';
import { uuid } from '../ids.js';
import { getBlob, headBlob, patchUpload, postUpload, putUpload, uploadStatus, cancelUpload } from './blobs.js';
import { deleteManifest, getManifest, listReferrers, listTags, putManifest } from './manifests.js';
import { RegistryError, sendError, sendJson, type RegistryCall } from './wire.js';

/** The distribution spec's repository name (`<name>`), which is also ECR's repository name pattern. */
const NAME = '([a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*)*)';

type Endpoint = (call: RegistryCall, parameter: string) => void | Promise<void>;

/** Path → method → handler, tried in order. */
const ENDPOINTS: readonly { readonly path: RegExp; readonly methods: Readonly<Record<string, Endpoint>> }[] = [
  { path: new RegExp(`^/v2/${NAME}/blobs/uploads/?$`), methods: { POST: (call) => postUpload(call) } },
  {
    path: new RegExp(`^/v2/${NAME}/blobs/uploads/([^/]+)$`),
    methods: { PATCH: patchUpload, PUT: putUpload, GET: uploadStatus, DELETE: cancelUpload },
  },
  {
    path: new RegExp(`^/v2/${NAME}/blobs/([^/]+)$`),
    methods: {
      HEAD: headBlob,
      GET: getBlob,
      // ECR has no API that deletes a layer: a blob goes with the last image using it (GUESS: 405 as the spec allows).
      DELETE: () => {
        throw new RegistryError(405, 'UNSUPPORTED', 'Amazon ECR does not delete blobs: delete the images that use them');
      },
    },
  },
  {
    path: new RegExp(`^/v2/${NAME}/manifests/([^/]+)$`),
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { path: new RegExp(`^/v2/${NAME}/tags/list$`), methods: { GET: (call) => listTags(call) } },
  { path: new RegExp(`^/v2/${NAME}/referrers/([^/]+)$`), methods: { GET: listReferrers } },
];

/** `<account>.dkr.ecr.<region>.amazonaws.com` or `….localhost`, with or without a port. */
const REGISTRY_HOST = /^(\d{12})\.dkr\.ecr\.([a-z0-9]+(?:-[a-z0-9]+)*)\.(?:amazonaws\.com|localhost)(?::\d+)?$/;

const hostRegistry = (host: string): RegistryRef | undefined => {
  const match = REGISTRY_HOST.exec(host.toLowerCase());
  return match?.[1] === undefined || match[2] === undefined ? undefined : { account: match[1], region: match[2] };
};

/**
 * The challenge ECR sends: `Basic realm="https://<account>.dkr.ecr.<region>.amazonaws.com/",service="ecr.amazonaws.com"`
 * (quoted from ECR's answer in mayflower/docker-ls#28). The realm is the host the client used.
 */
const challenge = (host: string): Record<string, string> => ({
  'www-authenticate': `Basic realm="https://${host}/",service="ecr.amazonaws.com"`,
});

const unauthorized = (host: string, message: string): RegistryError => new RegistryError(401, 'UNAUTHORIZED', message, challenge(host));

/** The login a request's `Authorization: Basic` header carries, or the refusal. */
const authenticate = (ecr: EcrContext, req: IncomingMessage, host: string): { readonly ctx: CallContext; readonly ref: RegistryRef } => {
  const header = req.headers.authorization ?? '';
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  // GUESS: ECR's body for a call without credentials; its status and challenge are what clients see.
  if (match?.[1] === undefined) throw unauthorized(host, 'Not Authorized');
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = colon < 0 ? '' : decoded.slice(0, colon);
  const login = user === 'AWS' ? ecr.registryTokens.verify(decoded.slice(colon + 1)) : undefined;
  // GUESS: a password ECR did not issue is refused like a missing one (401), so clients log in again.
  if (login === undefined) throw unauthorized(host, 'Your authorization token is invalid. Log in again with the password from GetAuthorizationToken.');
  if (ecr.now() >= login.expiresAt) {
    // Reported ECR answer (docker prints "denied: Your authorization token has expired. Reauthenticate and try again.").
    throw new RegistryError(403, 'DENIED', 'Your authorization token has expired. Reauthenticate and try again.');
  }
  const named = hostRegistry(host);
  if (named !== undefined && named.region !== login.region) {
    // GUESS: a token is issued per region (GetAuthorizationToken is a regional call); ECR's words for another region's token are not documented.
    throw new RegistryError(403, 'DENIED', `Your authorization token was issued in ${login.region}, not ${named.region}. Reauthenticate with GetAuthorizationToken in ${named.region}.`);
  }
  return {
    ctx: { region: login.region, principal: login.principal, requestId: uuid() },
    ref: named ?? { account: login.principal.account, region: login.region },
  };
};

const route = async (ecr: EcrContext, req: IncomingMessage, res: ServerResponse, through: { readonly sourceVpce?: string }): Promise<void> => {
  const method = req.method ?? 'GET';
  const url = new URL(req.url ?? '/', 'http://registry.invalid');
  const host = String(req.headers.host ?? '127.0.0.1');
  const { ctx, ref } = authenticate(ecr, req, host);
  const callContext: CallContext = { ...ctx, ...through };
  if (url.pathname === '/v2/' || url.pathname === '/v2') {
    sendJson(req, res, {});
    return;
  }
  for (const endpoint of ENDPOINTS) {
    const match = endpoint.path.exec(url.pathname);
    if (match === null) continue;
    const handler = endpoint.methods[method];
    if (handler === undefined) throw new RegistryError(405, 'UNSUPPORTED', `${method} is not supported on ${url.pathname}`, { allow: Object.keys(endpoint.methods).join(', ') });
    const call: RegistryCall = { ecr, req, res, ctx: callContext, ref, name: match[1] ?? '', query: url.searchParams };
    await handler(call, decodeURIComponent(match[2] ?? ''));
    return;
  }
  throw new RegistryError(404, 'NAME_INVALID', `No registry endpoint at ${url.pathname}: the name must match ECR's repository name pattern`);
};

/** The `/v2/` route of the emulated ECR. */
export const registryRoute = (ecr: EcrContext): RawRoute => ({
  matches: (_method, path) => path === '/v2' || path.startsWith('/v2/'),
  handle: async (req, res, through = {}) => {
    try {
      await route(ecr, req, res, through);
    } catch (error) {
      if (!(error instanceof RegistryError)) {
        sendError(req, res, new RegistryError(500, 'UNKNOWN', `The local AWS emulator failed: ${error instanceof Error ? error.message : String(error)}`));
        return;
      }
      sendError(req, res, error);
    }
  },
});
