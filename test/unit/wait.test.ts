import { errAsync, okAsync } from 'neverthrow';
import { describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../src/internal/context.js';
import { backoff, backoffDelays, pollUntil, retriedBeyondSdk, retry, systemClock, waitForDeadlines } from '../../src/internal/wait.js';
import type { RegistryError } from '../../src/index.js';

const throttled = (operation: string): RegistryError => ({ kind: 'Throttled', service: 'ecr', operation, cause: undefined });

describe('backoff', () => {
  it('doubles from the first pause up to the longest, and never under 1 ms', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => backoff({ initialDelayMs: 500, maxDelayMs: 3000 }, n))).toEqual([500, 1000, 2000, 3000, 3000, 3000]);
    expect(backoff({ initialDelayMs: 0, maxDelayMs: 0 }, 1)).toBe(1);
  });

  it('with half jitter, stays in the upper half of the pause', () => {
    for (let i = 0; i < 50; i++) {
      const delay = backoff({ initialDelayMs: 1000, maxDelayMs: 10_000 }, 2, 'half');
      expect(delay).toBeGreaterThanOrEqual(1000);
      expect(delay).toBeLessThanOrEqual(2000);
    }
  });

  it('a poll whose longest pause is 0 still ends', () => {
    expect(backoffDelays({ initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 5 })).toEqual([1, 1, 1, 1, 1]);
  });
});

describe('pollUntil', () => {
  const waiter = (slept: number[]) => ({ poll: { initialDelayMs: 10, maxDelayMs: 40, timeoutMs: 100 }, sleep: (ms: number) => Promise.resolve(void slept.push(ms)) });

  it('probes until done, pausing through the clock', async () => {
    const slept: number[] = [];
    let n = 0;
    const outcome = await pollUntil(waiter(slept), () => okAsync(++n), (v) => v === 3);
    expect(outcome._unsafeUnwrap()).toEqual({ value: 3, done: true });
    expect(slept).toEqual([10, 20]);
  });

  it('answers the last value, not done, at the bound', async () => {
    const slept: number[] = [];
    const outcome = await pollUntil(waiter(slept), () => okAsync('no'), () => false);
    expect(outcome._unsafeUnwrap()).toEqual({ value: 'no', done: false });
    expect(slept).toEqual([10, 20, 40]);
  });

  it('fails on a failed probe unless tolerated', async () => {
    let n = 0;
    const probe = () => (++n < 3 ? errAsync('flaky') : okAsync(n));
    expect((await pollUntil(waiter([]), probe, () => true))._unsafeUnwrapErr()).toBe('flaky');
    n = 0;
    expect((await pollUntil(waiter([]), probe, () => true, { tolerate: (e) => e === 'flaky' }))._unsafeUnwrap()).toEqual({ value: 3, done: true });
  });
});

describe('waitForDeadlines', () => {
  /** A clock that moves only when slept on. */
  const movingClock = (start = 0) => {
    let t = start;
    const slept: number[] = [];
    return { slept, now: () => new Date(t), sleep: (ms: number) => Promise.resolve(void ((t += ms), slept.push(ms))) };
  };

  it('pauses until each time the data names, probing after each, until none is named', async () => {
    const clock = movingClock();
    const deadlines = [1000, 2500];
    let probes = 0;
    const waits: number[] = [];
    const last = await waitForDeadlines(clock, 0, (v) => (deadlines[v] === undefined ? undefined : new Date(deadlines[v])), () => okAsync(++probes), {
      onWait: (_v, _until, ms) => waits.push(ms),
    });
    expect(last._unsafeUnwrap()).toBe(2);
    expect(clock.slept).toEqual([1000, 1500]);
    expect(waits).toEqual([1000, 1500]);
  });

  it('ends when the named time does not move on (a clock that does not move waits once)', async () => {
    const frozen = { now: () => new Date(0), sleep: () => Promise.resolve() };
    let probes = 0;
    const last = await waitForDeadlines(frozen, 0, () => new Date(5000), () => okAsync(++probes));
    expect(last._unsafeUnwrap()).toBe(1);
  });

  it('a failed probe ends the wait with its error; an abort ends it with the last value', async () => {
    const failed = await waitForDeadlines(movingClock(), 0, (v) => (v === 0 ? new Date(10) : undefined), () => errAsync('boom'));
    expect(failed._unsafeUnwrapErr()).toBe('boom');
    const controller = new AbortController();
    controller.abort();
    let probes = 0;
    const stopped = await waitForDeadlines(movingClock(), 0, () => new Date(10), () => okAsync(++probes), { signal: controller.signal });
    expect(stopped._unsafeUnwrap()).toBe(0);
    expect(probes).toBe(0);
  });
});

describe('retry', () => {
  const ctx = { sleep: () => Promise.resolve(), logger: silentLogger };
  const policy = { attempts: 4, baseDelayMs: 1, maxDelayMs: 2 };

  it('tries only what the call site calls retryable, up to the attempts', async () => {
    let tries = 0;
    const always = () => errAsync<never, RegistryError>(throttled('UploadLayerPart')).orElse((e) => (++tries, errAsync(e)));
    const result = await retry(ctx, policy, 'UploadLayerPart', always, { retryable: retriedBeyondSdk('UploadLayerPart') });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'Throttled' });
    expect(tries).toBe(4);

    tries = 0;
    await retry(ctx, policy, 'DescribeImages', always, { retryable: retriedBeyondSdk('DescribeImages') });
    expect(tries).toBe(1);
  });

  it('an abort between tries answers Aborted', async () => {
    const controller = new AbortController();
    const result = await retry(ctx, policy, 'CopyBlob', () => (controller.abort(), errAsync('restart')), { retryable: () => true, signal: controller.signal });
    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'Aborted', operation: 'CopyBlob' });
  });
});

describe('systemClock', () => {
  it('sleeps, and an abort cuts the sleep short', async () => {
    // On fake timers: what ends the sleep is seen without timing it (a loaded machine stretches wall time).
    vi.useFakeTimers();
    try {
      const controller = new AbortController();
      let ended = false;
      void systemClock.sleep(60_000, controller.signal).then(() => (ended = true));
      await vi.advanceTimersByTimeAsync(59_999);
      expect(ended).toBe(false);
      controller.abort();
      await vi.advanceTimersByTimeAsync(0);
      expect(ended).toBe(true);
      // Its timer is cleared, not left to fire later.
      expect(vi.getTimerCount()).toBe(0);
      // Without an abort, it ends when its time has passed.
      let slept = false;
      void systemClock.sleep(60_000).then(() => (slept = true));
      await vi.advanceTimersByTimeAsync(59_999);
      expect(slept).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(slept).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
