import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRServiceException,
  InvalidParameterException,
  KmsException,
  PutLifecyclePolicyCommand,
  RepositoryAlreadyExistsException,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, KMSServiceException, ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { errAsync } from 'neverthrow';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CreateEncryptedRepositoryInput } from '../../src/index.js';
import { EncryptedRegistry, isRetryable } from '../../src/index.js';
import { backoffDelays } from '../../src/internal/wait.js';
import { createEncryptedRepository } from '../../src/operations/create-repository.js';
import { ACCOUNT, ecrGrant, enabledKey, fakeContext, fakeRegistry, FAST_POLL, installFakes, KEY_ARN, KEY_ID, MANAGED_KEY_ARN, NOW, OTHER_KEY_ARN, REGION, repoArn, type Stubs } from '../fixtures/create-stubs.js';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let sts: Stubs['sts'];
let state: Stubs['state'];

const NAME = 'team/app';
const input: CreateEncryptedRepositoryInput = { repositoryName: NAME, encryption: { type: 'KMS', key: 'alias/app' } };
const LIFECYCLE = JSON.stringify({
  rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }],
});
const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }] });

describe('EncryptedRegistry.createEncryptedRepository', () => {
  beforeEach(() => {
    ({ ecr, kms, iam, sts, state } = installFakes());
  });

  describe('refuses bad input with its own typed error and creates nothing', () => {
    const refuse = async (overrides: Partial<CreateEncryptedRepositoryInput>, setup: () => void = () => undefined) => {
      setup();
      const result = await fakeRegistry().createEncryptedRepository({ ...input, ...overrides });
      expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
      expect(state.repositories.size).toBe(0);
      return result._unsafeUnwrapErr();
    };

    it('a malformed name, before any AWS call', async () => {
      expect(await refuse({ repositoryName: '-app' })).toMatchObject({ kind: 'InvalidRepositoryName', repositoryName: '-app' });
      expect(kms).not.toHaveReceivedAnyCommand();
      expect(sts).not.toHaveReceivedAnyCommand();
      expect(ecr).not.toHaveReceivedAnyCommand();
    });

    it('a malformed key reference, before any AWS call', async () => {
      expect(await refuse({ encryption: { type: 'KMS', key: 'arn:aws:kms:eu-west-1:1:key/x' } })).toMatchObject({ kind: 'InvalidEncryption' });
      expect(kms).not.toHaveReceivedAnyCommand();
    });

    it('malformed settings, before any AWS call', async () => {
      expect(await refuse({ lifecyclePolicy: 'nope' })).toMatchObject({ kind: 'InvalidInput', field: 'lifecyclePolicy' });
      expect(kms).not.toHaveReceivedAnyCommand();
    });

    it('the name first when several inputs are wrong', async () => {
      expect(await refuse({ repositoryName: 'A', encryption: { type: 'KMS', key: 'nope' } })).toMatchObject({ kind: 'InvalidRepositoryName' });
    });

    it('a key in another region, before any AWS call', async () => {
      const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/${KEY_ID}`;
      expect(await refuse({ encryption: { type: 'KMS', key } })).toEqual({
        kind: 'KeyRegionMismatch',
        keyArn: key,
        keyRegion: 'us-east-1',
        repositoryRegion: REGION,
      });
      expect(kms).not.toHaveReceivedAnyCommand();
    });

    it('a missing key', async () => {
      expect(await refuse({ encryption: { type: 'KMS', key: 'alias/missing' } })).toMatchObject({ kind: 'KeyNotFound', key: 'alias/missing' });
    });

    it('a disabled key', async () => {
      expect(await refuse({}, () => state.keys.set('alias/app', enabledKey({ KeyState: 'Disabled', Enabled: false })))).toMatchObject({
        kind: 'KeyNotUsable',
        reason: 'Disabled',
        keyArn: KEY_ARN,
      });
    });

    it('an asymmetric key', async () => {
      expect(await refuse({}, () => state.keys.set('alias/app', enabledKey({ KeySpec: 'RSA_2048' })))).toMatchObject({
        kind: 'KeyNotUsable',
        reason: 'WrongKeySpec',
      });
    });

    it('a key pending deletion', async () => {
      const setup = () => state.keys.set('alias/app', enabledKey({ KeyState: 'PendingDeletion', Enabled: false, DeletionDate: new Date('2026-12-01T00:00:00Z') }));
      expect(await refuse({}, setup)).toMatchObject({ kind: 'KeyNotUsable', reason: 'PendingDeletion' });
    });

    it('a key without room for two more grants', async () => {
      const setup = () =>
        state.grants.set(KEY_ARN, Array.from({ length: 49_999 }, (_, i) => ({ KeyId: KEY_ARN, GrantId: `g${i}`, Operations: ['Decrypt' as const] })));
      expect(await refuse({}, setup)).toMatchObject({ kind: 'KeyGrantQuotaExhausted', grantCount: 49_999 });
    });

    it('a missing permission', async () => {
      expect(await refuse({}, () => state.decisions.set('kms:CreateGrant', 'implicitDeny'))).toMatchObject({
        kind: 'MissingPermissions',
        actions: ['kms:CreateGrant'],
        source: 'iam-simulation',
      });
    });

    it('an insecure endpoint', async () => {
      const registry = new EncryptedRegistry({ clientConfig: { region: REGION, endpoint: 'http://10.0.0.1:4566' } });
      expect((await registry.createEncryptedRepository(input))._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://10.0.0.1:4566' });
      expect(sts).not.toHaveReceivedAnyCommand();
    });
  });

  it('creates with the canonical key ARN and the settings, and returns ECR\'s grants', async () => {
    const result = await fakeRegistry().createEncryptedRepository({
      ...input,
      tags: [{ Key: 'team', Value: 'platform' }],
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: ['latest'],
      scanOnPush: true,
      repositoryPolicy: POLICY,
      lifecyclePolicy: LIFECYCLE,
    });
    const created = result._unsafeUnwrap();
    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, {
      repositoryName: NAME,
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KEY_ARN },
      tags: [{ Key: 'team', Value: 'platform' }],
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      imageScanningConfiguration: { scanOnPush: true },
    });
    expect(ecr).toHaveReceivedCommandWith(SetRepositoryPolicyCommand, { repositoryName: NAME, policyText: POLICY });
    expect(ecr).toHaveReceivedCommandWith(PutLifecyclePolicyCommand, { repositoryName: NAME, lifecyclePolicyText: LIFECYCLE });
    expect(created).toEqual({
      created: true,
      repository: { name: NAME, arn: repoArn(NAME), uri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${NAME}`, createdAt: NOW, registryId: ACCOUNT },
      encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false },
      grants: [
        { grantId: `${NAME}-g1`, operations: ['GenerateDataKey', 'Decrypt'], creationDate: NOW },
        { grantId: `${NAME}-g2`, operations: ['GenerateDataKey', 'Decrypt'], creationDate: NOW },
      ],
      warnings: [],
    });
  });

  it('sends the repository policy given as a document as JSON text', async () => {
    const doc = { Version: '2012-10-17' as const, Statement: [{ Effect: 'Allow' as const, Principal: '*' as const, Action: 'ecr:BatchGetImage' }] };
    await fakeRegistry().createEncryptedRepository({ ...input, repositoryPolicy: doc });
    expect(ecr).toHaveReceivedCommandWith(SetRepositoryPolicyCommand, { policyText: JSON.stringify(doc) });
  });

  it('creates AES256 without any KMS call', async () => {
    const created = (await fakeRegistry().createEncryptedRepository({ repositoryName: NAME, encryption: 'AES256' }))._unsafeUnwrap();
    expect(created).toMatchObject({ created: true, encryption: { type: 'AES256' }, grants: [] });
    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, { encryptionConfiguration: { encryptionType: 'AES256' } });
    expect(kms).not.toHaveReceivedAnyCommand();
  });

  it('uses the AWS-managed key by its ARN and says when DescribeKey created it', async () => {
    state.keys.set('alias/aws/ecr', enabledKey({ KeyId: 'x', Arn: MANAGED_KEY_ARN, KeyManager: 'AWS', CreationDate: NOW }));
    const created = (await createEncryptedRepository(fakeContext(), { repositoryName: NAME, encryption: { type: 'KMS' } }))._unsafeUnwrap();
    expect(ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, { encryptionConfiguration: { encryptionType: 'KMS', kmsKey: MANAGED_KEY_ARN } });
    expect(created).toMatchObject({ encryption: { type: 'KMS', keyArn: MANAGED_KEY_ARN, awsManagedKey: true }, awsManagedKeyCreated: true });
    expect(created.grants).toHaveLength(2);
  });

  it('passes KmsException from CreateRepository on as KmsRefused', async () => {
    ecr.on(CreateRepositoryCommand).rejects(new KmsException({ $metadata: {}, message: 'KMS refused', kmsError: 'DisabledException' }));
    expect((await fakeRegistry().createEncryptedRepository(input))._unsafeUnwrapErr()).toMatchObject({
      kind: 'KmsRefused',
      kmsError: 'DisabledException',
      operation: 'CreateRepository',
    });
  });

  describe('idempotency', () => {
    it('gives created: false the second time with the same spec, however the key is named', async () => {
      const registry = fakeRegistry();
      expect((await registry.createEncryptedRepository(input))._unsafeUnwrap().created).toBe(true);
      const again = (await registry.createEncryptedRepository({ ...input, encryption: { type: 'KMS', key: KEY_ARN } }))._unsafeUnwrap();
      expect(again).toMatchObject({ created: false, repository: { arn: repoArn(NAME) }, encryption: { type: 'KMS', keyArn: KEY_ARN } });
      expect(again.grants).toHaveLength(2);
      expect(ecr).toHaveReceivedCommandTimes(CreateRepositoryCommand, 1);
    });

    it('says which settings an existing repository was returned without', async () => {
      const registry = fakeRegistry();
      await registry.createEncryptedRepository(input);
      const again = (await registry.createEncryptedRepository({ ...input, lifecyclePolicy: LIFECYCLE }))._unsafeUnwrap();
      expect(again.warnings.find((w) => w.check === 'settings')?.message).toContain('lifecyclePolicy');
      expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
    });

    it('gives EncryptionMismatch with another spec, and creates nothing', async () => {
      const registry = fakeRegistry();
      await registry.createEncryptedRepository(input);
      state.keys.set('alias/other', enabledKey({ Arn: OTHER_KEY_ARN }));
      state.grants.set(OTHER_KEY_ARN, []);
      const error = (await registry.createEncryptedRepository({ ...input, encryption: { type: 'KMS', key: 'alias/other' } }))._unsafeUnwrapErr();
      expect(error).toEqual({
        kind: 'EncryptionMismatch',
        repositoryName: NAME,
        existing: { type: 'KMS', keyArn: KEY_ARN },
        requested: { type: 'KMS', keyArn: OTHER_KEY_ARN, awsManagedKey: false },
        remedy: 'migrateRepository',
      });
      expect((await registry.createEncryptedRepository({ ...input, encryption: 'AES256' }))._unsafeUnwrapErr()).toMatchObject({
        kind: 'EncryptionMismatch',
      });
      expect(ecr).toHaveReceivedCommandTimes(CreateRepositoryCommand, 1);
    });

    it('returns an existing repository as is even when its key has become unusable, with a warning', async () => {
      const registry = fakeRegistry();
      await registry.createEncryptedRepository(input);
      state.keys.set('alias/app', enabledKey({ KeyState: 'Disabled', Enabled: false }));
      const again = (await registry.createEncryptedRepository(input))._unsafeUnwrap();
      expect(again.created).toBe(false);
      expect(again.warnings.find((w) => w.check === 'keyState')).toMatchObject({ severity: 'warning', error: { kind: 'KeyNotUsable' } });
    });

    it('handles losing the race to another creator with the same encryption', async () => {
      ecr.on(CreateRepositoryCommand).callsFake(() => {
        state.repositories.set(NAME, {
          repositoryName: NAME,
          repositoryArn: repoArn(NAME),
          registryId: ACCOUNT,
          repositoryUri: 'u',
          createdAt: NOW,
          encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KEY_ARN },
        });
        return Promise.reject(new RepositoryAlreadyExistsException({ $metadata: {}, message: 'exists' }));
      });
      const result = (await fakeRegistry().createEncryptedRepository(input))._unsafeUnwrap();
      expect(result.created).toBe(false);
      expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    });

    it('gives EncryptionMismatch when the race winner used another key, and never deletes its repository', async () => {
      ecr.on(CreateRepositoryCommand).callsFake(() => {
        state.repositories.set(NAME, { repositoryName: NAME, repositoryArn: repoArn(NAME), createdAt: NOW, encryptionConfiguration: { encryptionType: 'AES256' } });
        return Promise.reject(new RepositoryAlreadyExistsException({ $metadata: {}, message: 'exists' }));
      });
      expect((await fakeRegistry().createEncryptedRepository(input))._unsafeUnwrapErr()).toMatchObject({ kind: 'EncryptionMismatch', existing: { type: 'AES256' } });
      expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    });

    it('gives RepositoryAlreadyExists when the race winner is gone again', async () => {
      ecr.on(CreateRepositoryCommand).rejects(new RepositoryAlreadyExistsException({ $metadata: {}, message: 'exists' }));
      expect((await fakeRegistry().createEncryptedRepository(input))._unsafeUnwrapErr()).toMatchObject({ kind: 'RepositoryAlreadyExists', repositoryName: NAME });
    });
  });

  describe('grant verification', () => {
    it('polls with bounded backoff until ECR\'s grants appear', async () => {
      state.grantsVisibleAfterListings = 3;
      const ctx = fakeContext();
      const created = (await createEncryptedRepository(ctx, input))._unsafeUnwrap();
      expect(created.grants.map((g) => g.grantId)).toEqual([`${NAME}-g1`, `${NAME}-g2`]);
      expect(created.warnings).toEqual([]);
      // One listing in the preflight, then three empty polls before the grants show.
      expect(kms).toHaveReceivedCommandTimes(ListGrantsCommand, 5);
      expect(ctx.slept).toEqual(backoffDelays(FAST_POLL).slice(0, 3));
    });

    it('warns, and still succeeds, when the grants never appear', async () => {
      state.grantsVisibleAfterListings = 1_000;
      const ctx = fakeContext();
      const created = (await createEncryptedRepository(ctx, input))._unsafeUnwrap();
      expect(created).toMatchObject({ created: true, grants: [] });
      expect(created.warnings).toEqual([expect.objectContaining({ check: 'grants', severity: 'warning' })]);
      expect(ctx.slept).toEqual(backoffDelays(FAST_POLL));
    });

    it('ignores grants of an older repository of the same name', async () => {
      state.grants.set(KEY_ARN, [ecrGrant('old', repoArn(NAME), new Date('2025-01-01T00:00:00Z'))]);
      const created = (await createEncryptedRepository(fakeContext(), input))._unsafeUnwrap();
      expect(created.grants.map((g) => g.grantId)).toEqual([`${NAME}-g1`, `${NAME}-g2`]);
    });

    it('warns when the grants cannot be listed after creation', async () => {
      kms
        .on(ListGrantsCommand)
        .resolvesOnce({ Grants: [], Truncated: false })
        .rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
      const created = (await createEncryptedRepository(fakeContext(), input))._unsafeUnwrap();
      expect(created.warnings.find((w) => w.check === 'grants')?.message).toContain('AccessDenied');
    });

    it('lists again after a throttled listing instead of giving up on the grants', async () => {
      const throttled = new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' });
      kms
        .on(ListGrantsCommand)
        .resolvesOnce({ Grants: [], Truncated: false })
        .rejectsOnce(throttled)
        .resolves({ Grants: [ecrGrant(`${NAME}-g1`, repoArn(NAME), NOW), ecrGrant(`${NAME}-g2`, repoArn(NAME), NOW)], Truncated: false });
      const ctx = fakeContext();
      const created = (await createEncryptedRepository(ctx, input))._unsafeUnwrap();
      expect(created.grants.map((g) => g.grantId)).toEqual([`${NAME}-g1`, `${NAME}-g2`]);
      expect(created.warnings).toEqual([]);
      expect(ctx.slept).toEqual(backoffDelays(FAST_POLL).slice(0, 1));
    });

    it('warns when listing stays throttled through the whole poll', async () => {
      kms
        .on(ListGrantsCommand)
        .resolvesOnce({ Grants: [], Truncated: false })
        .rejects(new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));
      const ctx = fakeContext();
      const created = (await createEncryptedRepository(ctx, input))._unsafeUnwrap();
      expect(created.warnings.find((w) => w.check === 'grants')?.message).toContain('Throttled');
      expect(ctx.slept).toEqual(backoffDelays(FAST_POLL));
    });

    it('rolls back when ECR reports another encryption than requested', async () => {
      ecr.on(DescribeRepositoriesCommand).callsFake((i: { repositoryNames?: string[] }) => {
        const repository = state.repositories.get(i.repositoryNames?.[0] ?? '');
        if (!repository) return Promise.reject(new ECRServiceException({ name: 'RepositoryNotFoundException', $fault: 'client', $metadata: {}, message: 'no' }));
        return Promise.resolve({ repositories: [{ ...repository, encryptionConfiguration: { encryptionType: 'KMS', kmsKey: OTHER_KEY_ARN } }] });
      });
      const error = (await createEncryptedRepository(fakeContext(), input))._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'EncryptionMismatch', existing: { keyArn: OTHER_KEY_ARN }, requested: { keyArn: KEY_ARN } });
      expect(ecr).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: NAME, force: false });
    });
  });

  describe('rollback', () => {
    const withPolicy: CreateEncryptedRepositoryInput = { ...input, repositoryPolicy: POLICY, lifecyclePolicy: LIFECYCLE };

    it('deletes the new repository and returns the original error when the repository policy fails', async () => {
      ecr.on(SetRepositoryPolicyCommand).rejects(new InvalidParameterException({ $metadata: {}, message: 'Invalid repository policy provided' }));
      const ctx = fakeContext();
      const error = (await createEncryptedRepository(ctx, withPolicy))._unsafeUnwrapErr();
      expect(error).toEqual({ kind: 'InvalidInput', field: 'repositoryPolicy', reason: 'Invalid repository policy provided' });
      expect(ecr).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: NAME, force: false });
      expect(ecr).not.toHaveReceivedCommand(PutLifecyclePolicyCommand);
      expect(state.repositories.size).toBe(0);
      expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
    });

    it('deletes the new repository when the lifecycle policy fails', async () => {
      ecr.on(PutLifecyclePolicyCommand).rejects(new ECRServiceException({ name: 'ServerException', $fault: 'server', $metadata: {}, message: 'boom' }));
      const error = (await createEncryptedRepository(fakeContext(), withPolicy))._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'AwsServiceError', name: 'ServerException', operation: 'PutLifecyclePolicy' });
      expect(state.repositories.size).toBe(0);
    });

    it('retires grants ECR left behind after the poll gives up', async () => {
      state.deleteRetiresGrants = false;
      ecr.on(SetRepositoryPolicyCommand).rejects(new InvalidParameterException({ $metadata: {}, message: 'bad' }));
      const ctx = fakeContext();
      const error = (await createEncryptedRepository(ctx, withPolicy))._unsafeUnwrapErr();
      expect(error.kind).toBe('InvalidInput');
      expect(kms).toHaveReceivedCommandWith(RetireGrantCommand, { KeyId: KEY_ARN, GrantId: `${NAME}-g1` });
      expect(kms).toHaveReceivedCommandWith(RetireGrantCommand, { KeyId: KEY_ARN, GrantId: `${NAME}-g2` });
      expect(state.grants.get(KEY_ARN)).toEqual([]);
      expect(ctx.slept).toEqual(backoffDelays(FAST_POLL));
    });

    it('gives RollbackFailed with both errors when the deletion fails', async () => {
      ecr.on(SetRepositoryPolicyCommand).rejects(new InvalidParameterException({ $metadata: {}, message: 'bad' }));
      ecr.on(DeleteRepositoryCommand).rejects(new RepositoryNotEmptyException({ $metadata: {}, message: 'someone pushed' }));
      const error = (await createEncryptedRepository(fakeContext(), withPolicy))._unsafeUnwrapErr();
      expect(error).toMatchObject({
        kind: 'RollbackFailed',
        original: { kind: 'InvalidInput', field: 'repositoryPolicy' },
        rollbackErrors: [{ kind: 'RepositoryNotEmpty', repositoryName: NAME }],
      });
    });

    it('gives RollbackFailed when leftover grants cannot be retired', async () => {
      state.deleteRetiresGrants = false;
      ecr.on(SetRepositoryPolicyCommand).rejects(new InvalidParameterException({ $metadata: {}, message: 'bad' }));
      kms.on(RetireGrantCommand).rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no kms:RetireGrant' }));
      const error = (await createEncryptedRepository(fakeContext(), withPolicy))._unsafeUnwrapErr();
      expect(error).toMatchObject({
        kind: 'RollbackFailed',
        original: { kind: 'InvalidInput' },
        rollbackErrors: [{ kind: 'AccessDenied', operation: 'RetireGrant' }, { kind: 'AccessDenied', operation: 'RetireGrant' }],
      });
    });
  });

  it('returns an error from the preflight that cannot run at all', async () => {
    sts.on(GetCallerIdentityCommand).rejects(new KMSServiceException({ name: 'ExpiredTokenException', $fault: 'client', $metadata: {}, message: 'expired' }));
    expect((await fakeRegistry().createEncryptedRepository(input))._unsafeUnwrapErr()).toMatchObject({ kind: 'CredentialsError', service: 'sts' });
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
  });

  describe('AWS failures on the way', () => {
    it('gives RepositoryNotFound when the new repository disappears while its settings are applied', async () => {
      ecr.on(SetRepositoryPolicyCommand).callsFake(() => {
        state.repositories.delete(NAME);
        return Promise.reject(new RepositoryNotFoundException({ $metadata: {}, message: 'gone' }));
      });
      const error = (await createEncryptedRepository(fakeContext(), { ...input, repositoryPolicy: POLICY }))._unsafeUnwrapErr();
      // The rollback finds nothing to delete: only the original error remains.
      expect(error).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: NAME });
    });

    it('gives AccessDenied when the repository cannot be looked up', async () => {
      ecr.on(DescribeRepositoriesCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'no' }));
      expect((await createEncryptedRepository(fakeContext(), input))._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', service: 'ecr' });
      expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
    });

    it('gives Throttled when KMS keeps throttling', async () => {
      kms.on(DescribeKeyCommand).rejects(new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'slow down' }));
      const error = (await createEncryptedRepository(fakeContext(), input))._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'Throttled', service: 'kms', operation: 'DescribeKey' });
      expect(isRetryable(error)).toBe(true);
    });

    it('gives NetworkError when ECR cannot be reached', async () => {
      ecr.on(CreateRepositoryCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { code: 'ECONNREFUSED' }));
      expect((await createEncryptedRepository(fakeContext(), input))._unsafeUnwrapErr()).toMatchObject({ kind: 'NetworkError', operation: 'CreateRepository' });
    });

    it('gives SdkClientError when no region is configured, but reports wrong input first', async () => {
      const ctx = fakeContext({ region: () => errAsync({ kind: 'SdkClientError', service: 'ecr', operation: 'ResolveRegion', cause: undefined, message: 'no region' }) });
      expect((await createEncryptedRepository(ctx, input))._unsafeUnwrapErr()).toMatchObject({ kind: 'SdkClientError' });
      expect((await createEncryptedRepository(ctx, { ...input, repositoryName: 'A' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidRepositoryName' });
    });
  });

  it('never simulates or describes the key more than once', async () => {
    await fakeRegistry().createEncryptedRepository(input);
    expect(kms).toHaveReceivedCommandTimes(DescribeKeyCommand, 1);
    // ECR actions; kms:CreateGrant in the grant's context; DescribeKey and RetireGrant in the forwarded one.
    expect(iam).toHaveReceivedCommandTimes(SimulatePrincipalPolicyCommand, 3);
  });
});
