import type { ResultAsync } from 'neverthrow';
import { expectTypeOf, test } from 'vitest';
import type {
  CreatedRepository,
  CreateEncryptedRepositoryError,
  CreateEncryptedRepositoryInput,
  EncryptedRegistry,
  GenericAwsError,
  PreflightError,
  PreflightFindingError,
  PreflightReport,
  RegistryError,
  RegistryErrorKind,
} from '../../src/index.js';

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
    | 'RepositoryAlreadyExists'
    | 'RepositoryNotFound'
    | 'RepositoryNotEmpty'
    | 'EncryptionMismatch'
    | 'DeletedButGrantsRemain'
    | 'RollbackFailed'
  >();
});

test('generic AWS errors are part of the union', () => {
  expectTypeOf<GenericAwsError>().toExtend<RegistryError>();
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
