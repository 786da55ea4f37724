/**
 * The public types of `EncryptedRegistry.migrateRepositories`: many repositories of one account
 * and Region migrated to one encryption, planned first, run with bounded concurrency, recorded in
 * one fleet journal that a later call resumes.
 */
import type { RegistryError } from '../errors.js';
import type { MigrationProgress, MigrationResult } from '../migration/index.js';
import type { EncryptionDescription, EncryptionSpec, EncryptionType } from '../types.js';

/**
 * Which repositories a fleet migration selects. Every field given must hold (AND); an empty filter
 * selects every repository. Staging repositories of migrations (`<name>-migrating-<id>`) are never
 * selected.
 */
export interface RepositoryFilter {
  /** The repository's current encryption type is one of these. */
  readonly encryptionTypes?: readonly EncryptionType[];
  /**
   * The repository is on one of these KMS keys: key ARNs (as ECR reports them), `alias/<name>`,
   * alias ARNs or key ids. Aliases and key ids are resolved to key ARNs once per run with
   * DescribeKey (`alias/aws/ecr` with ListAliases) before selection; one that names no key is
   * `KeyNotFound`. A `KMS` repository whose `kmsKey` ECR leaves out is on `alias/aws/ecr`.
   */
  readonly onKeys?: readonly string[];
  /** The repository is not on one of these KMS keys (the same forms as `onKeys`); an `AES256` repository is on no key. */
  readonly notOnKeys?: readonly string[];
  /**
   * The repository name matches this glob: `*` is any run of characters (`/` included), `?` one
   * character; without a wildcard, the exact name. `team/*` selects every name under `team/`.
   */
  readonly name?: string;
}

/** What `migrateRepositories` takes. */
export interface MigrateRepositoriesInput {
  /** The encryption every selected repository should have; required unless `resume`. */
  readonly encryption?: EncryptionSpec;
  /** Select by filter (`{}` selects all). With `repositoryNames` too, only the named ones that match. */
  readonly where?: RepositoryFilter;
  /** Select these repositories by name (each must exist: a missing one is a failed outcome). */
  readonly repositoryNames?: readonly string[];
  /**
   * The fleet journal file. Default `./.encrypted-ecr-fleet-migration.json`. Each repository's own
   * journal is the default one (`defaultJournalPath(name)`) in the same directory. A run or resume
   * holds its lock (`<journal>.lock`) throughout: another one on the same file is `JournalFailed`
   * (`operation: 'lock'`, `owner`) before any AWS call.
   */
  readonly journal?: string;
  /** Go on with the fleet migration the journal records (its repositories and target); selection and `encryption` are not needed. */
  readonly resume?: boolean;
  /** Plan only: answer the plan, change nothing, write no journal. */
  readonly planOnly?: boolean;
  /** Repositories migrated at once (1–16, default 4). */
  readonly concurrency?: number;
  /** Blobs copied at once within one repository (1–64, default 4). */
  readonly blobConcurrency?: number;
  /** Restore archived images first (as `migrateRepository`). */
  readonly restoreArchived?: boolean;
  readonly onProgress?: (progress: RepositoriesMigrationProgress) => void;
  /** Stops every migration between calls; resume later with `resume: true`. */
  readonly signal?: AbortSignal;
}

/** One repository of the fleet plan. */
export interface PlannedRepositoryMigration {
  readonly repositoryName: string;
  /** The current encryption (`undefined` when the repository could not be planned). */
  readonly from: EncryptionDescription | undefined;
  readonly nothingToDo: boolean;
  readonly ready: boolean;
  readonly blockers: readonly string[];
  readonly images: number;
  readonly bytes: number;
  readonly estimatedApiCalls: number;
  /** Calls to the APIs that have a rate quota (`'ecr:PutImage'` …), estimated. */
  readonly quotaCalls: Readonly<Record<string, number>>;
  /** Why planning it failed (its error kind and message); the others are planned regardless. */
  readonly error?: { readonly kind: string; readonly message: string };
}

/** The fleet plan: what would be migrated, and how long it takes at the rate quotas at the least. */
export interface RepositoriesMigrationPlan {
  readonly region: string;
  /** The target as given. */
  readonly encryption: EncryptionSpec;
  readonly repositories: readonly PlannedRepositoryMigration[];
  readonly totals: {
    readonly repositories: number;
    /** Ready to migrate. */
    readonly toMigrate: number;
    readonly nothingToDo: number;
    /** Blocked or not plannable: they will fail. */
    readonly blocked: number;
    readonly images: number;
    readonly bytes: number;
    readonly estimatedApiCalls: number;
  };
  /**
   * The API whose quota binds the whole run (most calls per allowed request per second), its
   * calls and quota, and the least duration those calls take at the quota.
   */
  readonly bindingQuota: { readonly api: string; readonly calls: number; readonly perSecond: number } | undefined;
  /** Seconds the run takes at the least at the quotas in force (`EncryptedRegistryOptions.rateQuotas`, else AWS's defaults). */
  readonly estimatedSeconds: number;
}

/** Where one repository of the fleet is. */
export type RepositoryMigrationStatus = 'pending' | 'running' | 'migrated' | 'unchanged' | 'failed';

/** One repository's outcome. */
export interface RepositoryMigrationOutcome {
  readonly repositoryName: string;
  /** `pending`: not run (stopped before it, or a plan only). */
  readonly status: RepositoryMigrationStatus;
  /** Its own migration journal (resume it alone with `resumeMigration`). */
  readonly journal: string;
  /**
   * How many times this call ran its migration: 1, or more when it failed on a transient error
   * (throttled after the SDK's retries, a 5xx, no answer, a blob transfer failing so) and the
   * fleet resumed it from the failed step (at most 3 in all). Absent when it did not run here.
   */
  readonly attempts?: number;
  readonly result?: MigrationResult;
  readonly error?: RegistryError;
}

/** What `migrateRepositories` answers. */
export interface RepositoriesMigrationResult {
  /** The fleet journal (removed when every repository finished without failure). */
  readonly journal: string;
  readonly resumed: boolean;
  readonly planOnly: boolean;
  readonly plan: RepositoriesMigrationPlan;
  readonly repositories: readonly RepositoryMigrationOutcome[];
  readonly totals: { readonly migrated: number; readonly unchanged: number; readonly failed: number; readonly pending: number };
}

/** The fleet's progress, one callback for all repositories. */
export interface RepositoriesMigrationProgress {
  readonly repositoriesDone: number;
  readonly repositoriesTotal: number;
  readonly failed: number;
  /** Repositories being migrated now. */
  readonly running: readonly string[];
  /** Bytes copied by the fleet (both copies of a migration count: to staging and back). */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The repository this update is about, and its own progress when a step moved. */
  readonly repositoryName: string | undefined;
  readonly migration: MigrationProgress | undefined;
}
