/**
 * `planMigration`: everything a migration would do and meet, without changing anything — the
 * image graph, the blobs, the settings to carry, the target key's preflight, an estimate of the
 * API calls, and warnings (archived images, registry rules that could recreate the name with
 * other encryption while it is free, what cannot be kept).
 */
import { ResultAsync, errAsync } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import { MIGRATION_STEPS, type MigrationStep, type PlanMigrationError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
// encryptionOfRepository, preflight and sameEncryption still live in operations/preflight.ts;
// another change moves them down (src/encryption/, src/preflight/): adapt this import when it lands.
import { encryptionOfRepository, sameEncryption } from '../encryption/compare.js';
import { preflight } from '../preflight/index.js';
import { ECR_BATCH_LIMIT, ECR_PAGE_LIMIT } from '../steps/ecr-images.js';
import { describeReplicationRules } from '../steps/ecr-migration.js';
import { describeRepository } from '../steps/ecr-repository.js';
import type { EncryptionDescription } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { DEFAULT_PART_SIZE } from './blob-transfer.js';
import { migrationFindings, preflightInputOf, readSettings, targetOf } from './settings.js';
import { type ImageGraph, snapshotImages } from './snapshot.js';
import type { ApiCallEstimate, MigrationPlan, MigrationWarning, PlanMigrationInput, PlannedImage, RepositorySettings } from './types.js';
import { againstTarget, chooseStagingName, type ReplicaStatus, type ReplicationPlan, replicasOf } from './replication.js';
import { stagingNameOf } from './staging-name.js';
import { graphWarnings, registryWarnings } from './warnings.js';

/** Stands for the migration id in the plan (the id is chosen when the migration starts). */
const PLACEHOLDER_ID = '<id>';

/** The replication side of a plan; never fails (unreadable rules: no replica listed, and a `registryReadDenied` warning). */
const replicationPlan = (ctx: RegistryContext, repositoryName: string, rules: ReturnType<typeof describeReplicationRules>, input: PlanMigrationInput): ResultAsync<ReplicationPlan, never> =>
  ResultAsync.fromSafePromise(
    (async (): Promise<ReplicationPlan> => {
      const read = await rules;
      if (read.isErr()) return { stagingName: stagingNameOf(repositoryName, PLACEHOLDER_ID), rulesRead: false, stagingReplicatedTo: [], replicas: [] };
      const choice = chooseStagingName(repositoryName, PLACEHOLDER_ID, read.value);
      const region = (await ctx.region()).unwrapOr('');
      const replicas = await replicasOf(ctx, region, repositoryName, read.value, input.replicaClients);
      return { stagingName: choice.name, rulesRead: true, stagingReplicatedTo: choice.replicatedTo, replicas: replicas.unwrapOr([]) };
    })(),
  );

/** What the plan says of the repository's replicas: each one that keeps other encryption, each one that could not be read. */
const replicaWarnings = (name: string, replicas: readonly ReplicaStatus[]): MigrationWarning[] =>
  replicas.flatMap((r): MigrationWarning[] => {
    const where = `${r.registryId}/${r.region}`;
    if (r.matchesTarget === false && r.encryption !== undefined) {
      const has = `${r.encryption.type}${r.encryption.kmsKey !== undefined ? ` with ${r.encryption.kmsKey}` : ''}`;
      return [{ code: 'replicaWeaker', message: `the replica of ${name} in ${where} has ${has} and keeps it (replication never changes a replica's encryption): migrate it there with: ${r.migrateCommand ?? ''}` }];
    }
    if (r.status === 'unknown') return [{ code: 'replicaWeaker', message: `the replica of ${name} in ${where} could not be read (${r.reason ?? 'unknown'}): its encryption is unknown; check it there` }];
    return [];
  });

const describe = (e: EncryptionDescription | undefined): string =>
  e === undefined ? 'an unresolved key' : e.keyArn ? `${e.type} with ${e.keyArn}${e.awsManagedKey ? ' (aws/ecr)' : ''}` : e.type;

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

/** API calls per step, from the graph and ECR's batch and page limits. */
const estimateApiCalls = (graph: ImageGraph, settings: RepositorySettings, kmsSource: boolean, kmsTarget: boolean): ApiCallEstimate => {
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

  return describeRepository(ctx, repositoryName).andThen((repository) => {
    const rules = describeReplicationRules(ctx);
    const replication = replicationPlan(ctx, repositoryName, rules, input);
    return ResultAsync.combine([
      readSettings(ctx, repository, repositoryName),
      snapshotImages(ctx, repositoryName, input.signal ? { signal: input.signal } : {}),
      replication.andThen((r) => registryWarnings(ctx, repositoryName, undefined, { name: r.stagingName, rules })),
      replication,
    ] as const).andThen(([settings, graph, registry, replicationOf]) =>
      preflight(ctx, preflightInputOf(repositoryName, input.encryption, settings)).map((report): MigrationPlan => {
        const from = encryptionOfRepository(repository);
        const to = targetOf(input.encryption, report);
        const nothingToDo = to !== undefined && sameEncryption(from, to);
        const findings = migrationFindings(report);
        const warnings: MigrationWarning[] = [];
        if (nothingToDo) warnings.push({ code: 'sameEncryption', message: `${repositoryName} already has ${describe(to)}: nothing to do` });
        warnings.push(...graphWarnings(graph, settings, restoreArchived), ...registry);
        const account = /^arn:[^:]+:ecr:[^:]*:(\d+):/.exec(repository.repositoryArn ?? '')?.[1];
        const replicas = replicationOf.replicas.map((r) => againstTarget(r, repositoryName, to, account));
        warnings.push(...replicaWarnings(repositoryName, replicas));

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
          replication: { ...replicationOf, replicas },
          warnings,
        };
      }),
    );
  });
};
