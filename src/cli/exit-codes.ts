/**
 * The CLI's exit codes: one per outcome a pipeline may want to act on, and for errors one per
 * {@link RegistryErrorKind} (the `Record` type makes a new kind a compile error until it has a code).
 */
import type { RegistryError, RegistryErrorKind } from '../index.js';
import { loadedLibrary } from './library.js';

/** Exit codes, documented in `docs/cli.md`. */
export const EXIT = {
  /** Done; for `audit`, every repository complies; for `policy check`, allowed. */
  ok: 0,
  /** An unexpected failure (a bug, an unmodelled AWS error). */
  unexpected: 1,
  /** Bad usage or input: unknown flag, malformed name or key, missing region, no `--yes` off a terminal, an unreadable journal. */
  usage: 2,
  /** The repository or key does not exist. */
  notFound: 3,
  /** The state conflicts with the request: exists, not empty, other encryption, copy mismatch, a migration in progress. */
  conflict: 4,
  /** Permissions or credentials; for `policy check`, denied. */
  permissions: 5,
  /** The KMS key cannot be used: disabled, wrong region, grant quota, KMS refused. */
  key: 6,
  /** Retryable: throttled, network, a 5xx. */
  retryable: 7,
  /** Partly done: deleted but grants remain, a rollback or a retirement that failed, a migration that stopped (resume it). */
  partial: 8,
  /** `audit`: at least one repository is not compliant. */
  nonCompliant: 9,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const;

/** Every error kind's exit code. {@link exitCodeFor} sends a server-side `AwsServiceError` to `retryable`. */
export const EXIT_CODES: Readonly<Record<RegistryErrorKind, number>> = {
  InvalidRepositoryName: EXIT.usage,
  InvalidEncryption: EXIT.usage,
  InvalidInput: EXIT.usage,
  InsecureEndpoint: EXIT.usage,
  SdkClientError: EXIT.usage,
  RepositoryNotFound: EXIT.notFound,
  KeyNotFound: EXIT.notFound,
  RepositoryAlreadyExists: EXIT.conflict,
  RepositoryNotEmpty: EXIT.conflict,
  EncryptionMismatch: EXIT.conflict,
  ImagesArchived: EXIT.conflict,
  ImagesUnavailable: EXIT.conflict,
  DigestMismatch: EXIT.conflict,
  ManifestRejected: EXIT.conflict,
  CopyVerificationFailed: EXIT.conflict,
  MissingPermissions: EXIT.permissions,
  AccessDenied: EXIT.permissions,
  CredentialsError: EXIT.permissions,
  KeyNotUsable: EXIT.key,
  KeyRegionMismatch: EXIT.key,
  KeyGrantQuotaExhausted: EXIT.key,
  KmsRefused: EXIT.key,
  Throttled: EXIT.retryable,
  NetworkError: EXIT.retryable,
  LayerTransferFailed: EXIT.retryable,
  AwsServiceError: EXIT.unexpected,
  UnexpectedResponse: EXIT.unexpected,
  DeletedButGrantsRemain: EXIT.partial,
  RollbackFailed: EXIT.partial,
  Aborted: EXIT.interrupted,
  JournalFailed: EXIT.usage,
  MigrationInProgress: EXIT.conflict,
  UnexpectedImages: EXIT.conflict,
  RepositoryPolicyRefused: EXIT.partial,
  MigrationFailed: EXIT.partial,
};

/**
 * The exit code for an error: its kind's, except that anything retryable (a 5xx included) is
 * `retryable`, and a migration stopped by Ctrl-C (`MigrationFailed` caused by `Aborted`) is `interrupted`.
 */
export const exitCodeFor = (error: RegistryError): number => {
  if (error.kind === 'MigrationFailed' && error.cause.kind === 'Aborted') return EXIT.interrupted;
  return loadedLibrary().isRetryable(error) ? EXIT.retryable : EXIT_CODES[error.kind];
};
