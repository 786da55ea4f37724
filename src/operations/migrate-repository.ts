/**
 * `migrateRepository` and `resumeMigration`: change a repository's encryption by recreating it
 * under the same name, losing nothing. Freeze (and pause the lifecycle policy), snapshot, copy
 * into a staging repository with the target encryption, verify, delete the original, recreate it,
 * copy back, verify, restore the settings (the lifecycle policy last), delete the staging
 * repository. Every step is recorded in a journal before and after it runs, every step can be
 * repeated, and nothing is deleted before what replaces it has been verified in this process. A
 * failure never rolls back: it stops, and `resumeMigration` goes on.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImageDetail, Repository } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { ResultAsync, err, errAsync, ok, okAsync, type Result, safeTry } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import {
  type Aborted,
  type CopyVerificationFailed,
  type GenericAwsError,
  type EncryptionMismatch,
  type ImagesArchived,
  type InvalidInput,
  isRetryable,
  type JournalFailed,
  type JournalLockOwner,
  type MigrateRepositoryError,
  type MigrationFailed,
  type MigrationInProgress,
  type MigrationStep,
  type ObservedRepository,
  type RegistryError,
  type RepositoryNotFound,
  type ResumeMigrationError,
  type TagDifference,
  type UnexpectedImages,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { backoffDelays } from '../internal/poll.js';
import { DEFAULT_RETRY, aborted, withRetry, type RetryPolicy } from '../internal/retry.js';
import { copyImages, type CopyProgress } from '../migration/copy.js';
import { claimOf, exemptPrincipalsOf, freezeOf, frozenPolicy } from '../migration/freeze.js';
import { freezeBaseOf, restoreRepositoryPolicy } from '../migration/policy-restore.js';
import { fileJournal, guardJournal, MIGRATION_STEPS, type CopyRecord, type JournalState, type MigrationJournal } from '../migration/journal.js';
import {
  graphWarnings,
  type MigrationWarning,
  migrationFindings,
  preflightInputOf,
  readSettings,
  registryWarnings,
  stagingNameOf,
  targetOf,
} from '../migration/plan.js';
import { snapshotImages, type ImageGraph } from '../migration/snapshot.js';
import { verifyCopy } from '../migration/verify.js';
import { describeImages } from '../steps/ecr-images.js';
import { deleteLifecyclePolicy, deleteRepositoryPolicy, restoreImage } from '../steps/ecr-migration.js';
import {
  describeRepository,
  findRepository,
  getLifecyclePolicy,
  getRepositoryPolicy,
  listTags,
  putImageScanningConfiguration,
  putImageTagMutability,
  putLifecyclePolicy,
  setRepositoryPolicy,
  tagRepository,
} from '../steps/ecr-repository.js';
import { GRANT_CLOCK_SKEW_MS, grantsOfIncarnation, listAllGrants, retireGrant } from '../steps/kms-grants.js';
import type { EncryptionDescription, EncryptionSpec } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { createEncryptedRepository } from './create-repository.js';
import { deleteRepository } from './delete-repository.js';
import { encryptionOfRepository, type ImageTagMutability, preflight, type PreflightFindingError, sameEncryption } from './preflight.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** Where a migration is, for a progress bar. */
export interface MigrationProgress {
  readonly migrationId: string;
  readonly step: MigrationStep;
  /** 1-based position of `step` among the {@link MIGRATION_STEPS}. */
  readonly stepNumber: number;
  readonly stepCount: number;
  /** `started` and `done` once per step; `running` while a copy moves bytes. */
  readonly status: 'started' | 'running' | 'done';
  readonly imagesDone: number;
  readonly imagesTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes uploaded per second in the current copy step (0 outside copies). */
  readonly ratePerSecond: number;
  /** Seconds left in the current copy step at that rate; `undefined` until there is a rate. */
  readonly etaSeconds: number | undefined;
}

/** What {@link migrateRepository} takes. */
export interface MigrateRepositoryInput {
  readonly repositoryName: string;
  /** The encryption the repository should have. */
  readonly encryption: EncryptionSpec;
  /**
   * Where to record the migration. Default: `fileJournal(defaultJournalPath(repositoryName))`, i.e. `./.encrypted-ecr-migration-<name, / as %2F>.json`
   * in the current directory. Keep it until the migration finishes: it is what `resumeMigration` needs.
   */
  readonly journal?: MigrationJournal;
  /** Blobs copied at once (1–64, default 4). */
  readonly concurrency?: number;
  readonly onProgress?: (progress: MigrationProgress) => void;
  /** Stops the migration between calls; it can be resumed later. */
  readonly signal?: AbortSignal;
  /** Restore archived images (UpdateImageStorageClass to STANDARD) and wait for them, within the poll bound, before starting. */
  readonly restoreArchived?: boolean;
}

/** What {@link resumeMigration} takes. */
export interface ResumeMigrationInput {
  /** The journal of the interrupted migration. */
  readonly journal: MigrationJournal;
  readonly concurrency?: number;
  readonly onProgress?: (progress: MigrationProgress) => void;
  readonly signal?: AbortSignal;
}

/** A finished migration. */
export interface MigrationResult {
  readonly migrationId: string;
  /** `false` when the repository already had this encryption: nothing was done. */
  readonly changed: boolean;
  /** `true` when this call went on with a migration another call (or process) started. */
  readonly resumed: boolean;
  readonly repository: { readonly name: string; readonly arn: string };
  readonly stagingRepositoryName: string | undefined;
  readonly from: EncryptionDescription;
  readonly to: EncryptionDescription;
  /** Images (by digest), tags, distinct blobs and blob bytes now in the repository, as in the snapshot. */
  readonly images: number;
  readonly tags: number;
  readonly blobs: number;
  readonly bytes: number;
  readonly warnings: readonly MigrationWarning[];
  /** Milliseconds each step took (summed over attempts when resumed). */
  readonly steps: Readonly<Partial<Record<MigrationStep, number>>>;
  readonly journal: string;
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const DEFAULT_CONCURRENCY = 4;
const MAX_CONCURRENCY = 64;
const MIGRATION_TAG = 'encrypted-ecr:migration-id';
const ROLE_TAG = 'encrypted-ecr:role';

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

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

export { stagingNameOf };

/** The spec that recreates a described encryption: the key by its canonical ARN, `aws/ecr` as ECR's default. */
const specOf = (to: EncryptionDescription): EncryptionSpec => {
  if (to.type === 'AES256') return 'AES256';
  if (to.awsManagedKey === true || to.keyArn === undefined) return { type: to.type };
  return { type: to.type, key: to.keyArn };
};

/** The tag mutability to create the final repository with: immutable comes last (trap 17). */
const initialMutability = (mutability: ImageTagMutability): ImageTagMutability =>
  mutability === 'IMMUTABLE' || mutability === 'IMMUTABLE_WITH_EXCLUSION' ? 'MUTABLE' : mutability;

const describeEncryption = (e: EncryptionDescription): string => (e.keyArn ? `${e.type} with ${e.keyArn}` : e.type);

const withoutMismatch = (error: PreflightFindingError): Exclude<PreflightFindingError, EncryptionMismatch> | undefined =>
  error.kind === 'EncryptionMismatch' ? undefined : error;

/** Where the original's lifecycle policy is when a step fails, in words ('' when there is none to speak of). */
const lifecycleAt = (step: MigrationStep, s: JournalState): string => {
  const paused = s.lifecyclePausedAt !== undefined;
  if (s.original.settings.lifecyclePolicy === undefined && !paused) return '';
  const kept = 'the journal keeps its text and puts it back last';
  switch (step) {
    case 'freeze':
      return paused ? `; its lifecycle policy is paused (deleted: ${kept})` : `; its lifecycle policy may already be paused (deleted: ${kept})`;
    case 'restoreSettings':
      return `; its lifecycle policy is paused or already restored (${kept})`;
    case 'deleteStaging':
      return '';
    default:
      return `; its lifecycle policy is paused (deleted: ${kept})`;
  }
};

/** What the repositories were found to be when a step failed. */
type Observed = MigrationFailed['observed'];

/**
 * What the repositories hold when a step fails, in words: built from what was checked just now
 * (`observed`) and from what the journal records as verified, never from the step alone.
 */
const stateAt = (step: MigrationStep, s: JournalState, observed: Observed, cause?: RegistryError): string => {
  const { repositoryName: name, stagingRepositoryName: staging } = s;
  const lifecycle = lifecycleAt(step, s);
  const done = (x: MigrationStep): boolean => s.steps[x]?.status === 'done';
  const frozen =
    observed.originalFrozen === true
      ? 'frozen (pushes, deletes and settings changes by others denied)'
      : observed.originalFrozen === false
        ? 'NOT frozen by this migration (its freeze statement is not there: others can push, delete and change settings)'
        : 'of unknown freeze (its policy could not be read)';
  const original = ((): string => {
    switch (observed.repository) {
      case 'original':
        return observed.originalFrozen === true ? `${name} is intact and ${frozen}` : `${name} is intact (not deleted) but ${frozen}`;
      case 'recreated':
        return `${name} is recreated with ${describeEncryption(s.to)} and ${frozen}`;
      case 'absent':
        return done('deleteOriginal')
          ? `${name} is deleted (by this migration, after staging was verified)`
          : `${name} does not exist: it was deleted by someone other than this migration`;
      case 'other':
        return `${name} exists, but is neither the original nor the repository this migration created (someone else deleted and created it)`;
      case 'present':
      case 'unknown':
        return `${name} could not be checked`;
    }
  })();
  const verified = done('verifyStaging') ? ` (verified${s.staging.verifiedAt !== undefined ? ` at ${s.staging.verifiedAt}` : ''})` : '';
  const stagingText = ((): string => {
    switch (observed.staging) {
      case 'present':
        return verified !== '' ? `every image of the snapshot is in staging ${staging}${verified}` : `staging ${staging} holds a partial copy (not verified)`;
      case 'absent':
        if (!done('createStaging')) return `staging ${staging} does not exist yet`;
        if (done('deleteStaging') || step === 'deleteStaging') return `staging ${staging} is deleted`;
        return `staging ${staging} does not exist any more (deleted by someone other than this migration)`;
      default:
        return `staging ${staging} could not be checked`;
    }
  })();
  const lost =
    observed.repository !== 'original' && observed.repository !== 'unknown' && !done('verifyStaging') && !done('deleteOriginal')
      ? '; images not copied to staging before the original disappeared may be lost'
      : '';
  switch (step) {
    case 'freeze':
      return `nothing copied; ${original}${lifecycle}; ${stagingText}`;
    case 'deleteOriginal':
      if (cause?.kind === 'CopyVerificationFailed' && cause.repositoryName === name) {
        return (
          `${original}${lifecycle}; ${stagingText}; but ${name} changed after the snapshot (images pushed or removed, or tags moved, by the migrating principal, ` +
          `whom the freeze lets through), so it was not deleted: put it back as the snapshot has it (see the cause), then resume`
        );
      }
      return `${original}${lifecycle}; ${stagingText}${lost}`;
    case 'recreate':
      if (cause?.kind === 'UnexpectedImages') {
        return (
          `${original}, but holds ${cause.images.length} image(s) the migration did not copy ` +
          `(pushed by someone else before the freeze took effect: ${cause.images.map((i) => i.imageDigest).join(', ')}); nothing was copied back. ` +
          `Save what you need of them, delete them as the migrating principal, then resume${lifecycle}; ${stagingText}`
        );
      }
      return `${original}${observed.repository === 'recreated' ? ', not filled yet (a resume checks it holds nothing it did not copy)' : ''}; ${stagingText}${lifecycle}`;
    case 'copyBack':
    case 'verifyFinal':
      return `${original}${observed.repository === 'recreated' ? ' and partly filled' : ''}${lifecycle}; ${stagingText}`;
    case 'restoreSettings':
      return `${original}${done('verifyFinal') ? ' and holds every image (verified)' : ''}; its settings are partly restored${lifecycle}; ${stagingText}`;
    case 'deleteStaging':
      return `${original}; its settings are restored; ${stagingText === `staging ${staging} is deleted` ? stagingText : `${stagingText}, left to delete`}`;
    default:
      return `${original}${lifecycle}; ${stagingText}${lost}`;
  }
};

/** Which incarnation of `name` a repository is, by its creation time. */
const incarnationOf = (s: JournalState, repository: Repository | undefined): ObservedRepository => {
  if (repository === undefined) return 'absent';
  const created = repository.createdAt?.getTime();
  if (created === Date.parse(s.original.createdAt)) return 'original';
  if (s.final.createdAt !== undefined && created === Date.parse(s.final.createdAt)) return 'recreated';
  return 'other';
};

/** Looks at both repositories now (no retries: a failed look is reported as `unknown`). */
const observe = async (ctx: RegistryContext, s: JournalState): Promise<Observed> => {
  const found = await findRepository(ctx, s.repositoryName);
  const repository = found.isErr() ? 'unknown' : incarnationOf(s, found.value);
  let originalFrozen: boolean | undefined;
  if (repository !== 'absent' && repository !== 'unknown') {
    const policy = await getRepositoryPolicy(ctx, s.repositoryName);
    originalFrozen = policy.isErr() ? undefined : claimOf(policy.value, s.migrationId) === 'ours';
  }
  const staging = await findRepository(ctx, s.stagingRepositoryName);
  return { repository, originalFrozen, staging: staging.isErr() ? 'unknown' : staging.value === undefined ? 'absent' : 'present' };
};

// ---------------------------------------------------------------------------------------------
// The migration
// ---------------------------------------------------------------------------------------------

interface RunOptions {
  readonly concurrency: number;
  readonly onProgress: ((progress: MigrationProgress) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly resumed: boolean;
  readonly retry: RetryPolicy;
}

type StepResult = ResultAsync<void, RegistryError>;

/** Proof that a repository was verified against the snapshot by this process. */
type Verified = 'staging' | 'final';

class Migration {
  readonly #ctx: RegistryContext;
  readonly #journal: MigrationJournal;
  readonly #state: JournalState;
  readonly #options: RunOptions;
  /** What this process verified itself: deletions require it (never a record from an earlier process alone). */
  readonly #verified = new Set<Verified>();
  /** Journal writes, one at a time, in order. */
  #saving: Promise<Result<void, JournalFailed>> = Promise.resolve(ok(undefined));
  /** A progress save queued but not started: later progress joins it. */
  #queued: Promise<Result<void, JournalFailed>> | undefined;

  constructor(ctx: RegistryContext, journal: MigrationJournal, state: JournalState, options: RunOptions) {
    this.#ctx = ctx;
    this.#journal = journal;
    this.#state = state;
    this.#options = options;
  }

  /** Saves the state as it is when the write starts; writes never overlap. */
  #save(): ResultAsync<void, JournalFailed> {
    const next = this.#saving.then((previous) => {
      if (this.#queued === next) this.#queued = undefined;
      if (previous.isErr()) return previous;
      this.#state.updatedAt = this.#ctx.now().toISOString();
      return this.#journal.save(this.#state);
    });
    this.#saving = next;
    return new ResultAsync(next);
  }

  /** Progress records are an optimisation (a copy re-checks the target): they may coalesce. */
  #saveProgress(): ResultAsync<void, JournalFailed> {
    if (this.#queued !== undefined) return new ResultAsync(this.#queued);
    const saved = this.#save();
    this.#queued = this.#saving;
    return saved;
  }

  #retrying<T, E extends RegistryError>(operation: string, attempt: () => ResultAsync<T, E>): ResultAsync<T, E | Aborted> {
    return withRetry(this.#ctx, this.#options.retry, operation, attempt, this.#options.signal);
  }

  #emit(step: MigrationStep, status: MigrationProgress['status'], copy?: CopyProgress): void {
    const listener = this.#options.onProgress;
    if (listener === undefined) return;
    const graph = this.#state.snapshot;
    const imagesTotal = graph?.images.length ?? 0;
    const bytesTotal = graph?.totalBytes ?? 0;
    try {
      listener({
        migrationId: this.#state.migrationId,
        step,
        stepNumber: MIGRATION_STEPS.indexOf(step) + 1,
        stepCount: MIGRATION_STEPS.length,
        status,
        imagesDone: copy?.imagesDone ?? (status === 'done' && (step === 'copyToStaging' || step === 'copyBack') ? imagesTotal : 0),
        imagesTotal: copy?.imagesTotal ?? imagesTotal,
        bytesDone: copy?.bytesDone ?? (status === 'done' && (step === 'copyToStaging' || step === 'copyBack') ? bytesTotal : 0),
        bytesTotal: copy?.bytesTotal ?? bytesTotal,
        ratePerSecond: copy?.ratePerSecond ?? 0,
        etaSeconds: copy?.etaSeconds ?? (status === 'done' ? 0 : undefined),
      });
    } catch (error) {
      // A listener that throws must not leave the journal behind the repositories.
      this.#ctx.logger.warn('a progress listener threw', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** The failure of a step, with the state of both repositories as found now. */
  async #failed(step: MigrationStep, cause: RegistryError): Promise<MigrationFailed> {
    const observed = await observe(this.#ctx, this.#state);
    return {
      kind: 'MigrationFailed',
      migrationId: this.#state.migrationId,
      repositoryName: this.#state.repositoryName,
      stagingRepositoryName: this.#state.stagingRepositoryName,
      step,
      state: stateAt(step, this.#state, observed, cause),
      resume: `registry.resumeMigration({ journal }) with the journal ${this.#journal.description}`,
      journal: this.#journal.description,
      cause,
      observed,
    };
  }

  #warn(warning: MigrationWarning): void {
    this.#ctx.logger.warn(warning.message, { migrationId: this.#state.migrationId });
    if (!this.#state.warnings.some((w) => w.code === warning.code && w.message === warning.message)) this.#state.warnings.push(warning);
  }

  /**
   * Runs every step not done yet. A fresh migration that loses the claim on the repository (another
   * migration's freeze is there, or replaced ours) answers `MigrationInProgress`: it changed nothing
   * that remains.
   */
  async run(): Promise<Result<MigrationResult, MigrationFailed | MigrationInProgress>> {
    const state = this.#state;
    for (const step of MIGRATION_STEPS) {
      const previous = state.steps[step];
      if (previous?.status === 'done') continue;
      if (this.#options.signal?.aborted) return err(await this.#failed(step, aborted('MigrateRepository')));
      const startedAt = this.#ctx.now();
      state.steps[step] = {
        status: 'started',
        startedAt: startedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        ...(previous?.durationMs !== undefined ? { durationMs: previous.durationMs } : {}),
      };
      const before = await this.#save();
      if (before.isErr()) return err(await this.#failed(step, before.error));
      this.#ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'started' });
      this.#emit(step, 'started');

      const outcome = await this.#run(step);
      if (outcome.isErr()) {
        const lostClaim = step === 'freeze' && previous === undefined && !this.#options.resumed && outcome.error.kind === 'MigrationInProgress';
        return err(lostClaim ? outcome.error : await this.#failed(step, outcome.error));
      }

      const finishedAt = this.#ctx.now();
      state.steps[step] = {
        status: 'done',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        durationMs: (previous?.durationMs ?? 0) + (finishedAt.getTime() - startedAt.getTime()),
      };
      const after = await this.#save();
      if (after.isErr()) return err(await this.#failed(step, after.error));
      this.#ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'done' });
      this.#emit(step, 'done');
    }
    state.completedAt = this.#ctx.now().toISOString();
    const last = MIGRATION_STEPS[MIGRATION_STEPS.length - 1] ?? 'deleteStaging';
    const saved = await this.#save();
    if (saved.isErr()) return err(await this.#failed(last, saved.error));
    // The migration is complete either way; a journal that cannot be cleared only says so again.
    const cleared = await this.#journal.clear();
    if (cleared.isErr()) this.#warn({ code: 'journalNotCleared', message: `the finished journal could not be cleared: ${cleared.error.reason}` });
    return ok(resultOf(state, this.#options.resumed, this.#journal.description));
  }

  #run(step: MigrationStep): StepResult {
    switch (step) {
      case 'freeze':
        return this.#freeze();
      case 'snapshot':
        return this.#snapshot();
      case 'createStaging':
        return this.#createStaging();
      case 'copyToStaging':
        return this.#copy('staging');
      case 'verifyStaging':
        return this.#verify('staging');
      case 'deleteOriginal':
        return this.#deleteOriginal();
      case 'recreate':
        return this.#recreate();
      case 'copyBack':
        return this.#copy('final');
      case 'verifyFinal':
        return this.#verify('final');
      case 'restoreSettings':
        return this.#restoreSettings();
      case 'deleteStaging':
        return this.#deleteStaging();
    }
  }

  #frozenPolicy(): ResultAsync<string, InvalidInput> {
    const s = this.#state;
    // Built on the saved policy without principals of deleted users and roles, which ECR may refuse.
    const policy = frozenPolicy(freezeBaseOf(s.original.settings.repositoryPolicy), s.migrationId, s.exemptPrincipals);
    return policy.isOk() ? okAsync(policy.value) : errAsync(policy.error);
  }

  #graph(): ResultAsync<ImageGraph, InvalidInput> {
    const graph = this.#state.snapshot;
    // The snapshot step records it before any later step can run.
    return graph === undefined ? errAsync(invalid('journal', 'the journal has no snapshot although the snapshot step is done')) : okAsync(graph);
  }

  /**
   * 1. Deny pushes, deletes and settings changes to everyone else (the original policy is in the
   * journal), then pause the lifecycle policy. ECR's own expiry is no principal: the freeze does
   * not stop it, and it could expire an image after the snapshot (the copy would then fail on
   * every resume) or, counting by push time, expire copies. Its text, read again now that nobody
   * else can change it, is saved in the journal before it is deleted; `restoreSettings` puts it
   * back last. Repeatable: a policy already deleted is not found, and the journal keeps its text.
   */
  #freeze(): StepResult {
    const s = this.#state;
    const name = s.repositoryName;
    const ctx = this.#ctx;
    return safeTry(async function* (this: Migration) {
      yield* this.#claim();
      const live = yield* this.#retrying('GetLifecyclePolicy', () => getLifecyclePolicy(ctx, name));
      if (live === undefined) {
        // None, or deleted by this step before a crash: then the journal holds its text already.
        if (s.original.settings.lifecyclePolicy !== undefined && s.lifecyclePausedAt === undefined) {
          s.lifecyclePausedAt = ctx.now().toISOString();
          yield* this.#save();
        }
        return ok(undefined);
      }
      if (live !== s.original.settings.lifecyclePolicy) {
        // Changed between the first read and the freeze: what is live now is what to restore.
        ctx.logger.warn('the lifecycle policy changed before the freeze: the journal records the current one', { migrationId: s.migrationId });
        s.original.settings = { ...s.original.settings, lifecyclePolicy: live };
      }
      // Never delete what the journal does not hold durably.
      yield* this.#save();
      yield* this.#retrying('DeleteLifecyclePolicy', () => deleteLifecyclePolicy(ctx, name));
      s.lifecyclePausedAt = ctx.now().toISOString();
      yield* this.#save();
      return ok(undefined);
    }.bind(this));
  }

  /**
   * The freeze is also the claim on the repository. ECR has no conditional write, so the claim is
   * last-writer-wins: read the policy (another migration's freeze: stop, writing nothing); write
   * ours; read it back, wait, and read it back again; go on only while the statement is ours. Two
   * migrations that both passed the first check both write: the one whose write came last finds
   * its own statement both times, the other finds the winner's at one of its reads back and stops
   * with `MigrationInProgress`, never writing again (so never undoing the winner's freeze). The
   * wait covers a rival's write that was already on its way when we read back; nothing else
   * (lifecycle, staging) is touched before the claim is settled.
   */
  #claim(): StepResult {
    const s = this.#state;
    const name = s.repositoryName;
    const ctx = this.#ctx;
    const inProgress = (other: string | undefined): MigrationInProgress => ({
      kind: 'MigrationInProgress',
      repositoryName: name,
      migrationId: other,
      foundIn: 'repositoryPolicy',
      journal: undefined,
    });
    const read = (): ResultAsync<string | undefined, RegistryError> => this.#retrying('GetRepositoryPolicy', () => getRepositoryPolicy(ctx, name));
    return safeTry(async function* (this: Migration) {
      const current = yield* read();
      const before = claimOf(current, s.migrationId);
      if (typeof before === 'object') return err(inProgress(before.other));
      if (before === 'none' && current !== s.original.settings.repositoryPolicy) {
        // Changed between the first read and now (nobody can once frozen): what is live is what to restore.
        ctx.logger.warn('the repository policy changed before the freeze: the journal records the current one', { migrationId: s.migrationId });
        s.original.settings = { ...s.original.settings, repositoryPolicy: current };
        yield* this.#save();
      }
      const policy = yield* this.#frozenPolicy();
      const written = await this.#retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, name, policy));
      if (written.isErr()) {
        // Refused, perhaps by a rival's freeze (it denies SetRepositoryPolicy to other principals).
        const now = await getRepositoryPolicy(ctx, name);
        const claim = now.isOk() ? claimOf(now.value, s.migrationId) : 'none';
        return err(typeof claim === 'object' ? inProgress(claim.other) : written.error);
      }
      for (const delay of [0, this.#claimSettleMs()]) {
        if (delay > 0) await ctx.sleep(delay);
        let claim = claimOf(yield* read(), s.migrationId);
        // ASSUMED: AWS does not document read-after-write for repository policies; a read that
        // does not show our write yet is polled (bounded) rather than taken as a removal.
        for (const wait of backoffDelays(ctx.poll)) {
          if (claim !== 'none') break;
          await ctx.sleep(wait);
          claim = claimOf(yield* read(), s.migrationId);
        }
        if (typeof claim === 'object') return err(inProgress(claim.other));
        if (claim === 'none') {
          return err(invalid('repositoryPolicy', `the freeze statement on ${name} is not there right after it was set: someone else is changing the repository policy`));
        }
      }
      return ok(undefined);
    }.bind(this));
  }

  /** How long a claim is left to settle before it is read back the second time. */
  #claimSettleMs(): number {
    return Math.max(1, this.#ctx.poll.initialDelayMs * 2);
  }

  /** 2. The image graph, taken after the freeze so it stays true. */
  #snapshot(): StepResult {
    const s = this.#state;
    return snapshotImages(this.#ctx, s.repositoryName, this.#options.signal ? { signal: this.#options.signal, retry: this.#options.retry } : { retry: this.#options.retry }).andThen(
      (graph): StepResult => {
        if (graph.archived.length > 0) {
          const archived: ImagesArchived = {
            kind: 'ImagesArchived',
            repositoryName: s.repositoryName,
            images: graph.images
              .filter((i) => i.status !== 'ACTIVE')
              .map((i) => ({ imageDigest: i.digest, imageTags: i.tags, status: i.status === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVATING' })),
          };
          return errAsync(archived);
        }
        s.snapshot = graph;
        for (const w of graphWarnings(graph, s.original.settings, false).filter((w) => w.code === 'danglingReferences' || w.code === 'externalBlobs')) this.#warn(w);
        return okAsync(undefined);
      },
    );
  }

  /** The staging repository is ours: it carries this migration's id (never delete or fill another's). */
  #checkStagingIsOurs(repository: Repository): StepResult {
    const s = this.#state;
    return listTags(this.#ctx, repository.repositoryArn ?? '', s.stagingRepositoryName).andThen((tags): StepResult =>
      tags.some((t) => t.Key === MIGRATION_TAG && t.Value === s.migrationId)
        ? okAsync(undefined)
        : errAsync({
            kind: 'MigrationInProgress',
            repositoryName: s.stagingRepositoryName,
            migrationId: tags.find((t) => t.Key === MIGRATION_TAG)?.Value,
            foundIn: 'repositoryPolicy',
            journal: undefined,
          } satisfies MigrationInProgress),
    );
  }

  /** 3. The staging repository, with the target encryption, checked like any creation. */
  #createStaging(): StepResult {
    const s = this.#state;
    return this.#retrying('CreateStagingRepository', () =>
      createEncryptedRepository(this.#ctx, {
        repositoryName: s.stagingRepositoryName,
        encryption: specOf(s.to),
        tags: [
          { Key: MIGRATION_TAG, Value: s.migrationId },
          { Key: ROLE_TAG, Value: 'staging' },
          { Key: 'encrypted-ecr:original-repository', Value: s.repositoryName },
        ],
      }),
    ).andThen((created): StepResult => {
      s.staging.repositoryArn = created.repository.arn;
      s.staging.createdAt = created.repository.createdAt.toISOString();
      if (created.created) return okAsync(undefined);
      // It existed: created by this migration before a crash, or a name clash we must not touch.
      return describeRepository(this.#ctx, s.stagingRepositoryName).andThen((r) => this.#checkStagingIsOurs(r));
    });
  }

  #record(which: Verified): CopyRecord {
    return which === 'staging' ? this.#state.staging : this.#state.final;
  }

  /** 4 and 7. Every blob and manifest, by digest; what the target holds is skipped. */
  #copy(which: Verified): StepResult {
    const s = this.#state;
    const step: MigrationStep = which === 'staging' ? 'copyToStaging' : 'copyBack';
    const record = this.#record(which);
    const [source, target] = which === 'staging' ? [s.repositoryName, s.stagingRepositoryName] : [s.stagingRepositoryName, s.repositoryName];
    return this.#graph().andThen((graph) =>
      copyImages<JournalFailed>(this.#ctx, {
        source,
        target,
        graph,
        concurrency: this.#options.concurrency,
        retry: this.#options.retry,
        ...(this.#options.signal ? { signal: this.#options.signal } : {}),
        done: { blobs: record.blobs, manifests: record.manifests },
        onProgress: (progress) => this.#emit(step, 'running', progress),
        onBlobCopied: ({ digest }) => {
          if (!record.blobs.includes(digest)) record.blobs.push(digest);
          return this.#saveProgress();
        },
        onManifestCopied: ({ digest }) => {
          if (!record.manifests.includes(digest)) record.manifests.push(digest);
          return this.#saveProgress();
        },
      }).map(() => undefined),
    );
  }

  /** 5 and 8. Digest by digest against the snapshot; only this proves a copy to this process. */
  #verify(which: Verified): StepResult {
    const s = this.#state;
    const target = which === 'staging' ? s.stagingRepositoryName : s.repositoryName;
    return this.#graph().andThen((graph) =>
      verifyCopy(this.#ctx, { target, graph, retry: this.#options.retry, ...(this.#options.signal ? { signal: this.#options.signal } : {}) }).map(() => {
        this.#verified.add(which);
        this.#record(which).verifiedAt = this.#ctx.now().toISOString();
      }),
    );
  }

  /**
   * A journal record of an earlier verification is not enough to delete: verify again here. If
   * the copy no longer verifies (someone deleted from it), copy again, checking every blob and
   * manifest rather than trusting the journal's progress, and verify once more.
   */
  #ensureVerified(which: Verified): StepResult {
    if (this.#verified.has(which)) return okAsync(undefined);
    return this.#verify(which).orElse((e): StepResult => {
      if (e.kind !== 'CopyVerificationFailed') return errAsync(e);
      this.#ctx.logger.warn('the copy no longer matches the snapshot: copying again', { migrationId: this.#state.migrationId, target: e.repositoryName });
      const record = this.#record(which);
      record.blobs.length = 0;
      record.manifests.length = 0;
      return this.#copy(which).andThen(() => this.#verify(which));
    });
  }

  /** Only grants of `incarnation` (created in its lifetime and before any successor) are retired. */
  #retireLeftoverGrants(keyArn: string, repositoryArn: string, createdAt: Date, successorCreatedAt: Date | undefined, label: string): StepResult {
    const ours = (grants: GrantListEntry[]): GrantListEntry[] =>
      grantsOfIncarnation(grants, repositoryArn, createdAt).filter(
        (g) => successorCreatedAt === undefined || (g.CreationDate !== undefined && g.CreationDate.getTime() < successorCreatedAt.getTime() - GRANT_CLOCK_SKEW_MS),
      );
    const list = (): ResultAsync<GrantListEntry[], RegistryError> =>
      listAllGrants(this.#ctx, keyArn)
        .map(ours)
        .orElse((e) => (e.kind === 'KeyNotFound' ? okAsync<GrantListEntry[], never>([]) : errAsync(e)));
    const run = async (): Promise<Result<void, RegistryError>> => {
      let left = await list();
      for (const delay of [0, ...backoffDelays(this.#ctx.poll)]) {
        if (left.isErr()) return err(left.error);
        if (left.value.length === 0) return ok(undefined);
        if (delay > 0) await this.#ctx.sleep(delay);
        for (const grant of left.value) {
          const retired = await retireGrant(this.#ctx, keyArn, grant.GrantId ?? '');
          if (retired.isErr() && !isRetryable(retired.error)) {
            this.#warn({
              code: 'grantsRemain',
              message: `grants of the deleted ${label} remain on ${keyArn} (${retired.error.kind}): retire them with retireOrphanedGrants`,
            });
            return ok(undefined);
          }
        }
        left = await list();
      }
      if (left.isOk() && left.value.length > 0) {
        this.#warn({ code: 'grantsRemain', message: `grants of the deleted ${label} still show on ${keyArn}: check again with findOrphanedGrants` });
      }
      return left.map(() => undefined);
    };
    return new ResultAsync(run());
  }

  /**
   * Deletes a repository that every image has been verified elsewhere for, and proves its grants
   * retired. Gone already (a crash after the deletion): its leftover grants are still checked.
   */
  #deleteVerified(repositoryName: string, incarnation: { readonly arn: string; readonly createdAt: Date }, encryption: EncryptionDescription, label: string): StepResult {
    const leftovers = (successor: Date | undefined): StepResult =>
      encryption.keyArn === undefined ? okAsync(undefined) : this.#retireLeftoverGrants(encryption.keyArn, incarnation.arn, incarnation.createdAt, successor, label);
    // The repository carries this migration's own freeze: deleteRepository refuses any other's.
    return this.#retrying('DeleteRepository', () => deleteRepository(this.#ctx, { repositoryName, force: true }, { migrationId: this.#state.migrationId }))
      .map((deleted) => {
        if (!deleted.verified) {
          this.#warn({ code: 'grantsRemain', message: `${label} deleted, but its grants could not be verified: ${deleted.grantsUnverifiable.detail}` });
        }
      })
      .orElse((e): StepResult => {
        if (e.kind === 'RepositoryNotFound') return leftovers(undefined);
        if (e.kind === 'DeletedButGrantsRemain') {
          this.#warn({
            code: 'grantsRemain',
            message: `${label} deleted, but ${e.grantIds.length} grant(s) remain on ${e.keyArn}${e.missingPermission ? ` (missing ${e.missingPermission})` : ''}: retire them with retireOrphanedGrants`,
          });
          return okAsync(undefined);
        }
        return errAsync(e);
      });
  }

  /** 6a. The original goes only once staging is verified here and holds every image the original holds. */
  #deleteOriginal(): StepResult {
    const s = this.#state;
    const name = s.repositoryName;
    const original = { arn: s.original.repositoryArn, createdAt: new Date(s.original.createdAt) };
    return this.#ensureVerified('staging').andThen(() =>
      safeTry(async function* (this: Migration) {
        if (!this.#verified.has('staging')) throw new Error('bug: deleting the original before staging was verified in this process');
        const current = yield* findRepository(this.#ctx, name);
        if (current === undefined) return ok(yield* this.#leftoversOfOriginal(undefined));
        if (current.createdAt?.getTime() !== original.createdAt.getTime()) {
          // Someone recreated the name meanwhile: the original is gone; never delete theirs.
          const theirs = encryptionOfRepository(current);
          if (!sameEncryption(theirs, s.to)) {
            return err<never, RegistryError>({ kind: 'EncryptionMismatch', repositoryName: name, existing: theirs, requested: s.to, remedy: 'migrateRepository' });
          }
          return ok(yield* this.#leftoversOfOriginal(current.createdAt));
        }
        // Frozen, but the migrating principal itself (any session of it) is let through: if the
        // original no longer matches the snapshot (an image pushed or removed, a tag moved, added
        // or removed), copying the snapshot back would silently revert that change: stop.
        const graph = yield* this.#graph();
        const details = yield* this.#retrying('DescribeImages', () => describeImages(this.#ctx, name));
        const changed = changesSinceSnapshot(graph, details, name);
        if (changed !== undefined) return err<never, RegistryError>(changed);
        return ok(yield* this.#deleteVerified(name, original, s.from, `original ${name}`));
      }.bind(this)),
    );
  }

  #leftoversOfOriginal(successor: Date | undefined): StepResult {
    const s = this.#state;
    const keyArn = s.from.keyArn;
    if (keyArn === undefined) return okAsync(undefined);
    return this.#retireLeftoverGrants(keyArn, s.original.repositoryArn, new Date(s.original.createdAt), successor, `original ${s.repositoryName}`);
  }

  /**
   * 6b. The original name with the target encryption, its settings and the freeze; no lifecycle,
   * no immutability yet. ECR takes no repository policy in `CreateRepository`: the freeze is set
   * right after it (by the creation, undone if that fails, and again here for a repository found
   * existing), so a push by another principal can land in between. Nothing has been copied back
   * yet, so the repository must be empty once frozen, and an image in it stops the migration with
   * `UnexpectedImages` rather than being kept or overwritten.
   */
  #recreate(): StepResult {
    const s = this.#state;
    const settings = s.original.settings;
    const mutability = initialMutability(settings.imageTagMutability);
    return this.#frozenPolicy().andThen((policy) =>
      this.#retrying('CreateRepository', () =>
        createEncryptedRepository(this.#ctx, {
          repositoryName: s.repositoryName,
          encryption: specOf(s.to),
          imageTagMutability: mutability,
          ...(mutability === 'MUTABLE_WITH_EXCLUSION' ? { imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters } : {}),
          scanOnPush: settings.scanOnPush,
          ...(settings.tags.length > 0 ? { tags: settings.tags } : {}),
          repositoryPolicy: policy,
        }),
      )
        .andThen((created) => {
          s.final.repositoryArn = created.repository.arn;
          s.final.createdAt = created.repository.createdAt.toISOString();
          // Found existing (after a crash, between CreateRepository and SetRepositoryPolicy): freeze it now.
          return this.#retrying('SetRepositoryPolicy', () => setRepositoryPolicy(this.#ctx, s.repositoryName, policy));
        })
        .andThen(() => this.#checkEmpty(s.repositoryName)),
    );
  }

  /** The frozen, recreated repository holds nothing yet: anything in it was pushed by someone else. */
  #checkEmpty(repositoryName: string): StepResult {
    return this.#retrying('DescribeImages', () => describeImages(this.#ctx, repositoryName)).andThen((details): StepResult => {
      const images = details.flatMap((d) =>
        d.imageDigest === undefined ? [] : [{ imageDigest: d.imageDigest, imageTags: [...(d.imageTags ?? [])], pushedAt: d.imagePushedAt?.toISOString() }],
      );
      if (images.length === 0) return okAsync(undefined);
      const unexpected: UnexpectedImages = { kind: 'UnexpectedImages', repositoryName, images };
      this.#ctx.logger.warn('the recreated repository holds images the migration did not copy', { migrationId: this.#state.migrationId, images });
      return errAsync(unexpected);
    });
  }

  /** 7. Lifecycle and tag mutability last, then tags and scanning again, and the original policy exactly (or none). */
  #restoreSettings(): StepResult {
    const s = this.#state;
    const name = s.repositoryName;
    const settings = s.original.settings;
    const arn = s.final.repositoryArn ?? s.original.repositoryArn;
    const ctx = this.#ctx;
    return safeTry(async function* (this: Migration) {
      if (settings.lifecyclePolicy !== undefined) {
        const text = settings.lifecyclePolicy;
        yield* this.#retrying('PutLifecyclePolicy', () => putLifecyclePolicy(ctx, name, text));
      }
      yield* this.#retrying('PutImageTagMutability', () =>
        putImageTagMutability(ctx, {
          repositoryName: name,
          imageTagMutability: settings.imageTagMutability,
          ...(settings.imageTagMutabilityExclusionFilters.length > 0
            ? { imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters.map((filter) => ({ filterType: 'WILDCARD' as const, filter })) }
            : {}),
        }),
      );
      if (settings.tags.length > 0) yield* this.#retrying('TagResource', () => tagRepository(ctx, arn, name, settings.tags));
      yield* this.#retrying('PutImageScanningConfiguration', () => putImageScanningConfiguration(ctx, name, settings.scanOnPush));
      // Unfreezing is the very last change.
      const policy = settings.repositoryPolicy;
      if (policy !== undefined) {
        // A refused text (e.g. naming deleted principals) is retried without them, or ends typed and still frozen.
        const warning = yield* restoreRepositoryPolicy(ctx, name, policy, s.migrationId, (op, attempt) => this.#retrying(op, attempt));
        if (warning !== undefined) this.#warn(warning);
      } else yield* this.#retrying('DeleteRepositoryPolicy', () => deleteRepositoryPolicy(ctx, name));
      return ok(undefined);
    }.bind(this));
  }

  /** 8. The staging repository goes only once the final repository is verified here. */
  #deleteStaging(): StepResult {
    const s = this.#state;
    const staging = s.stagingRepositoryName;
    return this.#ensureVerified('final').andThen(() =>
      safeTry(async function* (this: Migration) {
        if (!this.#verified.has('final')) throw new Error('bug: deleting staging before the final repository was verified in this process');
        const current = yield* findRepository(this.#ctx, staging);
        const createdAt = current?.createdAt ?? (s.staging.createdAt !== undefined ? new Date(s.staging.createdAt) : undefined);
        const arn = current?.repositoryArn ?? s.staging.repositoryArn;
        if (createdAt === undefined || arn === undefined) return ok(undefined);
        if (current !== undefined) yield* this.#checkStagingIsOurs(current);
        return ok(yield* this.#deleteVerified(staging, { arn, createdAt }, s.to, `staging ${staging}`));
      }.bind(this)),
    );
  }
}

/**
 * How a repository differs from the snapshot taken of it: images pushed since (by digest, with
 * failure code `PushedAfterSnapshot`), images removed since (`RemovedAfterSnapshot`), and tags
 * moved, removed or added (`tagMismatches`, `expected` from the snapshot, `actual` now).
 */
const changesSinceSnapshot = (graph: ImageGraph, details: readonly ImageDetail[], repositoryName: string): CopyVerificationFailed | undefined => {
  const known = new Set(graph.images.map((i) => i.digest));
  const present = new Set(details.flatMap((d) => (d.imageDigest ? [d.imageDigest] : [])));
  const pushed = [...present].filter((digest) => !known.has(digest));
  const removed = [...known].filter((digest) => !present.has(digest));
  const tagsThen = new Map(graph.images.flatMap((i) => i.tags.map((tag) => [tag, i.digest] as const)));
  const tagsNow = new Map(details.flatMap((d) => (d.imageDigest ? (d.imageTags ?? []).map((tag) => [tag, d.imageDigest ?? ''] as const) : [])));
  const tagMismatches: TagDifference[] = [];
  for (const [tag, expected] of tagsThen) {
    const actual = tagsNow.get(tag);
    if (actual !== expected) tagMismatches.push({ tag, expected, actual });
  }
  for (const [tag, actual] of tagsNow) if (!tagsThen.has(tag)) tagMismatches.push({ tag, expected: undefined, actual });
  if (pushed.length + removed.length + tagMismatches.length === 0) return undefined;
  return {
    kind: 'CopyVerificationFailed',
    repositoryName,
    missingImages: [
      ...pushed.map((imageDigest) => ({ imageDigest, failureCode: 'PushedAfterSnapshot' })),
      ...removed.map((imageDigest) => ({ imageDigest, failureCode: 'RemovedAfterSnapshot' })),
    ],
    manifestMismatches: [],
    tagMismatches,
    missingBlobs: [],
    notCopied: [],
  };
};

const resultOf = (s: JournalState, resumed: boolean, journal: string): MigrationResult => {
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
    images: graph?.images.length ?? 0,
    tags: graph?.images.reduce((sum, i) => sum + i.tags.length, 0) ?? 0,
    blobs: graph?.blobs.length ?? 0,
    bytes: graph?.totalBytes ?? 0,
    warnings: s.warnings,
    steps,
    journal,
  };
};

const checkConcurrency = (concurrency: number | undefined): InvalidInput | undefined =>
  concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)
    ? invalid('concurrency', `must be an integer from 1 to ${MAX_CONCURRENCY}`)
    : undefined;

const runOptions = (input: { concurrency?: number; onProgress?: (p: MigrationProgress) => void; signal?: AbortSignal }, resumed: boolean): RunOptions => ({
  concurrency: input.concurrency ?? DEFAULT_CONCURRENCY,
  onProgress: input.onProgress,
  signal: input.signal,
  resumed,
  retry: DEFAULT_RETRY,
});

/**
 * Waits, within the poll bound, until no image is archived or being restored; restores archived
 * ones first. Answers the images still not `ACTIVE`.
 */
const restoreArchived = (ctx: RegistryContext, repositoryName: string, signal: AbortSignal | undefined): ResultAsync<ImagesArchived | undefined, RegistryError> => {
  const pending = (): ResultAsync<ImagesArchived['images'][number][], RegistryError> =>
    describeImages(ctx, repositoryName, { signal }).map((details) =>
      details
        .filter((d) => d.imageDigest !== undefined && d.imageStatus !== undefined && d.imageStatus !== 'ACTIVE')
        .map((d) => ({ imageDigest: d.imageDigest ?? '', imageTags: d.imageTags ?? [], status: d.imageStatus === 'ARCHIVED' ? ('ARCHIVED' as const) : ('ACTIVATING' as const) })),
    );
  const run = async (): Promise<Result<ImagesArchived | undefined, RegistryError>> => {
    const first = await pending();
    if (first.isErr()) return err(first.error);
    for (const image of first.value.filter((i) => i.status === 'ARCHIVED')) {
      const restored = await restoreImage(ctx, repositoryName, image.imageDigest);
      if (restored.isErr()) return err(restored.error);
    }
    let left = first.value;
    for (const delay of [0, ...backoffDelays(ctx.poll)]) {
      if (left.length === 0) return ok(undefined);
      await ctx.sleep(delay);
      const again = await pending();
      if (again.isErr()) return err(again.error);
      left = again.value;
    }
    return ok(left.length === 0 ? undefined : { kind: 'ImagesArchived', repositoryName, images: left });
  };
  return new ResultAsync(run());
};

/**
 * Starts a migration: checks everything first (nothing is changed when a check fails), then runs
 * the steps, recording each in the journal.
 *
 * @internal Use {@link EncryptedRegistry.migrateRepository}.
 */
export const migrateRepository = (ctx: RegistryContext, input: MigrateRepositoryInput): ResultAsync<MigrationResult, MigrateRepositoryError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const name = validateRepositoryName((input as MigrateRepositoryInput | undefined)?.repositoryName);
  if (name.isErr()) return errAsync(name.error);
  const parsed = parseEncryption(input.encryption);
  if (parsed.isErr()) return errAsync(parsed.error);
  const badConcurrency = checkConcurrency(input.concurrency);
  if (badConcurrency) return errAsync(badConcurrency);
  const repositoryName = name.value;
  const journal = guardJournal(input.journal ?? fileJournal(defaultJournalPath(repositoryName)));

  const body = (): ResultAsync<MigrationResult, MigrateRepositoryError> => safeTry(async function* () {
    const recorded = yield* journal.load().mapErr((e): MigrateRepositoryError => e);
    if (recorded !== undefined && recorded.completedAt === undefined) {
      return err<never, MigrateRepositoryError>({
        kind: 'MigrationInProgress',
        repositoryName: recorded.repositoryName,
        migrationId: recorded.migrationId,
        foundIn: 'journal',
        journal: journal.description,
      });
    }
    const region = yield* ctx.region();
    const repository = yield* describeRepository(ctx, repositoryName);
    const settings = yield* readSettings(ctx, repository, repositoryName);
    const frozen = freezeOf(settings.repositoryPolicy);
    if (frozen !== null) {
      return err<never, MigrateRepositoryError>({
        kind: 'MigrationInProgress',
        repositoryName,
        migrationId: frozen.migrationId,
        foundIn: 'repositoryPolicy',
        journal: undefined,
      });
    }

    // The target, checked exactly as a creation checks it (key, region, permissions).
    const report = yield* preflight(ctx, preflightInputOf(repositoryName, input.encryption, settings));
    const blocking = migrationFindings(report).find((f) => f.severity === 'error' && f.error !== undefined)?.error;
    const firstError = blocking === undefined ? undefined : withoutMismatch(blocking);
    if (firstError !== undefined) return err<never, MigrateRepositoryError>(firstError);
    const to = targetOf(input.encryption, report);
    const { callerArn, account } = report.facts;
    if (to === undefined || callerArn === undefined || account === undefined) {
      throw new Error('bug: the preflight resolved no key or caller without reporting why');
    }
    const from = encryptionOfRepository(repository);
    const repositoryArn = repository.repositoryArn ?? '';
    if (sameEncryption(from, to)) {
      return ok<MigrationResult, never>({
        migrationId: '',
        changed: false,
        resumed: false,
        repository: { name: repositoryName, arn: repositoryArn },
        stagingRepositoryName: undefined,
        from,
        to,
        images: 0,
        tags: 0,
        blobs: 0,
        bytes: 0,
        warnings: [{ code: 'sameEncryption', message: `${repositoryName} already has ${describeEncryption(to)}: nothing to do` }],
        steps: {},
        journal: journal.description,
      });
    }

    // Archived images cannot be copied: restore them (when asked), or stop before changing anything.
    const stillArchived = input.restoreArchived === true
      ? yield* restoreArchived(ctx, repositoryName, input.signal).mapErr((e) => e as MigrateRepositoryError)
      : yield* describeImages(ctx, repositoryName, { signal: input.signal }).map((details): ImagesArchived | undefined => {
          const archived = details.filter((d) => d.imageStatus !== undefined && d.imageStatus !== 'ACTIVE');
          return archived.length === 0
            ? undefined
            : {
                kind: 'ImagesArchived',
                repositoryName,
                images: archived.map((d) => ({ imageDigest: d.imageDigest ?? '', imageTags: d.imageTags ?? [], status: d.imageStatus === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVATING' })),
              };
        });
    if (stillArchived !== undefined) return err<never, MigrateRepositoryError>(stillArchived);
    if (input.signal?.aborted) return err<never, MigrateRepositoryError>(aborted('MigrateRepository'));

    const migrationId = randomBytes(6).toString('hex');
    const warnings = yield* registryWarnings(ctx, repositoryName, migrationId);
    const now = ctx.now().toISOString();
    const state: JournalState = {
      format: 'encrypted-ecr/migration',
      version: 1,
      migrationId,
      region,
      account,
      repositoryName,
      stagingRepositoryName: stagingNameOf(repositoryName, migrationId),
      startedAt: now,
      updatedAt: now,
      from,
      to,
      exemptPrincipals: exemptPrincipalsOf(callerArn, report.facts.roleArn),
      original: {
        repositoryArn,
        createdAt: (repository.createdAt ?? new Date(0)).toISOString(),
        settings,
      },
      steps: {},
      staging: { blobs: [], manifests: [] },
      final: { blobs: [], manifests: [] },
      warnings: [...graphWarningsWithoutGraph(settings), ...warnings],
    };
    // The journal must hold the migration before anything changes: a journal that cannot be
    // written fails here, with nothing to resume.
    yield* journal.save(state).mapErr((e): MigrateRepositoryError => e);
    ctx.logger.info('migration starting', { migrationId, repositoryName, from, to, journal: journal.description });
    const result = await new Migration(ctx, journal, state, runOptions(input, false)).run();
    if (result.isErr() && result.error.kind === 'MigrationInProgress') {
      // Lost the claim: nothing of this migration remains on the repository; neither may its journal.
      const cleared = await journal.clear();
      if (cleared.isErr()) ctx.logger.warn('the journal of a migration that lost its claim could not be cleared', { migrationId, journal: journal.description, reason: cleared.error.reason });
    }
    return result.mapErr((e): MigrateRepositoryError => e);
  });
  return withJournalLock(ctx, journal, body).mapErr((e) => e);
};

/**
 * Runs `body` holding the journal's lock (when the journal has one), and releases it however
 * `body` ends. A lock held by another process is `MigrationInProgress` naming it.
 */
const withJournalLock = <T, E>(
  ctx: RegistryContext,
  journal: MigrationJournal,
  body: () => ResultAsync<T, E>,
): ResultAsync<T, E | JournalFailed | MigrationInProgress> => {
  const run = async (): Promise<Result<T, E | JournalFailed | MigrationInProgress>> => {
    if (journal.lock === undefined) return body();
    const lock = await journal.lock();
    if (lock.isErr()) {
      const owner = lock.error.owner;
      if (owner === undefined) return err(lock.error);
      // Reading is safe while another process writes (writes are atomic): name what it runs.
      const recorded = await journal.load();
      if (recorded.isErr() || recorded.value === undefined) return err(lock.error);
      return err(lockedBy(recorded.value, journal, owner));
    }
    try {
      return await body();
    } finally {
      const released = await lock.value.release();
      if (released.isErr()) ctx.logger.warn('the journal lock could not be released', { journal: journal.description, reason: released.error.reason });
    }
  };
  return new ResultAsync(run());
};

const lockedBy = (state: JournalState, journal: MigrationJournal, owner: JournalLockOwner): MigrationInProgress => ({
  kind: 'MigrationInProgress',
  repositoryName: state.repositoryName,
  migrationId: state.migrationId,
  foundIn: 'journalLock',
  journal: journal.description,
  owner,
});

/**
 * A journal that says the migration is over (every step done, or `completedAt`) is believed only
 * once the repositories say so too: the repository exists with the target encryption, is the
 * incarnation the migration created, carries no freeze statement and holds every image of the
 * snapshot; the staging repository is gone. Otherwise `JournalFailed`, and the journal is kept.
 */
const checkCompleted = (ctx: RegistryContext, s: JournalState, journal: MigrationJournal): ResultAsync<void, JournalFailed | GenericAwsError> =>
  safeTry(async function* () {
    const name = s.repositoryName;
    const problems: string[] = [];
    // Gone between two reads: the check answers on what it has.
    const orNone = <T>(call: ResultAsync<T, RepositoryNotFound | GenericAwsError>, none: T): ResultAsync<T, GenericAwsError> =>
      call.orElse((e) => (e.kind === 'RepositoryNotFound' ? okAsync(none) : errAsync(e)));
    const repository = yield* findRepository(ctx, name);
    if (repository === undefined) problems.push(`${name} does not exist`);
    else {
      const actual = encryptionOfRepository(repository);
      if (!sameEncryption(actual, s.to)) problems.push(`${name} has ${describeEncryption(actual)}, not ${describeEncryption(s.to)}`);
      if (s.final.createdAt !== undefined && repository.createdAt?.getTime() !== Date.parse(s.final.createdAt)) {
        problems.push(`${name} is not the repository the migration created (created ${repository.createdAt?.toISOString() ?? 'at an unknown time'})`);
      }
      if (freezeOf(yield* orNone(getRepositoryPolicy(ctx, name), undefined)) !== null) problems.push(`${name} still carries a migration freeze statement`);
      const present = new Set((yield* orNone(describeImages(ctx, name), [])).flatMap((d) => (d.imageDigest ? [d.imageDigest] : [])));
      const missing = (s.snapshot?.images ?? []).filter((i) => !present.has(i.digest)).map((i) => i.digest);
      if (s.snapshot === undefined) problems.push('the journal has no snapshot');
      else if (missing.length > 0) problems.push(`${name} lacks ${missing.length} image(s) of the snapshot (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
    }
    if ((yield* findRepository(ctx, s.stagingRepositoryName)) !== undefined) problems.push(`staging ${s.stagingRepositoryName} still exists`);
    if (problems.length === 0) return ok(undefined);
    return err<never, JournalFailed>({
      kind: 'JournalFailed',
      operation: 'load',
      journal: journal.description,
      reason: `the journal says migration ${s.migrationId} is complete, but ${problems.join('; ')}: it does not match the repositories and is kept`,
    });
  });

/** The warnings known before the snapshot (the settings ones). */
const graphWarningsWithoutGraph = (settings: JournalState['original']['settings']): MigrationWarning[] =>
  graphWarnings(
    { repositoryName: '', takenAt: '', images: [], archived: [], blobs: [], externalBlobs: [], totalBytes: 0, blobsOfUnknownSize: 0, danglingReferences: [], mediaTypes: [] },
    settings,
    false,
  );

/**
 * Goes on with the migration a journal records, from its first unfinished step.
 *
 * @internal Use {@link EncryptedRegistry.resumeMigration}.
 */
export const resumeMigration = (ctx: RegistryContext, input: ResumeMigrationInput): ResultAsync<MigrationResult, ResumeMigrationError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const journal = (input as ResumeMigrationInput | undefined)?.journal;
  if (journal === undefined) return errAsync(invalid('journal', 'resumeMigration needs the journal of the migration to resume'));
  const badConcurrency = checkConcurrency(input.concurrency);
  if (badConcurrency) return errAsync(badConcurrency);
  const guarded = guardJournal(journal);
  const body = (): ResultAsync<MigrationResult, ResumeMigrationError> => safeTry(async function* () {
    const state = yield* guarded.load().mapErr((e): ResumeMigrationError => e);
    if (state === undefined) return err<never, ResumeMigrationError>(invalid('journal', `${guarded.description} holds no migration`));
    const region = yield* ctx.region();
    if (region !== state.region) {
      return err<never, ResumeMigrationError>(invalid('journal', `the migration runs in ${state.region}, but this registry's clients use ${region}`));
    }
    if (state.completedAt !== undefined || MIGRATION_STEPS.every((step) => state.steps[step]?.status === 'done')) {
      yield* checkCompleted(ctx, state, guarded).mapErr((e): ResumeMigrationError => e);
      yield* guarded.clear().mapErr((e): ResumeMigrationError => e);
      return ok<MigrationResult, never>(resultOf(state, true, guarded.description));
    }
    ctx.logger.info('migration resuming', { migrationId: state.migrationId, repositoryName: state.repositoryName, journal: guarded.description });
    const result = await new Migration(ctx, guarded, state, runOptions(input, true)).run();
    return result.mapErr((e): ResumeMigrationError => e);
  });
  return withJournalLock(ctx, guarded, body);
};
