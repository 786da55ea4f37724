/**
 * KMS grants as ECR makes them: listing a key's grants, recognising ECR's grants for a repository,
 * and retiring one. Never revoke: ECR's grants are retired, as AWS documents.
 */
import { type GrantListEntry, ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError, KeyNotFound } from '../errors.js';
import { allPages, awsCall, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** KMS documents ListGrants' `Limit` as 1–100. */
const LIST_GRANTS_PAGE = 100;

/** Grants per customer-managed key (adjustable quota); AWS-managed keys have none. */
export const GRANTS_PER_KEY_QUOTA = 50_000;

/**
 * Clock tolerance between ECR's `createdAt` and KMS's grant `CreationDate`. It errs on the safe
 * side: a grant created shortly before a repository is taken as that repository's, so a live
 * repository's grant is never called an orphan; at worst an orphan is kept one more sweep.
 */
export const GRANT_CLOCK_SKEW_MS = 60_000;

const ECR_ARN_KEY = 'aws:ecr:arn';

/** Every grant of a key, paged 100 at a time, looping on `Truncated` (a page may be short). */
export const listAllGrants = (
  ctx: RegistryContext,
  keyArn: string,
): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> =>
  allPages((marker) =>
    awsCall(
      ctx,
      'kms',
      'ListGrants',
      (o) => ctx.kms.send(new ListGrantsCommand({ KeyId: keyArn, Limit: LIST_GRANTS_PAGE, ...(marker ? { Marker: marker } : {}) }), o),
      (e): KeyNotFound | undefined =>
        e.name === 'NotFoundException' ? { kind: 'KeyNotFound', service: 'kms', operation: 'ListGrants', cause: e, key: keyArn } : undefined,
    ).andThen((out) => expectList('kms', 'ListGrants', 'Grants', out.Grants).map((items) => ({ items, nextToken: out.Truncated ? out.NextMarker : undefined }))),
  );

/**
 * How many grants ECR documents creating for a KMS-encrypted repository ("Amazon ECR sends two
 * CreateGrant requests", ECR User Guide, encryption at rest). Only the first grant's shape is
 * documented; nothing here assumes the second one's operations or constraints, and a repository
 * with fewer identified grants than this is reported as not verifiable, never as clean.
 */
export const ECR_DOCUMENTED_GRANTS = 2;

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

/** The lifetime of one incarnation of a repository name, as far as it is known. */
export interface IncarnationWindow {
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
  const created = grant.CreationDate?.getTime();
  if (created === undefined) return false;
  if (created < window.createdAt.getTime() - GRANT_CLOCK_SKEW_MS) return false;
  return window.successorCreatedAt === undefined || created < window.successorCreatedAt.getTime() - GRANT_CLOCK_SKEW_MS;
};

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

/** What became of one retirement. */
export type RetireOutcome = 'retired' | 'already-retired';

/**
 * RetireGrant by key ARN and grant id. `NotFoundException` means it is already retired (grants are
 * eventually consistent), which is what we wanted.
 */
export const retireGrant = (
  ctx: RegistryContext,
  keyArn: string,
  grantId: string,
): ResultAsync<RetireOutcome, GenericAwsError> =>
  awsCall(ctx, 'kms', 'RetireGrant', (o) => ctx.kms.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grantId }), o))
    .map((): RetireOutcome => 'retired')
    .orElse((e) =>
      e.kind === 'AwsServiceError' && e.name === 'NotFoundException' ? okAsync<RetireOutcome, never>('already-retired') : errAsync(e),
    );
