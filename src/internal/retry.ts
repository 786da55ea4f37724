/**
 * @deprecated Moved to `./wait.js`, the one module that waits and retries; kept for the migration
 * files until they call `retry` from there.
 */
import type { ResultAsync } from 'neverthrow';
import type { Aborted, RegistryError } from '../errors.js';
import type { RegistryContext } from './context.js';
import { retriedBeyondSdk, retry, type RetryPolicy } from './wait.js';

export { aborted, DEFAULT_RETRY, retryDelay, type RetryPolicy } from './wait.js';

/**
 * {@link retry} around one API call. By default only what the SDK has not already retried is
 * tried again ({@link retriedBeyondSdk}: throttling of ECR's layer-upload calls); every other
 * failure is returned as the SDK left it.
 */
export const withRetry = <T, E extends RegistryError>(
  ctx: Pick<RegistryContext, 'sleep' | 'logger'>,
  policy: RetryPolicy,
  operation: string,
  attempt: () => ResultAsync<T, E>,
  signal?: AbortSignal,
  retryable: (error: E) => boolean = retriedBeyondSdk(operation),
): ResultAsync<T, E | Aborted> => retry(ctx, policy, operation, attempt, { retryable, signal });
