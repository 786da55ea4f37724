/**
 * The KMS grant calls: listing a key's grants and retiring one. Never revoke: ECR's grants are
 * retired, as AWS documents. Which grants are ECR's, and whose, is decided in `grants/rules.ts`.
 */
import { type GrantListEntry, ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError, KeyNotFound } from '../errors.js';
import { allPages, awsCall, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** KMS documents ListGrants' `Limit` as 1–100. */
export const LIST_GRANTS_PAGE = 100;

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
