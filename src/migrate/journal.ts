/**
 * The migration journal: where a migration records each step before and after it runs, so that a
 * new process can go on after a crash at any point. The state is plain JSON; any store can keep it
 * by implementing {@link MigrationJournal}. {@link fileJournal} writes a local file atomically
 * (temporary file, fsync, rename, fsync of the directory).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ResultAsync, errAsync, okAsync } from 'neverthrow';
import type { JournalFailed, MigrationStep } from '../errors.js';
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
}

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A journal that cannot be used: every operation answers JournalFailed with `reason`. */
const unusableJournal = (reason: string): MigrationJournal => {
  const fail = (operation: JournalFailed['operation']) => () => errAsync<never, JournalFailed>({ kind: 'JournalFailed', operation, journal: '(invalid journal path)', reason });
  return { description: '(invalid journal path)', load: fail('load'), save: fail('save'), clear: fail('clear') };
};

/** Checks that a value read back is a journal state this version understands. */
export const parseJournalState = (value: unknown, journal: string): ResultAsync<JournalState, JournalFailed> => {
  const fail = (reason: string) => errAsync<never, JournalFailed>({ kind: 'JournalFailed', operation: 'load', journal, reason });
  if (!isRecord(value) || value.format !== 'encrypted-ecr/migration') return fail('not an encrypted-ecr migration journal');
  if (value.version !== 1) return fail(`journal version ${String(value.version)} is not supported (this library writes version 1)`);
  for (const field of ['migrationId', 'region', 'account', 'repositoryName', 'stagingRepositoryName'] as const) {
    if (typeof value[field] !== 'string') return fail(`the journal has no ${field}`);
  }
  if (!isRecord(value.original) || !isRecord(value.steps) || !isRecord(value.staging) || !isRecord(value.final)) {
    return fail('the journal is incomplete');
  }
  // The shape was checked field by field above; the rest is what this library wrote.
  return okAsync(value as unknown as JournalState);
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
