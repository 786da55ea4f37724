import { ResultAsync, err, type Result } from 'neverthrow';
import { isRetryable, type Aborted, type RegistryError } from '../errors.js';
import type { RegistryContext } from './context.js';

/** How often and how long to retry a transient failure. */
export interface RetryPolicy {
  /** Tries in total, the first included. */
  readonly attempts: number;
  /** Pause before the second try; doubles each time. */
  readonly baseDelayMs: number;
  /** Longest single pause. */
  readonly maxDelayMs: number;
}

/** On top of the SDK's own retries: ECR layer calls are rate-limited to a few per second. */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 15_000 };

/** The pause before try `attempt + 1` (attempt counts from 1): capped exponential, half jittered. */
export const retryDelay = (policy: RetryPolicy, attempt: number): number => {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Jitter spreads concurrent blobs that were throttled together.
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
};

export const aborted = (operation: string): Aborted => ({ kind: 'Aborted', operation });

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or `policy.attempts` tries
 * are spent (then the last error is returned). An abort between tries returns `Aborted`.
 */
export const withRetry = <T, E extends RegistryError>(
  ctx: Pick<RegistryContext, 'sleep' | 'logger'>,
  policy: RetryPolicy,
  operation: string,
  attempt: () => ResultAsync<T, E>,
  signal?: AbortSignal,
  retryable: (error: E) => boolean = isRetryable,
): ResultAsync<T, E | Aborted> => {
  const run = async (): Promise<Result<T, E | Aborted>> => {
    for (let tried = 1; ; tried++) {
      if (signal?.aborted) return err(aborted(operation));
      const result = await attempt();
      if (result.isOk() || tried >= policy.attempts || !retryable(result.error)) {
        // An abort surfaces from the SDK as a network error; report it as what it is.
        return result.isErr() && signal?.aborted ? err(aborted(operation)) : result;
      }
      const delay = retryDelay(policy, tried);
      ctx.logger.debug('retrying after a transient failure', { operation, kind: result.error.kind, tried, delay });
      await ctx.sleep(delay);
    }
  };
  return new ResultAsync(run());
};
