/**
 * What {@link EncryptedRegistry} takes: your clients or the configuration of the ones it makes,
 * a logger, and how it waits (the clock and the poll bound). Public types; the registry reads them.
 */
import type { ECRClient, ECRClientConfig } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { STSClient } from '@aws-sdk/client-sts';
import type { PollSettings } from './internal/context.js';
import { RateGovernor } from './internal/rate-governor.js';
import { AWS_RATE_QUOTAS } from './internal/rate-quotas.js';
import { type Clock, systemClock } from './internal/wait.js';
import type { RegistryLogger } from './types.js';

/** The SDK clients the registry works with. ECR, KMS, IAM and STS aggregated clients work too. */
export interface RegistryClients {
  readonly ecr?: ECRClient;
  readonly kms?: KMSClient;
  readonly iam?: IAMClient;
  readonly sts?: STSClient;
}

/**
 * Configuration for the clients the registry creates itself (those missing from `clients`).
 * Clients you pass in `clients` keep their own configuration, retries included.
 */
export interface RegistryClientConfig {
  readonly region?: string;
  readonly credentials?: ECRClientConfig['credentials'];
  /**
   * A custom endpoint for every service, e.g. the local emulator of `encrypted-ecr/testing`.
   * Plain `http://` is accepted only for a loopback host, unless the registry's
   * `allowInsecureHttp` says otherwise.
   */
  readonly endpoint?: string;
  /**
   * HTTP attempts per API call, the first included, made by the SDK's retry strategy. Default: the
   * SDK's (`AWS_MAX_ATTEMPTS`, the profile's `max_attempts`, else 3). The library does not retry
   * API calls again on top of these, except ECR layer uploads that stay throttled (a migration).
   */
  readonly maxAttempts?: number;
  /**
   * The SDK's retry strategy: `'standard'` (exponential backoff with jitter, a retry quota) or
   * `'adaptive'` (standard plus client-side rate limiting after throttling: worth it for a large
   * migration, which calls few ECR APIs at a high rate). Default: the SDK's (`AWS_RETRY_MODE`,
   * the profile's `retry_mode`, else `'standard'`).
   */
  readonly retryMode?: 'standard' | 'adaptive';
  readonly requestHandler?: ECRClientConfig['requestHandler'];
}

/** Options of {@link EncryptedRegistry}. */
export interface EncryptedRegistryOptions {
  /**
   * Your own configured clients. A client you pass is used as is (its retry settings too) and is
   * never destroyed by the registry; the registry creates the others from `clientConfig`.
   */
  readonly clients?: RegistryClients;
  readonly clientConfig?: RegistryClientConfig;
  /** Receives what the registry is doing; silent by default. */
  readonly logger?: RegistryLogger;
  /**
   * How long to wait for eventually consistent state: KMS grants appearing after a creation or
   * being retired by ECR after a deletion, a repository policy read back, archived images being
   * restored. Pauses start at `initialDelayMs`, double up to `maxDelayMs`, and stop once their sum
   * would pass `timeoutMs`. Defaults: 500 ms, 15 s, 120 s (KMS documents grant changes as
   * "usually less than five minutes"). Each wait is bounded by it separately.
   */
  readonly poll?: Partial<PollSettings>;
  /**
   * How the library waits: every pause (the `poll` pauses above, the pauses between retries of a
   * throttled layer upload or a restarted blob download) goes through `clock.sleep`, and
   * `clock.now()` dates what the library records and tells a young repository (whose grants may
   * not show yet) from an old one. Default: the system clock. A clock whose `sleep` resolves at
   * once makes every wait instant, e.g. in tests with mocked clients, where grants never change
   * by themselves and each wait would otherwise run to its `poll.timeoutMs`.
   *
   * @example
   * ```ts
   * const instant = { sleep: () => Promise.resolve(), now: () => new Date() };
   * const registry = new EncryptedRegistry({ clients: { ecr, kms, iam, sts }, clock: instant });
   * ```
   */
  readonly clock?: Clock;
  /**
   * Accept plain `http://` to a host that is not loopback: an emulator container reached by its
   * CI service name (`http://localstack:4566`), or a test proxy. Off by default: without TLS,
   * signed requests, their answers and the image layers a migration copies (layer download URLs
   * over plain http are accepted too) travel unencrypted. `https://` and loopback `http://` never
   * need it. When an endpoint in use is plain http to another host, the registry logs one
   * `warn` naming the hosts (`fields.insecureHttpHosts`) before its first call. Without it such
   * an endpoint is `InsecureEndpoint`, before any call.
   *
   * @example
   * ```ts
   * const registry = new EncryptedRegistry({
   *   clientConfig: { region: 'us-east-1', endpoint: 'http://localstack:4566' },
   *   allowInsecureHttp: true,
   * });
   * ```
   */
  readonly allowInsecureHttp?: boolean;
  /**
   * The request-rate quotas the registry keeps its calls under, in requests per second per API
   * (`'ecr:PutImage'`, `'kms:CreateGrant'`…), shared by every operation it runs at the same time:
   * many concurrent migrations then go as fast as AWS allows, not faster. Default
   * {@link AWS_RATE_QUOTAS}, AWS's documented defaults for the account and Region; the values you
   * give replace those (when AWS raised your quotas), `false` for one API stops pacing it, and
   * `rateQuotas: false` turns the governor off. A throttled call halves that API's pace; it grows
   * back after 5 s without throttling. The SDK still retries throttled attempts (`retryMode`): the
   * governor only decides when each call starts. Each registry paces its own calls; registries of
   * the SAME account and Region share AWS's quotas, so give them one governor from
   * {@link createRateGovernor} (`EncryptedFleet` does it for its targets).
   *
   * @example
   * ```ts
   * const registry = new EncryptedRegistry({ rateQuotas: { 'ecr:PutImage': 50, 'ecr:UploadLayerPart': 1_000 } });
   * const shared = createRateGovernor('aws');
   * const a = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' }, rateQuotas: shared });
   * const b = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' }, rateQuotas: shared, logger });
   * ```
   */
  readonly rateQuotas?: 'aws' | RateQuotaOverrides | false | RateGovernor;
}

/** Per-API request-rate quotas (requests per second), keyed `'<service>:<Operation>'`; `false` leaves an API unpaced. */
export type RateQuotaOverrides = Readonly<Record<string, number | false>>;

/** The quotas in force: AWS's defaults with the overrides applied (`undefined`: no governor). */
const rateQuotasFor = (overrides: 'aws' | RateQuotaOverrides | false | undefined): Record<string, number> | undefined => {
  if (overrides === false || overrides === undefined) return undefined;
  const quotas: Record<string, number> = { ...AWS_RATE_QUOTAS };
  for (const [api, quota] of Object.entries(overrides === 'aws' ? {} : overrides)) {
    if (quota === false) delete quotas[api];
    else quotas[api] = quota;
  }
  return quotas;
};

/** The registry's rate governor, paced by its clock (or the shared one given); `undefined` unless `rateQuotas` asks for one. */
export const governorFor = (overrides: 'aws' | RateQuotaOverrides | false | RateGovernor | undefined, clock: Clock): RateGovernor | undefined => {
  if (overrides instanceof RateGovernor) return overrides;
  const quotas = rateQuotasFor(overrides);
  return quotas === undefined ? undefined : new RateGovernor(quotas, clock);
};

/** The part of a client config that every SDK client accepts alike. */
export type SharedClientConfig = Pick<ECRClientConfig, 'region' | 'credentials' | 'endpoint' | 'maxAttempts' | 'retryMode' | 'requestHandler'>;

/** The SDK config for the clients the registry creates; only the fields that are set (exactOptionalPropertyTypes). */
export const clientConfigFor = (options: RegistryClientConfig): SharedClientConfig => {
  const config: SharedClientConfig = {};
  if (options.region !== undefined) config.region = options.region;
  if (options.credentials !== undefined) config.credentials = options.credentials;
  if (options.endpoint !== undefined) config.endpoint = options.endpoint;
  if (options.maxAttempts !== undefined) config.maxAttempts = options.maxAttempts;
  if (options.retryMode !== undefined) config.retryMode = options.retryMode;
  if (options.requestHandler !== undefined) config.requestHandler = options.requestHandler;
  return config;
};

/**
 * The custom endpoints calls may go to: the configured one, and those the SDK reads from the
 * environment (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`).
 */
export const endpointsInUse = (clientConfig: RegistryClientConfig): string[] => {
  const fromEnvironment = ['AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_ECR', 'AWS_ENDPOINT_URL_KMS', 'AWS_ENDPOINT_URL_IAM', 'AWS_ENDPOINT_URL_STS']
    .map((name) => process.env[name])
    .filter((url): url is string => url !== undefined && url !== '');
  return clientConfig.endpoint === undefined ? fromEnvironment : [clientConfig.endpoint];
};

/**
 * A rate governor to share between registries of ONE account and Region (AWS's request-rate quotas
 * are per account and Region): pass it as `rateQuotas` to each. `rateQuotas` as for
 * {@link EncryptedRegistryOptions.rateQuotas} (default AWS's documented quotas); `clock` paces it
 * (default the system clock). Never share one across accounts or Regions: each would then get a
 * share of one quota instead of its own.
 *
 * @example
 * ```ts
 * const shared = createRateGovernor({ 'ecr:PutImage': 20 });
 * const audit = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' }, rateQuotas: shared });
 * const migrate = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' }, rateQuotas: shared });
 * ```
 */
export const createRateGovernor = (rateQuotas: 'aws' | RateQuotaOverrides = 'aws', clock: Clock = systemClock): RateGovernor =>
  new RateGovernor(rateQuotasFor(rateQuotas) ?? {}, clock);
