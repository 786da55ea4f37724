/**
 * The context every operation of an {@link EncryptedRegistry} runs in, from its checked options:
 * the SDK clients (yours, or made here on first use and handed to `own` to be destroyed with the registry), the
 * region resolved once, the transport check, the logger, the clock, the poll bound and the rate
 * governor.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { ResultAsync } from 'neverthrow';
import type { SdkClientError } from './errors.js';
import { type RegistryContext, silentLogger } from './internal/context.js';
import { paceRetries } from './internal/retry-pacing.js';
import { checkTransport } from './internal/transport.js';
import { DEFAULT_POLL, systemClock } from './internal/wait.js';
import { clientConfigFor, type EncryptedRegistryOptions, endpointsInUse, governorFor } from './registry-options.js';

export const registryContextFor = (valid: EncryptedRegistryOptions, own: <C extends { destroy(): void }>(client: C) => C): RegistryContext => {
  const { clients = {}, clientConfig = {}, logger = silentLogger, clock = systemClock, allowInsecureHttp = false } = valid;
  const config = clientConfigFor(clientConfig);
  const rate = governorFor(valid.rateQuotas, clock);
  // The clients made here pace their retries too (yours are left as they are).
  const made = <C extends ECRClient | KMSClient | IAMClient | STSClient>(client: C): C => {
    if (rate !== undefined) paceRetries(client);
    return own(client);
  };
  // Each client is made on first use, not when the registry is constructed. The registry's first
  // operation uses all four: it checks the endpoint each will use before any call (a profile's
  // [services] section can point one service elsewhere), which needs the client's own config.
  let ecrClient = clients.ecr;
  let kmsClient = clients.kms;
  let iamClient = clients.iam;
  let stsClient = clients.sts;
  const ecr = (): ECRClient => (ecrClient ??= made(new ECRClient(config)));
  // Clients for other regions (replicas of the same account), only when the registry makes its own.
  const byRegion = new Map<string, { readonly ecr: ECRClient; readonly kms: KMSClient }>();
  const regionClients =
    clients.ecr === undefined && clients.kms === undefined
      ? (other: string): { readonly ecr: ECRClient; readonly kms: KMSClient } => {
          const known = byRegion.get(other);
          if (known !== undefined) return known;
          const made = { ecr: own(new ECRClient({ ...config, region: other })), kms: own(new KMSClient({ ...config, region: other })) };
          byRegion.set(other, made);
          return made;
        }
      : undefined;
  let region: ResultAsync<string, SdkClientError> | undefined;
  const resolveRegion = (): ResultAsync<string, SdkClientError> => {
    // Resolved once and shared: the region provider may read files or the environment.
    region ??= clientConfig.region
      ? ResultAsync.fromSafePromise(Promise.resolve(clientConfig.region))
      : ResultAsync.fromPromise(
          ecr().config.region(),
          (cause): SdkClientError => ({
            kind: 'SdkClientError',
            service: 'ecr',
            operation: 'ResolveRegion',
            cause,
            message: 'no AWS region configured: pass clientConfig.region or set AWS_REGION',
          }),
        );
    return region;
  };
  return {
    get ecr() {
      return ecr();
    },
    get kms() {
      return (kmsClient ??= made(new KMSClient(config)));
    },
    get iam() {
      return (iamClient ??= made(new IAMClient(config)));
    },
    get sts() {
      return (stsClient ??= made(new STSClient(config)));
    },
    logger,
    region: resolveRegion,
    transportError: endpointsInUse(clientConfig)
      .map((url) => checkTransport(url, allowInsecureHttp))
      .find((e) => e !== undefined),
    allowInsecureHttp,
    poll: { ...DEFAULT_POLL, ...valid.poll },
    sleep: (ms, signal) => clock.sleep(ms, signal),
    now: () => clock.now(),
    rate,
    regionClients,
  };
};
