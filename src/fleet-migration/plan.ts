/**
 * The fleet plan: `planMigration` for each selected repository (a few at once), summed, with the
 * calls to each rate-limited API and the least duration they take at the quotas in force.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import { okAsync, ResultAsync } from 'neverthrow';
import type { GenericAwsError, InvalidInput, KeyNotFound, RegistryError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { mapPool } from '../internal/pool.js';
import { AWS_RATE_QUOTAS } from '../internal/rate-quotas.js';
import { type MigrationPlan, planMigration } from '../migration/index.js';
import { listAllRepositories } from '../steps/ecr-repository.js';
import type { EncryptionSpec } from '../types.js';
import { resolveFilterKeys } from './keys.js';
import { isStagingName, matchesFilter } from './where.js';
import type { MigrateRepositoriesInput, PlannedRepositoryMigration, RepositoriesMigrationPlan } from './types.js';

/** Plans read only: this many repositories are planned at once. */
const PLAN_CONCURRENCY = 4;
/** The part size of layer uploads (`blob-transfer.ts`). */
const PART_SIZE = 10 * 1024 * 1024;
/** ECR's batch limit (BatchCheckLayerAvailability, BatchGetImage). */
const BATCH = 100;

/**
 * The names a fleet migration selects: every repository (one paged DescribeRepositories) matching
 * `where`, restricted to `repositoryNames` when given; named repositories without `where` are taken
 * as named (a missing one fails when planned). Sorted, without staging repositories. The filter's
 * key aliases and key ids are resolved to key ARNs first (`keys.ts`): one that names no key fails
 * the selection.
 */
export const selectRepositories = (
  ctx: RegistryContext,
  input: MigrateRepositoriesInput,
): ResultAsync<string[], GenericAwsError | KeyNotFound | InvalidInput> => {
  const named = input.repositoryNames === undefined ? undefined : [...new Set(input.repositoryNames)];
  if (input.where === undefined) return okAsync((named ?? []).filter((n) => !isStagingName(n)).sort());
  const where = input.where;
  return ctx
    .region()
    .andThen((region) => resolveFilterKeys(ctx, where, region))
    .andThen((resolved) =>
      listAllRepositories(ctx).map((repositories: Repository[]) =>
        repositories
          .filter(matchesFilter(resolved))
          .flatMap((r) => (r.repositoryName === undefined ? [] : [r.repositoryName]))
          .filter((n) => named === undefined || named.includes(n))
          .sort(),
      ),
    );
};

/** Calls to the rate-limited APIs one migration makes (copy to staging and back: two of each copy). */
const quotaCallsOf = (plan: MigrationPlan): Record<string, number> => {
  const active = plan.images.filter((i) => i.status === 'ACTIVE');
  const puts = active.reduce((sum, i) => sum + Math.max(1, i.tags.length), 0);
  const blobs = plan.blobs.count;
  const parts = blobs + Math.floor(plan.blobs.totalBytes / PART_SIZE);
  const kmsFrom = plan.from.type !== 'AES256';
  const kmsTo = plan.to !== undefined && plan.to.type !== 'AES256';
  return {
    'ecr:PutImage': 2 * puts,
    'ecr:InitiateLayerUpload': 2 * blobs,
    'ecr:CompleteLayerUpload': 2 * blobs,
    'ecr:UploadLayerPart': 2 * parts,
    'ecr:BatchCheckLayerAvailability': 2 * Math.ceil(blobs / BATCH),
    'ecr:GetDownloadUrlForLayer': 2 * blobs,
    'ecr:BatchGetImage': 4 * Math.ceil(active.length / BATCH),
    // ECR's own grant calls count against the key's account quotas: two per KMS repository created or deleted.
    'kms:CreateGrant': kmsTo ? 4 : 0,
    'kms:RetireGrant': (kmsFrom ? 2 : 0) + (kmsTo ? 2 : 0),
  };
};

const messageOf = (error: RegistryError): string =>
  'reason' in error && typeof error.reason === 'string' ? error.reason : 'message' in error && typeof error.message === 'string' ? error.message : error.kind;

const plannedOf = (name: string, planned: Awaited<ReturnType<typeof planMigration>>): PlannedRepositoryMigration => {
  if (planned.isErr()) {
    return {
      repositoryName: name,
      from: undefined,
      nothingToDo: false,
      ready: false,
      blockers: [`${planned.error.kind}: ${messageOf(planned.error)}`],
      images: 0,
      bytes: 0,
      estimatedApiCalls: 0,
      quotaCalls: {},
      error: { kind: planned.error.kind, message: messageOf(planned.error) },
    };
  }
  const p = planned.value;
  return {
    repositoryName: name,
    from: p.from,
    nothingToDo: p.nothingToDo,
    ready: p.ready,
    blockers: p.blockers,
    images: p.counts.images,
    bytes: p.blobs.totalBytes,
    estimatedApiCalls: p.nothingToDo ? 0 : p.estimatedApiCalls.total,
    quotaCalls: p.nothingToDo ? {} : quotaCallsOf(p),
  };
};

/** The quotas in force: the registry's governor's, else AWS's defaults. */
const quotasOf = (ctx: RegistryContext): Readonly<Record<string, number>> =>
  ctx.rate === undefined ? AWS_RATE_QUOTAS : Object.fromEntries(ctx.rate.snapshot().map((g) => [g.api, g.quota]));

/** Sums the repositories' plans into the fleet plan. */
export const fleetPlanOf = (
  ctx: RegistryContext,
  region: string,
  encryption: EncryptionSpec,
  repositories: readonly PlannedRepositoryMigration[],
): RepositoriesMigrationPlan => {
  const calls: Record<string, number> = {};
  for (const r of repositories) for (const [api, n] of Object.entries(r.quotaCalls)) calls[api] = (calls[api] ?? 0) + n;
  const quotas = quotasOf(ctx);
  let binding: RepositoriesMigrationPlan['bindingQuota'];
  for (const [api, n] of Object.entries(calls)) {
    const perSecond = quotas[api];
    if (perSecond === undefined || n === 0) continue;
    if (binding === undefined || n / perSecond > binding.calls / binding.perSecond) binding = { api, calls: n, perSecond };
  }
  const sum = (f: (r: PlannedRepositoryMigration) => number): number => repositories.reduce((s, r) => s + f(r), 0);
  return {
    region,
    encryption,
    repositories,
    totals: {
      repositories: repositories.length,
      toMigrate: repositories.filter((r) => r.ready).length,
      nothingToDo: repositories.filter((r) => r.nothingToDo).length,
      blocked: repositories.filter((r) => !r.ready && !r.nothingToDo).length,
      images: sum((r) => r.images),
      bytes: sum((r) => (r.nothingToDo ? 0 : r.bytes)),
      estimatedApiCalls: sum((r) => r.estimatedApiCalls),
    },
    bindingQuota: binding,
    estimatedSeconds: binding === undefined ? 0 : Math.ceil(binding.calls / binding.perSecond),
  };
};

/** Plans every selected repository; one that cannot be planned is a row with its error, never a failure of the whole. */
export const planRepositories = (
  ctx: RegistryContext,
  names: readonly string[],
  encryption: EncryptionSpec,
  restoreArchived: boolean,
  signal: AbortSignal | undefined,
): ResultAsync<{ planned: PlannedRepositoryMigration[]; errors: Map<string, RegistryError> }, never> =>
  ResultAsync.fromSafePromise(
    mapPool(names, PLAN_CONCURRENCY, async (name) => ({
      name,
      r: await planMigration(ctx, { repositoryName: name, encryption, restoreArchived, ...(signal ? { signal } : {}) }),
    })).then((all) => ({
      planned: all.map(({ name, r }) => plannedOf(name, r)),
      errors: new Map(all.flatMap(({ name, r }) => (r.isErr() ? [[name, r.error as RegistryError] as const] : []))),
    })),
  );
