/**
 * Runs `task` over `items` with at most `limit` in flight, keeping the input order in the output.
 * Tasks return values (results), not rejections: a task that throws is a bug and rejects the whole.
 */
export const mapConcurrent = async <T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => PromiseLike<R>,
): Promise<R[]> => {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
};
