import { describe, expect, it } from 'vitest';
import type { AccessRequest, PolicyDocument, PolicySet, PolicyStatement } from '../../../src/policy/types.js';
import { canonicalRequest, signCanonical } from '../../../src/testing/emulator/sigv4.js';
import { explainAccess } from '../../../src/policy/index.js';

describe('SigV4 canonical request and signature', () => {
  it('matches the AWS SigV4 test suite (get-vanilla)', () => {
    const request = { method: 'GET', url: '/', headers: { host: 'example.amazonaws.com', 'x-amz-date': '20150830T123600Z' }, body: Buffer.alloc(0) };
    const canonical = canonicalRequest(request, ['host', 'x-amz-date']);
    expect(canonical).toBe('GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(signCanonical('wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', '20150830T123600Z', { date: '20150830', region: 'us-east-1', service: 'service' }, canonical)).toBe(
      '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    );
  });

  it('sorts the query and trims header values', () => {
    const request = { method: 'GET', url: '/?b=2&a=1%202', headers: { host: 'h', 'x-amz-date': 'd', 'x-extra': '  a   b  ' }, body: Buffer.alloc(0) };
    expect(canonicalRequest(request, ['host', 'x-amz-date', 'x-extra']).split('\n').slice(2, 5)).toEqual(['a=1%202&b=2', 'host:h', 'x-amz-date:d']);
    expect(canonicalRequest(request, ['x-extra']).split('\n')[3]).toBe('x-extra:a b');
  });
});

// The rules the emulator's authorization relies on, as the project's one evaluator answers them.
describe('explainAccess, as the emulator uses it', () => {
  const user = { arn: 'arn:aws:iam::111122223333:user/dev', account: '111122223333' };
  const session = { arn: 'arn:aws:sts::111122223333:assumed-role/ops/s', account: '111122223333', roleArn: 'arn:aws:iam::111122223333:role/team/ops' };
  const key = 'arn:aws:kms:us-east-1:111122223333:key/k';
  const allow = (action: string | string[], extra: Partial<PolicyStatement> = {}): PolicyDocument => ({
    Statement: [{ Effect: 'Allow', Action: action, Resource: '*', ...extra }],
  });
  const rootKeyPolicy: PolicyDocument = { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] };
  const decide = (request: Partial<AccessRequest> & Pick<AccessRequest, 'action'>, policies: PolicySet): string =>
    explainAccess({ principal: user, resource: key, ...request }, policies).decision;

  it.each<[string, Partial<AccessRequest> & Pick<AccessRequest, 'action'>, PolicySet, string]>([
    ['identity allow with wildcard action', { action: 'kms:CreateGrant' }, { identityPolicies: [allow('kms:Create*')] }, 'allowed'],
    ['no statement', { action: 'kms:CreateGrant' }, { identityPolicies: [] }, 'implicitDeny'],
    ['explicit deny wins', { action: 'kms:CreateGrant' }, { identityPolicies: [allow('kms:*'), { Statement: [{ Effect: 'Deny', Action: 'kms:CreateGrant', Resource: key }] }] }, 'explicitDeny'],
    ['NotAction', { action: 'kms:Decrypt' }, { identityPolicies: [{ Statement: [{ Effect: 'Allow', NotAction: 'kms:Decrypt', Resource: '*' }] }] }, 'implicitDeny'],
    ['boundary must allow too', { action: 'kms:CreateGrant' }, { identityPolicies: [allow('kms:*')], permissionsBoundary: allow('ecr:*') }, 'implicitDeny'],
    ['key policy delegates to IAM through root', { action: 'kms:CreateGrant' }, { identityPolicies: [allow('kms:CreateGrant')], keyPolicy: rootKeyPolicy }, 'allowed'],
    ['key policy root alone does not allow', { action: 'kms:CreateGrant' }, { identityPolicies: [], keyPolicy: rootKeyPolicy }, 'implicitDeny'],
    ['IAM alone does not allow without the key policy', { action: 'kms:CreateGrant' }, { identityPolicies: [allow('kms:*')], keyPolicy: { Statement: [] } }, 'implicitDeny'],
    [
      'key policy naming the role allows its session',
      { action: 'kms:Decrypt', principal: session },
      { identityPolicies: [], keyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: session.roleArn }, Action: 'kms:Decrypt', Resource: '*' }] } },
      'allowed',
    ],
    [
      'kms:RetireGrant is not effective in a key policy',
      { action: 'kms:RetireGrant' },
      { identityPolicies: [], keyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'kms:RetireGrant', Resource: '*' }] } },
      'implicitDeny',
    ],
    ['kms:RetireGrant from IAM alone', { action: 'kms:RetireGrant' }, { identityPolicies: [allow('kms:RetireGrant')], keyPolicy: { Statement: [] } }, 'allowed'],
    [
      'StringEquals on kms:ViaService',
      { action: 'kms:CreateGrant', context: { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' } },
      { identityPolicies: [allow('kms:CreateGrant', { Condition: { StringEquals: { 'kms:viaservice': 'ecr.us-east-1.amazonaws.com' } } })] },
      'allowed',
    ],
    [
      'Bool on kms:GrantIsForAWSResource absent',
      { action: 'kms:CreateGrant' },
      { identityPolicies: [allow('kms:CreateGrant', { Condition: { Bool: { 'kms:GrantIsForAWSResource': true } } })] },
      'implicitDeny',
    ],
    [
      'ForAllValues:StringEquals on kms:GrantOperations',
      { action: 'kms:CreateGrant', context: { 'kms:GrantOperations': ['Decrypt', 'Encrypt'] } },
      { identityPolicies: [allow('kms:CreateGrant', { Condition: { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt'] } } })] },
      'implicitDeny',
    ],
    [
      'aws:PrincipalOrgID from the principal',
      { action: 'kms:Decrypt', principal: { ...user, orgId: 'o-123' } },
      { identityPolicies: [allow('kms:Decrypt', { Condition: { StringEquals: { 'aws:PrincipalOrgID': 'o-123' } } })] },
      'allowed',
    ],
    [
      'cross-account needs the key policy and IAM',
      { action: 'kms:Decrypt', principal: { arn: 'arn:aws:iam::444455556666:user/x', account: '444455556666' }, resourceAccount: '111122223333' },
      { identityPolicies: [], keyPolicy: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:user/x' }, Action: 'kms:Decrypt', Resource: '*' }] } },
      'implicitDeny',
    ],
  ])('%s', (_name, request, policies, expected) => {
    expect(decide(request, policies)).toBe(expected);
  });
});
