/** The largest number of `times` (ms) inside any window [t, t + width): how busy the busiest second was. */
export const busiestWindow = (times: readonly number[], width: number): number => {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; i < sorted.length; i += 1) {
    while ((sorted[i] ?? 0) - (sorted[j] ?? 0) >= width) j += 1;
    best = Math.max(best, i - j + 1);
  }
  return best;
};
