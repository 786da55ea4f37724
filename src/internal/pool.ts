import { ResultAsync, err, ok, type Result } from 'neverthrow';

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
    let next = 0;
    let failure: { readonly error: E } | undefined;
    const lane = async (): Promise<void> => {
      while (failure === undefined && next < items.length) {
        const index = next++;
        // `index < length` was checked just above; the cast spares a dead branch.
        const result = await worker(items[index] as T, index);
        if (result.isErr()) failure ??= { error: result.error };
      }
    };
    const lanes = Math.max(1, Math.min(Math.floor(concurrency), items.length));
    await Promise.all(Array.from({ length: lanes }, lane));
    return failure === undefined ? ok(undefined) : err(failure.error);
  };
  return new ResultAsync(run());
};
