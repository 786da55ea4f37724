/**
 * The shape of a migration's state, internal: what the journal records (format
 * `encrypted-ecr/migration`, version 1) and the engine reads and updates. Users see it only as an
 * opaque {@link MigrationJournalRecord}; `./journal-schema.ts` checks it field by field on load.
 */
import type { MigrationStep } from '../errors.js';
import type { EncryptionDescription } from '../types.js';
import type { ImageGraph } from './snapshot.js';
import type { MigrationJournalRecord, MigrationWarning, RepositorySettings } from './types.js';

/** The format a journal carries, and the version this library writes (and reads). */
export const JOURNAL_FORMAT = 'encrypted-ecr/migration';
export const JOURNAL_VERSION = 1;

/** One step as the journal records it. */
interface StepRecord {
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
  readonly format: typeof JOURNAL_FORMAT;
  readonly version: typeof JOURNAL_VERSION;
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

/** The opaque record of a state (the same JSON value: nothing is copied). */
export const recordOf = (state: JournalState): MigrationJournalRecord => state as unknown as MigrationJournalRecord;

/**
 * The state of a record. Only for a record this library made, or one checked by
 * `./journal-schema.ts` (a guarded journal's `load` answers states directly).
 */
export const stateOf = (record: MigrationJournalRecord): JournalState => record as unknown as JournalState;
