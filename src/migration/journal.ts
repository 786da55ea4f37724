/**
 * The migration journal: where a migration records each step before and after it runs, so that a
 * new process can go on after a crash at any point. The state is plain JSON; any store can keep it
 * by implementing {@link MigrationJournal}. {@link fileJournal} writes a local file atomically
 * (temporary file, fsync, rename, fsync of the directory).
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { ResultAsync, err, errAsync, ok, okAsync, type Result } from 'neverthrow';
import type { JournalFailed, JournalLockOwner, MigrationStep } from '../errors.js';
import type { ImageTagMutability, RepositoryTag } from '../operations/preflight.js';
import type { EncryptionDescription } from '../types.js';
import type { MigrationWarning } from './plan.js';
import type { ImageGraph } from './snapshot.js';

/** The steps of a migration, in the order they run. */
export const MIGRATION_STEPS: readonly MigrationStep[] = [
  'freeze',
  'snapshot',
  'createStaging',
  'copyToStaging',
  'verifyStaging',
  'deleteOriginal',
  'recreate',
  'copyBack',
  'verifyFinal',
  'restoreSettings',
  'deleteStaging',
];

/** The repository settings a migration carries over (everything but encryption and images). */
export interface RepositorySettings {
  /** The repository policy text exactly as ECR returned it; `undefined` when there is none. */
  readonly repositoryPolicy: string | undefined;
  /** The lifecycle policy text; `undefined` when there is none. Applied last. */
  readonly lifecyclePolicy: string | undefined;
  readonly scanOnPush: boolean;
  /** Applied last when `IMMUTABLE*` (copies would otherwise trip over their own tags). */
  readonly imageTagMutability: ImageTagMutability;
  readonly imageTagMutabilityExclusionFilters: readonly string[];
  /** Resource tags, without the `aws:` ones (AWS owns those). */
  readonly tags: readonly RepositoryTag[];
  /** Keys of the `aws:` tags, which cannot be copied. */
  readonly awsTagKeys: readonly string[];
}

/** One step as the journal records it. */
export interface StepRecord {
  readonly status: 'started' | 'done';
  /** ISO time the step (last) started. */
  readonly startedAt: string;
  /** ISO time it finished. */
  readonly finishedAt?: string;
  /** How many times it was started (more than 1 after a resume). */
  readonly attempts: number;
  /** Milliseconds it took, summed over attempts that finished or were cut short and recorded. */
  readonly durationMs?: number;
}

/** Copy progress into one target repository. */
export interface CopyRecord {
  /** The target repository's ARN, once it exists. */
  repositoryArn?: string;
  /** ISO creation time of the target repository (tells its grants from other incarnations'). */
  createdAt?: string;
  readonly blobs: string[];
  readonly manifests: string[];
  /** ISO time it was last verified against the snapshot. */
  verifiedAt?: string;
}

/** Everything a migration needs to go on in another process. Plain JSON. */
export interface JournalState {
  readonly format: 'encrypted-ecr/migration';
  readonly version: 1;
  readonly migrationId: string;
  readonly region: string;
  readonly account: string;
  readonly repositoryName: string;
  readonly stagingRepositoryName: string;
  readonly startedAt: string;
  updatedAt: string;
  /** Set once the last step is done. */
  completedAt?: string;
  readonly from: EncryptionDescription;
  readonly to: EncryptionDescription;
  /** `aws:PrincipalArn` patterns the freeze statement lets through (the migrating principal). */
  readonly exemptPrincipals: readonly string[];
  readonly original: {
    readonly repositoryArn: string;
    /** ISO creation time of the original incarnation. */
    readonly createdAt: string;
    /**
     * The settings to restore. The lifecycle policy text is read again once the freeze is in
     * place (nobody else can change it then) and saved before the policy is deleted.
     */
    settings: RepositorySettings;
  };
  /**
   * ISO time the original's lifecycle policy was deleted for the migration (ECR's expiry is not
   * stopped by the freeze); `restoreSettings` puts `original.settings.lifecyclePolicy` back.
   */
  lifecyclePausedAt?: string;
  readonly steps: Partial<Record<MigrationStep, StepRecord>>;
  /** Taken after the freeze: what must be identical at the end. */
  snapshot?: ImageGraph;
  staging: CopyRecord;
  final: CopyRecord;
  /** Warnings gathered on the way (a grant left on a key, a registry rule…). */
  readonly warnings: MigrationWarning[];
}

/**
 * Where a migration keeps its state. `save` must be durable when it succeeds (a crash right after
 * must not lose it) and atomic (a crash during it leaves the previous state). Calls never overlap.
 *
 * @example
 * ```ts
 * // A journal in a DynamoDB item, an S3 object, a database row… anything with these three calls:
 * const journal: MigrationJournal = {
 *   description: 'ddb:migrations/app',
 *   load: () => loadItem('app'),
 *   save: (state) => putItem('app', state),
 *   clear: () => deleteItem('app'),
 * };
 * ```
 */
export interface MigrationJournal {
  /** How the journal names itself in messages, e.g. its file path. */
  readonly description: string;
  /** The saved state, or `undefined` when there is none. */
  load(): ResultAsync<JournalState | undefined, JournalFailed>;
  save(state: JournalState): ResultAsync<void, JournalFailed>;
  /** Forgets the state (after a migration finished). Clearing an empty journal succeeds. */
  clear(): ResultAsync<void, JournalFailed>;
  /**
   * Optional: takes the journal for this process, so that two processes never run one journal.
   * A lock held by someone else fails with a `JournalFailed` carrying its `owner`. The migration
   * takes it before reading the journal and releases it when it returns.
   */
  lock?(): ResultAsync<JournalLock, JournalFailed>;
}

/** A journal lock held by this process. */
export interface JournalLock {
  /** Releases it; releasing twice, or a lock that is not ours any more, changes nothing. */
  release(): ResultAsync<void, JournalFailed>;
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------------------------------------
// The schema: every field of a journal is checked on load, whoever stored it. A journal is data
// from disk or from a user's store; nothing in it is trusted until it has the shape this library
// writes (a wrong inner type would otherwise throw, or hang a copy, far from where it was read).
// ---------------------------------------------------------------------------------------------

/** Answers what is wrong with `value` at `path`, or `undefined` when it fits. */
type Check = (value: unknown, path: string) => string | undefined;

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
const str: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string, not ${typeName(v)}`);
const nonEmpty: Check = (v, p) => str(v, p) ?? ((v as string).length > 0 ? undefined : `${p} must not be empty`);
const isoTime: Check = (v, p) => str(v, p) ?? (Number.isNaN(Date.parse(v as string)) ? `${p} must be an ISO time` : undefined);
const count: Check = (v, p) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : `${p} must be a whole number, not ${typeName(v)}`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${typeName(v)}`);
const oneOf =
  (...values: readonly (string | number)[]): Check =>
  (v, p) =>
    values.includes(v as string) ? undefined : `${p} must be one of ${values.join(', ')}`;
const matches =
  (pattern: RegExp, what: string): Check =>
  (v, p) =>
    str(v, p) ?? (pattern.test(v as string) ? undefined : `${p} must be ${what}`);
/** Absent is fine (JSON drops `undefined`); `null` is not. */
const optional =
  (check: Check): Check =>
  (v, p) =>
    v === undefined ? undefined : check(v, p);
const arrayOf =
  (check: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array, not ${typeName(v)}`;
    for (let i = 0; i < v.length; i++) {
      const problem = check(v[i], `${p}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
/** The named fields are checked; others are left alone (a newer minor version may add some). */
const object =
  (shape: Readonly<Record<string, Check>>): Check =>
  (v, p) => {
    if (!isRecord(v)) return `${p} must be an object, not ${typeName(v)}`;
    for (const [key, check] of Object.entries(shape)) {
      const problem = check(v[key], `${p}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
const recordOf =
  (keys: readonly string[], check: Check): Check =>
  (v, p) => {
    if (!isRecord(v)) return `${p} must be an object, not ${typeName(v)}`;
    for (const [key, value] of Object.entries(v)) {
      if (!keys.includes(key)) return `${p} has an unknown key ${key}`;
      const problem = check(value, `${p}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };

const strings = arrayOf(str);
const digests = arrayOf(nonEmpty);
const encryption = object({ type: oneOf('AES256', 'KMS', 'KMS_DSSE'), keyArn: optional(nonEmpty), awsManagedKey: optional(bool) });
const settingsCheck = object({
  repositoryPolicy: optional(str),
  lifecyclePolicy: optional(str),
  scanOnPush: bool,
  imageTagMutability: oneOf('MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'),
  imageTagMutabilityExclusionFilters: strings,
  tags: arrayOf(object({ Key: str, Value: str })),
  awsTagKeys: strings,
});
const stepRecord = object({
  status: oneOf('started', 'done'),
  startedAt: isoTime,
  finishedAt: optional(isoTime),
  attempts: count,
  durationMs: optional(count),
});
const copyRecord = object({
  repositoryArn: optional(nonEmpty),
  createdAt: optional(isoTime),
  blobs: digests,
  manifests: digests,
  verifiedAt: optional(isoTime),
});
const graphImage = object({
  digest: nonEmpty,
  tags: strings,
  pushedAt: optional(isoTime),
  status: oneOf('ACTIVE', 'ARCHIVED', 'ACTIVATING'),
  mediaType: optional(str),
  artifactMediaType: optional(str),
  sizeInBytes: optional(count),
  manifest: optional(str),
  children: digests,
  parents: digests,
  subject: optional(nonEmpty),
  referrers: digests,
  blobs: digests,
});
const graphCheck = object({
  repositoryName: str,
  takenAt: isoTime,
  images: arrayOf(graphImage),
  archived: digests,
  blobs: arrayOf(object({ digest: nonEmpty, size: optional(count), mediaType: optional(str), usedBy: digests })),
  externalBlobs: digests,
  totalBytes: count,
  blobsOfUnknownSize: count,
  danglingReferences: arrayOf(object({ from: nonEmpty, to: nonEmpty, relation: oneOf('child', 'subject') })),
  mediaTypes: strings,
});
/** Migration ids go into a policy `Sid` (alphanumeric) and a repository name (lower case). */
const migrationIdCheck = matches(/^[a-z0-9]{1,64}$/, 'lower-case letters and digits (at most 64)');

const journalCheck = object({
  migrationId: migrationIdCheck,
  region: nonEmpty,
  account: nonEmpty,
  repositoryName: nonEmpty,
  stagingRepositoryName: nonEmpty,
  startedAt: isoTime,
  updatedAt: isoTime,
  completedAt: optional(isoTime),
  from: encryption,
  to: encryption,
  exemptPrincipals: arrayOf(nonEmpty),
  original: object({ repositoryArn: str, createdAt: isoTime, settings: settingsCheck }),
  lifecyclePausedAt: optional(isoTime),
  steps: recordOf(MIGRATION_STEPS, stepRecord),
  snapshot: optional(graphCheck),
  staging: copyRecord,
  final: copyRecord,
  warnings: arrayOf(object({ code: nonEmpty, message: str })),
});

/** What is wrong with a journal value (every field, every inner type), or `undefined`. */
export const journalProblem = (value: unknown): string | undefined => {
  if (!isRecord(value) || value.format !== 'encrypted-ecr/migration') return 'not an encrypted-ecr migration journal';
  if (value.version !== 1) return `journal version ${String(value.version)} is not supported (this library writes version 1)`;
  const problem = journalCheck(value, 'journal');
  if (problem !== undefined) return problem;
  // Consistency a crash cannot produce: completion is recorded only after every step is done.
  const steps = value.steps as Record<string, { status: string } | undefined>;
  if (value.completedAt !== undefined && MIGRATION_STEPS.some((step) => steps[step]?.status !== 'done')) {
    return 'journal.completedAt is set although not every step is done';
  }
  const snapshotSteps = MIGRATION_STEPS.slice(MIGRATION_STEPS.indexOf('snapshot'));
  if (value.snapshot === undefined && snapshotSteps.some((step) => steps[step]?.status === 'done')) {
    return 'journal.snapshot is missing although the snapshot step is done';
  }
  return undefined;
};

/** A journal that cannot be used: every operation answers JournalFailed with `reason`. */
const unusableJournal = (reason: string): MigrationJournal => {
  const fail = (operation: JournalFailed['operation']) => () => errAsync<never, JournalFailed>({ kind: 'JournalFailed', operation, journal: '(invalid journal path)', reason });
  return { description: '(invalid journal path)', load: fail('load'), save: fail('save'), clear: fail('clear') };
};

/** Checks that a value read back is a journal state this version understands, field by field. */
export const parseJournalState = (value: unknown, journal: string): ResultAsync<JournalState, JournalFailed> => {
  const problem = journalProblem(value);
  if (problem !== undefined) return errAsync({ kind: 'JournalFailed', operation: 'load', journal, reason: problem });
  // Every field was checked above against the shape this library writes.
  return okAsync(value as JournalState);
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

  const write = async (text: string): Promise<void> => {
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
        return parseJournalState(parsed, journal);
      }),
    save: (state) => ResultAsync.fromPromise(write(`${JSON.stringify(state)}\n`), failed('save')),
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
 * Takes `<path>.lock`. A lock whose process is gone (same host, pid not running) is stale: it is
 * renamed away, checked to be the same stale lock (another process may have taken it over in the
 * meantime; that one is put back), and the lock is taken again.
 */
const lockFile = (path: string, journal: string): ResultAsync<JournalLock, JournalFailed> => {
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

// ---------------------------------------------------------------------------------------------
// Any journal, as the migration uses it
// ---------------------------------------------------------------------------------------------

const isResult = (value: unknown): value is Result<unknown, unknown> =>
  isRecord(value) && typeof value.isOk === 'function' && typeof value.isErr === 'function';

const isJournalFailed = (value: unknown): value is JournalFailed =>
  isRecord(value) && value.kind === 'JournalFailed' && typeof value.reason === 'string' && typeof value.journal === 'string';

/**
 * The journal as the migration uses it: a call that throws, rejects, or answers something other
 * than a `Result` becomes `JournalFailed` (a user's store must not leave a migration hanging), and
 * whatever `load` answers is checked field by field, as a file journal's content is.
 *
 * @example
 * ```ts
 * const journal = guardJournal(myJournal);
 * const state = await journal.load(); // JournalFailed, never a throw, for a broken store
 * ```
 */
export const guardJournal = (journal: MigrationJournal): MigrationJournal => {
  const description = String(journal.description);
  const settle = <T>(operation: JournalFailed['operation'], call: () => unknown): ResultAsync<T, JournalFailed> => {
    const failed = (reason: string, cause?: unknown): Result<T, JournalFailed> =>
      err({ kind: 'JournalFailed', operation, journal: description, reason, ...(cause === undefined ? {} : { cause }) });
    const run = async (): Promise<Result<T, JournalFailed>> => {
      try {
        // A ResultAsync is a thenable: awaiting it gives its Result (a rejection lands below).
        const answer: unknown = await call();
        if (!isResult(answer)) return failed(`the journal's ${operation}() answered no Result`);
        if (answer.isOk()) return ok(answer.value as T);
        const error = answer.error;
        return isJournalFailed(error) ? err(error) : failed(`the journal's ${operation}() failed: ${messageOf(error)}`, error);
      } catch (cause) {
        return failed(`the journal's ${operation}() threw: ${messageOf(cause)}`, cause);
      }
    };
    return new ResultAsync(run());
  };
  const lock = journal.lock?.bind(journal);
  return {
    description,
    load: () =>
      settle<unknown>('load', () => journal.load()).andThen((value) =>
        value === undefined ? okAsync<JournalState | undefined, JournalFailed>(undefined) : parseJournalState(value, description),
      ),
    save: (state) => settle<void>('save', () => journal.save(state)),
    clear: () => settle<void>('clear', () => journal.clear()),
    ...(lock === undefined
      ? {}
      : {
          lock: () =>
            settle<unknown>('lock', () => lock()).andThen((taken) =>
              isRecord(taken) && typeof taken.release === 'function'
                ? okAsync<JournalLock, JournalFailed>({ release: () => settle<void>('lock', () => (taken as unknown as JournalLock).release()) })
                : errAsync<JournalLock, JournalFailed>({ kind: 'JournalFailed', operation: 'lock', journal: description, reason: "the journal's lock() answered no lock" }),
            ),
        }),
  };
};

/**
 * A journal in memory: no crash safety, for tests and for callers that keep the state themselves
 * (`snapshot()` returns a copy of what was last saved).
 *
 * @example
 * ```ts
 * const journal = memoryJournal();
 * await registry.migrateRepository({ repositoryName: 'app', encryption: 'AES256', journal });
 * ```
 */
export const memoryJournal = (initial?: JournalState): MigrationJournal & { snapshot(): JournalState | undefined } => {
  let text: string | undefined;
  let unreadable: string | undefined;
  try {
    // JSON.stringify answers undefined (no text) for a function or a symbol.
    const json: string | undefined = initial === undefined ? undefined : JSON.stringify(initial);
    text = json;
    if (initial !== undefined && text === undefined) unreadable = 'the initial state is not a journal state';
  } catch (cause) {
    unreadable = `the initial state cannot be copied: ${messageOf(cause)}`;
  }
  const copy = (): JournalState | undefined => (text === undefined ? undefined : (JSON.parse(text) as JournalState));
  return {
    description: 'memory journal',
    // The initial state came from the caller: it is checked like a file's content.
    load: () =>
      unreadable !== undefined
        ? errAsync({ kind: 'JournalFailed', operation: 'load', journal: 'memory journal', reason: unreadable })
        : text === undefined
          ? okAsync(undefined)
          : parseJournalState(copy(), 'memory journal'),
    save: (state) => {
      text = JSON.stringify(state);
      return okAsync(undefined);
    },
    clear: () => {
      text = undefined;
      return okAsync(undefined);
    },
    snapshot: copy,
  };
};
