/**
 * What a migration carries and aims at, shared by the plan and the start: the repository settings
 * read from ECR, the creation preflight's input for them, the target encryption the preflight
 * resolved, and the preflight findings that matter to a migration.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import { ResultAsync } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import type { GenericAwsError, RepositoryNotFound } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import type { Finding, PreflightInput, PreflightReport } from '../preflight/index.js';
import { getLifecyclePolicy, getRepositoryPolicy, listTags } from '../steps/ecr-repository.js';
import type { EncryptionDescription, EncryptionSpec } from '../types.js';
import type { RepositorySettings } from './types.js';

const MUTABILITIES = new Set<string>(['MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION']);

/** Reads every setting a migration carries: policy, lifecycle, scanning, tag mutability, tags. */
export const readSettings = (
  ctx: RegistryContext,
  repository: Repository,
  repositoryName: string,
): ResultAsync<RepositorySettings, RepositoryNotFound | GenericAwsError> =>
  ResultAsync.combine([
    getRepositoryPolicy(ctx, repositoryName),
    getLifecyclePolicy(ctx, repositoryName),
    listTags(ctx, repository.repositoryArn ?? '', repositoryName),
  ] as const).map(([repositoryPolicy, lifecyclePolicy, tags]): RepositorySettings => {
    const mutability = repository.imageTagMutability ?? 'MUTABLE';
    const own = tags.filter((t) => t.Key !== undefined && !t.Key.toLowerCase().startsWith('aws:'));
    return {
      repositoryPolicy,
      lifecyclePolicy,
      scanOnPush: repository.imageScanningConfiguration?.scanOnPush === true,
      imageTagMutability: (MUTABILITIES.has(mutability) ? mutability : 'MUTABLE'),
      imageTagMutabilityExclusionFilters: (repository.imageTagMutabilityExclusionFilters ?? []).flatMap((f) => (f.filter ? [f.filter] : [])),
      tags: own.map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' })),
      awsTagKeys: tags.flatMap((t) => (t.Key !== undefined && t.Key.toLowerCase().startsWith('aws:') ? [t.Key] : [])),
    };
  });

/** The preflight input for creating a repository of this name with these settings and this encryption. */
export const preflightInputOf = (repositoryName: string, encryption: EncryptionSpec, settings: RepositorySettings): PreflightInput => ({
  repositoryName,
  encryption,
  scanOnPush: settings.scanOnPush,
  imageTagMutability: settings.imageTagMutability,
  ...(settings.imageTagMutabilityExclusionFilters.length > 0 ? { imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters } : {}),
  ...(settings.tags.length > 0 ? { tags: settings.tags } : {}),
  ...(settings.repositoryPolicy !== undefined ? { repositoryPolicy: settings.repositoryPolicy } : {}),
  ...(settings.lifecyclePolicy !== undefined ? { lifecyclePolicy: settings.lifecyclePolicy } : {}),
});

/** The requested encryption with the key resolved by the preflight; `undefined` when it could not be. */
export const targetOf = (encryption: EncryptionSpec, report: PreflightReport): EncryptionDescription | undefined => {
  const parsed = parseEncryption(encryption);
  if (parsed.isErr()) return undefined;
  if (parsed.value.type === 'AES256') return { type: 'AES256' };
  const { keyArn, keyManager } = report.facts;
  return keyArn === undefined ? undefined : { type: parsed.value.type, keyArn, awsManagedKey: keyManager === 'AWS' };
};

/**
 * The preflight's findings for a migration: the repository existing with another encryption is
 * the point of migrating, not a problem.
 */
export const migrationFindings = (report: PreflightReport): Finding[] =>
  report.findings.filter((f) => !(f.check === 'repository' && (f.error?.kind === 'EncryptionMismatch' || f.severity === 'info')));
