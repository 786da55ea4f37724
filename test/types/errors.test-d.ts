import { expectTypeOf, test } from 'vitest';
import type { GenericAwsError, RegistryError, RegistryErrorKind } from '../../src/index.js';

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
