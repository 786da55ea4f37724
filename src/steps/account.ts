/**
 * AWS Account Management, for fleet sweeps over "every enabled region". `@aws-sdk/client-account`
 * is an optional peer dependency: it is imported only when a sweep asks for the enabled regions.
 */
import type * as AccountSdk from '@aws-sdk/client-account';
import { ResultAsync } from 'neverthrow';
import type { GenericAwsError, SdkClientError } from '../errors.js';
import { allPages, awsCall, type CallScope, expectList } from '../internal/aws.js';
import { missingPackage } from './organizations.js';

/** The loaded `@aws-sdk/client-account` module. */
export type AccountModule = typeof AccountSdk;

/** Imports `@aws-sdk/client-account`, or says how to install it. */
export const loadAccount = (): ResultAsync<AccountModule, SdkClientError> =>
  ResultAsync.fromPromise(import('@aws-sdk/client-account'), (cause) => missingPackage('account', 'ListRegions', '@aws-sdk/client-account', cause));

/**
 * The opt-in statuses of a region that can be called: `ENABLED_BY_DEFAULT` (regions before March
 * 2019) and `ENABLED` (an opt-in region the account enabled). `ENABLING`, `DISABLING` and
 * `DISABLED` cannot be relied on.
 */
const ENABLED: readonly string[] = ['ENABLED', 'ENABLED_BY_DEFAULT'];

/**
 * Account ListRegions with `RegionOptStatusContains` ENABLED and ENABLED_BY_DEFAULT, every page,
 * for the account the client's credentials belong to (no `AccountId`: that form needs the
 * organization's trusted access for Account Management). The statuses are checked again on the
 * answer, so a region listed with another status is never swept. Needs `account:ListRegions`.
 */
export const listEnabledRegions = (scope: CallScope, sdk: AccountModule, client: AccountSdk.AccountClient): ResultAsync<string[], GenericAwsError> =>
  allPages((token) =>
    awsCall(scope, 'account', 'ListRegions', (o) =>
      client.send(
        new sdk.ListRegionsCommand({ RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'], MaxResults: 50, ...(token === undefined ? {} : { NextToken: token }) }),
        o,
      ),
    ).andThen((out) => expectList('account', 'ListRegions', 'Regions', out.Regions).map((items) => ({ items, nextToken: out.NextToken }))),
  ).map((regions) =>
    regions.flatMap((r) => (r.RegionName !== undefined && r.RegionOptStatus !== undefined && ENABLED.includes(r.RegionOptStatus) ? [r.RegionName] : [])),
  );
