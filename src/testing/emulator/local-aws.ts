/** `startLocalAws`: the local AWS emulator (KMS, IAM, STS, and ECR once wired) on 127.0.0.1. */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyAuthorizer } from './authorizer.js';
import { CallLog, type CallFilter, type CallList } from './calls.js';
import type { Clock, EcrInspection, EcrService, EcrServiceDeps, JsonService } from './core.js';
import { defaultEcrFactory } from './ecr-wiring.js';
import { Faults } from './faults.js';
import { IamStore, type EmulatorCredentials, type PrincipalHandle, type RoleHandle } from './iam.js';
import { IamQueryService, StsQueryService } from './iam-sts.js';
import { KmsService, type GrantInfo, type KeyInfo } from './kms.js';
import { StateStore } from './persistence.js';
import { EmulatorServer } from './server.js';
import type { PolicyDocument } from '../../policy/types.js';

/** Options of {@link startLocalAws}. */
export interface LocalAwsOptions {
  /** Port on 127.0.0.1; a free one when absent. */
  readonly port?: number;
  /** Regions served side by side; the first is the default. Default `['us-east-1']`. */
  readonly regions?: readonly string[];
  /** Account IDs; the first holds the default principal. Default `['111122223333']`. */
  readonly accounts?: readonly string[];
  /** Keeps state here (rewritten atomically after every call that changes it) and reloads it on start. */
  readonly dataDir?: string;
  /** The emulator's clock (grant creation dates, key deletion, session expiry). Default: system time. */
  readonly clock?: Clock;
  /** Retired grants keep showing in ListGrants for this long, and new ones appear only after it. Default 0. */
  readonly grantConsistencyDelayMs?: number;
  /** Fixed credentials for the default principal (otherwise random, or those saved in `dataDir`). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Options passed through to the ECR service. */
  readonly ecr?: Pick<EcrServiceDeps, 'onGrantRetireFailure'>;
  /** Builds the ECR service (defaults to the package's own once wired). */
  readonly ecrFactory?: (deps: EcrServiceDeps) => EcrService;
  /** Extra AWS JSON 1.1 services to route (for tests of the emulator itself). */
  readonly services?: readonly JsonService[];
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
  /** Puts an account in an organization (`aws:PrincipalOrgID`). */
  setOrg(accountId: string, orgId: string | undefined): void;
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
}

/** A running emulator. */
export interface LocalAws {
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
  /** `{ endpoint, region, credentials }` for an SDK client (optionally another region or principal). */
  clientConfig(options?: { readonly region?: string; readonly credentials?: EmulatorCredentials }): {
    endpoint: string;
    region: string;
    credentials: EmulatorCredentials;
  };
  /** Whether the server is listening (a `stopDuring` fault stops it). */
  readonly running: boolean;
  /** Stops the server if needed and starts it again on the same port, with the same state. */
  restart(): Promise<void>;
  /** Stops the server for good (removes the temporary blob directory when no `dataDir` was given). */
  stop(): Promise<void>;
}

const systemClock: Clock = { now: () => new Date() };

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
 */
export const startLocalAws = async (options: LocalAwsOptions = {}): Promise<LocalAws> => {
  const regions = options.regions && options.regions.length > 0 ? [...options.regions] : ['us-east-1'];
  const accounts = options.accounts && options.accounts.length > 0 ? [...options.accounts] : ['111122223333'];
  const region = regions[0] ?? 'us-east-1';
  const clock = options.clock ?? systemClock;
  const calls = new CallLog();
  const faults = new Faults();
  const store = options.dataDir === undefined ? undefined : new StateStore(options.dataDir);
  const blobDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'encrypted-ecr-emulator-')) : join(options.dataDir, 'ecr');
  mkdirSync(blobDir, { recursive: true });

  const iam = new IamStore(accounts, clock, options.credentials);
  const authorizer = new PolicyAuthorizer(iam);
  const kms = new KmsService({
    authorizer,
    clock,
    regions,
    grantConsistencyDelayMs: options.grantConsistencyDelayMs ?? 0,
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
  const ecrFactory = options.ecrFactory ?? defaultEcrFactory;
  const ecr = ecrFactory?.({
    kms,
    authorizer,
    clock,
    dataDir: blobDir,
    baseUrl,
    ...(options.ecr?.onGrantRetireFailure !== undefined ? { onGrantRetireFailure: options.ecr.onGrantRetireFailure } : {}),
  });

  const saved = store?.load();
  if (saved !== undefined) {
    if (saved.iam !== undefined) iam.restore(saved.iam);
    if (options.credentials) iam.useDefaultCredentials(options.credentials);
    if (saved.kms !== undefined) kms.restore(saved.kms);
    if (saved.ecr !== undefined && ecr !== undefined) ecr.restore(saved.ecr);
  }
  const persist = (): void => {
    store?.save({ iam: iam.snapshot(), kms: kms.snapshot(), ...(ecr ? { ecr: ecr.snapshot() } : {}) });
  };
  persist();

  const jsonServices: JsonService[] = [kms, ...(ecr ? [ecr] : []), ...(options.services ?? [])];
  const emulator = new EmulatorServer({
    iam,
    clock,
    regions,
    jsonServices: () => jsonServices,
    queryServices: [new IamQueryService(iam, authorizer), new StsQueryService(iam, authorizer)],
    routes: () => ecr?.routes ?? [],
    faults,
    calls,
    afterCall: persist,
    onFaultStop: () => void emulator.stop(),
  });
  await emulator.start(options.port ?? 0);

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
  };

  const endpoint = `http://127.0.0.1:${emulator.port}`;
  let stopped = false;
  return {
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
    },
    faults,
    clientConfig: (config = {}) => ({ endpoint, region: config.region ?? region, credentials: config.credentials ?? iam.defaultPrincipal().credentials }),
    get running() {
      return emulator.running;
    },
    restart: async () => {
      if (stopped) throw new Error('this emulator was stopped with stop(); start a new one');
      await emulator.stop();
      await emulator.start();
    },
    stop: async () => {
      stopped = true;
      await emulator.stop();
      if (options.dataDir === undefined) rmSync(blobDir, { recursive: true, force: true });
    },
  };
};

/** A clock tests move by hand (grant consistency, key deletion, session expiry). */
export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(time: Date): void;
}

/**
 * A clock that only moves when told to.
 *
 * @example
 * ```ts
 * const clock = manualClock();
 * const aws = await startLocalAws({ clock, grantConsistencyDelayMs: 60_000 });
 * clock.advance(60_000); // retired grants now leave ListGrants
 * ```
 */
export const manualClock = (start: Date = new Date('2026-01-01T00:00:00Z')): ManualClock => {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    advance: (ms) => {
      now += ms;
    },
    set: (time) => {
      now = time.getTime();
    },
  };
};
