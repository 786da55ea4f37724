/**
 * The only place that sees values thrown by the AWS SDK. Each step in `src/steps/` wraps one SDK
 * call with {@link awsCall}, maps the exceptions that operation models *by name* (ECR, KMS and IAM
 * share exception names, so `instanceof` across services is wrong), and leaves the rest to
 * {@link toGenericAwsError}.
 */
import { err, ok, type Result, ResultAsync } from 'neverthrow';
import type { AwsService, CredentialsProblem, GenericAwsError, UnexpectedResponse } from '../errors.js';
import type { RateGovernor } from './rate-governor.js';
import { type HeldPlace, withHeldPlace } from './retry-pacing.js';
import { aborted } from './wait.js';

/** The shape every modeled or unmodeled SDK v3 service exception has. */
export interface ServiceException extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { readonly httpStatusCode?: number; readonly requestId?: string };
  /** Set on exceptions the service model marks retryable (`throttling: true` for throttling). */
  readonly $retryable?: { readonly throttling?: boolean };
}

/** Duck-typed, as the SDK's error-handling guide suggests: service errors carry `$metadata` and `$fault`. */
const isServiceException = (e: unknown): e is ServiceException =>
  e instanceof Error && '$metadata' in e && '$fault' in e;

/**
 * Error names that mean "throttled": the AWS SDK's own list (`THROTTLING_ERROR_CODES` of
 * `@smithy/core`'s retry classification, which its retry strategy retries) except
 * `LimitExceededException`: ECR and KMS answer it for a service quota ("would have exceeded a
 * service limit for your account", e.g. repositories per region, grants per key), which waiting
 * does not lift. A unit test compares this list with the installed SDK's. A 429 answer and an
 * exception modelled as retryable throttling (`$retryable.throttling`) are throttling too, as for
 * the SDK. What is `Throttled` is retryable (`ERROR_KINDS` in `src/errors.ts`): the one place
 * that decides retryability.
 */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'BandwidthLimitExceeded',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ThrottledException',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'TransactionInProgressException',
]);

const isThrottling = (e: ServiceException): boolean =>
  THROTTLING_NAMES.has(e.name) || e.$metadata.httpStatusCode === 429 || e.$retryable?.throttling === true;

const ACCESS_DENIED = new Set(['AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'AuthorizationError']);
/**
 * Credential errors by name, and why (`CredentialsProblem`): the SDK's provider errors
 * (aws-sdk-js-v3 PR #2408: the chain throws `CredentialsProviderError` "Could not load credentials
 * from any providers"), and the common errors of AWS APIs
 * (https://docs.aws.amazon.com/awsconsolehelpdocs/latest/gsg/common-errors.html: ExpiredTokenException,
 * UnrecognizedClientException, IncompleteSignature; IAM/STS: InvalidClientTokenId,
 * MissingAuthenticationToken, SignatureDoesNotMatch; JSON services: InvalidSignatureException).
 */
const CREDENTIALS: ReadonlyMap<string, CredentialsProblem> = new Map([
  ['CredentialsProviderError', 'missing'],
  ['TokenProviderError', 'missing'],
  ['MissingAuthenticationToken', 'missing'],
  ['ExpiredToken', 'expired'],
  ['ExpiredTokenException', 'expired'],
  ['UnrecognizedClientException', 'rejected'],
  ['InvalidClientTokenId', 'rejected'],
  ['InvalidAccessKeyId', 'rejected'],
  ['InvalidSignatureException', 'rejected'],
  ['SignatureDoesNotMatch', 'rejected'],
  ['IncompleteSignature', 'rejected'],
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
    if (isThrottling(cause)) return { kind: 'Throttled', service, operation, cause };
    if (ACCESS_DENIED.has(cause.name)) {
      return { kind: 'AccessDenied', service, operation, cause, message: cause.message };
    }
    const reason = CREDENTIALS.get(cause.name);
    if (reason !== undefined) return { kind: 'CredentialsError', reason, service, operation, cause, message: cause.message };
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
  const reason = cause instanceof Error ? CREDENTIALS.get(cause.name) : undefined;
  if (reason !== undefined) return { kind: 'CredentialsError', reason, service, operation, cause, message: messageOf(cause) };
  if (isNetworkFailure(cause)) return { kind: 'NetworkError', service, operation, cause, message: messageOf(cause) };
  return { kind: 'SdkClientError', service, operation, cause, message: messageOf(cause) };
};

/**
 * An answer that lacks what the library needs: no output at all, or no `missing` field. The
 * message names the service and the command, so a user of mocked clients knows what to stub.
 */
export const unexpectedResponse = (service: AwsService, operation: string, message: string, missing?: string): UnexpectedResponse => ({
  kind: 'UnexpectedResponse',
  service,
  operation,
  message: `${service.toUpperCase()} ${operation}: ${message}`,
  ...(missing === undefined ? {} : { missing }),
});

const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
};

/**
 * A field of an answer the library needs: present (neither `undefined` nor `null`), else
 * `UnexpectedResponse` naming the command and the field.
 *
 * @example
 * ```ts
 * awsCall(ctx, 'ecr', 'CreateRepository', send).andThen((out) => expectField('ecr', 'CreateRepository', 'repository', out.repository));
 * ```
 */
export const expectField = <T>(service: AwsService, operation: string, missing: string, value: T | null | undefined): Result<T, UnexpectedResponse> =>
  value === undefined || value === null ? err(unexpectedResponse(service, operation, `the answer has no ${missing}`, missing)) : ok(value);

/**
 * A list of an answer the library needs. Fails closed: a list that is absent is not taken as empty
 * (an empty ListGrants, ListImages or DescribeRepositories answer decides what is deleted or retired).
 */
export const expectList = <T>(service: AwsService, operation: string, missing: string, value: T[] | null | undefined): Result<T[], UnexpectedResponse> =>
  Array.isArray(value)
    ? ok(value)
    : err(unexpectedResponse(service, operation, `the answer has no ${missing} list (got ${value === undefined ? 'none' : describeValue(value)})`, missing));

/** What a call needs from its caller: the operation's `AbortSignal`, and the registry's rate governor, when they exist. */
export interface CallScope {
  readonly signal?: AbortSignal | undefined;
  /** Paces calls under AWS's request-rate quotas (`EncryptedRegistryOptions.rateQuotas`); absent: not paced. */
  readonly rate?: RateGovernor | undefined;
}

/** The SDK's per-call options (`client.send(command, options)`): the abort signal, when there is one. */
export interface SendOptions {
  abortSignal?: AbortSignal;
}

/**
 * Runs one AWS call as a `ResultAsync`, the only way the library calls AWS:
 * - an aborted `scope.signal` answers `Aborted` before anything is sent; the signal is passed to
 *   the SDK (`abortSignal`), and a call that fails once the signal fired is `Aborted` too;
 * - `scope.rate` (the rate governor) is waited for before the SDK sends (and again before each
 *   attempt the SDK retries, on the clients the registry makes), and told when the call comes
 *   back throttled after the SDK's own retries;
 * - an answer that is not an output object (`undefined` from an unstubbed aws-sdk-client-mock
 *   command) is `UnexpectedResponse` naming the command, never a `TypeError` later;
 * - `mapKnown` turns the service exceptions this operation models (matched on `error.name`) into
 *   specific errors; returning `undefined` falls back to {@link toGenericAwsError};
 * - `success` turns the exceptions that mean the call achieved its purpose
 *   (`LayerAlreadyExistsException`…) into a value.
 * A synchronous throw is caught too.
 *
 * @example
 * ```ts
 * awsCall(ctx, 'ecr', 'DeleteRepository', (o) => ecr.send(new DeleteRepositoryCommand(input), o), (e) =>
 *   e.name === 'RepositoryNotFoundException' ? { kind: 'RepositoryNotFound', repositoryName, cause: e } : undefined);
 * ```
 */
export const awsCall = <T, E = never, R = never>(
  scope: CallScope,
  service: AwsService,
  operation: string,
  call: (options: SendOptions) => Promise<T>,
  mapKnown?: (error: ServiceException) => E | undefined,
  success?: (error: ServiceException) => R | undefined,
): ResultAsync<T | R, E | GenericAwsError> => {
  const { signal, rate } = scope;
  const api = `${service}:${operation}`;
  const run = async (): Promise<Result<T | R, E | GenericAwsError>> => {
    if (signal?.aborted) return err(aborted(operation));
    // The place is renewed for each attempt the SDK retries (`retry-pacing.ts`): release the latest.
    const place: HeldPlace | undefined = rate === undefined ? undefined : { governor: rate, api, signal, release: await rate.acquire(api, signal) };
    const release = (): void => place?.release();
    if (signal?.aborted) {
      release();
      return err(aborted(operation));
    }
    const options: SendOptions = signal === undefined ? {} : { abortSignal: signal };
    let out: T;
    try {
      out = await (place === undefined ? call(options) : withHeldPlace(place, () => call(options)));
    } catch (cause) {
      release();
      // However the SDK reports an abort (`AbortError`, a network error), it is the caller's abort.
      if (signal?.aborted) return err(aborted(operation));
      if (isServiceException(cause)) {
        if (isThrottling(cause)) rate?.throttled(api);
        const recovered = success?.(cause);
        if (recovered !== undefined) return ok(recovered);
        const known = mapKnown?.(cause);
        if (known !== undefined) return err(known);
      }
      return err(toGenericAwsError(service, operation, cause));
    }
    release();
    if (typeof out !== 'object' || out === null) {
      return err(
        unexpectedResponse(
          service,
          operation,
          `answered ${out === undefined ? 'nothing (undefined)' : describeValue(out)} instead of an output (with aws-sdk-client-mock, stub ${operation}Command)`,
        ),
      );
    }
    return ok(out);
  };
  return new ResultAsync(run());
};

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
