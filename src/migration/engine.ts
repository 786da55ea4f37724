/**
 * The migration engine: runs the steps of `./steps/` in the order of {@link MIGRATION_STEPS},
 * each recorded in the journal before and after it runs; a failure stops with `MigrationFailed`
 * saying what holds the images now (nothing is rolled back). Shared by start and resume.
 */
import { ResultAsync, err, ok, type Result } from 'neverthrow';
import {
  type Aborted,
  type InvalidInput,
  type JournalFailed,
  MIGRATION_STEPS,
  type MigrationFailed,
  type MigrationInProgress,
  type MigrationStep,
  type RegistryError,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { DEFAULT_RETRY, aborted, retriedBeyondSdk, retry } from '../internal/wait.js';
import type { EstablishedTarget } from '../preflight/index.js';
import type { CopyProgress } from './copy.js';
import type { StateJournal } from './journal.js';
import { observe, stateAt } from './messages.js';
import type { JournalState } from './state.js';
import { STEPS } from './steps/index.js';
import type { MigrationRun, RunOptions, Verified } from './steps/run.js';
import type { MigrationProgress, MigrationResult, MigrationWarning, ReplicaClientsInput } from './types.js';

const DEFAULT_CONCURRENCY = 4;
/** Progress items per unsaved item before a save starts (2%: see `saveProgress`). */
const PROGRESS_ITEMS_PER_SAVE_RATIO = 50;
const MAX_CONCURRENCY = 64;

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

/** One migration running in this process: the steps' {@link MigrationRun}, and the loop over the steps. */
export class MigrationEngine implements MigrationRun {
  readonly ctx: RegistryContext;
  readonly state: JournalState;
  readonly options: RunOptions;
  readonly verified = new Set<Verified>();
  readonly created = new Set<Verified>();
  readonly #journal: StateJournal;
  /** Journal writes, one at a time, in order. */
  #saving: Promise<Result<void, JournalFailed>> = Promise.resolve(ok(undefined));
  /** A progress save queued but not started: later progress joins it. */
  #queued: Promise<Result<void, JournalFailed>> | undefined;
  /** Progress reported (blobs and manifests copied), and how much of it no save has started with yet. */
  #progress = 0;
  #unsaved = 0;

  constructor(ctx: RegistryContext, journal: StateJournal, state: JournalState, options: RunOptions) {
    this.ctx = ctx;
    this.#journal = journal;
    this.state = state;
    this.options = options;
  }

  save(): ResultAsync<void, JournalFailed> {
    const next = this.#saving.then((previous) => {
      if (this.#queued === next) this.#queued = undefined;
      if (previous.isErr()) return previous;
      this.state.updatedAt = this.ctx.now().toISOString();
      return this.#journal.save(this.state);
    });
    this.#saving = next;
    return new ResultAsync(next);
  }

  /**
   * Records copy progress. Each save writes the whole state, which grows with the repository, so a
   * save for every blob and manifest costs the square of the repository's size (a 10,000-image
   * repository: hours of JSON). Up to 50 items each is saved; beyond, a save starts once the
   * unsaved items reach 2% of those reported, so saves grow with the logarithm of the size. The
   * step's closing save records everything; a crash loses at most that 2%, which resume copies
   * again (copies are idempotent: what the target holds is skipped).
   */
  saveProgress(): ResultAsync<void, JournalFailed> {
    this.#progress += 1;
    this.#unsaved += 1;
    if (this.#queued !== undefined) {
      // That save has not started: it writes this progress too.
      this.#unsaved = 0;
      return new ResultAsync(this.#queued);
    }
    if (this.#unsaved < Math.max(1, Math.floor(this.#progress / PROGRESS_ITEMS_PER_SAVE_RATIO))) return new ResultAsync(Promise.resolve(ok(undefined)));
    this.#unsaved = 0;
    const saved = this.save();
    this.#queued = this.#saving;
    return saved;
  }

  retrying<T, E extends RegistryError>(operation: string, attempt: () => ResultAsync<T, E>): ResultAsync<T, E | Aborted> {
    return retry(this.ctx, this.options.retry, operation, attempt, { retryable: retriedBeyondSdk(operation), signal: this.options.signal });
  }

  emit(step: MigrationStep, status: MigrationProgress['status'], copy?: CopyProgress): void {
    const listener = this.options.onProgress;
    if (listener === undefined) return;
    const graph = this.state.snapshot;
    const imagesTotal = graph?.images.length ?? 0;
    const bytesTotal = graph?.totalBytes ?? 0;
    try {
      listener({
        migrationId: this.state.migrationId,
        step,
        stepNumber: MIGRATION_STEPS.indexOf(step) + 1,
        stepCount: MIGRATION_STEPS.length,
        status,
        imagesDone: copy?.imagesDone ?? (status === 'done' && (step === 'copyToStaging' || step === 'copyBack') ? imagesTotal : 0),
        imagesTotal: copy?.imagesTotal ?? imagesTotal,
        bytesDone: copy?.bytesDone ?? (status === 'done' && (step === 'copyToStaging' || step === 'copyBack') ? bytesTotal : 0),
        bytesTotal: copy?.bytesTotal ?? bytesTotal,
        bytesCopied: copy?.bytesCopied ?? 0,
        ratePerSecond: copy?.ratePerSecond ?? 0,
        etaSeconds: copy?.etaSeconds ?? (status === 'done' ? 0 : undefined),
        warnings: [...this.state.warnings],
      });
    } catch (error) {
      // A listener that throws must not leave the journal behind the repositories.
      this.ctx.logger.warn('a progress listener threw', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The failure of a step, with the state of both repositories as found now. */
  async #failed(step: MigrationStep, cause: RegistryError): Promise<MigrationFailed> {
    const observed = await observe(this.ctx, this.state);
    return {
      kind: 'MigrationFailed',
      migrationId: this.state.migrationId,
      repositoryName: this.state.repositoryName,
      stagingRepositoryName: this.state.stagingRepositoryName,
      step,
      state: stateAt(step, this.state, observed, cause),
      resume: `registry.resumeMigration({ journal }) with the journal ${this.#journal.description}`,
      journal: this.#journal.description,
      cause,
      observed,
    };
  }

  warn(warning: MigrationWarning): void {
    this.ctx.logger.warn(warning.message, { migrationId: this.state.migrationId });
    if (!this.state.warnings.some((w) => w.code === warning.code && w.message === warning.message)) this.state.warnings.push(warning);
  }

  /**
   * Runs every step not done yet. A fresh migration that loses the claim on the repository (another
   * migration's freeze is there, or replaced ours) answers `MigrationInProgress`: it changed nothing
   * that remains.
   */
  async run(): Promise<Result<MigrationResult, MigrationFailed | MigrationInProgress>> {
    const state = this.state;
    for (const step of MIGRATION_STEPS) {
      const previous = state.steps[step];
      if (previous?.status === 'done') continue;
      if (this.options.signal?.aborted) return err(await this.#failed(step, aborted('MigrateRepository')));
      const startedAt = this.ctx.now();
      state.steps[step] = {
        status: 'started',
        startedAt: startedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        ...(previous?.durationMs !== undefined ? { durationMs: previous.durationMs } : {}),
      };
      const before = await this.save();
      if (before.isErr()) return err(await this.#failed(step, before.error));
      this.ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'started' });
      this.emit(step, 'started');

      const outcome = await STEPS[step](this);
      if (outcome.isErr()) {
        const lostClaim = step === 'freeze' && previous === undefined && !this.options.resumed && outcome.error.kind === 'MigrationInProgress';
        return err(lostClaim ? outcome.error : await this.#failed(step, outcome.error));
      }

      const finishedAt = this.ctx.now();
      state.steps[step] = {
        status: 'done',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        durationMs: (previous?.durationMs ?? 0) + (finishedAt.getTime() - startedAt.getTime()),
      };
      const after = await this.save();
      if (after.isErr()) return err(await this.#failed(step, after.error));
      this.ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'done' });
      this.emit(step, 'done');
    }
    state.completedAt = this.ctx.now().toISOString();
    const last = MIGRATION_STEPS[MIGRATION_STEPS.length - 1] ?? 'deleteStaging';
    const saved = await this.save();
    if (saved.isErr()) return err(await this.#failed(last, saved.error));
    // The migration is complete either way; a journal that cannot be cleared only says so again.
    const cleared = await this.#journal.clear();
    if (cleared.isErr()) this.warn({ code: 'journalNotCleared', message: `the finished journal could not be cleared: ${cleared.error.reason}` });
    return ok(resultOf(state, this.options.resumed, this.#journal.description));
  }
}

export const resultOf = (s: JournalState, resumed: boolean, journal: string): MigrationResult => {
  const graph = s.snapshot;
  const steps: Partial<Record<MigrationStep, number>> = {};
  for (const step of MIGRATION_STEPS) {
    const duration = s.steps[step]?.durationMs;
    if (duration !== undefined) steps[step] = duration;
  }
  return {
    migrationId: s.migrationId,
    changed: true,
    resumed,
    repository: { name: s.repositoryName, arn: s.final.repositoryArn ?? s.original.repositoryArn },
    stagingRepositoryName: s.stagingRepositoryName,
    from: s.from,
    to: s.to,
    counts: {
      images: graph?.images.length ?? 0,
      tags: graph?.images.reduce((sum, i) => sum + i.tags.length, 0) ?? 0,
      blobs: graph?.blobs.length ?? 0,
      bytes: graph?.totalBytes ?? 0,
    },
    warnings: s.warnings,
    steps,
    journal,
  };
};

export const checkConcurrency = (concurrency: number | undefined): InvalidInput | undefined =>
  concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    ? invalid('concurrency', `must be an integer from 1 to ${MAX_CONCURRENCY}`)
    : undefined;

export const runOptions = (
  input: { concurrency?: number; onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal } & ReplicaClientsInput,
  resumed: boolean,
  established?: EstablishedTarget,
): RunOptions => ({
  concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
  replicas: { ecr: input.replicaClients ?? {}, kms: input.replicaKmsClients ?? {} },
  onProgress: input.onProgress,
  signal: input.signal,
  resumed,
  retry: DEFAULT_RETRY,
  established,
});
