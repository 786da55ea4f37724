/**
 * The registry API's wire: answers and errors in the OCI distribution spec's JSON form
 * (`{"errors":[{"code","message","detail"}]}`), the ECR exceptions each registry call maps to, and
 * what one authenticated registry call carries.
 *
 * Codes and statuses follow the OCI distribution spec (v1.1, "Error Codes"); where ECR's own answer
 * is reported publicly it is quoted (see docs/emulator.md, "The registry API", for the evidence);
 * the others are marked GUESS.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, type CallContext } from '../core.js';
import type { EcrContext, RegistryRef } from '../ecr/context.js';
import { ECR_WORDS, Input } from '../ecr/input.js';
import { sendAndClose } from '../http-body.js';

/** Every registry answer says which protocol it speaks (distribution spec, "API Version Check"). */
export const API_VERSION_HEADER = { 'docker-distribution-api-version': 'registry/2.0' } as const;

/** An error the registry answers, in the distribution spec's vocabulary. */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }
}

/** One authenticated registry call. */
export interface RegistryCall {
  readonly ecr: EcrContext;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: CallContext;
  /** The registry the host names (or the login's account and region). */
  readonly ref: RegistryRef;
  /** The repository name from the path. */
  readonly name: string;
  readonly query: URLSearchParams;
}

/** An ECR request input for the call's repository, so the ECR handlers (and their authorization) run as for the JSON API. */
export const ecrInput = (call: RegistryCall, members: Readonly<Record<string, unknown>> = {}): Input =>
  new Input({ registryId: call.ref.account, repositoryName: call.name, ...members }, ECR_WORDS);

/** Writes the error (no body for HEAD), discarding what is left of the request body. */
export const sendError = (req: IncomingMessage, res: ServerResponse, error: RegistryError): void => {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = req.method === 'HEAD' ? '' : JSON.stringify({ errors: [{ code: error.code, message: error.message, detail: {} }] });
  sendAndClose(req, res, {
    status: error.status,
    headers: { ...API_VERSION_HEADER, 'content-type': 'application/json; charset=utf-8', ...error.headers },
    body,
  });
};

/** Writes an answer with no body (201, 202, 204, HEAD). */
export const sendEmpty = (res: ServerResponse, status: number, headers: Readonly<Record<string, string>>): void => {
  res.writeHead(status, { ...API_VERSION_HEADER, 'content-length': '0', ...headers });
  res.end();
};

/** Writes a JSON body (or only its headers for HEAD). */
export const sendJson = (req: IncomingMessage, res: ServerResponse, value: unknown, headers: Readonly<Record<string, string>> = {}): void => {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(200, { ...API_VERSION_HEADER, 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length), ...headers });
  res.end(req.method === 'HEAD' ? undefined : body);
};

/**
 * The registry error for an ECR exception raised by the handler behind a registry call.
 * `DENIED` with AWS's "User: … is not authorized to perform: ecr:<Action> on resource: …" text is what
 * `docker push` prints as `denied: User: …` (reported in many public issues); `NAME_UNKNOWN` for a
 * missing repository is what docker prints as `name unknown: The repository with name '…' does not
 * exist in the registry with id '…'`; `TAG_INVALID` for an immutable tag is docker's `tag invalid:
 * The image tag '…' already exists …`. The rest follow the distribution spec (GUESS for ECR).
 */
export const fromApiError = (error: unknown, notFound: { readonly code: string; readonly message?: string } = { code: 'MANIFEST_UNKNOWN' }): RegistryError => {
  if (error instanceof RegistryError) return error;
  if (!(error instanceof ApiError)) throw error;
  switch (error.code) {
    case 'AccessDeniedException':
      return new RegistryError(403, 'DENIED', error.message);
    case 'RepositoryNotFoundException':
      return new RegistryError(404, 'NAME_UNKNOWN', error.message);
    case 'ImageNotFoundException':
    case 'LayersNotFoundException':
    case 'LayerInaccessibleException':
      return new RegistryError(404, notFound.code, notFound.message ?? error.message);
    case 'ImageTagAlreadyExistsException':
      return new RegistryError(400, 'TAG_INVALID', error.message);
    case 'ImageDigestDoesNotMatchException':
      return new RegistryError(400, 'DIGEST_INVALID', error.message);
    case 'InvalidParameterException':
      return new RegistryError(400, 'MANIFEST_INVALID', error.message);
    case 'LimitExceededException':
    case 'ThrottlingException':
      // GUESS: the spec's TOOMANYREQUESTS.
      return new RegistryError(429, 'TOOMANYREQUESTS', error.message);
    case 'KmsException':
      // GUESS: ECR does not document how a refused data key shows on the registry API.
      return new RegistryError(500, 'UNKNOWN', error.message);
    default:
      return new RegistryError(error.status >= 500 ? error.status : 400, 'UNKNOWN', `${error.code}: ${error.message}`);
  }
};

/** Runs an ECR handler; its ApiError becomes the registry's error. */
export const viaEcr = <T>(run: () => T, notFound?: { readonly code: string; readonly message?: string }): T => {
  try {
    return run();
  } catch (error) {
    throw fromApiError(error, notFound);
  }
};
