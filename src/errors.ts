/**
 * Every expected failure of `encrypted-ecr` is a value of {@link RegistryError}: a plain readonly
 * object discriminated by `kind`. Operations return them inside a neverthrow `ResultAsync`; nothing
 * here is thrown. Where an AWS call failed, the SDK's own exception is kept as `cause`.
 *
 * Adding a variant is an API change for callers that switch exhaustively on `kind`: the CHANGELOG
 * says so whenever it happens.
 *
 * @packageDocumentation
 */
import type { EncryptionDescription } from './types.js';

/** The AWS service a failure came from. */
export type AwsService = 'ecr' | 'kms' | 'iam' | 'sts' | 's3' | 'organizations' | 'account';

/** Fields shared by every variant that came back from an AWS call. */
export interface AwsFailure {
  readonly service: AwsService;
  /** The SDK operation, e.g. `CreateRepository`. */
  readonly operation: string;
  /** What the SDK client threw: keeps `stack`, `$metadata` and `$response`. */
  readonly cause: unknown;
}

// ---------------------------------------------------------------------------------------------
// Input (always reported before any AWS call)
// ---------------------------------------------------------------------------------------------

/** The repository name breaks ECR's rules (pattern, 2–256 characters). */
export interface InvalidRepositoryName {
  readonly kind: 'InvalidRepositoryName';
  readonly repositoryName: string;
  readonly reason: string;
}

/** The encryption spec is malformed: unknown type, or a key reference that is no key id, ARN or alias. */
export interface InvalidEncryption {
  readonly kind: 'InvalidEncryption';
  readonly reason: string;
  /** The key reference as given, when the key is what is wrong. */
  readonly key?: string;
}

/** Any other input that cannot be right (a tag, a policy document, a concurrency, a journal). */
export interface InvalidInput {
  readonly kind: 'InvalidInput';
  /** The input field, e.g. `tags[3].Key` or `lifecyclePolicy`. */
  readonly field: string;
  readonly reason: string;
}

/**
 * A custom endpoint over plain `http://` that is not loopback: layers and signed requests travel
 * over TLS only, unless the registry was built with `allowInsecureHttp: true`.
 */
export interface InsecureEndpoint {
  readonly kind: 'InsecureEndpoint';
  readonly endpoint: string;
}

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** DescribeKey found no such key (or alias) in the region. */
export interface KeyNotFound extends AwsFailure {
  readonly kind: 'KeyNotFound';
  /** The key reference as given. */
  readonly key: string;
}

/** Why a key cannot encrypt an ECR repository. */
export type KeyNotUsableReason =
  | 'Disabled'
  | 'PendingDeletion'
  | 'PendingImport'
  | 'Unavailable'
  | 'Creating'
  | 'Updating'
  | 'WrongKeyUsage'
  | 'WrongKeySpec';

/** The key exists but ECR cannot use it: its state, usage or spec is wrong. */
export interface KeyNotUsable {
  readonly kind: 'KeyNotUsable';
  readonly keyArn: string;
  readonly reason: KeyNotUsableReason;
  /** A sentence for humans, e.g. `key is pending deletion on 2026-12-01`. */
  readonly detail: string;
}

/** The key lives in another region than the repository (ECR requires the same region). */
export interface KeyRegionMismatch {
  readonly kind: 'KeyRegionMismatch';
  readonly keyArn: string;
  readonly keyRegion: string;
  readonly repositoryRegion: string;
}

/** The customer-managed key has no room for the two grants ECR creates per repository. */
export interface KeyGrantQuotaExhausted {
  readonly kind: 'KeyGrantQuotaExhausted';
  readonly keyArn: string;
  readonly grantCount: number;
  readonly quota: number;
}

/** KMS refused a call that ECR made on the caller's behalf (ECR `KmsException`). */
export interface KmsRefused extends AwsFailure {
  readonly kind: 'KmsRefused';
  /** The KMS error code ECR passed on (`KmsException.kmsError`), when it did. */
  readonly kmsError: string | undefined;
  readonly message: string;
}

// ---------------------------------------------------------------------------------------------
// Permissions, throttling and transport (any AWS step can return these)
// ---------------------------------------------------------------------------------------------

/** The principal lacks permissions an operation needs, found before anything was changed. */
export interface MissingPermissions {
  readonly kind: 'MissingPermissions';
  readonly principalArn: string;
  /** The IAM actions that are not allowed, e.g. `kms:RetireGrant`. */
  readonly actions: readonly string[];
  /** How it was found: IAM's policy simulator, or our evaluation of the key policy. */
  readonly source: 'iam-simulation' | 'key-policy';
}

/** AWS answered that the caller is not allowed to make this call. */
export interface AccessDenied extends AwsFailure {
  readonly kind: 'AccessDenied';
  readonly message: string;
}

/** Still throttled after the SDK's own retries. Safe to retry later. */
export interface Throttled extends AwsFailure {
  readonly kind: 'Throttled';
}

/**
 * Why credentials failed, from the error's name (the fixes differ):
 * - `missing`: the SDK found none to sign with (`CredentialsProviderError`, `TokenProviderError`:
 *   its provider chain "could not load credentials from any providers", or the configured
 *   provider failed), or AWS answered `MissingAuthenticationToken`;
 * - `expired`: session credentials past their expiry (`ExpiredToken`, `ExpiredTokenException`);
 * - `rejected`: AWS does not accept them (`UnrecognizedClientException`, `InvalidClientTokenId`,
 *   `InvalidAccessKeyId`, `InvalidSignatureException`, `SignatureDoesNotMatch`,
 *   `IncompleteSignature`): an unknown or deactivated key, a wrong secret, a clock far off.
 */
export type CredentialsProblem = 'missing' | 'expired' | 'rejected';

/** The credentials are missing, expired or not recognised (`reason` says which). */
export interface CredentialsError extends AwsFailure {
  readonly kind: 'CredentialsError';
  readonly reason: CredentialsProblem;
  readonly message: string;
}

/** An error the service answered with that this library does not model (see `name`). */
export interface AwsServiceError extends AwsFailure {
  readonly kind: 'AwsServiceError';
  readonly name: string;
  readonly message: string;
  readonly fault: 'client' | 'server';
  readonly httpStatusCode: number | undefined;
  readonly requestId: string | undefined;
}

/** No answer from the service: connection refused or reset, DNS, timeout. Retryable. */
export interface NetworkError extends AwsFailure {
  readonly kind: 'NetworkError';
  readonly message: string;
}

/** The SDK failed before sending anything (no region configured, a client-side validation). */
export interface SdkClientError extends AwsFailure {
  readonly kind: 'SdkClientError';
  readonly message: string;
}

/**
 * A call answered without what the library needs from it: no output at all (an unstubbed
 * aws-sdk-client-mock command answers `undefined`), or an output lacking a field the library reads
 * (e.g. `Grants` from ListGrants). Nothing is decided on a partial answer. Not retryable: the same
 * call is expected to answer the same way; with mocked clients, stub the named command.
 */
export interface UnexpectedResponse {
  readonly kind: 'UnexpectedResponse';
  readonly service: AwsService;
  /** The SDK operation whose answer was wrong, e.g. `ListGrants`. */
  readonly operation: string;
  readonly message: string;
  /** The field that was missing or malformed (e.g. `Grants`); absent when the whole output was. */
  readonly missing?: string;
}

// ---------------------------------------------------------------------------------------------
// Repositories
// ---------------------------------------------------------------------------------------------

/** A repository of that name exists (and idempotency could not apply). */
export interface RepositoryAlreadyExists extends AwsFailure {
  readonly kind: 'RepositoryAlreadyExists';
  readonly repositoryName: string;
}

/** No repository of that name in the registry. */
export interface RepositoryNotFound {
  readonly kind: 'RepositoryNotFound';
  readonly repositoryName: string;
  readonly cause?: unknown;
}

/** The repository holds images and `force` was not given: nothing was deleted. */
export interface RepositoryNotEmpty {
  readonly kind: 'RepositoryNotEmpty';
  readonly repositoryName: string;
  readonly imageCount: number;
}

/**
 * The repository exists with another encryption. ECR cannot change encryption in place: use
 * `migrateRepository` to recreate it under the same name without losing an image.
 */
export interface EncryptionMismatch {
  readonly kind: 'EncryptionMismatch';
  readonly repositoryName: string;
  readonly existing: EncryptionDescription;
  readonly requested: EncryptionDescription;
  readonly remedy: 'migrateRepository';
}

/**
 * The repository is deleted, but grants ECR created for it are still on the key (ECR retires them
 * with the deleter's credentials). Retire them with `retireOrphanedGrants` as a principal that has
 * `kms:RetireGrant` in an IAM policy.
 */
export interface DeletedButGrantsRemain {
  readonly kind: 'DeletedButGrantsRemain';
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly keyArn: string;
  readonly grantIds: readonly string[];
  /** The permission the deleting principal lacks, when that is the reason. */
  readonly missingPermission: 'kms:RetireGrant' | undefined;
  /** Why the grants could not be retired here, when a call failed. */
  readonly cause: unknown;
}

/** A step failed and undoing the earlier steps failed too: both are reported. */
export interface RollbackFailed {
  readonly kind: 'RollbackFailed';
  readonly original: RegistryError;
  readonly rollbackErrors: readonly RegistryError[];
}

// ---------------------------------------------------------------------------------------------
// Copying images (snapshot, copy, verify)
// ---------------------------------------------------------------------------------------------

/** An image as a copy reports it: its digest, and its tags, if it has some. */
export interface ImageRef {
  readonly imageDigest: string;
  readonly imageTags: readonly string[];
}

/**
 * The repository holds images that are archived (or being restored): they cannot be pulled, so
 * they cannot be copied. Restore them (`UpdateImageStorageClass` to `STANDARD`) and wait until
 * they are `ACTIVE`, then take a new snapshot. Nothing was copied.
 */
export interface ImagesArchived {
  readonly kind: 'ImagesArchived';
  readonly repositoryName: string;
  readonly images: readonly (ImageRef & { readonly status: 'ARCHIVED' | 'ACTIVATING' })[];
}

/** One image ECR could not return (a `BatchGetImage` failure, or `ImageNotFoundException`). */
export interface ImageFailure {
  readonly imageDigest: string | undefined;
  readonly imageTag: string | undefined;
  /** ECR's failure code, e.g. `ImageNotFound`, `KmsError`, `ImageInaccessible`. */
  readonly failureCode: string;
  readonly failureReason: string | undefined;
}

/** ECR listed images whose manifests it then could not return. */
export interface ImagesUnavailable {
  readonly kind: 'ImagesUnavailable';
  readonly repositoryName: string;
  readonly failures: readonly ImageFailure[];
  /** The SDK exception, when ECR threw rather than listing failures. */
  readonly cause?: unknown;
}

/**
 * Bytes did not hash to the digest they were copied as. For a blob this is found while streaming,
 * before `CompleteLayerUpload`, so nothing was committed under the wrong digest.
 */
export interface DigestMismatch {
  readonly kind: 'DigestMismatch';
  readonly repositoryName: string;
  readonly subject: 'blob' | 'manifest';
  readonly expected: string;
  readonly actual: string;
}

/** Why and where moving one blob failed (after retries, when the failure was transient). */
export interface LayerTransferFailed {
  readonly kind: 'LayerTransferFailed';
  /** The repository of the failing step: the source for `locate`/`download`, the target otherwise. */
  readonly repositoryName: string;
  readonly layerDigest: string;
  readonly stage: 'locate' | 'download' | 'upload' | 'complete';
  /** The ECR exception name or HTTP status, e.g. `LayersNotFoundException`, `HTTP 404`. */
  readonly reason: string;
  readonly message: string;
  readonly cause: unknown;
}

/** Why ECR refused a manifest in `PutImage`. */
export type ManifestRejectedReason =
  | 'LayersNotFound'
  | 'ReferencedImagesNotFound'
  | 'ImageTagAlreadyExists'
  | 'ImageDigestDoesNotMatch'
  | 'InvalidParameter'
  | 'LimitExceeded';

/** ECR refused to store a manifest (or to tag it). */
export interface ManifestRejected extends AwsFailure {
  readonly kind: 'ManifestRejected';
  readonly repositoryName: string;
  readonly imageDigest: string;
  /** The tag being applied, when the refused call carried one. */
  readonly imageTag: string | undefined;
  readonly reason: ManifestRejectedReason;
  readonly message: string;
}

/** A manifest whose bytes or media type differ between the snapshot and the target. */
export interface ManifestDifference {
  readonly imageDigest: string;
  readonly expectedMediaType: string | undefined;
  readonly actualMediaType: string | undefined;
  readonly bytesDiffer: boolean;
}

/** A tag that is missing in the target, or points to another digest. */
export interface TagDifference {
  readonly tag: string;
  /** The digest the snapshot has the tag on; `undefined` when the snapshot does not have the tag (it was added since). */
  readonly expected: string | undefined;
  /** The digest the tag points to in the target, or `undefined` when the tag is absent. */
  readonly actual: string | undefined;
}

/** A blob the target does not hold as `AVAILABLE`. */
export interface BlobDifference {
  readonly layerDigest: string;
  /** `UNAVAILABLE`, `ARCHIVED`, or the failure code ECR answered with. */
  readonly availability: string;
}

/** The target does not match the snapshot: every difference is listed. */
export interface CopyVerificationFailed {
  readonly kind: 'CopyVerificationFailed';
  readonly repositoryName: string;
  /** Digests absent from the target, or that ECR could not return (with the failure code). */
  readonly missingImages: readonly { readonly imageDigest: string; readonly failureCode: string }[];
  readonly manifestMismatches: readonly ManifestDifference[];
  readonly tagMismatches: readonly TagDifference[];
  readonly missingBlobs: readonly BlobDifference[];
  /** Images the snapshot could not copy because they were archived in the source. */
  readonly notCopied: readonly string[];
}

/**
 * The repository a migration recreated holds images it did not copy. It exists for a moment
 * before its freeze statement is in place (ECR takes a repository policy only after
 * `CreateRepository`); a push by someone else in that moment lands (as would images in a
 * repository someone else created under the name while it was free), and is found once the freeze
 * is in place, before anything is copied back. The migration stops rather than keep the images
 * (they are not in the snapshot) or drop them: save what you need, delete them as the migrating
 * principal (the freeze denies it to everyone else), and resume.
 */
export interface UnexpectedImages {
  readonly kind: 'UnexpectedImages';
  readonly repositoryName: string;
  /** Every image found, with its tags and push time. */
  readonly images: readonly (ImageRef & { readonly pushedAt: string | undefined })[];
}

/** The caller aborted the operation (its `AbortSignal` fired). Re-running it resumes. */
export interface Aborted {
  readonly kind: 'Aborted';
  readonly operation: string;
}

// ---------------------------------------------------------------------------------------------
// Migration (planMigration, migrateRepository, resumeMigration)
// ---------------------------------------------------------------------------------------------

/** The steps of a migration, in the order they run: the one list, from which {@link MigrationStep} is derived. */
export const MIGRATION_STEPS = [
  'freeze',
  'snapshot',
  'createStaging',
  'copyToStaging',
  'verifyStaging',
  'deleteOriginal',
  'recreate',
  'copyBack',
  'verifyFinal',
  'restoreSettings',
  'deleteStaging',
] as const;

/** One step of a migration (see {@link MIGRATION_STEPS} for their order). */
export type MigrationStep = (typeof MIGRATION_STEPS)[number];

/** The migration journal could not be read, written or cleared (or holds something else). */
export interface JournalFailed {
  readonly kind: 'JournalFailed';
  /**
   * `lock`: the journal's lock could not be taken. A migration journal's lock held by another
   * process is `MigrationInProgress`; a fleet journal's (`migrateRepositories`) is this, with `owner`.
   */
  readonly operation: 'load' | 'save' | 'clear' | 'lock';
  /** The journal, as it describes itself (e.g. its file path). */
  readonly journal: string;
  readonly reason: string;
  /** Who holds the journal's lock, when that is why it failed. */
  readonly owner?: JournalLockOwner;
  readonly cause?: unknown;
}

/** The process that holds a journal's lock (as its lock file records it). */
export interface JournalLockOwner {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the lock was taken. */
  readonly startedAt: string;
}

/** What a repository looked like when a migration stopped (checked then, not remembered). */
export type ObservedRepository =
  /** It does not exist. */
  | 'absent'
  /** The incarnation the migration started from (same creation time). */
  | 'original'
  /** The incarnation the migration created (same creation time as the journal records). */
  | 'recreated'
  /** Another incarnation: someone else deleted and created the name. */
  | 'other'
  /** Exists (for staging: carries this migration's id). */
  | 'present'
  /** It could not be checked (the check failed too). */
  | 'unknown';

/**
 * A migration of this repository (or recorded in this journal) is unfinished: finish it with
 * `resumeMigration({ journal })` before starting another.
 */
export interface MigrationInProgress {
  readonly kind: 'MigrationInProgress';
  readonly repositoryName: string;
  /** The unfinished migration's id, when known (from the journal or the freeze statement). */
  readonly migrationId: string | undefined;
  /**
   * Where it was found: a journal holding it, the freeze statement on the repository, or the
   * journal's lock, held by another live process (`owner`).
   */
  readonly foundIn: 'journal' | 'repositoryPolicy' | 'journalLock';
  readonly journal: string | undefined;
  /** The process holding the journal's lock (`foundIn: 'journalLock'`). */
  readonly owner?: JournalLockOwner;
}

/**
 * ECR refused to take back the repository policy saved before the migration, also without the
 * principals of deleted users and roles. The repository is complete and verified but STILL FROZEN
 * (its policy is the saved one plus the migration's Deny statement): only the migrating principal
 * can change it. To finish: set the policy you want (for example `savedPolicy` corrected, or none)
 * as the migrating principal, which removes the freeze, then resume: a resume keeps a policy that
 * no longer carries the freeze.
 */
export interface RepositoryPolicyRefused {
  readonly kind: 'RepositoryPolicyRefused';
  readonly repositoryName: string;
  /** The policy the repository had before the migration, exactly as saved in the journal. */
  readonly savedPolicy: string;
  /** The last text tried when it differs from `savedPolicy` (without deleted principals). */
  readonly attemptedPolicy: string | undefined;
  /** AWS's reason, e.g. `Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'`. */
  readonly reason: string;
  /** Always true: the freeze statement is still in force. */
  readonly stillFrozen: true;
}

/**
 * A migration stopped after it had changed something. Nothing is rolled back: the journal records
 * where it is, `state` says what holds the images now, and `resumeMigration({ journal })` goes on
 * from the failed step (repeating a step is harmless).
 */
export interface MigrationFailed {
  readonly kind: 'MigrationFailed';
  readonly migrationId: string;
  readonly repositoryName: string;
  readonly stagingRepositoryName: string;
  /** The step that failed. */
  readonly step: MigrationStep;
  /** What the repositories hold now, e.g. `original deleted; every image is in staging app-migrating-1a2b (verified)`. */
  readonly state: string;
  /** How to go on, e.g. `registry.resumeMigration({ journal: fileJournal('/tmp/app.json') })`. */
  readonly resume: string;
  readonly journal: string;
  /** Why the step failed. */
  readonly cause: RegistryError;
  /**
   * What the repositories were found to be when the step failed (checked then; `state` says the
   * same in words). `originalFrozen`: whether the repository under the original name carries this
   * migration's freeze statement (`undefined` when it could not be checked or does not exist).
   */
  readonly observed: {
    readonly repository: ObservedRepository;
    readonly originalFrozen: boolean | undefined;
    readonly staging: ObservedRepository;
  };
}

// ---------------------------------------------------------------------------------------------
// The union and the per-operation aliases
// ---------------------------------------------------------------------------------------------

/** Every expected failure this library returns. */
export type RegistryError =
  | InvalidRepositoryName
  | InvalidEncryption
  | InvalidInput
  | InsecureEndpoint
  | KeyNotFound
  | KeyNotUsable
  | KeyRegionMismatch
  | KeyGrantQuotaExhausted
  | KmsRefused
  | MissingPermissions
  | AccessDenied
  | Throttled
  | CredentialsError
  | AwsServiceError
  | NetworkError
  | SdkClientError
  | UnexpectedResponse
  | RepositoryAlreadyExists
  | RepositoryNotFound
  | RepositoryNotEmpty
  | EncryptionMismatch
  | DeletedButGrantsRemain
  | RollbackFailed
  | ImagesArchived
  | ImagesUnavailable
  | DigestMismatch
  | LayerTransferFailed
  | ManifestRejected
  | CopyVerificationFailed
  | UnexpectedImages
  | RepositoryPolicyRefused
  | Aborted
  | JournalFailed
  | MigrationInProgress
  | MigrationFailed;

/** The `kind` of every {@link RegistryError}. */
export type RegistryErrorKind = RegistryError['kind'];

/**
 * Failures any AWS call can produce, whatever the operation: every operation takes a `signal`, and
 * every answer is checked (`UnexpectedResponse`).
 */
export type GenericAwsError =
  | AccessDenied
  | Throttled
  | CredentialsError
  | AwsServiceError
  | NetworkError
  | SdkClientError
  | UnexpectedResponse
  | Aborted;

/** Failures of a key reference that DescribeKey resolved, or could not. */
export type KeyError = KeyNotFound | KeyNotUsable | KeyRegionMismatch | KeyGrantQuotaExhausted;

/**
 * Everything `createEncryptedRepository` can return. `RepositoryNotFound` only when someone deletes
 * the new repository while its settings are being applied.
 */
export type CreateEncryptedRepositoryError =
  | InvalidRepositoryName
  | InvalidEncryption
  | InvalidInput
  | InsecureEndpoint
  | KeyError
  | KmsRefused
  | MissingPermissions
  | RepositoryAlreadyExists
  | RepositoryNotFound
  | EncryptionMismatch
  | RollbackFailed
  | GenericAwsError;

/**
 * Everything `ensureCreationTemplate` can return: bad input before any call, the key checks of a
 * creation (`KeyError`), the custom role's or the caller's `MissingPermissions`, and the generic
 * AWS kinds (`UnexpectedResponse` when ECR answers a template other than the one written).
 */
export type EnsureCreationTemplateError =
  | InvalidEncryption
  | InvalidInput
  | InsecureEndpoint
  | KeyError
  | MissingPermissions
  | Aborted
  | GenericAwsError;

/** Everything `listCreationTemplates` can return. */
export type ListCreationTemplatesError = InvalidInput | InsecureEndpoint | Aborted | GenericAwsError;

/** What stops `preflight` from running at all (the checks themselves come back as findings). */
export type PreflightError = InvalidInput | InsecureEndpoint | GenericAwsError;

/**
 * Everything `deleteRepository` can return. `MigrationInProgress` when the repository carries a
 * migration's freeze statement (nothing deleted). A generic AWS error from DeleteRepository itself
 * is returned only after DescribeRepositories still found the repository (or could not tell).
 */
export type DeleteRepositoryError =
  | InvalidRepositoryName
  | InvalidInput
  | InsecureEndpoint
  | RepositoryNotFound
  | RepositoryNotEmpty
  | KmsRefused
  | DeletedButGrantsRemain
  | MigrationInProgress
  | GenericAwsError;

/** Everything `findOrphanedGrants` can return. */
export type FindOrphanedGrantsError = InvalidInput | InsecureEndpoint | KeyNotFound | GenericAwsError;

/** Everything `retireOrphanedGrants` can return. */
export type RetireOrphanedGrantsError = FindOrphanedGrantsError;

/** Everything taking an image snapshot of a repository can return. */
export type SnapshotImagesError = InsecureEndpoint | RepositoryNotFound | ImagesUnavailable | Aborted | GenericAwsError;

/** Everything copying a snapshot's images into another repository can return. */
export type CopyImagesError =
  | InvalidInput
  | InsecureEndpoint
  | RepositoryNotFound
  | ImagesArchived
  | DigestMismatch
  | LayerTransferFailed
  | ManifestRejected
  | KmsRefused
  | Aborted
  | GenericAwsError;

/** Everything verifying a copy against its snapshot can return. */
export type VerifyCopyError = InsecureEndpoint | RepositoryNotFound | CopyVerificationFailed | Aborted | GenericAwsError;

/** Everything `audit` can return (a non-compliant repository is a finding of the report, not an error). */
export type AuditError = InvalidInput | InsecureEndpoint | KeyNotFound | GenericAwsError;

/**
 * What stops a fleet sweep (`EncryptedFleet`) as a whole: its options, the caller's identity, or
 * the list of the organization's accounts. A failure in one account or region is not an error: it is
 * a failed target of the report. `SdkClientError` when an optional client package is not installed.
 */
export type FleetError = InvalidInput | InsecureEndpoint | GenericAwsError;

/** Everything `planMigration` can return (the findings themselves come back in the plan). */
export type PlanMigrationError =
  | InvalidRepositoryName
  | InvalidEncryption
  | InvalidInput
  | InsecureEndpoint
  | RepositoryNotFound
  | ImagesUnavailable
  | Aborted
  | GenericAwsError;

/**
 * Everything `migrateRepository` can return. Errors other than `MigrationFailed` are returned
 * before anything was changed; once something changed, every failure is `MigrationFailed`.
 */
export type MigrateRepositoryError =
  | InvalidRepositoryName
  | InvalidEncryption
  | InvalidInput
  | InsecureEndpoint
  | RepositoryNotFound
  | ImagesArchived
  | ImagesUnavailable
  | KeyError
  | MissingPermissions
  | JournalFailed
  | MigrationInProgress
  | MigrationFailed
  | Aborted
  | GenericAwsError;

/** Everything `resumeMigration` can return: once the journal is read, every failure is `MigrationFailed`. */
export type ResumeMigrationError = InvalidInput | InsecureEndpoint | JournalFailed | MigrationInProgress | MigrationFailed | Aborted | GenericAwsError;

/**
 * Everything `migrateRepositories` can return (each repository's own failure is its outcome, not an
 * error): `KeyNotFound` for a `where` key alias or key id that names no key; `JournalFailed`
 * (`operation: 'lock'`, `owner`) when another process runs the same fleet journal.
 */
export type MigrateRepositoriesError =
  | InvalidInput
  | InvalidEncryption
  | InvalidRepositoryName
  | InsecureEndpoint
  | KeyNotFound
  | JournalFailed
  | Aborted
  | GenericAwsError;

// ---------------------------------------------------------------------------------------------
// The one table of kinds: category (what to do, and the CLI's exit code), retryability, summary
// ---------------------------------------------------------------------------------------------

/**
 * What an error means for the caller, one per kind (see {@link ERROR_KINDS}). The CLI's exit code
 * is a function of the category alone; `retryable` is the one category {@link isRetryable} accepts.
 * - `usage`: the input (or the environment: no region, an unreadable journal) cannot be right; fix it.
 * - `notFound`: the repository or key does not exist.
 * - `conflict`: the state of the repositories conflicts with the request.
 * - `permissions`: permissions or credentials.
 * - `key`: the KMS key cannot be used.
 * - `retryable`: the same call may succeed later, unchanged (throttling, no answer, a 5xx).
 * - `partial`: something was done and something was not: read the error, then finish or resume.
 * - `interrupted`: the caller's `AbortSignal` fired.
 * - `unexpected`: an answer the library does not model.
 */
export type ErrorCategory = 'usage' | 'notFound' | 'conflict' | 'permissions' | 'key' | 'retryable' | 'partial' | 'interrupted' | 'unexpected';

/**
 * The KMS error codes (as ECR passes them on in `KmsException.kmsError`) that a later try may not
 * meet: KMS's request-rate throttling, and the two faults KMS's API reference says "can be
 * retried" / "You can retry the request".
 */
const TRANSIENT_KMS_ERRORS: ReadonlySet<string> = new Set(['ThrottlingException', 'KMSInternalException', 'DependencyTimeoutException']);

/** One row of {@link ERROR_KINDS}: what an error of kind `E['kind']` means. */
export interface ErrorKindInfo<E extends RegistryError = RegistryError> {
  /** The category of every error of this kind, except where `unless` applies. */
  readonly category: ErrorCategory;
  /** When an error of this kind belongs to another category, decided by its fields. */
  readonly unless?: {
    readonly category: ErrorCategory;
    /** The condition in words, for the documentation. */
    readonly when: string;
    /** The condition. */
    applies(error: E): boolean;
  };
  /** When the error happens, in one line. */
  readonly summary: string;
}

/**
 * Every error kind, with its category and a one-line summary: the one source of
 * {@link isRegistryError}, {@link isRetryable}, {@link errorCategory}, the CLI's exit codes and
 * the table in `docs/errors.md`. A kind added to {@link RegistryError} without a row here (or a
 * row without a kind) does not compile.
 *
 * @example
 * ```ts
 * ERROR_KINDS.Throttled.category; // 'retryable'
 * Object.keys(ERROR_KINDS); // every kind
 * ```
 */
export const ERROR_KINDS = {
  InvalidRepositoryName: { category: 'usage', summary: "The name breaks ECR's pattern or its 2–256 length; found before any AWS call." },
  InvalidEncryption: {
    category: 'usage',
    summary: 'An unknown encryption type, a malformed key reference, a key ARN of another partition, or KMS `InvalidArnException`.',
  },
  InvalidInput: {
    category: 'usage',
    summary: 'Any other input that cannot be right (tags, tag mutability, a policy document, an option), or ECR `InvalidParameterException`.',
  },
  InsecureEndpoint: { category: 'usage', summary: 'A custom `http://` endpoint or download URL that is not loopback, without the `allowInsecureHttp` opt-in.' },
  KeyNotFound: { category: 'notFound', summary: 'DescribeKey finds no such key or alias in the region.' },
  KeyNotUsable: { category: 'key', summary: 'The key is not `Enabled`, or has the wrong usage or spec.' },
  KeyRegionMismatch: { category: 'key', summary: 'The key is in another region than the repository.' },
  KeyGrantQuotaExhausted: {
    category: 'key',
    summary: "A customer-managed key has no room for ECR's two grants: retire orphaned grants, or raise the quota.",
  },
  KmsRefused: {
    category: 'key',
    unless: {
      category: 'retryable',
      when: '`kmsError` is `ThrottlingException`, `KMSInternalException` or `DependencyTimeoutException` (KMS documents each as retryable)',
      applies: (e: KmsRefused) => e.kmsError !== undefined && TRANSIENT_KMS_ERRORS.has(e.kmsError),
    },
    summary: 'ECR answered `KmsException`: KMS refused a call ECR made for the caller.',
  },
  MissingPermissions: { category: 'permissions', summary: 'The IAM simulation or the key policy denies an action the operation needs; nothing was changed.' },
  AccessDenied: { category: 'permissions', summary: 'AWS refused a call.' },
  Throttled: { category: 'retryable', summary: "Still throttled after the SDK's own retries." },
  CredentialsError: { category: 'permissions', summary: 'Missing, expired or rejected credentials; `reason` says which (`missing`, `expired`, `rejected`).' },
  AwsServiceError: {
    category: 'unexpected',
    unless: { category: 'retryable', when: '`fault` is `server` (a 5xx)', applies: (e: AwsServiceError) => e.fault === 'server' },
    summary: 'An error the service answered with that the library does not model (see `name`).',
  },
  NetworkError: { category: 'retryable', summary: 'No answer: connection refused or reset, DNS, timeout.' },
  SdkClientError: { category: 'usage', summary: 'The SDK failed before sending anything (no region configured, a client-side validation).' },
  UnexpectedResponse: { category: 'unexpected', summary: 'An answer without what the library needs (no output, or a missing field); nothing is decided on it.' },
  RepositoryAlreadyExists: { category: 'conflict', summary: 'A repository of that name exists and idempotency could not apply.' },
  RepositoryNotFound: { category: 'notFound', summary: 'No repository of that name.' },
  RepositoryNotEmpty: { category: 'conflict', summary: 'Deleting a repository that holds images, without `force`: nothing was deleted.' },
  EncryptionMismatch: { category: 'conflict', summary: 'The repository exists with another encryption: migrate it (`migrateRepository`).' },
  DeletedButGrantsRemain: {
    category: 'partial',
    summary: "The repository is deleted but its grants are still on the key: retire them with `retireOrphanedGrants` (needs `kms:RetireGrant`).",
  },
  RollbackFailed: { category: 'partial', summary: 'A step failed and undoing the earlier steps failed too; both are reported.' },
  ImagesArchived: { category: 'conflict', summary: 'Archived images cannot be copied until restored; nothing was copied.' },
  ImagesUnavailable: { category: 'conflict', summary: 'ECR listed images whose manifests it then could not return.' },
  DigestMismatch: { category: 'conflict', summary: 'Bytes did not hash to the digest they were copied as; nothing was committed under it.' },
  LayerTransferFailed: { category: 'conflict', summary: 'Moving one blob failed (after retries, when the failure was transient); `reason` says why.' },
  ManifestRejected: { category: 'conflict', summary: 'ECR refused to store (or tag) a manifest.' },
  CopyVerificationFailed: { category: 'conflict', summary: 'The copy does not match the snapshot; every difference is listed.' },
  UnexpectedImages: {
    category: 'conflict',
    summary: 'The recreated repository holds images the migration did not copy: delete them as the migrating principal, then resume.',
  },
  RepositoryPolicyRefused: {
    category: 'partial',
    summary: 'ECR refused the saved repository policy at the end of a migration: the repository is complete but still frozen.',
  },
  Aborted: { category: 'interrupted', summary: "The caller's `AbortSignal` fired; running the operation again resumes." },
  JournalFailed: { category: 'usage', summary: 'The migration journal could not be read, written, cleared or locked, or holds something invalid.' },
  MigrationInProgress: { category: 'conflict', summary: 'A migration of this repository is unfinished, or its journal is locked by another process: resume it.' },
  MigrationFailed: {
    category: 'partial',
    unless: { category: 'interrupted', when: '`cause` is `Aborted`', applies: (e: MigrationFailed) => e.cause.kind === 'Aborted' },
    summary: 'A migration stopped after its first change: fix the cause, then `resumeMigration`.',
  },
} as const satisfies { readonly [K in RegistryErrorKind]: ErrorKindInfo<Extract<RegistryError, { readonly kind: K }>> };

const isKind = (kind: string): kind is RegistryErrorKind => Object.hasOwn(ERROR_KINDS, kind);

/**
 * Tells whether a value is one of this library's errors (its `kind` is a row of {@link ERROR_KINDS}).
 *
 * @example
 * ```ts
 * const result = await registry.deleteRepository({ repositoryName: 'app' });
 * if (result.isErr() && isRegistryError(result.error)) console.error(result.error.kind);
 * ```
 */
export const isRegistryError = (value: unknown): value is RegistryError => {
  try {
    return typeof value === 'object' && value !== null && 'kind' in value && typeof value.kind === 'string' && isKind(value.kind);
  } catch {
    // A Proxy or getter that throws is not one of ours.
    return false;
  }
};

/**
 * The category of an error: its kind's row of {@link ERROR_KINDS}, or the row's `unless` category
 * when that applies (a server-side `AwsServiceError` is `retryable`; a `MigrationFailed` caused by
 * an abort is `interrupted`). Anything that is not one of this library's errors is `unexpected`.
 *
 * @example
 * ```ts
 * if (result.isErr() && errorCategory(result.error) === 'notFound') return undefined;
 * ```
 */
export const errorCategory = (error: RegistryError): ErrorCategory => {
  if (!isRegistryError(error)) return 'unexpected';
  // Each row's `applies` takes its own kind; `error` is of that kind (method parameters are bivariant).
  const row: ErrorKindInfo = ERROR_KINDS[error.kind];
  return row.unless?.applies(error) === true ? row.unless.category : row.category;
};

/**
 * Tells whether retrying the same call later, unchanged, may succeed: the errors whose
 * {@link errorCategory} is `retryable` (throttling, no answer, a server-side `AwsServiceError`).
 *
 * @example
 * ```ts
 * if (result.isErr() && isRetryable(result.error)) await retryLater();
 * ```
 */
export const isRetryable = (error: RegistryError): boolean => errorCategory(error) === 'retryable';
