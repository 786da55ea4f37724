// Generated from ERROR_KINDS by test/unit/exit-help.test.ts (UPDATE_EXIT_HELP=1): do not edit.
// The CLI cannot read the table itself for `--help`, which must load no library module.

/** The library error kinds that end with each exit code. */
export const EXIT_KINDS: Readonly<Record<number, readonly string[]>> = {
  1: ['AwsServiceError', 'UnexpectedResponse'],
  2: ['InvalidRepositoryName', 'InvalidEncryption', 'InvalidInput', 'InsecureEndpoint', 'SdkClientError', 'JournalFailed'],
  3: ['KeyNotFound', 'RepositoryNotFound'],
  4: ['RepositoryAlreadyExists', 'RepositoryNotEmpty', 'EncryptionMismatch', 'ImagesArchived', 'ImagesUnavailable', 'DigestMismatch', 'LayerTransferFailed', 'ManifestRejected', 'CopyVerificationFailed', 'UnexpectedImages', 'MigrationInProgress'],
  5: ['MissingPermissions', 'AccessDenied', 'CredentialsError'],
  6: ['KeyNotUsable', 'KeyRegionMismatch', 'KeyGrantQuotaExhausted', 'KmsRefused'],
  7: ['KmsRefused', 'Throttled', 'AwsServiceError', 'NetworkError'],
  8: ['DeletedButGrantsRemain', 'RollbackFailed', 'RepositoryPolicyRefused', 'MigrationFailed'],
  130: ['Aborted', 'MigrationFailed'],
};
