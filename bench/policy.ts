/**
 * Policy evaluator throughput: `explainAccess` decisions per second over a realistic policy set
 * (the generated key policy and repository-admin policy, a permissions boundary, a session policy,
 * a repository policy and a VPC endpoint policy), cycling through allowed and denied requests of
 * the kinds the library and the emulator ask. Informative: no target.
 */
import { explainAccess, generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from '../src/policy/index.js';
import type { AccessRequest, PolicyDocument, PolicySet } from '../src/policy/index.js';
import type { Bench, Figure } from './lib/types.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const REPO = `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/app`;
const ROLE = `arn:aws:iam::${ACCOUNT}:role/platform/deployer`;
const SESSION = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/ci-1234`;

const value = <T>(result: { isOk(): boolean; _unsafeUnwrap(): T }): T => result._unsafeUnwrap();

const policySet = (): PolicySet => {
  const keyPolicy = value(generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, principals: [ROLE] })) as PolicyDocument;
  const admin = value(generateRepositoryAdminPolicy({ region: REGION, account: ACCOUNT, repositories: { prefix: 'team/' }, keyArns: [KEY], operations: ['create', 'delete', 'migrate'] })) as PolicyDocument;
  const endpoint = value(generateEndpointPolicy({ service: 'ecr.api', region: REGION, registryAccounts: [ACCOUNT] })) as PolicyDocument;
  const boundary: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ecr:*', 'kms:*', 'sts:GetCallerIdentity', 'iam:SimulatePrincipalPolicy'], Resource: '*' },
      { Effect: 'Deny', Action: 'kms:ScheduleKeyDeletion', Resource: '*' },
    ],
  };
  const session: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ecr:*', 'kms:*', 'sts:GetCallerIdentity'], Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': REGION } } },
    ],
  };
  const repositoryPolicy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Sid: 'Pull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'] },
      { Sid: 'Freeze', Effect: 'Deny', Principal: '*', Action: ['ecr:PutImage', 'ecr:BatchDeleteImage'], Condition: { StringNotEquals: { 'aws:PrincipalArn': ROLE } } },
    ],
  };
  return { keyPolicy, identityPolicies: [admin], permissionsBoundary: boundary, sessionPolicies: [session], repositoryPolicy, endpointPolicy: endpoint };
};

const requests = (): AccessRequest[] => {
  const principal = { arn: SESSION, account: ACCOUNT, roleArn: ROLE, userId: 'AROAEXAMPLE:ci-1234' };
  const via = { 'kms:ViaService': `ecr.${REGION}.amazonaws.com`, 'aws:RequestedRegion': REGION };
  return [
    { principal, action: 'kms:CreateGrant', resource: KEY, context: { ...via, 'kms:GrantIsForAWSResource': true, 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] } },
    { principal, action: 'kms:DescribeKey', resource: KEY, context: { 'aws:RequestedRegion': REGION } },
    { principal, action: 'kms:RetireGrant', resource: KEY, context: via },
    { principal, action: 'kms:ScheduleKeyDeletion', resource: KEY, context: { 'aws:RequestedRegion': REGION } },
    { principal, action: 'ecr:CreateRepository', resource: REPO, context: { 'aws:RequestedRegion': REGION } },
    { principal, action: 'ecr:PutImage', resource: REPO, context: { 'aws:RequestedRegion': REGION } },
    { principal, action: 'ecr:BatchGetImage', resource: REPO, context: { 'aws:RequestedRegion': REGION } },
    { principal: { arn: `arn:aws:iam::${ACCOUNT}:user/dev`, account: ACCOUNT }, action: 'ecr:PutImage', resource: REPO, context: { 'aws:RequestedRegion': REGION } },
  ];
};

export const policy: Bench = (sizes, log) => {
  const policies = policySet();
  const asked = requests();
  const decisions: Record<string, number> = {};
  // Warm up (policies are compiled once per document object), then count for the duration.
  for (const request of asked) explainAccess(request, policies);
  let evaluations = 0;
  const started = performance.now();
  const until = started + sizes.policy.durationMs;
  while (performance.now() < until) {
    for (let i = 0; i < 100; i++) {
      const result = explainAccess(asked[evaluations % asked.length] as AccessRequest, policies);
      decisions[result.decision] = (decisions[result.decision] ?? 0) + 1;
      evaluations++;
    }
  }
  const rate = evaluations / ((performance.now() - started) / 1000);
  // Cold: every evaluation over policy objects never seen before (compiled each time).
  let cold = 0;
  const coldStarted = performance.now();
  const coldUntil = coldStarted + sizes.policy.durationMs / 4;
  while (performance.now() < coldUntil) {
    explainAccess(asked[cold % asked.length] as AccessRequest, structuredClone(policies));
    cold++;
  }
  const coldRate = cold / ((performance.now() - coldStarted) / 1000);
  log(`${evaluations} evaluations: ${JSON.stringify(decisions)}`);
  return Promise.resolve([
    {
      id: 'policy.explainAccess',
      bench: 'policy',
      label: `explainAccess, 6 policies (key, identity, boundary, session, repository, endpoint), compiled`,
      value: rate,
      unit: 'evals/s',
      detail: { evaluations, decisions, requests: asked.length },
    },
    {
      id: 'policy.explainAccess.cold',
      bench: 'policy',
      label: 'same, policies new each time (compiled per call)',
      value: coldRate,
      unit: 'evals/s',
      detail: { evaluations: cold },
    },
  ] satisfies Figure[]);
};
