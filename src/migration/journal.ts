/**
 * The migration journal as users and the engine see it: the opaque record's parse and serialize,
 * what a journal says ({@link readMigrationJournal}), the in-memory journal, and the guard through
 * which the engine uses any journal (a user's store included). The file journal is in
 * `./file-journal.ts`, the schema in `./journal-schema.ts`.
 */
import { ResultAsync, err, errAsync, ok, okAsync, type Result } from 'neverthrow';
import { MIGRATION_STEPS, type JournalFailed } from '../errors.js';
import { isRecord, messageOf, parseJournalState } from './journal-schema.js';
import { type JournalState, recordOf } from './state.js';
import type { JournalLock, MigrationJournal, MigrationJournalRecord, MigrationJournalSummary } from './types.js';

/**
 * A journal as the engine uses it: states in and out, every one read back checked. Made by
 * {@link guardJournal}.
 */
export interface StateJournal {
  readonly description: string;
  load(): ResultAsync<JournalState | undefined, JournalFailed>;
  save(state: JournalState): ResultAsync<void, JournalFailed>;
  clear(): ResultAsync<void, JournalFailed>;
  lock?(): ResultAsync<JournalLock, JournalFailed>;
}

/**
 * The text of a record, to store it (JSON, one line). {@link parseMigrationJournalRecord} reads it
 * back.
 *
 * @example
 * ```ts
 * const journal: MigrationJournal = {
 *   description: 's3://migrations/app.json',
 *   save: (record) => putObject('app.json', serializeMigrationJournalRecord(record)),
 *   // …load, clear
 * };
 * ```
 */
export const serializeMigrationJournalRecord = (record: MigrationJournalRecord): string => `${JSON.stringify(record)}\n`;

/**
 * Reads a record back from its text, checking it field by field: text that is not JSON, not a
 * migration journal, of a version this library does not read, or wrong in any field is
 * `JournalFailed` (operation `load`) saying what is wrong, never a throw.
 *
 * @example
 * ```ts
 * const journal: MigrationJournal = {
 *   description: 's3://migrations/app.json',
 *   load: () => getObject('app.json').andThen((text) => (text === undefined ? okAsync(undefined) : parseMigrationJournalRecord(text, 's3://migrations/app.json'))),
 *   // …save, clear
 * };
 * ```
 */
export const parseMigrationJournalRecord = (text: string, journal = 'journal'): Result<MigrationJournalRecord, JournalFailed> => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    return err({ kind: 'JournalFailed', operation: 'load', journal, reason: messageOf(cause), cause });
  }
  return parseJournalState(parsed, journal).map(recordOf);
};

/** What a (checked) state says, for users. */
const summaryOf = (s: JournalState): MigrationJournalSummary => {
  const stepsDone = MIGRATION_STEPS.filter((step) => s.steps[step]?.status === 'done');
  return {
    version: s.version,
    migrationId: s.migrationId,
    region: s.region,
    account: s.account,
    repositoryName: s.repositoryName,
    stagingRepositoryName: s.stagingRepositoryName,
    from: s.from,
    to: s.to,
    startedAt: s.startedAt,
    updatedAt: s.updatedAt,
    completedAt: s.completedAt,
    stepsDone,
    nextStep: MIGRATION_STEPS.find((step) => s.steps[step]?.status !== 'done'),
  };
};

/**
 * What a journal records: its migration (id, repository, encryption from and to, the steps done
 * and the next one), or `undefined` when it holds none. The content is checked as a migration
 * checks it: a broken or foreign journal is `JournalFailed`.
 *
 * @example
 * ```ts
 * const recorded = await readMigrationJournal(fileJournal('./team-app.migration.json'));
 * if (recorded.isOk() && recorded.value?.completedAt === undefined) {
 *   console.log(`migration ${recorded.value?.migrationId} stopped before ${recorded.value?.nextStep}`);
 * }
 * ```
 */
export const readMigrationJournal = (journal: MigrationJournal): ResultAsync<MigrationJournalSummary | undefined, JournalFailed> =>
  guardJournal(journal)
    .load()
    .map((state) => (state === undefined ? undefined : summaryOf(state)));

const isResult = (value: unknown): value is Result<unknown, unknown> =>
  isRecord(value) && typeof value.isOk === 'function' && typeof value.isErr === 'function';

const isJournalFailed = (value: unknown): value is JournalFailed =>
  isRecord(value) && value.kind === 'JournalFailed' && typeof value.reason === 'string' && typeof value.journal === 'string';

/**
 * The journal as the migration uses it ({@link StateJournal}): a call that throws, rejects, or answers something other
 * than a `Result` becomes `JournalFailed` (a user's store must not leave a migration hanging), and
 * whatever `load` answers is checked field by field, as a file journal's content is.
 *
 * @example
 * ```ts
 * const journal = guardJournal(myJournal);
 * const state = await journal.load(); // JournalFailed, never a throw, for a broken store
 * ```
 */
export const guardJournal = (journal: MigrationJournal): StateJournal => {
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
        value === undefined ? ok<JournalState | undefined, JournalFailed>(undefined) : parseJournalState(value, description),
      ),
    save: (state) => settle<void>('save', () => journal.save(recordOf(state))),
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
 * (`snapshot()` returns a copy of the record last saved).
 *
 * @example
 * ```ts
 * const journal = memoryJournal();
 * await registry.migrateRepository({ repositoryName: 'app', encryption: 'AES256', journal });
 * ```
 */
export const memoryJournal = (initial?: MigrationJournalRecord): MigrationJournal & { snapshot(): MigrationJournalRecord | undefined } => {
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
  const copy = (): MigrationJournalRecord | undefined => (text === undefined ? undefined : (JSON.parse(text) as MigrationJournalRecord));
  return {
    description: 'memory journal',
    // The initial state came from the caller: it is checked like a file's content.
    load: () =>
      unreadable !== undefined
        ? errAsync({ kind: 'JournalFailed', operation: 'load', journal: 'memory journal', reason: unreadable })
        : text === undefined
          ? okAsync(undefined)
          : okAsync<unknown, JournalFailed>(copy()).andThen((value) => parseJournalState(value, 'memory journal')).map(recordOf),
    save: (record) => {
      text = JSON.stringify(record);
      return okAsync(undefined);
    },
    clear: () => {
      text = undefined;
      return okAsync(undefined);
    },
    snapshot: copy,
  };
};
