/**
 * `planMigration`: everything a migration would do and meet, without changing anything — the
 * image graph, the blobs, the settings to carry, the target key's preflight, an estimate of the
 * API calls, and warnings (archived images, registry rules that could recreate the name with
 * other encryption while it is free, what cannot be kept).
 */
import type { ReplicationRule, Repository } from '@aws-sdk/client-ecr';
import { ResultAsync, errAsync, okAsync } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import type { GenericAwsError, PlanMigrationError, RepositoryNotFound } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import {
  encryptionOfRepository,
  type Finding,
  preflight,
  type PreflightInput,
  type PreflightReport,
  sameEncryption,
} from '../operations/preflight.js';
import { describeCreationTemplates, describePullThroughCacheRules, describeReplicationRules } from '../steps/ecr-migration.js';
import { ECR_BATCH_LIMIT, ECR_PAGE_LIMIT } from '../steps/ecr-images.js';
import { describeRepository, getLifecyclePolicy, getRepositoryPolicy, listTags } from '../steps/ecr-repository.js';
import type { EncryptionDescription, EncryptionSpec } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { DEFAULT_PART_SIZE } from './blob-transfer.js';
import { MIGRATION_STEPS, type RepositorySettings } from './journal.js';
import { deletedPrincipalsIn } from './policy-restore.js';
import type { MigrationStep } from '../errors.js';
import { type ImageGraph, type ImageStatus, snapshotImages } from './snapshot.js';

/** What to plan. */
export interface PlanMigrationInput {
  readonly repositoryName: string;
  /** The encryption the repository should have. */
  readonly encryption: EncryptionSpec;
  /**
   * Whether the migration will restore archived images first (`migrateRepository` takes the same
   * option). Without it, archived images block the migration.
   */
  readonly restoreArchived?: boolean;
  readonly signal?: AbortSignal;
}

/** Why a plan carries a warning. */
export type MigrationWarningCode =
  | 'sameEncryption'
  | 'archivedImages'
  | 'replicationRule'
  | 'creationTemplate'
  | 'pullThroughCacheRule'
  | 'registryReadDenied'
  | 'notPreserved'
  | 'rescanOnPush'
  | 'awsTags'
  | 'lifecyclePolicy'
  | 'danglingReferences'
  | 'externalBlobs'
  | 'freezeWindow'
  | 'grantsRemain'
  | 'journalNotCleared'
  /** A replication rule also covers the staging repository: its images are replicated to the rule's destinations and stay there. */
  | 'stagingReplicated'
  /** The repository policy names principals of deleted users or roles (IAM unique ids); ECR may refuse it back. */
  | 'deletedPrincipals'
  /** ECR refused the saved repository policy; it was restored without the principals of deleted users and roles. */
  | 'repositoryPolicyCleaned'
  /** ECR refused the saved repository policy, and the policy the migrating principal set since then was kept. */
  | 'repositoryPolicyKept';

/** Something worth knowing before migrating; it does not stop the migration. */
export interface MigrationWarning {
  readonly code: MigrationWarningCode;
  readonly message: string;
}

/** One image of the plan (the manifest itself stays out of the plan). */
export interface PlannedImage {
  readonly digest: string;
  readonly tags: readonly string[];
  readonly mediaType: string | undefined;
  readonly status: ImageStatus;
  /** `index` lists other manifests; `referrer` has a subject; `child` is listed by an index. */
  readonly role: 'index' | 'referrer' | 'child' | 'image';
  readonly pushedAt: string | undefined;
  readonly sizeInBytes: number | undefined;
}

/** API calls a migration will make, by step (an estimate from the graph and ECR's batch limits). */
export interface ApiCallEstimate {
  readonly total: number;
  readonly byStep: Readonly<Record<MigrationStep, number>>;
}

/** What {@link planMigration} finds. */
export interface MigrationPlan {
  readonly repositoryName: string;
  readonly repositoryArn: string;
  readonly from: EncryptionDescription;
  /** The target with the key by its canonical ARN; `undefined` when the key could not be resolved. */
  readonly to: EncryptionDescription | undefined;
  /** The repository already has this encryption (compared by canonical key ARN): nothing to do. */
  readonly nothingToDo: boolean;
  /** No blocker: `migrateRepository` would go ahead. */
  readonly ready: boolean;
  /** What would stop the migration, in words (each also a preflight finding or a warning). */
  readonly blockers: readonly string[];
  /** Every image by digest, in copy order (children before indexes, subjects before referrers). */
  readonly images: readonly PlannedImage[];
  readonly counts: {
    readonly images: number;
    readonly tagged: number;
    readonly untagged: number;
    readonly indexes: number;
    readonly indexChildren: number;
    readonly referrers: number;
    readonly archived: number;
    readonly tags: number;
  };
  /** Every tag and the digest it points to. */
  readonly tags: readonly { readonly tag: string; readonly digest: string }[];
  readonly blobs: {
    readonly count: number;
    readonly totalBytes: number;
    /** Blobs whose size no manifest gives (Docker v1), not in `totalBytes`. */
    readonly ofUnknownSize: number;
    /** Foreign layers, not stored in the registry: nothing to copy. */
    readonly external: number;
  };
  readonly settings: RepositorySettings;
  /** The target key and permissions, checked exactly as `createEncryptedRepository` checks them. */
  readonly preflight: { readonly ok: boolean; readonly findings: readonly Finding[] };
  readonly estimatedApiCalls: ApiCallEstimate;
  readonly warnings: readonly MigrationWarning[];
}

const MAX_NAME = 256;

/** The staging repository's name: a valid ECR name (≤ 256), deterministic from the migration id. */
export const stagingNameOf = (repositoryName: string, migrationId: string): string => {
  const name = `${repositoryName}-migrating-${migrationId}`;
  return name.length <= MAX_NAME ? name : `encrypted-ecr-migrating-${migrationId}`;
};

/** Migration ids are this many hexadecimal digits (6 random bytes). */
export const MIGRATION_ID_DIGITS = 12;

/**
 * Whether a replication rule's `PREFIX_MATCH` filter matches the staging repository: the one of
 * this migration when its id is known, otherwise any a migration of `repositoryName` could use.
 */
const filterMatchesStaging = (filter: string, repositoryName: string, migrationId: string | undefined): boolean => {
  if (migrationId !== undefined) return stagingNameOf(repositoryName, migrationId).startsWith(filter);
  const base = stagingNameOf(repositoryName, '0'.repeat(MIGRATION_ID_DIGITS)).slice(0, -MIGRATION_ID_DIGITS);
  return base.startsWith(filter) || (filter.startsWith(base) && /^[0-9a-f]*$/.test(filter.slice(base.length)) && filter.length - base.length <= MIGRATION_ID_DIGITS);
};

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

const describe = (e: EncryptionDescription | undefined): string =>
  e === undefined ? 'an unresolved key' : e.keyArn ? `${e.type} with ${e.keyArn}${e.awsManagedKey ? ' (aws/ecr)' : ''}` : e.type;

/** Whether an ECR prefix (templates, pull-through cache) covers a name: `ROOT` covers all, a `/` is implied. */
const prefixCovers = (prefix: string | undefined, name: string): boolean => {
  if (prefix === undefined || prefix === '') return false;
  if (prefix === 'ROOT') return true;
  const withSlash = prefix.endsWith('/') ? prefix : `${prefix}/`;
  return name.startsWith(withSlash);
};

/**
 * Registry-level settings that interact with a migration. Best effort: a read that is denied or
 * fails becomes a warning.
 */
export const registryWarnings = (ctx: RegistryContext, repositoryName: string, migrationId?: string): ResultAsync<MigrationWarning[], never> => {
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
  const staging = migrationId === undefined ? `the staging repository (${stagingNameOf(repositoryName, '<id>')})` : `the staging repository ${stagingNameOf(repositoryName, migrationId)}`;
  const replication = describeReplicationRules(ctx)
    .map((rules) =>
      rules.flatMap((rule, index): MigrationWarning[] => {
        const original = matching(rule, (f) => repositoryName.startsWith(f));
        const ofStaging = matching(rule, (f) => filterMatchesStaging(f, repositoryName, migrationId));
        return [
          ...(original === undefined
            ? []
            : [{ code: 'replicationRule' as const, message: `${ruleName(index, original)} covers ${repositoryName}: every image copied back is replicated again to ${destinationsOf(rule)}` }]),
          ...(ofStaging === undefined
            ? []
            : [{
                code: 'stagingReplicated' as const,
                message:
                  `${ruleName(index, ofStaging)} also covers ${staging}: ECR replicates every image copied into it to ${destinationsOf(rule)}, ` +
                  'where copies stay after the migration deletes the staging repository (delete them there yourself, or exclude the staging name from the rule)',
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

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** API calls per step, from the graph and ECR's batch and page limits. */
export const estimateApiCalls = (graph: ImageGraph, settings: RepositorySettings, kmsSource: boolean, kmsTarget: boolean): ApiCallEstimate => {
  const active = graph.images.filter((i) => i.status === 'ACTIVE');
  const n = active.length;
  const b = graph.blobs.length;
  const parts = graph.blobs.reduce((sum, blob) => sum + Math.max(1, ceilDiv(blob.size ?? 0, DEFAULT_PART_SIZE)), 0);
  const puts = active.reduce((sum, i) => sum + Math.max(1, i.tags.length), 0);
  const copy = ceilDiv(b, ECR_BATCH_LIMIT) + b * 3 + parts + puts;
  const verify = ceilDiv(n, ECR_BATCH_LIMIT) + Math.max(1, ceilDiv(graph.images.length, ECR_PAGE_LIMIT)) + ceilDiv(b, ECR_BATCH_LIMIT);
  // Preflight (caller, role, key, grants, simulation, repository), CreateRepository, read-back, grant poll.
  const create = 7 + (kmsTarget ? 3 : 0);
  // Describe, count images, key and grants before and after, DeleteRepository.
  const remove = (kms: boolean): number => 3 + Math.max(1, ceilDiv(n, ECR_PAGE_LIMIT)) + (kms ? 3 : 0);
  const byStep: Record<MigrationStep, number> = {
    // The freeze, GetLifecyclePolicy, and DeleteLifecyclePolicy (the pause) when there is one.
    freeze: 3 + (settings.lifecyclePolicy !== undefined ? 1 : 0),
    snapshot: Math.max(1, ceilDiv(graph.images.length, ECR_PAGE_LIMIT)) + ceilDiv(n, ECR_BATCH_LIMIT),
    createStaging: create,
    copyToStaging: copy,
    verifyStaging: verify,
    deleteOriginal: remove(kmsSource) + Math.max(1, ceilDiv(graph.images.length, ECR_PAGE_LIMIT)),
    // The freeze again, and DescribeImages: the frozen repository must still be empty.
    recreate: create + 2,
    copyBack: copy,
    verifyFinal: verify,
    restoreSettings: 3 + (settings.lifecyclePolicy !== undefined ? 1 : 0) + (settings.tags.length > 0 ? 1 : 0),
    deleteStaging: remove(kmsTarget),
  };
  return { total: MIGRATION_STEPS.reduce((sum, step) => sum + byStep[step], 0), byStep };
};

/** The plan's view of one image. */
const plannedImage = (graph: ImageGraph, digest: string): PlannedImage | undefined => {
  const image = graph.images.find((i) => i.digest === digest);
  if (image === undefined) return undefined;
  const role = image.children.length > 0 ? 'index' : image.subject !== undefined ? 'referrer' : image.parents.length > 0 ? 'child' : 'image';
  return {
    digest: image.digest,
    tags: image.tags,
    mediaType: image.mediaType,
    status: image.status,
    role,
    pushedAt: image.pushedAt,
    sizeInBytes: image.sizeInBytes,
  };
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

/**
 * Plans a migration. Reads only (with one exception shared with the creation preflight:
 * `DescribeKey("alias/aws/ecr")` creates the AWS-managed key on first use).
 *
 * @internal Use {@link EncryptedRegistry.planMigration}.
 */
export const planMigration = (ctx: RegistryContext, input: PlanMigrationInput): ResultAsync<MigrationPlan, PlanMigrationError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const name = validateRepositoryName((input as PlanMigrationInput | undefined)?.repositoryName);
  if (name.isErr()) return errAsync(name.error);
  const parsed = parseEncryption(input.encryption);
  if (parsed.isErr()) return errAsync(parsed.error);
  const repositoryName = name.value;
  const restoreArchived = input.restoreArchived === true;

  return describeRepository(ctx, repositoryName).andThen((repository) =>
    ResultAsync.combine([
      readSettings(ctx, repository, repositoryName),
      snapshotImages(ctx, repositoryName, input.signal ? { signal: input.signal } : {}),
      registryWarnings(ctx, repositoryName),
    ] as const).andThen(([settings, graph, registry]) =>
      preflight(ctx, preflightInputOf(repositoryName, input.encryption, settings)).map((report): MigrationPlan => {
        const from = encryptionOfRepository(repository);
        const to = targetOf(input.encryption, report);
        const nothingToDo = to !== undefined && sameEncryption(from, to);
        const findings = migrationFindings(report);
        const warnings: MigrationWarning[] = [];
        if (nothingToDo) warnings.push({ code: 'sameEncryption', message: `${repositoryName} already has ${describe(to)}: nothing to do` });
        warnings.push(...graphWarnings(graph, settings, restoreArchived), ...registry);

        const blockers = [
          ...findings.filter((f) => f.severity === 'error').map((f) => `${f.check}: ${f.message}`),
          ...(graph.archived.length > 0 && !restoreArchived ? [`${graph.archived.length} archived image(s): restore them first, or pass restoreArchived: true`] : []),
        ];
        const images = graph.images.flatMap((i) => plannedImage(graph, i.digest) ?? []);
        const tags = graph.images.flatMap((i) => i.tags.map((tag) => ({ tag, digest: i.digest })));
        const fromKms = from.type !== 'AES256';
        const toKms = to !== undefined && to.type !== 'AES256';
        return {
          repositoryName,
          repositoryArn: repository.repositoryArn ?? '',
          from,
          to,
          nothingToDo,
          ready: !nothingToDo && blockers.length === 0,
          blockers,
          images,
          counts: {
            images: images.length,
            tagged: images.filter((i) => i.tags.length > 0).length,
            untagged: images.filter((i) => i.tags.length === 0).length,
            indexes: images.filter((i) => i.role === 'index').length,
            indexChildren: images.filter((i) => i.role === 'child').length,
            referrers: images.filter((i) => i.role === 'referrer').length,
            archived: graph.archived.length,
            tags: tags.length,
          },
          tags,
          blobs: { count: graph.blobs.length, totalBytes: graph.totalBytes, ofUnknownSize: graph.blobsOfUnknownSize, external: graph.externalBlobs.length },
          settings,
          preflight: { ok: !findings.some((f) => f.severity === 'error'), findings },
          estimatedApiCalls: estimateApiCalls(graph, settings, fromKms, toKms),
          warnings,
        };
      }),
    ),
  );
};
