/**
 * The only place that sees values thrown by the AWS SDK. Each step in `src/steps/` wraps one SDK
 * call with {@link awsCall}, maps the exceptions that operation models *by name* (ECR, KMS and IAM
 * share exception names, so `instanceof` across services is wrong), and leaves the rest to
 * {@link toGenericAwsError}.
 */
import { err, ok, type Result, ResultAsync } from 'neverthrow';
import type { AwsService, AwsServiceError, GenericAwsError } from '../errors.js';

/** The shape every modeled or unmodeled SDK v3 service exception has. */
export interface ServiceException extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode?: number; readonly requestId?: string };
}

/** Duck-typed, as the SDK's error-handling guide suggests: service errors carry `$metadata` and `$fault`. */
export const isServiceException = (e: unknown): e is ServiceException =>
  e instanceof Error && '$metadata' in e && '$fault' in e;

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);
const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
const CREDENTIALS = new Set([
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidAccessKeyId',
  'CredentialsProviderError',
  'TokenProviderError',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError']);

const messageOf = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === 'string' ? cause : 'unknown error';

const isNetworkFailure = (cause: unknown): boolean => {
  if (!(cause instanceof Error)) return false;
  const code = (cause as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  if (NETWORK_NAMES.has(cause.name)) return true;
  return /socket hang up|ECONNRESET|ECONNREFUSED|other side closed/i.test(cause.message);
};

/**
 * Maps what an AWS call threw when the call site has no more specific meaning for it: access
 * denied, throttling, credentials, network, or an unmodelled service error that keeps its name.
 */
export const toGenericAwsError = (service: AwsService, operation: string, cause: unknown): GenericAwsError => {
  if (isServiceException(cause)) {
    if (THROTTLING.has(cause.name)) return { kind: 'Throttled', service, operation, cause };
    if (ACCESS_DENIED.has(cause.name)) {
      return { kind: 'AccessDenied', service, operation, cause, message: cause.message };
    }
    if (CREDENTIALS.has(cause.name)) {
      return { kind: 'CredentialsError', service, operation, cause, message: cause.message };
    }
    return {
      kind: 'AwsServiceError',
      service,
      operation,
      cause,
      name: cause.name,
      message: cause.message,
      fault: cause.$fault,
      httpStatusCode: cause.$metadata.httpStatusCode,
      requestId: cause.$metadata.requestId,
    };
  }
  if (cause instanceof Error && CREDENTIALS.has(cause.name)) {
    return { kind: 'CredentialsError', service, operation, cause, message: cause.message };
  }
  if (isNetworkFailure(cause)) return { kind: 'NetworkError', service, operation, cause, message: messageOf(cause) };
  return { kind: 'SdkClientError', service, operation, cause, message: messageOf(cause) };
};

/** An answer that lacks what the API promises (a service fault, or an emulator bug). */
export const unexpectedResponse = (service: AwsService, operation: string, message: string): AwsServiceError => ({
  kind: 'AwsServiceError',
  service,
  operation,
  cause: undefined,
  name: 'UnexpectedResponse',
  message,
  fault: 'server',
  httpStatusCode: undefined,
  requestId: undefined,
});

/**
 * Runs one AWS call as a `ResultAsync`. `mapKnown` turns the service exceptions this operation
 * models (matched on `error.name`) into specific errors; returning `undefined` falls back to
 * {@link toGenericAwsError}. A synchronous throw is caught too.
 *
 * @example
 * ```ts
 * awsCall('ecr', 'DeleteRepository', () => ecr.send(new DeleteRepositoryCommand(input)), (e) =>
 *   e.name === 'RepositoryNotFoundException' ? { kind: 'RepositoryNotFound', repositoryName, cause: e } : undefined);
 * ```
 */
export const awsCall = <T, E = never>(
  service: AwsService,
  operation: string,
  call: () => Promise<T>,
  mapKnown?: (error: ServiceException) => E | undefined,
): ResultAsync<T, E | GenericAwsError> =>
  ResultAsync.fromThrowable(call, (cause): E | GenericAwsError => {
    if (mapKnown && isServiceException(cause)) {
      const known = mapKnown(cause);
      if (known !== undefined) return known;
    }
    return toGenericAwsError(service, operation, cause);
  })();

/**
 * Follows a paginated call until its last page, one page at a time (no recursion, so any number of
 * pages), stopping at the first error. `page` gets the token of the previous page and returns the
 * page's items and the next token (`undefined` or empty when there is none).
 */
export const allPages = <R, E>(
  page: (nextToken: string | undefined) => ResultAsync<{ readonly items: readonly R[]; readonly nextToken: string | undefined }, E>,
): ResultAsync<R[], E> =>
  new ResultAsync(
    (async (): Promise<Result<R[], E>> => {
      const out: R[] = [];
      let token: string | undefined;
      do {
        const result = await page(token);
        if (result.isErr()) return err(result.error);
        out.push(...result.value.items);
        token = result.value.nextToken;
      } while (token !== undefined && token !== '');
      return ok(out);
    })(),
  );
