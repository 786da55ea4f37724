/**
 * The orphaned-grant rules of the sweeps: which of a key's ECR grants belong to no live incarnation
 * (the repository is gone, or the grant predates the live repository of the name), which cannot
 * be checked from here, and which are a live repository's (never touched). Fail-closed: a grant
 * whose lifetime cannot be placed is never an orphan.
 */
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { ecrRepositoryArnOf, GRANT_CLOCK_SKEW_MS, GRANTS_PER_KEY_QUOTA, isEcrGrantee, isEcrGrantFor, predates } from './rules.js';

/** Why a grant is orphaned. */
export type OrphanReason = 'repository-deleted' | 'older-incarnation';

/** A grant ECR made for a repository that is gone, or for an older incarnation of its name. */
export interface OrphanedGrant {
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly creationDate: Date | undefined;
  readonly reason: OrphanReason;
}

/**
 * Why a grant's repository could not be checked, so the grant is left alone:
 * - `other-account` / `other-region`: the repository is not in this registry;
 * - `malformed-arn`: `aws:ecr:arn` is no repository ARN;
 * - `too-recent`: its repository is not listed, but the grant is younger than the clock tolerance
 *   (a repository being created right now); decidable after `decidableAfter`;
 * - `ambiguous-incarnation`: its repository exists, and the grant was created before it, but
 *   within the clock tolerance: the grant of an older incarnation of a name recreated within
 *   60 s, or (if ECR stamps `createdAt` after creating its grants) the live repository's own. No
 *   waiting tells them apart: it is decided once the live repository is deleted (its grants are
 *   then orphans a sweep retires), so `decidableAfter` is `undefined`.
 * - `no-creation-date`: ListGrants gave no `CreationDate`, so no lifetime can be checked.
 */
export type UnverifiableReason = 'other-account' | 'other-region' | 'malformed-arn' | 'too-recent' | 'ambiguous-incarnation' | 'no-creation-date';

/** An ECR grant whose repository cannot be checked from here. Never retired. */
export interface UnverifiableGrant {
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly creationDate: Date | undefined;
  readonly reason: UnverifiableReason;
  /** From when a sweep can decide this grant, when waiting is what it takes (`too-recent`). */
  readonly decidableAfter: Date | undefined;
}

/** Room left for grants on a key. */
export interface GrantHeadroom {
  /** 50,000 for a customer-managed key; `undefined` for an AWS-managed key (no quota). */
  readonly quota: number | undefined;
  /** Grants on the key, from every service. */
  readonly used: number;
  /** `quota - used`; `undefined` when there is no quota. */
  readonly remaining: number | undefined;
}

const ECR_REPOSITORY_ARN = /^arn:[a-z0-9-]+:ecr:([a-z0-9-]+):(\d{12}):repository\/(.+)$/;

/**
 * A grant created this much before its live repository's `createdAt` still counts as created with
 * it: `createdAt` may be stamped at the start of CreateRepository or truncated to the second.
 * GUESS: AWS does not document when ECR stamps `createdAt` relative to its CreateGrant calls.
 */
const SAME_CALL_MARGIN_MS = 1_000;
export interface Classified {
  readonly ecrGrants: number;
  readonly orphans: OrphanedGrant[];
  readonly unverifiable: UnverifiableGrant[];
}

type Locality = { readonly local: true } | { readonly local: false; readonly reason: UnverifiableReason };

export const localityOf = (repositoryArn: string, region: string, account: string): Locality => {
  const match = ECR_REPOSITORY_ARN.exec(repositoryArn);
  if (!match) return { local: false, reason: 'malformed-arn' };
  if (match[2] !== account) return { local: false, reason: 'other-account' };
  if (match[1] !== region) return { local: false, reason: 'other-region' };
  return { local: true };
};

/**
 * ECR's grants: an `aws:ecr:arn` constraint and an ECR service principal as grantee (nothing else
 * is documented). Only those whose grantee is ECR of the ARN's own region can be orphans.
 */
export const ecrGrantsOf = (grants: readonly GrantListEntry[]): { grant: GrantListEntry & { GrantId: string }; repositoryArn: string }[] =>
  grants.flatMap((grant) => {
    const repositoryArn = ecrRepositoryArnOf(grant);
    return repositoryArn !== undefined && grant.GrantId && isEcrGrantee(grant)
      ? [{ grant: { ...grant, GrantId: grant.GrantId }, repositoryArn }]
      : [];
  });

/** The repository name in an ECR repository ARN. */
export const nameOfRepositoryArn = (repositoryArn: string): string | undefined => ECR_REPOSITORY_ARN.exec(repositoryArn)?.[3];

/**
 * Sorts a key's ECR grants. `repositories` maps the ARN of every repository of this registry to
 * its `createdAt` (listed after the grants, so a grant's repository, if it exists, is in it).
 */
export const classify = (
  grants: readonly GrantListEntry[],
  repositories: ReadonlyMap<string, Date | undefined>,
  region: string,
  account: string,
  now: Date,
): Classified => {
  const orphans: OrphanedGrant[] = [];
  const unverifiable: UnverifiableGrant[] = [];
  const ecr = ecrGrantsOf(grants);
  for (const { grant, repositoryArn } of ecr) {
    const base = { grantId: grant.GrantId, repositoryArn, creationDate: grant.CreationDate };
    const matching = localityOf(repositoryArn, region, account);
    // A grant to ECR of another region than its repository's is no grant ECR made for it here.
    const locality: Locality = matching.local && !isEcrGrantFor(grant, repositoryArn) ? { local: false, reason: 'other-region' } : matching;
    if (!locality.local) {
      unverifiable.push({ ...base, reason: locality.reason, decidableAfter: undefined });
      continue;
    }
    const created = grant.CreationDate?.getTime();
    if (created === undefined) {
      // Nothing places it in a lifetime: never an orphan.
      unverifiable.push({ ...base, reason: 'no-creation-date', decidableAfter: undefined });
      continue;
    }
    if (!repositories.has(repositoryArn)) {
      // A repository being created right now may have its grants before it is listed.
      if (created > now.getTime() - GRANT_CLOCK_SKEW_MS) {
        unverifiable.push({ ...base, reason: 'too-recent', decidableAfter: new Date(created + GRANT_CLOCK_SKEW_MS) });
      } else orphans.push({ ...base, reason: 'repository-deleted' });
      continue;
    }
    const repositoryCreatedAt = repositories.get(repositoryArn);
    // An unknown creation time: assume the live repository's, never an orphan.
    if (repositoryCreatedAt === undefined) continue;
    if (predates(grant.CreationDate, repositoryCreatedAt)) orphans.push({ ...base, reason: 'older-incarnation' });
    else if (created < repositoryCreatedAt.getTime() - SAME_CALL_MARGIN_MS) {
      // Before the live repository, within the tolerance: maybe an older incarnation's (D16).
      unverifiable.push({ ...base, reason: 'ambiguous-incarnation', decidableAfter: undefined });
    }
  }
  return { ecrGrants: ecr.length, orphans, unverifiable };
};

/**
 * Whether an orphan is still one by the check made right before retiring it: its repository is
 * absent now (`undefined`), or the repository of that name now was created after the grant (less
 * the clock tolerance), so it is a later incarnation and the grant is not its.
 */
export const isStillOrphaned = (orphan: OrphanedGrant, repositoryNow: { readonly createdAt?: Date | undefined } | undefined): boolean =>
  repositoryNow === undefined || (repositoryNow.createdAt !== undefined && predates(orphan.creationDate, repositoryNow.createdAt));

/**
 * How long past a grant's `decidableAfter` a sweep waits before sweeping again: a margin for the
 * clocks of KMS and of this machine, and for a pause that ends a little early.
 */
const DECIDABLE_MARGIN_MS = 1_000;

/** A wait for grants too recent to decide: how many, and when the last of them is decidable. */
export interface DecidableWait {
  readonly grants: number;
  readonly until: Date;
}

/**
 * The too-recent grants among `unverifiable` that become decidable by `deadline`, and when the last
 * of them is (its `decidableAfter`, plus a margin); `undefined` when none does. Grants unverifiable
 * for another reason are never waited for: no waiting decides them.
 */
export const decidableBy = (unverifiable: readonly UnverifiableGrant[], deadline: Date): DecidableWait | undefined => {
  const times = unverifiable
    .flatMap((u) => (u.decidableAfter !== undefined ? [u.decidableAfter.getTime() + DECIDABLE_MARGIN_MS] : []))
    .filter((t) => t <= deadline.getTime());
  return times.length === 0 ? undefined : { grants: times.length, until: new Date(Math.max(...times)) };
};

export const headroomOf = (keyManager: 'AWS' | 'CUSTOMER', used: number): GrantHeadroom =>
  keyManager === 'CUSTOMER'
    ? { quota: GRANTS_PER_KEY_QUOTA, used, remaining: GRANTS_PER_KEY_QUOTA - used }
    : { quota: undefined, used, remaining: undefined };

