/**
 * Reading and comparing a repository's encryption: what DescribeRepositories says, and whether two
 * configurations are the same. Shared by the preflight, creation and migration.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import type { EncryptionDescription, ExistingRepository } from '../types.js';

/** How a repository is encrypted, from DescribeRepositories. ECR answers the key as its ARN. */
export const encryptionOfRepository = (repository: Repository): EncryptionDescription => {
  const type = repository.encryptionConfiguration?.encryptionType ?? 'AES256';
  const keyArn = repository.encryptionConfiguration?.kmsKey;
  return type === 'AES256' || keyArn === undefined ? { type } : { type, keyArn };
};

/** Same encryption: same type, and for KMS the same canonical key ARN. */
export const sameEncryption = (a: EncryptionDescription, b: EncryptionDescription): boolean =>
  a.type === b.type && (a.type === 'AES256' || a.keyArn === b.keyArn);

/** An encryption in words: `AES256`, or `KMS with arn:…`. */
export const describeEncryption = (e: EncryptionDescription): string => (e.keyArn ? `${e.type} with ${e.keyArn}` : e.type);

/** An existing repository's identity and encryption, from DescribeRepositories. */
export const existingOf = (repository: Repository, repositoryName: string): ExistingRepository => ({
  name: repository.repositoryName ?? repositoryName,
  arn: repository.repositoryArn ?? '',
  uri: repository.repositoryUri ?? '',
  createdAt: repository.createdAt,
  registryId: repository.registryId ?? '',
  encryption: encryptionOfRepository(repository),
});
