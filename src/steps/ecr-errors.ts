/** Mappers for exceptions several ECR calls model, by name (ECR, KMS and IAM share names). */
import type { KmsRefused, RepositoryNotFound } from '../errors.js';
import type { ServiceException } from '../internal/aws.js';

/** `RepositoryNotFoundException` → `RepositoryNotFound`; a mapper for `awsCall`. */
export const repositoryNotFound =
  (repositoryName: string) =>
  (e: ServiceException): RepositoryNotFound | undefined =>
    e.name === 'RepositoryNotFoundException' ? { kind: 'RepositoryNotFound', repositoryName, cause: e } : undefined;

/** ECR's `KmsException` (KMS refused a call ECR made for the caller) → `KmsRefused`, with its `kmsError`. */
export const kmsRefused = (operation: string, e: ServiceException): KmsRefused | undefined => {
  if (e.name !== 'KmsException') return undefined;
  const kmsError = (e as { kmsError?: unknown }).kmsError;
  return {
    kind: 'KmsRefused',
    service: 'ecr',
    operation,
    cause: e,
    kmsError: typeof kmsError === 'string' ? kmsError : undefined,
    message: e.message,
  };
};
