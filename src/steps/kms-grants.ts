/**
 * KMS grants as ECR makes them: listing a key's grants, recognising ECR's grants for a repository,
 * and retiring one. Never revoke: ECR's grants are retired, as AWS documents.
 */
import { type GrantListEntry, ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError, KeyNotFound } from '../errors.js';
import { allPages, awsCall } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** KMS documents ListGrants' `Limit` as 1–100. */
export const LIST_GRANTS_PAGE = 100;

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
      'kms',
      'ListGrants',
      () => ctx.kms.send(new ListGrantsCommand({ KeyId: keyArn, Limit: LIST_GRANTS_PAGE, ...(marker ? { Marker: marker } : {}) })),
      (e): KeyNotFound | undefined =>
        e.name === 'NotFoundException' ? { kind: 'KeyNotFound', service: 'kms', operation: 'ListGrants', cause: e, key: keyArn } : undefined,
    ).map((out) => ({ items: out.Grants ?? [], nextToken: out.Truncated ? out.NextMarker : undefined })),
  );

/** The repository ARN a grant is constrained to, when it carries `aws:ecr:arn` (keys are case-insensitive). */
export const ecrRepositoryArnOf = (grant: GrantListEntry): string | undefined => {
  const contexts = [grant.Constraints?.EncryptionContextSubset, grant.Constraints?.EncryptionContextEquals];
  for (const context of contexts) {
    for (const [key, value] of Object.entries(context ?? {})) {
      if (key.toLowerCase() === ECR_ARN_KEY) return value;
    }
  }
  return undefined;
};

/** Whether the grant was made for the ECR service (grantee or retiring principal `ecr.<region>.amazonaws.com`). */
export const isEcrServiceGrant = (grant: GrantListEntry): boolean => {
  const principals = [
    grant.GranteePrincipal,
    grant.RetiringPrincipal,
    (grant as { GranteeServicePrincipal?: string }).GranteeServicePrincipal,
    (grant as { RetiringServicePrincipal?: string }).RetiringServicePrincipal,
  ];
  return principals.some((p) => typeof p === 'string' && /^ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/.test(p));
};

/**
 * The grants ECR created for one incarnation of a repository: constrained to its ARN, made for
 * ECR, and created during its lifetime. A repository recreated under the same name has the same
 * ARN, so only the creation time tells an old incarnation's grants from the live one's.
 */
export const grantsOfIncarnation = (
  grants: readonly GrantListEntry[],
  repositoryArn: string,
  createdAt: Date,
): GrantListEntry[] =>
  grants.filter(
    (g) =>
      ecrRepositoryArnOf(g) === repositoryArn &&
      isEcrServiceGrant(g) &&
      (g.CreationDate === undefined || g.CreationDate.getTime() >= createdAt.getTime() - GRANT_CLOCK_SKEW_MS),
  );

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
  awsCall('kms', 'RetireGrant', () => ctx.kms.send(new RetireGrantCommand({ KeyId: keyArn, GrantId: grantId })))
    .map((): RetireOutcome => 'retired')
    .orElse((e) =>
      e.kind === 'AwsServiceError' && e.name === 'NotFoundException' ? okAsync<RetireOutcome, never>('already-retired') : errAsync(e),
    );
