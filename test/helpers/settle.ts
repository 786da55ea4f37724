/**
 * Bounds of real time for tests that must show that something *settles* (never hangs), measured
 * from the moment that matters (when a hook broke), not from the test's start: set-up and work
 * before that moment take what the machine makes them take (a loaded CI machine is slower).
 */

/**
 * Answers what `run` settles with, or rejects once `withinMs` have passed since `since()` (checked
 * every 100 ms; while `since()` is `undefined` the clock has not started, and the test's own
 * timeout is the bound).
 *
 * @example
 * let brokeAt: number | undefined;
 * const result = await settlesWithin(operation(() => (brokeAt = Date.now())), () => brokeAt, 20_000);
 */
export const settlesWithin = async <T>(run: PromiseLike<T>, since: () => number | undefined, withinMs: number): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    const check = (): void => {
      const from = since();
      if (from !== undefined && Date.now() - from > withinMs) reject(new Error(`not settled ${String(withinMs)} ms after it should have`));
      else timer = setTimeout(check, 100);
    };
    check();
  });
  try {
    return await Promise.race([Promise.resolve(run), deadline]);
  } finally {
    clearTimeout(timer);
  }
};
