/**
 * Replication and the migration: a staging name no replication rule matches, and the replicas of
 * the repository in each destination.
 *
 * ECR replication rules filter repositories by `PREFIX_MATCH` on the repository name (the only
 * filter type, ECR API `RepositoryFilter`); a rule without filters replicates every repository
 * ("If no filters are added, the contents of all repositories are replicated", ECR User Guide,
 * replication). The default staging name `<name>-migrating-<id>` starts with `<name>`, so every
 * prefix of `<name>` matches it: each image copied into staging would be replicated to every
 * destination of the rule, and "registry replication doesn't perform any delete actions".
 */
import type { ECRClient, ReplicationDestination, ReplicationRule } from '@aws-sdk/client-ecr';
import { DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { okAsync, ResultAsync } from 'neverthrow';
import { awsCall } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { stagingNameOf } from './staging-name.js';

/** A destination registry of replication. */
export interface ReplicationTarget {
  readonly region: string;
  readonly registryId: string;
}

/** Whether a replication rule covers a repository name: no filter covers all; else one `PREFIX_MATCH` filter must match. */
export const ruleCovers = (rule: ReplicationRule, name: string): boolean => {
  const filters = rule.repositoryFilters ?? [];
  if (filters.length === 0) return true;
  // An unknown filter type is taken as matching: assume the worst.
  return filters.some((f) => f.filterType !== 'PREFIX_MATCH' || (f.filter !== undefined && name.startsWith(f.filter)));
};

/** The destinations of the rules covering `name`, once each. */
export const targetsOf = (rules: readonly ReplicationRule[], name: string): ReplicationTarget[] => {
  const seen = new Map<string, ReplicationTarget>();
  for (const rule of rules.filter((r) => ruleCovers(r, name))) {
    for (const d of rule.destinations ?? ([] as ReplicationDestination[])) {
      if (d.region === undefined || d.registryId === undefined) continue;
      seen.set(`${d.registryId}/${d.region}`, { region: d.region, registryId: d.registryId });
    }
  }
  return [...seen.values()];
};

/** First characters tried for a staging name that avoids every rule's prefix. */
const FIRST = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** The staging name of a migration, and whether replication will copy what is pushed to it. */
export interface StagingChoice {
  readonly name: string;
  /** Where replication will create copies of the staging repository (empty when no rule covers the name). */
  readonly replicatedTo: readonly ReplicationTarget[];
}

/**
 * A staging name no replication rule covers: `<name>-migrating-<id>` when no rule covers it, else
 * `encrypted-ecr-migrating-<id>`, else `<c>-encrypted-ecr-migrating-<id>` for the first character
 * `c` no filter starts with. When every name is covered (a rule without filters, or filters
 * starting with every character), the default name, with the destinations its copies will reach.
 */
export const chooseStagingName = (repositoryName: string, migrationId: string, rules: readonly ReplicationRule[]): StagingChoice => {
  const preferred = stagingNameOf(repositoryName, migrationId);
  const candidates = [preferred, `encrypted-ecr-migrating-${migrationId}`, ...[...FIRST].map((c) => `${c}-encrypted-ecr-migrating-${migrationId}`)];
  const free = candidates.find((name) => !rules.some((rule) => ruleCovers(rule, name)));
  return free !== undefined ? { name: free, replicatedTo: [] } : { name: preferred, replicatedTo: targetsOf(rules, preferred) };
};

/** A replica of the repository in one destination, as the plan reports it. */
export interface ReplicaStatus extends ReplicationTarget {
  /** `exists`, `absent`, or `unknown` (no client for the region, access denied, …: see `reason`). */
  readonly status: 'exists' | 'absent' | 'unknown';
  /** The replica's encryption, when it exists. */
  readonly encryption?: { readonly type: string; readonly kmsKey?: string };
  /** The replica's ARN, when it exists. */
  readonly arn?: string;
  readonly reason?: string;
  /**
   * In a plan: whether the replica already has the target encryption (same type, and the same key
   * when the target names one). Replication never changes a replica's encryption: one that differs
   * stays so after the migration until it is migrated in its own registry (`migrateCommand`).
   */
  readonly matchesTarget?: boolean;
  /** In a plan, for a replica that does not match the target: the command that plans its migration in its destination. */
  readonly migrateCommand?: string;
}

/** The encryption as the plan compares it: `to` of the plan. */
interface TargetEncryption {
  readonly type: string;
  readonly keyArn?: string | undefined;
  readonly awsManagedKey?: boolean | undefined;
}

/**
 * A replica with what the plan says of it: whether it has the target encryption, and if not the
 * `encrypted-ecr migrate … --plan` command for its destination (a key of the destination's region
 * as a placeholder: KMS keys are regional; `--profile` of the destination account when it is another).
 */
export const againstTarget = (replica: ReplicaStatus, name: string, to: TargetEncryption | undefined, account: string | undefined): ReplicaStatus => {
  if (replica.status !== 'exists' || replica.encryption === undefined || to === undefined) return replica;
  const customerKey = to.type !== 'AES256' && to.awsManagedKey !== true && to.keyArn !== undefined;
  const matches = replica.encryption.type === to.type && (!customerKey || replica.encryption.kmsKey === to.keyArn);
  if (matches) return { ...replica, matchesTarget: true };
  const key = customerKey ? ` --kms-key <a key of ${replica.registryId} in ${replica.region}>` : '';
  const encryption = to.type === 'KMS' && customerKey ? '' : ` --encryption ${to.type}`;
  const profile = account !== undefined && replica.registryId !== account ? ` --profile <a profile of ${replica.registryId}>` : '';
  return { ...replica, matchesTarget: false, migrateCommand: `encrypted-ecr migrate ${name} --region ${replica.region}${profile}${encryption}${key} --plan` };
};

/**
 * The ECR client given for a destination: by `<registryId>/<region>`, else by `<region>` (a
 * client of the registry's own account, or one the destination's policies let read it).
 */
export const clientFor = <C>(clients: Readonly<Record<string, C>> | undefined, target: ReplicationTarget): C | undefined =>
  clients?.[`${target.registryId}/${target.region}`] ?? clients?.[target.region];

/** What replication means for one migration (in the plan). */
export interface ReplicationPlan {
  /** The staging name the migration will use (`<id>` stands for the migration id, chosen when it starts). */
  readonly stagingName: string;
  /** Whether the replication rules could be read (DescribeRegistry); when not, nothing below is known. */
  readonly rulesRead: boolean;
  /**
   * Destinations where replication will create a copy of the staging repository (every name is
   * covered by a rule): the migration leaves those copies; delete them after it (see the warning).
   */
  readonly stagingReplicatedTo: readonly ReplicationTarget[];
  /** The repository's replicas, one per destination of the rules covering it; empty when none does. */
  readonly replicas: readonly ReplicaStatus[];
}

const unknown = (target: ReplicationTarget, reason: string): ResultAsync<ReplicaStatus, never> => okAsync({ ...target, status: 'unknown', reason });

/** The repository in one destination registry; never fails: a failed read is `unknown`. */
export const describeIn = (client: ECRClient, ctx: RegistryContext, target: ReplicationTarget, name: string): ResultAsync<ReplicaStatus, never> =>
  awsCall(
    ctx,
    'ecr',
    'DescribeRepositories',
    (o) => client.send(new DescribeRepositoriesCommand({ registryId: target.registryId, repositoryNames: [name] }), o),
    (e): { readonly kind: 'absent' } | undefined => (e.name === 'RepositoryNotFoundException' ? { kind: 'absent' } : undefined),
  )
    .map((out): ReplicaStatus => {
      const r = out.repositories?.[0];
      if (r === undefined) return { ...target, status: 'unknown', reason: 'DescribeRepositories answered no repository' };
      const c = r.encryptionConfiguration;
      return {
        ...target,
        status: 'exists',
        encryption: { type: c?.encryptionType ?? 'AES256', ...(c?.kmsKey !== undefined ? { kmsKey: c.kmsKey } : {}) },
        ...(r.repositoryArn !== undefined ? { arn: r.repositoryArn } : {}),
      };
    })
    .orElse((e) => (e.kind === 'absent' ? okAsync<ReplicaStatus, never>({ ...target, status: 'absent' }) : unknown(target, `${e.kind}${'message' in e ? `: ${e.message}` : ''}`)));

/**
 * The replicas of `repositoryName` in each destination of the rules covering it: DescribeRepositories
 * in the destination (with `registryId`), through `ctx.ecr` for the registry's region, or the client
 * given for another region; `unknown` when there is none or the read fails.
 */
export const replicasOf = (
  ctx: RegistryContext,
  region: string,
  repositoryName: string,
  rules: readonly ReplicationRule[],
  clients: Readonly<Record<string, ECRClient>> = {},
): ResultAsync<ReplicaStatus[], never> =>
  ResultAsync.combine(
    targetsOf(rules, repositoryName).map((target): ResultAsync<ReplicaStatus, never> => {
      const client =
        clients[`${target.registryId}/${target.region}`] ?? (target.region === region ? ctx.ecr : (clients[target.region] ?? ctx.regionClients?.(target.region).ecr));
      return client === undefined ? unknown(target, `no ECR client for ${target.region} (pass replicaClients)`) : describeIn(client, ctx, target, repositoryName);
    }),
  );
