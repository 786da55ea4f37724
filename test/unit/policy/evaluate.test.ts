import { describe, expect, it } from 'vitest';
import { explainAccess } from '../../../src/policy/evaluate.js';
import type { AccessDecision, AccessRequest, ContextValue, PolicySet, PolicyStatement } from '../../../src/policy/types.js';
import {
  ACCOUNT,
  KEY_ARN,
  ORG,
  OTHER_ACCOUNT,
  ROLE_ARN,
  ROOT_ARN,
  SESSION_ARN,
  VIA_ECR,
  alice,
  allow,
  allowFor,
  bob,
  deny,
  doc,
  ecrService,
  outsider,
  repoArn,
  request,
  root,
  session,
} from './fixtures.js';

interface Case {
  readonly name: string;
  readonly request: AccessRequest;
  readonly policies: PolicySet;
  readonly decision: AccessDecision;
  /** Part of the expected `reason`. */
  readonly reason?: RegExp;
  /** The Sids expected in `statements`, in order. */
  readonly sids?: readonly string[];
}

const APP = repoArn('app');
const OTHER_APP = repoArn('app', OTHER_ACCOUNT);
const ecrAll = doc(allow('ecr:*', '*', { Sid: 'EcrAll' }));

const run = (cases: readonly Case[]): void => {
  it.each(cases)('$name', (c) => {
    // Act
    const result = explainAccess(c.request, c.policies);

    // Assess
    expect(result.decision).toBe(c.decision);
    if (c.reason !== undefined) expect(result.reason).toMatch(c.reason);
    if (c.sids !== undefined) expect(result.statements.map((s) => s.sid)).toEqual(c.sids);
  });
};

describe('explainAccess: explicit deny wins', () => {
  const create = request(alice, 'ecr:DeleteRepository', APP);
  run([
    {
      name: 'a Deny in an identity-based policy overrides an Allow',
      request: create,
      policies: { identityPolicies: [ecrAll, doc(deny('ecr:DeleteRepository', APP, { Sid: 'NoDelete' }))] },
      decision: 'explicitDeny',
      reason: /explicitly denied by statement "NoDelete" of identity-based policy #1/,
      sids: ['NoDelete'],
    },
    {
      name: 'a Deny in the repository policy overrides an identity Allow',
      request: create,
      policies: { identityPolicies: [ecrAll], repositoryPolicy: doc({ Sid: 'Protect', Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository' }) },
      decision: 'explicitDeny',
      reason: /the repository policy/,
    },
    {
      name: 'a Deny in the permissions boundary',
      request: create,
      policies: { identityPolicies: [ecrAll], permissionsBoundary: doc(allow('*'), deny('ecr:Delete*')) },
      decision: 'explicitDeny',
      reason: /the permissions boundary/,
    },
    {
      name: 'a Deny in a session policy',
      request: request(session, 'ecr:DeleteRepository', APP),
      policies: { identityPolicies: [ecrAll], sessionPolicies: [doc(allow('*'), deny('ecr:DeleteRepository'))] },
      decision: 'explicitDeny',
      reason: /the session policy/,
    },
    {
      name: 'a Deny in the VPC endpoint policy',
      request: create,
      policies: { identityPolicies: [ecrAll], endpointPolicy: doc({ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }) },
      decision: 'explicitDeny',
      reason: /the VPC endpoint policy/,
    },
    {
      name: 'a Deny in the key policy overrides an Allow of the principal',
      request: request(alice, 'kms:CreateGrant', KEY_ARN),
      policies: { keyPolicy: doc(allowFor(alice.arn, 'kms:*'), { Effect: 'Deny', Principal: '*', Action: 'kms:CreateGrant', Resource: '*' }) },
      decision: 'explicitDeny',
      reason: /the key policy/,
    },
  ]);
});

describe('explainAccess: requests within one account', () => {
  const describeRepo = request(alice, 'ecr:DescribeRepositories', APP);
  const sessionDescribe = request(session, 'ecr:DescribeRepositories', APP);
  run([
    {
      name: 'an identity-based Allow is enough',
      request: describeRepo,
      policies: { identityPolicies: [ecrAll] },
      decision: 'allowed',
      reason: /allowed by statement "EcrAll" of the identity-based policy/,
      sids: ['EcrAll'],
    },
    {
      name: 'nothing allows: implicit deny',
      request: describeRepo,
      policies: { identityPolicies: [doc(allow('ecr:ListImages'))] },
      decision: 'implicitDeny',
      reason: /no identity-based or resource-based policy allows ecr:DescribeRepositories/,
      sids: [],
    },
    {
      name: 'a repository policy naming the user is enough without an identity-based policy',
      request: describeRepo,
      policies: { repositoryPolicy: doc(allowFor(alice.arn, 'ecr:DescribeRepositories', { Sid: 'Alice' })) },
      decision: 'allowed',
      sids: ['Alice'],
    },
    {
      name: 'a repository policy naming the account only delegates to IAM',
      request: describeRepo,
      policies: { repositoryPolicy: doc(allowFor(ROOT_ARN, 'ecr:DescribeRepositories')) },
      decision: 'implicitDeny',
    },
    {
      name: 'the permissions boundary limits an identity-based Allow',
      request: describeRepo,
      policies: { identityPolicies: [ecrAll], permissionsBoundary: doc(allow('ecr:ListImages')) },
      decision: 'implicitDeny',
      reason: /the permissions boundary does not allow/,
    },
    {
      name: 'the permissions boundary and the identity-based policy both allowing',
      request: describeRepo,
      policies: { identityPolicies: [ecrAll], permissionsBoundary: doc(allow('ecr:Describe*', '*', { Sid: 'Boundary' })) },
      decision: 'allowed',
      sids: ['EcrAll', 'Boundary'],
    },
    {
      name: 'the permissions boundary does not limit a repository policy naming the user',
      request: describeRepo,
      policies: { permissionsBoundary: doc(allow('s3:*')), repositoryPolicy: doc(allowFor(alice.arn, 'ecr:*')) },
      decision: 'allowed',
    },
    {
      name: 'the permissions boundary limits a repository policy naming the role',
      request: sessionDescribe,
      policies: { permissionsBoundary: doc(allow('s3:*')), repositoryPolicy: doc(allowFor(ROLE_ARN, 'ecr:*')) },
      decision: 'implicitDeny',
      reason: /the permissions boundary does not allow/,
    },
    {
      name: 'a repository policy naming the role allows its sessions',
      request: sessionDescribe,
      policies: { repositoryPolicy: doc(allowFor(ROLE_ARN, 'ecr:*')) },
      decision: 'allowed',
    },
    {
      name: 'a repository policy with Principal "*" is limited by the boundary of a session (as for its role)',
      request: sessionDescribe,
      policies: { permissionsBoundary: doc(allow('s3:*')), repositoryPolicy: doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:*' }) },
      decision: 'implicitDeny',
    },
    {
      name: 'a repository policy with Principal "*" is not limited by the boundary of a user',
      request: describeRepo,
      policies: { permissionsBoundary: doc(allow('s3:*')), repositoryPolicy: doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:*' }) },
      decision: 'allowed',
    },
    {
      name: 'session policies must allow an identity-based grant',
      request: sessionDescribe,
      policies: { identityPolicies: [ecrAll], sessionPolicies: [doc(allow('s3:GetObject'))] },
      decision: 'implicitDeny',
      reason: /no session policy allows/,
    },
    {
      name: 'session policies allowing too',
      request: sessionDescribe,
      policies: { identityPolicies: [ecrAll], sessionPolicies: [doc(allow('ecr:Describe*', '*', { Sid: 'Session' }))] },
      decision: 'allowed',
      sids: ['EcrAll', 'Session'],
    },
    {
      name: 'session policies do not limit a repository policy naming the session itself',
      request: sessionDescribe,
      policies: { sessionPolicies: [doc(allow('s3:GetObject'))], repositoryPolicy: doc(allowFor(SESSION_ARN, 'ecr:*')) },
      decision: 'allowed',
    },
    {
      name: 'a VPC endpoint policy that does not allow',
      request: describeRepo,
      policies: { identityPolicies: [ecrAll], endpointPolicy: doc({ Effect: 'Allow', Principal: '*', Action: 'ecr:ListImages', Resource: '*' }) },
      decision: 'implicitDeny',
      reason: /the VPC endpoint policy does not allow/,
    },
    {
      name: 'a VPC endpoint policy that allows too',
      request: describeRepo,
      policies: { identityPolicies: [ecrAll], endpointPolicy: doc({ Sid: 'Endpoint', Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }) },
      decision: 'allowed',
      sids: ['EcrAll', 'Endpoint'],
    },
    {
      name: 'the root user needs no identity-based policy in its account',
      request: request(root, 'ecr:DeleteRepository', APP),
      policies: {},
      decision: 'allowed',
      reason: /the account root user/,
    },
  ]);
});

describe('explainAccess: KMS key policies', () => {
  const createGrant = request(alice, 'kms:CreateGrant', KEY_ARN);
  const rootStatement = allowFor(ROOT_ARN, 'kms:*', { Sid: 'Enable IAM User Permissions', Resource: '*' });
  const kmsAll = doc(allow('kms:*', KEY_ARN, { Sid: 'KmsAll' }));
  run([
    {
      name: 'a key policy naming the principal is enough',
      request: createGrant,
      policies: { keyPolicy: doc(allowFor(alice.arn, 'kms:CreateGrant', { Sid: 'Alice', Resource: '*' })) },
      decision: 'allowed',
      sids: ['Alice'],
    },
    {
      name: 'an identity-based Allow does not count when the key policy does not allow the account',
      request: createGrant,
      policies: { identityPolicies: [kmsAll], keyPolicy: doc(allowFor(bob.arn, 'kms:*')) },
      decision: 'implicitDeny',
      reason: /no statement of the key policy allows kms:CreateGrant/,
    },
    {
      name: 'the root statement delegates to an identity-based Allow',
      request: createGrant,
      policies: { identityPolicies: [kmsAll], keyPolicy: doc(rootStatement) },
      decision: 'allowed',
      sids: ['Enable IAM User Permissions', 'KmsAll'],
    },
    {
      name: 'the root statement alone does not allow a user',
      request: createGrant,
      policies: { keyPolicy: doc(rootStatement) },
      decision: 'implicitDeny',
      reason: /the key policy delegates to IAM, but no identity-based policy allows/,
    },
    {
      name: 'an account id principal delegates like the root ARN',
      request: createGrant,
      policies: { identityPolicies: [kmsAll], keyPolicy: doc(allowFor(ACCOUNT, 'kms:*')) },
      decision: 'allowed',
    },
    {
      name: 'the root user still needs the key policy to allow the account',
      request: request(root, 'kms:DescribeKey', KEY_ARN),
      policies: { keyPolicy: doc(allowFor(bob.arn, 'kms:*')) },
      decision: 'implicitDeny',
    },
    {
      name: 'an AWS-managed-key style statement ({"AWS":"*"} + kms:CallerAccount, which KMS sets)',
      request: request(alice, 'kms:DescribeKey', KEY_ARN, { 'kms:ViaService': VIA_ECR }),
      policies: {
        keyPolicy: doc(allowFor('*', 'kms:DescribeKey', { Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': VIA_ECR } } })),
      },
      decision: 'allowed',
    },
    {
      name: 'kms:CallerAccount is the caller account, so another account does not match',
      request: request(alice, 'kms:DescribeKey', KEY_ARN),
      policies: { keyPolicy: doc(allowFor('*', 'kms:DescribeKey', { Condition: { StringEquals: { 'kms:CallerAccount': OTHER_ACCOUNT } } })) },
      decision: 'implicitDeny',
    },
    {
      name: 'an Allow of kms:RetireGrant in the key policy has no effect',
      request: request(alice, 'kms:RetireGrant', KEY_ARN),
      policies: { keyPolicy: doc(allowFor(alice.arn, 'kms:*')) },
      decision: 'implicitDeny',
      reason: /kms:RetireGrant is granted only by identity-based policies/,
    },
    {
      name: 'kms:RetireGrant allowed by an identity-based policy alone',
      request: request(alice, 'kms:RetireGrant', KEY_ARN),
      policies: { identityPolicies: [doc(allow('kms:RetireGrant', KEY_ARN, { Sid: 'Retire' }))], keyPolicy: doc(allowFor(bob.arn, 'kms:*')) },
      decision: 'allowed',
      sids: ['Retire'],
    },
    {
      name: 'a Deny of kms:RetireGrant in the key policy still works',
      request: request(alice, 'kms:RetireGrant', KEY_ARN),
      policies: {
        identityPolicies: [doc(allow('kms:RetireGrant', KEY_ARN))],
        keyPolicy: doc({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:RetireGrant', Resource: '*' }),
      },
      decision: 'explicitDeny',
    },
    {
      name: 'without a key policy, KMS actions follow the ordinary rules',
      request: createGrant,
      policies: { identityPolicies: [kmsAll] },
      decision: 'allowed',
    },
    {
      name: 'the key policy is not consulted for other services',
      request: request(alice, 'ecr:DescribeRepositories', APP),
      policies: { identityPolicies: [ecrAll], keyPolicy: doc({ Effect: 'Deny', Principal: '*', Action: '*', Resource: '*' }) },
      decision: 'allowed',
    },
  ]);
});

describe('explainAccess: cross-account requests need both sides', () => {
  const push = request(alice, 'ecr:InitiateLayerUpload', OTHER_APP);
  const repoAllowsAlice = doc(allowFor(alice.arn, 'ecr:*', { Sid: 'Alice' }));
  run([
    {
      name: 'an identity-based Allow alone is not enough',
      request: push,
      policies: { identityPolicies: [ecrAll] },
      decision: 'implicitDeny',
      reason: /cross-account request: the repository policy of account 444455556666 does not allow/,
    },
    {
      name: 'a repository policy naming the principal alone is not enough',
      request: push,
      policies: { repositoryPolicy: repoAllowsAlice },
      decision: 'implicitDeny',
      reason: /cross-account request: the repository policy allows it, but no identity-based policy allows/,
    },
    {
      name: 'both allowing',
      request: push,
      policies: { identityPolicies: [ecrAll], repositoryPolicy: repoAllowsAlice },
      decision: 'allowed',
      sids: ['EcrAll', 'Alice'],
    },
    {
      name: 'a repository policy naming the caller account delegates to its IAM policies',
      request: push,
      policies: { identityPolicies: [ecrAll], repositoryPolicy: doc(allowFor(ACCOUNT, 'ecr:*')) },
      decision: 'allowed',
    },
    {
      name: 'resourceAccount marks a request cross-account when the resource is "*"',
      request: { ...request(alice, 'ecr:GetAuthorizationToken', '*'), resourceAccount: OTHER_ACCOUNT },
      policies: { identityPolicies: [ecrAll] },
      decision: 'implicitDeny',
      reason: /cross-account/,
    },
    {
      name: 'a key in another account: key policy naming the account and an identity-based Allow',
      request: request(outsider, 'kms:DescribeKey', KEY_ARN),
      policies: { identityPolicies: [doc(allow('kms:DescribeKey', KEY_ARN))], keyPolicy: doc(allowFor(OTHER_ACCOUNT, 'kms:DescribeKey')) },
      decision: 'allowed',
    },
    {
      name: 'a key in another account: the key policy alone is not enough',
      request: request(outsider, 'kms:DescribeKey', KEY_ARN),
      policies: { keyPolicy: doc(allowFor(outsider.arn, 'kms:DescribeKey')) },
      decision: 'implicitDeny',
    },
  ]);
});

describe('explainAccess: Principal and NotPrincipal', () => {
  const describeAs = (principal: AccessRequest['principal']): AccessRequest => request(principal, 'ecr:DescribeRepositories', APP);
  const repoPolicy = (principal: PolicyStatement['Principal']): PolicySet => ({
    repositoryPolicy: doc({ Effect: 'Allow', Principal: principal, Action: 'ecr:*' } as PolicyStatement),
  });
  const notPrincipalDeny = (aws: readonly string[]): PolicySet => ({
    identityPolicies: [ecrAll],
    repositoryPolicy: doc({ Effect: 'Deny', NotPrincipal: { AWS: aws }, Action: 'ecr:*' }),
  });
  run([
    { name: '"*"', request: describeAs(alice), policies: repoPolicy('*'), decision: 'allowed' },
    { name: '{"AWS":"*"}', request: describeAs(bob), policies: repoPolicy({ AWS: '*' }), decision: 'allowed' },
    { name: 'the user ARN', request: describeAs(alice), policies: repoPolicy({ AWS: alice.arn }), decision: 'allowed' },
    { name: 'another user ARN', request: describeAs(bob), policies: repoPolicy({ AWS: alice.arn }), decision: 'implicitDeny' },
    { name: 'one of several ARNs', request: describeAs(bob), policies: repoPolicy({ AWS: [alice.arn, bob.arn] }), decision: 'allowed' },
    { name: 'the role ARN (with its path) matches its sessions', request: describeAs(session), policies: repoPolicy({ AWS: ROLE_ARN }), decision: 'allowed' },
    {
      name: 'without roleArn, the role ARN is derived from the session ARN (no path)',
      request: describeAs({ arn: SESSION_ARN, account: ACCOUNT }),
      policies: repoPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:role/deployer` }),
      decision: 'allowed',
    },
    {
      name: 'another role does not match the session',
      request: describeAs(session),
      policies: repoPolicy({ AWS: `arn:aws:iam::${ACCOUNT}:role/other` }),
      decision: 'implicitDeny',
    },
    { name: 'the session ARN', request: describeAs(session), policies: repoPolicy({ AWS: SESSION_ARN }), decision: 'allowed' },
    {
      name: 'the account root ARN matches every principal of the account (with an identity-based Allow)',
      request: request(session, 'ecr:InitiateLayerUpload', OTHER_APP),
      policies: { identityPolicies: [ecrAll], repositoryPolicy: doc(allowFor(ROOT_ARN, 'ecr:*')) },
      decision: 'allowed',
    },
    {
      name: 'another account root ARN does not match',
      request: request(session, 'ecr:InitiateLayerUpload', OTHER_APP),
      policies: { identityPolicies: [ecrAll], repositoryPolicy: doc(allowFor(`arn:aws:iam::${OTHER_ACCOUNT}:root`, 'ecr:*')) },
      decision: 'implicitDeny',
    },
    { name: 'a service principal', request: describeAs(ecrService), policies: repoPolicy({ Service: 'ecr.amazonaws.com' }), decision: 'allowed' },
    { name: 'a service principal does not match a user', request: describeAs(alice), policies: repoPolicy({ Service: 'ecr.amazonaws.com' }), decision: 'implicitDeny' },
    {
      name: 'Deny with NotPrincipal spares a user listed with its account',
      request: describeAs(alice),
      policies: notPrincipalDeny([alice.arn, ROOT_ARN]),
      decision: 'allowed',
    },
    { name: 'Deny with NotPrincipal denies anyone else', request: describeAs(bob), policies: notPrincipalDeny([alice.arn, ROOT_ARN]), decision: 'explicitDeny' },
    {
      name: 'Deny with NotPrincipal listing only the role still denies its session',
      request: describeAs(session),
      policies: notPrincipalDeny([ROLE_ARN]),
      decision: 'explicitDeny',
    },
    {
      name: 'Deny with NotPrincipal listing the session, the role and the account spares the session',
      request: describeAs(session),
      policies: notPrincipalDeny([SESSION_ARN, ROLE_ARN, ROOT_ARN]),
      decision: 'allowed',
    },
    {
      name: 'Deny with NotPrincipal always denies a principal that has a permissions boundary',
      request: describeAs(alice),
      policies: { ...notPrincipalDeny([alice.arn, ROOT_ARN]), permissionsBoundary: doc(allow('*')) },
      decision: 'explicitDeny',
    },
    {
      name: 'a Principal element in an identity-based policy is ignored',
      request: describeAs(alice),
      policies: { identityPolicies: [doc(allow('ecr:*', '*', { Principal: { AWS: bob.arn } }))] },
      decision: 'allowed',
    },
  ]);
});

describe('explainAccess: Action, NotAction, Resource, NotResource', () => {
  const identity = (statement: PolicyStatement): PolicySet => ({ identityPolicies: [doc(statement)] });
  run([
    { name: 'action wildcard *', request: request(alice, 'ecr:DescribeImages', APP), policies: identity(allow('ecr:Describe*')), decision: 'allowed' },
    { name: 'action wildcard * does not match another prefix', request: request(alice, 'ecr:ListImages', APP), policies: identity(allow('ecr:Describe*')), decision: 'implicitDeny' },
    { name: 'action wildcard ?', request: request(alice, 'ecr:PutImage', APP), policies: identity(allow('ecr:P?tImage')), decision: 'allowed' },
    { name: 'actions are case-insensitive', request: request(alice, 'ECR:describerepositories', APP), policies: identity(allow('ecr:DescribeRepositories')), decision: 'allowed' },
    { name: 'the service prefix matters', request: request(alice, 'kms:DescribeKey', KEY_ARN), policies: identity(allow('ecr:*')), decision: 'implicitDeny' },
    {
      name: 'NotAction allows what it does not list',
      request: request(alice, 'ecr:CreateRepository', APP),
      policies: identity({ Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }),
      decision: 'allowed',
    },
    {
      name: 'NotAction does not allow what it lists',
      request: request(alice, 'ecr:DeleteRepository', APP),
      policies: identity({ Effect: 'Allow', NotAction: 'ecr:Delete*', Resource: '*' }),
      decision: 'implicitDeny',
    },
    { name: 'resource wildcard *', request: request(alice, 'ecr:PutImage', repoArn('team/app')), policies: identity(allow('ecr:*', repoArn('team/*'))), decision: 'allowed' },
    { name: 'resource wildcard ?', request: request(alice, 'ecr:PutImage', repoArn('app1')), policies: identity(allow('ecr:*', repoArn('app?'))), decision: 'allowed' },
    { name: 'resource ? is exactly one character', request: request(alice, 'ecr:PutImage', repoArn('app12')), policies: identity(allow('ecr:*', repoArn('app?'))), decision: 'implicitDeny' },
    { name: 'resources are case-sensitive', request: request(alice, 'ecr:PutImage', repoArn('app')), policies: identity(allow('ecr:*', repoArn('App'))), decision: 'implicitDeny' },
    {
      name: 'wildcards in the region and account segments',
      request: request(alice, 'ecr:PutImage', APP),
      policies: identity(allow('ecr:*', 'arn:aws:ecr:*:*:repository/app')),
      decision: 'allowed',
    },
    {
      name: 'a * inside a segment does not run past a colon',
      request: request(alice, 'ecr:PutImage', APP),
      policies: identity(allow('ecr:*', 'arn:aws:ecr:eu*1:repository/app')),
      decision: 'implicitDeny',
    },
    {
      name: 'a non-ARN resource ("*") is matched only by "*"',
      request: request(alice, 'ecr:GetAuthorizationToken', '*'),
      policies: identity(allow('ecr:GetAuthorizationToken', repoArn('*'))),
      decision: 'implicitDeny',
    },
    {
      name: 'NotResource allows other resources',
      request: request(alice, 'ecr:PutImage', repoArn('app')),
      policies: identity({ Effect: 'Allow', Action: 'ecr:*', NotResource: repoArn('prod/*') }),
      decision: 'allowed',
    },
    {
      name: 'NotResource does not allow the listed resources',
      request: request(alice, 'ecr:PutImage', repoArn('prod/api')),
      policies: identity({ Effect: 'Allow', Action: 'ecr:*', NotResource: repoArn('prod/*') }),
      decision: 'implicitDeny',
    },
    {
      name: 'an identity statement without Resource matches nothing',
      request: request(alice, 'ecr:PutImage', APP),
      policies: identity({ Effect: 'Allow', Action: 'ecr:*' }),
      decision: 'implicitDeny',
    },
    {
      name: 'a repository policy statement without Resource applies to its repository',
      request: request(alice, 'ecr:PutImage', APP),
      policies: { repositoryPolicy: doc(allowFor(alice.arn, 'ecr:PutImage')) },
      decision: 'allowed',
    },
  ]);
});

describe('explainAccess: condition operators', () => {
  interface ConditionCase {
    readonly name: string;
    readonly condition: NonNullable<PolicyStatement['Condition']>;
    readonly context: Readonly<Record<string, ContextValue>>;
    readonly allowed: boolean;
  }
  const conditionCases: readonly ConditionCase[] = [
    { name: 'StringEquals matches', condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: true },
    { name: 'StringEquals is case-sensitive', condition: { StringEquals: { 'aws:RequestedRegion': 'EU-WEST-1' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: false },
    { name: 'StringEquals takes * literally', condition: { StringEquals: { 'aws:RequestedRegion': 'eu-*' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: false },
    { name: 'StringEquals on a missing key is false', condition: { StringEquals: { 'aws:RequestedRegion': 'eu-west-1' } }, context: {}, allowed: false },
    { name: 'several values: any may match', condition: { StringEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: true },
    { name: 'StringNotEquals: none may match', condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1', 'eu-west-1'] } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: false },
    { name: 'StringNotEquals with another value', condition: { StringNotEquals: { 'aws:RequestedRegion': ['us-east-1'] } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: true },
    { name: 'StringNotEquals on a missing key is true', condition: { StringNotEquals: { 'aws:SourceVpce': 'vpce-1' } }, context: {}, allowed: true },
    { name: 'StringEqualsIgnoreCase', condition: { StringEqualsIgnoreCase: { 'aws:RequestedRegion': 'EU-WEST-1' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: true },
    { name: 'StringNotEqualsIgnoreCase', condition: { StringNotEqualsIgnoreCase: { 'aws:RequestedRegion': 'EU-WEST-1' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: false },
    { name: 'StringLike with *', condition: { StringLike: { 'aws:RequestedRegion': 'eu-*' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: true },
    { name: 'StringLike with ?', condition: { StringLike: { 'aws:RequestedRegion': 'eu-west-?' } }, context: { 'aws:RequestedRegion': 'eu-west-12' }, allowed: false },
    { name: 'StringNotLike', condition: { StringNotLike: { 'aws:RequestedRegion': 'eu-*' } }, context: { 'aws:RequestedRegion': 'us-east-1' }, allowed: true },
    { name: 'StringNotLike matching', condition: { StringNotLike: { 'aws:RequestedRegion': 'eu-*' } }, context: { 'aws:RequestedRegion': 'eu-west-1' }, allowed: false },
    { name: 'NumericLessThan', condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': 3600 } }, context: { 'aws:MultiFactorAuthAge': 120 }, allowed: true },
    { name: 'NumericLessThan, too old', condition: { NumericLessThan: { 'aws:MultiFactorAuthAge': '3600' } }, context: { 'aws:MultiFactorAuthAge': '7200' }, allowed: false },
    { name: 'NumericLessThanEquals at the bound', condition: { NumericLessThanEquals: { 'k:n': 5 } }, context: { 'k:n': 5 }, allowed: true },
    { name: 'NumericGreaterThan', condition: { NumericGreaterThan: { 'k:n': 5 } }, context: { 'k:n': 5 }, allowed: false },
    { name: 'NumericGreaterThanEquals', condition: { NumericGreaterThanEquals: { 'k:n': 5 } }, context: { 'k:n': 5 }, allowed: true },
    { name: 'NumericEquals', condition: { NumericEquals: { 'k:n': '10' } }, context: { 'k:n': 10 }, allowed: true },
    { name: 'NumericNotEquals', condition: { NumericNotEquals: { 'k:n': 10 } }, context: { 'k:n': 10 }, allowed: false },
    { name: 'a non-numeric value never matches', condition: { NumericEquals: { 'k:n': 10 } }, context: { 'k:n': 'ten' }, allowed: false },
    { name: 'DateGreaterThan (ISO 8601)', condition: { DateGreaterThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, context: { 'aws:CurrentTime': '2026-06-01T12:00:00Z' }, allowed: true },
    { name: 'DateLessThan (ISO 8601)', condition: { DateLessThan: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, context: { 'aws:CurrentTime': '2026-06-01T12:00:00Z' }, allowed: false },
    { name: 'DateLessThanEquals (epoch seconds)', condition: { DateLessThanEquals: { 'aws:EpochTime': '1767225600' } }, context: { 'aws:EpochTime': '2026-01-01T00:00:00Z' }, allowed: true },
    { name: 'DateGreaterThanEquals', condition: { DateGreaterThanEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, context: { 'aws:CurrentTime': '2025-12-31T23:59:59Z' }, allowed: false },
    { name: 'DateEquals', condition: { DateEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, context: { 'aws:CurrentTime': '2026-01-01T00:00:00.000Z' }, allowed: true },
    { name: 'DateNotEquals', condition: { DateNotEquals: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' } }, context: { 'aws:CurrentTime': '2026-01-01T00:00:00Z' }, allowed: false },
    { name: 'Bool true', condition: { Bool: { 'aws:SecureTransport': 'true' } }, context: { 'aws:SecureTransport': true }, allowed: true },
    { name: 'Bool false', condition: { Bool: { 'aws:SecureTransport': true } }, context: { 'aws:SecureTransport': 'false' }, allowed: false },
    { name: 'BinaryEquals', condition: { BinaryEquals: { 'k:bin': 'QmluYXJ5' } }, context: { 'k:bin': 'QmluYXJ5' }, allowed: true },
    { name: 'BinaryEquals, other bytes', condition: { BinaryEquals: { 'k:bin': 'QmluYXJ5' } }, context: { 'k:bin': 'QmluYXJ6' }, allowed: false },
    { name: 'IpAddress in an IPv4 CIDR', condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, context: { 'aws:SourceIp': '203.0.113.77' }, allowed: true },
    { name: 'IpAddress outside the IPv4 CIDR', condition: { IpAddress: { 'aws:SourceIp': '203.0.113.0/24' } }, context: { 'aws:SourceIp': '203.0.114.1' }, allowed: false },
    { name: 'IpAddress single address', condition: { IpAddress: { 'aws:SourceIp': '203.0.113.7' } }, context: { 'aws:SourceIp': '203.0.113.7' }, allowed: true },
    { name: 'IpAddress in an IPv6 CIDR', condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, context: { 'aws:SourceIp': '2001:db8:1234::1' }, allowed: true },
    { name: 'IpAddress outside the IPv6 CIDR', condition: { IpAddress: { 'aws:SourceIp': '2001:db8::/32' } }, context: { 'aws:SourceIp': '2001:db9::1' }, allowed: false },
    { name: 'IpAddress: IPv4-mapped IPv6 in an IPv6 CIDR', condition: { IpAddress: { 'aws:SourceIp': '::ffff:10.0.0.0/120' } }, context: { 'aws:SourceIp': '::ffff:10.0.0.9' }, allowed: true },
    { name: 'NotIpAddress', condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8', '192.168.0.0/16'] } }, context: { 'aws:SourceIp': '192.168.1.1' }, allowed: false },
    { name: 'NotIpAddress, outside every range', condition: { NotIpAddress: { 'aws:SourceIp': ['10.0.0.0/8'] } }, context: { 'aws:SourceIp': '172.16.0.1' }, allowed: true },
    { name: 'ArnEquals', condition: { ArnEquals: { 'aws:SourceArn': repoArn('app') } }, context: { 'aws:SourceArn': repoArn('app') }, allowed: true },
    { name: 'ArnLike with a wildcard segment', condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*:111122223333:repository/*' } }, context: { 'aws:SourceArn': repoArn('x/y') }, allowed: true },
    { name: 'ArnLike: a * does not span segments', condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:*:repository/app' } }, context: { 'aws:SourceArn': repoArn('app') }, allowed: false },
    { name: 'ArnLike: a ? does not match a colon', condition: { ArnLike: { 'aws:SourceArn': 'arn:aws:ecr:eu-west-1?111122223333:repository/app' } }, context: { 'aws:SourceArn': repoArn('app') }, allowed: false },
    { name: 'ArnNotEquals', condition: { ArnNotEquals: { 'aws:SourceArn': repoArn('app') } }, context: { 'aws:SourceArn': repoArn('app') }, allowed: false },
    { name: 'ArnNotLike', condition: { ArnNotLike: { 'aws:SourceArn': repoArn('prod/*') } }, context: { 'aws:SourceArn': repoArn('dev/app') }, allowed: true },
    { name: 'Null true on a missing key', condition: { Null: { 'aws:TokenIssueTime': 'true' } }, context: {}, allowed: true },
    { name: 'Null true on a present key', condition: { Null: { 'aws:TokenIssueTime': 'true' } }, context: { 'aws:TokenIssueTime': '2026-01-01T00:00:00Z' }, allowed: false },
    { name: 'Null false on a present key', condition: { Null: { 'aws:TokenIssueTime': 'false' } }, context: { 'aws:TokenIssueTime': '2026-01-01T00:00:00Z' }, allowed: true },
    { name: 'IfExists on a missing key is true', condition: { StringEqualsIfExists: { 'ecr:ResourceTag/env': 'dev' } }, context: {}, allowed: true },
    { name: 'IfExists on a present key compares', condition: { StringEqualsIfExists: { 'ecr:ResourceTag/env': 'dev' } }, context: { 'ecr:ResourceTag/env': 'prod' }, allowed: false },
    { name: 'NumericLessThanIfExists on a present key', condition: { NumericLessThanIfExists: { 'k:n': 5 } }, context: { 'k:n': 4 }, allowed: true },
    { name: 'ForAnyValue: one value matches', condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env', 'team'] } }, context: { 'aws:TagKeys': ['owner', 'team'] }, allowed: true },
    { name: 'ForAnyValue: none matches', condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } }, context: { 'aws:TagKeys': ['owner', 'team'] }, allowed: false },
    { name: 'ForAnyValue on a missing key is false', condition: { 'ForAnyValue:StringEquals': { 'aws:TagKeys': ['env'] } }, context: {}, allowed: false },
    { name: 'ForAllValues: every value matches', condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } }, context: { 'aws:TagKeys': ['team', 'env'] }, allowed: true },
    { name: 'ForAllValues: one value does not', condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env', 'team'] } }, context: { 'aws:TagKeys': ['team', 'owner'] }, allowed: false },
    { name: 'ForAllValues on a missing key is true', condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['env'] } }, context: {}, allowed: true },
    { name: 'ForAllValues on an empty set is true', condition: { 'ForAllValues:StringLike': { 'aws:TagKeys': ['env*'] } }, context: { 'aws:TagKeys': [] }, allowed: true },
    { name: 'ForAllValues with a negated operator', condition: { 'ForAllValues:StringNotEquals': { 'aws:TagKeys': ['secret'] } }, context: { 'aws:TagKeys': ['env', 'secret'] }, allowed: false },
    { name: 'ForAnyValue with a negated operator', condition: { 'ForAnyValue:StringNotLike': { 'aws:TagKeys': ['env*'] } }, context: { 'aws:TagKeys': ['env', 'team'] }, allowed: true },
    { name: 'a negated operator on a multivalued key: no value may match', condition: { StringNotEquals: { 'aws:TagKeys': 'secret' } }, context: { 'aws:TagKeys': ['env', 'secret'] }, allowed: false },
    { name: 'keys of one block are ANDed (both hold)', condition: { StringEquals: { 'k:a': '1', 'k:b': '2' } }, context: { 'k:a': '1', 'k:b': '2' }, allowed: true },
    { name: 'keys of one block are ANDed (one fails)', condition: { StringEquals: { 'k:a': '1', 'k:b': '2' } }, context: { 'k:a': '1', 'k:b': '3' }, allowed: false },
    { name: 'operators are ANDed', condition: { StringEquals: { 'k:a': '1' }, Bool: { 'k:b': 'true' } }, context: { 'k:a': '1', 'k:b': 'false' }, allowed: false },
    { name: 'condition keys are case-insensitive', condition: { StringEquals: { 'KMS:VIASERVICE': VIA_ECR } }, context: { 'kms:ViaService': VIA_ECR }, allowed: true },
    { name: 'an unknown operator never holds', condition: { StringEqualz: { 'k:a': '1' } }, context: { 'k:a': '1' }, allowed: false },
  ];
  it.each(conditionCases)('$name', ({ condition, context, allowed }) => {
    // Prepare
    const policies: PolicySet = { identityPolicies: [doc(allow('ecr:DescribeRepositories', '*', { Condition: condition }))] };

    // Act
    const result = explainAccess(request(bob, 'ecr:DescribeRepositories', APP, context), policies);

    // Assess
    expect(result.decision).toBe(allowed ? 'allowed' : 'implicitDeny');
  });
});

describe('explainAccess: policy variables', () => {
  const identity = (resource: string, condition?: PolicyStatement['Condition']): PolicySet => ({
    identityPolicies: [doc(allow('ecr:*', resource, condition === undefined ? {} : { Condition: condition }))],
  });
  run([
    { name: '${aws:username} in Resource', request: request(alice, 'ecr:PutImage', repoArn('alice/app')), policies: identity(repoArn('${aws:username}/*')), decision: 'allowed' },
    { name: '${aws:username} for another user', request: request(bob, 'ecr:PutImage', repoArn('alice/app')), policies: identity(repoArn('${aws:username}/*')), decision: 'implicitDeny' },
    {
      name: '${aws:username} is not set for role sessions',
      request: request(session, 'ecr:PutImage', repoArn('deployer/app')),
      policies: identity(repoArn('${aws:username}/*')),
      decision: 'implicitDeny',
    },
    {
      name: 'a default value for a missing variable',
      request: request(session, 'ecr:PutImage', repoArn('shared/app')),
      policies: identity(repoArn("${aws:username, 'shared'}/*")),
      decision: 'allowed',
    },
    { name: '${aws:PrincipalTag/team} in Resource', request: request(alice, 'ecr:PutImage', repoArn('platform/app')), policies: identity(repoArn('${aws:PrincipalTag/team}/*')), decision: 'allowed' },
    {
      name: '${aws:userid} in a condition value',
      request: request(session, 'ecr:PutImage', APP, { 'ecr:ResourceTag/owner': 'AROADEPLOYER:build-42' }),
      policies: identity('*', { StringEquals: { 'ecr:ResourceTag/owner': '${aws:userid}' } }),
      decision: 'allowed',
    },
    {
      name: '${*} is a literal * in StringLike',
      request: request(alice, 'ecr:PutImage', APP, { 'k:v': 'a-b' }),
      policies: identity('*', { StringLike: { 'k:v': 'a${*}' } }),
      decision: 'implicitDeny',
    },
    {
      name: '${*} matches a literal *',
      request: request(alice, 'ecr:PutImage', APP, { 'k:v': 'a*' }),
      policies: identity('*', { StringLike: { 'k:v': 'a${*}' } }),
      decision: 'allowed',
    },
    {
      name: '${?} and ${$} are literal',
      request: request(alice, 'ecr:PutImage', APP, { 'k:v': 'why?$' }),
      policies: identity('*', { StringLike: { 'k:v': 'why${?}${$}' } }),
      decision: 'allowed',
    },
    {
      name: 'variables are literal text in a 2008-10-17 policy',
      request: request(alice, 'ecr:PutImage', repoArn('alice/app')),
      policies: { identityPolicies: [{ Version: '2008-10-17', Statement: allow('ecr:*', repoArn('${aws:username}/*')) }] },
      decision: 'implicitDeny',
    },
  ]);
});

describe('explainAccess: global keys derived from the principal', () => {
  const withCondition = (condition: NonNullable<PolicyStatement['Condition']>): PolicySet => ({
    identityPolicies: [doc(allow('ecr:*', '*', { Condition: condition }))],
  });
  run([
    { name: 'aws:PrincipalArn of a session is the role ARN', request: request(session, 'ecr:PutImage', APP), policies: withCondition({ ArnEquals: { 'aws:PrincipalArn': ROLE_ARN } }), decision: 'allowed' },
    { name: 'aws:PrincipalArn of a session is not the session ARN', request: request(session, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalArn': SESSION_ARN } }), decision: 'implicitDeny' },
    { name: 'aws:PrincipalAccount', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalAccount': ACCOUNT } }), decision: 'allowed' },
    { name: 'aws:PrincipalOrgID', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalOrgID': ORG } }), decision: 'allowed' },
    { name: 'aws:PrincipalOrgID absent outside an organization', request: request(bob, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalOrgID': ORG } }), decision: 'implicitDeny' },
    { name: 'aws:userid', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:userid': 'AIDAALICE' } }), decision: 'allowed' },
    { name: 'aws:userid of the root user is the account', request: request(root, 'kms:DescribeKey', KEY_ARN), policies: { keyPolicy: doc(allowFor('*', 'kms:*', { Condition: { StringEquals: { 'aws:userid': ACCOUNT } } })) }, decision: 'allowed' },
    { name: 'aws:username of a user (without its path)', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:username': 'alice' } }), decision: 'allowed' },
    { name: 'aws:PrincipalType of a user', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalType': 'User' } }), decision: 'allowed' },
    { name: 'aws:PrincipalType of a session', request: request(session, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalType': 'AssumedRole' } }), decision: 'allowed' },
    { name: 'aws:PrincipalTag/*', request: request(alice, 'ecr:PutImage', APP), policies: withCondition({ StringEquals: { 'aws:PrincipalTag/Team': 'platform' } }), decision: 'allowed' },
    {
      name: 'derived keys win over the given context',
      request: request(bob, 'ecr:PutImage', APP, { 'aws:PrincipalArn': alice.arn }),
      policies: withCondition({ StringEquals: { 'aws:PrincipalArn': alice.arn } }),
      decision: 'implicitDeny',
    },
  ]);
});

describe('explainAccess: explanations', () => {
  it('refuses to decide with a policy AWS would refuse (an Effect other than Allow or Deny)', () => {
    // Prepare
    const malformed = { Effect: 'Maybe', Action: '*', Resource: '*' } as unknown as PolicyStatement;
    const policies: PolicySet = { identityPolicies: [ecrAll, doc(malformed, deny('ecr:PutImage'))] };

    // Act
    const result = explainAccess(request(alice, 'ecr:PutImage', APP), policies);

    // Assess
    expect(result).toEqual({
      decision: 'invalidPolicy',
      statements: [],
      reason: 'AWS would refuse this policy, so it decides nothing: identity-based policy #1: statement #0 has Effect "Maybe": it must be "Allow" or "Deny"',
      assumptions: [],
    });
  });
});

describe('explainAccess: a role trust policy is the authority for sts:AssumeRole', () => {
  const assume = request(alice, 'sts:AssumeRole', ROLE_ARN);
  const stsAll = doc(allow('sts:AssumeRole', '*', { Sid: 'AssumeAny' }));
  run([
    {
      name: 'a trust policy naming the caller allows without any identity-based policy',
      request: assume,
      policies: { trustPolicy: doc(allowFor(alice.arn, 'sts:AssumeRole', { Sid: 'TrustAlice' })) },
      decision: 'allowed',
      sids: ['TrustAlice'],
    },
    {
      name: 'an identity-based Allow is not enough when the trust policy does not name the caller',
      request: assume,
      policies: { identityPolicies: [stsAll], trustPolicy: doc(allowFor(bob.arn, 'sts:AssumeRole')) },
      decision: 'implicitDeny',
      reason: /no statement of the trust policy/,
    },
    {
      name: 'a trust policy naming the account delegates to the identity-based policy',
      request: assume,
      policies: { identityPolicies: [stsAll], trustPolicy: doc(allowFor(ROOT_ARN, 'sts:AssumeRole', { Sid: 'TrustAccount' })) },
      decision: 'allowed',
      sids: ['TrustAccount', 'AssumeAny'],
    },
    {
      name: 'a trust policy naming the account without an identity-based Allow denies',
      request: assume,
      policies: { trustPolicy: doc(allowFor(ROOT_ARN, 'sts:AssumeRole')) },
      decision: 'implicitDeny',
      reason: /the trust policy delegates to IAM/,
    },
  ]);
});
