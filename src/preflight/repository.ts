/** The repository check of the preflight: an existing repository against the requested encryption. */
import { describeEncryption, sameEncryption } from '../encryption/compare.js';
import type { ParsedEncryption } from '../encryption/spec.js';
import type { EncryptionDescription } from '../types.js';
import { errorFinding, note } from './finding.js';
import type { ResolvedKey } from './key.js';
import type { Finding } from './types.js';

/** The requested encryption with the key resolved; `undefined` when the key could not be. */
export const requestedEncryption = (encryption: ParsedEncryption, key: ResolvedKey | undefined): EncryptionDescription | undefined => {
  if (encryption.type === 'AES256') return { type: 'AES256' };
  if (key === undefined) return undefined;
  return { type: encryption.type, keyArn: key.arn, awsManagedKey: key.manager === 'AWS' };
};

/** Compares an existing repository with what is asked for. */
export const compareExisting = (
  repositoryName: string,
  existing: EncryptionDescription,
  encryption: ParsedEncryption,
  key: ResolvedKey | undefined,
): Finding => {
  const requested = requestedEncryption(encryption, key);
  if (requested === undefined) {
    if (existing.type !== encryption.type) {
      const partial: EncryptionDescription = { type: encryption.type };
      return mismatchFinding(repositoryName, existing, partial);
    }
    return note('repository', 'warning', `the repository exists with ${describeEncryption(existing)}; the requested key could not be resolved to compare`);
  }
  if (sameEncryption(existing, requested)) {
    return note('repository', 'info', `the repository exists with the same encryption (${describeEncryption(existing)}): create returns it with created: false`);
  }
  return mismatchFinding(repositoryName, existing, requested);
};

const mismatchFinding = (repositoryName: string, existing: EncryptionDescription, requested: EncryptionDescription): Finding =>
  errorFinding(
    'repository',
    `${repositoryName} exists with ${describeEncryption(existing)}, not ${describeEncryption(requested)}; ECR cannot change ` +
      'encryption in place: use migrateRepository to recreate it under the same name without losing an image',
    { kind: 'EncryptionMismatch', repositoryName, existing, requested, remedy: 'migrateRepository' },
  );
