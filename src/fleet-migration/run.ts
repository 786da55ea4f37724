/**
 * Runs a fleet migration: each repository that is not finished goes through the single-repository
 * engine (`migrateRepository`, or `resumeMigration` when its own journal records a migration),
 * `concurrency` repositories at once; the fleet journal records each one's status before and after.
 * A repository's failure is its outcome, never the run's.
 */
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { isRetryable, MIGRATION_STEPS, type RegistryError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { mapPool } from '../internal/pool.js';
import { backoff } from '../internal/wait.js';
import { fileJournal, migrateRepository, type MigrationProgress, resumeMigration } from '../migration/index.js';
import type { FleetEntry, FleetJournal } from './journal.js';
import type { RepositoriesMigrationProgress, RepositoryMigrationOutcome } from './types.js';

export interface RunSettings {
  readonly concurrency: number;
  readonly blobConcurrency: number | undefined;
  readonly restoreArchived: boolean;
  readonly onProgress: ((progress: RepositoriesMigrationProgress) => void) | undefined;
  readonly signal: AbortSignal | undefined;
}

const COPY_TO_STAGING = MIGRATION_STEPS.indexOf('copyToStaging');
const COPY_BACK = MIGRATION_STEPS.indexOf('copyBack');

/** Bytes one migration has moved, counting both copies: 0 … 2 × `planned`. */
const bytesMoved = (p: MigrationProgress, planned: number): number => {
  const at = MIGRATION_STEPS.indexOf(p.step);
  const finished = p.status === 'done';
  if (at < COPY_TO_STAGING) return 0;
  if (at === COPY_TO_STAGING) return finished ? planned : Math.min(planned, p.bytesDone);
  if (at < COPY_BACK) return planned;
  if (at === COPY_BACK) return planned + (finished ? planned : Math.min(planned, p.bytesDone));
  return 2 * planned;
};

/** The message of an error, for the fleet journal. */
const errorSummary = (error: RegistryError): { kind: string; message: string } => {
  const fields = error as unknown as Record<string, unknown>;
  const text = [fields.reason, fields.message, fields.state].find((v): v is string => typeof v === 'string');
  const step = typeof fields.step === 'string' ? ` at ${fields.step}` : '';
  return { kind: error.kind, message: `${text ?? error.kind}${step}` };
};

/** An interruption (Ctrl-C, the signal): the repository stays unfinished, to resume. */
const interrupted = (error: RegistryError): boolean =>
  error.kind === 'Aborted' || (error.kind === 'MigrationFailed' && (error.cause as { kind?: unknown } | undefined)?.kind === 'Aborted');

/**
 * How many times one call runs a repository's migration: the first run, then a resume after each
 * transient failure ({@link transientFailure}). Every step is resumable, so a resume goes on from
 * the step that failed; a fleet of many repositories meets a transient failure now and then (a
 * call still throttled after the SDK's attempts, a 5xx, a dropped connection), and one such
 * repository among many must not need a human.
 */
const FLEET_MIGRATION_ATTEMPTS = 3;

/** The pause before the fleet's try `attempt + 1` of one repository (half jitter: repositories that failed together spread out). */
const RESUME_BACKOFF = { initialDelayMs: 1_000, maxDelayMs: 15_000 };

/** `LayerTransferFailed` reasons a later try may not meet: no answer, a cut-off download, throttling, a server fault. */
const transientTransfer = (reason: string): boolean => reason === 'NetworkError' || reason === 'Truncated' || /^HTTP (408|429|5\d\d)\b/.test(reason);

/**
 * Whether a repository's failure is transient, so the fleet resumes it: the failing step's cause
 * (or, before anything changed, the error itself) is {@link isRetryable} (throttled after the
 * SDK's own retries, no answer, a 5xx), or a blob transfer that failed for such a reason after its
 * own restarts. Anything else (a refusal, a conflict, a verification difference) waits for a human.
 *
 * @example
 * ```ts
 * transientFailure({ kind: 'Throttled', service: 'ecr', operation: 'PutImage', cause }); // true
 * ```
 */
const transientFailure = (error: RegistryError): boolean => {
  const cause = error.kind === 'MigrationFailed' ? error.cause : error;
  return isRetryable(cause) || (cause.kind === 'LayerTransferFailed' && transientTransfer(cause.reason));
};

/** Tracks the fleet's progress and reports it through one callback. */
class FleetProgress {
  readonly #moved = new Map<string, number>();
  readonly #running = new Set<string>();
  /** Planned bytes of each repository still expected to finish (a failed one leaves the total). */
  readonly #planned: Map<string, number>;
  readonly #total: number;
  readonly #onProgress: RunSettings['onProgress'];
  #done: number;
  #failed = 0;

  constructor(entries: readonly FleetEntry[], planned: ReadonlyMap<string, number>, onProgress: RunSettings['onProgress']) {
    this.#planned = new Map(planned);
    this.#onProgress = onProgress;
    this.#total = entries.length;
    const finished = entries.filter((e) => e.status === 'migrated' || e.status === 'unchanged');
    this.#done = finished.length;
    for (const e of finished) this.#moved.set(e.repositoryName, e.status === 'migrated' ? 2 * (planned.get(e.repositoryName) ?? 0) : 0);
  }

  started(name: string): void {
    this.#running.add(name);
    this.#emit(name, undefined);
  }

  moved(name: string, p: MigrationProgress): void {
    this.#moved.set(name, bytesMoved(p, this.#planned.get(name) ?? 0));
    this.#emit(name, p);
  }

  finished(name: string, status: RepositoryMigrationOutcome['status']): void {
    this.#running.delete(name);
    if (status === 'migrated') this.#moved.set(name, 2 * (this.#planned.get(name) ?? 0));
    if (status === 'migrated' || status === 'unchanged') this.#done += 1;
    if (status === 'failed') {
      this.#failed += 1;
      this.#planned.delete(name);
      this.#moved.delete(name);
    }
    this.#emit(name, undefined);
  }

  #emit(repositoryName: string, migration: MigrationProgress | undefined): void {
    if (this.#onProgress === undefined) return;
    let bytesTotal = 0;
    for (const bytes of this.#planned.values()) bytesTotal += 2 * bytes;
    let bytesDone = 0;
    for (const bytes of this.#moved.values()) bytesDone += bytes;
    this.#onProgress({
      repositoriesDone: this.#done,
      repositoriesTotal: this.#total,
      failed: this.#failed,
      running: [...this.#running].sort(),
      bytesDone,
      bytesTotal,
      repositoryName,
      migration,
    });
  }
}

/**
 * Runs every entry of the fleet journal that is not finished, at most `concurrency` at once, and
 * answers one outcome per entry (finished ones as recorded). No new repository starts once the
 * signal fired or the fleet journal cannot be written (that error is answered).
 */
export const runFleet = (
  ctx: RegistryContext,
  fleet: FleetJournal,
  settings: RunSettings,
  known: ReadonlyMap<string, RegistryError>,
): ResultAsync<RepositoryMigrationOutcome[], RegistryError> => {
  const entries = fleet.state.repositories;
  const planned = new Map(fleet.state.plan.repositories.filter((r) => !r.nothingToDo).map((r) => [r.repositoryName, r.bytes] as const));
  const progress = new FleetProgress(entries, planned, settings.onProgress);
  let journalError: RegistryError | undefined;
  const stop = (): boolean => journalError !== undefined || settings.signal?.aborted === true;

  const runOne = async (entry: FleetEntry): Promise<RepositoryMigrationOutcome> => {
    const name = entry.repositoryName;
    const base = { repositoryName: name, journal: entry.journal };
    if (entry.status === 'migrated' || entry.status === 'unchanged') return { ...base, status: entry.status };
    const plannedError = known.get(name);
    // Not plannable for good (a blocker, a refusal): reported. Not planned only for a transient
    // error (throttled, a 5xx, no answer): run anyway; the migration checks everything itself
    // before its first change.
    if (plannedError !== undefined && !transientFailure(plannedError)) return { ...base, status: 'failed', error: plannedError };
    if (stop()) return { ...base, status: 'pending' };
    const marked = await fleet.update(name, 'running', ctx.now());
    if (marked.isErr()) {
      journalError ??= marked.error;
      return { ...base, status: 'pending' };
    }
    progress.started(name);
    const journal = fileJournal(entry.journal);
    const common = {
      journal,
      onProgress: (p: MigrationProgress) => progress.moved(name, p),
      ...(settings.blobConcurrency === undefined ? {} : { concurrency: settings.blobConcurrency }),
      ...(settings.signal === undefined ? {} : { signal: settings.signal }),
    };
    // Its own journal records a migration (this run was killed, it was started alone, or an
    // earlier try of this run failed): resume it.
    const once = async () => {
      const recorded = await journal.load();
      if (recorded.isErr()) return recorded;
      return recorded.value !== undefined
        ? await resumeMigration(ctx, common)
        : await migrateRepository(ctx, { ...common, repositoryName: name, encryption: fleet.state.encryption, restoreArchived: settings.restoreArchived });
    };
    let attempts = 1;
    let result = await once();
    /** Stopped (the signal, or the fleet journal failing) while waiting to resume: left to resume later. */
    let cut = false;
    while (result.isErr() && !interrupted(result.error) && transientFailure(result.error) && attempts < FLEET_MIGRATION_ATTEMPTS && !stop()) {
      const pause = backoff(RESUME_BACKOFF, attempts, 'half');
      ctx.logger.warn('a repository of the fleet failed on a transient error: resuming it', {
        repositoryName: name,
        attempt: attempts,
        error: errorSummary(result.error),
        pauseMs: pause,
      });
      await ctx.sleep(pause, settings.signal);
      cut = stop();
      if (cut) break;
      attempts += 1;
      result = await once();
    }
    if (result.isErr() && (cut || interrupted(result.error))) {
      progress.finished(name, 'pending');
      return { ...base, status: 'pending', attempts, error: result.error };
    }
    const status = result.isErr() ? 'failed' : result.value.changed ? 'migrated' : 'unchanged';
    const saved = await fleet.update(name, status, ctx.now(), result.isErr() ? errorSummary(result.error) : undefined);
    if (saved.isErr()) journalError ??= saved.error;
    progress.finished(name, status);
    return result.isErr() ? { ...base, status, attempts, error: result.error } : { ...base, status, attempts, result: result.value };
  };

  return ResultAsync.fromSafePromise(mapPool(entries, settings.concurrency, runOne)).andThen((outcomes) =>
    journalError === undefined ? okAsync(outcomes) : errAsync(journalError),
  );
};
