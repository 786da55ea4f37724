/**
 * AWS Organizations `ListAccounts` (JSON 1.1, `AWSOrganizationsV20161128`) and AWS Account
 * `ListRegions` (REST-JSON, `POST /listRegions`) over the accounts and regions the emulator already
 * models. An organization is the set of accounts given the same id with `principals.setOrg`; its
 * management account is the first of them in `accounts` order (a convention of the emulator:
 * delegated administrators are not modelled).
 */
import type { Authorizer, CallContext, JsonService } from './core.js';
import { ApiError } from './core.js';
import type { IamStore } from './iam.js';

/** An AWS JSON service the emulator serves over REST routes (`POST /<path>`), such as AWS Account. */
export interface RestJsonService {
  readonly signingName: string;
  /** The action a route names, or `undefined` when the route is not this service's. */
  route(method: string, path: string): string | undefined;
  handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown;
}

/** The account states of Organizations' `AccountState` the emulator can set. */
export type EmulatedAccountState = 'PENDING_ACTIVATION' | 'ACTIVE' | 'SUSPENDED' | 'PENDING_CLOSURE' | 'CLOSED';

/** `AccountState` → the older `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE), absent for the states it lacks. */
const STATUS_OF: Readonly<Record<EmulatedAccountState, string | undefined>> = {
  PENDING_ACTIVATION: undefined,
  ACTIVE: 'ACTIVE',
  SUSPENDED: 'SUSPENDED',
  PENDING_CLOSURE: 'PENDING_CLOSURE',
  CLOSED: undefined,
};

/** A page of `items` from the opaque `NextToken` (an offset), `MaxResults` at most. */
const page = <T>(
  items: readonly T[],
  input: Readonly<Record<string, unknown>>,
  limit: number,
  invalidCode: string,
): { readonly items: readonly T[]; readonly next: string | undefined } => {
  const token = input.NextToken;
  const start = typeof token === 'string' && token !== '' ? Number.parseInt(Buffer.from(token, 'base64url').toString('utf8'), 10) : 0;
  if (!Number.isSafeInteger(start) || start < 0 || start > items.length) throw new ApiError(invalidCode, 'The NextToken is not valid.');
  const max = typeof input.MaxResults === 'number' ? input.MaxResults : limit;
  const end = Math.min(items.length, start + max);
  return { items: items.slice(start, end), next: end < items.length ? Buffer.from(String(end)).toString('base64url') : undefined };
};

/** Organizations: the caller's organization, its management account, and `ListAccounts`. */
export class OrganizationsService implements JsonService {
  readonly targetPrefix = 'AWSOrganizationsV20161128';
  readonly signingName = 'organizations';
  readonly #iam: IamStore;
  readonly #authorizer: Authorizer;
  readonly #states = new Map<string, EmulatedAccountState>();

  constructor(iam: IamStore, authorizer: Authorizer) {
    this.#iam = iam;
    this.#authorizer = authorizer;
  }

  /** Sets an account's state as ListAccounts reports it (default ACTIVE). Not persisted. */
  setAccountState(accountId: string, state: EmulatedAccountState): void {
    if (!this.#iam.accounts.includes(accountId)) throw new Error(`no account ${accountId} in the emulator (accounts: ${this.#iam.accounts.join(', ')})`);
    this.#states.set(accountId, state);
  }

  /** The management account of `account`'s organization, and the organization's accounts; `undefined` outside one. */
  organizationOf(account: string): { readonly orgId: string; readonly management: string; readonly members: readonly string[] } | undefined {
    const orgId = this.#iam.orgOf(account);
    if (orgId === undefined) return undefined;
    const members = this.#iam.accounts.filter((a) => this.#iam.orgOf(a) === orgId);
    return { orgId, management: members[0] ?? account, members };
  }

  handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
    if (action !== 'ListAccounts') {
      throw new ApiError('UnknownOperationException', `The local AWS emulator does not support Organizations ${action} (it serves ListAccounts).`);
    }
    this.#authorizer.authorize(ctx, 'organizations:ListAccounts', '*');
    const org = this.organizationOf(ctx.principal.account);
    if (org === undefined) throw new ApiError('AWSOrganizationsNotInUseException', 'Your account is not a member of an organization.');
    if (org.management !== ctx.principal.account) {
      // GUESS (message): AWS documents only that ListAccounts is for the management account or a delegated administrator.
      throw new ApiError('AccessDeniedException', "You don't have permissions to access this resource.");
    }
    // ListAccounts pages hold at most 20 (MaxResults max 20 in the model); the default page size is a GUESS.
    const { items, next } = page(org.members, input, 20, 'InvalidInputException');
    return {
      Accounts: items.map((id) => {
        const state = this.#states.get(id) ?? 'ACTIVE';
        const status = STATUS_OF[state];
        return {
          Id: id,
          Arn: `arn:aws:organizations::${org.management}:account/${org.orgId}/${id}`,
          Email: `aws+${id}@example.com`,
          Name: `account-${id}`,
          ...(status !== undefined ? { Status: status } : {}),
          State: state,
          JoinedMethod: id === org.management ? 'CREATED' : 'INVITED',
          JoinedTimestamp: 1_700_000_000,
        };
      }),
      ...(next !== undefined ? { NextToken: next } : {}),
    };
  }
}

/**
 * AWS Account `ListRegions`: the emulator's served regions as `ENABLED_BY_DEFAULT` (a GUESS: it
 * does not tell default regions from opt-in ones it serves) and its disabled regions as `DISABLED`,
 * filtered by `RegionOptStatusContains`. Without `AccountId` it lists the caller's account; with
 * one, only the management account of the same organization may ask, and not for itself (as the
 * API reference says: "The management account can't specify its own AccountId").
 */
export class AccountService implements RestJsonService {
  readonly signingName = 'account';
  readonly #orgs: OrganizationsService;
  readonly #authorizer: Authorizer;
  readonly #regions: readonly string[];
  readonly #disabled: readonly string[];

  constructor(orgs: OrganizationsService, authorizer: Authorizer, regions: readonly string[], disabledRegions: readonly string[]) {
    this.#orgs = orgs;
    this.#authorizer = authorizer;
    this.#regions = regions;
    this.#disabled = disabledRegions;
  }

  route(method: string, path: string): string | undefined {
    return method === 'POST' && path === '/listRegions' ? 'ListRegions' : undefined;
  }

  handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
    if (action !== 'ListRegions') throw new ApiError('UnknownOperationException', `The local AWS emulator does not support Account ${action}.`);
    this.#authorizer.authorize(ctx, 'account:ListRegions', '*');
    const accountId = input.AccountId;
    if (typeof accountId === 'string' && accountId !== ctx.principal.account) {
      const org = this.#orgs.organizationOf(ctx.principal.account);
      if (org === undefined || org.management !== ctx.principal.account || !org.members.includes(accountId)) {
        throw new ApiError('AccessDeniedException', `User: ${ctx.principal.arn} is not authorized to perform: account:ListRegions on account ${accountId}`, { status: 403 });
      }
    } else if (typeof accountId === 'string' && this.#orgs.organizationOf(accountId)?.management === accountId) {
      throw new ApiError('ValidationException', "The management account can't specify its own AccountId.");
    }
    const wanted = Array.isArray(input.RegionOptStatusContains) ? (input.RegionOptStatusContains as readonly unknown[]) : undefined;
    const all = [
      ...this.#regions.filter((r) => !this.#disabled.includes(r)).map((RegionName) => ({ RegionName, RegionOptStatus: 'ENABLED_BY_DEFAULT' })),
      ...this.#disabled.map((RegionName) => ({ RegionName, RegionOptStatus: 'DISABLED' })),
    ].filter((r) => wanted === undefined || wanted.includes(r.RegionOptStatus));
    // GUESS: the default page size (MaxResults is 1-50 in the model).
    const { items, next } = page(all, input, 20, 'ValidationException');
    return { Regions: items, ...(next !== undefined ? { NextToken: next } : {}) };
  }
}
