/** `--report-file PATH`: the report written whole or not at all. */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `path` atomically: into a temporary file beside it (same directory, so the
 * same file system), flushed, then renamed over `path`. A reader never sees half a report, and a
 * failure leaves the previous file as it was. Answers the error message on failure.
 */
export const writeFileAtomic = (path: string, text: string): string | undefined => {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(temporary, 'wx', 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    return undefined;
  } catch (error) {
    rmSync(temporary, { force: true });
    return error instanceof Error ? error.message : String(error);
  }
};
