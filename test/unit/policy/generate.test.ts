import { describe, expect, it } from 'vitest';
import { explainAccess } from '../../../src/policy/evaluate.js';
import { generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from '../../../src/policy/generate.js';
import type {
  AccessDecision,
  AccessRequest,
  EndpointPolicyInput,
  PolicyDocument,
  PolicySet,
  RepositoryAdminPolicyInput,
  RequestPrincipal,
} from '../../../src/policy/types.js';
import {
  ACCOUNT,
  KEY_ARN,
  OTHER_ACCOUNT,
  OTHER_KEY_ARN,
  REGION,
  ROLE_ARN,
  alice,
  allowFor,
  bob,
  doc,
  outsider,
  repoArn,
  request,
  session,
} from './fixtures.js';

const VIA_ECR = { 'kms:ViaService': `ecr.${REGION}.amazonaws.com`, 'kms:GrantIsForAWSResource': true };
const ROOT_STATEMENT_KEY_POLICY = doc(allowFor(`arn:aws:iam::${ACCOUNT}:root`, 'kms:*', { Resource: '*' }));

const adminInput = (overrides: Partial<RepositoryAdminPolicyInput> = {}): RepositoryAdminPolicyInput => ({
  region: REGION,
  account: ACCOUNT,
  repositories: { prefix: 'team-a/' },
  keyArns: [KEY_ARN],
  operations: ['create', 'delete'],
  ...overrides,
});

const adminPolicy = (overrides: Partial<RepositoryAdminPolicyInput> = {}): PolicyDocument =>
  generateRepositoryAdminPolicy(adminInput(overrides))._unsafeUnwrap();

interface Check {
  readonly name: string;
  readonly request: AccessRequest;
  readonly decision: AccessDecision;
}

const checkAll = (policies: () => PolicySet, checks: readonly Check[]): void => {
  it.each(checks)('$name', ({ request: req, decision }) => {
    // Act
    const result = explainAccess(req, policies());

    // Assess
    expect(result.decision, result.reason).toBe(decision);
  });
};

describe('generateRepositoryAdminPolicy', () => {
  describe('create and delete, scoped by prefix', () => {
    checkAll(() => ({ identityPolicies: [adminPolicy()], keyPolicy: ROOT_STATEMENT_KEY_POLICY }), [
      { name: 'CreateRepository in scope', request: request(alice, 'ecr:CreateRepository', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'CreateRepository out of scope', request: request(alice, 'ecr:CreateRepository', repoArn('team-b/app')), decision: 'implicitDeny' },
      { name: 'CreateRepository in another account', request: request(alice, 'ecr:CreateRepository', repoArn('team-a/app', OTHER_ACCOUNT)), decision: 'implicitDeny' },
      { name: 'TagResource (tags on create)', request: request(alice, 'ecr:TagResource', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'SetRepositoryPolicy', request: request(alice, 'ecr:SetRepositoryPolicy', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'DeleteRepository in scope', request: request(alice, 'ecr:DeleteRepository', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'ListImages (delete checks emptiness)', request: request(alice, 'ecr:ListImages', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'no image push without migrate', request: request(alice, 'ecr:PutImage', repoArn('team-a/app')), decision: 'implicitDeny' },
      { name: 'GetAuthorizationToken on *', request: request(alice, 'ecr:GetAuthorizationToken', '*'), decision: 'allowed' },
      { name: 'CreateGrant made by ECR', request: request(alice, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'allowed' },
      { name: 'CreateGrant made directly (no kms:ViaService)', request: request(alice, 'kms:CreateGrant', KEY_ARN), decision: 'implicitDeny' },
      {
        name: 'CreateGrant through another service',
        request: request(alice, 'kms:CreateGrant', KEY_ARN, { ...VIA_ECR, 'kms:ViaService': `ebs.${REGION}.amazonaws.com` }),
        decision: 'implicitDeny',
      },
      { name: 'CreateGrant on another key', request: request(alice, 'kms:CreateGrant', OTHER_KEY_ARN, VIA_ECR), decision: 'implicitDeny' },
      { name: 'RetireGrant on the key', request: request(alice, 'kms:RetireGrant', KEY_ARN), decision: 'allowed' },
      { name: 'DescribeKey and ListGrants on the key', request: request(alice, 'kms:ListGrants', KEY_ARN), decision: 'allowed' },
      { name: 'no key use beyond grants', request: request(alice, 'kms:Decrypt', KEY_ARN), decision: 'implicitDeny' },
      { name: 'preflight: GetKeyPolicy', request: request(alice, 'kms:GetKeyPolicy', KEY_ARN), decision: 'allowed' },
      { name: 'preflight: iam:GetRole', request: request(alice, 'iam:GetRole', ROLE_ARN), decision: 'allowed' },
      { name: 'preflight: iam:SimulatePrincipalPolicy on a user', request: request(alice, 'iam:SimulatePrincipalPolicy', alice.arn), decision: 'allowed' },
    ]);
  });

  describe('delete only', () => {
    checkAll(() => ({ identityPolicies: [adminPolicy({ operations: ['delete'] })], keyPolicy: ROOT_STATEMENT_KEY_POLICY }), [
      { name: 'DeleteRepository', request: request(alice, 'ecr:DeleteRepository', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'RetireGrant', request: request(alice, 'kms:RetireGrant', KEY_ARN), decision: 'allowed' },
      { name: 'no CreateRepository', request: request(alice, 'ecr:CreateRepository', repoArn('team-a/app')), decision: 'implicitDeny' },
      { name: 'no CreateGrant', request: request(alice, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'implicitDeny' },
    ]);
  });

  describe('create without rollback, by names, without preflight', () => {
    const policy = (): PolicySet => ({
      identityPolicies: [adminPolicy({ operations: ['create'], rollback: false, preflight: false, repositories: { names: ['app', 'web/api'] } })],
    });
    checkAll(policy, [
      { name: 'CreateRepository for a named repository', request: request(alice, 'ecr:CreateRepository', repoArn('web/api')), decision: 'allowed' },
      { name: 'CreateRepository for another name', request: request(alice, 'ecr:CreateRepository', repoArn('app2')), decision: 'implicitDeny' },
      { name: 'no DeleteRepository without rollback', request: request(alice, 'ecr:DeleteRepository', repoArn('app')), decision: 'implicitDeny' },
      { name: 'no iam:GetRole without preflight', request: request(alice, 'iam:GetRole', ROLE_ARN), decision: 'implicitDeny' },
      { name: 'no kms:GetKeyPolicy without preflight', request: request(alice, 'kms:GetKeyPolicy', KEY_ARN), decision: 'implicitDeny' },
      { name: 'DescribeKey still allowed', request: request(alice, 'kms:DescribeKey', KEY_ARN), decision: 'allowed' },
    ]);
  });

  describe('migrate', () => {
    checkAll(() => ({ identityPolicies: [adminPolicy({ operations: ['migrate'] })], keyPolicy: ROOT_STATEMENT_KEY_POLICY }), [
      { name: 'BatchGetImage', request: request(alice, 'ecr:BatchGetImage', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'GetDownloadUrlForLayer', request: request(alice, 'ecr:GetDownloadUrlForLayer', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'InitiateLayerUpload', request: request(alice, 'ecr:InitiateLayerUpload', repoArn('team-a/app-tmp')), decision: 'allowed' },
      { name: 'PutImage', request: request(alice, 'ecr:PutImage', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'GetLifecyclePolicy', request: request(alice, 'ecr:GetLifecyclePolicy', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'DeleteLifecyclePolicy (the pause)', request: request(alice, 'ecr:DeleteLifecyclePolicy', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'DeleteRepositoryPolicy (no policy to restore)', request: request(alice, 'ecr:DeleteRepositoryPolicy', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'ListTagsForResource', request: request(alice, 'ecr:ListTagsForResource', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'CreateRepository and DeleteRepository', request: request(alice, 'ecr:DeleteRepository', repoArn('team-a/app')), decision: 'allowed' },
      { name: 'CreateGrant through ECR', request: request(alice, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'allowed' },
      { name: 'no image push out of scope', request: request(alice, 'ecr:PutImage', repoArn('team-b/app')), decision: 'implicitDeny' },
    ]);
  });

  it('has no KMS statements when no key is given', () => {
    // Act
    const policy = generateRepositoryAdminPolicy(adminInput({ keyArns: [], preflight: false }))._unsafeUnwrap();

    // Assess
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['EcrRepositories', 'EcrAuthorizationToken']);
  });

  it('derives the partition from the region', () => {
    // Act
    const policy = generateRepositoryAdminPolicy(adminInput({ region: 'cn-north-1', keyArns: [], preflight: false }))._unsafeUnwrap();

    // Assess
    expect(policy.Statement[0]?.Resource).toEqual(['arn:aws-cn:ecr:cn-north-1:111122223333:repository/team-a/*']);
  });

  it.each([
    ['account', adminInput({ account: '1234' }), 'account'],
    ['region', adminInput({ region: 'Europe' }), 'region'],
    ['key in another region', adminInput({ keyArns: [`arn:aws:kms:us-east-1:${ACCOUNT}:key/abc`] }), 'keyArns[0]'],
    ['alias instead of a key ARN', adminInput({ keyArns: [`arn:aws:kms:${REGION}:${ACCOUNT}:alias/app`] }), 'keyArns[0]'],
    ['repository name', adminInput({ repositories: { names: ['app', 'Bad_Name'] } }), 'repositories.names[1]'],
    ['no repository names', adminInput({ repositories: { names: [] } }), 'repositories.names'],
    ['prefix with a wildcard', adminInput({ repositories: { prefix: 'team-*' } }), 'repositories.prefix'],
    ['no operation', adminInput({ operations: [] }), 'operations'],
    ['unknown operation', adminInput({ operations: ['create', 'rename' as 'create'] }), 'operations[1]'],
  ])('rejects an invalid %s', (_name, input, field) => {
    // Act
    const result = generateRepositoryAdminPolicy(input);

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
  });
});

describe('generateEcrKeyPolicy', () => {
  const deployer: RequestPrincipal = session; // a session of ROLE_ARN
  const listed = (): PolicyDocument =>
    generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, principals: [ROLE_ARN] })._unsafeUnwrap();

  describe('principals listed, no IAM delegation', () => {
    checkAll(() => ({ keyPolicy: listed() }), [
      { name: 'CreateGrant through ECR', request: request(deployer, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'allowed' },
      { name: 'CreateGrant made directly (no kms:ViaService)', request: request(deployer, 'kms:CreateGrant', KEY_ARN), decision: 'implicitDeny' },
      {
        name: 'CreateGrant through ECR but not for an AWS resource',
        request: request(deployer, 'kms:CreateGrant', KEY_ARN, { 'kms:ViaService': VIA_ECR['kms:ViaService'] }),
        decision: 'implicitDeny',
      },
      { name: 'CreateGrant by a principal not listed', request: request(bob, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'implicitDeny' },
      { name: 'DescribeKey through ECR', request: request(deployer, 'kms:DescribeKey', KEY_ARN, { 'kms:ViaService': VIA_ECR['kms:ViaService'] }), decision: 'allowed' },
      { name: 'direct DescribeKey for verification', request: request(deployer, 'kms:DescribeKey', KEY_ARN), decision: 'allowed' },
      { name: 'direct ListGrants for verification', request: request(deployer, 'kms:ListGrants', KEY_ARN), decision: 'allowed' },
      { name: 'no direct Decrypt', request: request(deployer, 'kms:Decrypt', KEY_ARN), decision: 'implicitDeny' },
      { name: 'RetireGrant is not granted by the key policy', request: request(deployer, 'kms:RetireGrant', KEY_ARN), decision: 'implicitDeny' },
    ]);
  });

  describe('RetireGrant comes from the identity policy only', () => {
    const identity = (): PolicyDocument => adminPolicy({ operations: ['delete'] });
    checkAll(() => ({ keyPolicy: listed(), identityPolicies: [identity()] }), [
      { name: 'with the generated identity policy', request: request(deployer, 'kms:RetireGrant', KEY_ARN), decision: 'allowed' },
    ]);
    checkAll(
      () => ({ keyPolicy: generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, enableIamPolicies: true })._unsafeUnwrap() }),
      [{ name: 'not with the IAM delegation alone', request: request(deployer, 'kms:RetireGrant', KEY_ARN), decision: 'implicitDeny' }],
    );
  });

  describe('the whole account (no principals) and IAM delegation', () => {
    const accountWide = (): PolicyDocument =>
      generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, enableIamPolicies: true, allowVerification: true })._unsafeUnwrap();
    checkAll(() => ({ keyPolicy: accountWide() }), [
      { name: 'any principal of the account through ECR', request: request(bob, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'allowed' },
      { name: 'a principal of another account through ECR', request: request(outsider, 'kms:CreateGrant', KEY_ARN, VIA_ECR), decision: 'implicitDeny' },
      { name: 'direct DescribeKey needs an IAM policy', request: request(bob, 'kms:DescribeKey', KEY_ARN), decision: 'implicitDeny' },
    ]);
    checkAll(() => ({ keyPolicy: accountWide(), identityPolicies: [adminPolicy()] }), [
      { name: 'direct DescribeKey with the generated identity policy', request: request(bob, 'kms:DescribeKey', KEY_ARN), decision: 'allowed' },
    ]);
  });

  it('has no verification statement when asked not to', () => {
    // Prepare
    const keyPolicy = generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, principals: [ROLE_ARN], allowVerification: false })._unsafeUnwrap();

    // Act
    const result = explainAccess(request(deployer, 'kms:DescribeKey', KEY_ARN), { keyPolicy });

    // Assess
    expect(result.decision).toBe('implicitDeny');
  });

  it.each([
    ['principal', { principals: ['arn:aws:sts::111122223333:assumed-role/x/y'] }, 'principals[0]'],
    ['empty principals', { principals: [] }, 'principals'],
    ['account', { account: 'abc' }, 'account'],
  ])('rejects an invalid %s', (_name, overrides, field) => {
    // Act
    const result = generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, ...overrides });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
  });
});

describe('generateEndpointPolicy: the seed scenarios (us-west-2, account 123456789123, o-21ej9awi6a)', () => {
  const PROD = '123456789123';
  const TEST = '987654321987';
  const SEED_ORG = 'o-21ej9awi6a';
  const ecrArn = (account: string, name: string): string => `arn:aws:ecr:us-west-2:${account}:repository/${name}`;
  // The principal of the seed's error message, in the organization.
  const admin: RequestPrincipal = {
    arn: `arn:aws:sts::${PROD}:assumed-role/Admin-Access/i-04c4c603bb7b33708`,
    account: PROD,
    roleArn: `arn:aws:iam::${PROD}:role/Admin-Access`,
    orgId: SEED_ORG,
  };
  const stranger: RequestPrincipal = { arn: `arn:aws:iam::${TEST}:user/dev`, account: TEST, orgId: 'o-zzzzzzzzzz' };
  const admins = doc({ Effect: 'Allow', Action: '*', Resource: '*' });
  // The test registry's own policy lets everyone in: only the endpoint can stop the push.
  const openRepository = doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:*' });
  const through = (endpointPolicy: PolicyDocument, withRepositoryPolicy = false): PolicySet => ({
    identityPolicies: [admins],
    endpointPolicy,
    ...(withRepositoryPolicy ? { repositoryPolicy: openRepository } : {}),
  });

  const generated = (input: Omit<EndpointPolicyInput & { service: 'ecr.dkr' }, 'service' | 'region'>): PolicyDocument =>
    generateEndpointPolicy({ service: 'ecr.dkr', region: 'us-west-2', ...input })._unsafeUnwrap();

  describe('1. only this account\'s registries', () => {
    const endpoint = (): PolicyDocument => generated({ registryAccounts: [PROD] });
    it('allows a push to the production registry', () => {
      // Act
      const result = explainAccess(request(admin, 'ecr:InitiateLayerUpload', ecrArn(PROD, 'image1')), through(endpoint()));

      // Assess
      expect(result.decision).toBe('allowed');
    });
    it('denies a push to the test account\'s registry, as in the seed\'s error', () => {
      // Act
      const result = explainAccess(request(admin, 'ecr:InitiateLayerUpload', ecrArn(TEST, 'image1')), through(endpoint(), true));

      // Assess
      expect(result.decision).toBe('implicitDeny');
      expect(result.reason).toBe(
        'the VPC endpoint policy does not allow arn:aws:sts::123456789123:assumed-role/Admin-Access/i-04c4c603bb7b33708 to perform ecr:InitiateLayerUpload on arn:aws:ecr:us-west-2:987654321987:repository/image1',
      );
    });
    it('still allows GetAuthorizationToken, which has no resource', () => {
      // Act
      const result = explainAccess(request(admin, 'ecr:GetAuthorizationToken', '*'), through(endpoint()));

      // Assess
      expect(result.decision).toBe('allowed');
    });
  });

  describe('2. only principals of the organization', () => {
    const endpoint = (): PolicyDocument => generated({ organizationId: SEED_ORG });
    it('allows a principal of the organization', () => {
      // Act
      const result = explainAccess(request(admin, 'ecr:BatchGetImage', ecrArn(PROD, 'image2')), through(endpoint()));

      // Assess
      expect(result.decision).toBe('allowed');
    });
    it('denies a principal outside the organization', () => {
      // Act
      const result = explainAccess(request(stranger, 'ecr:BatchGetImage', ecrArn(PROD, 'image2')), {
        identityPolicies: [admins],
        repositoryPolicy: openRepository,
        endpointPolicy: endpoint(),
      });

      // Assess
      expect(result.decision).toBe('implicitDeny');
      expect(result.reason).toMatch(/the VPC endpoint policy does not allow/);
    });
  });

  describe('3. deny deleting the protected repository (the seed\'s JSON, with its lost "*" restored, and ours)', () => {
    const seedPolicy: PolicyDocument = {
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
    const ours = (): PolicyDocument =>
      generated({ registryAccounts: [PROD], organizationId: SEED_ORG, protectedRepositoryArns: [ecrArn(PROD, 'base-image3')] });
    const checks: readonly Check[] = [
      { name: 'DeleteRepository on the protected repository is denied', request: request(admin, 'ecr:DeleteRepository', ecrArn(PROD, 'base-image3')), decision: 'explicitDeny' },
      { name: 'DeleteRepository on another repository is allowed', request: request(admin, 'ecr:DeleteRepository', ecrArn(PROD, 'image1')), decision: 'allowed' },
      { name: 'a push to the protected repository is allowed', request: request(admin, 'ecr:PutImage', ecrArn(PROD, 'base-image3')), decision: 'allowed' },
      { name: 'a principal outside the organization is denied', request: request(stranger, 'ecr:PutImage', ecrArn(PROD, 'image1')), decision: 'implicitDeny' },
    ];
    describe('the seed\'s policy', () => {
      checkAll(() => ({ identityPolicies: [admins], repositoryPolicy: openRepository, endpointPolicy: seedPolicy }), checks);
    });
    describe('the generated policy', () => {
      checkAll(() => ({ identityPolicies: [admins], repositoryPolicy: openRepository, endpointPolicy: ours() }), checks);
    });
    it('the generated policy keeps docker login working, unlike the seed\'s', () => {
      // Act
      const seed = explainAccess(request(admin, 'ecr:GetAuthorizationToken', '*'), { identityPolicies: [admins], endpointPolicy: seedPolicy });
      const generatedResult = explainAccess(request(admin, 'ecr:GetAuthorizationToken', '*'), { identityPolicies: [admins], endpointPolicy: ours() });

      // Assess
      expect(seed.decision).toBe('implicitDeny');
      expect(generatedResult.decision).toBe('allowed');
    });
  });

  it('gives ecr.api the same policy as ecr.dkr', () => {
    // Act
    const api = generateEndpointPolicy({ service: 'ecr.api', region: 'us-west-2', organizationId: SEED_ORG });
    const dkr = generateEndpointPolicy({ service: 'ecr.dkr', region: 'us-west-2', organizationId: SEED_ORG });

    // Assess
    expect(api._unsafeUnwrap()).toEqual(dkr._unsafeUnwrap());
  });

  describe('s3: ECR\'s layer bucket', () => {
    const s3 = (): PolicyDocument => generateEndpointPolicy({ service: 's3', region: 'us-west-2' })._unsafeUnwrap();
    const anyone = doc({ Effect: 'Allow', Action: 's3:*', Resource: '*' });
    checkAll(() => ({ identityPolicies: [anyone], endpointPolicy: s3() }), [
      { name: 'GetObject on the layer bucket', request: request(admin, 's3:GetObject', 'arn:aws:s3:::prod-us-west-2-starport-layer-bucket/abc'), decision: 'allowed' },
      { name: 'GetObject on the layer bucket of another region', request: request(admin, 's3:GetObject', 'arn:aws:s3:::prod-eu-west-1-starport-layer-bucket/abc'), decision: 'implicitDeny' },
      { name: 'GetObject on another bucket', request: request(admin, 's3:GetObject', 'arn:aws:s3:::exfiltration/abc'), decision: 'implicitDeny' },
      { name: 'PutObject on the layer bucket', request: request(admin, 's3:PutObject', 'arn:aws:s3:::prod-us-west-2-starport-layer-bucket/abc'), decision: 'implicitDeny' },
    ]);
  });

  it.each([
    ['organization id', { organizationId: 'org-1' }, 'organizationId'],
    ['registry account', { registryAccounts: ['12345'] }, 'registryAccounts[0]'],
    ['empty registry accounts', { registryAccounts: [] }, 'registryAccounts'],
    ['protected repository in another region', { protectedRepositoryArns: [repoArn('app')] }, 'protectedRepositoryArns[0]'],
    ['protected repository that is no ARN', { protectedRepositoryArns: ['base-image3'] }, 'protectedRepositoryArns[0]'],
  ])('rejects an invalid %s', (_name, overrides, field) => {
    // Act
    const result = generateEndpointPolicy({ service: 'ecr.api', region: 'us-west-2', ...overrides });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
  });
});
