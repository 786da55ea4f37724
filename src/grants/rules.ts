/**
 * The rules that decide whether a KMS grant is ECR's, which repository it is for, and which
 * incarnation of that repository's name made it: the one place the library decides whose a grant
 * is. Pure functions over `ListGrants` entries; the SDK calls are in `steps/kms-grants.ts`.
 *
 * Identification is fail-closed, by what AWS documents only (ECR User Guide, encryption at rest and
 * CloudTrail logging): ECR's grant has the grantee `ecr.<region>.amazonaws.com` and the constraint
 * `EncryptionContextSubset {"aws:ecr:arn": <repository ARN>}`. Neither its operations nor the shape
 * of ECR's second grant is relied on.
 */
import type { GrantListEntry } from '@aws-sdk/client-kms';

/** Grants per customer-managed key (adjustable quota); AWS-managed keys have none. */
export const GRANTS_PER_KEY_QUOTA = 50_000;

/**
 * Clock tolerance between ECR's `createdAt` and KMS's grant `CreationDate`. It errs on the safe
 * side: a grant created shortly before a repository is taken as that repository's, so a live
 * repository's grant is never called an orphan; at worst an orphan is kept one more sweep.
 */
export const GRANT_CLOCK_SKEW_MS = 60_000;

/**
 * How long a grant just created or retired may be missing from (or still shown by) ListGrants:
 * "usually less than five minutes" (KMS Developer Guide, grants: eventual consistency).
 */
export const GRANT_CONSISTENCY_MS = 5 * 60_000;

/**
 * How many grants ECR documents creating for a KMS-encrypted repository ("Amazon ECR sends two
 * CreateGrant requests", ECR User Guide, encryption at rest). Only the first grant's shape is
 * documented; nothing here assumes the second one's operations or constraints, and a repository
 * with fewer identified grants than this is reported as not verifiable, never as clean.
 */
export const ECR_DOCUMENTED_GRANTS = 2;

const ECR_ARN_KEY = 'aws:ecr:arn';

/** The region of a repository ARN (`arn:<partition>:ecr:<region>:<account>:repository/<name>`). */
const regionOfRepositoryArn = (repositoryArn: string): string | undefined => /^arn:[a-z0-9-]+:ecr:([a-z0-9-]+):/.exec(repositoryArn)?.[1];

/** Every `aws:ecr:arn` value in a grant's constraints (keys are case-insensitive, values case-sensitive). */
const ecrArnConstraintsOf = (grant: GrantListEntry): string[] => {
  const values: string[] = [];
  for (const context of [grant.Constraints?.EncryptionContextSubset, grant.Constraints?.EncryptionContextEquals]) {
    for (const [key, value] of Object.entries(context ?? {})) {
      if (key.toLowerCase() === ECR_ARN_KEY) values.push(value);
    }
  }
  return values;
};

/**
 * The repository ARN a grant is constrained to through `aws:ecr:arn`, in `EncryptionContextSubset`
 * or `EncryptionContextEquals`. `undefined` without such a constraint, and when two constraints
 * disagree (no repository can be named then).
 */
export const ecrRepositoryArnOf = (grant: GrantListEntry): string | undefined => {
  const values = new Set(ecrArnConstraintsOf(grant));
  return values.size === 1 ? [...values][0] : undefined;
};

/** Whether any `aws:ecr:arn` constraint of the grant names this repository ARN (whoever the grantee). */
export const isConstrainedTo = (grant: GrantListEntry, repositoryArn: string): boolean => ecrArnConstraintsOf(grant).includes(repositoryArn);

const ECR_PRINCIPAL = /^ecr\.([a-z0-9-]+)\.amazonaws\.com$/;

/** The grantee principals of a grant: `GranteePrincipal`, and `GranteeServicePrincipal` for grants made that way. */
const granteesOf = (grant: GrantListEntry): string[] =>
  [grant.GranteePrincipal, (grant as { GranteeServicePrincipal?: string }).GranteeServicePrincipal].filter((p): p is string => typeof p === 'string');

/**
 * Whether the grant's grantee is ECR's regional service principal `ecr.<region>.amazonaws.com`
 * (in `GranteePrincipal` or `GranteeServicePrincipal`), for `region` when given. The retiring
 * principal proves nothing: anyone can name ECR as the retiring principal of their own grant.
 */
export const isEcrGrantee = (grant: GrantListEntry, region?: string): boolean =>
  granteesOf(grant).some((p) => {
    const match = ECR_PRINCIPAL.exec(p);
    return match !== null && (region === undefined || match[1] === region);
  });

/** A grant made for ECR (its grantee is an `ecr.<region>.amazonaws.com` principal): {@link isEcrGrantee} for any region. */
export const isEcrServiceGrant = (grant: GrantListEntry): boolean => isEcrGrantee(grant);

/** Whether a grant is ECR's for this repository ARN: the documented constraint and ECR of the ARN's region as grantee. */
export const isEcrGrantFor = (grant: GrantListEntry, repositoryArn: string): boolean =>
  ecrRepositoryArnOf(grant) === repositoryArn && isEcrGrantee(grant, regionOfRepositoryArn(repositoryArn));

/**
 * Whether a grant created at `created` provably predates `instant` (a repository's `createdAt`):
 * earlier by more than the clock tolerance. A grant with no creation date predates nothing.
 */
export const predates = (created: Date | undefined, instant: Date): boolean =>
  created !== undefined && created.getTime() < instant.getTime() - GRANT_CLOCK_SKEW_MS;

/** The lifetime of one incarnation of a repository name, as far as it is known. */
export interface IncarnationWindow {
  /** When this incarnation was created (ECR's `createdAt`). */
  readonly createdAt: Date;
  /** When a later incarnation of the name was created (the end of this one), if there is one. */
  readonly successorCreatedAt?: Date | undefined;
}

/**
 * Whether a grant's creation date falls in the incarnation's lifetime, within the clock tolerance:
 * not before `createdAt` (less the tolerance), and before a successor's `createdAt` (less the
 * tolerance). A grant with no creation date is in no lifetime: nothing proves it is this one's.
 */
export const createdWithin = (grant: GrantListEntry, window: IncarnationWindow): boolean => {
  const created = grant.CreationDate;
  if (created === undefined || predates(created, window.createdAt)) return false;
  return window.successorCreatedAt === undefined || predates(created, window.successorCreatedAt);
};

/**
 * Whether an incarnation is young enough that ListGrants may not show all its grants yet (the grant
 * consistency delay plus the clock tolerance since its `createdAt`): only then is waiting for them
 * worth it.
 */
export const mayNotShowGrantsYet = (window: IncarnationWindow, now: Date): boolean =>
  now.getTime() - window.createdAt.getTime() < GRANT_CONSISTENCY_MS + GRANT_CLOCK_SKEW_MS;

/**
 * The grants ECR created for one incarnation of a repository, identified by what AWS documents
 * only: an `aws:ecr:arn` constraint equal to the repository ARN (`EncryptionContextSubset` or
 * `EncryptionContextEquals`), ECR's regional service principal as grantee, and a creation date in
 * the incarnation's lifetime (a recreated repository has the same ARN). Neither the operations nor
 * the number of grants is assumed.
 */
export const grantsOfIncarnation = (
  grants: readonly GrantListEntry[],
  repositoryArn: string,
  createdAt: Date,
  successorCreatedAt?: Date,
): GrantListEntry[] => grants.filter((g) => isEcrGrantFor(g, repositoryArn) && createdWithin(g, { createdAt, successorCreatedAt }));

/**
 * Grants to ECR on the key that carry no `aws:ecr:arn` constraint at all, created around the time
 * the repository was (within the clock tolerance either side): possibly ECR's for this repository
 * (AWS does not document its second grant), possibly another repository's. Never retired; reported.
 */
export const unattributedEcrGrants = (grants: readonly GrantListEntry[], repositoryArn: string, createdAt: Date): GrantListEntry[] => {
  const region = regionOfRepositoryArn(repositoryArn);
  return grants.filter((g) => {
    if (ecrArnConstraintsOf(g).length > 0 || !isEcrGrantee(g, region)) return false;
    const created = g.CreationDate?.getTime();
    return created === undefined || Math.abs(created - createdAt.getTime()) <= GRANT_CLOCK_SKEW_MS;
  });
};
