/**
 * Preflight no stricter than AWS, on the local emulator with real SDK clients over HTTP: key
 * policies that let the caller use the key only through ECR, or allow ECR's CreateGrant only under
 * the grant's own condition keys, pass the preflight and the creation; policies ECR's request would
 * not pass still block. The IAM simulator's `MissingContextValues` under both `simulateMissingContext`
 * variants.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Finding, PreflightReport } from '../../src/index.js';
import { generateEcrKeyPolicy } from '../../src/index.js';
import type { PolicyDocument, PolicyStatement } from '../../src/policy/types.js';
import { type LocalAws, type PrincipalHandle, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

const errorsOf = (report: PreflightReport): Finding[] => report.findings.filter((f) => f.severity === 'error');

/** ECR, IAM and the grant retirement a deletion needs; no KMS key use at all (the key policy gives that). */
const ECR_ONLY = allow([['ecr:*', 'kms:RetireGrant', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']]);
/** ECR plus the direct reads of the preflight and the grant verification. */
const ECR_AND_READS = allow([['ecr:*', 'kms:RetireGrant', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']]);

/** A key whose policy has the account's IAM delegation and `statements`. */
const keyWith = async (aws: LocalAws, alias: string, statements: readonly PolicyStatement[]): Promise<{ readonly arn: string }> => {
  const kms = kmsFor(aws);
  try {
    const root: PolicyStatement = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'kms:*', Resource: '*' };
    const policy: PolicyDocument = { Version: '2012-10-17', Statement: [root, ...statements] };
    return await createKey(kms, { alias, input: { Policy: JSON.stringify(policy) } });
  } finally {
    kms.destroy();
  }
};

describe('preflight in the context of ECR\'s requests (emulator, default variants)', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws();
  });
  afterAll(async () => {
    await aws.stop();
  });

  const ecr = (): string => `ecr.${aws.region}.amazonaws.com`;
  const createdAndGranted = async (who: PrincipalHandle, name: string, keyArn: string): Promise<void> => {
    const registry = registryFor(aws, who);
    try {
      const created = (await registry.createEncryptedRepository({ repositoryName: name, encryption: { type: 'KMS', key: keyArn } }))._unsafeUnwrap();
      expect(created.encryption).toMatchObject({ type: 'KMS', keyArn });
      expect(aws.inspect.grants(keyArn).filter((g) => !g.retired)).toHaveLength(2);
    } finally {
      registry.destroy();
    }
  };

  it('a key policy from generateEcrKeyPolicy({ allowVerification: false }) (DescribeKey only through ECR): no blocking finding, and create succeeds', async () => {
    const user = aws.principals.createUser('through-ecr-only', { policies: [ECR_ONLY] });
    const policy = generateEcrKeyPolicy({ region: aws.region, account: aws.account, principals: [user.arn], allowVerification: false, enableIamPolicies: true })._unsafeUnwrap();
    const kms = kmsFor(aws);
    const key = await createKey(kms, { input: { Policy: JSON.stringify(policy) } });
    kms.destroy();
    const registry = registryFor(aws, user);
    try {
      const report = (await registry.preflight({ repositoryName: 'ctx/via-ecr', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(errorsOf(report)).toEqual([]);
      expect(report.ok).toBe(true);
      expect(report.facts.keyArn).toBe(key.arn);
      expect(report.findings.filter((f) => f.severity === 'warning').map((f) => f.check)).toEqual(
        expect.arrayContaining(['keyExists', 'keyState', 'keyUsage', 'keySpec']) as unknown,
      );
    } finally {
      registry.destroy();
    }
    await createdAndGranted(user, 'ctx/via-ecr', key.arn);
  });

  it('a key policy that allows CreateGrant only for ECR as grantee and retiring principal passes, and create succeeds', async () => {
    const user = aws.principals.createUser('grantee-condition', { policies: [ECR_AND_READS] });
    const key = await keyWith(aws, 'alias/ctx-grantee', [
      {
        Sid: 'EcrGrantsOnly',
        Effect: 'Allow',
        Principal: { AWS: user.arn },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { StringEquals: { 'kms:GranteePrincipal': ecr(), 'kms:RetiringPrincipal': ecr(), 'kms:ViaService': ecr() } },
      },
    ]);
    const registry = registryFor(aws, user);
    try {
      const report = (await registry.preflight({ repositoryName: 'ctx/grantee', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(errorsOf(report)).toEqual([]);
      expect(report.findings.some((f) => f.check === 'keyPolicy' && f.message.includes('allows kms:CreateGrant to the caller directly'))).toBe(true);
    } finally {
      registry.destroy();
    }
    await createdAndGranted(user, 'ctx/grantee', key.arn);
  });

  it('a key policy whose grantee condition names another service blocks, and create never calls CreateRepository', async () => {
    const user = aws.principals.createUser('wrong-grantee', { policies: [ECR_AND_READS] });
    const key = await keyWith(aws, 'alias/ctx-wrong-grantee', [
      {
        Effect: 'Allow',
        Principal: { AWS: user.arn },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { StringEquals: { 'kms:GranteePrincipal': `ec2.${aws.region}.amazonaws.com` } },
      },
    ]);
    const registry = registryFor(aws, user);
    try {
      const report = (await registry.preflight({ repositoryName: 'ctx/wrong', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      // The key policy also delegates to IAM, which does not allow it either.
      expect(errorsOf(report).map((f) => f.error)).toEqual([
        { kind: 'MissingPermissions', principalArn: user.arn, actions: ['kms:CreateGrant'], source: 'iam-simulation' },
      ]);
      const created = await registry.createEncryptedRepository({ repositoryName: 'ctx/wrong', encryption: { type: 'KMS', key: key.arn } });
      expect(created._unsafeUnwrapErr()).toMatchObject({ kind: 'MissingPermissions', actions: ['kms:CreateGrant'] });
      expect(aws.inspect.ecr?.repositories().map((r) => r.repositoryName)).not.toContain('ctx/wrong');
    } finally {
      registry.destroy();
    }
  });

  it('an explicit Deny on ECR\'s grants for other repository names blocks those and lets the named ones through', async () => {
    const user = aws.principals.createUser('prefix-deny', { policies: [allow([['ecr:*', 'kms:*', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']])] });
    const key = await keyWith(aws, 'alias/ctx-prefix', [
      {
        Sid: 'PlatformOnly',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { StringNotLike: { 'kms:EncryptionContext:aws:ecr:arn': `arn:aws:ecr:${aws.region}:${aws.account}:repository/platform/*` } },
      },
    ]);
    const registry = registryFor(aws, user);
    try {
      const denied = (await registry.preflight({ repositoryName: 'ctx/other', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(errorsOf(denied).map((f) => f.error)).toEqual([
        { kind: 'MissingPermissions', principalArn: user.arn, actions: ['kms:CreateGrant'], source: 'key-policy' },
      ]);
      const named = (await registry.preflight({ repositoryName: 'platform/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(errorsOf(named)).toEqual([]);
    } finally {
      registry.destroy();
    }
    await createdAndGranted(user, 'platform/app', key.arn);
  });
});

/** An identity policy conditioned on `aws:CalledVia`, which the emulator's ECR→KMS calls carry and the preflight does not simulate. */
const calledViaUser = (aws: LocalAws): PrincipalHandle =>
  aws.principals.createUser('called-via', {
    policies: [
      allow([['ecr:*', 'kms:RetireGrant', 'kms:GetKeyPolicy', 'kms:ListGrants', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']]),
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: { 'ForAnyValue:StringEquals': { 'aws:CalledVia': ['ecr.amazonaws.com'] } } },
        ],
      },
    ],
  });

describe.each([
  ['report', true],
  ['none', false],
] as const)('the IAM simulator\'s MissingContextValues (awsVariants.simulateMissingContext: %s)', (variant, reported) => {
  let aws: LocalAws;
  beforeAll(async () => {
    // `awsVariants` is plumbed into startLocalAws by the grants work; the IAM simulator reads it already.
    const options = { regions: ['us-east-1'], awsVariants: { simulateMissingContext: variant } };
    aws = await startLocalAws(options);
  });
  afterAll(async () => {
    await aws.stop();
  });

  it(reported ? 'reports the lacking key, so the preflight only warns and create succeeds' : 'reports nothing, so the preflight cannot tell and blocks', async () => {
    const user = calledViaUser(aws);
    const kms = kmsFor(aws);
    const key = await createKey(kms);
    kms.destroy();
    const registry = registryFor(aws, user);
    try {
      const report = (await registry.preflight({ repositoryName: 'ctx/called-via', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      if (reported) {
        expect(errorsOf(report)).toEqual([]);
        expect(report.findings.some((f) => f.check === 'permissions' && f.severity === 'warning' && f.message.includes('aws:CalledVia'))).toBe(true);
        const created = await registry.createEncryptedRepository({ repositoryName: 'ctx/called-via', encryption: { type: 'KMS', key: key.arn } });
        expect(created._unsafeUnwrap().created).toBe(true);
      } else {
        expect(errorsOf(report).map((f) => f.error)).toEqual([
          { kind: 'MissingPermissions', principalArn: user.arn, actions: ['kms:CreateGrant', 'kms:DescribeKey'], source: 'iam-simulation' },
        ]);
      }
    } finally {
      registry.destroy();
    }
  });
});
