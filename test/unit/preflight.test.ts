import { DescribeRepositoriesCommand, ECRServiceException } from '@aws-sdk/client-ecr';
import {
  type ContextEntry,
  GetRoleCommand,
  IAMServiceException,
  InvalidInputException,
  NoSuchEntityException,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyPolicyCommand, InvalidArnException, KMSServiceException, ListGrantsCommand } from '@aws-sdk/client-kms';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Finding, PreflightInput, PreflightReport } from '../../src/index.js';
import { EncryptedRegistry } from '../../src/index.js';
import { preflight } from '../../src/preflight/index.js';
import { ACCOUNT, ecrGrant, enabledKey, fakeContext, fakeRegistry, installFakes, KEY_ARN, KEY_ID, MANAGED_KEY_ARN, NOW, OTHER_KEY_ARN, REGION, repoArn, type Stubs, USER_ARN } from '../fixtures/create-stubs.js';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let sts: Stubs['sts'];
let state: Stubs['state'];

/** `expect.stringContaining`, typed. */
const containing = (text: string): string => expect.stringContaining(text) as string;

const base: PreflightInput = { repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } };

const run = async (input: Partial<PreflightInput> = {}, ctx = fakeContext()): Promise<PreflightReport> =>
  (await preflight(ctx, { ...base, ...input }))._unsafeUnwrap();

const errorsOf = (report: PreflightReport): Finding[] => report.findings.filter((f) => f.severity === 'error');
const kindsOf = (report: PreflightReport): string[] => errorsOf(report).map((f) => f.error?.kind ?? '?');
const find = (report: PreflightReport, check: Finding['check'], severity?: Finding['severity']): Finding | undefined =>
  report.findings.find((f) => f.check === check && (severity === undefined || f.severity === severity));

describe('preflight: input', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  it('passes a valid request and resolves the facts', async () => {
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.facts).toMatchObject({
      region: REGION,
      account: ACCOUNT,
      callerArn: USER_ARN,
      keyArn: KEY_ARN,
      keyManager: 'CUSTOMER',
      grantCount: 0,
      ecrGrantCount: 0,
      repositoryArn: repoArn('team/app'),
    });
  });

  it('reports a malformed repository name as InvalidRepositoryName', async () => {
    const report = await run({ repositoryName: 'Team/App' });
    expect(report.ok).toBe(false);
    expect(find(report, 'repositoryName')?.error).toMatchObject({ kind: 'InvalidRepositoryName', repositoryName: 'Team/App' });
  });

  it('reports a malformed key reference as InvalidEncryption, and does not describe it', async () => {
    const report = await run({ encryption: { type: 'KMS', key: 'not-a-key' } });
    expect(find(report, 'encryption')?.error).toMatchObject({ kind: 'InvalidEncryption', key: 'not-a-key' });
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });

  it('reports every input problem at once', async () => {
    const report = await run({
      repositoryName: 'x',
      encryption: { type: 'KMS', key: 'nope' },
      tags: [{ Key: 'aws:owner', Value: 'me' }],
      lifecyclePolicy: '{}',
    });
    expect(kindsOf(report)).toEqual(['InvalidRepositoryName', 'InvalidEncryption', 'InvalidInput', 'InvalidInput']);
  });

  describe('tags', () => {
    const tagError = async (tags: readonly { Key: string; Value: string }[]): Promise<unknown> => find(await run({ tags }), 'tags')?.error;

    it('accepts 50 well-formed tags', async () => {
      const tags = Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: 'v'.repeat(256) }));
      expect(await tagError(tags)).toBeUndefined();
    });
    it('refuses more than 50 tags', async () => {
      const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
      expect(await tagError(tags)).toMatchObject({ kind: 'InvalidInput', field: 'tags' });
    });
    it('refuses an empty key and a key over 128 characters', async () => {
      expect(await tagError([{ Key: '', Value: 'v' }])).toMatchObject({ field: 'tags[0].Key' });
      expect(await tagError([{ Key: 'k'.repeat(129), Value: 'v' }])).toMatchObject({ field: 'tags[0].Key' });
    });
    it('refuses a value over 256 characters', async () => {
      expect(await tagError([{ Key: 'k', Value: 'v'.repeat(257) }])).toMatchObject({ field: 'tags[0].Value' });
    });
    it('refuses the reserved aws: prefix, whatever its case', async () => {
      expect(await tagError([{ Key: 'AWS:team', Value: 'v' }])).toMatchObject({ field: 'tags[0].Key', reason: containing('aws:') });
    });
    it('refuses a duplicate key', async () => {
      expect(await tagError([{ Key: 'a', Value: '1' }, { Key: 'a', Value: '2' }])).toMatchObject({ field: 'tags[1].Key' });
    });
  });

  describe('tag mutability', () => {
    const mutabilityError = async (input: Partial<PreflightInput>): Promise<unknown> => find(await run(input), 'imageTagMutability')?.error;

    it('accepts IMMUTABLE_WITH_EXCLUSION with filters', async () => {
      expect(await mutabilityError({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: ['latest', 'dev-*'] })).toBeUndefined();
    });
    it('refuses *_WITH_EXCLUSION without filters', async () => {
      expect(await mutabilityError({ imageTagMutability: 'MUTABLE_WITH_EXCLUSION' })).toMatchObject({ field: 'imageTagMutabilityExclusionFilters' });
    });
    it('refuses filters without *_WITH_EXCLUSION', async () => {
      expect(await mutabilityError({ imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: ['latest'] })).toMatchObject({
        field: 'imageTagMutabilityExclusionFilters',
      });
    });
    it('refuses more than 5 filters, and none', async () => {
      const six = ['a', 'b', 'c', 'd', 'e', 'f'];
      expect(await mutabilityError({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: six })).toMatchObject({
        reason: 'must be 1 to 5 filters',
      });
      expect(await mutabilityError({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [] })).toMatchObject({
        reason: 'must be 1 to 5 filters',
      });
    });
    it('refuses a filter outside the pattern', async () => {
      expect(await mutabilityError({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: ['v1/latest'] })).toMatchObject({
        field: 'imageTagMutabilityExclusionFilters[0]',
      });
    });
    it('refuses an unknown mutability', async () => {
      expect(await mutabilityError({ imageTagMutability: 'SOMETIMES' as 'MUTABLE' })).toMatchObject({ field: 'imageTagMutability' });
    });
  });

  it('refuses a scanOnPush that is not a boolean', async () => {
    expect(find(await run({ scanOnPush: 'yes' as unknown as boolean }), 'scanOnPush')?.error).toMatchObject({ kind: 'InvalidInput', field: 'scanOnPush' });
  });

  describe('policies', () => {
    it('accepts a repository policy as text or as a document', async () => {
      const doc = { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow' as const, Principal: '*' as const, Action: 'ecr:BatchGetImage' }] };
      expect(find(await run({ repositoryPolicy: doc }), 'repositoryPolicy')).toBeUndefined();
      expect(find(await run({ repositoryPolicy: JSON.stringify(doc) }), 'repositoryPolicy')).toBeUndefined();
    });
    it('refuses a repository policy over 10,240 characters', async () => {
      const big = JSON.stringify({ Statement: [], pad: 'x'.repeat(10_240) });
      expect(find(await run({ repositoryPolicy: big }), 'repositoryPolicy')?.error).toMatchObject({ kind: 'InvalidInput', field: 'repositoryPolicy' });
    });
    it('refuses a repository policy that is not JSON', async () => {
      expect(find(await run({ repositoryPolicy: '{ nope' }), 'repositoryPolicy')?.error).toMatchObject({ reason: containing('not valid JSON') });
    });
    it('refuses a lifecycle policy under 100 or over 30,720 characters', async () => {
      expect(find(await run({ lifecyclePolicy: '{"rules":[]}' }), 'lifecyclePolicy')?.error).toMatchObject({ field: 'lifecyclePolicy' });
      const big = JSON.stringify({ rules: [], pad: 'x'.repeat(30_720) });
      expect(find(await run({ lifecyclePolicy: big }), 'lifecyclePolicy')?.error).toMatchObject({ field: 'lifecyclePolicy' });
    });
    it('refuses a lifecycle policy that is not JSON', async () => {
      expect(find(await run({ lifecyclePolicy: `rules: ${'x'.repeat(120)}` }), 'lifecyclePolicy')?.error).toMatchObject({
        reason: containing('not valid JSON'),
      });
    });
  });

  it('refuses an insecure endpoint before any call', async () => {
    const ctx = fakeContext({ transportError: { kind: 'InsecureEndpoint', endpoint: 'http://ecr.example.com' } });
    const result = await preflight(ctx, base);
    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://ecr.example.com' });
    expect(kms).not.toHaveReceivedAnyCommand();
    expect(sts).not.toHaveReceivedAnyCommand();
  });

  it('the registry refuses an insecure endpoint too', async () => {
    const registry = new EncryptedRegistry({ clientConfig: { region: REGION, endpoint: 'http://ecr.example.com' } });
    expect((await registry.preflight(base))._unsafeUnwrapErr()).toMatchObject({ kind: 'InsecureEndpoint' });
    expect(ecr).not.toHaveReceivedAnyCommand();
  });
});

describe('preflight: key', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  it('reports a key ARN of another region before any KMS call', async () => {
    const report = await run({ encryption: { type: 'KMS', key: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}` } });
    expect(find(report, 'keyRegion')?.error).toEqual({
      kind: 'KeyRegionMismatch',
      keyArn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`,
      keyRegion: 'us-east-1',
      repositoryRegion: REGION,
    });
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });

  it('reports an alias ARN of another region too', async () => {
    const report = await run({ encryption: { type: 'KMS', key: `arn:aws:kms:us-east-1:${ACCOUNT}:alias/app` } });
    expect(find(report, 'keyRegion')?.error).toMatchObject({ kind: 'KeyRegionMismatch', keyRegion: 'us-east-1' });
  });

  it('reports a resolved key of another region', async () => {
    state.keys.set('alias/app', enabledKey({ Arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}` }));
    const report = await run();
    expect(find(report, 'keyRegion')?.error).toMatchObject({ kind: 'KeyRegionMismatch', keyRegion: 'us-east-1', repositoryRegion: REGION });
  });

  it('accepts the replica of a multi-Region key in the repository region', async () => {
    const replica = enabledKey({
      KeyId: 'mrk-1234abcd12ab34cd56ef1234567890ab',
      Arn: `arn:aws:kms:${REGION}:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`,
      MultiRegion: true,
      MultiRegionConfiguration: { MultiRegionKeyType: 'REPLICA', PrimaryKey: { Arn: `arn:aws:kms:us-east-1:${ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab`, Region: 'us-east-1' } },
    });
    state.keys.set('alias/app', replica);
    state.grants.set(replica.Arn!, []);
    expect(errorsOf(await run())).toEqual([]);
  });

  it('reports a missing key as KeyNotFound', async () => {
    const report = await run({ encryption: { type: 'KMS', key: 'alias/missing' } });
    expect(find(report, 'keyExists')?.error).toMatchObject({ kind: 'KeyNotFound', key: 'alias/missing', service: 'kms', operation: 'DescribeKey' });
  });

  it('reports a key reference KMS calls malformed as InvalidEncryption', async () => {
    kms.on(DescribeKeyCommand).rejects(new InvalidArnException({ $metadata: {}, message: 'Invalid arn' }));
    expect(find(await run(), 'encryption')?.error).toEqual({ kind: 'InvalidEncryption', reason: 'Invalid arn', key: 'alias/app' });
  });

  it('reports a throttled DescribeKey as an error finding, not a failure of the preflight', async () => {
    kms.on(DescribeKeyCommand).rejects(new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'slow down' }));
    const report = await run();
    expect(find(report, 'keyExists')?.error).toMatchObject({ kind: 'Throttled', service: 'kms' });
    expect(find(report, 'callerIdentity')).toBeUndefined();
  });

  it.each([
    ['Disabled', 'Disabled', {}],
    ['PendingImport', 'PendingImport', {}],
    ['Unavailable', 'Unavailable', {}],
    ['Creating', 'Creating', {}],
    ['Updating', 'Updating', {}],
  ] as const)('reports key state %s as KeyNotUsable %s', async (keyState, reason, extra) => {
    state.keys.set('alias/app', enabledKey({ KeyState: keyState, Enabled: false, ...extra }));
    expect(find(await run(), 'keyState')?.error).toMatchObject({ kind: 'KeyNotUsable', keyArn: KEY_ARN, reason });
  });

  it('reports a key pending deletion with its deletion date', async () => {
    state.keys.set('alias/app', enabledKey({ KeyState: 'PendingDeletion', Enabled: false, DeletionDate: new Date('2026-12-01T00:00:00Z') }));
    const error = find(await run(), 'keyState')?.error;
    expect(error).toMatchObject({ kind: 'KeyNotUsable', reason: 'PendingDeletion', detail: containing('2026-12-01') });
  });

  it('reports a primary key waiting for its replicas to be deleted as pending deletion', async () => {
    state.keys.set('alias/app', enabledKey({ KeyState: 'PendingReplicaDeletion', Enabled: false, PendingDeletionWindowInDays: 7 }));
    expect(find(await run(), 'keyState')?.error).toMatchObject({ reason: 'PendingDeletion', detail: containing('7 days') });
  });

  it('reports a signing key as WrongKeyUsage', async () => {
    state.keys.set('alias/app', enabledKey({ KeyUsage: 'SIGN_VERIFY', KeySpec: 'RSA_2048' }));
    const report = await run();
    expect(find(report, 'keyUsage')?.error).toMatchObject({ kind: 'KeyNotUsable', reason: 'WrongKeyUsage' });
    expect(find(report, 'keySpec')?.error).toMatchObject({ kind: 'KeyNotUsable', reason: 'WrongKeySpec' });
  });

  it('reports an asymmetric encryption key as WrongKeySpec', async () => {
    state.keys.set('alias/app', enabledKey({ KeySpec: 'RSA_4096' }));
    const report = await run();
    expect(kindsOf(report)).toEqual(['KeyNotUsable']);
    expect(find(report, 'keySpec')?.error).toMatchObject({ reason: 'WrongKeySpec', detail: containing('RSA_4096') });
  });

  it('reads the deprecated CustomerMasterKeySpec when KeySpec is absent', async () => {
    state.keys.set('alias/app', { ...enabledKey(), KeySpec: undefined, CustomerMasterKeySpec: 'ECC_NIST_P256' });
    expect(find(await run(), 'keySpec')?.error).toMatchObject({ reason: 'WrongKeySpec' });
  });

  it('warns that KMS_DSSE is documented for GovCloud only', async () => {
    expect(find(await run({ encryption: { type: 'KMS_DSSE', key: 'alias/app' } }), 'dsseRegion', 'warning')).toBeDefined();
    const gov = 'us-gov-west-1';
    const govKey = enabledKey({ Arn: `arn:aws-us-gov:kms:${gov}:${ACCOUNT}:key/${KEY_ID}` });
    state.keys.set('alias/app', govKey);
    state.grants.set(govKey.Arn!, []);
    const report = await run({ encryption: { type: 'KMS_DSSE', key: 'alias/app' } }, fakeContext({ region: () => okRegion(gov) }));
    expect(find(report, 'dsseRegion')).toBeUndefined();
  });

  describe('the AWS-managed key', () => {
    const managed = (created: Date) =>
      enabledKey({ KeyId: '9999abcd-12ab-34cd-56ef-1234567890ab', Arn: MANAGED_KEY_ARN, KeyManager: 'AWS', CreationDate: created });

    it('describes alias/aws/ecr, says that this creates the key, and skips the grant quota', async () => {
      state.keys.set('alias/aws/ecr', managed(new Date('2024-01-01T00:00:00Z')));
      const report = await run({ encryption: { type: 'KMS' } });
      expect(kms).toHaveReceivedCommandWith(DescribeKeyCommand, { KeyId: 'alias/aws/ecr' });
      expect(find(report, 'awsManagedKey', 'info')?.message).toContain('creates it on first use');
      expect(report.facts).toMatchObject({ keyArn: MANAGED_KEY_ARN, keyManager: 'AWS', awsManagedKeyCreated: false });
      expect(kms).not.toHaveReceivedCommand(ListGrantsCommand);
    });

    it('tells when the key was just created by the DescribeKey', async () => {
      state.keys.set('alias/aws/ecr', managed(NOW));
      const report = await run({ encryption: { type: 'KMS' } });
      expect(report.facts.awsManagedKeyCreated).toBe(true);
      expect(find(report, 'awsManagedKey')?.message).toContain('was just created');
    });

    it('simulates only kms:RetireGrant for it: its key policy allows the rest through ECR', async () => {
      state.keys.set('alias/aws/ecr', managed(NOW));
      await run({ encryption: { type: 'KMS' } });
      expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, { ActionNames: ['kms:RetireGrant'], ResourceArns: [MANAGED_KEY_ARN] });
    });
  });

  describe('grant headroom', () => {
    const fill = (count: number, ecrShare = 0): void => {
      state.grants.set(
        KEY_ARN,
        Array.from({ length: count }, (_, i) =>
          i < ecrShare
            ? ecrGrant(`e${i}`, repoArn(`r${i}`), NOW)
            : { KeyId: KEY_ARN, GrantId: `g${i}`, GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/app`, Operations: ['Decrypt'] },
        ),
      );
    };

    it('counts every grant of the key (paging) and ECR\'s among them', async () => {
      fill(250, 40);
      const report = await run();
      expect(report.facts).toMatchObject({ grantCount: 250, ecrGrantCount: 40 });
      expect(find(report, 'grantHeadroom', 'info')).toBeDefined();
      expect(kms).toHaveReceivedCommandTimes(ListGrantsCommand, 3);
    });

    it('reports KeyGrantQuotaExhausted when fewer than two grants fit, whoever holds them', async () => {
      fill(49_999, 0);
      expect(find(await run(), 'grantHeadroom')?.error).toEqual({ kind: 'KeyGrantQuotaExhausted', keyArn: KEY_ARN, grantCount: 49_999, quota: 50_000 });
    });

    it('lets the last two grants through', async () => {
      fill(49_998, 0);
      const report = await run();
      expect(find(report, 'grantHeadroom', 'warning')).toBeDefined();
      expect(errorsOf(report)).toEqual([]);
    });

    it('warns from 90% of the quota', async () => {
      fill(45_000, 10);
      expect(find(await run(), 'grantHeadroom', 'warning')?.message).toContain('90%');
      fill(44_999, 10);
      expect(find(await run(), 'grantHeadroom', 'warning')).toBeUndefined();
    });

    it('only warns when grants cannot be listed', async () => {
      kms.on(ListGrantsCommand).rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
      const report = await run();
      expect(find(report, 'grantHeadroom', 'warning')?.message).toContain('kms:ListGrants');
      expect(report.ok).toBe(true);
    });
  });
});

const okRegion = (region: string) => fakeContext().region().map(() => region);

describe('preflight: caller and permissions', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  it('simulates a user with ECR actions on the repository and KMS actions on the key in ECR\'s context', async () => {
    await run({ tags: [{ Key: 'team', Value: 'a' }], repositoryPolicy: '{"Statement":[]}', lifecyclePolicy: JSON.stringify({ rules: [], pad: 'x'.repeat(100) }) });
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, {
      PolicySourceArn: USER_ARN,
      ActionNames: ['ecr:CreateRepository', 'ecr:TagResource', 'ecr:SetRepositoryPolicy', 'ecr:PutLifecyclePolicy'],
      ResourceArns: [repoArn('team/app')],
      ContextEntries: [{ ContextKeyName: 'aws:RequestedRegion', ContextKeyValues: [REGION], ContextKeyType: 'string' }],
    });
    const forwarded: ContextEntry[] = [
      { ContextKeyName: 'aws:RequestedRegion', ContextKeyValues: [REGION], ContextKeyType: 'string' },
      { ContextKeyName: 'kms:ViaService', ContextKeyValues: [`ecr.${REGION}.amazonaws.com`], ContextKeyType: 'string' },
      { ContextKeyName: 'kms:CallerAccount', ContextKeyValues: [ACCOUNT], ContextKeyType: 'string' },
      { ContextKeyName: 'aws:ViaAWSService', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
    ];
    // ECR's CreateGrant, as AWS documents it (CloudTrail example in the ECR user guide).
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, {
      PolicySourceArn: USER_ARN,
      ActionNames: ['kms:CreateGrant'],
      ResourceArns: [KEY_ARN],
      ContextEntries: [
        ...forwarded,
        { ContextKeyName: 'kms:GrantIsForAWSResource', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
        { ContextKeyName: 'kms:GranteePrincipal', ContextKeyValues: [`ecr.${REGION}.amazonaws.com`], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:RetiringPrincipal', ContextKeyValues: [`ecr.${REGION}.amazonaws.com`], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:GrantOperations', ContextKeyValues: ['GenerateDataKey', 'Decrypt'], ContextKeyType: 'stringList' },
        { ContextKeyName: 'kms:GrantConstraintType', ContextKeyValues: ['EncryptionContextSubset'], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:EncryptionContext:aws:ecr:arn', ContextKeyValues: [repoArn('team/app')], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:EncryptionContextKeys', ContextKeyValues: ['aws:ecr:arn'], ContextKeyType: 'stringList' },
      ],
    });
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, {
      PolicySourceArn: USER_ARN,
      ActionNames: ['kms:DescribeKey', 'kms:RetireGrant'],
      ResourceArns: [KEY_ARN],
      ContextEntries: forwarded,
    });
  });

  it('asks only for ecr:CreateRepository when nothing else is requested, and no KMS actions for AES256', async () => {
    await run({ encryption: 'AES256' });
    expect(iam).toHaveReceivedCommandTimes(SimulatePrincipalPolicyCommand, 1);
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, { ActionNames: ['ecr:CreateRepository'] });
    expect(kms).not.toHaveReceivedAnyCommand();
  });

  it('turns an assumed role into its role ARN, path included, with iam:GetRole', async () => {
    state.callerArn = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/session-1`;
    const report = await run();
    expect(iam).toHaveReceivedCommandWith(GetRoleCommand, { RoleName: 'deployer' });
    expect(iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, { PolicySourceArn: `arn:aws:iam::${ACCOUNT}:role/teams/platform/deployer` });
    expect(report.facts.roleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/teams/platform/deployer`);
  });

  it('warns, and does not simulate, when the role cannot be looked up', async () => {
    state.callerArn = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/session-1`;
    iam.on(GetRoleCommand).rejects(new NoSuchEntityException({ $metadata: {}, message: 'no role' }));
    const report = await run();
    expect(find(report, 'permissions', 'warning')?.message).toContain('NoSuchEntity');
    expect(iam).not.toHaveReceivedCommand(SimulatePrincipalPolicyCommand);
    expect(report.ok).toBe(true);
  });

  it('skips the simulation for the root user with an info', async () => {
    state.callerArn = `arn:aws:iam::${ACCOUNT}:root`;
    const report = await run();
    expect(find(report, 'permissions', 'info')?.message).toContain('root');
    expect(iam).not.toHaveReceivedAnyCommand();
  });

  it('warns for a principal IAM cannot simulate (federated user)', async () => {
    state.callerArn = `arn:aws:sts::${ACCOUNT}:federated-user/bob`;
    const report = await run();
    expect(find(report, 'permissions', 'warning')).toBeDefined();
    expect(iam).not.toHaveReceivedAnyCommand();
  });

  it('reports denied actions in one MissingPermissions error', async () => {
    state.decisions.set('ecr:CreateRepository', 'implicitDeny');
    state.decisions.set('kms:CreateGrant', 'explicitDeny');
    const report = await run();
    expect(find(report, 'permissions', 'error')?.error).toEqual({
      kind: 'MissingPermissions',
      principalArn: USER_ARN,
      actions: ['ecr:CreateRepository', 'kms:CreateGrant'],
      source: 'iam-simulation',
    });
  });

  it('only warns about kms:RetireGrant: creation works, deletion would leave grants', async () => {
    state.decisions.set('kms:RetireGrant', 'implicitDeny');
    const report = await run();
    const finding = find(report, 'permissions', 'warning');
    expect(finding?.error).toMatchObject({ kind: 'MissingPermissions', actions: ['kms:RetireGrant'] });
    expect(finding?.message).toContain('deleting the repository will leave');
    expect(report.ok).toBe(true);
  });

  it('reads per-resource decisions when IAM gives them', async () => {
    iam.on(SimulatePrincipalPolicyCommand).callsFake((input: { ActionNames?: string[]; ResourceArns?: string[] }) => ({
      EvaluationResults: (input.ActionNames ?? []).map((action) => ({
        EvalActionName: action,
        EvalResourceName: '*',
        EvalDecision: 'allowed',
        ResourceSpecificResults: [
          { EvalResourceName: input.ResourceArns?.[0], EvalResourceDecision: action === 'kms:DescribeKey' ? 'implicitDeny' : 'allowed' },
        ],
      })),
    }));
    expect(find(await run(), 'permissions', 'error')?.error).toMatchObject({ actions: ['kms:DescribeKey'] });
  });

  it.each([
    ['AccessDenied', () => new IAMServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'no iam:SimulatePrincipalPolicy' })],
    ['NoSuchEntity', () => new NoSuchEntityException({ $metadata: {}, message: 'gone' })],
    ['InvalidInput', () => new InvalidInputException({ $metadata: {}, message: 'bad' })],
  ] as const)('only warns when the simulation cannot run (%s)', async (reason, error) => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(error());
    const report = await run();
    expect(find(report, 'permissions', 'warning')?.message).toContain(reason);
    expect(report.ok).toBe(true);
  });

  it('reports a throttled simulation as an error finding (retryable)', async () => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(new IAMServiceException({ name: 'Throttling', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
    expect(find(await run(), 'permissions', 'error')?.error).toMatchObject({ kind: 'Throttled', service: 'iam' });
  });

  it('notes what the key policy says: the default one lets IAM decide', async () => {
    expect(find(await run(), 'keyPolicy', 'info')?.message).toContain('lets IAM policies decide kms:CreateGrant, kms:DescribeKey, kms:RetireGrant');
  });
});

describe('preflight: the repository', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  const existing = (keyArn: string | undefined) =>
    state.repositories.set('team/app', {
      repositoryName: 'team/app',
      repositoryArn: repoArn('team/app'),
      registryId: ACCOUNT,
      repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/app`,
      createdAt: new Date('2026-01-01T00:00:00Z'),
      encryptionConfiguration: keyArn ? { encryptionType: 'KMS', kmsKey: keyArn } : { encryptionType: 'AES256' },
    });

  it('notes an existing repository with the same key, compared by canonical ARN', async () => {
    existing(KEY_ARN);
    const report = await run(); // asked by alias
    expect(find(report, 'repository', 'info')?.message).toContain('created: false');
    expect(report.facts.existingRepository).toMatchObject({ arn: repoArn('team/app'), encryption: { type: 'KMS', keyArn: KEY_ARN } });
    expect(report.ok).toBe(true);
  });

  it('reports another key as EncryptionMismatch naming both and pointing to migrateRepository', async () => {
    existing(OTHER_KEY_ARN);
    const finding = find(await run(), 'repository', 'error');
    expect(finding?.error).toEqual({
      kind: 'EncryptionMismatch',
      repositoryName: 'team/app',
      existing: { type: 'KMS', keyArn: OTHER_KEY_ARN },
      requested: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false },
      remedy: 'migrateRepository',
    });
    expect(finding?.message).toContain('migrateRepository');
  });

  it('reports another type as EncryptionMismatch', async () => {
    existing(undefined);
    expect(find(await run(), 'repository', 'error')?.error).toMatchObject({ kind: 'EncryptionMismatch', existing: { type: 'AES256' } });
  });

  it('reports a failing DescribeRepositories as an error finding', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
    expect(find(await run(), 'repository', 'error')?.error).toMatchObject({ kind: 'AccessDenied', service: 'ecr' });
  });

  it('runs through the registry with every finding', async () => {
    const report = (await fakeRegistry().preflight(base))._unsafeUnwrap();
    expect(report.ok).toBe(true);
    expect(report.findings.map((f) => f.check)).toEqual(['grantHeadroom', 'permissions', 'keyPolicy']);
  });
});

describe('preflight: the key policy', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  const VIA_ECR = { StringEquals: { 'kms:ViaService': `ecr.${REGION}.amazonaws.com`, 'kms:CallerAccount': ACCOUNT } };
  const ROOT = { AWS: `arn:aws:iam::${ACCOUNT}:root` };
  const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/teams/platform/deployer`;
  const keyPolicy = (...statements: object[]): void => {
    state.keyPolicy = JSON.stringify({ Version: '2012-10-17', Statement: statements });
  };
  const admin = { Sid: 'Admin', Effect: 'Allow', Principal: ROOT, Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:PutKeyPolicy'], Resource: '*' };

  it('reads the key policy of the resolved key with GetKeyPolicy', async () => {
    await run();
    expect(kms).toHaveReceivedCommandWith(GetKeyPolicyCommand, { KeyId: KEY_ARN, PolicyName: 'default' });
  });

  it('lets a key policy that allows the caller directly through ECR clear an IAM implicit deny', async () => {
    keyPolicy(admin, { Sid: 'UseThroughEcr', Effect: 'Allow', Principal: { AWS: USER_ARN }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: VIA_ECR });
    state.decisions.set('kms:CreateGrant', 'implicitDeny');
    state.decisions.set('kms:DescribeKey', 'implicitDeny');
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(find(report, 'keyPolicy', 'info')?.message).toContain('allows kms:CreateGrant, kms:DescribeKey to the caller directly');
    expect(find(report, 'permissions', 'info')?.message).toContain('(kms:CreateGrant, kms:DescribeKey by the key policy, not by IAM policies)');
    expect(report.ok).toBe(true);
  });

  it('does not let a key policy allow override an IAM explicit deny', async () => {
    keyPolicy(admin, { Effect: 'Allow', Principal: { AWS: USER_ARN }, Action: 'kms:CreateGrant', Resource: '*' });
    state.decisions.set('kms:CreateGrant', 'explicitDeny');
    expect(find(await run(), 'permissions', 'error')?.error).toEqual({
      kind: 'MissingPermissions',
      principalArn: USER_ARN,
      actions: ['kms:CreateGrant'],
      source: 'iam-simulation',
    });
  });

  it('reports an explicit deny in the key policy as MissingPermissions from the key policy, whatever IAM says', async () => {
    keyPolicy(
      { Effect: 'Allow', Principal: ROOT, Action: 'kms:*', Resource: '*' },
      { Sid: 'NoGrantsThroughEcr', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringLike: { 'kms:ViaService': 'ecr.*' } } },
    );
    const report = await run();
    const finding = find(report, 'keyPolicy', 'error');
    expect(finding?.error).toEqual({ kind: 'MissingPermissions', principalArn: USER_ARN, actions: ['kms:CreateGrant'], source: 'key-policy' });
    expect(finding?.message).toContain('NoGrantsThroughEcr');
    expect(find(report, 'permissions', 'error')).toBeUndefined();
    expect(report.ok).toBe(false);
  });

  it('reports a key policy that neither names the caller nor delegates to the account', async () => {
    keyPolicy(admin, { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/someone-else` }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*' });
    const finding = find(await run(), 'keyPolicy', 'error');
    expect(finding?.error).toMatchObject({ kind: 'MissingPermissions', actions: ['kms:CreateGrant'], source: 'key-policy' });
  });

  it('evaluates in ECR\'s forwarded context: a grant allowed only through another service is not allowed', async () => {
    keyPolicy(
      { Effect: 'Allow', Principal: ROOT, Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:PutKeyPolicy', 'kms:RetireGrant'], Resource: '*' },
      { Effect: 'Allow', Principal: { AWS: USER_ARN }, Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': `ec2.${REGION}.amazonaws.com` } } },
      {
        Effect: 'Allow',
        Principal: ROOT,
        Action: 'kms:CreateGrant',
        Resource: '*',
        Condition: { Bool: { 'kms:GrantIsForAWSResource': 'false' } },
      },
    );
    expect(find(await run(), 'keyPolicy', 'error')?.error).toMatchObject({ actions: ['kms:CreateGrant'], source: 'key-policy' });
  });

  it('honours kms:GrantIsForAWSResource as ECR sends it', async () => {
    keyPolicy(admin, { Effect: 'Allow', Principal: ROOT, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } } });
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(find(report, 'keyPolicy', 'info')?.message).toContain('lets IAM policies decide kms:CreateGrant, kms:DescribeKey');
  });

  it('matches a statement naming the role (with its path) for an assumed-role caller', async () => {
    state.callerArn = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/session-1`;
    keyPolicy(admin, { Effect: 'Allow', Principal: { AWS: ROLE_ARN }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: VIA_ECR });
    state.decisions.set('kms:CreateGrant', 'implicitDeny');
    const report = await run();
    expect(errorsOf(report)).toEqual([]);
    expect(find(report, 'keyPolicy', 'info')?.message).toContain('to the caller directly');
  });

  it('only warns about a key policy that denies kms:RetireGrant: deletion would leave grants', async () => {
    keyPolicy({ Effect: 'Allow', Principal: ROOT, Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'kms:RetireGrant', Resource: '*' });
    const report = await run();
    const finding = find(report, 'keyPolicy', 'warning');
    expect(finding?.error).toMatchObject({ kind: 'MissingPermissions', actions: ['kms:RetireGrant'], source: 'key-policy' });
    expect(report.ok).toBe(true);
  });

  it('only warns when GetKeyPolicy is denied: an unread key policy may allow the caller directly, so IAM\'s implicit deny decides nothing', async () => {
    kms.on(GetKeyPolicyCommand).rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
    state.decisions.set('kms:CreateGrant', 'implicitDeny');
    const report = await run();
    expect(find(report, 'keyPolicy', 'warning')?.message).toContain('kms:GetKeyPolicy denied');
    expect(errorsOf(report)).toEqual([]);
    expect(report.findings.some((f) => f.check === 'permissions' && f.severity === 'warning' && f.message.includes('kms:CreateGrant') && f.message.includes('could not be read'))).toBe(true);
  });

  it('still blocks an IAM explicit deny when GetKeyPolicy is denied', async () => {
    kms.on(GetKeyPolicyCommand).rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
    state.decisions.set('kms:CreateGrant', 'explicitDeny');
    expect(find(await run(), 'permissions', 'error')?.error).toMatchObject({ actions: ['kms:CreateGrant'], source: 'iam-simulation' });
  });

  it('still blocks an IAM implicit deny for a key of another account: both the key policy and IAM must allow', async () => {
    const foreign = `arn:aws:kms:${REGION}:444455556666:key/${KEY_ID}`;
    state.keys.set('alias/app', enabledKey({ Arn: foreign, AWSAccountId: '444455556666' }));
    state.grants.set(foreign, []);
    state.decisions.set('kms:CreateGrant', 'implicitDeny');
    expect(find(await run(), 'permissions', 'error')?.error).toMatchObject({ actions: ['kms:CreateGrant'], source: 'iam-simulation' });
  });

  it('warns about a key policy it cannot parse', async () => {
    state.keyPolicy = 'not json';
    expect(find(await run(), 'keyPolicy', 'warning')?.message).toContain('no readable policy');
  });

  it('still reports the key policy\'s deny when the IAM simulation cannot run', async () => {
    iam.on(SimulatePrincipalPolicyCommand).rejects(new IAMServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: {}, message: 'no' }));
    keyPolicy({ Effect: 'Allow', Principal: ROOT, Action: 'kms:*', Resource: '*' }, { Effect: 'Deny', Principal: { AWS: USER_ARN }, Action: 'kms:CreateGrant', Resource: '*' });
    const report = await run();
    expect(find(report, 'permissions', 'warning')).toBeDefined();
    expect(find(report, 'keyPolicy', 'error')?.error).toMatchObject({ actions: ['kms:CreateGrant'], source: 'key-policy' });
  });

  it('does not ask for the key policy of a key in another account', async () => {
    const foreign = `arn:aws:kms:${REGION}:444455556666:key/${KEY_ID}`;
    state.keys.set('alias/app', enabledKey({ Arn: foreign, AWSAccountId: '444455556666' }));
    state.grants.set(foreign, []);
    const report = await run();
    expect(kms).not.toHaveReceivedCommand(GetKeyPolicyCommand);
    expect(find(report, 'keyPolicy', 'info')?.message).toContain('444455556666');
  });

  it('does not read a key policy for AES256', async () => {
    await run({ encryption: 'AES256' });
    expect(kms).not.toHaveReceivedCommand(GetKeyPolicyCommand);
  });
});

describe('preflight: what the caller established already', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  it('with an established target: checks the input only, and answers the established facts without an AWS call', async () => {
    const established = { region: REGION, account: ACCOUNT, callerArn: USER_ARN, encryption: { type: 'KMS' as const, keyArn: KEY_ARN, awsManagedKey: false } };
    const report = (await preflight(fakeContext(), { ...base, encryption: { type: 'KMS', key: KEY_ARN } }, { established }))._unsafeUnwrap();
    expect(report).toMatchObject({ ok: true, facts: { region: REGION, account: ACCOUNT, callerArn: USER_ARN, keyArn: KEY_ARN, keyManager: 'CUSTOMER', repositoryArn: repoArn('team/app') } });
    for (const client of [ecr, kms, iam, sts]) expect(client.calls()).toEqual([]);
    // Wrong input still stops it.
    const bad = (await preflight(fakeContext(), { ...base, tags: [{ Key: 'aws:x', Value: '1' }] }, { established, stopOnInputErrors: true }))._unsafeUnwrap();
    expect(kindsOf(bad)).toEqual(['InvalidInput']);
  });

  it('with the repository described by the caller: does not describe it again', async () => {
    const report = (await preflight(fakeContext(), base, { repository: null }))._unsafeUnwrap();
    expect(report.ok).toBe(true);
    expect(ecr).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
  });
});
