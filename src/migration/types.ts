/**
 * The public types of the migration feature: what `planMigration`, `migrateRepository` and
 * `resumeMigration` take and answer, and the journal a migration is recorded in. The journal's
 * content is opaque ({@link MigrationJournalRecord}); its shape is internal (`./state.ts`).
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { ResultAsync } from 'neverthrow';
import type { JournalFailed, MigrationStep } from '../errors.js';
// ImageTagMutability, RepositoryTag and Finding still live in operations/preflight.ts; another
// change moves them down a layer (src/preflight/ or src/types.ts): adapt this import when it lands.
import type { Finding } from '../preflight/index.js';
import type { ImageTagMutability, RepositoryTag } from '../types.js';
import type { EncryptionDescription, EncryptionSpec } from '../types.js';
import type { ReplicationPlan } from './replication.js';

/** ECR's image states: archived images cannot be pulled until restored. */
export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

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

/** What to plan. */
export interface PlanMigrationInput {
  readonly repositoryName: string;
  /** The encryption the repository should have. */
  readonly encryption: EncryptionSpec;
  /**
   * Whether the migration will restore archived images first (`migrateRepository` takes the same
   * option). Without it, archived images block the migration.
   */
  readonly restoreArchived?: boolean;
  /**
   * ECR clients of other regions, by region (or by `<registryId>/<region>` for a client acting in
   * that account, tried first), to read the repository's replicas in replication destinations
   * there (DescribeRepositories with the destination's `registryId`). The registry's own client
   * serves its region, and a registry that made its own clients (`clientConfig`) makes one for any
   * other region with the same credentials; a destination without a client is reported `unknown`.
   */
  readonly replicaClients?: Readonly<Record<string, ECRClient>>;
  readonly signal?: AbortSignal;
}

/** Why a plan carries a warning. */
export type MigrationWarningCode =
  | 'sameEncryption'
  | 'archivedImages'
  | 'replicationRule'
  | 'creationTemplate'
  | 'pullThroughCacheRule'
  | 'registryReadDenied'
  | 'notPreserved'
  | 'rescanOnPush'
  | 'awsTags'
  | 'lifecyclePolicy'
  | 'danglingReferences'
  | 'externalBlobs'
  | 'freezeWindow'
  | 'grantsRemain'
  | 'journalNotCleared'
  /** A replication rule also covers the staging repository: its images are replicated to the rule's destinations and stay there. */
  | 'stagingReplicated'
  /** A replica of the staging repository in a destination was not deleted (no client, not ours, a failure): delete it there. */
  | 'stagingReplicas'
  /** A replica of the repository keeps an encryption other than the target: migrate it in its destination. */
  | 'replicaWeaker'
  /** The repository policy names principals of deleted users or roles (IAM unique ids); ECR may refuse it back. */
  | 'deletedPrincipals'
  /** ECR refused the saved repository policy; it was restored without the principals of deleted users and roles. */
  | 'repositoryPolicyCleaned'
  /** ECR refused the saved repository policy, and the policy the migrating principal set since then was kept. */
  | 'repositoryPolicyKept';

/** Something worth knowing before migrating; it does not stop the migration. */
export interface MigrationWarning {
  readonly code: MigrationWarningCode;
  readonly message: string;
}

/** One image of the plan (the manifest itself stays out of the plan). */
export interface PlannedImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly mediaType: string | undefined;
  readonly status: ImageStatus;
  /** `index` lists other manifests; `referrer` has a subject; `child` is listed by an index. */
  readonly role: 'index' | 'referrer' | 'child' | 'image';
  readonly pushedAt: string | undefined;
  readonly sizeInBytes: number | undefined;
}

/** API calls a migration will make, by step (an estimate from the graph and ECR's batch limits). */
export interface ApiCallEstimate {
  readonly total: number;
  readonly byStep: Readonly<Record<MigrationStep, number>>;
}

/** What {@link planMigration} finds. */
export interface MigrationPlan {
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly from: EncryptionDescription;
  /** The target with the key by its canonical ARN; `undefined` when the key could not be resolved. */
  readonly to: EncryptionDescription | undefined;
  /** The repository already has this encryption (compared by canonical key ARN): nothing to do. */
  readonly nothingToDo: boolean;
  /** No blocker: `migrateRepository` would go ahead. */
  readonly ready: boolean;
  /** What would stop the migration, in words (each also a preflight finding or a warning). */
  readonly blockers: readonly string[];
  /** Every image by digest, in copy order (children before indexes, subjects before referrers). */
  readonly images: readonly PlannedImage[];
  readonly counts: {
    readonly images: number;
    readonly tagged: number;
    readonly untagged: number;
    readonly indexes: number;
    readonly indexChildren: number;
    readonly referrers: number;
    readonly archived: number;
    readonly tags: number;
  };
  /** Every tag and the digest it points to. */
  readonly tags: readonly { readonly tag: string; readonly digest: string }[];
  readonly blobs: {
    readonly count: number;
    readonly totalBytes: number;
    /** Blobs whose size no manifest gives (Docker v1), not in `totalBytes`. */
    readonly ofUnknownSize: number;
    /** Foreign layers, not stored in the registry: nothing to copy. */
    readonly external: number;
  };
  readonly settings: RepositorySettings;
  /** The target key and permissions, checked exactly as `createEncryptedRepository` checks them. */
  readonly preflight: { readonly ok: boolean; readonly findings: readonly Finding[] };
  readonly estimatedApiCalls: ApiCallEstimate;
  /** Replication: the staging name that escapes the rules, where its copies would appear, and the repository's replicas. */
  readonly replication: ReplicationPlan;
  readonly warnings: readonly MigrationWarning[];
}

declare const journalRecord: unique symbol;

/**
 * One migration's state as a journal stores it: plain JSON, versioned (it carries its format and
 * version), checked field by field whenever it is read back. Opaque: store it as it is
 * (`serializeMigrationJournalRecord`, or `JSON.stringify`) and give it back unchanged from `load`
 * (`parseMigrationJournalRecord` checks text read back); read what it says with
 * `readMigrationJournal`. A journal written by an older version of this library still loads.
 */
export interface MigrationJournalRecord {
  readonly [journalRecord]: 'encrypted-ecr/migration';
}

/** What a journal says about its migration (see `readMigrationJournal`). */
export interface MigrationJournalSummary {
  /** The journal's format version. */
  readonly version: number;
  readonly migrationId: string;
  readonly region: string;
  readonly account: string;
  readonly repositoryName: string;
  readonly stagingRepositoryName: string;
  readonly from: EncryptionDescription;
  readonly to: EncryptionDescription;
  /** ISO times. */
  readonly startedAt: string;
  readonly updatedAt: string;
  /** Set once the last step is done. */
  readonly completedAt: string | undefined;
  /** The steps done, in order. */
  readonly stepsDone: readonly MigrationStep[];
  /** The first step not done yet (where a resume goes on); `undefined` once every step is done. */
  readonly nextStep: MigrationStep | undefined;
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
 *   load: () => loadItem('app').andThen((text) => (text === undefined ? okAsync(undefined) : parseMigrationJournalRecord(text))),
 *   save: (record) => putItem('app', serializeMigrationJournalRecord(record)),
 *   clear: () => deleteItem('app'),
 * };
 * ```
 */
export interface MigrationJournal {
  /** How the journal names itself in messages, e.g. its file path. */
  readonly description: string;
  /** The saved record, or `undefined` when there is none. */
  load(): ResultAsync<MigrationJournalRecord | undefined, JournalFailed>;
  /** Keeps `record` (replacing what was kept); give it back unchanged from `load`. */
  save(record: MigrationJournalRecord): ResultAsync<void, JournalFailed>;
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
  /**
   * Bytes the current copy step uploaded in this process (0 outside copies; blobs found in the
   * target already do not count). `bytesDone` also counts those, and may step back when a blob
   * starts over: a display should never draw less than it drew (see the CLI's progress).
   */
  readonly bytesCopied: number;
  /** Bytes uploaded per second in the current copy step (0 outside copies), averaged since it started. */
  readonly ratePerSecond: number;
  /**
   * Seconds left in the current copy step at that rate; `undefined` until the copy has run 2 s and
   * uploaded 1% of its bytes, at most a day.
   */
  readonly etaSeconds: number | undefined;
  /**
   * Every warning of the migration so far, in the order they arose: those known when it started
   * (e.g. `freezeWindow`) and those its steps raised. A display can show each as it appears,
   * rather than after the end.
   */
  readonly warnings: readonly MigrationWarning[];
}

/**
 * Clients of replication destinations, for a migration whose staging name no replication rule
 * escapes (a rule without filters): the copies replication makes of the staging repository are
 * deleted in each destination after the migration, with these clients; a destination without one
 * is named in a `stagingReplicas` warning instead.
 */
export interface ReplicaClientsInput {
  /**
   * ECR clients by `<registryId>/<region>` (a client acting in that account), or by `<region>`
   * (a client of the registry's own account in another region). Without one, a registry that
   * made its own clients (`clientConfig`) reaches another region of its own account with its
   * own credentials.
   */
  readonly replicaClients?: Readonly<Record<string, ECRClient>>;
  /** KMS clients, keyed the same way: needed to verify the grants of a KMS-encrypted replica before it counts as deleted. */
  readonly replicaKmsClients?: Readonly<Record<string, KMSClient>>;
}

/** What {@link migrateRepository} takes. */
export interface MigrateRepositoryInput extends ReplicaClientsInput {
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
export interface ResumeMigrationInput extends ReplicaClientsInput {
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
  /** Images (by digest), tags, distinct blobs and blob bytes now in the repository, as in the snapshot (all 0 when nothing was done). */
  readonly counts: {
    readonly images: number;
    readonly tags: number;
    readonly blobs: number;
    readonly bytes: number;
  };
  readonly warnings: readonly MigrationWarning[];
  /** Milliseconds each step took (summed over attempts when resumed). */
  readonly steps: Readonly<Partial<Record<MigrationStep, number>>>;
  readonly journal: string;
}

