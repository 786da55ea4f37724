import { ResultAsync, errAsync, okAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { mapPool, runPool } from '../../src/internal/pool.js';

/** A task that finishes only when the test says so. */
const gate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

describe('runPool', () => {
  it('never runs more than `concurrency` tasks at once, and runs them all', async () => {
    // Prepare
    const gates = Array.from({ length: 7 }, gate);
    let running = 0;
    let most = 0;
    const started: number[] = [];

    // Act
    const pool = runPool(gates, 3, (g, i) => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      return ResultAsync.fromSafePromise(g.opened.then(() => void running--));
    });
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    for (const g of gates) {
      g.open();
      await new Promise((resolve) => setImmediate(resolve));
    }

    // Assess
    expect((await pool).isOk()).toBe(true);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(most).toBe(3);
  });

  it('starts nothing new after a failure, lets running tasks finish, and returns the first error', async () => {
    const started: number[] = [];

    const result = await runPool([0, 1, 2, 3, 4, 5], 2, (i) => {
      started.push(i);
      return i === 1 ? errAsync(`failed ${i}`) : okAsync(i);
    });

    expect(result._unsafeUnwrapErr()).toBe('failed 1');
    expect(started).toEqual([0, 1, 2]);
  });

  it('succeeds at once on no items', async () => {
    expect((await runPool([], 4, () => errAsync('never'))).isOk()).toBe(true);
  });
});

describe('mapPool', () => {
  it('keeps the input order in the output, with at most `limit` in flight', async () => {
    let running = 0;
    let most = 0;
    const out = await mapPool([30, 10, 20, 0], 2, async (ms, i) => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, ms));
      running--;
      return i * 10;
    });
    expect(out).toEqual([0, 10, 20, 30]);
    expect(most).toBe(2);
  });
});
