/**
 * @deprecated Moved to `./wait.js`, the one module that waits and retries; kept for the migration
 * files until they call `retry` from there.
 */
import type { ResultAsync } from 'neverthrow';
import { type Aborted, isRetryable, type RegistryError } from '../errors.js';
import type { RegistryContext } from './context.js';
import { retry, type RetryPolicy } from './wait.js';

export { aborted, DEFAULT_RETRY, retryDelay, type RetryPolicy } from './wait.js';

/**
 * The migration's old retry around one API call: it retries every retryable error, on top of the
 * SDK's attempts. Kept unchanged until the migration calls `retry` with `retriedBeyondSdk(operation)`
 * (its tests in test/unit/migrate/copy.test.ts rely on it retrying throttled reads).
 */
export const withRetry = <T, E extends RegistryError>(
  ctx: Pick<RegistryContext, 'sleep' | 'logger'>,
  policy: RetryPolicy,
  operation: string,
  attempt: () => ResultAsync<T, E>,
  signal?: AbortSignal,
  retryable: (error: E) => boolean = isRetryable,
): ResultAsync<T, E | Aborted> => retry(ctx, policy, operation, attempt, { retryable, signal });
