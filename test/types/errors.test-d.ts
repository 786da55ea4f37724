import { expectTypeOf, test } from 'vitest';
import type {
  CopyImagesError,
  GenericAwsError,
  RegistryError,
  RegistryErrorKind,
  SnapshotImagesError,
  VerifyCopyError,
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
    | 'ImagesArchived'
    | 'ImagesUnavailable'
    | 'DigestMismatch'
    | 'LayerTransferFailed'
    | 'ManifestRejected'
    | 'CopyVerificationFailed'
    | 'Aborted'
  >();
});

test('generic AWS errors are part of the union', () => {
  expectTypeOf<GenericAwsError>().toExtend<RegistryError>();
});

test('the copy errors are part of the union', () => {
  expectTypeOf<CopyImagesError>().toExtend<RegistryError>();
  expectTypeOf<SnapshotImagesError>().toExtend<RegistryError>();
  expectTypeOf<VerifyCopyError>().toExtend<RegistryError>();
});
