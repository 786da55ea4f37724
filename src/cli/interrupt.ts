/**
 * Ctrl-C. By default the CLI exits 130 at once; a command with something to save (a migration's
 * journal) registers a handler that stops its work cleanly instead. A second Ctrl-C always exits.
 */

let handler: (() => void) | undefined;

/**
 * Routes the next Ctrl-C to `onInterrupt` until the returned function is called.
 *
 * @example
 * ```ts
 * const release = onInterrupt(() => controller.abort());
 * try { await work(controller.signal); } finally { release(); }
 * ```
 */
export const onInterrupt = (onInterrupt: () => void): (() => void) => {
  handler = onInterrupt;
  return () => {
    if (handler === onInterrupt) handler = undefined;
  };
};

/** Called by the bin on SIGINT: answers `true` when a handler took it (the process keeps running). */
export const interrupt = (): boolean => {
  const current = handler;
  handler = undefined;
  if (current === undefined) return false;
  current();
  return true;
};
