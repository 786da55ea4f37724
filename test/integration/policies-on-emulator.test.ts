/**
 * The policies of the policy toolkit, installed on the local emulator: the seeds' VPC endpoint
 * scenarios decided by `explainAccess` directly and by the emulator over HTTP (they must agree),
 * and the generated identity and key policies allowing exactly what they are meant to.
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  InitiateLayerUploadCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainAccess } from '../../src/policy/index.js';
import type { AccessDecision, PolicyDocument, RequestPrincipal } from '../../src/policy/types.js';
import { generateEndpointPolicy } from '../../src/policy/generate.js';
import { type EmulatorCredentials, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

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
    for (const client of clients) client.destroy();
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
});
