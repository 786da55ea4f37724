/**
 * Fixtures for the create and preflight tests: class mocks of the four clients driven by a small
 * in-memory state (repositories, grants), so a test only states what differs from the happy path.
 * Failures are real SDK exception instances.
 */
import {
  CreateRepositoryCommand,
  type CreateRepositoryCommandInput,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  PutLifecyclePolicyCommand,
  type Repository,
  RepositoryNotFoundException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import {
  type EvaluationResult,
  GetRoleCommand,
  IAMClient,
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandInput,
} from '@aws-sdk/client-iam';
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type GrantListEntry,
  type KeyMetadata,
  KMSClient,
  ListGrantsCommand,
  type ListGrantsCommandInput,
  NotFoundException,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { okAsync } from 'neverthrow';
import type { RegistryContext } from '../../src/internal/context.js';
import { silentLogger } from '../../src/internal/context.js';
import { EncryptedRegistry } from '../../src/index.js';

export const REGION = 'eu-west-1';
export const ACCOUNT = '111122223333';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
export const OTHER_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0000abcd-12ab-34cd-56ef-1234567890ab`;
export const MANAGED_KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/9999abcd-12ab-34cd-56ef-1234567890ab`;
export const USER_ARN = `arn:aws:iam::${ACCOUNT}:user/dev`;
export const NOW = new Date('2026-11-01T12:00:00Z');
export const repoArn = (name: string): string => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;
export const FAST_POLL = { initialDelayMs: 1, maxDelayMs: 2, timeoutMs: 20 } as const;

export const ecr = mockClient(ECRClient);
export const kms = mockClient(KMSClient);
export const iam = mockClient(IAMClient);
export const sts = mockClient(STSClient);

export const enabledKey = (overrides: Partial<KeyMetadata> = {}): KeyMetadata => ({
  KeyId: KEY_ID,
  Arn: KEY_ARN,
  AWSAccountId: ACCOUNT,
  KeyState: 'Enabled',
  Enabled: true,
  KeyUsage: 'ENCRYPT_DECRYPT',
  KeySpec: 'SYMMETRIC_DEFAULT',
  KeyManager: 'CUSTOMER',
  CreationDate: new Date('2025-01-01T00:00:00Z'),
  ...overrides,
});

export const ecrGrant = (id: string, repositoryArn: string, created: Date, keyArn = KEY_ARN): GrantListEntry => ({
  KeyId: keyArn,
  GrantId: id,
  GranteePrincipal: `ecr.${REGION}.amazonaws.com`,
  RetiringPrincipal: `ecr.${REGION}.amazonaws.com`,
  Operations: ['GenerateDataKey', 'Decrypt'],
  Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repositoryArn } },
  CreationDate: created,
});

/** The in-memory state behind the mocks; tests mutate it or override single commands after `installFakes()`. */
export interface FakeState {
  readonly repositories: Map<string, Repository>;
  /** Grants per key ARN. */
  readonly grants: Map<string, GrantListEntry[]>;
  /** Keys by every reference that resolves to them (id, ARN, alias). */
  readonly keys: Map<string, KeyMetadata>;
  callerArn: string;
  /** Decision per action; absent actions are allowed. */
  readonly decisions: Map<string, 'allowed' | 'implicitDeny' | 'explicitDeny'>;
  /** How many ListGrants calls after a creation before ECR's grants show up (eventual consistency). */
  grantsVisibleAfterListings: number;
  /** Whether a deletion takes the repository's grants with it (ECR retiring them as the caller). */
  deleteRetiresGrants: boolean;
  /** What GetKeyPolicy answers for every key (default: KMS's default policy, delegating to the account). */
  keyPolicy: string;
}

/** KMS's default key policy: the account's IAM policies decide. */
export const DEFAULT_KEY_POLICY = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
});

export let state: FakeState;

/** A synchronous fake as an SDK call: its throw becomes a rejection, as the SDK's would. */
const fake =
  <I, O>(fn: (input: I) => O) =>
  (input: I): Promise<O> => {
    // An async function turns the throw into a rejection.
    const run = async (): Promise<O> => {
      await Promise.resolve();
      return fn(input);
    };
    return run();
  };


/** Resets every mock and installs a happy path: a usable key, a user allowed everything, no repository. */
export const installFakes = (): FakeState => {
  ecr.reset();
  kms.reset();
  iam.reset();
  sts.reset();
  const key = enabledKey();
  state = {
    repositories: new Map(),
    grants: new Map([[KEY_ARN, []]]),
    keys: new Map([
      [KEY_ID, key],
      [KEY_ARN, key],
      ['alias/app', key],
    ]),
    callerArn: USER_ARN,
    decisions: new Map(),
    grantsVisibleAfterListings: 0,
    deleteRetiresGrants: true,
    keyPolicy: DEFAULT_KEY_POLICY,
  };
  const pending: { keyArn: string; grants: GrantListEntry[]; listingsLeft: number }[] = [];

  ecr.on(DescribeRepositoriesCommand).callsFake(fake((input: { repositoryNames?: string[] }) => {
    const name = input.repositoryNames?.[0] ?? '';
    const repository = state.repositories.get(name);
    if (!repository) throw new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${name}' does not exist` });
    return { repositories: [repository] };
  }));
  ecr.on(CreateRepositoryCommand).callsFake(fake((input: CreateRepositoryCommandInput) => {
    const name = input.repositoryName ?? '';
    const repository: Repository = {
      repositoryName: name,
      repositoryArn: repoArn(name),
      registryId: ACCOUNT,
      repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${name}`,
      createdAt: NOW,
      imageTagMutability: input.imageTagMutability ?? 'MUTABLE',
      encryptionConfiguration: input.encryptionConfiguration ?? { encryptionType: 'AES256' },
    };
    state.repositories.set(name, repository);
    const keyArn = input.encryptionConfiguration?.kmsKey;
    if (keyArn !== undefined) {
      pending.push({
        keyArn,
        grants: [ecrGrant(`${name}-g1`, repoArn(name), NOW, keyArn), ecrGrant(`${name}-g2`, repoArn(name), NOW, keyArn)],
        listingsLeft: state.grantsVisibleAfterListings,
      });
    }
    return { repository };
  }));
  ecr.on(DeleteRepositoryCommand).callsFake(fake((input: { repositoryName?: string }) => {
    const name = input.repositoryName ?? '';
    const repository = state.repositories.get(name);
    if (!repository) throw new RepositoryNotFoundException({ $metadata: {}, message: 'not found' });
    state.repositories.delete(name);
    if (state.deleteRetiresGrants) {
      for (const p of pending.filter((x) => x.grants.some((g) => g.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] === repoArn(name)))) {
        pending.splice(pending.indexOf(p), 1);
      }
      for (const [keyArn, grants] of state.grants) {
        state.grants.set(keyArn, grants.filter((g) => g.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] !== repoArn(name)));
      }
    }
    return { repository };
  }));
  ecr.on(SetRepositoryPolicyCommand).resolves({});
  ecr.on(PutLifecyclePolicyCommand).resolves({});

  kms.on(DescribeKeyCommand).callsFake(fake((input: { KeyId?: string }) => {
    const metadata = state.keys.get(input.KeyId ?? '');
    if (!metadata) throw new NotFoundException({ $metadata: {}, message: `Key '${input.KeyId}' does not exist` });
    return { KeyMetadata: metadata };
  }));
  kms.on(GetKeyPolicyCommand).callsFake(fake(() => ({ Policy: state.keyPolicy, PolicyName: 'default' })));
  kms.on(ListGrantsCommand).callsFake(fake((input: ListGrantsCommandInput) => {
    const keyArn = input.KeyId ?? '';
    for (const p of pending.filter((x) => x.keyArn === keyArn)) {
      if (p.listingsLeft > 0) {
        p.listingsLeft -= 1;
        continue;
      }
      state.grants.set(keyArn, [...(state.grants.get(keyArn) ?? []), ...p.grants]);
      pending.splice(pending.indexOf(p), 1);
    }
    const all = state.grants.get(keyArn) ?? [];
    const start = input.Marker ? Number(input.Marker) : 0;
    const limit = input.Limit ?? 50;
    const page = all.slice(start, start + limit);
    const next = start + limit;
    return next < all.length ? { Grants: page, Truncated: true, NextMarker: String(next) } : { Grants: page, Truncated: false };
  }));
  kms.on(RetireGrantCommand).callsFake(fake((input: { KeyId?: string; GrantId?: string }) => {
    const keyArn = input.KeyId ?? '';
    state.grants.set(keyArn, (state.grants.get(keyArn) ?? []).filter((g) => g.GrantId !== input.GrantId));
    return {};
  }));

  sts.on(GetCallerIdentityCommand).callsFake(fake(() => ({
    Account: ACCOUNT,
    Arn: state.callerArn,
    UserId: 'AIDAEXAMPLE',
  })));
  iam.on(GetRoleCommand).callsFake(fake((input: { RoleName?: string }) => ({
    Role: {
      RoleName: input.RoleName,
      Arn: `arn:aws:iam::${ACCOUNT}:role/teams/platform/${input.RoleName}`,
      Path: '/teams/platform/',
      RoleId: 'AROAEXAMPLE',
      CreateDate: NOW,
    },
  })));
  iam.on(SimulatePrincipalPolicyCommand).callsFake(fake((input: SimulatePrincipalPolicyCommandInput) => ({
    EvaluationResults: (input.ActionNames ?? []).map(
      (action): EvaluationResult => ({
        EvalActionName: action,
        EvalResourceName: input.ResourceArns?.[0],
        EvalDecision: state.decisions.get(action) ?? 'allowed',
      }),
    ),
    IsTruncated: false,
  })));
  return state;
};

/** A context over the mocked clients whose sleeps are recorded, not waited. */
export const fakeContext = (overrides: Partial<RegistryContext> = {}): RegistryContext & { readonly slept: number[] } => {
  const slept: number[] = [];
  return {
    ecr: new ECRClient({ region: REGION }),
    kms: new KMSClient({ region: REGION }),
    iam: new IAMClient({ region: REGION }),
    sts: new STSClient({ region: REGION }),
    logger: silentLogger,
    region: () => okAsync(REGION),
    transportError: undefined,
    poll: FAST_POLL,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    now: () => NOW,
    ...overrides,
    slept,
  };
};

/** The public entry, over the mocked clients, with polls short enough not to matter. */
export const fakeRegistry = (): EncryptedRegistry => new EncryptedRegistry({ clientConfig: { region: REGION }, poll: FAST_POLL });
