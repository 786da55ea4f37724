/**
 * Deterministic fault injection: which call fails, and how, depends only on the order of calls
 * (and a seed for `share`), never on timing.
 */
import { ApiError } from './core.js';

/** Which calls a fault applies to: `CreateGrant` (any service) or `kms:CreateGrant`; all calls when absent. */
export interface FaultTarget {
  readonly operation?: string;
}

/** When a connection drop or a stop happens relative to the operation's state change. */
export type FaultTiming = 'before' | 'after';

/** Removes one fault. */
export interface FaultHandle {
  remove(): void;
}

/** What the server does with one call. */
export interface FaultDecision {
  readonly delayMs: number;
  readonly error?: ApiError;
  readonly drop?: FaultTiming;
  readonly stop?: FaultTiming;
}

interface Rule {
  readonly target: string | undefined;
  seen: number;
  /** Given the 1-based count of matching calls, what to do. */
  readonly apply: (count: number) => Partial<FaultDecision> | undefined;
}

/** mulberry32: a tiny seeded PRNG, so `share` picks the same calls on every run. */
const seeded = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const matches = (target: string | undefined, service: string, operation: string): boolean => {
  if (target === undefined || target === '*') return true;
  const colon = target.indexOf(':');
  if (colon < 0) return target === operation;
  const [svc, op] = [target.slice(0, colon), target.slice(colon + 1)];
  return svc === service && (op === '*' || op === operation);
};

/** The `faults` handle of a running emulator. */
export class Faults {
  #rules: Rule[] = [];

  #add(target: string | undefined, apply: Rule['apply']): FaultHandle {
    const rule: Rule = { target, seen: 0, apply };
    this.#rules.push(rule);
    return { remove: () => void (this.#rules = this.#rules.filter((r) => r !== rule)) };
  }

  /**
   * Answers `ThrottlingException` (`Throttling` for IAM/STS): every `every`-th matching call
   * (default every call), or a seeded `share` (0–1) of them.
   */
  throttle(options: FaultTarget & { readonly every?: number; readonly share?: number; readonly seed?: number } = {}): FaultHandle {
    const every = options.every ?? 1;
    const random = options.share === undefined ? undefined : seeded(options.seed ?? 1);
    const error = new ApiError('ThrottlingException', 'Rate exceeded', { status: 400 });
    return this.#add(options.operation, (count) => {
      const hit = random !== undefined ? random() < (options.share ?? 0) : count % every === 0;
      return hit ? { error } : undefined;
    });
  }

  /** Answers a 5xx (`InternalFailure`, or `ServiceUnavailable` for 503) to matching calls; only the first `times` when given. */
  serverError(options: FaultTarget & { readonly status?: number; readonly code?: string; readonly times?: number } = {}): FaultHandle {
    const status = options.status ?? 500;
    const code = options.code ?? (status === 503 ? 'ServiceUnavailable' : 'InternalFailure');
    return this.#add(options.operation, (count) =>
      options.times === undefined || count <= options.times ? { error: new ApiError(code, `Injected server error (${status})`, { status }) } : undefined,
    );
  }

  /** Delays matching calls by `ms` before they run. */
  latency(ms: number, options: FaultTarget = {}): FaultHandle {
    return this.#add(options.operation, () => ({ delayMs: ms }));
  }

  /**
   * Destroys the socket of matching calls (only the `nth` when given) without an answer;
   * `when: 'before'` (default) leaves state unchanged, `'after'` applies the call first.
   */
  dropConnection(options: FaultTarget & { readonly nth?: number; readonly when?: FaultTiming } = {}): FaultHandle {
    const when = options.when ?? 'before';
    return this.#add(options.operation, (count) => (options.nth === undefined || count === options.nth ? { drop: when } : undefined));
  }

  /** Fails the `n`th matching call of `operation` (default error: a 500 `InternalFailure`). */
  failNth(operation: string, n: number, error: ApiError = new ApiError('InternalFailure', `Injected failure of call ${n}`, { status: 500 })): FaultHandle {
    return this.#add(operation, (count) => (count === n ? { error } : undefined));
  }

  /**
   * Stops the whole server in the middle of the `nth` (default first) matching call: with
   * `when: 'after'` (default) the call's state change is applied (and persisted) and then the
   * server stops without answering; with `'before'` it stops before the call runs. Bring it back
   * with `restart()`.
   */
  stopDuring(operation: string, options: { readonly nth?: number; readonly when?: FaultTiming } = {}): FaultHandle {
    const nth = options.nth ?? 1;
    const when = options.when ?? 'after';
    return this.#add(operation, (count) => (count === nth ? { stop: when } : undefined));
  }

  /** Removes every fault. */
  clear(): void {
    this.#rules = [];
  }

  /** @internal What to do with one call (counts it against every matching rule). */
  decide(service: string, operation: string): FaultDecision {
    let delayMs = 0;
    let error: ApiError | undefined;
    let drop: FaultTiming | undefined;
    let stop: FaultTiming | undefined;
    for (const rule of this.#rules) {
      if (!matches(rule.target, service, operation)) continue;
      rule.seen += 1;
      const decision = rule.apply(rule.seen);
      if (decision === undefined) continue;
      delayMs += decision.delayMs ?? 0;
      error ??= decision.error;
      drop ??= decision.drop;
      stop ??= decision.stop;
    }
    return { delayMs, ...(error ? { error } : {}), ...(drop ? { drop } : {}), ...(stop ? { stop } : {}) };
  }
}
