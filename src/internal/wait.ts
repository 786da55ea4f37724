/**
 * The one way the library waits and retries. Every pause goes through the registry's injectable
 * {@link Clock} (`EncryptedRegistryOptions.clock`), and every pause length comes from one delay
 * function, {@link backoff}:
 * - {@link backoffDelays}: the deterministic pauses of a bounded poll (`EncryptedRegistryOptions.poll`);
 * - {@link pollUntil}: probe until a condition holds, on those pauses (eventually consistent state:
 *   KMS grants appearing or being retired, a repository policy read back, images being restored);
 * - {@link retry}: try again after a failure, on jittered pauses, only where the caller says a
 *   failure is worth another try;
 * - {@link waitForDeadlines}: pause until times the data names (a too-recent grant becoming
 *   decidable), and probe again.
 *
 * Who retries what: API calls are retried by the AWS SDK's own retry strategy (`retryMode`,
 * `maxAttempts` of the client), never again here; {@link retry} is for what the SDK does not see
 * (a pre-signed layer download, restarting a blob's upload) and for the documented ECR case of
 * layer-upload throttling that outlasts the SDK's attempts ({@link retriedBeyondSdk}).
 */
import { ResultAsync, err, ok, type Result } from 'neverthrow';
import type { Aborted, RegistryError } from '../errors.js';
import type { RegistryLogger } from '../types.js';
import type { PollSettings } from './context.js';

/**
 * How the library waits: `sleep` pauses (resolving early when `signal` aborts), `now` tells the
 * time. The default is the system clock; pass one whose `sleep` resolves at once to make every
 * wait instant in a test.
 */
export interface Clock {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  now(): Date;
}

/** The real clock: `setTimeout`, cut short by an abort. */
export const systemClock: Clock = {
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) {
        resolve();
        return;
      }
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, Math.max(0, ms));
      signal?.addEventListener('abort', finish, { once: true });
    }),
  now: () => new Date(),
};

/** The two numbers of an exponential backoff. */
export interface Backoff {
  /** The first pause, in milliseconds. */
  readonly initialDelayMs: number;
  /** The longest single pause. */
  readonly maxDelayMs: number;
}

/**
 * The pause after try `attempt` (counting from 1): `initialDelayMs × 2^(attempt − 1)`, capped at
 * `maxDelayMs`, never under 1 ms. With `jitter: 'half'`, a random point in the upper half of that
 * (it spreads callers that failed together); `'none'` is deterministic.
 *
 * @example
 * ```ts
 * backoff({ initialDelayMs: 500, maxDelayMs: 15_000 }, 3); // 2000
 * ```
 */
export const backoff = (settings: Backoff, attempt: number, jitter: 'none' | 'half' = 'none'): number => {
  const ceiling = Math.max(1, Math.min(settings.maxDelayMs, Math.max(1, settings.initialDelayMs) * 2 ** Math.max(0, attempt - 1)));
  return jitter === 'none' ? ceiling : Math.max(1, Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
};

/**
 * The pauses of a bounded poll: {@link backoff} without jitter, stopping once their sum would pass
 * `timeoutMs`. Deterministic, so tests can reason about the number of probes.
 */
export const backoffDelays = (settings: PollSettings): number[] => {
  const delays: number[] = [];
  let total = 0;
  for (let attempt = 1; ; attempt++) {
    const delay = backoff(settings, attempt);
    if (total + delay > settings.timeoutMs) return delays;
    delays.push(delay);
    total += delay;
  }
};

/** Default for grant polls: grants are eventually consistent, "usually less than five minutes". */
export const DEFAULT_POLL: PollSettings = { initialDelayMs: 500, maxDelayMs: 15_000, timeoutMs: 120_000 };

/** What waiting needs from the registry's context. */
export interface Waiter {
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly poll: PollSettings;
}

/** What a poll came to: the last value probed, and whether it met the condition. */
export interface PollOutcome<T> {
  readonly value: T;
  readonly done: boolean;
}

/** Options of {@link pollUntil}. */
export interface PollOptions<E> {
  /** A failed probe that is worth probing again after the next pause (default: none is). */
  readonly tolerate?: (error: E) => boolean;
  /** Stops the poll at the next pause (the last value is returned, not done). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Probes until `done(value)`, pausing {@link backoffDelays} of `waiter.poll` between probes
 * through the injectable clock. Answers the last value and whether it was done; a failed probe
 * fails the poll unless `tolerate` accepts it and a pause is left.
 *
 * @example
 * ```ts
 * pollUntil(ctx, () => listAllGrants(ctx, keyArn), (grants) => grants.length >= 2, { tolerate: isRetryable });
 * ```
 */
export const pollUntil = <T, E>(
  waiter: Waiter,
  probe: () => ResultAsync<T, E>,
  done: (value: T) => boolean,
  options: PollOptions<E> = {},
): ResultAsync<PollOutcome<T>, E> => {
  const run = async (): Promise<Result<PollOutcome<T>, E>> => {
    const delays = backoffDelays(waiter.poll);
    for (let i = 0; ; i++) {
      const result = await probe();
      const delay = options.signal?.aborted === true ? undefined : delays[i];
      if (result.isErr()) {
        if (delay === undefined || options.tolerate?.(result.error) !== true) return err(result.error);
      } else if (done(result.value)) {
        return ok({ value: result.value, done: true });
      } else if (delay === undefined) {
        return ok({ value: result.value, done: false });
      }
      await waiter.sleep(delay, options.signal);
    }
  };
  return new ResultAsync(run());
};

/** Options of {@link waitForDeadlines}. */
export interface DeadlineWaitOptions<T> {
  /** Called before each pause with the time waited for and the pause length. */
  readonly onWait?: (value: T, until: Date, waitMs: number) => void;
  /** Stops the wait at the next pause (the last value is returned). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * For waits set by the data rather than by a backoff: while `nextAt(value)` names a time later
 * than the last one waited for, pauses until then (through the clock) and probes again. A time
 * that does not move on ends the wait, so a clock that does not move (an instant test clock)
 * waits once. Answers the last value probed.
 *
 * @example
 * ```ts
 * waitForDeadlines(ctx, first, (report) => nextDecidable(report), () => sweepAgain());
 * ```
 */
export const waitForDeadlines = <T, E>(
  clock: Pick<Clock, 'now' | 'sleep'>,
  first: T,
  nextAt: (value: T) => Date | undefined,
  probe: () => ResultAsync<T, E>,
  options: DeadlineWaitOptions<T> = {},
): ResultAsync<T, E> => {
  const run = async (): Promise<Result<T, E>> => {
    let value = first;
    let waitedUntil = Number.NEGATIVE_INFINITY;
    for (let until = nextAt(value); until !== undefined && until.getTime() > waitedUntil; until = nextAt(value)) {
      const waitMs = Math.max(0, until.getTime() - clock.now().getTime());
      options.onWait?.(value, until, waitMs);
      await clock.sleep(waitMs, options.signal);
      if (options.signal?.aborted === true) break;
      waitedUntil = until.getTime();
      const probed = await probe();
      if (probed.isErr()) return err(probed.error);
      value = probed.value;
    }
    return ok(value);
  };
  return new ResultAsync(run());
};

/** How often and how long {@link retry} tries. */
export interface RetryPolicy {
  /** Tries in total, the first included. */
  readonly attempts: number;
  /** Pause before the second try; doubles each time. */
  readonly baseDelayMs: number;
  /** Longest single pause. */
  readonly maxDelayMs: number;
}

/** Our own retries, for what the SDK does not retry (see {@link retriedBeyondSdk}). */
export const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 15_000 };

/** The pause before try `attempt + 1` of a retry: {@link backoff} with half jitter. */
const retryDelay = (policy: RetryPolicy, attempt: number): number =>
  backoff({ initialDelayMs: policy.baseDelayMs, maxDelayMs: policy.maxDelayMs }, attempt, 'half');

export const aborted = (operation: string): Aborted => ({ kind: 'Aborted', operation });

/**
 * ECR's layer-upload calls. ECR rate-limits them per account and Region (service quotas page:
 * InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, far below the read calls), and its
 * troubleshooting page tells clients to retry throttling "with incremental backoff": a migration
 * moving many blobs at once can stay throttled past the SDK's few attempts, and a failure there
 * restarts the blob.
 */
const LAYER_UPLOAD_OPERATIONS: ReadonlySet<string> = new Set(['InitiateLayerUpload', 'UploadLayerPart', 'CompleteLayerUpload']);

/**
 * Whether a failed API call is tried again by the library, after the SDK's own retries: only
 * throttling of ECR's layer-upload calls. Everything else the SDK retries (throttling, 5xx,
 * network faults, per its `retryMode` and `maxAttempts`) is not retried again here, so one call
 * is never tried attempts × attempts times.
 *
 * @example
 * ```ts
 * retry(ctx, DEFAULT_RETRY, 'UploadLayerPart', () => uploadLayerPart(ctx, part), { retryable: retriedBeyondSdk('UploadLayerPart') });
 * ```
 */
export const retriedBeyondSdk =
  (operation: string) =>
  (error: RegistryError): boolean =>
    error.kind === 'Throttled' && LAYER_UPLOAD_OPERATIONS.has(operation);

/** Options of {@link retry}. */
export interface RetryOptions<E> {
  /** Which failures are worth another try: a decision each call site makes. */
  readonly retryable: (error: E) => boolean;
  /** An abort between tries answers `Aborted`. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs `attempt` until it succeeds, fails with an error `retryable` refuses, or `policy.attempts`
 * tries are spent (the last error is returned), pausing {@link retryDelay} through the clock.
 *
 * @example
 * ```ts
 * retry(ctx, DEFAULT_RETRY, 'CopyBlob', () => copyOnce(blob), { retryable: (f) => f.restart, signal });
 * ```
 */
export const retry = <T, E>(
  ctx: { readonly sleep: Waiter['sleep']; readonly logger: RegistryLogger },
  policy: RetryPolicy,
  operation: string,
  attempt: () => PromiseLike<Result<T, E>>,
  options: RetryOptions<E>,
): ResultAsync<T, E | Aborted> => {
  const { signal } = options;
  const run = async (): Promise<Result<T, E | Aborted>> => {
    for (let tried = 1; ; tried++) {
      if (signal?.aborted) return err(aborted(operation));
      const result = await attempt();
      if (result.isOk() || tried >= policy.attempts || !options.retryable(result.error)) {
        // An abort surfaces from the SDK as a network error; report it as what it is.
        return result.isErr() && signal?.aborted ? err(aborted(operation)) : result;
      }
      const delay = retryDelay(policy, tried);
      ctx.logger.debug('retrying after a transient failure', { operation, tried, delay });
      await ctx.sleep(delay, signal);
    }
  };
  return new ResultAsync(run());
};
