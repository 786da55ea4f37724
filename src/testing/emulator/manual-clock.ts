import type { Clock } from './core.js';

/** A clock tests move by hand (grant consistency, key deletion, session expiry). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(time: Date): void;
}

/**
 * A clock that only moves when told to.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * const aws = await startLocalAws({ clock, awsVariants: { grantConsistencyDelayMs: 60_000 } });
 * clock.advance(60_000); // retired grants now leave ListGrants
 * ```
 */
export const manualClock = (start: Date = new Date('2026-01-01T00:00:00Z')): ManualClock => {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (time) => {
      now = time.getTime();
    },
  };
};
