/**
 * Preflight no stricter than AWS: IAM's `MissingContextValues`, ECR's CreateGrant context in the
 * local key-policy evaluation, and a DescribeKey the caller may make only through ECR. Every
 * failure is a real SDK exception instance.
 */
import { type EvaluationResult, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSServiceException, ListGrantsCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Finding, PreflightInput, PreflightReport } from '../../src/index.js';
import { createEncryptedRepository } from '../../src/operations/create-repository.js';
import { preflight } from '../../src/preflight/index.js';
import { generateEcrKeyPolicy } from '../../src/policy/generate.js';
import { ACCOUNT, fakeContext, installFakes, KEY_ARN, KEY_ID, REGION, repoArn, type Stubs, USER_ARN } from '../fixtures/create-stubs.js';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let state: Stubs['state'];

const ECR_PRINCIPAL = `ecr.${REGION}.amazonaws.com`;
const base: PreflightInput = { repositoryName: 'team/app', encryption: { type: 'KMS', key: KEY_ARN } };

const run = async (input: Partial<PreflightInput> = {}): Promise<PreflightReport> => (await preflight(fakeContext(), { ...base, ...input }))._unsafeUnwrap();
const errorsOf = (report: PreflightReport): Finding[] => report.findings.filter((f) => f.severity === 'error');
const warningsOf = (report: PreflightReport, check: Finding['check']): Finding[] =>
  report.findings.filter((f) => f.check === check && f.severity === 'warning');

const denied = (operation: string): KMSServiceException =>
  new KMSServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: `User: ${USER_ARN} is not authorized to perform: kms:${operation} on resource: ${KEY_ARN} because no resource-based policy allows the kms:${operation} action`,
  });

/** IAM's answer for one action: a decision, and the keys it lacked (at the top or per resource). */
const simulation = (answers: Readonly<Record<string, { decision: string; missing?: string[]; perResource?: boolean }>>): void => {
  iam.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
    EvaluationResults: (input.ActionNames ?? []).map((action): EvaluationResult => {
      const answer = answers[action] ?? { decision: 'allowed' };
      const resource = input.ResourceArns?.[0];
      return {
        EvalActionName: action,
        EvalResourceName: resource,
        EvalDecision: answer.decision as EvaluationResult['EvalDecision'],
        ...(answer.perResource
          ? {
              ResourceSpecificResults: [
                { EvalResourceName: resource, EvalResourceDecision: answer.decision as EvaluationResult['EvalDecision'], MissingContextValues: answer.missing ?? [] },
              ],
            }
          : { MissingContextValues: answer.missing ?? [] }),
      };
    }),
    IsTruncated: false,
  }));
};

const keyPolicy = (...statements: object[]): void => {
  state.keyPolicy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
};
const ADMIN = { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: ['kms:Describe*', 'kms:Get*', 'kms:List*'], Resource: '*' };

describe('preflight: IAM MissingContextValues', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, state } = installFakes());
  });

  it('an implicit deny with missing context keys is unknown: a warning naming the keys, not a blocking error', async () => {
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny', missing: ['kms:GrantConstraintType'] } });
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    const warning = warningsOf(report, 'permissions').find((f) => f.message.includes('kms:CreateGrant'));
    expect(warning?.message).toContain('kms:GrantConstraintType');
    expect(warning?.message).toContain('MissingContextValues');
    expect(warning?.error).toBeUndefined();
  });

  it('reads the missing keys from the per-resource results too (IAM lists them there when resources are given)', async () => {
    simulation({ 'ecr:CreateRepository': { decision: 'implicitDeny', missing: ['aws:SourceIp'], perResource: true } });
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(warningsOf(report, 'permissions').some((f) => f.message.includes('aws:SourceIp'))).toBe(true);
  });

  it('still blocks an implicit deny with no missing keys', async () => {
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' } });
    expect(errorsOf(await run()).map((f) => f.error)).toEqual([
      { kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:CreateGrant'], source: 'iam-simulation' },
    ]);
  });

  it('still blocks an explicit deny, missing keys or not', async () => {
    simulation({ 'kms:CreateGrant': { decision: 'explicitDeny', missing: ['kms:GranteePrincipal'] } });
    expect(errorsOf(await run()).map((f) => f.error?.kind)).toEqual(['MissingPermissions']);
  });

  it('still blocks an unknown IAM answer when the key policy itself does not allow the caller', async () => {
    keyPolicy(ADMIN, { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/someone-else` }, Action: 'kms:CreateGrant', Resource: '*' });
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny', missing: ['kms:GranteePrincipal'] } });
    expect(errorsOf(await run()).map((f) => f.error)).toEqual([
      { kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:CreateGrant'], source: 'key-policy' },
    ]);
  });
});

describe('preflight: the key policy in the context of ECR\'s CreateGrant', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, state } = installFakes());
  });

  const grantStatement = (condition: object): object => ({
    Sid: 'EcrGrants',
    Effect: 'Allow',
    Principal: { AWS: USER_ARN },
    Action: ['kms:CreateGrant'],
    Resource: '*',
    Condition: condition,
  });
  const describeViaEcr = { Effect: 'Allow', Principal: { AWS: USER_ARN }, Action: 'kms:DescribeKey', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': ECR_PRINCIPAL } } };

  it('accepts a key policy that allows CreateGrant only for ECR\'s grantee and retiring principal', async () => {
    keyPolicy(ADMIN, describeViaEcr, grantStatement({ StringEquals: { 'kms:GranteePrincipal': ECR_PRINCIPAL, 'kms:RetiringPrincipal': ECR_PRINCIPAL } }));
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' } });
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(report.findings.some((f) => f.check === 'keyPolicy' && f.message.includes('allows kms:CreateGrant'))).toBe(true);
  });

  it('accepts one conditioned on the grant constraint and the repository ARN in the encryption context', async () => {
    keyPolicy(
      ADMIN,
      grantStatement({
        StringEquals: { 'kms:GrantConstraintType': 'EncryptionContextSubset' },
        ArnLike: { 'kms:EncryptionContext:aws:ecr:arn': `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/team/*` },
        'ForAllValues:StringEquals': { 'kms:EncryptionContextKeys': ['aws:ecr:arn'] },
      }),
    );
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' } });
    expect(errorsOf(await run())).toEqual([]);
  });

  it('accepts one conditioned on ECR\'s documented grant operations, and warns that the second grant is undocumented', async () => {
    keyPolicy(
      ADMIN,
      grantStatement({ 'ForAnyValue:StringEquals': { 'kms:GrantOperations': ['GenerateDataKey'] }, 'ForAllValues:StringEquals': { 'kms:GrantOperations': ['GenerateDataKey', 'Decrypt'] } }),
    );
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' } });
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(warningsOf(report, 'keyPolicy').some((f) => f.message.includes('second grant is undocumented'))).toBe(true);
  });

  it('blocks a key policy whose grantee condition names another service', async () => {
    keyPolicy(ADMIN, grantStatement({ StringEquals: { 'kms:GranteePrincipal': `ec2.${REGION}.amazonaws.com` } }));
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' } });
    expect(errorsOf(await run()).map((f) => f.error)).toEqual([
      { kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:CreateGrant'], source: 'key-policy' },
    ]);
  });

  it('blocks a key policy that denies grants for another repository prefix explicitly', async () => {
    keyPolicy(
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
      {
        Sid: 'OnlyPlatformRepositories',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { StringNotLike: { 'kms:EncryptionContext:aws:ecr:arn': `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/platform/*` } },
      },
    );
    const report = await run();
    expect(errorsOf(report).map((f) => f.error)).toEqual([
      { kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:CreateGrant'], source: 'key-policy' },
    ]);
    expect(errorsOf(report)[0]?.message).toContain('OnlyPlatformRepositories');
    // …and lets the repositories it names through.
    expect(errorsOf(await run({ repositoryName: 'platform/app' }))).toEqual([]);
  });

  it('does not give DescribeKey the grant keys: a DescribeKey allowed only with kms:GrantIsForAWSResource is not allowed', async () => {
    // KMS sets kms:GrantIsForAWSResource for CreateGrant, ListGrants and RevokeGrant only.
    keyPolicy(
      { Effect: 'Allow', Principal: { AWS: USER_ARN }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } },
    );
    simulation({ 'kms:CreateGrant': { decision: 'implicitDeny' }, 'kms:DescribeKey': { decision: 'implicitDeny' } });
    expect(errorsOf(await run()).map((f) => f.error)).toEqual([
      { kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:DescribeKey'], source: 'key-policy' },
    ]);
  });
});

describe('preflight: a key the caller may describe only through ECR', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, state } = installFakes());
    kms.on(DescribeKeyCommand).rejects(denied('DescribeKey'));
  });

  it('goes on with a key ARN: no blocking finding, the ARN as the key, state/usage/spec as unverified warnings', async () => {
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.facts.keyArn).toBe(KEY_ARN);
    expect(report.facts.keyManager).toBeUndefined();
    for (const check of ['keyExists', 'keyState', 'keyUsage', 'keySpec'] as const) expect(warningsOf(report, check)).toHaveLength(1);
    expect(warningsOf(report, 'keyState')[0]?.message).toContain('ECR checks it');
  });

  it('resolves a key id in the caller\'s account and the region', async () => {
    const report = await run({ encryption: { type: 'KMS', key: KEY_ID } });
    expect(errorsOf(report)).toEqual([]);
    expect(report.facts.keyArn).toBe(`arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`);
  });

  it('blocks an alias, honestly: it cannot be resolved to the ARN without DescribeKey', async () => {
    const report = await run({ encryption: { type: 'KMS', key: 'alias/app' } });
    const [error] = errorsOf(report);
    expect(error?.check).toBe('keyExists');
    expect(error?.error).toMatchObject({ kind: 'AccessDenied', service: 'kms', operation: 'DescribeKey' });
    expect(error?.message).toContain('give the key ARN');
  });

  it('a key policy from generateEcrKeyPolicy({ allowVerification: false }) passes the preflight, and create goes ahead', async () => {
    const policy = generateEcrKeyPolicy({ region: REGION, account: ACCOUNT, principals: [USER_ARN], allowVerification: false })._unsafeUnwrap();
    state.keyPolicy = JSON.stringify(policy);
    // Without allowVerification, the caller may not read the policy or the grants directly either.
    kms.on(GetKeyPolicyCommand).rejects(denied('GetKeyPolicy'));
    kms.on(ListGrantsCommand).rejects(denied('ListGrants'));
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    const created = await createEncryptedRepository(fakeContext(), base);
    expect(created.isOk()).toBe(true);
    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, { encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KEY_ARN } });
    expect(created._unsafeUnwrap().repository.arn).toBe(repoArn('team/app'));
  });

  it('still blocks a key ARN of another region before any call', async () => {
    const report = await run({ encryption: { type: 'KMS', key: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}` } });
    expect(errorsOf(report).map((f) => f.error?.kind)).toEqual(['KeyRegionMismatch']);
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });
});
