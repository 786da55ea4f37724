/**
 * Paces the SDK's own retries with the rate governor. `awsCall` takes a place under the governor
 * before the SDK sends a call's first attempt; an attempt the SDK retries (a throttle, a 5xx, a
 * timeout) reaches AWS again and counts against the same per-second quota, so it needs a place of
 * its own, or a burst of retries overshoots the quota.
 *
 * A middleware in the `deserialize` step (which runs once per attempt, inside the SDK's retry loop)
 * reads the attempt number from the `amz-sdk-request: attempt=N; max=M` header the retry
 * middleware sets on every attempt. On a retry it ends the call's current place (the attempt
 * before it came back: it counts one window from now, as any answered call) and waits for a new
 * one. The place travels with the call in an `AsyncLocalStorage` set by `awsCall`, so the call
 * still holds exactly one place at a time and nothing waits on a place its own call holds.
 *
 * It is added only to the clients the registry creates: a client you pass in is left as it is
 * (its retries are then not paced; its first attempts are).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RateGovernor, Release } from './rate-governor.js';

/** The place a call holds under the governor, renewed for each retried attempt. */
export interface HeldPlace {
  readonly governor: RateGovernor;
  readonly api: string;
  readonly signal: AbortSignal | undefined;
  release: Release;
}

const places = new AsyncLocalStorage<HeldPlace>();

/** Runs `call` with `place` visible to the pacing middleware of the clients it sends through. */
export const withHeldPlace = <T>(place: HeldPlace, call: () => Promise<T>): Promise<T> => places.run(place, call);

/** `attempt=2; max=3` → 2; a request without the header (no retry middleware) counts as the first. */
const attemptOf = (args: AttemptArgs): number => {
  const header = args.request?.headers?.['amz-sdk-request'];
  const match = header === undefined ? null : /attempt=(\d+)/.exec(header);
  return match?.[1] === undefined ? 1 : Number(match[1]);
};

interface AttemptArgs {
  readonly request?: { readonly headers?: Readonly<Record<string, string | undefined>> };
}

/** The part of an SDK client this needs: its middleware stack. */
interface StackedClient {
  readonly middlewareStack: {
    add(middleware: unknown, options: { step: 'deserialize'; name: string; priority: 'high'; override: boolean }): void;
  };
}

/** Makes every retried attempt of `client`'s calls wait for a place of its own under the governor. */
export const paceRetries = (client: StackedClient): void => {
  const middleware =
    (next: (args: AttemptArgs) => Promise<unknown>) =>
    async (args: AttemptArgs): Promise<unknown> => {
      const place = places.getStore();
      if (place !== undefined && attemptOf(args) > 1) {
        place.release();
        place.release = await place.governor.acquire(place.api, place.signal);
      }
      return next(args);
    };
  client.middlewareStack.add(middleware, { step: 'deserialize', name: 'encryptedEcrRetryPacing', priority: 'high', override: true });
};
