/**
 * The warnings of a migration: registry-level rules that interact with it (replication, creation
 * templates, pull-through cache), and what follows from the image graph and the settings.
 */
import type { ReplicationRule } from '@aws-sdk/client-ecr';
import { ResultAsync, okAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { describeCreationTemplates, describePullThroughCacheRules, describeReplicationRules } from '../steps/ecr-migration.js';
import { deletedPrincipalsIn } from './policy-restore.js';
import type { ImageGraph } from './snapshot.js';
import { MIGRATION_ID_DIGITS, stagingNameOf } from './staging-name.js';
import type { MigrationWarning, RepositorySettings } from './types.js';

/**
 * Whether a replication rule's `PREFIX_MATCH` filter matches the staging repository: the one of
 * this migration when its id is known, otherwise any a migration of `repositoryName` could use.
 */
const filterMatchesStaging = (filter: string, repositoryName: string, migrationId: string | undefined, stagingName: string | undefined): boolean => {
  if (stagingName !== undefined) return stagingName.startsWith(filter);
  if (migrationId !== undefined) return stagingNameOf(repositoryName, migrationId).startsWith(filter);
  const base = stagingNameOf(repositoryName, '0'.repeat(MIGRATION_ID_DIGITS)).slice(0, -MIGRATION_ID_DIGITS);
  return base.startsWith(filter) || (filter.startsWith(base) && /^[0-9a-f]*$/.test(filter.slice(base.length)) && filter.length - base.length <= MIGRATION_ID_DIGITS);
};

/** Whether an ECR prefix (templates, pull-through cache) covers a name: `ROOT` covers all, a `/` is implied. */
const prefixCovers = (prefix: string | undefined, name: string): boolean => {
  if (prefix === undefined || prefix === '') return false;
  if (prefix === 'ROOT') return true;
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return name.startsWith(withSlash);
};

/**
 * Registry-level settings that interact with a migration. Best effort: a read that is denied or
 * fails becomes a warning. `staging`: the staging name chosen (see `chooseStagingName`) and the
 * replication rules it was chosen with (DescribeRegistry is then not called again).
 */
export const registryWarnings = (
  ctx: RegistryContext,
  repositoryName: string,
  migrationId?: string,
  staging?: { readonly name: string; readonly rules: ResultAsync<ReplicationRule[], GenericAwsError> },
): ResultAsync<MigrationWarning[], never> => {
  const denied = (what: string) => (e: GenericAwsError): ResultAsync<MigrationWarning[], never> =>
    okAsync([{ code: 'registryReadDenied', message: `could not read the ${what} (${e.kind}${e.kind === 'AwsServiceError' ? ` ${e.name}` : ''}): check them yourself` }]);
  const destinationsOf = (rule: ReplicationRule): string => (rule.destinations ?? []).map((d) => `${d.registryId ?? '?'}/${d.region ?? '?'}`).join(', ');
  // A rule without filters replicates every repository (ECR User Guide, replication); filters are PREFIX_MATCH.
  const matching = (rule: ReplicationRule, matches: (filter: string) => boolean): string[] | undefined => {
    const filters = rule.repositoryFilters ?? [];
    if (filters.length === 0) return [];
    const hits = filters.flatMap((f) => (f.filterType === 'PREFIX_MATCH' && f.filter !== undefined && matches(f.filter) ? [f.filter] : []));
    return hits.length > 0 ? hits : undefined;
  };
  const ruleName = (index: number, filters: readonly string[]): string =>
    `replication rule #${index + 1} (${filters.length === 0 ? 'no repository filter: every repository' : `PREFIX_MATCH ${filters.map((f) => `"${f}"`).join(', ')}`})`;
  const stagingText =
    staging !== undefined
      ? `the staging repository ${staging.name}`
      : migrationId === undefined
        ? `the staging repository (${stagingNameOf(repositoryName, '<id>')})`
        : `the staging repository ${stagingNameOf(repositoryName, migrationId)}`;
  const replication = (staging?.rules ?? describeReplicationRules(ctx))
    .map((rules) =>
      rules.flatMap((rule, index): MigrationWarning[] => {
        const original = matching(rule, (f) => repositoryName.startsWith(f));
        const ofStaging = matching(rule, (f) => filterMatchesStaging(f, repositoryName, migrationId, staging?.name));
        return [
          ...(original === undefined
            ? []
            : [{ code: 'replicationRule' as const, message: `${ruleName(index, original)} covers ${repositoryName}: every image copied back is replicated again to ${destinationsOf(rule)}` }]),
          ...(ofStaging === undefined
            ? []
            : [{
                code: 'stagingReplicated' as const,
                message:
                  `${ruleName(index, ofStaging)} also covers ${stagingText}, and no staging name escapes the rules: ECR replicates every image copied into it to ${destinationsOf(rule)}, ` +
                  'where copies stay when the staging repository is deleted (replication never deletes): after the migration, they are deleted in each destination ' +
                  'given in replicaClients (replicaKmsClients for a KMS-encrypted copy), and a stagingReplicas warning names each one left',
              }]),
        ];
      }),
    )
    .orElse(denied('replication configuration (DescribeRegistry)'));
  const templates = describeCreationTemplates(ctx)
    .map((all) =>
      all
        .filter((t) => prefixCovers(t.prefix, repositoryName))
        .map((t): MigrationWarning => {
          const encryption = t.encryptionConfiguration?.encryptionType ?? 'AES256';
          const key = t.encryptionConfiguration?.kmsKey;
          const onPush = (t.appliedFor ?? []).includes('CREATE_ON_PUSH');
          return {
            code: 'creationTemplate',
            message:
              `creation template "${t.prefix ?? ''}" (${(t.appliedFor ?? []).join(', ')}) covers ${repositoryName} with ${encryption}${key ? ` ${key}` : ''}: ` +
              (onPush
                ? 'while the name is free (between deleting and recreating it), a push would create it with that encryption; the migration then stops with EncryptionMismatch'
                : 'ECR could recreate the name with that encryption while it is free'),
          };
        }),
    )
    .orElse(denied('repository creation templates'));
  const cache = describePullThroughCacheRules(ctx)
    .map((rules) =>
      rules
        .filter((r) => prefixCovers(r.ecrRepositoryPrefix, repositoryName))
        .map((r): MigrationWarning => ({
          code: 'pullThroughCacheRule',
          message: `pull-through cache rule "${r.ecrRepositoryPrefix ?? ''}" (${r.upstreamRegistryUrl ?? 'upstream'}) covers ${repositoryName}: a pull while the name is free would recreate it with the template's encryption`,
        })),
    )
    .orElse(denied('pull-through cache rules'));
  return ResultAsync.combine([replication, templates, cache] as const).map(([a, b, c]) => [...a, ...b, ...c]);
};

/** The warnings that follow from the graph and the settings alone. */
export const graphWarnings = (graph: ImageGraph, settings: RepositorySettings, restoreArchived: boolean): MigrationWarning[] => {
  const warnings: MigrationWarning[] = [
    {
      code: 'notPreserved',
      message:
        'cannot be kept: push times (each image gets the time it is copied; the order is kept), last pull times, ' +
        'scan findings and scan status, archive history, the repository creation time',
    },
    {
      code: 'freezeWindow',
      message:
        'while migrating, pushes, image deletions and settings changes by anyone but the migrating principal are denied by a repository-policy statement',
    },
  ];
  if (graph.archived.length > 0) {
    warnings.push({
      code: 'archivedImages',
      message: restoreArchived
        ? `${graph.archived.length} archived image(s) will be restored (UpdateImageStorageClass to STANDARD) before migrating; restoring can take hours`
        : `${graph.archived.length} archived image(s) cannot be copied: restore them first, or pass restoreArchived: true`,
    });
  }
  if (settings.scanOnPush) warnings.push({ code: 'rescanOnPush', message: 'scan on push is on: every image copied back is scanned again (the staging repository does not scan)' });
  const deleted = deletedPrincipalsIn(settings.repositoryPolicy);
  if (deleted.length > 0) {
    warnings.push({
      code: 'deletedPrincipals',
      message:
        `the repository policy names deleted users or roles (${deleted.join(', ')}): if ECR refuses it back at the end, it is restored ` +
        'without them (they can never match again); if ECR refuses that too, the migration stops with the repository still frozen',
    });
  }
  if (settings.awsTagKeys.length > 0) warnings.push({ code: 'awsTags', message: `aws: tags cannot be copied: ${settings.awsTagKeys.join(', ')}` });
  if (settings.lifecyclePolicy !== undefined) {
    warnings.push({
      code: 'lifecyclePolicy',
      message:
        'the lifecycle policy is paused during the migration and restored at the end: it is deleted right after the freeze (ECR\'s expiry ' +
        'is not stopped by a repository policy), its text kept in the journal, and applied last; images are copied in push order, ' +
        'so count-based rules keep the same images',
    });
  }
  if (graph.danglingReferences.length > 0) {
    warnings.push({ code: 'danglingReferences', message: `${graph.danglingReferences.length} reference(s) point to manifests that are not in the repository` });
  }
  if (graph.externalBlobs.length > 0) warnings.push({ code: 'externalBlobs', message: `${graph.externalBlobs.length} foreign layer(s) are not stored in ECR and are not copied` });
  return warnings;
};
