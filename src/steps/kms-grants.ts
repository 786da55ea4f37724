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

/**
 * How many times one listing starts over when KMS refuses the marker of its own previous page.
 * The marker names a grant; another operation retiring grants of the same key (a fleet migration
 * deleting one staging repository while it verifies another, both under one key) can retire that
 * very grant between two pages, and `InvalidMarkerException` follows. A fresh listing from the
 * first page is a new, complete read: nothing of the broken one is kept.
 */
const LISTINGS = 3;

const listOnce = (ctx: RegistryContext, keyArn: string, paged: { value: boolean }): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> =>
  allPages((marker) => {
    if (marker !== undefined) paged.value = true;
    return awsCall(
      ctx,
      'kms',
      'ListGrants',
      (o) => ctx.kms.send(new ListGrantsCommand({ KeyId: keyArn, Limit: LIST_GRANTS_PAGE, ...(marker ? { Marker: marker } : {}) }), o),
      (e): KeyNotFound | undefined =>
        e.name === 'NotFoundException' ? { kind: 'KeyNotFound', service: 'kms', operation: 'ListGrants', cause: e, key: keyArn } : undefined,
    ).andThen((out) => expectList('kms', 'ListGrants', 'Grants', out.Grants).map((items) => ({ items, nextToken: out.Truncated ? out.NextMarker : undefined })));
  });

/**
 * Every grant of a key, paged 100 at a time, looping on `Truncated` (a page may be short). A
 * marker refused after the first page (`InvalidMarkerException`: the grant it names was retired
 * meanwhile) starts the listing over, at most {@link LISTINGS} listings in all.
 */
export const listAllGrants = (
  ctx: RegistryContext,
  keyArn: string,
): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> => {
  const listing = (n: number): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> => {
    const paged = { value: false };
    return listOnce(ctx, keyArn, paged).orElse((e) => {
      const markerRefused = paged.value && e.kind === 'AwsServiceError' && e.name === 'InvalidMarkerException';
      if (!markerRefused || n >= LISTINGS) return errAsync(e);
      ctx.logger.debug('ListGrants refused the marker of its previous page (its grant was retired meanwhile): listing again from the first page', { keyArn, listing: n });
      return listing(n + 1);
    });
  };
  return listing(1);
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
