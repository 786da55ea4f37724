/** Writing a small file so that a crash leaves either its previous content or the new one. */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Writes `text` to `path` atomically: a temporary file in the same directory, fsynced, renamed
 * over `path`, then the directory fsynced (where the file system allows it). Rejects with the
 * file system's error; the temporary file is removed when the rename fails.
 *
 * @example
 * ```ts
 * await writeFileAtomically('./journal.json', JSON.stringify(state));
 * ```
 */
export const writeFileAtomically = async (path: string, text: string): Promise<void> => {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(text, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  // The rename itself is durable only once the directory is.
  const directory = await open(dirname(path), 'r').catch(() => undefined);
  if (directory !== undefined) {
    try {
      await directory.sync();
    } catch {
      // Some file systems refuse to fsync a directory; the rename is still atomic.
    } finally {
      await directory.close();
    }
  }
};
