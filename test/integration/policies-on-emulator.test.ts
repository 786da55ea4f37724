/**
 * The policies of the policy toolkit, installed on the local emulator: the seeds' VPC endpoint
 * scenarios decided by `explainAccess` directly and by the emulator over HTTP (they must agree),
 * and the generated identity and key policies allowing exactly what they are meant to.
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  InitiateLayerUploadCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { GetRoleCommand, GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateGrantCommand, CreateKeyCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListAliasesCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { explainAccess, generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from '../../src/policy/index.js';
import type { AccessDecision, PolicyDocument, RequestPrincipal } from '../../src/policy/types.js';
import { type EmulatorCredentials, type LocalAws, type PrincipalHandle, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

// The seed's setting: the production account in an organization, a test account outside it.
const REGION = 'us-west-2';
const PROD = '123456789123';
const TEST = '987654321987';
const ORG = 'o-21ej9awi6a';
const API = 'vpce-0ecrapi0a1b2c3d4';
const DKR = 'vpce-0ecrdkr0a1b2c3d4';
const ecrArn = (account: string, name: string): string => `arn:aws:ecr:${REGION}:${account}:repository/${name}`;

/**
 * The seed's third policy, with the `"*"` its text lost restored (`"Action": "*"`, `"Principal": "*"`).
 * Its first statement is the second scenario's policy (only principals of the organization).
 */
const SEED_ORG_AND_PROTECTED: PolicyDocument = {
  Statement: [
    {
      Action: '*',
      Resource: 'arn:aws:ecr:us-west-2:123456789123:repository/*',
      Effect: 'Allow',
      Principal: '*',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': ['o-21ej9awi6a'] } },
    },
    {
      Action: 'ecr:DeleteRepository',
      Effect: 'Deny',
      Principal: '*',
      Resource: 'arn:aws:ecr:us-west-2:123456789123:repository/base-image3',
    },
  ],
};

/**
 * The first scenario's policy is a figure the seed's text does not carry. Rebuilt from its prose:
 * every action on the production account's repositories, and GetAuthorizationToken on `*` (it
 * "does not support resource-level permissions and you must specify all resources").
 */
const SEED_REGISTRY_ONLY: PolicyDocument = {
  Statement: [
    { Sid: 'AllowProductionRegistry', Effect: 'Allow', Principal: '*', Action: '*', Resource: 'arn:aws:ecr:us-west-2:123456789123:repository/*' },
    { Sid: 'AllowAuthorizationToken', Effect: 'Allow', Principal: '*', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
  ],
};

const generated = (input: { registryAccounts?: string[]; organizationId?: string; protectedRepositoryArns?: string[] }): PolicyDocument =>
  generateEndpointPolicy({ service: 'ecr.dkr', region: REGION, ...input })._unsafeUnwrap();

const ADMINS: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] };
/** A repository policy that lets the other account in: only the endpoint can stop its calls. */
const letIn = (account: string): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: [{ Sid: 'OtherAccount', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'ecr:*' }],
});

/** Who calls: the emulator's credentials, and the principal as `explainAccess` takes it. */
interface Caller {
  readonly credentials: EmulatorCredentials;
  readonly principal: () => RequestPrincipal;
  readonly identityPolicies: readonly PolicyDocument[];
}

/** What the emulator answered, in the evaluator's terms. */
const emulatorDecision = async (call: Promise<unknown>, action: string, resource: string): Promise<AccessDecision | 'failed'> => {
  try {
    await call;
    return 'allowed';
  } catch (error) {
    if (!(error instanceof Error) || error.name !== 'AccessDeniedException') return 'failed';
    // The seed's shape: "User: … is not authorized to perform: <action> on resource: <arn> …".
    expect(error.message).toContain(`is not authorized to perform: ${action} on resource: ${resource}`);
    return error.message.includes('with an explicit deny') ? 'explicitDeny' : 'implicitDeny';
  }
};

describe('the seeds\' VPC endpoint scenarios: explainAccess and the emulator agree', () => {
  let aws: LocalAws;
  let admin: Caller;
  let outsider: Caller;
  // The production account's organization, for the emulator and for explainAccess alike.
  let prodOrg: string | undefined;
  const setProdOrg = (org: string | undefined): void => {
    prodOrg = org;
    aws.principals.setOrg(PROD, org);
  };
  const clients: ECRClient[] = [];
  const owned: { destroy(): void }[] = [];
  const track = <C extends { destroy(): void }>(client: C): C => {
    owned.push(client);
    return client;
  };
  const ecr = (credentials: EmulatorCredentials, vpcEndpoint?: string): ECRClient => {
    const client = new ECRClient({ ...aws.clientConfig({ credentials, ...(vpcEndpoint !== undefined ? { vpcEndpoint } : {}) }), maxAttempts: 1 });
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    aws = await startLocalAws({
      regions: [REGION],
      accounts: [PROD, TEST],
      vpcEndpoints: { [API]: { service: 'ecr.api', vpcId: 'vpc-0prod' }, [DKR]: { service: 'ecr.dkr', vpcId: 'vpc-0prod' } },
    });
    setProdOrg(ORG);
    // The principal of the seed's error message.
    const role = aws.principals.createRole('Admin-Access', { policies: [ADMINS] });
    const session = aws.principals.assumeRole('Admin-Access', 'i-04c4c603bb7b33708');
    admin = {
      credentials: session.credentials,
      principal: () => ({ arn: session.arn, account: PROD, roleArn: role.arn, userId: session.userId, ...(prodOrg !== undefined ? { orgId: prodOrg } : {}) }),
      identityPolicies: [ADMINS],
    };
    const dev = aws.principals.createUser('dev', { account: TEST, policies: [ADMINS] });
    outsider = { credentials: dev.credentials, principal: () => ({ arn: dev.arn, account: TEST, userId: dev.userId }), identityPolicies: [ADMINS] };

    // Repositories in both registries; each lets the other account in.
    const prod = ecr(aws.principals.root(PROD).credentials);
    const test = ecr(aws.principals.root(TEST).credentials);
    for (const name of ['image1', 'base-image3']) {
      await prod.send(new CreateRepositoryCommand({ repositoryName: name }));
      await prod.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText: JSON.stringify(letIn(TEST)) }));
    }
    await test.send(new CreateRepositoryCommand({ repositoryName: 'image1' }));
    await test.send(new SetRepositoryPolicyCommand({ repositoryName: 'image1', policyText: JSON.stringify(letIn(PROD)) }));
  });
  afterAll(async () => {
    for (const client of [...clients, ...owned]) client.destroy();
    await aws.stop();
  });

  /**
   * Decides one request both ways: `explainAccess` with the policies the scenario installs, and
   * the emulator over HTTP through the endpoint. Answers both decisions.
   */
  const decide = async (
    caller: Caller,
    through: { readonly id: string; readonly policy: PolicyDocument },
    request: { readonly action: string; readonly resource: string; readonly repositoryPolicy?: PolicyDocument },
    send: (client: ECRClient) => Promise<unknown>,
  ): Promise<{ readonly evaluator: AccessDecision; readonly emulator: AccessDecision | 'failed' }> => {
    aws.network.setEndpointPolicy(through.id, through.policy);
    const evaluator = explainAccess(
      { principal: caller.principal(), action: request.action, resource: request.resource, context: { 'aws:SourceVpce': through.id } },
      {
        identityPolicies: caller.identityPolicies,
        endpointPolicy: through.policy,
        ...(request.repositoryPolicy !== undefined ? { repositoryPolicy: request.repositoryPolicy } : {}),
      },
    ).decision;
    const emulator = await emulatorDecision(send(ecr(caller.credentials, through.id)), request.action, request.resource);
    return { evaluator, emulator };
  };

  const initiate = (registryId: string) => (client: ECRClient) =>
    client.send(new InitiateLayerUploadCommand({ registryId, repositoryName: 'image1' }));

  describe.each([
    ['generated', generated({ registryAccounts: [PROD] })],
    ['seed (rebuilt from its prose)', SEED_REGISTRY_ONLY],
  ])('1. only this account\'s registries: the %s policy on ecr.dkr', (name, policy) => {
    it('denies a push to the test account\'s registry, which the registry itself allows', async () => {
      // Prepare: without the endpoint, the test registry lets production in.
      const direct = await emulatorDecision(initiate(TEST)(ecr(admin.credentials)), 'ecr:InitiateLayerUpload', ecrArn(TEST, 'image1'));

      // Act
      const decided = await decide(admin, { id: DKR, policy }, { action: 'ecr:InitiateLayerUpload', resource: ecrArn(TEST, 'image1'), repositoryPolicy: letIn(PROD) }, initiate(TEST));

      // Assess
      expect(direct).toBe('allowed');
      expect(decided).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
    });

    it('denies it with the seed\'s message', async () => {
      // Prepare
      aws.network.setEndpointPolicy(DKR, policy);

      // Act
      const error = await initiate(TEST)(ecr(admin.credentials, DKR)).catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ name: 'AccessDeniedException' });
      expect((error as Error).message).toMatch(
        /^User: arn:aws:sts::123456789123:assumed-role\/Admin-Access\/i-04c4c603bb7b33708 is not authorized to perform: ecr:InitiateLayerUpload on resource: arn:aws:ecr:us-west-2:987654321987:repository\/image1 because the VPC endpoint policy does not allow /,
      );
    });

    it('allows a push to this account\'s registry, and a whole image goes through', async () => {
      // Act
      const decided = await decide(admin, { id: DKR, policy }, { action: 'ecr:InitiateLayerUpload', resource: ecrArn(PROD, 'image1'), repositoryPolicy: letIn(TEST) }, initiate(PROD));
      const pushed = await pushImage(ecr(admin.credentials, DKR), 'image1', { layers: [randomBytes(2048, 1)], tags: [`through-${name.split(' ')[0] ?? ''}`] });

      // Assess
      expect(decided).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
      expect(pushed.digest).toMatch(/^sha256:/);
    });

    it('allows docker login (GetAuthorizationToken on *)', async () => {
      // Act
      const decided = await decide(admin, { id: DKR, policy }, { action: 'ecr:GetAuthorizationToken', resource: '*' }, (c) => c.send(new GetAuthorizationTokenCommand({})));

      // Assess
      expect(decided).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
    });
  });

  describe.each([
    ['generated', generated({ organizationId: ORG })],
    ['seed', SEED_ORG_AND_PROTECTED],
  ])('2. only principals of the organization: the %s policy on ecr.dkr', (_name, policy) => {
    it('allows a principal of the organization', async () => {
      // Act
      const decided = await decide(admin, { id: DKR, policy }, { action: 'ecr:InitiateLayerUpload', resource: ecrArn(PROD, 'image1'), repositoryPolicy: letIn(TEST) }, initiate(PROD));

      // Assess
      expect(decided).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
    });

    it('denies a principal outside the organization, whom the repository lets in', async () => {
      // Prepare: without the endpoint, the production repository lets the test account in.
      const direct = await emulatorDecision(initiate(PROD)(ecr(outsider.credentials)), 'ecr:InitiateLayerUpload', ecrArn(PROD, 'image1'));

      // Act
      const decided = await decide(outsider, { id: DKR, policy }, { action: 'ecr:InitiateLayerUpload', resource: ecrArn(PROD, 'image1'), repositoryPolicy: letIn(TEST) }, initiate(PROD));

      // Assess
      expect(direct).toBe('allowed');
      expect(decided).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
    });

    it('denies the same principal once its account leaves the organization', async () => {
      // Prepare
      setProdOrg(undefined);

      // Act
      const decided = await decide(admin, { id: DKR, policy }, { action: 'ecr:InitiateLayerUpload', resource: ecrArn(PROD, 'image1'), repositoryPolicy: letIn(TEST) }, initiate(PROD)).finally(() =>
        setProdOrg(ORG),
      );

      // Assess
      expect(decided).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
    });
  });

  describe.each([
    ['generated', generated({ registryAccounts: [PROD], organizationId: ORG, protectedRepositoryArns: [ecrArn(PROD, 'base-image3')] })],
    ['seed', SEED_ORG_AND_PROTECTED],
  ])('3. no DeleteRepository on the protected repository: the %s policy on ecr.api', (name, policy) => {
    it('denies deleting the protected repository, explicitly', async () => {
      // Act
      const decided = await decide(admin, { id: API, policy }, { action: 'ecr:DeleteRepository', resource: ecrArn(PROD, 'base-image3'), repositoryPolicy: letIn(TEST) }, (c) =>
        c.send(new DeleteRepositoryCommand({ repositoryName: 'base-image3' })),
      );

      // Assess
      expect(decided).toEqual({ evaluator: 'explicitDeny', emulator: 'explicitDeny' });
      expect(aws.inspect.ecr?.repositories(REGION).some((r) => r.repositoryArn === ecrArn(PROD, 'base-image3'))).toBe(true);
    });

    it('allows deleting another repository', async () => {
      // Prepare
      const repositoryName = `base-image1-${name}`;
      await ecr(admin.credentials).send(new CreateRepositoryCommand({ repositoryName }));

      // Act
      const decided = await decide(admin, { id: API, policy }, { action: 'ecr:DeleteRepository', resource: ecrArn(PROD, repositoryName) }, (c) =>
        c.send(new DeleteRepositoryCommand({ repositoryName })),
      );

      // Assess
      expect(decided).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
      expect(aws.inspect.ecr?.repositories(REGION).some((r) => r.repositoryName === repositoryName)).toBe(false);
    });
  });

  describe('across accounts, without an endpoint: the identity policy in one account and the repository policy in the other must both allow', () => {
    it('allows when both do', async () => {
      // Act
      const decided = await emulatorDecision(initiate(TEST)(ecr(admin.credentials)), 'ecr:InitiateLayerUpload', ecrArn(TEST, 'image1'));
      const evaluator = explainAccess(
        { principal: admin.principal(), action: 'ecr:InitiateLayerUpload', resource: ecrArn(TEST, 'image1') },
        { identityPolicies: admin.identityPolicies, repositoryPolicy: letIn(PROD) },
      ).decision;

      // Assess
      expect({ evaluator, emulator: decided }).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
    });

    it('denies when the caller\'s identity policy does not, though the repository policy does', async () => {
      // Prepare: a production user with no policy; the test registry lets the production account in.
      const nobody = aws.principals.createUser('nobody', { account: PROD });

      // Act
      const decided = await emulatorDecision(initiate(TEST)(ecr(nobody.credentials)), 'ecr:InitiateLayerUpload', ecrArn(TEST, 'image1'));
      const evaluator = explainAccess(
        { principal: { arn: nobody.arn, account: PROD, userId: nobody.userId, orgId: ORG }, action: 'ecr:InitiateLayerUpload', resource: ecrArn(TEST, 'image1') },
        { identityPolicies: [], repositoryPolicy: letIn(PROD) },
      ).decision;

      // Assess
      expect({ evaluator, emulator: decided }).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
    });

    it('denies when the repository has no policy for the caller\'s account, though the identity policy allows everything', async () => {
      // Prepare
      await ecr(aws.principals.root(TEST).credentials).send(new CreateRepositoryCommand({ repositoryName: 'closed' }));

      // Act
      const error = await ecr(admin.credentials).send(new InitiateLayerUploadCommand({ registryId: TEST, repositoryName: 'closed' })).catch((e: unknown) => e);
      const evaluator = explainAccess({ principal: admin.principal(), action: 'ecr:InitiateLayerUpload', resource: ecrArn(TEST, 'closed') }, { identityPolicies: admin.identityPolicies });

      // Assess
      expect(evaluator.decision).toBe('implicitDeny');
      expect(error).toMatchObject({ name: 'AccessDeniedException' });
      expect((error as Error).message).toBe(
        `User: ${admin.principal().arn} is not authorized to perform: ecr:InitiateLayerUpload on resource: ${ecrArn(TEST, 'closed')} because ${evaluator.reason}`,
      );
    });
  });

  it('refuses registry-level calls (resource "*") through a registry-limited endpoint policy, as AWS would: neither policy names them', async () => {
    // Act
    const decided = await decide(admin, { id: API, policy: generated({ registryAccounts: [PROD] }) }, { action: 'ecr:DescribeRegistry', resource: '*' }, (c) =>
      c.send(new DescribeRegistryCommand({})),
    );

    // Assess
    expect(decided).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
  });

  it('the seed\'s third policy blocks docker login through the endpoint (its Allow names repositories only); the generated one does not', async () => {
    // Prepare
    const login = (c: ECRClient): Promise<unknown> => c.send(new GetAuthorizationTokenCommand({}));
    const request = { action: 'ecr:GetAuthorizationToken', resource: '*' };

    // Act
    const seed = await decide(admin, { id: DKR, policy: SEED_ORG_AND_PROTECTED }, request, login);
    const ours = await decide(admin, { id: DKR, policy: generated({ registryAccounts: [PROD], organizationId: ORG, protectedRepositoryArns: [ecrArn(PROD, 'base-image3')] }) }, request, login);

    // Assess
    expect(seed).toEqual({ evaluator: 'implicitDeny', emulator: 'implicitDeny' });
    expect(ours).toEqual({ evaluator: 'allowed', emulator: 'allowed' });
  });

  it('the library through the ecr.api endpoint: creates a KMS repository (ECR\'s grants do not pass the endpoint) but may not delete a protected one', async () => {
    // Prepare: the production root user, its ECR calls through the endpoint, KMS, IAM and STS direct.
    const root = aws.principals.root(PROD);
    aws.network.setEndpointPolicy(API, generated({ registryAccounts: [PROD], organizationId: ORG, protectedRepositoryArns: [ecrArn(PROD, 'keep/app')] }));
    const key = await track(new KMSClient(aws.clientConfig({ credentials: root.credentials }))).send(new CreateKeyCommand({}));
    const keyArn = key.KeyMetadata?.Arn ?? '';
    const registry = track(new EncryptedRegistry({
      clients: { ecr: ecr(root.credentials, API) },
      clientConfig: { ...aws.clientConfig({ credentials: root.credentials }), maxAttempts: 1 },
      poll: { initialDelayMs: 1, maxDelayMs: 1, timeoutMs: 50 },
    }));

    // Act
    const created = await registry.createEncryptedRepository({ repositoryName: 'keep/app', encryption: { type: 'KMS', key: keyArn } });
    const refused = await registry.deleteRepository({ repositoryName: 'keep/app' });
    aws.network.setEndpointPolicy(API, undefined);
    const deleted = await registry.deleteRepository({ repositoryName: 'keep/app' });

    // Assess
    expect(created._unsafeUnwrap()).toMatchObject({ created: true, encryption: { type: 'KMS', keyArn } });
    expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'DeleteRepository' });
    expect((refused._unsafeUnwrapErr() as { message: string }).message).toContain('with an explicit deny');
    expect(deleted._unsafeUnwrap()).toMatchObject({ verified: true });
    expect(aws.inspect.grants(keyArn).map((g) => g.retiredAt !== undefined)).toEqual([true, true]);
  });
});

describe('generated identity and key policies, installed on the emulator, allow exactly what they are meant to', () => {
  const ACCOUNT = '111122223333';
  const HOME = 'eu-west-1';
  let aws: LocalAws;
  let ecrKey: string; // its policy: generateEcrKeyPolicy, naming alice and mallory
  let otherKey: string; // its policy: the default one (the account delegates to IAM); not in alice's policy
  let iamKey: string; // its policy: the default one; in alice's policy, so her identity policy decides
  let alice: PrincipalHandle; // only identity policy: generateRepositoryAdminPolicy for team-a/ and ecrKey
  let mallory: PrincipalHandle; // identity policy: kms:* and ecr:* on *; named in ecrKey's policy
  let eve: PrincipalHandle; // identity policy: kms:* and ecr:* on *; not named in ecrKey's policy
  const destroy: { destroy(): void }[] = [];
  const track = <C extends { destroy(): void }>(client: C): C => {
    destroy.push(client);
    return client;
  };
  const registryOf = (who: PrincipalHandle): EncryptedRegistry =>
    track(new EncryptedRegistry({ clientConfig: { ...aws.clientConfig({ credentials: who.credentials }), maxAttempts: 1 }, poll: { initialDelayMs: 1, maxDelayMs: 1, timeoutMs: 50 } }));
  const kmsOf = (who: PrincipalHandle): KMSClient => track(new KMSClient({ ...aws.clientConfig({ credentials: who.credentials }), maxAttempts: 1 }));
  const ecrOf = (who: PrincipalHandle): ECRClient => track(new ECRClient({ ...aws.clientConfig({ credentials: who.credentials }), maxAttempts: 1 }));
  const exists = (name: string): boolean => aws.inspect.ecr?.repositories(HOME).some((r) => r.repositoryName === name) ?? false;
  const EVERYTHING: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:*', 'ecr:*', 'iam:*'], Resource: '*' }] };

  beforeAll(async () => {
    aws = await startLocalAws({ regions: [HOME], accounts: [ACCOUNT] });
    alice = aws.principals.createUser('alice', { path: '/team-a/' });
    mallory = aws.principals.createUser('mallory', { policies: [EVERYTHING] });
    eve = aws.principals.createUser('eve', { policies: [EVERYTHING] });
    const kms = kmsOf(aws.principals.default);
    const keyPolicy = generateEcrKeyPolicy({ region: HOME, account: ACCOUNT, principals: [alice.arn, mallory.arn] })._unsafeUnwrap();
    // The generated policy names no key administrator: nobody may change it afterwards.
    const created = await kms.send(new CreateKeyCommand({ Policy: JSON.stringify(keyPolicy), BypassPolicyLockoutSafetyCheck: true }));
    ecrKey = created.KeyMetadata?.Arn ?? '';
    otherKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
    iamKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
    const identity = generateRepositoryAdminPolicy({
      region: HOME,
      account: ACCOUNT,
      operations: ['create', 'delete'],
      repositories: { prefix: 'team-a/' },
      keyArns: [ecrKey, iamKey],
    })._unsafeUnwrap();
    aws.principals.setPolicies(alice.arn, [identity]);
    // Repositories for alice to fail to delete: another team's, and one of hers with a key she may not use.
    const admin = ecrOf(aws.principals.default);
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'team-b/x', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: otherKey } }));
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'team-a/legacy', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: otherKey } }));
  });
  afterAll(async () => {
    for (const client of destroy) client.destroy();
    await aws.stop();
  });

  describe('generateRepositoryAdminPolicy({ operations: [create, delete], repositories: { prefix: team-a/ }, keyArns: [key] })', () => {
    it('creates team-a/x with the key through createEncryptedRepository (ECR creates its grants as alice)', async () => {
      // Act
      const result = await registryOf(alice).createEncryptedRepository({ repositoryName: 'team-a/x', encryption: { type: 'KMS', key: ecrKey } });

      // Assess
      expect(result._unsafeUnwrap()).toMatchObject({ created: true, encryption: { type: 'KMS', keyArn: ecrKey } });
      expect(aws.inspect.grants(ecrKey).filter((g) => g.retiredAt === undefined)).toHaveLength(2);
    });

    it('deletes team-a/x, and its grants are verified retired (kms:RetireGrant comes from the identity policy)', async () => {
      // Act
      const result = await registryOf(alice).deleteRepository({ repositoryName: 'team-a/x' });

      // Assess
      expect(result._unsafeUnwrap()).toMatchObject({ verified: true, grantsRetiredHere: [] });
      expect(exists('team-a/x')).toBe(false);
      const grants = aws.inspect.grants(ecrKey);
      expect(grants).toHaveLength(2);
      expect(grants.every((g) => g.retiredAt !== undefined)).toBe(true);
    });

    it('does not create team-b/y', async () => {
      // Act
      const result = await registryOf(alice).createEncryptedRepository({ repositoryName: 'team-b/y', encryption: { type: 'KMS', key: ecrKey } });

      // Assess
      const error = result._unsafeUnwrapErr();
      expect(error.kind).toBe('MissingPermissions');
      expect(error.kind === 'MissingPermissions' ? error.actions : []).toContain('ecr:CreateRepository');
      expect(exists('team-b/y')).toBe(false);
    });

    it('does not create team-a/y with another key (its policy delegates to IAM, and the identity policy names only the key)', async () => {
      // Act
      const result = await registryOf(alice).createEncryptedRepository({ repositoryName: 'team-a/y', encryption: { type: 'KMS', key: otherKey } });

      // Assess
      // The preflight cannot read this key or its policy (KmsReadKeys names only the policy's keys), and a key
      // policy can allow a caller on its own: it does not block on what it cannot see. ECR's DescribeKey refuses.
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'KmsRefused', operation: 'CreateRepository' });
      expect(exists('team-a/y')).toBe(false);
      expect(aws.inspect.grants(otherKey).filter((g) => g.retiredAt === undefined)).toHaveLength(4); // team-b/x's and team-a/legacy's
    });

    it('creates and deletes with a key whose policy delegates to IAM: KmsCreateGrantThroughEcr and KmsRetireGrant decide', async () => {
      // Act
      const created = await registryOf(alice).createEncryptedRepository({ repositoryName: 'team-a/z', encryption: { type: 'KMS', key: iamKey } });
      const deleted = await registryOf(alice).deleteRepository({ repositoryName: 'team-a/z' });

      // Assess
      expect(created._unsafeUnwrap()).toMatchObject({ created: true, encryption: { type: 'KMS', keyArn: iamKey } });
      expect(deleted._unsafeUnwrap()).toMatchObject({ verified: true });
      const grants = aws.inspect.grants(iamKey);
      expect(grants).toHaveLength(2);
      expect(grants.every((g) => g.retiredAt !== undefined)).toBe(true);
    });

    it('works the same for a role session (the preflight simulates the role, with its path)', async () => {
      // Prepare
      const identity = generateRepositoryAdminPolicy({ region: HOME, account: ACCOUNT, operations: ['create', 'delete'], repositories: { prefix: 'team-a/' }, keyArns: [iamKey] })._unsafeUnwrap();
      const role = aws.principals.createRole('team-a-deployer', { path: '/ci/', policies: [identity] });
      const session = aws.principals.assumeRole('team-a-deployer', 'build-7');

      // Act
      const created = await registryOf(session).createEncryptedRepository({ repositoryName: 'team-a/ci', encryption: { type: 'KMS', key: iamKey } });
      const other = await registryOf(session).createEncryptedRepository({ repositoryName: 'team-b/ci', encryption: { type: 'KMS', key: iamKey } });
      const deleted = await registryOf(session).deleteRepository({ repositoryName: 'team-a/ci' });

      // Assess
      expect(created._unsafeUnwrap()).toMatchObject({ created: true, warnings: [] });
      expect(other._unsafeUnwrapErr()).toMatchObject({ kind: 'MissingPermissions', principalArn: role.arn });
      expect(deleted._unsafeUnwrap()).toMatchObject({ verified: true });
    });

    it('does not delete a team-a repository encrypted with a key it does not name: refused before anything is deleted', async () => {
      // Act
      const result = await registryOf(alice).deleteRepository({ repositoryName: 'team-a/legacy' });

      // Assess
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'ListGrants' });
      expect(exists('team-a/legacy')).toBe(true);
    });

    it('covers every call of createEncryptedRepository with all its settings, and of a forced delete of a repository with images', async () => {
      // Prepare
      const repositoryPolicy: PolicyDocument = {
        Version: '2012-10-17',
        Statement: [{ Sid: 'Pull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] }],
      };
      const lifecyclePolicy = JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 7 }, action: { type: 'expire' } }] });

      // Act
      const created = await registryOf(alice).createEncryptedRepository({
        repositoryName: 'team-a/full',
        encryption: { type: 'KMS', key: ecrKey },
        tags: [{ Key: 'team', Value: 'a' }],
        imageTagMutability: 'IMMUTABLE',
        scanOnPush: true,
        repositoryPolicy,
        lifecyclePolicy,
      });
      await pushImage(ecrOf(aws.principals.default), 'team-a/full', { layers: [randomBytes(1024, 7)], tags: ['v1'] });
      const refused = await registryOf(alice).deleteRepository({ repositoryName: 'team-a/full' });
      const deleted = await registryOf(alice).deleteRepository({ repositoryName: 'team-a/full', force: true });

      // Assess
      expect(created._unsafeUnwrap()).toMatchObject({ created: true, warnings: [] });
      expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'RepositoryNotEmpty' });
      expect(deleted._unsafeUnwrap()).toMatchObject({ verified: true, imageCount: 1 });
    });

    it('does not delete team-b/x', async () => {
      // Act
      const result = await registryOf(alice).deleteRepository({ repositoryName: 'team-b/x' });

      // Assess
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied' });
      expect(exists('team-b/x')).toBe(true);
    });

    it('allows exactly its statements\' actions, each tried on both sides', async () => {
      // Prepare
      const ecr = ecrOf(alice);
      const kms = kmsOf(alice);
      const iam = track(new IAMClient({ ...aws.clientConfig({ credentials: alice.credentials }), maxAttempts: 1 }));
      aws.principals.createRole('deployer');
      const outcome = (call: Promise<unknown>): Promise<string> =>
        call.then(
          () => 'allowed',
          (e: unknown) => (e instanceof Error ? e.name : 'failed'),
        );

      // Act
      const outcomes = {
        authorizationToken: await outcome(ecr.send(new GetAuthorizationTokenCommand({}))),
        describeTeamA: await outcome(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team-a/nothing'] }))),
        describeTeamB: await outcome(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team-b/x'] }))),
        pushToTeamA: await outcome(ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'team-a/nothing' }))),
        describeKey: await outcome(kms.send(new DescribeKeyCommand({ KeyId: ecrKey }))),
        describeOtherKey: await outcome(kms.send(new DescribeKeyCommand({ KeyId: otherKey }))),
        createGrantDirectly: await outcome(kms.send(new CreateGrantCommand({ KeyId: iamKey, GranteePrincipal: alice.arn, Operations: ['Decrypt'] }))),
        encrypt: await outcome(kms.send(new EncryptCommand({ KeyId: iamKey, Plaintext: new Uint8Array([1]) }))),
        retireOtherKeysGrant: await outcome(kms.send(new RetireGrantCommand({ KeyId: otherKey, GrantId: aws.inspect.grants(otherKey)[0]?.grantId ?? '' }))),
        listAliases: await outcome(kms.send(new ListAliasesCommand({}))),
        getRole: await outcome(iam.send(new GetRoleCommand({ RoleName: 'deployer' }))),
        getUser: await outcome(iam.send(new GetUserCommand({ UserName: 'eve' }))),
      };

      // Assess
      expect(outcomes).toEqual({
        authorizationToken: 'allowed',
        describeTeamA: 'RepositoryNotFoundException', // authorized; nothing there
        describeTeamB: 'AccessDeniedException',
        pushToTeamA: 'AccessDeniedException', // create/delete only: no image actions
        describeKey: 'allowed',
        describeOtherKey: 'AccessDeniedException',
        createGrantDirectly: 'AccessDeniedException', // only through ECR, for an AWS resource
        encrypt: 'AccessDeniedException',
        retireOtherKeysGrant: 'AccessDeniedException',
        listAliases: 'allowed',
        getRole: 'allowed',
        getUser: 'AccessDenied', // the preflight needs GetRole and SimulatePrincipalPolicy only
      });
    });
  });

  describe('generateEcrKeyPolicy({ principals }) with no IAM delegation', () => {
    it('lets a named principal create a repository with the key: ECR creates the grants on its behalf', async () => {
      // Act
      await ecrOf(mallory).send(new CreateRepositoryCommand({ repositoryName: 'mallory/app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: ecrKey } }));

      // Assess
      expect(exists('mallory/app')).toBe(true);
      expect(aws.inspect.grants(ecrKey).filter((g) => g.retiredAt === undefined)).toHaveLength(2);
    });

    it('refuses the same principal a direct CreateGrant and Encrypt, even with kms:* in its IAM policy', async () => {
      // Prepare
      const kms = kmsOf(mallory);

      // Act
      const grant = await kms.send(new CreateGrantCommand({ KeyId: ecrKey, GranteePrincipal: mallory.arn, Operations: ['Decrypt'] })).catch((e: unknown) => e);
      const encrypt = await kms.send(new EncryptCommand({ KeyId: ecrKey, Plaintext: new Uint8Array([1]) })).catch((e: unknown) => e);

      // Assess
      expect(grant).toMatchObject({ name: 'AccessDeniedException' });
      expect(encrypt).toMatchObject({ name: 'AccessDeniedException' });
    });

    it('refuses a principal it does not name, even through ECR', async () => {
      // Act
      const error = await ecrOf(eve).send(new CreateRepositoryCommand({ repositoryName: 'eve/app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: ecrKey } })).catch((e: unknown) => e);

      // Assess
      expect(error).toMatchObject({ name: 'KmsException', kmsError: 'AccessDeniedException' });
      expect(exists('eve/app')).toBe(false);
    });
  });
});
