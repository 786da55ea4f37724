import { ResultAsync, err, ok, type Result } from 'neverthrow';

/**
 * The one worker pool: starts `start(index)` for indexes `0 … count − 1` in order, at most `limit`
 * at once, and hands each answer to `finish`; no new index starts once `stop()` says so.
 */
const runLanes = async <R>(
  count: number,
  limit: number,
  start: (index: number) => PromiseLike<R>,
  finish: (index: number, result: R) => void,
  stop: () => boolean,
): Promise<void> => {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (!stop() && next < count) {
      const index = next++;
      finish(index, await start(index));
    }
  };
  const lanes = Math.max(1, Math.min(Number.isFinite(limit) ? Math.floor(limit) : 1, count));
  await Promise.all(Array.from({ length: lanes }, lane));
};

/**
 * Runs `task` over every item with at most `limit` in flight, keeping the input order in the
 * output. Tasks return values (results), not rejections: a task that throws is a bug and rejects
 * the whole.
 *
 * @example
 * ```ts
 * const outcomes = await mapPool(grantIds, 4, (id) => retireGrant(ctx, keyArn, id));
 * ```
 */
export const mapPool = async <T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => PromiseLike<R>): Promise<R[]> => {
  const results = new Array<R>(items.length);
  // `index < length` is checked by the pool; the cast spares a dead branch.
  await runLanes(
    items.length,
    limit,
    (index) => task(items[index] as T, index),
    (index, result) => {
      results[index] = result;
    },
    () => false,
  );
  return results;
};

/**
 * Runs `worker` over `items` with at most `concurrency` in flight, in the items' order. After the
 * first failure no new item starts; the ones in flight finish, and that first error is returned.
 *
 * @example
 * ```ts
 * runPool(blobs, 4, (blob) => copyBlob(ctx, blob));
 * ```
 */
export const runPool = <T, E>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => ResultAsync<unknown, E>,
): ResultAsync<void, E> => {
  const run = async (): Promise<Result<void, E>> => {
    let failure: { readonly error: E } | undefined;
    await runLanes(
      items.length,
      concurrency,
      (index) => worker(items[index] as T, index),
      (_index, result) => {
        if (result.isErr()) failure ??= { error: result.error };
      },
      () => failure !== undefined,
    );
    return failure === undefined ? ok(undefined) : err(failure.error);
  };
  return new ResultAsync(run());
};
