import type { PollSettings } from './context.js';

/**
 * The pauses of a bounded exponential backoff (×2 each time, capped at `maxDelayMs`), stopping once
 * their sum would pass `timeoutMs`. Deterministic, so tests can reason about the number of polls.
 */
export const backoffDelays = ({ initialDelayMs, maxDelayMs, timeoutMs }: PollSettings): number[] => {
  const delays: number[] = [];
  let total = 0;
  let delay = Math.max(1, initialDelayMs);
  while (total + delay <= timeoutMs) {
    delays.push(delay);
    total += delay;
    delay = Math.min(maxDelayMs, delay * 2);
  }
  return delays;
};

/** Default for grant polls: grants are eventually consistent, "usually less than five minutes". */
export const DEFAULT_POLL: PollSettings = { initialDelayMs: 500, maxDelayMs: 15_000, timeoutMs: 120_000 };
