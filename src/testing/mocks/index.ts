/**
 * `encrypted-ecr/testing/mocks`: ready-made aws-sdk-client-mock scenarios for unit tests of code
 * that uses `EncryptedRegistry`. Needs `aws-sdk-client-mock` (an optional peer dependency of
 * `encrypted-ecr`, required only by this entry).
 *
 * @packageDocumentation
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { EncryptedRegistryOptions } from '../../registry.js';
import { type AnyStub, wireEcr } from './ecr.js';
import { type MockFailure, mockFailures } from './failures.js';
import { wireIamSts, wireKms } from './kms-iam-sts.js';
import { addEcrGrants, type MockAccount, newRepository, seedImage } from './state.js';

export { mockFailures };
export type { MockFailure, MockFailureSpec } from './failures.js';
export type { AnyStub };

/** A repository that exists when the scenario starts. */
export interface MockRepositorySeed {
  readonly name: string;
  /** `'KMS'` uses the scenario's key (and puts ECR's two grants on it). Default `'AES256'`. */
  readonly encryption?: 'AES256' | 'KMS';
  /** How many images (one tag each, `v1`, `v2`, …) it holds. Default 0. */
  readonly images?: number;
  /** Its repository policy (JSON text). Default none. */
  readonly policy?: string;
  /** Its lifecycle policy (JSON text). Default none. */
  readonly lifecyclePolicy?: string;
  /** Its resource tags. Default none. */
  readonly tags?: readonly { readonly Key: string; readonly Value: string }[];
}

/** Options of {@link mockRegistryClients}. */
export interface MockScenarioOptions {
  /** Default `eu-west-1`. */
  readonly region?: string;
  /** Default `111122223333`. */
  readonly account?: string;
  /** The customer-managed key's id (a UUID). Default `1234abcd-12ab-34cd-56ef-1234567890ab`. */
  readonly keyId?: string;
  /** Its alias. Default `alias/app`. */
  readonly keyAlias?: string;
  /** The caller STS answers. Default `arn:aws:iam::<account>:user/dev`. */
  readonly callerArn?: string;
  /** Repositories that exist at the start. */
  readonly repositories?: readonly MockRepositorySeed[];
  /**
   * Your own clients to mock (each is mocked as an instance: `mockClient(client)`). The scenario
   * creates the missing ones.
   */
  readonly clients?: { readonly ecr?: ECRClient; readonly kms?: KMSClient; readonly iam?: IAMClient; readonly sts?: STSClient };
  /** The clock of creation and grant times. Default: the real clock. */
  readonly now?: () => Date;
}

/** The mocks, the clients they stub, and the account they answer from. */
export interface RegistryScenario {
  /** aws-sdk-client-mock stubs: assert with `toHaveReceivedCommandWith` and friends, or override one command. */
  readonly ecr: AnyStub;
  readonly kms: AnyStub;
  readonly iam: AnyStub;
  readonly sts: AnyStub;
  readonly clients: { readonly ecr: ECRClient; readonly kms: KMSClient; readonly iam: IAMClient; readonly sts: STSClient };
  /**
   * Options for `new EncryptedRegistry(...)`: the mocked clients, the region, and instant polls
   * (`poll: { initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 }`, so no operation waits).
   */
  readonly options: EncryptedRegistryOptions;
  readonly region: string;
  readonly account: string;
  readonly keyId: string;
  readonly keyArn: string;
  readonly keyAlias: string;
  readonly callerArn: string;
  /** The ARN a repository of that name has (and its grants' `aws:ecr:arn` context). */
  repositoryArn(name: string): string;
  /** The repositories that exist now. */
  repositoryNames(): string[];
  /** The ids of the grants on the scenario's key now. */
  grantIds(): string[];
  /** The tags of each image of a repository now, by digest. */
  images(repositoryName: string): Map<string, readonly string[]>;
  /** Switches one step to a documented failure (see `mockFailures`); returns the scenario. */
  fail(failure: MockFailure): RegistryScenario;
  /** Every command the four mocks received, in order, as `service:Command`. */
  commandsSent(): string[];
  /** Forgets the calls the mocks received (the account and failures stay). */
  resetHistory(): void;
  /** Gives the clients their real `send` back. */
  restore(): void;
}

/** Polls that never wait: the scenario answers at once. */
const INSTANT_POLL = { initialDelayMs: 0, maxDelayMs: 0, timeoutMs: 0 } as const;

const commandName = (call: { readonly args: readonly unknown[] }): string => {
  const command = call.args[0];
  const name = typeof command === 'object' && command !== null ? command.constructor.name : 'unknown';
  return name.replace(/Command$/, '');
};

/**
 * Mocks ECR, KMS, IAM and STS with consistent answers for the happy path of every
 * `EncryptedRegistry` operation: `DescribeKey` answers an enabled symmetric key in the region,
 * `CreateRepository` returns the ARN that ECR's two grants then carry as `aws:ecr:arn`,
 * `ListGrants` shows them until `DeleteRepository` retires them, images keep their byte-exact
 * manifests and tags. Every command the library sends is stubbed.
 *
 * Simplification: every layer of a scenario image is reported `AVAILABLE` in every repository,
 * so a migration moves no layer bytes (ECR checks layers per repository; the byte path is
 * exercised by the emulator of `encrypted-ecr/testing`).
 *
 * @example
 * ```ts
 * import { EncryptedRegistry } from 'encrypted-ecr';
 * import { mockRegistryClients } from 'encrypted-ecr/testing/mocks';
 * import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
 *
 * const scenario = mockRegistryClients({ region: 'eu-west-1' });
 * const registry = new EncryptedRegistry(scenario.options);
 * const created = await registry.createEncryptedRepository({ repositoryName: 'team/app', encryption: { type: 'KMS', key: scenario.keyAlias } });
 * expect(created.isOk()).toBe(true);
 * expect(scenario.ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, { repositoryName: 'team/app' });
 * scenario.fail('keyDisabled'); // the next creation answers KeyNotUsable
 * ```
 */
export const mockRegistryClients = (options: MockScenarioOptions = {}): RegistryScenario => {
  const region = options.region ?? 'eu-west-1';
  const account = options.account ?? '111122223333';
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  const keyId = options.keyId ?? '1234abcd-12ab-34cd-56ef-1234567890ab';
  const a: MockAccount = {
    region,
    account,
    partition,
    keyId,
    keyArn: `arn:${partition}:kms:${region}:${account}:key/${keyId}`,
    keyAlias: options.keyAlias ?? 'alias/app',
    callerArn: options.callerArn ?? `arn:${partition}:iam::${account}:user/dev`,
    repositories: new Map(),
    grants: new Map(),
    blobs: new Set(),
    failures: new Set(),
    now: options.now ?? (() => new Date()),
    nextId: 0,
  };
  const created = new Date(a.now().getTime() - 86_400_000);
  for (const seed of options.repositories ?? []) {
    const repository = newRepository(a, seed.name, seed.encryption === 'KMS' ? { encryptionType: 'KMS', kmsKey: a.keyArn } : { encryptionType: 'AES256' });
    for (let n = 1; n <= (seed.images ?? 0); n += 1) {
      const image = seedImage(a, seed.name, n, created);
      repository.images.set(image.digest, image);
    }
    repository.policy = seed.policy;
    repository.lifecyclePolicy = seed.lifecyclePolicy;
    repository.tags = (seed.tags ?? []).map((t) => ({ ...t }));
    a.repositories.set(seed.name, repository);
    if (seed.encryption === 'KMS') addEcrGrants(a, a.keyArn, repository);
  }

  const clients = {
    ecr: options.clients?.ecr ?? new ECRClient({ region }),
    kms: options.clients?.kms ?? new KMSClient({ region }),
    iam: options.clients?.iam ?? new IAMClient({ region }),
    sts: options.clients?.sts ?? new STSClient({ region }),
  };
  const stubs = { ecr: mockClient(clients.ecr), kms: mockClient(clients.kms), iam: mockClient(clients.iam), sts: mockClient(clients.sts) };
  wireEcr(stubs.ecr, a);
  wireKms(stubs.kms, a);
  wireIamSts(stubs.iam, stubs.sts, a);

  const scenario: RegistryScenario = {
    ...stubs,
    clients,
    options: { clients, clientConfig: { region }, poll: INSTANT_POLL },
    region,
    account,
    keyId,
    keyArn: a.keyArn,
    keyAlias: a.keyAlias,
    callerArn: a.callerArn,
    repositoryArn: (name) => newRepository(a, name, { encryptionType: 'AES256' }).arn,
    repositoryNames: () => [...a.repositories.keys()],
    grantIds: () => (a.grants.get(a.keyArn) ?? []).map((g) => g.GrantId ?? ''),
    images: (name) => {
      const repository = a.repositories.get(name);
      return new Map([...(repository?.images.values() ?? [])].map((i) => [i.digest, [...i.tags]]));
    },
    fail: (failure) => {
      if (!(failure in mockFailures)) throw new TypeError(`unknown mock failure '${String(failure)}': one of ${Object.keys(mockFailures).join(', ')}`);
      a.failures.add(failure);
      return scenario;
    },
    commandsSent: () =>
      (['ecr', 'kms', 'iam', 'sts'] as const)
        .flatMap((service) => stubs[service].calls().map((call) => ({ call, name: `${service}:${commandName(call)}` })))
        .sort((x, y) => (x.call.calledBefore(y.call) ? -1 : 1))
        .map((c) => c.name),
    resetHistory: () => {
      for (const stub of Object.values(stubs)) stub.resetHistory();
    },
    restore: () => {
      for (const stub of Object.values(stubs)) stub.restore();
    },
  };
  return scenario;
};
