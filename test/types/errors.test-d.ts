import type { ResultAsync } from 'neverthrow';
import { expectTypeOf, test } from 'vitest';
import { errorCategory } from '../../src/index.js';
import type {
  AuditError,
  AuditInput,
  AuditReport,
  CopyImagesError,
  CreatedRepository,
  CreateEncryptedRepositoryError,
  CreateEncryptedRepositoryInput,
  DeletedRepository,
  DeleteRepositoryError,
  ErrorCategory,
  EncryptedRegistry,
  FindOrphanedGrantsError,
  FindOrphanedGrantsInput,
  GenericAwsError,
  MigrateRepositoryError,
  MigrateRepositoryInput,
  MigrationPlan,
  MigrationResult,
  PlanMigrationError,
  PlanMigrationInput,
  ResumeMigrationError,
  ResumeMigrationInput,
  OrphanedGrantsReport,
  OrphanedGrantsRetirement,
  PreflightError,
  PreflightFindingError,
  PreflightReport,
  RegistryError,
  RegistryErrorKind,
  RetireOrphanedGrantsError,
  RetireOrphanedGrantsInput,
  SnapshotImagesError,
  VerifyCopyError,
 ERROR_KINDS} from '../../src/index.js';

test('the error union is closed: adding or removing a kind is a visible API change', () => {
  expectTypeOf<RegistryErrorKind>().toEqualTypeOf<
    | 'InvalidRepositoryName'
    | 'InvalidEncryption'
    | 'InvalidInput'
    | 'InsecureEndpoint'
    | 'KeyNotFound'
    | 'KeyNotUsable'
    | 'KeyRegionMismatch'
    | 'KeyGrantQuotaExhausted'
    | 'KmsRefused'
    | 'MissingPermissions'
    | 'AccessDenied'
    | 'Throttled'
    | 'CredentialsError'
    | 'AwsServiceError'
    | 'NetworkError'
    | 'SdkClientError'
    | 'UnexpectedResponse'
    | 'RepositoryAlreadyExists'
    | 'RepositoryNotFound'
    | 'RepositoryNotEmpty'
    | 'EncryptionMismatch'
    | 'DeletedButGrantsRemain'
    | 'RollbackFailed'
    | 'ImagesArchived'
    | 'ImagesUnavailable'
    | 'DigestMismatch'
    | 'LayerTransferFailed'
    | 'ManifestRejected'
    | 'CopyVerificationFailed'
    | 'UnexpectedImages'
    | 'RepositoryPolicyRefused'
    | 'Aborted'
    | 'JournalFailed'
    | 'MigrationInProgress'
    | 'MigrationFailed'
  >();
});

test('generic AWS errors are part of the union', () => {
  expectTypeOf<GenericAwsError>().toExtend<RegistryError>();
});

test('deleteRepository returns its own error union', () => {
  expectTypeOf<ReturnType<EncryptedRegistry['deleteRepository']>>().toEqualTypeOf<
    ResultAsync<DeletedRepository, DeleteRepositoryError>
  >();
  expectTypeOf<DeleteRepositoryError['kind']>().toEqualTypeOf<
    | 'InvalidRepositoryName'
    | 'InvalidInput'
    | 'InsecureEndpoint'
    | 'RepositoryNotFound'
    | 'RepositoryNotEmpty'
    | 'KmsRefused'
    | 'DeletedButGrantsRemain'
    | 'MigrationInProgress'
    | GenericAwsError['kind']
  >();
  // `verified` discriminates: only an unverified deletion has (and must have) `grantsUnverifiable`.
  expectTypeOf<DeletedRepository['verified']>().toEqualTypeOf<boolean>();
  expectTypeOf<Extract<DeletedRepository, { verified: false }>['grantsUnverifiable']['reasons']>().toEqualTypeOf<
    readonly ('fewer-grants-than-documented' | 'unattributed-grants-remain')[]
  >();
  expectTypeOf<Extract<DeletedRepository, { verified: true }>>().not.toHaveProperty('grantsUnverifiable');
});

test('the orphaned-grant sweep returns its own error unions', () => {
  expectTypeOf<ReturnType<EncryptedRegistry['findOrphanedGrants']>>().toEqualTypeOf<
    ResultAsync<OrphanedGrantsReport, FindOrphanedGrantsError>
  >();
  expectTypeOf<ReturnType<EncryptedRegistry['retireOrphanedGrants']>>().toEqualTypeOf<
    ResultAsync<OrphanedGrantsRetirement, RetireOrphanedGrantsError>
  >();
  expectTypeOf<FindOrphanedGrantsError['kind']>().toEqualTypeOf<
    'InvalidInput' | 'InsecureEndpoint' | 'KeyNotFound' | GenericAwsError['kind']
  >();
  expectTypeOf<EncryptedRegistry['findOrphanedGrants']>().parameter(0).toEqualTypeOf<FindOrphanedGrantsInput | undefined>();
  expectTypeOf<EncryptedRegistry['retireOrphanedGrants']>().parameter(0).toEqualTypeOf<RetireOrphanedGrantsInput | undefined>();
});

test('the copy errors are part of the union', () => {
  expectTypeOf<CopyImagesError>().toExtend<RegistryError>();
  expectTypeOf<SnapshotImagesError>().toExtend<RegistryError>();
  expectTypeOf<VerifyCopyError>().toExtend<RegistryError>();
});

test('createEncryptedRepository and preflight expose their result and error unions', () => {
  expectTypeOf<ReturnType<EncryptedRegistry['createEncryptedRepository']>>().toEqualTypeOf<
    ResultAsync<CreatedRepository, CreateEncryptedRepositoryError>
  >();
  expectTypeOf<ReturnType<EncryptedRegistry['preflight']>>().toEqualTypeOf<ResultAsync<PreflightReport, PreflightError>>();
  expectTypeOf<Parameters<EncryptedRegistry['preflight']>[0]>().toEqualTypeOf<CreateEncryptedRepositoryInput>();
});

test('the create error union is closed', () => {
  expectTypeOf<CreateEncryptedRepositoryError['kind']>().toEqualTypeOf<
    | 'InvalidRepositoryName'
    | 'InvalidEncryption'
    | 'InvalidInput'
    | 'InsecureEndpoint'
    | 'KeyNotFound'
    | 'KeyNotUsable'
    | 'KeyRegionMismatch'
    | 'KeyGrantQuotaExhausted'
    | 'KmsRefused'
    | 'MissingPermissions'
    | 'RepositoryAlreadyExists'
    | 'RepositoryNotFound'
    | 'EncryptionMismatch'
    | 'RollbackFailed'
    | GenericAwsError['kind']
  >();
  expectTypeOf<PreflightError['kind']>().toEqualTypeOf<'InvalidInput' | 'InsecureEndpoint' | GenericAwsError['kind']>();
});

test('every error a preflight finding carries is one create can return', () => {
  expectTypeOf<PreflightFindingError>().toExtend<CreateEncryptedRepositoryError>();
  expectTypeOf<PreflightError>().toExtend<CreateEncryptedRepositoryError>();
});

test('audit returns its own error union', () => {
  expectTypeOf<ReturnType<EncryptedRegistry['audit']>>().toEqualTypeOf<ResultAsync<AuditReport, AuditError>>();
  expectTypeOf<AuditError['kind']>().toEqualTypeOf<'InvalidInput' | 'InsecureEndpoint' | 'KeyNotFound' | GenericAwsError['kind']>();
  expectTypeOf<EncryptedRegistry['audit']>().parameter(0).toEqualTypeOf<AuditInput | undefined>();
  expectTypeOf<AuditError>().toExtend<RegistryError>();
});

test('the migration operations expose their result and error unions', () => {
  expectTypeOf<ReturnType<EncryptedRegistry['planMigration']>>().toEqualTypeOf<ResultAsync<MigrationPlan, PlanMigrationError>>();
  expectTypeOf<ReturnType<EncryptedRegistry['migrateRepository']>>().toEqualTypeOf<ResultAsync<MigrationResult, MigrateRepositoryError>>();
  expectTypeOf<ReturnType<EncryptedRegistry['resumeMigration']>>().toEqualTypeOf<ResultAsync<MigrationResult, ResumeMigrationError>>();
  expectTypeOf<Parameters<EncryptedRegistry['planMigration']>[0]>().toEqualTypeOf<PlanMigrationInput>();
  expectTypeOf<Parameters<EncryptedRegistry['migrateRepository']>[0]>().toEqualTypeOf<MigrateRepositoryInput>();
  expectTypeOf<Parameters<EncryptedRegistry['resumeMigration']>[0]>().toEqualTypeOf<ResumeMigrationInput>();
});

test('the migration error unions are closed', () => {
  expectTypeOf<PlanMigrationError['kind']>().toEqualTypeOf<
    | 'InvalidRepositoryName'
    | 'InvalidEncryption'
    | 'InvalidInput'
    | 'InsecureEndpoint'
    | 'RepositoryNotFound'
    | 'ImagesUnavailable'
    | 'Aborted'
    | GenericAwsError['kind']
  >();
  expectTypeOf<MigrateRepositoryError['kind']>().toEqualTypeOf<
    | 'InvalidRepositoryName'
    | 'InvalidEncryption'
    | 'InvalidInput'
    | 'InsecureEndpoint'
    | 'RepositoryNotFound'
    | 'ImagesArchived'
    | 'ImagesUnavailable'
    | 'KeyNotFound'
    | 'KeyNotUsable'
    | 'KeyRegionMismatch'
    | 'KeyGrantQuotaExhausted'
    | 'MissingPermissions'
    | 'JournalFailed'
    | 'MigrationInProgress'
    | 'MigrationFailed'
    | 'Aborted'
    | GenericAwsError['kind']
  >();
  expectTypeOf<ResumeMigrationError['kind']>().toEqualTypeOf<
    'InvalidInput' | 'InsecureEndpoint' | 'JournalFailed' | 'MigrationInProgress' | 'MigrationFailed' | 'Aborted' | GenericAwsError['kind']
  >();
  expectTypeOf<MigrateRepositoryError>().toExtend<RegistryError>();
  expectTypeOf<ResumeMigrationError>().toExtend<MigrateRepositoryError>();
});

test('ERROR_KINDS has exactly one row per kind, and rows keep their literal categories', () => {
  expectTypeOf<keyof typeof ERROR_KINDS>().toEqualTypeOf<RegistryErrorKind>();
  expectTypeOf<(typeof ERROR_KINDS)['Throttled']['category']>().toEqualTypeOf<'retryable'>();
  expectTypeOf<(typeof ERROR_KINDS)[RegistryErrorKind]['category']>().toExtend<ErrorCategory>();
  expectTypeOf(errorCategory).parameter(0).toEqualTypeOf<RegistryError>();
});
