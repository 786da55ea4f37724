/** `startLocalAws`: the local AWS emulator (KMS, IAM, STS, and ECR once wired) on 127.0.0.1. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyAuthorizer } from './authorizer.js';
import { CallLog, type CallFilter, type CallList, type CallRecord } from './calls.js';
import type { Clock, EcrInspection, EcrService, EcrServiceDeps, JsonService } from './core.js';
import { defaultEcrFactory } from './ecr-wiring.js';
import { MAX_PART_BYTES } from './ecr/layers.js';
import { Faults } from './faults.js';
import { IamStore, type EmulatorCredentials, type PrincipalHandle, type RoleHandle } from './iam.js';
import { IamQueryService, StsQueryService } from './iam-sts.js';
import { KmsService, type GrantInfo, type KeyInfo } from './kms/index.js';
import { DATA_DIR_MODE, StateStore, type PersistenceStatus } from './persistence.js';
import { AccountService, type EmulatedAccountState, OrganizationsService } from './organizations.js';
import { EmulatorServer, type ServerDeps } from './server.js';
import { type AwsVariants, resolveAwsVariants } from './variants.js';
import { type EmulatorRateQuotas, RateQuotaKeeper, resolveRateQuotas } from './rate-quotas.js';
import { explainAccess } from '../../policy/evaluate.js';
import type { PolicyDocument } from '../../policy/types.js';

/** Options of {@link startLocalAws}. */
export interface LocalAwsOptions {
  /** Port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  /** Regions served side by side; the first is the default. Default `['us-east-1']`. */
  readonly regions?: readonly string[];
  /** Account IDs; the first holds the default principal. Default `['111122223333']`. */
  readonly accounts?: readonly string[];
  /**
   * Opt-in regions the accounts have NOT enabled: Account `ListRegions` lists them as `DISABLED`,
   * and a call signed for one answers as AWS does, `UnrecognizedClientException` (ECR, KMS, …) or
   * `InvalidClientTokenId` (STS). Default none.
   */
  readonly disabledRegions?: readonly string[];
  /** Keeps state here (rewritten atomically after every call that changes it) and reloads it on start. */
  readonly dataDir?: string;
  /** The emulator's clock (grant creation dates, key deletion, session expiry). Default: system time. */
  readonly clock?: Clock;
  /**
   * The clock a request's `X-Amz-Date` must be within 15 minutes of (as AWS checks), also sent as
   * the `Date` header of every answer (SDK clients correct their clock skew from it). Default:
   * system time, whatever `clock` is: SDK clients sign with the machine's clock, and moving a
   * {@link manualClock} stands for time passing for them too, so it must not void their
   * signatures. Pass a manual clock here to test skewed or replayed requests without waiting.
   */
  readonly requestClock?: Clock;
  /**
   * Retired grants keep showing in ListGrants for this long, and new ones appear only after it.
   * Default 0. Deprecated alias of `awsVariants.grantConsistencyDelayMs` (which wins when both are given).
   */
  readonly grantConsistencyDelayMs?: number;
  /**
   * The AWS behaviours the documentation leaves open, each in one of its plausible variants
   * (`AWS_VARIANT_VALUES` lists them; unknown values throw before anything starts). The defaults
   * are each a GUESS; `LocalAws.variants` shows every value in force.
   */
  readonly awsVariants?: Partial<AwsVariants>;
  /**
   * A test-speed knob, NOT an AWS behaviour: the smallest layer part (every part but the last)
   * CompleteLayerUpload accepts, in bytes. Default: ECR's 5 MiB (5,242,880); from 1 to 20,971,520.
   * InitiateLayerUpload announces twice this as its `partSize` (ECR's 10 MiB by default), so
   * clients that follow it, such as `pushImage`, upload small layers in several parts without
   * moving megabytes. It does not change what `encrypted-ecr` itself sends: the library keeps
   * ECR's real part-size limits (5–10 MiB), which AWS enforces.
   *
   * @example
   * ```ts
   * const aws = await startLocalAws({ minimumLayerPartSize: 1024 });
   * await pushImage(ecr, 'app', { layers: [randomBytes(5_000, 1)], tags: ['v1'] }); // its layer in 3 parts of ≤ 2 KiB
   * ```
   */
  readonly minimumLayerPartSize?: number;
  /** Fixed credentials for the default principal (otherwise random, or those saved in `dataDir`). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /**
   * Options passed through to the ECR service. `onGrantRetireFailure` is a deprecated alias of
   * `awsVariants.deleteWhenRetireFails` (`'succeed'` is `'silent'`).
   */
  readonly ecr?: Pick<EcrServiceDeps, 'onGrantRetireFailure' | 'repositoryPolicyUniqueIds'>;
  /**
   * Interface VPC endpoints, by id (`vpce-…`). Each listens on a port of its own
   * (`aws.network.endpointFor(id)`); calls sent there are authorized with its policy too and carry
   * `aws:SourceVpce` (and `aws:SourceVpc` when `vpcId` is given). See {@link VpcEndpointOptions}.
   */
  readonly vpcEndpoints?: Readonly<Record<string, VpcEndpointOptions>>;
  /**
   * Hears every call as the call log records it (HTTP calls with their `durationMs`, and the KMS
   * calls ECR makes in process), e.g. to print a request log as `encrypted-ecr local --log-requests` does.
   */
  readonly onCall?: (call: CallRecord) => void;
  /**
   * Enforce request-rate quotas: `'aws'` for AWS's documented defaults (`AWS_RATE_QUOTAS`), or a
   * table of your own (`{ 'ecr:PutImage': 2 }`: only those APIs). A call beyond its API's quota per
   * account and Region (in any one second of the emulator's clock) answers `ThrottlingException`.
   * Off by default.
   */
  readonly rateQuotas?: EmulatorRateQuotas;
}

/**
 * The services an emulated VPC endpoint can stand for. The emulator serves Docker push and pull as
 * the ECR JSON API actions (`ecr:InitiateLayerUpload`, `ecr:PutImage`, `ecr:BatchGetImage`, …), so
 * `ecr.api` and `ecr.dkr` endpoints both accept every ECR action: send calls through an `ecr.dkr`
 * endpoint to stand for a Docker client in the VPC, through `ecr.api` for the SDK or CLI (which in
 * AWS reach every ECR action, image ones included, through `ecr.api`).
 */
export type VpcEndpointService = 'ecr.api' | 'ecr.dkr' | 'kms' | 'sts';

/** One emulated interface VPC endpoint. */
export interface VpcEndpointOptions {
  readonly service: VpcEndpointService;
  /** The endpoint policy. Absent: full access, as AWS's default endpoint policy. */
  readonly policy?: PolicyDocument;
  /** The VPC it is in (`aws:SourceVpc`), e.g. `vpc-0a1b2c3d`. */
  readonly vpcId?: string;
  /** Port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
}

/** An emulated VPC endpoint, as `aws.network.endpoints()` lists it. */
export interface VpcEndpointInfo {
  readonly id: string;
  readonly service: VpcEndpointService;
  /** `http://127.0.0.1:<port>`: the `endpoint` of an SDK client whose calls go through it. */
  readonly url: string;
  readonly policy: PolicyDocument | undefined;
  readonly vpcId: string | undefined;
}

/**
 * The emulated network: interface VPC endpoints (declared in `startLocalAws({ vpcEndpoints })`).
 *
 * Only calls the client sends to an endpoint's URL go through it. Calls a service makes on the
 * caller's behalf do not: the `kms:CreateGrant` and `kms:RetireGrant` ECR makes while creating or
 * deleting a repository are authorized without the ECR endpoint's policy and without
 * `aws:SourceVpce`, as in AWS (they leave from ECR, not from the VPC).
 */
export interface Network {
  /** The URL of an endpoint (throws for an unknown id). */
  endpointFor(id: string): string;
  /** Replaces an endpoint's policy; `undefined` restores full access. Not persisted in `dataDir`. */
  setEndpointPolicy(id: string, policy: PolicyDocument | undefined): void;
  endpoints(): readonly VpcEndpointInfo[];
}

/** The test-side IAM admin API (not over HTTP). */
export interface Principals {
  /** The admin user `arn:aws:iam::<first account>:user/admin`: an identity policy allows everything. */
  readonly default: PrincipalHandle;
  /** The root user of an account (default: the first). */
  root(account?: string): PrincipalHandle;
  createUser(
    name: string,
    options?: { readonly policies?: readonly PolicyDocument[]; readonly boundary?: PolicyDocument; readonly path?: string; readonly account?: string; readonly tags?: Readonly<Record<string, string>> },
  ): PrincipalHandle;
  /** A role; its trust policy defaults to the account root (callers still need `sts:AssumeRole`). */
  createRole(
    name: string,
    options?: {
      readonly policies?: readonly PolicyDocument[];
      readonly boundary?: PolicyDocument;
      readonly path?: string;
      readonly trust?: PolicyDocument;
      readonly account?: string;
      readonly description?: string;
      readonly tags?: Readonly<Record<string, string>>;
    },
  ): RoleHandle;
  /** A session of a role, without checking its trust policy: `arn` is the assumed-role ARN. */
  assumeRole(roleName: string, sessionName: string, options?: { readonly account?: string; readonly sessionPolicy?: PolicyDocument; readonly durationSeconds?: number }): PrincipalHandle;
  /** Replaces the inline identity policies of a user or role. */
  setPolicies(arn: string, policies: readonly PolicyDocument[]): void;
  setBoundary(arn: string, boundary: PolicyDocument | undefined): void;
  setTrust(roleArn: string, trust: PolicyDocument): void;
  /**
   * Puts an account in an organization (`aws:PrincipalOrgID`; Organizations `ListAccounts` lists
   * the organization's accounts, answering its management account: the first of `accounts` in it).
   */
  setOrg(accountId: string, orgId: string | undefined): void;
  /** An account's state as Organizations `ListAccounts` reports it (default `ACTIVE`); not persisted. */
  setAccountState(accountId: string, state: EmulatedAccountState): void;
}

/** Read-only views for tests. */
export interface Inspect {
  /** Every grant of a key (ARN or ID), retired ones included with their timestamps. */
  grants(keyArn: string): readonly GrantInfo[];
  keys(region?: string): readonly KeyInfo[];
  /** The call log, with `countBy('operation' | 'principal')`. */
  calls(filter?: CallFilter): CallList;
  /** ECR's repositories and stored objects; undefined while no ECR service is wired. */
  readonly ecr: EcrInspection | undefined;
  /**
   * Whether state reaches `dataDir/state.json` (undefined without a `dataDir`). A failed save does
   * not fail the call: it is reported once on stderr, shown here, and retried after every call.
   */
  persistence(): PersistenceStatus | undefined;
}

/** A running emulator. */
export interface LocalAws {
  /** The AWS behaviour variants in force (every field resolved). */
  readonly variants: AwsVariants;
  /** `http://127.0.0.1:<port>`: pass as the SDK clients' `endpoint`. */
  readonly endpoint: string;
  /** The default region (the first of `regions`). */
  readonly region: string;
  readonly regions: readonly string[];
  /** The default account. */
  readonly account: string;
  /** The default principal's credentials. */
  readonly credentials: EmulatorCredentials;
  readonly principals: Principals;
  readonly inspect: Inspect;
  readonly faults: Faults;
  /** Interface VPC endpoints and their policies. */
  readonly network: Network;
  /**
   * `{ endpoint, region, credentials, systemClockOffset }` for an SDK client (optionally another
   * region or principal, or with `vpcEndpoint` the URL of that VPC endpoint, so its calls go
   * through it). `systemClockOffset` is `requestClock` minus the system clock now (0 unless a
   * `requestClock` is given): the emulator refuses requests signed more than 15 minutes from that
   * clock, as AWS does from its own.
   */
  clientConfig(options?: { readonly region?: string; readonly credentials?: EmulatorCredentials; readonly vpcEndpoint?: string }): {
    endpoint: string;
    region: string;
    credentials: EmulatorCredentials;
    systemClockOffset: number;
  };
  /** Whether the server is listening (a `stopDuring` fault stops it). */
  readonly running: boolean;
  /** Stops the server if needed and starts it again on the same port, with the same state. */
  restart(): Promise<void>;
  /** Stops the server for good (removes the temporary blob directory when no `dataDir` was given). */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

const VPC_ENDPOINT_ID = /^vpce-[a-z0-9-]+$/;

/** A declared VPC endpoint; its policy can change at run time. */
interface EndpointState {
  readonly service: VpcEndpointService;
  policy: PolicyDocument | undefined;
  readonly vpcId: string | undefined;
  readonly port: number | undefined;
}

/** The SigV4 signing name of the calls each kind of endpoint serves. */
const ENDPOINT_SIGNING_NAMES: Readonly<Record<VpcEndpointService, string>> = { 'ecr.api': 'ecr', 'ecr.dkr': 'ecr', kms: 'kms', sts: 'sts' };

/**
 * Starts the local AWS emulator on 127.0.0.1: real SDK clients (KMS, IAM, STS, ECR) talk HTTP to
 * it with SigV4-signed requests, and it answers as AWS does, errors included.
 *
 * @example
 * ```ts
 * import { KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
 * import { startLocalAws } from 'encrypted-ecr/testing';
 *
 * const aws = await startLocalAws({ regions: ['eu-west-1'] });
 * const kms = new KMSClient(aws.clientConfig());
 * const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
 * console.log(aws.inspect.grants(KeyMetadata!.Arn!));
 * await aws.stop();
 * ```
 *
 * Calls through a declared VPC endpoint are authorized with its policy too (`vpcEndpoints`,
 * `clientConfig({ vpcEndpoint })`; see `docs/emulator.md`).
 */
export const startLocalAws = (options: LocalAwsOptions = {}): Promise<LocalAws> => startLocalAwsWith(options, {});

/** Internal (not exported by `encrypted-ecr/testing`): what the emulator's own tests and the bench plug in. */
export interface EmulatorPlugins {
  /** Builds the ECR service instead of the package's own. */
  readonly ecrFactory?: (deps: EcrServiceDeps) => EcrService;
  /** Extra AWS JSON 1.1 services to route. */
  readonly services?: readonly JsonService[];
}

/** Internal: {@link startLocalAws} with {@link EmulatorPlugins}. */
export const startLocalAwsWith = async (options: LocalAwsOptions, plugins: EmulatorPlugins): Promise<LocalAws> => {
  const regions = options.regions && options.regions.length > 0 ? [...options.regions] : ['us-east-1'];
  const accounts = options.accounts && options.accounts.length > 0 ? [...options.accounts] : ['111122223333'];
  const region = regions[0] ?? 'us-east-1';
  const clock = options.clock ?? systemClock;
  const requestClock = options.requestClock ?? systemClock;
  // Checked before anything is created. The deprecated options are aliases; `awsVariants` wins.
  const onRetireFailure = options.ecr?.onGrantRetireFailure;
  const variants = resolveAwsVariants({
    ...(options.grantConsistencyDelayMs !== undefined ? { grantConsistencyDelayMs: options.grantConsistencyDelayMs } : {}),
    ...(onRetireFailure !== undefined ? { deleteWhenRetireFails: onRetireFailure === 'succeed' ? 'silent' : onRetireFailure } : {}),
    ...options.awsVariants,
  });
  const { minimumLayerPartSize } = options;
  if (minimumLayerPartSize !== undefined && (!Number.isSafeInteger(minimumLayerPartSize) || minimumLayerPartSize < 1 || minimumLayerPartSize > MAX_PART_BYTES)) {
    throw new Error(`startLocalAws: minimumLayerPartSize must be an integer from 1 to ${String(MAX_PART_BYTES)} bytes, got ${String(minimumLayerPartSize)}`);
  }
  const vpcEndpoints = new Map<string, EndpointState>();
  for (const [id, endpoint] of Object.entries(options.vpcEndpoints ?? {})) {
    if (!VPC_ENDPOINT_ID.test(id)) throw new Error(`startLocalAws: "${id}" is not a VPC endpoint id such as vpce-0a1b2c3d4e5f67890 (vpce- then lowercase letters, digits, -)`);
    if (!Object.hasOwn(ENDPOINT_SIGNING_NAMES, endpoint.service)) throw new Error(`startLocalAws: VPC endpoint ${id}: service "${String(endpoint.service)}" is not one of ${Object.keys(ENDPOINT_SIGNING_NAMES).join(', ')}`);
    vpcEndpoints.set(id, { service: endpoint.service, policy: endpoint.policy, vpcId: endpoint.vpcId, port: endpoint.port });
  }
  const quotas = resolveRateQuotas(options.rateQuotas);
  const calls = new CallLog(options.onCall);
  const faults = new Faults();
  for (const name of [...regions, ...(options.disabledRegions ?? [])]) {
    // Regions name directories under the data directory.
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) throw new Error(`startLocalAws: "${name}" is not a region name such as eu-west-1`);
  }
  const store = options.dataDir === undefined ? undefined : new StateStore(options.dataDir, { now: () => clock.now() });
  const blobDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'encrypted-ecr-emulator-')) : join(options.dataDir, 'ecr');
  mkdirSync(blobDir, { recursive: true, mode: DATA_DIR_MODE });

  const iam = new IamStore(accounts, clock, options.credentials);
  const authorizer = new PolicyAuthorizer(iam, explainAccess, (id) => vpcEndpoints.get(id));
  const kms = new KmsService({
    authorizer,
    clock,
    regions,
    grantConsistencyDelayMs: variants.grantConsistencyDelayMs,
    onInternalCall: (call) =>
      calls.add({
        service: 'kms',
        operation: call.operation,
        principal: call.principalArn,
        region: call.region,
        status: call.status,
        ...(call.errorCode !== undefined ? { error: call.errorCode } : {}),
        ...(call.viaService !== undefined ? { viaService: call.viaService } : {}),
        time: clock.now(),
      }),
  });

  // Called by ECR only while serving requests, after `emulator` below exists.
  const baseUrl = (): string => `http://127.0.0.1:${emulator.port}`;
  const ecrFactory = plugins.ecrFactory ?? defaultEcrFactory;
  const ecr = ecrFactory?.({
    kms,
    authorizer,
    clock,
    dataDir: blobDir,
    baseUrl,
    awsVariants: variants,
    assumeRoleAsEcr: (roleArn) => iam.serviceSession(roleArn, 'ecr.amazonaws.com'),
    ...(minimumLayerPartSize !== undefined ? { minimumLayerPartSize } : {}),
    // Still passed for ECR factories that read the deprecated option.
    ...(onRetireFailure !== undefined ? { onGrantRetireFailure: onRetireFailure } : {}),
    ...(options.ecr?.repositoryPolicyUniqueIds !== undefined ? { repositoryPolicyUniqueIds: options.ecr.repositoryPolicyUniqueIds } : {}),
  });

  const saved = store?.load();
  if (saved !== undefined) {
    if (saved.iam !== undefined) iam.restore(saved.iam);
    if (options.credentials) iam.useDefaultCredentials(options.credentials);
    if (saved.kms !== undefined) kms.restore(saved.kms);
    if (saved.ecr !== undefined && ecr !== undefined) ecr.restore(saved.ecr);
  }
  const parts = (): Record<string, unknown> => ({ iam: iam.snapshot(), kms: kms.snapshot(), ...(ecr ? { ecr: ecr.snapshot() } : {}) });
  // At start a data directory that cannot be written fails the start; afterwards see StateStore.save.
  store?.saveOrThrow(parts());
  const persist = (): void => store?.save(parts());

  const organizations = new OrganizationsService(iam, authorizer);
  const account = new AccountService(organizations, authorizer, regions, options.disabledRegions ?? []);
  const jsonServices: JsonService[] = [kms, organizations, ...(ecr ? [ecr] : []), ...(plugins.services ?? [])];
  const serverDeps: ServerDeps = {
    iam,
    clock,
    requestClock,
    regions,
    jsonServices: () => jsonServices,
    restJsonServices: () => [account],
    disabledRegions: options.disabledRegions ?? [],
    // The variants reach the IAM simulator here (`simulateMissingContext`).
    queryServices: [new IamQueryService(iam, authorizer, variants), new StsQueryService(iam, authorizer)],
    routes: () => ecr?.routes ?? [],
    faults,
    rateQuotas: quotas === undefined ? undefined : new RateQuotaKeeper(quotas, clock),
    calls,
    afterCall: persist,
    onFaultStop: () => void emulator.stop(),
  };
  const emulator = new EmulatorServer(serverDeps);
  await emulator.start(options.port ?? 0);
  // One more server per VPC endpoint, over the same services and state.
  const endpointServers = new Map<string, EmulatorServer>();
  try {
    for (const [id, endpoint] of vpcEndpoints) {
      const server: EmulatorServer = new EmulatorServer({
        ...serverDeps,
        onFaultStop: () => void server.stop(),
        vpcEndpoint: { id, signingName: ENDPOINT_SIGNING_NAMES[endpoint.service] },
      });
      endpointServers.set(id, server);
      await server.start(endpoint.port ?? 0);
    }
  } catch (error) {
    await Promise.all([emulator.stop(), ...[...endpointServers.values()].map((s) => s.stop())]);
    if (options.dataDir === undefined) rmSync(blobDir, { recursive: true, force: true });
    throw error;
  }
  const known = (id: string): { readonly server: EmulatorServer; readonly endpoint: EndpointState } => {
    const server = endpointServers.get(id);
    const endpoint = vpcEndpoints.get(id);
    if (server === undefined || endpoint === undefined) {
      throw new Error(`no VPC endpoint ${id} (declared: ${[...vpcEndpoints.keys()].join(', ') || 'none'}); declare it in startLocalAws({ vpcEndpoints })`);
    }
    return { server, endpoint };
  };
  const network: Network = {
    endpointFor: (id) => `http://127.0.0.1:${known(id).server.port}`,
    setEndpointPolicy: (id, policy) => {
      known(id).endpoint.policy = policy;
    },
    endpoints: () =>
      [...vpcEndpoints].map(([id, e]) => ({ id, service: e.service, url: network.endpointFor(id), policy: e.policy, vpcId: e.vpcId })),
  };

  /** Admin changes persist like HTTP calls do. */
  const mutate = <T>(change: () => T): T => {
    const result = change();
    persist();
    return result;
  };
  const principals: Principals = {
    get default() {
      return iam.defaultPrincipal();
    },
    root: (account) => iam.root(account),
    createUser: (name, userOptions) => mutate(() => iam.createUser(name, userOptions)),
    createRole: (name, roleOptions) => mutate(() => iam.createRole(name, roleOptions)),
    assumeRole: (roleName, sessionName, sessionOptions = {}) =>
      mutate(() => {
        const account = sessionOptions.account ?? iam.defaultAccount;
        const role = iam.role(account, roleName);
        if (role === undefined) throw new Error(`no role ${roleName} in account ${account}`);
        return iam.startSession(role.arn, sessionName, {
          ...(sessionOptions.durationSeconds !== undefined ? { durationSeconds: sessionOptions.durationSeconds } : {}),
          ...(sessionOptions.sessionPolicy ? { sessionPolicies: [sessionOptions.sessionPolicy] } : {}),
        });
      }),
    setPolicies: (arn, policies) => mutate(() => iam.setPolicies(arn, policies)),
    setBoundary: (arn, boundary) => mutate(() => iam.setBoundary(arn, boundary)),
    setTrust: (roleArn, trust) => mutate(() => iam.setTrust(roleArn, trust)),
    setOrg: (accountId, orgId) => mutate(() => iam.setOrg(accountId, orgId)),
    setAccountState: (accountId, state) => organizations.setAccountState(accountId, state),
  };

  const endpoint = `http://127.0.0.1:${emulator.port}`;
  let stopped = false;
  return {
    variants,
    endpoint,
    region,
    regions,
    account: iam.defaultAccount,
    get credentials() {
      return iam.defaultPrincipal().credentials;
    },
    principals,
    inspect: {
      grants: (keyArn) => kms.grants(keyArn),
      keys: (keyRegion) => kms.keys(keyRegion),
      calls: (filter) => calls.list(filter),
      ecr: ecr?.inspect,
      persistence: () => store?.status(),
    },
    faults,
    network,
    clientConfig: (config = {}) => ({
      endpoint: config.vpcEndpoint === undefined ? endpoint : network.endpointFor(config.vpcEndpoint),
      region: config.region ?? region,
      credentials: config.credentials ?? iam.defaultPrincipal().credentials,
      systemClockOffset: requestClock === systemClock ? 0 : requestClock.now().getTime() - Date.now(),
    }),
    get running() {
      return emulator.running;
    },
    restart: async () => {
      if (stopped) throw new Error('this emulator was stopped with stop(); start a new one');
      await emulator.stop();
      await emulator.start();
      for (const server of endpointServers.values()) {
        await server.stop();
        await server.start();
      }
    },
    stop: async () => {
      stopped = true;
      await Promise.all([emulator.stop(), ...[...endpointServers.values()].map((s) => s.stop())]);
      if (options.dataDir === undefined) rmSync(blobDir, { recursive: true, force: true });
    },
  };
};
