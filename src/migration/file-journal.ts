/**
 * The file journal: a local JSON file written atomically (temporary file, fsync, rename, fsync of
 * the directory), with a lock file beside it so that two processes never run one journal; and the
 * default path a migration uses when given no journal.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ResultAsync, err, errAsync, ok, okAsync, type Result } from 'neverthrow';
import type { JournalFailed, JournalLockOwner } from '../errors.js';
import { writeFileAtomically } from '../internal/atomic-file.js';
import { isRecord, messageOf, parseJournalState } from './journal-schema.js';
import { recordOf } from './state.js';
import type { JournalLock, MigrationJournal } from './types.js';

/** Percent-escapes every character but `a-z 0-9 . _ -` (so `%` too): one name, one file name. */
const escapeName = (name: string): string =>
  name.replace(/[^a-z0-9._-]/g, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

/**
 * The journal used when none is given: a file in `directory` (default: the current directory),
 * named after the repository, `/` escaped as `%2F` (`team/app` and `team_app` get different files).
 * A journal under the name earlier versions used (`.migration-journal-<name>.json`, `/` as `_`,
 * so not one file per repository) is still found when it records this repository, so an
 * interrupted migration resumes.
 *
 * @example
 * ```ts
 * defaultJournalPath('team/app', '/work'); // '/work/.encrypted-ecr-migration-team%2Fapp.json'
 * ```
 */
export const defaultJournalPath = (repositoryName: string, directory: string = process.cwd()): string => {
  const current = join(directory, `.encrypted-ecr-migration-${escapeName(repositoryName)}.json`);
  const legacy = join(directory, `.migration-journal-${repositoryName.replace(/[^a-z0-9._-]/g, '_')}.json`);
  if (legacy === current || existsSync(current) || !existsSync(legacy)) return current;
  try {
    const recorded: unknown = JSON.parse(readFileSync(legacy, 'utf8'));
    if (typeof recorded === 'object' && recorded !== null && (recorded as { repositoryName?: unknown }).repositoryName === repositoryName) return legacy;
  } catch {
    // Unreadable: not provably this repository's; the new name is used.
  }
  return current;
};

/** A journal that cannot be used: every operation answers JournalFailed with `reason`. */
const unusableJournal = (reason: string): MigrationJournal => {
  const fail = (operation: JournalFailed['operation']) => () => errAsync<never, JournalFailed>({ kind: 'JournalFailed', operation, journal: '(invalid journal path)', reason });
  return { description: '(invalid journal path)', load: fail('load'), save: fail('save'), clear: fail('clear') };
};

/**
 * A journal in a local JSON file, written atomically: the state goes to a temporary file in the
 * same directory, which is fsynced and renamed over the journal, then the directory is fsynced.
 * A crash leaves either the previous state or the new one, never a torn file.
 *
 * @example
 * ```ts
 * const journal = fileJournal('./migrations/team-app.json');
 * const result = await registry.migrateRepository({ repositoryName: 'team/app', encryption: { type: 'KMS' }, journal });
 * // after a crash, in a new process:
 * await registry.resumeMigration({ journal: fileJournal('./migrations/team-app.json') });
 * ```
 */
export const fileJournal = (path: string): MigrationJournal => {
  // No error channel here: a path that is not a non-empty string makes every use of the journal
  // answer JournalFailed, and the migration stops before any AWS call changes anything.
  if (typeof path !== 'string' || path === '') return unusableJournal('the journal path must be a non-empty string');
  const journal = path;
  const failed = (operation: JournalFailed['operation']) => (cause: unknown): JournalFailed => ({
    kind: 'JournalFailed',
    operation,
    journal,
    reason: messageOf(cause),
    cause,
  });

  return {
    description: journal,
    lock: () => lockFile(path, journal),
    load: () =>
      ResultAsync.fromPromise(
        readFile(path, 'utf8').catch((error: unknown) => {
          if (isRecord(error) && error.code === 'ENOENT') return undefined;
          throw error;
        }),
        failed('load'),
      ).andThen((text) => {
        if (text === undefined) return okAsync(undefined);
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (cause) {
          return errAsync(failed('load')(cause));
        }
        return parseJournalState(parsed, journal).map(recordOf);
      }),
    save: (record) => ResultAsync.fromPromise(writeFileAtomically(path, `${JSON.stringify(record)}\n`), failed('save')),
    clear: () => ResultAsync.fromPromise(rm(path, { force: true }), failed('clear')),
  };
};

// ---------------------------------------------------------------------------------------------
// The file journal's lock: a file beside it, created atomically (O_CREAT|O_EXCL), holding who
// took it. A lock of a dead process on this host is taken over; any other is reported.
// ---------------------------------------------------------------------------------------------

interface LockRecord extends JournalLockOwner {
  /** Tells this lock from a later one of the same pid. */
  readonly token: string;
}

const readLock = async (file: string): Promise<LockRecord | undefined> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  if (!isRecord(parsed)) return undefined;
  const { pid, hostname: host, startedAt, token } = parsed;
  if (typeof pid !== 'number' || typeof host !== 'string' || typeof startedAt !== 'string' || typeof token !== 'string') return undefined;
  return { pid, hostname: host, startedAt, token };
};

/** Whether a process of this host is alive (`EPERM`: it is, but belongs to another user). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !(isRecord(error) && error.code === 'ESRCH');
  }
};

const codeOf = (error: unknown): unknown => (isRecord(error) ? error.code : undefined);

/**
 * Takes `<path>.lock` (a migration's journal, and the fleet journal of `migrateRepositories`). A
 * lock held by a live process, or by any process of another host (whose pid cannot be checked
 * from here), is `JournalFailed` (`operation: 'lock'`) with its `owner`. A lock whose process is
 * gone (same host, pid not running) is stale: it is renamed away, checked to be the same stale
 * lock (another process may have taken it over in the meantime; that one is put back), and the
 * lock is taken again.
 */
export const lockFile = (path: string, journal: string): ResultAsync<JournalLock, JournalFailed> => {
  const lockPath = `${path}.lock`;
  const fail = (reason: string, cause?: unknown, owner?: JournalLockOwner): JournalFailed => ({
    kind: 'JournalFailed',
    operation: 'lock',
    journal,
    reason,
    ...(owner === undefined ? {} : { owner }),
    ...(cause === undefined ? {} : { cause }),
  });
  const held = (owner: JournalLockOwner): JournalFailed =>
    fail(`the journal is in use by process ${owner.pid} on ${owner.hostname} since ${owner.startedAt} (lock file ${lockPath})`, undefined, {
      pid: owner.pid,
      hostname: owner.hostname,
      startedAt: owner.startedAt,
    });
  const mine: LockRecord = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: randomBytes(8).toString('hex') };

  const release = (): ResultAsync<void, JournalFailed> =>
    ResultAsync.fromPromise(
      (async () => {
        const current = await readLock(lockPath);
        if (current?.token === mine.token) await rm(lockPath, { force: true });
      })(),
      (cause) => ({ kind: 'JournalFailed' as const, operation: 'lock' as const, journal, reason: `the lock ${lockPath} could not be released: ${messageOf(cause)}`, cause }),
    );

  const take = async (): Promise<Result<JournalLock, JournalFailed>> => {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const file = await open(lockPath, 'wx', 0o600);
        try {
          await file.writeFile(`${JSON.stringify(mine)}\n`, 'utf8');
          await file.sync();
        } finally {
          await file.close();
        }
        return ok({ release });
      } catch (error) {
        if (codeOf(error) !== 'EEXIST') return err(fail(`the lock ${lockPath} could not be created: ${messageOf(error)}`, error));
      }
      const owner = await readLock(lockPath);
      if (owner === undefined) {
        // Being written this very moment, or torn by a crash: never guess; say where it is.
        return err(fail(`the lock ${lockPath} exists but cannot be read: if no migration runs with this journal, delete it`));
      }
      if (owner.hostname !== hostname() || alive(owner.pid)) return err(held(owner));
      // Stale: move it away, and make sure what was moved is the stale lock seen above.
      const moved = `${lockPath}.stale-${mine.token}`;
      try {
        await rename(lockPath, moved);
      } catch (error) {
        if (codeOf(error) === 'ENOENT') continue;
        return err(fail(`the stale lock ${lockPath} could not be removed: ${messageOf(error)}`, error));
      }
      const taken = await readLock(moved);
      if (taken?.token !== owner.token) {
        // Another process took the stale lock over between our read and our rename: give it back.
        await link(moved, lockPath).catch(() => undefined);
        await rm(moved, { force: true });
        return err(taken === undefined ? fail(`the lock ${lockPath} changed while it was taken over`) : held(taken));
      }
      await rm(moved, { force: true });
    }
    return err(fail(`the lock ${lockPath} could not be taken: it keeps changing`));
  };
  return new ResultAsync(take());
};
