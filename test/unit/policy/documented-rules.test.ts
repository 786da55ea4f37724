/**
 * explainAccess where AWS's documentation is explicit (each case quotes its page), where AWS refuses
 * a policy outright, and where the documentation is silent (the decision then lists the assumption
 * it rests on; docs/aws-behaviour.md, "Policy evaluation", has the same list).
 */
import { describe, expect, it } from 'vitest';
import { explainAccess } from '../../../src/policy/evaluate.js';
import { generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from '../../../src/policy/generate.js';
import type { PolicyStatement } from '../../../src/policy/types.js';
import { policyProblems } from '../../../src/policy/validate.js';
import { ACCOUNT, KEY_ARN, REGION, ROLE_ARN, VIA_ECR, alice, allow, allowFor, deny, doc, repoArn, request, session } from './fixtures.js';

const APP = repoArn('app');

describe('a wildcard principal narrowed with aws:PrincipalArn is not limited by boundaries or session policies', () => {
  // IAM User Guide, "Policy evaluation logic" (reference_policies_evaluation-logic_policy-eval-denyallow.html),
  // IAM role: "Permissions boundaries and session policies do not limit permissions granted using the
  // aws:PrincipalArn condition key with a wildcard(*) in the Principal element, unless the
  // identity-based policies contain an explicit deny." Same sentence on the Principal element page
  // (reference_policies_elements_principal.html#principal-roles).
  const byPrincipalArn: PolicyStatement = {
    Sid: 'RoleByArn',
    Effect: 'Allow',
    Principal: '*',
    Action: 'ecr:PutImage',
    Condition: { ArnEquals: { 'aws:PrincipalArn': ROLE_ARN } },
  };
  const boundary = doc(allow('s3:*'));

  it('a boundary that does not allow the action does not limit it', () => {
    const result = explainAccess(request(session, 'ecr:PutImage', APP), { repositoryPolicy: doc(byPrincipalArn), permissionsBoundary: boundary });
    expect(result.decision).toBe('allowed');
    expect(result.statements.map((s) => s.sid)).toEqual(['RoleByArn']);
    expect(result.assumptions).toEqual([]);
  });

  it('a session policy that does not allow the action does not limit it', () => {
    const result = explainAccess(request(session, 'ecr:PutImage', APP), { repositoryPolicy: doc(byPrincipalArn), sessionPolicies: [doc(allow('s3:*'))] });
    expect(result.decision).toBe('allowed');
  });

  it('works with StringLike on the role ARN too (KMS key policy as the authority)', () => {
    const keyStatement: PolicyStatement = { Sid: 'K', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringLike: { 'aws:PrincipalArn': `arn:aws:iam::${ACCOUNT}:role/ci/*` } } };
    const result = explainAccess(request(session, 'kms:CreateGrant', KEY_ARN), { keyPolicy: doc(keyStatement), permissionsBoundary: boundary });
    expect(result.decision).toBe('allowed');
  });

  it('"unless the identity-based policies contain an explicit deny"', () => {
    const result = explainAccess(request(session, 'ecr:PutImage', APP), {
      repositoryPolicy: doc(byPrincipalArn),
      identityPolicies: [doc(deny('ecr:PutImage'))],
      permissionsBoundary: boundary,
    });
    expect(result.decision).toBe('explicitDeny');
  });

  it('a grant naming the role ARN in Principal stays limited by the boundary (documented: "IAM role" case)', () => {
    const result = explainAccess(request(session, 'ecr:PutImage', APP), { repositoryPolicy: doc(allowFor(ROLE_ARN, 'ecr:PutImage')), permissionsBoundary: boundary });
    expect(result.decision).toBe('implicitDeny');
    expect(result.assumptions).toEqual([]);
  });
});

describe('a wildcard principal narrowed otherwise (kms:CallerAccount): undocumented, decided strictly and said so', () => {
  // The shape of AWS managed key policies such as aws/ecr: Principal "*", kms:CallerAccount + kms:ViaService.
  const managedKeyShape: PolicyStatement = {
    Sid: 'AllowAccessThroughEcr',
    Effect: 'Allow',
    Principal: { AWS: '*' },
    Action: ['kms:CreateGrant', 'kms:DescribeKey'],
    Resource: '*',
    Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT, 'kms:ViaService': VIA_ECR } },
  };

  it('a session with a boundary that does not allow it: implicitDeny, with the assumption listed', () => {
    const result = explainAccess(request(session, 'kms:CreateGrant', KEY_ARN, { 'kms:ViaService': VIA_ECR }), {
      keyPolicy: doc(managedKeyShape),
      permissionsBoundary: doc(allow('ecr:*')),
    });
    expect(result.decision).toBe('implicitDeny');
    expect(result.assumptions).toEqual([expect.objectContaining({ id: 'wildcard-principal-limited' })]);
    expect(result.assumptions[0]?.detail).toContain('AllowAccessThroughEcr');
  });

  it('with nothing that could limit it, no assumption is needed', () => {
    const result = explainAccess(request(session, 'kms:CreateGrant', KEY_ARN, { 'kms:ViaService': VIA_ECR }), { keyPolicy: doc(managedKeyShape) });
    expect(result.decision).toBe('allowed');
    expect(result.assumptions).toEqual([]);
  });
});

describe('policies AWS refuses are refused, with the reason', () => {
  // IAM JSON policy grammar (reference_policies_grammar.html): each block is ONE of its two forms,
  // `("Principal" | "NotPrincipal")`, `("Action" | "NotAction")`, `("Resource" | "NotResource")`,
  // and `<effect_block> = "Effect" : ("Allow" | "Deny")`.
  const base = { Effect: 'Allow', Principal: '*', Action: 'ecr:PutImage', Resource: '*' } as const;
  it.each([
    ['Resource and NotResource', { ...base, NotResource: APP }, 'both Resource and NotResource'],
    ['Action and NotAction', { ...base, NotAction: 'ecr:DeleteRepository' }, 'both Action and NotAction'],
    ['Principal and NotPrincipal', { ...base, NotPrincipal: { AWS: alice.arn } }, 'both Principal and NotPrincipal'],
    ['an unknown Effect', { ...base, Effect: 'Permit' }, 'has Effect "Permit": it must be "Allow" or "Deny"'],
    ['no action at all', { Effect: 'Allow', Principal: '*', Resource: '*' }, 'neither Action nor NotAction'],
  ])('%s', (_name, statement, reason) => {
    const policy = doc(statement as unknown as PolicyStatement);
    expect(policyProblems(policy)).toEqual([expect.stringContaining(reason)]);
    const result = explainAccess(request(alice, 'ecr:PutImage', APP), { repositoryPolicy: policy });
    expect(result.decision).toBe('invalidPolicy');
    expect(result.reason).toContain(`the repository policy: statement #0 ${reason.startsWith('has') ? '' : 'has '}`.trim());
    expect(result.reason).toContain(reason);
  });

  it('every policy the generators make is valid', () => {
    const generated = [
      generateRepositoryAdminPolicy({ region: REGION, account: ACCOUNT, repositories: { prefix: 'team/' }, keyArns: [KEY_ARN], operations: ['create', 'delete', 'migrate'] }),
      generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, principals: [ROLE_ARN] }),
      generateEndpointPolicy({ service: 'ecr.api', region: REGION, registryAccounts: [ACCOUNT] }),
    ];
    for (const result of generated) expect(policyProblems(result._unsafeUnwrap())).toEqual([]);
  });
});

describe('where the documentation is silent, the decision says what it assumed', () => {
  it('a multivalued key under plain StringEquals (no ForAnyValue/ForAllValues)', () => {
    const keyPolicy = doc({ Sid: 'Ops', Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] } } });
    const plain = explainAccess(request(alice, 'kms:CreateGrant', KEY_ARN, { 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] }), { keyPolicy });
    expect(plain.assumptions).toEqual([expect.objectContaining({ id: 'multivalued-key-without-set-operator' })]);

    const withSetOperator = doc({ Sid: 'Ops', Effect: 'Allow', Principal: { AWS: alice.arn }, Action: 'kms:CreateGrant', Resource: '*', Condition: { 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] } } });
    const documented = explainAccess(request(alice, 'kms:CreateGrant', KEY_ARN, { 'kms:GrantOperations': ['Decrypt', 'GenerateDataKey'] }), { keyPolicy: withSetOperator });
    expect(documented.decision).toBe('allowed');
    expect(documented.assumptions).toEqual([]);
  });

  it('a resource ARN that matches only ignoring case (the region segment)', () => {
    const upper = `arn:aws:ecr:EU-WEST-1:${ACCOUNT}:repository/app`;
    const result = explainAccess(request(alice, 'ecr:PutImage', upper), { identityPolicies: [doc(allow('ecr:PutImage', APP, { Sid: 'App' }))] });
    expect(result.decision).toBe('implicitDeny');
    expect(result.assumptions).toEqual([expect.objectContaining({ id: 'arn-case-sensitive' })]);
  });

  it('a decision on documented rules only lists none', () => {
    const result = explainAccess(request(alice, 'ecr:PutImage', APP), { identityPolicies: [doc(allow('ecr:PutImage', APP))] });
    expect(result).toMatchObject({ decision: 'allowed', assumptions: [] });
  });
});
