/**
 * Fleet sweeps: the single-region `audit`, `findOrphanedGrants` and `retireOrphanedGrants` of
 * {@link EncryptedRegistry}, run over several accounts and regions, merged into one report.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { STSClient } from '@aws-sdk/client-sts';
import { err, errAsync, ok, type Result, ResultAsync } from 'neverthrow';
import type { FleetError, GenericAwsError, InvalidInput, RegistryError, SdkClientError } from '../errors.js';
import { mapPool } from '../internal/pool.js';
import { RateGovernor } from '../internal/rate-governor.js';
import { checkTransport } from '../internal/transport.js';
import { systemClock } from '../internal/wait.js';
import type { AuditInput } from '../operations/audit-types.js';
import type { FindOrphanedGrantsInput, RetireOrphanedGrantsInput } from '../operations/orphaned-grants.js';
import * as inputs from '../registry-inputs.js';
import { clientConfigFor, createRateGovernor, endpointsInUse, type RegistryClientConfig } from '../registry-options.js';
import { EncryptedRegistry } from '../registry.js';
import { listEnabledRegions, loadAccount } from '../steps/account.js';
import { listOrganizationAccounts, loadOrganizations } from '../steps/organizations.js';
import { type AssumedCredentials, assumeRole, type CallerIdentity, getCallerIdentity } from '../steps/sts.js';
import { readOptionalInput, type Schema } from '../validate/input.js';
import { renewingCredentials } from './credentials.js';
import { mergeAudit, mergeOrphans, mergeRetirement, type SweepScope, type TargetResult } from './merge.js';
import type { FleetAuditReport, FleetOptions, FleetOrphanedGrantsReport, FleetOrphanedGrantsRetirement, FleetStage, FleetTargetOutcome } from './types.js';

const ACCOUNT_ID = /^\d{12}$/;
/** KMS's `RegionType` pattern (the service models' only region pattern), e.g. `eu-west-1`, `us-gov-west-1`. */
const REGION = /^([a-z]+-){2,3}\d+$/;
/** IAM `roleNameType` (1–64 of `[\w+=,.@-]`), optionally after a path. */
const ROLE_NAME = /^(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** STS `externalIdType`: 2–1224 of `[\w+=,.@:/-]`. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** STS `roleSessionNameType`: 2–64 of `[\w+=,.@-]`. */
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const MAX_CONCURRENCY = 32;
const DEFAULT_CONCURRENCY = 4;

/** Errors of a call signed for a region the account has not enabled (JSON and Query services). */
const DISABLED_REGION_NAMES: ReadonlySet<string> = new Set(['UnrecognizedClientException', 'InvalidClientTokenId']);

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field: `options.${field}`, reason });

/** Checks the fleet's own options (the registry's are checked by each target's registry, and once here first). */
const validateOptions = (options: FleetOptions): InvalidInput | undefined => {
  const { accounts, regions, roleName, externalId, sessionName, concurrency } = options;
  if (accounts !== undefined && accounts !== 'organization') {
    if (!Array.isArray(accounts) || accounts.length === 0) return invalid('accounts', "must be 'organization' or a non-empty list of 12-digit account ids");
    const bad = (accounts as readonly unknown[]).find((a) => typeof a !== 'string' || !ACCOUNT_ID.test(a));
    if (bad !== undefined) return invalid('accounts', `${JSON.stringify(bad)} is not a 12-digit account id`);
  }
  if (regions !== undefined && regions !== 'enabled') {
    if (!Array.isArray(regions) || regions.length === 0) return invalid('regions', "must be 'enabled' or a non-empty list of region names");
    const bad = (regions as readonly unknown[]).find((r) => typeof r !== 'string' || !REGION.test(r));
    if (bad !== undefined) return invalid('regions', `${JSON.stringify(bad)} is not a region name such as eu-west-1`);
  }
  if (roleName !== undefined && (typeof roleName !== 'string' || !ROLE_NAME.test(roleName))) {
    return invalid('roleName', 'must be an IAM role name (1-64 of letters, digits and +=,.@_-), optionally after a path (ops/auditor)');
  }
  if (accounts === 'organization' && roleName === undefined) return invalid('roleName', "is required with accounts: 'organization' (the role assumed in each account)");
  if (externalId !== undefined && (typeof externalId !== 'string' || !EXTERNAL_ID.test(externalId))) {
    return invalid('externalId', 'must be 2-1224 of letters, digits and +=,.@:/_-');
  }
  if (externalId !== undefined && roleName === undefined) return invalid('externalId', 'is sent with AssumeRole: give roleName too');
  if (sessionName !== undefined && (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName))) {
    return invalid('sessionName', 'must be 2-64 of letters, digits and +=,.@_-');
  }
  if (options.rateQuotas instanceof RateGovernor) {
    return invalid('rateQuotas', "a governor paces one account and Region: give quotas ('aws' or an object), and the fleet makes one governor per account and Region");
  }
  if (concurrency !== undefined && !(Number.isInteger(concurrency) && concurrency >= 1 && concurrency <= MAX_CONCURRENCY)) {
    return invalid('concurrency', `must be a whole number from 1 to ${String(MAX_CONCURRENCY)}`);
  }
  return undefined;
};

/**
 * HTTP(S) agents shared by every target of one sweep (keep-alive, as the SDK's own), so targets
 * reuse connections to the same endpoint instead of each target's clients opening their own (on
 * AWS, a TLS handshake each). A target's registry destroys its clients, which destroy their agents:
 * that is ignored here (it would cut the other targets' requests); the sweep ends them with `end`.
 */
class SweepHttpAgent extends HttpAgent {
  override destroy(): void {
    // Ended by the sweep (`end`), not by each target's clients.
  }

  end(): void {
    super.destroy();
  }
}

class SweepHttpsAgent extends HttpsAgent {
  override destroy(): void {
    // Ended by the sweep (`end`), not by each target's clients.
  }

  end(): void {
    super.destroy();
  }
}

/** The request handler options of every target's clients in one sweep. */
interface SweepAgents {
  readonly httpAgent: SweepHttpAgent;
  readonly httpsAgent: SweepHttpsAgent;
}

/** `encrypted-ecr-<last part of the caller's ARN>`, within STS's session-name rules. */
const defaultSessionName = (caller: CallerIdentity): string => {
  const who = (caller.arn.split(/[/:]/).pop() ?? '').replace(/[^\w+=,.@-]/g, '-');
  return `encrypted-ecr-${who === '' ? caller.account : who}`.slice(0, 64);
};

const partitionOf = (arn: string): string => arn.split(':')[1] ?? 'aws';

/** An account's credentials for the clients of its targets, and its regions. */
interface AccountAccess {
  readonly accountId: string;
  readonly credentials: RegistryClientConfig['credentials'];
  readonly regions: readonly string[];
}

type AccountFailure = { readonly accountId: string; readonly stage: FleetStage; readonly error: RegistryError };

/** A hint for errors that do not say what they mean in a fleet. */
const hintFor = (stage: FleetStage, error: RegistryError): string | undefined => {
  if (stage === 'sweep' && error.kind === 'CredentialsError' && error.cause instanceof Error && DISABLED_REGION_NAMES.has(error.cause.name)) {
    return 'credentials that work elsewhere were not recognized in this region: most likely an opt-in region this account has not enabled';
  }
  if (stage === 'assume-role' && error.kind === 'AccessDenied') {
    return 'the role does not exist in this account, its trust policy does not allow the caller (or the external id), or an SCP denies sts:AssumeRole';
  }
  return undefined;
};

const failed = (accountId: string, region: string | undefined, stage: FleetStage, error: RegistryError): FleetTargetOutcome => {
  const hint = hintFor(stage, error);
  return { accountId, ...(region !== undefined ? { region } : {}), status: 'failed', stage, error, ...(hint !== undefined ? { hint } : {}) };
};

/**
 * Sweeps of several accounts and regions: each single-region operation of
 * {@link EncryptedRegistry} runs once per target (account, region), at most `concurrency` at once,
 * and the reports merge into one, each row tagged with its `accountId` and `region`.
 *
 * A target that fails (a role that cannot be assumed, an SCP denial, a region the account has not
 * enabled) is a failed row of `targets` with its typed error and never stops the others; only what
 * stops every target (the options, the caller's identity, Organizations `ListAccounts`) is an error.
 * Other accounts are reached by assuming `roleName` with the caller's credentials (STS in the
 * `clientConfig` region), and their credentials are renewed before they expire. With `rateQuotas`,
 * every registry the fleet makes for one account and Region, in any of its sweeps, paces its calls
 * with that account and Region's one governor (AWS's quotas are per account and Region).
 *
 * @example
 * ```ts
 * import { EncryptedFleet } from 'encrypted-ecr';
 *
 * const fleet = new EncryptedFleet({
 *   clientConfig: { region: 'us-east-1' },
 *   accounts: 'organization',
 *   regions: 'enabled',
 *   roleName: 'ecr-auditor',
 *   externalId: 'audit-2026',
 * });
 * const report = await fleet.audit({ require: 'cmk' });
 * if (report.isOk()) {
 *   for (const t of report.value.targets.filter((t) => t.status === 'failed')) console.error(t.accountId, t.region, t.error?.kind, t.hint);
 *   console.log(report.value.byAccount);
 * }
 * fleet.destroy();
 * ```
 */
export class EncryptedFleet {
  readonly #options: FleetOptions;
  readonly #optionsError: InvalidInput | undefined;
  #sts: STSClient | undefined;
  readonly #owned: { destroy(): void }[] = [];
  /**
   * One rate governor per account and Region (`'<account>/<region>'`), for the fleet's lifetime:
   * AWS's quotas are per account and Region, so every registry the fleet makes for a target, in
   * this sweep or a concurrent one, paces its calls with the same governor.
   */
  readonly #governors = new Map<string, RateGovernor>();

  /**
   * Takes the accounts, regions and role of the sweeps, and the registry options every target's
   * registry is made with (`clientConfig` without its `region`, which each target sets). Never
   * throws: bad options make every sweep answer `InvalidInput`, before any AWS call.
   *
   * @example
   * ```ts
   * const fleet = new EncryptedFleet({ accounts: ['111122223333', '444455556666'], regions: ['eu-west-1', 'us-east-1'], roleName: 'ecr-auditor' });
   * ```
   */
  constructor(options: FleetOptions = {}) {
    const own = typeof options === 'object' && options !== null ? options : {};
    const { accounts: _a, regions: _r, roleName: _n, externalId: _e, sessionName: _s, concurrency: _c, ...registryOptions } = own;
    const read = readOptionalInput(inputs.registryOptions, registryOptions);
    this.#optionsError = read.isErr() ? { ...read.error, field: `options.${read.error.field}` } : validateOptions(own);
    this.#options = own;
  }

  /**
   * The audit of {@link EncryptedRegistry.audit} in every target, merged: every repository and key
   * row with its `accountId` and `region`, the summary and cost summed, totals per account and per
   * region, and the `targets`. `compliant` only when every target was audited and every repository
   * passes. An `allowedKeys` entry is resolved in each region: use aliases for keys that exist in
   * several regions (a key ARN exists in one region only).
   *
   * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `SdkClientError` (no region, or an
   * optional client package missing), `Aborted`, and the generic AWS kinds of GetCallerIdentity and
   * ListAccounts. Failures of one target are in `targets`.
   *
   * @example
   * ```ts
   * const report = await fleet.audit({ require: 'cmk' });
   * report.map((r) => r.repositories.filter((repo) => !repo.compliant).map((repo) => `${repo.accountId}/${repo.region}/${repo.name}`));
   * ```
   */
  audit(input: AuditInput = {}): ResultAsync<FleetAuditReport, FleetError> {
    return this.#sweep('audit', inputs.auditInput, input, (registry, read) => registry.audit(read)).map(({ scope, results, read }) =>
      mergeAudit(scope, results, { require: read.require ?? 'any', allowedKeys: read.allowedKeys }),
    );
  }

  /**
   * {@link EncryptedRegistry.findOrphanedGrants} in every target, merged: keys and skipped keys
   * with their `accountId` and `region`, totals, and the `targets`. Reads only.
   *
   * Errors (`error.kind`): as {@link EncryptedFleet.audit}.
   *
   * @example
   * ```ts
   * const found = await fleet.findOrphanedGrants();
   * found.map((r) => r.keys.flatMap((k) => k.orphans.map((o) => `${k.accountId} ${k.region} ${o.grantId}`)));
   * ```
   */
  findOrphanedGrants(input: FindOrphanedGrantsInput = {}): ResultAsync<FleetOrphanedGrantsReport, FleetError> {
    return this.#sweep('findOrphanedGrants', inputs.findOrphanedGrantsInput, input, (registry, read) => registry.findOrphanedGrants(read)).map(
      ({ scope, results }) => mergeOrphans(scope, results),
    );
  }

  /**
   * {@link EncryptedRegistry.retireOrphanedGrants} in every target (retires only grants proven to
   * be ECR's for a repository that no longer exists; never revokes), merged as
   * {@link EncryptedFleet.findOrphanedGrants}. `dryRun` retires nothing anywhere.
   *
   * Errors (`error.kind`): as {@link EncryptedFleet.audit}.
   *
   * @example
   * ```ts
   * const done = await fleet.retireOrphanedGrants({ dryRun: false });
   * done.map((r) => r.targets.filter((t) => t.status === 'failed'));
   * ```
   */
  retireOrphanedGrants(input: RetireOrphanedGrantsInput = {}): ResultAsync<FleetOrphanedGrantsRetirement, FleetError> {
    return this.#sweep('retireOrphanedGrants', inputs.retireOrphanedGrantsInput, input, (registry, read) => registry.retireOrphanedGrants(read)).map(
      ({ scope, results, read }) => mergeRetirement(scope, results, read.dryRun === true),
    );
  }

  /**
   * Destroys the clients the fleet made for itself (each target's clients are destroyed when its
   * sweep ends).
   *
   * @example
   * ```ts
   * try { await fleet.audit(); } finally { fleet.destroy(); }
   * ```
   */
  destroy(): void {
    for (const client of this.#owned.splice(0)) client.destroy();
    this.#sts = undefined;
  }

  #own<C extends { destroy(): void }>(client: C): C {
    this.#owned.push(client);
    return client;
  }

  /** The options, the input, the caller, the accounts and their regions; then every target, merged by the caller. */
  #sweep<I extends { readonly signal?: AbortSignal | undefined }, R>(
    name: string,
    schema: Schema<I>,
    input: unknown,
    run: (registry: EncryptedRegistry, input: I) => ResultAsync<R, RegistryError>,
  ): ResultAsync<{ readonly scope: SweepScope; readonly results: TargetResult<R>[]; readonly read: I }, FleetError> {
    if (this.#optionsError !== undefined) return errAsync(this.#optionsError);
    const read = readOptionalInput(schema, input);
    if (read.isErr()) return errAsync(read.error);
    const { signal } = read.value;
    if (signal?.aborted) return errAsync({ kind: 'Aborted', operation: name });
    const clientConfig = this.#options.clientConfig ?? {};
    const insecure = endpointsInUse(clientConfig).map((url) => checkTransport(url, this.#options.allowInsecureHttp === true)).find((e) => e !== undefined);
    if (insecure !== undefined) return errAsync(insecure);
    const scope = { signal };
    const sts = (this.#sts ??= this.#own(new STSClient(clientConfigFor(clientConfig))));

    return this.#baseRegion(sts).andThen((baseRegion) =>
      getCallerIdentity({ sts, signal }).andThen((caller) =>
        this.#accounts(caller, baseRegion, scope).andThen((listed) => {
          const task = async (): Promise<Result<{ readonly scope: SweepScope; readonly results: TargetResult<R>[]; readonly read: I }, FleetError>> => {
            const concurrency = this.#options.concurrency ?? DEFAULT_CONCURRENCY;
            const access = await mapPool(listed.accounts, concurrency, (accountId) => this.#access(accountId, caller, baseRegion, sts, scope));
            const results: TargetResult<R>[] = access.flatMap((a) => (a.isErr() ? [{ outcome: failed(a.error.accountId, undefined, a.error.stage, a.error.error) }] : []));
            const targets = access.flatMap((a) => (a.isOk() ? a.value.regions.map((region) => ({ access: a.value, region })) : []));
            // Your own request handler (or its options) is used as given; otherwise the targets share agents.
            const agents: SweepAgents | undefined =
              clientConfig.requestHandler === undefined ? { httpAgent: new SweepHttpAgent({ keepAlive: true }), httpsAgent: new SweepHttpsAgent({ keepAlive: true }) } : undefined;
            let swept: TargetResult<R>[];
            try {
              swept = await mapPool(targets, concurrency, ({ access: { accountId, credentials }, region }) =>
                this.#target(accountId, region, credentials, agents, read.value, run),
              );
            } finally {
              agents?.httpAgent.end();
              agents?.httpsAgent.end();
            }
            if (signal?.aborted) return err({ kind: 'Aborted', operation: name });
            return ok({ scope: listed, results: [...results, ...swept], read: read.value });
          };
          return new ResultAsync(task());
        }),
      ),
    );
  }

  /** One target: a registry for its account and region, the operation, and its outcome. */
  async #target<I, R>(
    accountId: string,
    region: string,
    credentials: RegistryClientConfig['credentials'],
    agents: SweepAgents | undefined,
    input: I,
    run: (registry: EncryptedRegistry, input: I) => ResultAsync<R, RegistryError>,
  ): Promise<TargetResult<R>> {
    const { accounts: _a, regions: _r, roleName: _n, externalId: _e, sessionName: _s, concurrency: _c, clientConfig = {}, ...rest } = this.#options;
    const rateQuotas = this.#governorFor(accountId, region);
    const registry = new EncryptedRegistry({
      ...rest,
      ...(rateQuotas !== undefined ? { rateQuotas } : {}),
      clientConfig: { ...clientConfig, region, ...(credentials !== undefined ? { credentials } : {}), ...(agents !== undefined ? { requestHandler: agents } : {}) },
    });
    try {
      const result = await run(registry, input);
      return result.isOk()
        ? { outcome: { accountId, region, status: 'ok' }, report: result.value }
        : { outcome: failed(accountId, region, 'sweep', result.error) };
    } finally {
      registry.destroy();
    }
  }

  /** The account and Region's governor, made on first use; `undefined` when the options ask for none. */
  #governorFor(accountId: string, region: string): RateGovernor | undefined {
    const { rateQuotas, clock = systemClock } = this.#options;
    if (rateQuotas === undefined || rateQuotas === false || rateQuotas instanceof RateGovernor) return undefined;
    const key = `${accountId}/${region}`;
    let governor = this.#governors.get(key);
    if (governor === undefined) {
      governor = createRateGovernor(rateQuotas, clock);
      this.#governors.set(key, governor);
    }
    return governor;
  }

  /** The region of the fleet's own clients (STS, Organizations, Account). */
  #baseRegion(sts: STSClient): ResultAsync<string, SdkClientError> {
    const configured = this.#options.clientConfig?.region;
    if (configured !== undefined) return ResultAsync.fromSafePromise(Promise.resolve(configured));
    return ResultAsync.fromPromise(
      sts.config.region(),
      (cause): SdkClientError => ({
        kind: 'SdkClientError',
        service: 'sts',
        operation: 'ResolveRegion',
        cause,
        message: 'no AWS region configured: pass clientConfig.region or set AWS_REGION',
      }),
    );
  }

  /** The accounts to sweep: the list given, the organization's active ones, or the caller's own. */
  #accounts(caller: CallerIdentity, region: string, scope: { readonly signal: AbortSignal | undefined }): ResultAsync<SweepScope, FleetError> {
    const { accounts, roleName } = this.#options;
    if (accounts === undefined) return ResultAsync.fromSafePromise(Promise.resolve({ accounts: [caller.account], skippedAccounts: [] }));
    if (accounts !== 'organization') {
      const unique = [...new Set(accounts)];
      const other = unique.find((a) => a !== caller.account);
      if (other !== undefined && roleName === undefined) {
        return errAsync(invalid('roleName', `is required to reach account ${other} (the caller is in ${caller.account})`));
      }
      return ResultAsync.fromSafePromise(Promise.resolve({ accounts: unique, skippedAccounts: [] }));
    }
    return loadOrganizations().andThen((sdk) => {
      const client = this.#own(new sdk.OrganizationsClient({ ...clientConfigFor(this.#options.clientConfig ?? {}), region }));
      return listOrganizationAccounts(scope, sdk, client).map((listed) => ({
        accounts: listed.active.map((a) => a.id),
        skippedAccounts: listed.inactive.map((a) => ({ accountId: a.id, state: a.state })),
      }));
    });
  }

  /** Credentials in one account (the caller's own, or the assumed role's) and its regions. */
  #access(
    accountId: string,
    caller: CallerIdentity,
    region: string,
    sts: STSClient,
    scope: { readonly signal: AbortSignal | undefined },
  ): ResultAsync<AccountAccess, AccountFailure> {
    const { roleName, externalId, regions } = this.#options;
    const credentials: ResultAsync<RegistryClientConfig['credentials'], AccountFailure> =
      accountId === caller.account || roleName === undefined
        ? ResultAsync.fromSafePromise(Promise.resolve(this.#options.clientConfig?.credentials))
        : this.#assume(accountId, caller, roleName, externalId, sts, scope);
    return credentials
      .andThen((creds) => {
        if (regions !== 'enabled') return ResultAsync.fromSafePromise(Promise.resolve({ accountId, credentials: creds, regions: regions ?? [region] }));
        return loadAccount()
          .andThen((sdk) => {
            const client = new sdk.AccountClient({ ...clientConfigFor(this.#options.clientConfig ?? {}), region, ...(creds !== undefined ? { credentials: creds } : {}) });
            return listEnabledRegions(scope, sdk, client).andTee(() => client.destroy()).orTee(() => client.destroy());
          })
          .map((enabled) => ({ accountId, credentials: creds, regions: enabled }))
          .mapErr((error): AccountFailure => ({ accountId, stage: 'list-regions', error }));
      });
  }

  /** AssumeRole into `roleName` of the account, and a provider that renews its credentials. */
  #assume(
    accountId: string,
    caller: CallerIdentity,
    roleName: string,
    externalId: string | undefined,
    sts: STSClient,
    scope: { readonly signal: AbortSignal | undefined },
  ): ResultAsync<RegistryClientConfig['credentials'], AccountFailure> {
    const roleArn = `arn:${partitionOf(caller.arn)}:iam::${accountId}:role/${roleName}`;
    const request = { roleArn, sessionName: this.#options.sessionName ?? defaultSessionName(caller), externalId };
    const clock = this.#options.clock ?? systemClock;
    const assume = (): ResultAsync<AssumedCredentials, GenericAwsError> => assumeRole(scope, sts, request);
    return assume()
      .map((first) => renewingCredentials(roleArn, first, assume, () => clock.now()))
      .mapErr((error): AccountFailure => ({ accountId, stage: 'assume-role', error }));
  }
}
