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
import { join } from 'node:path';
import type { Repository } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { ResultAsync, err, errAsync, ok, okAsync, type Result, safeTry } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import {
  type Aborted,
  type CopyVerificationFailed,
  type EncryptionMismatch,
  type ImagesArchived,
  type InvalidInput,
  isRetryable,
  type JournalFailed,
  type MigrateRepositoryError,
  type MigrationFailed,
  type MigrationInProgress,
  type MigrationStep,
  type RegistryError,
  type ResumeMigrationError,
  type UnexpectedImages,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { backoffDelays } from '../internal/poll.js';
import { DEFAULT_RETRY, aborted, withRetry, type RetryPolicy } from '../internal/retry.js';
import { copyImages, type CopyProgress } from '../migrate/copy.js';
import { exemptPrincipalsOf, freezeOf, frozenPolicy } from '../migrate/freeze.js';
import { fileJournal, MIGRATION_STEPS, type CopyRecord, type JournalState, type MigrationJournal } from '../migrate/journal.js';
import {
  graphWarnings,
  type MigrationWarning,
  migrationFindings,
  preflightInputOf,
  readSettings,
  registryWarnings,
  targetOf,
} from '../migrate/plan.js';
import { snapshotImages, type ImageGraph } from '../migrate/snapshot.js';
import { verifyCopy } from '../migrate/verify.js';
import { describeImages } from '../steps/ecr-images.js';
import { deleteLifecyclePolicy, deleteRepositoryPolicy, restoreImage } from '../steps/ecr-migration.js';
import {
  describeRepository,
  findRepository,
  getLifecyclePolicy,
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
   * Where to record the migration. Default: `fileJournal('./.migration-journal-<name>.json')`
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
const MAX_NAME = 256;
const MIGRATION_TAG = 'encrypted-ecr:migration-id';
const ROLE_TAG = 'encrypted-ecr:role';

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

/** The journal used when none is given: a file in the current directory, named after the repository. */
export const defaultJournalPath = (repositoryName: string): string =>
  join(process.cwd(), `.migration-journal-${repositoryName.replace(/[^a-z0-9._-]/g, '_')}.json`);

/** A valid ECR name (≤ 256), deterministic from the migration id. */
export const stagingNameOf = (repositoryName: string, migrationId: string): string => {
  const name = `${repositoryName}-migrating-${migrationId}`;
  return name.length <= MAX_NAME ? name : `encrypted-ecr-migrating-${migrationId}`;
};

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

/** What the repositories hold when a step fails, in words. */
const stateAt = (step: MigrationStep, s: JournalState, cause?: RegistryError): string => {
  const { repositoryName: name, stagingRepositoryName: staging } = s;
  const lifecycle = lifecycleAt(step, s);
  switch (step) {
    case 'freeze':
      return `nothing copied; ${name} is intact and may carry the freeze statement (pushes by others denied)${lifecycle}`;
    case 'snapshot':
    case 'createStaging':
    case 'copyToStaging':
    case 'verifyStaging':
      return `${name} is intact and frozen (pushes, deletes and settings changes by others denied)${lifecycle}; staging ${staging} holds a partial copy or does not exist yet`;
    case 'deleteOriginal':
      return `every image is verified in staging ${staging}; ${name} is intact or deleted${lifecycle}`;
    case 'recreate':
      if (cause?.kind === 'UnexpectedImages') {
        return (
          `${name} is recreated with ${describeEncryption(s.to)} and frozen, but holds ${cause.images.length} image(s) the migration did not copy ` +
          `(pushed by someone else before the freeze took effect: ${cause.images.map((i) => i.imageDigest).join(', ')}); nothing was copied back. ` +
          `Save what you need of them, delete them as the migrating principal, then resume${lifecycle}; every image of the snapshot is in staging ${staging} (verified)`
        );
      }
      return `${name} is deleted, or recreated and not filled yet (a resume checks it holds nothing it did not copy); every image is in staging ${staging} (verified)${lifecycle}`;
    case 'copyBack':
    case 'verifyFinal':
      return `${name} is recreated with ${describeEncryption(s.to)} and partly filled${lifecycle}; every image is in staging ${staging} (verified)`;
    case 'restoreSettings':
      return `${name} holds every image (verified) and is still frozen; its settings are partly restored${lifecycle}; staging ${staging} still exists`;
    case 'deleteStaging':
      return `${name} is complete with its settings restored; staging ${staging} is left to delete`;
  }
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

  #failed(step: MigrationStep, cause: RegistryError): MigrationFailed {
    return {
      kind: 'MigrationFailed',
      migrationId: this.#state.migrationId,
      repositoryName: this.#state.repositoryName,
      stagingRepositoryName: this.#state.stagingRepositoryName,
      step,
      state: stateAt(step, this.#state, cause),
      resume: `registry.resumeMigration({ journal }) with the journal ${this.#journal.description}`,
      journal: this.#journal.description,
      cause,
    };
  }

  #warn(warning: MigrationWarning): void {
    this.#ctx.logger.warn(warning.message, { migrationId: this.#state.migrationId });
    if (!this.#state.warnings.some((w) => w.code === warning.code && w.message === warning.message)) this.#state.warnings.push(warning);
  }

  async run(): Promise<Result<MigrationResult, MigrationFailed>> {
    const state = this.#state;
    for (const step of MIGRATION_STEPS) {
      const previous = state.steps[step];
      if (previous?.status === 'done') continue;
      if (this.#options.signal?.aborted) return err(this.#failed(step, aborted('MigrateRepository')));
      const startedAt = this.#ctx.now();
      state.steps[step] = {
        status: 'started',
        startedAt: startedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        ...(previous?.durationMs !== undefined ? { durationMs: previous.durationMs } : {}),
      };
      const before = await this.#save();
      if (before.isErr()) return err(this.#failed(step, before.error));
      this.#ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'started' });
      this.#emit(step, 'started');

      const outcome = await this.#run(step);
      if (outcome.isErr()) return err(this.#failed(step, outcome.error));

      const finishedAt = this.#ctx.now();
      state.steps[step] = {
        status: 'done',
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        attempts: (previous?.attempts ?? 0) + 1,
        durationMs: (previous?.durationMs ?? 0) + (finishedAt.getTime() - startedAt.getTime()),
      };
      const after = await this.#save();
      if (after.isErr()) return err(this.#failed(step, after.error));
      this.#ctx.logger.info('migration step', { migrationId: state.migrationId, step, status: 'done' });
      this.#emit(step, 'done');
    }
    state.completedAt = this.#ctx.now().toISOString();
    const last = MIGRATION_STEPS[MIGRATION_STEPS.length - 1] ?? 'deleteStaging';
    const saved = await this.#save();
    if (saved.isErr()) return err(this.#failed(last, saved.error));
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
    const policy = frozenPolicy(s.original.settings.repositoryPolicy, s.migrationId, s.exemptPrincipals);
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
      const policy = yield* this.#frozenPolicy();
      yield* this.#retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, name, policy));
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
        // Frozen, so nothing should have changed; if something did, staging lacks it: stop.
        const graph = yield* this.#graph();
        const known = new Set(graph.images.map((i) => i.digest));
        const details = yield* this.#retrying('DescribeImages', () => describeImages(this.#ctx, name));
        const unknown = [...new Set(details.flatMap((d) => (d.imageDigest && !known.has(d.imageDigest) ? [d.imageDigest] : [])))];
        if (unknown.length > 0) {
          const changed: CopyVerificationFailed = {
            kind: 'CopyVerificationFailed',
            repositoryName: s.stagingRepositoryName,
            missingImages: unknown.map((imageDigest) => ({ imageDigest, failureCode: 'PushedAfterSnapshot' })),
            manifestMismatches: [],
            tagMismatches: [],
            missingBlobs: [],
            notCopied: [],
          };
          return err<never, RegistryError>(changed);
        }
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
      if (policy !== undefined) yield* this.#retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, name, policy, true));
      else yield* this.#retrying('DeleteRepositoryPolicy', () => deleteRepositoryPolicy(ctx, name));
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
  const journal = input.journal ?? fileJournal(defaultJournalPath(repositoryName));

  return safeTry(async function* () {
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

    const warnings = yield* registryWarnings(ctx, repositoryName);
    const migrationId = randomBytes(6).toString('hex');
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
    ctx.logger.info('migration starting', { migrationId, repositoryName, from, to, journal: journal.description });
    const result = await new Migration(ctx, journal, state, runOptions(input, false)).run();
    return result.mapErr((e): MigrateRepositoryError => e);
  });
};

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
  return safeTry(async function* () {
    const state = yield* journal.load().mapErr((e): ResumeMigrationError => e);
    if (state === undefined) return err<never, ResumeMigrationError>(invalid('journal', `${journal.description} holds no migration`));
    const region = yield* ctx.region();
    if (region !== state.region) {
      return err<never, ResumeMigrationError>(invalid('journal', `the migration runs in ${state.region}, but this registry's clients use ${region}`));
    }
    if (state.completedAt !== undefined) {
      yield* journal.clear().mapErr((e): ResumeMigrationError => e);
      return ok<MigrationResult, never>(resultOf(state, true, journal.description));
    }
    ctx.logger.info('migration resuming', { migrationId: state.migrationId, repositoryName: state.repositoryName, journal: journal.description });
    const result = await new Migration(ctx, journal, state, runOptions(input, true)).run();
    return result.mapErr((e): ResumeMigrationError => e);
  });
};
