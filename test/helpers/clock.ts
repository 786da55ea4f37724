/**
 * A real clock that records every pause asked of it: how long an operation chose to wait, which,
 * unlike its wall time, does not depend on how fast or loaded the machine is. Unit tests assert on
 * it instead of timing operations (a loaded CI machine took 1.5 s for a mocked migration).
 */
import type { Clock } from '../../src/index.js';
import { systemClock } from '../../src/internal/wait.js';

export interface RecordingClock {
  /** Pass as the registry's `clock`: `systemClock`, recording each `sleep`. */
  readonly clock: Clock;
  /** The sum of every pause asked for so far, in ms. */
  sleptMs(): number;
  /** Forgets the pauses recorded so far. */
  reset(): void;
}

/**
 * @example
 * const waits = recordingClock();
 * const registry = new EncryptedRegistry({ ...scenario.options, clock: waits.clock });
 * await registry.deleteRepository({ repositoryName: 'app' });
 * expect(waits.sleptMs()).toBeLessThan(1_000);
 */
export const recordingClock = (): RecordingClock => {
  let slept = 0;
  return {
    clock: {
      now: () => systemClock.now(),
      sleep: (ms, signal) => {
        slept += Math.max(0, ms);
        return systemClock.sleep(ms, signal);
      },
    },
    sleptMs: () => slept,
    reset: () => void (slept = 0),
  };
};
