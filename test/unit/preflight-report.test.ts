/**
 * The preflight report as a union on `ok`: a ready report carries every fact a creation needs, a
 * blocked one its blocking findings; and the preflight of a replacement (a migration's target).
 * Per-test aws-sdk-client-mock stubs, rejecting with real SDK exception instances.
 */
import { DescribeRepositoriesCommand, ECRServiceException, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { type SimulatePrincipalPolicyCommandInput, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSServiceException, ListGrantsCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { beforeEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { EncryptionDescription, PreflightInput, PreflightReport } from '../../src/index.js';
import { preflight, preflightReplacement } from '../../src/preflight/index.js';
import {
  ACCOUNT,
  DEFAULT_KEY_POLICY,
  enabledKey,
  fakeContext,
  installFakes,
  KEY_ARN,
  OTHER_KEY_ARN,
  REGION,
  repoArn,
  type Stubs,
  USER_ARN,
} from '../fixtures/create-stubs.js';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let sts: Stubs['sts'];

const base: PreflightInput = { repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } };

/** A usable key, a user allowed everything, no repository. */
const happyPath = (): void => {
  ({ ecr, kms, iam, sts } = installFakes());
  for (const client of [ecr, kms, iam, sts]) client.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: USER_ARN, UserId: 'AIDAEXAMPLE' });
  kms.on(DescribeKeyCommand).resolves({ KeyMetadata: enabledKey() });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(GetKeyPolicyCommand).resolves({ Policy: DEFAULT_KEY_POLICY });
  iam.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) =>
    Promise.resolve({
      EvaluationResults: (input.ActionNames ?? []).map((action) => ({ EvalActionName: action, EvalResourceName: input.ResourceArns?.[0], EvalDecision: 'allowed' })),
      IsTruncated: false,
    }),
  );
  ecr.on(DescribeRepositoriesCommand).rejects(new RepositoryNotFoundException({ $metadata: {}, message: 'not found' }));
};

const existingWith = (keyArn: string): void => {
  ecr.on(DescribeRepositoriesCommand).resolves({
    repositories: [
      {
        repositoryName: 'team/app',
        repositoryArn: repoArn('team/app'),
        registryId: ACCOUNT,
        repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/app`,
        createdAt: new Date('2026-01-01T00:00:00Z'),
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn },
      },
    ],
  });
};

const run = async (input: Partial<PreflightInput> = {}): Promise<PreflightReport> => (await preflight(fakeContext(), { ...base, ...input }))._unsafeUnwrap();

describe('PreflightReport: a union on ok', () => {
  beforeEach(happyPath);

  it('a ready report carries every fact a creation needs, the target encryption with the canonical key ARN', async () => {
    const report = await run();
    if (!report.ok) throw new Error(`expected a ready report, got ${JSON.stringify(report.blocking)}`);
    // Compile-time: no `!`, no `?? ''` at the call site.
    expectTypeOf(report.facts.account).toEqualTypeOf<string>();
    expectTypeOf(report.facts.callerArn).toEqualTypeOf<string>();
    expectTypeOf(report.facts.region).toEqualTypeOf<string>();
    expectTypeOf(report.facts.repositoryArn).toEqualTypeOf<string>();
    expectTypeOf(report.facts.encryption).toEqualTypeOf<EncryptionDescription>();
    expect(report.facts).toMatchObject({
      region: REGION,
      account: ACCOUNT,
      callerArn: USER_ARN,
      repositoryArn: repoArn('team/app'),
      encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false },
    });
    expect('blocking' in report).toBe(false);
  });

  it('for AES256 the target is AES256, with no key', async () => {
    const report = await run({ encryption: 'AES256' });
    expect(report.ok).toBe(true);
    expect(report.facts.encryption).toEqual({ type: 'AES256' });
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });

  it('a blocked report lists every error finding, in order, each with its typed error; the facts it could resolve stay', async () => {
    kms.on(DescribeKeyCommand).rejects(new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'slow down' }));
    const report = await run({ tags: [{ Key: 'aws:reserved', Value: 'x' }] });
    if (report.ok) throw new Error('expected a blocked report');
    expectTypeOf(report.blocking[0].error.kind).toBeString();
    expect(report.blocking).toEqual(report.findings.filter((f) => f.severity === 'error'));
    expect(report.blocking.map((f) => [f.check, f.error.kind])).toEqual([
      ['tags', 'InvalidInput'],
      ['keyExists', 'Throttled'],
    ]);
    expect(report.facts).toMatchObject({ region: REGION, account: ACCOUNT, callerArn: USER_ARN });
    expect(report.facts.encryption).toBeUndefined();
  });

  it('a repository of another encryption blocks a creation with EncryptionMismatch', async () => {
    existingWith(OTHER_KEY_ARN);
    const report = await run();
    expect(report.ok).toBe(false);
    expect(!report.ok && report.blocking[0].error).toMatchObject({ kind: 'EncryptionMismatch', existing: { keyArn: OTHER_KEY_ARN } });
  });
});

describe('preflightReplacement: the target of a migration', () => {
  beforeEach(happyPath);

  const replacement = async (): Promise<PreflightReport> => (await preflightReplacement(fakeContext(), base))._unsafeUnwrap();

  it('does not count the repository having another encryption against it: ready, with the target resolved', async () => {
    existingWith(OTHER_KEY_ARN);
    const report = await replacement();
    expect(report.findings.filter((f) => f.check === 'repository')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.facts).toMatchObject({
      encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false },
      existingRepository: { encryption: { type: 'KMS', keyArn: OTHER_KEY_ARN } },
    });
  });

  it('leaves out the note that the repository has the same encryption (the migration says nothing to do itself)', async () => {
    existingWith(KEY_ARN);
    const report = await replacement();
    expect(report.ok).toBe(true);
    expect(report.findings.filter((f) => f.check === 'repository')).toEqual([]);
  });

  it('still blocks on what stops a creation of the target, e.g. a repository that cannot be read', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
    const report = await replacement();
    if (report.ok) throw new Error('expected a blocked report');
    expect(report.blocking.map((f) => [f.check, f.error.kind])).toEqual([['repository', 'AccessDenied']]);
  });
});
