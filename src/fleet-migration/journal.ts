/**
 * The fleet journal: one JSON file that records a fleet migration (its target, its plan, and for
 * each repository its own migration journal and where it is), written atomically (temporary file,
 * fsync, rename) after every change of a repository's status, so that a run killed at any point
 * resumes: finished repositories are skipped, the others go on through their own journals.
 */
import { readFile, rm } from 'node:fs/promises';
import { err, ok, ResultAsync, type Result } from 'neverthrow';
import type { JournalFailed } from '../errors.js';
import { writeFileAtomically } from '../internal/atomic-file.js';
import type { EncryptionSpec } from '../types.js';
import type { RepositoriesMigrationPlan, RepositoryMigrationStatus } from './types.js';

export const FLEET_JOURNAL_FORMAT = 'encrypted-ecr/fleet-migration';
export const FLEET_JOURNAL_VERSION = 1;
/** The fleet journal used when none is given, in the current directory. */
export const DEFAULT_FLEET_JOURNAL = '.encrypted-ecr-fleet-migration.json';

/** One repository as the fleet journal records it. */
export interface FleetEntry {
  readonly repositoryName: string;
  readonly journal: string;
  readonly status: RepositoryMigrationStatus;
  readonly error?: { readonly kind: string; readonly message: string };
}

/** What the fleet journal holds. */
export interface FleetState {
  readonly format: typeof FLEET_JOURNAL_FORMAT;
  readonly version: number;
  readonly region: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly encryption: EncryptionSpec;
  readonly restoreArchived: boolean;
  readonly plan: RepositoriesMigrationPlan;
  readonly repositories: readonly FleetEntry[];
}

const failed = (operation: JournalFailed['operation'], journal: string) => (cause: unknown): JournalFailed => ({
  kind: 'JournalFailed',
  operation,
  journal,
  reason: cause instanceof Error ? cause.message : String(cause),
  cause,
});

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Checks what was read back: the format, the version, and each repository entry's fields. */
const parseState = (text: string): Result<FleetState, string> => {
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    return err(`not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isObject(value) || value.format !== FLEET_JOURNAL_FORMAT) return err(`not a fleet migration journal (format ${FLEET_JOURNAL_FORMAT})`);
  if (typeof value.version !== 'number' || value.version > FLEET_JOURNAL_VERSION) return err(`version ${String(value.version)} is newer than this library reads (${FLEET_JOURNAL_VERSION})`);
  if (typeof value.region !== 'string' || (value.encryption !== 'AES256' && !isObject(value.encryption)) || !isObject(value.plan) || !Array.isArray(value.repositories)) {
    return err('a field is missing (region, encryption, plan, repositories)');
  }
  const statuses: readonly unknown[] = ['pending', 'running', 'migrated', 'unchanged', 'failed'];
  const entries: readonly unknown[] = value.repositories;
  const bad = entries.find(
    (r) => !isObject(r) || typeof r.repositoryName !== 'string' || typeof r.journal !== 'string' || !statuses.includes(r.status),
  );
  if (bad !== undefined) return err(`a repository entry is malformed: ${JSON.stringify(bad)}`);
  return ok(value as unknown as FleetState);
};

/** Reads the fleet journal: `undefined` when there is no file. */
export const loadFleetState = (path: string): ResultAsync<FleetState | undefined, JournalFailed> =>
  ResultAsync.fromPromise(
    readFile(path, 'utf8').catch((error: unknown) => {
      if (isObject(error) && error.code === 'ENOENT') return undefined;
      throw error;
    }),
    failed('load', path),
  ).andThen((text) => {
    if (text === undefined) return ok(undefined);
    return parseState(text).mapErr((reason): JournalFailed => ({ kind: 'JournalFailed', operation: 'load', journal: path, reason }));
  });

/**
 * The fleet journal of one run: `update` changes one repository's entry and writes the file;
 * writes never overlap (each waits for the one before), so concurrent repositories cannot lose
 * each other's updates.
 */
export class FleetJournal {
  readonly path: string;
  #state: FleetState;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(path: string, state: FleetState) {
    this.path = path;
    this.#state = state;
  }

  get state(): FleetState {
    return this.#state;
  }

  /** Writes the whole state as it is now. */
  save(now: Date): ResultAsync<void, JournalFailed> {
    this.#state = { ...this.#state, updatedAt: now.toISOString() };
    const text = `${JSON.stringify(this.#state, null, 2)}\n`;
    const write = this.#writing.then(() => writeFileAtomically(this.path, text));
    this.#writing = write.catch(() => undefined);
    return ResultAsync.fromPromise(write, failed('save', this.path));
  }

  /** Records one repository's new status (and error), then saves. */
  update(repositoryName: string, status: RepositoryMigrationStatus, now: Date, error?: FleetEntry['error']): ResultAsync<void, JournalFailed> {
    this.#state = {
      ...this.#state,
      repositories: this.#state.repositories.map((r) =>
        r.repositoryName === repositoryName ? { repositoryName, journal: r.journal, status, ...(error === undefined ? {} : { error }) } : r,
      ),
    };
    return this.save(now);
  }

  /** Removes the file (every repository finished). */
  clear(): ResultAsync<void, JournalFailed> {
    return ResultAsync.fromPromise(this.#writing.then(() => rm(this.path, { force: true })), failed('clear', this.path));
  }
}
