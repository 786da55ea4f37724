import { describe, expect, it } from 'vitest';
import type { AccessExplanation, AccessRequest, PolicyDocument, PolicySet } from '../../../src/policy/types.js';
import { explainAccess } from '../../../src/policy/index.js';
import { PolicyAuthorizer, type EndpointView } from '../../../src/testing/emulator/authorizer.js';
import type { CallContext } from '../../../src/testing/emulator/core.js';
import { IamStore } from '../../../src/testing/emulator/iam.js';
import { ACCOUNT, KEY_ARN as KEY, repoArn } from '../../fixtures/index.js';

const REPOSITORY = repoArn('app');
const ONLY_ECR: PolicyDocument = { Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:*', Resource: '*' }] };

/** An authorizer over a fresh IAM store, recording what it handed the evaluator. */
const setUp = (endpoints: Readonly<Record<string, EndpointView>>) => {
  const seen: { request: AccessRequest; policies: PolicySet }[] = [];
  const evaluate = (request: AccessRequest, policies: PolicySet): AccessExplanation => {
    seen.push({ request, policies });
    return explainAccess(request, policies);
  };
  const iam = new IamStore([ACCOUNT], { now: () => new Date('2026-01-01T00:00:00Z') });
  const authorizer = new PolicyAuthorizer(iam, evaluate, (id) => endpoints[id]);
  const admin = iam.resolveAccessKey(iam.defaultPrincipal().credentials.accessKeyId);
  if (admin === undefined) throw new Error('no default principal');
  const ctx = (extra: Partial<CallContext> = {}): CallContext => ({ region: 'eu-west-1', principal: admin.principal, requestId: 'r', ...extra });
  return { authorizer, seen, ctx };
};

describe('PolicyAuthorizer with VPC endpoints', () => {
  it('adds the endpoint policy, aws:SourceVpce and aws:SourceVpc to a call that came through an endpoint', () => {
    // Prepare
    const { authorizer, seen, ctx } = setUp({ 'vpce-1': { policy: ONLY_ECR, vpcId: 'vpc-1' } });

    // Act
    const ecr = authorizer.isAllowed(ctx({ sourceVpce: 'vpce-1' }), 'ecr:DescribeRepositories', REPOSITORY);
    const kms = authorizer.explain(ctx({ sourceVpce: 'vpce-1' }), 'kms:DescribeKey', KEY);

    // Assess
    expect(ecr).toBe(true);
    expect(kms.decision).toBe('implicitDeny');
    expect(kms.reason).toMatch(/VPC endpoint policy does not allow/);
    expect(seen[0]?.policies.endpointPolicy).toBe(ONLY_ECR);
    expect(seen[0]?.request.context).toMatchObject({ 'aws:SourceVpce': 'vpce-1', 'aws:SourceVpc': 'vpc-1' });
  });

  it('applies no endpoint policy to a call made directly', () => {
    // Prepare
    const { authorizer, seen, ctx } = setUp({ 'vpce-1': { policy: ONLY_ECR, vpcId: 'vpc-1' } });

    // Act
    const allowed = authorizer.isAllowed(ctx(), 'kms:DescribeKey', KEY);

    // Assess
    expect(allowed).toBe(true);
    expect(seen[0]?.policies.endpointPolicy).toBeUndefined();
    expect(seen[0]?.request.context).not.toHaveProperty('aws:SourceVpce');
  });

  it('applies neither the policy nor aws:SourceVpce to a call a service makes on the caller\'s behalf', () => {
    // Prepare: ECR calling KMS while serving a call that came through the ECR endpoint.
    const { authorizer, seen, ctx } = setUp({ 'vpce-1': { policy: ONLY_ECR, vpcId: 'vpc-1' } });

    // Act
    const allowed = authorizer.isAllowed(ctx({ sourceVpce: 'vpce-1', viaService: 'ecr.eu-west-1.amazonaws.com' }), 'kms:CreateGrant', KEY);

    // Assess
    expect(allowed).toBe(true);
    expect(seen[0]?.policies.endpointPolicy).toBeUndefined();
    expect(seen[0]?.request.context).not.toHaveProperty('aws:SourceVpce');
    expect(seen[0]?.request.context).toMatchObject({ 'kms:ViaService': 'ecr.eu-west-1.amazonaws.com' });
  });

  it('treats an endpoint without a policy as full access, still with aws:SourceVpce', () => {
    // Prepare
    const { authorizer, seen, ctx } = setUp({ 'vpce-open': { policy: undefined, vpcId: undefined } });

    // Act
    const allowed = authorizer.isAllowed(ctx({ sourceVpce: 'vpce-open' }), 'kms:DescribeKey', KEY);

    // Assess
    expect(allowed).toBe(true);
    expect(seen[0]?.policies.endpointPolicy).toBeUndefined();
    expect(seen[0]?.request.context).toMatchObject({ 'aws:SourceVpce': 'vpce-open' });
    expect(seen[0]?.request.context).not.toHaveProperty('aws:SourceVpc');
  });
});
