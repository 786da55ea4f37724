/**
 * AWS Organizations, for fleet sweeps. `@aws-sdk/client-organizations` is an optional peer
 * dependency: it is imported only when a sweep asks for every account of the organization, so users
 * without it are unaffected.
 */
import type * as OrganizationsSdk from '@aws-sdk/client-organizations';
import { errAsync, ResultAsync } from 'neverthrow';
import type { GenericAwsError, SdkClientError } from '../errors.js';
import { allPages, awsCall, type CallScope, expectField, expectList } from '../internal/aws.js';

/** The loaded `@aws-sdk/client-organizations` module. */
export type OrganizationsModule = typeof OrganizationsSdk;

/** An account of the organization that a sweep can reach. */
interface OrganizationAccount {
  readonly id: string;
  readonly name: string | undefined;
}

/** What an optional client package that is not installed answers: nothing was sent. */
export const missingPackage = (service: 'organizations' | 'account', operation: string, packageName: string, cause: unknown): SdkClientError => ({
  kind: 'SdkClientError',
  service,
  operation,
  cause,
  message: `${operation} needs the optional peer dependency ${packageName}, which could not be loaded: npm install ${packageName}`,
});

/** Imports `@aws-sdk/client-organizations`, or says how to install it. */
export const loadOrganizations = (): ResultAsync<OrganizationsModule, SdkClientError> =>
  ResultAsync.fromPromise(import('@aws-sdk/client-organizations'), (cause) =>
    missingPackage('organizations', 'ListAccounts', '@aws-sdk/client-organizations', cause),
  );

/**
 * Whether an account is active. The model has two fields: `Status` (ACTIVE, SUSPENDED,
 * PENDING_CLOSURE; "will be retired on September 9, 2026") and its successor `State` (also
 * PENDING_ACTIVATION, CLOSED). `State` decides when present, else `Status`; an account with
 * neither is not taken as active (fail closed: it is reported by the caller as skipped).
 */
const isActiveAccount = (account: { readonly State?: string | undefined; readonly Status?: string | undefined }): boolean =>
  (account.State ?? account.Status) === 'ACTIVE';

/** The organization's accounts, every page (`NextToken` until absent), split into active and others. */
export interface OrganizationAccounts {
  readonly active: readonly OrganizationAccount[];
  /** Accounts listed but not active (suspended, closed, pending), with the state they were in. */
  readonly inactive: readonly (OrganizationAccount & { readonly state: string })[];
}

/**
 * Organizations ListAccounts, every page. Callable only from the management account or a delegated
 * administrator (others get `AccessDenied`); outside an organization the answer is
 * `AWSOrganizationsNotInUseException` (an `AwsServiceError` of that name). The model warns that a
 * page may be empty while `NextToken` is set: pages are followed until `NextToken` is absent.
 */
export const listOrganizationAccounts = (
  scope: CallScope,
  sdk: OrganizationsModule,
  client: OrganizationsSdk.OrganizationsClient,
): ResultAsync<OrganizationAccounts, GenericAwsError> =>
  allPages((token) =>
    awsCall(scope, 'organizations', 'ListAccounts', (o) => client.send(new sdk.ListAccountsCommand(token === undefined ? {} : { NextToken: token }), o)).andThen(
      (out) => expectList('organizations', 'ListAccounts', 'Accounts', out.Accounts).map((items) => ({ items, nextToken: out.NextToken })),
    ),
  ).andThen((accounts) => {
    const active: OrganizationAccount[] = [];
    const inactive: (OrganizationAccount & { readonly state: string })[] = [];
    for (const account of accounts) {
      const id = expectField('organizations', 'ListAccounts', 'Accounts[].Id', account.Id);
      if (id.isErr()) return errAsync(id.error);
      const entry = { id: id.value, name: account.Name };
      if (isActiveAccount(account)) active.push(entry);
      else inactive.push({ ...entry, state: account.State ?? account.Status ?? 'UNKNOWN' });
    }
    return ResultAsync.fromSafePromise(Promise.resolve({ active, inactive }));
  });
