/**
 * What every step is given: the migration run (its context, its state as the journal records
 * it, its options, what this process verified itself) and the run's services (save the journal,
 * retry a call, report progress, add a warning). A step is a function of it; the engine runs the
 * table of steps in `./index.ts`.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { KMSClient } from '@aws-sdk/client-kms';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { Aborted, InvalidInput, JournalFailed, MigrationStep, RegistryError } from '../../errors.js';
import type { RegistryContext } from '../../internal/context.js';
import type { RetryPolicy } from '../../internal/wait.js';
import type { EncryptionDescription, EncryptionSpec } from '../../types.js';
import type { CopyProgress } from '../copy.js';
import type { EstablishedTarget } from '../../preflight/index.js';
import { frozenPolicy } from '../../policy/index.js';
import { freezeBaseOf } from '../policy-restore.js';
import type { ImageGraph } from '../snapshot.js';
import type { CopyRecord, JournalState } from '../state.js';
import type { MigrationProgress, MigrationWarning } from '../types.js';

export interface RunOptions {
  readonly concurrency: number;
  readonly onProgress: ((progress: MigrationProgress) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  readonly resumed: boolean;
  readonly retry: RetryPolicy;
  /**
   * The target the start's preflight established in this process (key by its canonical ARN, the
   * caller): the creations of this run do not check the key again. A resumed run has none and
   * preflights its first creation in full.
   */
  readonly established: EstablishedTarget | undefined;
  /** Clients of replication destinations (see `MigrateRepositoryInput.replicaClients`), to remove the staging repository's replicas. */
  readonly replicas: ReplicaClients;
}

/** ECR and KMS clients of replication destinations, by `<registryId>/<region>` or `<region>`. */
interface ReplicaClients {
  readonly ecr: Readonly<Record<string, ECRClient>>;
  readonly kms: Readonly<Record<string, KMSClient>>;
}

/** Proof that a repository was verified against the snapshot by this process. */
export type Verified = 'staging' | 'final';

export type StepResult = ResultAsync<void, RegistryError>;

/** One migration as it runs in this process (the engine implements it). */
export interface MigrationRun {
  readonly ctx: RegistryContext;
  /** The state the journal records; steps update it, and save it before what must survive a crash. */
  readonly state: JournalState;
  readonly options: RunOptions;
  /** What this process verified itself: deletions require it (never a record from an earlier process alone). */
  readonly verified: Set<Verified>;
  /** The repositories this process created itself, with the settings the creation took (tags, scanning, mutability). */
  readonly created: Set<Verified>;
  /** Saves the state as it is when the write starts; writes never overlap. */
  save(): ResultAsync<void, JournalFailed>;
  /** Progress records are an optimisation (a copy re-checks the target): they may coalesce. */
  saveProgress(): ResultAsync<void, JournalFailed>;
  /**
   * `attempt`, stopped by the run's signal (an abort answers `Aborted`). The SDK retries API calls;
   * this retries again, within the run's retry policy, only what `retriedBeyondSdk` names.
   */
  retrying<T, E extends RegistryError>(operation: string, attempt: () => ResultAsync<T, E>): ResultAsync<T, E | Aborted>;
  emit(step: MigrationStep, status: MigrationProgress['status'], copy?: CopyProgress): void;
  /** Logs a warning and adds it to the journal (once). */
  warn(warning: MigrationWarning): void;
}

/** One step of the migration: repeatable, and safe to run again after a crash at any point. */
export type Step = (run: MigrationRun) => StepResult;

export const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

/** The spec that recreates a described encryption: the key by its canonical ARN, `aws/ecr` as ECR's default. */
export const specOf = (to: EncryptionDescription): EncryptionSpec => {
  if (to.type === 'AES256') return 'AES256';
  if (to.awsManagedKey === true || to.keyArn === undefined) return { type: to.type };
  return { type: to.type, key: to.keyArn };
};

/** The policy with this migration's freeze statement. */
export const frozenPolicyOf = (s: JournalState): ResultAsync<string, InvalidInput> => {
  // Built on the saved policy without principals of deleted users and roles, which ECR may refuse.
  const policy = frozenPolicy(freezeBaseOf(s.original.settings.repositoryPolicy), s.migrationId, s.exemptPrincipals);
  return policy.isOk() ? okAsync(policy.value) : errAsync(policy.error);
};

/** The snapshot, which the snapshot step records before any later step can run. */
export const snapshotOf = (s: JournalState): ResultAsync<ImageGraph, InvalidInput> => {
  const graph = s.snapshot;
  return graph === undefined ? errAsync(invalid('journal', 'the journal has no snapshot although the snapshot step is done')) : okAsync(graph);
};

/** The copy record of a target repository. */
export const recordFor = (s: JournalState, which: Verified): CopyRecord => (which === 'staging' ? s.staging : s.final);
