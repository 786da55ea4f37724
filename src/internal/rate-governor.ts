/**
 * The rate governor: keeps the calls a registry makes to each AWS API under that API's request-rate
 * quota (requests per second, per account and Region), shared by every operation the registry runs
 * at the same time, so many concurrent migrations, sweeps or audits go as fast as the quota allows
 * and no faster.
 *
 * How it paces: AWS documents its quotas as "requests … per second" (KMS: "in each one-second
 * interval") without saying whether the second is a fixed or a sliding window, or a token bucket
 * that allows a burst. The governor satisfies the strictest reading, a sliding window, measured
 * where AWS measures it: a request reaches AWS at some moment between the governor letting it go
 * and its answer coming back, so a call counts from its start until `windowMs` (1 s plus a small
 * guard) after its answer. At most `limit` calls count at any moment. However unevenly the network
 * delays requests, no window of AWS's second then holds more than `limit` arrivals, which also
 * passes a fixed-window count and a token bucket of the same rate. The cost: each call holds its
 * place for one window plus its latency, so the pace is `limit / (1 s + latency)`, about 98% of the
 * quota at 20 ms. A lone operation is never slowed while it stays under the quota (its first `limit`
 * calls start at once).
 *
 * How it adapts (AIMD): a call throttled anyway (`Throttled`: other clients of the account share the
 * quota, or AWS lowered it) halves that API's limit, at most once per window; after `quietMs` with
 * no throttling the limit grows back by a tenth of the quota per window, up to the quota.
 *
 * Calls AWS makes on the caller's behalf (`ON_BEHALF_RATE_COSTS`: ECR's two CreateGrant per
 * repository created, two RetireGrant per repository deleted) take their places in those APIs'
 * quotas together with the caller's call, for as long as it holds its own.
 *
 * With the SDK's retries: `awsCall` takes a place before the SDK sends a call's first attempt, and
 * on the clients the registry makes, each attempt the SDK retries ends the call's place and waits
 * for a new one (`retry-pacing.ts`): every attempt reaches AWS and counts. The SDK keeps its own
 * backoff (`retryMode` `'standard'`; `'adaptive'` adds a client-side limiter after throttling);
 * only a call whose attempts all failed reaches the governor as `Throttled`. A client you pass in
 * keeps unpaced retries: the governor stays a little under the quota (`guardMs`) for them.
 */

import { ON_BEHALF_RATE_COSTS } from './rate-quotas.js';

/** The clock the governor paces with: the registry's (`EncryptedRegistryOptions.clock`). */
export interface GovernorClock {
  now(): Date;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Tuning of the governor; the defaults suit AWS. */
export interface RateGovernorSettings {
  /** The window a quota counts in: 1,000 ms (AWS quotas are per second). */
  readonly windowMs?: number;
  /** Added to the window, for clocks and window edges that differ a little. Default 20 ms. */
  readonly guardMs?: number;
  /** How long without throttling before a lowered limit grows again. Default 5,000 ms. */
  readonly quietMs?: number;
  /**
   * Calls AWS makes on the caller's behalf while answering one (ECR's `CreateGrant` while creating
   * a repository): per API, the places each call also takes in other APIs' quotas. Default
   * `ON_BEHALF_RATE_COSTS`.
   */
  readonly onBehalf?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Ends a call's hold on its place: call it when the answer (or the failure) came back. */
export type Release = () => void;

interface Waiter {
  /** Places it takes: 1, or more for the calls AWS makes on the caller's behalf (`ON_BEHALF_RATE_COSTS`). */
  readonly weight: number;
  readonly start: (release: Release) => void;
}

/** The state of one API's quota. */
interface Bucket {
  /** The quota: the limit never grows above it. */
  readonly quota: number;
  /** Calls allowed per window now (≤ quota; halved on throttling). */
  limit: number;
  /** Calls sent whose answer has not come back (they may reach AWS at any moment until then). */
  inFlight: number;
  /** When answers came back (ms, ascending): each still counts until one window later. */
  readonly answered: number[];
  /** Calls waiting for a place, first come first served. */
  readonly queue: Waiter[];
  /** A timer is set for the next place to free up. */
  timer: boolean;
  lastThrottle: number;
  lastDecrease: number;
  lastIncrease: number;
}

/** What {@link RateGovernor.snapshot} tells about one API. */
export interface GovernedApi {
  readonly api: string;
  readonly quota: number;
  readonly limit: number;
}

const noRelease: Release = () => undefined;

/** Releases every place of a call at once (its own and those of AWS's calls on its behalf). */
const releaseAll =
  (releases: readonly Release[]): Release =>
  () => {
    for (const release of releases) release();
  };

/**
 * One governor per account and Region (a registry's clients talk to one account and Region; make a
 * shared one with `createRateGovernor` for several registries of the same account and Region),
 * keyed by `'<service>:<Operation>'`. APIs without a quota pass straight through.
 *
 * @example
 * ```ts
 * const governor = createRateGovernor('aws');
 * const release = await governor.acquire('ecr:PutImage');
 * try { await ecr.send(new PutImageCommand(input)); } finally { release(); }
 * ```
 */
export class RateGovernor {
  readonly #buckets = new Map<string, Bucket>();
  readonly #clock: GovernorClock;
  readonly #window: number;
  readonly #quiet: number;
  /** Per API, the places its calls take in other APIs' quotas (sorted by API: one order for every caller, no deadlock). */
  readonly #onBehalf: ReadonlyMap<string, readonly (readonly [string, number])[]>;
  /**
   * How far the governor's time runs ahead of `clock.now()`: a pause that ended before the clock
   * moved (a clock whose `sleep` resolves at once, as in tests with mocked clients) counts as time
   * passed, so such a clock makes the governor's waits instant too instead of spinning.
   */
  #skew = 0;

  constructor(quotas: Readonly<Record<string, number>>, clock: GovernorClock, settings: RateGovernorSettings = {}) {
    this.#clock = clock;
    this.#window = (settings.windowMs ?? 1_000) + (settings.guardMs ?? 20);
    this.#quiet = settings.quietMs ?? 5_000;
    this.#onBehalf = new Map(
      Object.entries(settings.onBehalf ?? ON_BEHALF_RATE_COSTS).map(([api, costs]) => [
        api,
        Object.entries(costs)
          .filter(([, weight]) => weight > 0)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      ]),
    );
    for (const [api, quota] of Object.entries(quotas)) {
      if (!(quota > 0)) continue;
      this.#buckets.set(api, {
        quota,
        limit: quota,
        inFlight: 0,
        answered: [],
        queue: [],
        timer: false,
        lastThrottle: -Infinity,
        lastDecrease: -Infinity,
        lastIncrease: -Infinity,
      });
    }
  }

  /**
   * Waits until a call to `api` may start (at once when it is under its limit) and answers the
   * release to call when its answer came back. A call AWS answers by making calls of its own on the
   * caller's behalf (`onBehalf`: ECR's `CreateGrant` for a KMS repository) also waits for their
   * places, which it holds as long as its own. An abort ends the wait early (nothing counted); the
   * caller then checks its signal.
   *
   * @example
   * ```ts
   * const release = await governor.acquire('kms:ListGrants', signal);
   * try { await kms.send(new ListGrantsCommand({ KeyId })); } finally { release(); }
   * ```
   */
  async acquire(api: string, signal?: AbortSignal): Promise<Release> {
    const places: (readonly [string, number])[] = [...(this.#onBehalf.get(api) ?? []), [api, 1]];
    const releases: Release[] = [];
    for (const [name, weight] of places) {
      const release = await this.#take(name, weight, signal);
      releases.push(release);
      if (signal?.aborted === true) break;
    }
    return releases.length === 1 ? (releases[0] ?? noRelease) : releaseAll(releases);
  }

  /** Waits for `weight` places of one API's quota (none to wait for when the API has no quota). */
  #take(api: string, weight: number, signal: AbortSignal | undefined): Promise<Release> {
    const bucket = this.#buckets.get(api);
    if (bucket === undefined || signal?.aborted === true) return Promise.resolve(noRelease);
    this.#recover(bucket, this.#now());
    return new Promise<Release>((resolve) => {
      const waiter: Waiter = {
        weight,
        start: (release) => {
          signal?.removeEventListener('abort', cancel);
          resolve(release);
        },
      };
      const cancel = (): void => {
        const at = bucket.queue.indexOf(waiter);
        if (at >= 0) bucket.queue.splice(at, 1);
        resolve(noRelease);
      };
      signal?.addEventListener('abort', cancel, { once: true });
      bucket.queue.push(waiter);
      this.#pump(bucket);
    });
  }

  /**
   * A call to `api` came back throttled: halve its limit (once per window).
   *
   * @example
   * ```ts
   * if (error.name === 'ThrottlingException') governor.throttled('ecr:PutImage');
   * ```
   */
  throttled(api: string): void {
    const bucket = this.#buckets.get(api);
    if (bucket === undefined) return;
    const now = this.#now();
    bucket.lastThrottle = now;
    if (now - bucket.lastDecrease < this.#window) return;
    bucket.limit = Math.max(1, bucket.limit / 2);
    bucket.lastDecrease = now;
  }

  /**
   * Every governed API with its quota and current limit (calls per window).
   *
   * @example
   * ```ts
   * governor.snapshot().filter((a) => a.limit < a.quota); // APIs slowed down by throttling
   * ```
   */
  snapshot(): GovernedApi[] {
    return [...this.#buckets].map(([api, b]) => ({ api, quota: b.quota, limit: b.limit }));
  }

  /** Starts waiting calls while there is room; otherwise sets one timer for the next answer to leave the window. */
  #pump(bucket: Bucket): void {
    const now = this.#now();
    const { answered, queue } = bucket;
    let expired = 0;
    while (expired < answered.length && (answered[expired] ?? 0) <= now - this.#window) expired += 1;
    if (expired > 0) answered.splice(0, expired);
    const allowed = Math.max(1, Math.floor(bucket.limit));
    // First come, first served; a call that needs more places than the limit allows waits for an empty window.
    const fits = (waiter: Waiter): boolean => bucket.inFlight + answered.length + Math.min(waiter.weight, allowed) <= allowed;
    for (let head = queue[0]; head !== undefined && fits(head); head = queue[0]) {
      queue.shift();
      const { weight } = head;
      bucket.inFlight += weight;
      let released = false;
      head.start(() => {
        if (released) return;
        released = true;
        bucket.inFlight -= weight;
        const at = this.#now();
        for (let i = 0; i < weight; i += 1) answered.push(at);
        this.#pump(bucket);
      });
    }
    const oldest = answered[0];
    const head = queue[0];
    if (head === undefined || bucket.timer || oldest === undefined || fits(head)) return;
    bucket.timer = true;
    const pause = Math.max(1, oldest + this.#window - now);
    void this.#clock.sleep(pause).then(() => {
      const early = pause - (this.#now() - now);
      if (early > 0) this.#skew += early;
      bucket.timer = false;
      this.#pump(bucket);
    });
  }

  #now(): number {
    return this.#clock.now().getTime() + this.#skew;
  }

  /** Additive increase: after `quietMs` without throttling, a tenth of the quota more per window. */
  #recover(bucket: Bucket, now: number): void {
    if (bucket.limit >= bucket.quota) return;
    if (now - bucket.lastThrottle < this.#quiet || now - bucket.lastIncrease < this.#window) return;
    bucket.limit = Math.min(bucket.quota, bucket.limit + Math.max(1, bucket.quota / 10));
    bucket.lastIncrease = now;
  }
}
