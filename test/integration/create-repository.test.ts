/**
 * createEncryptedRepository and preflight through real SDK clients over HTTP against the local
 * emulator: ECR calls KMS as the caller, so what is checked here is what AWS would do.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateGrantCommand, CreateKeyCommand, DisableKeyCommand, type KMSClient, ReplicateKeyCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CreateEncryptedRepositoryError, EncryptedRegistry, EncryptionSpec } from '../../src/index.js';
import { ApiError, type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor, registryFor, userWithout } from '../helpers/local-aws.js';

const OTHER_REGION = 'eu-west-1';

let aws: LocalAws;
let registry: EncryptedRegistry;
let kms: KMSClient;
let ecr: ECRClient;
let key: { arn: string; id: string };

beforeAll(async () => {
  aws = await startLocalAws({ regions: ['us-east-1', OTHER_REGION] });
  registry = registryFor(aws);
  kms = kmsFor(aws);
  ecr = new ECRClient(aws.clientConfig());
  key = await createKey(kms, { alias: 'alias/app' });
});
afterAll(async () => {
  registry.destroy();
  kms.destroy();
  ecr.destroy();
  await aws.stop();
});

const ecrGrantsOf = (keyArn: string, repositoryArn: string) =>
  aws.inspect.grants(keyArn).filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn'] === repositoryArn);
const createCalls = (): number => aws.inspect.calls({ service: 'ecr', operation: 'CreateRepository' }).length;
const exists = (name: string): boolean => aws.inspect.ecr?.repositories().some((r) => r.repositoryName === name) ?? false;

describe('createEncryptedRepository: KMS with a customer key', () => {
  it('creates with the canonical key ARN when given an alias, and returns ECR\'s two grants', async () => {
    const created = (await registry.createEncryptedRepository({ repositoryName: 'team/by-alias', encryption: { type: 'KMS', key: 'alias/app' } }))._unsafeUnwrap();

    expect(created.created).toBe(true);
    expect(created.encryption).toEqual({ type: 'KMS', keyArn: key.arn, awsManagedKey: false });
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['team/by-alias'] }));
    expect(described.repositories?.[0]?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: key.arn });
    // The ARN itself went to ECR, not the alias.
    const onKey = ecrGrantsOf(key.arn, created.repository.arn);
    expect(onKey).toHaveLength(2);
    expect(new Set(created.grants.map((g) => g.grantId))).toEqual(new Set(onKey.map((g) => g.grantId)));
    for (const grant of onKey) {
      expect(grant.granteePrincipal).toBe('ecr.us-east-1.amazonaws.com');
      expect(grant.retiringPrincipal).toBe('ecr.us-east-1.amazonaws.com');
    }
    // ECR made those grants as the caller, through the forward access session.
    const grantCalls = aws.inspect.calls({ service: 'kms', operation: 'CreateGrant' }).filter((c) => c.viaService === 'ecr.us-east-1.amazonaws.com');
    expect(grantCalls.length).toBeGreaterThanOrEqual(2);
    expect(created.warnings.filter((w) => w.check === 'grants')).toEqual([]);
  });

  it('is idempotent: the same spec again (by key id) gives created: false and the same grants', async () => {
    const first = (await registry.createEncryptedRepository({ repositoryName: 'team/twice', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    const callsBefore = createCalls();

    const again = (await registry.createEncryptedRepository({ repositoryName: 'team/twice', encryption: { type: 'KMS', key: key.id } }))._unsafeUnwrap();

    expect(again.created).toBe(false);
    expect(again.repository.arn).toBe(first.repository.arn);
    expect(new Set(again.grants.map((g) => g.grantId))).toEqual(new Set(first.grants.map((g) => g.grantId)));
    expect(createCalls()).toBe(callsBefore);
    expect(ecrGrantsOf(key.arn, first.repository.arn)).toHaveLength(2);
  });

  it('answers EncryptionMismatch for another key or another type, and changes nothing', async () => {
    const other = await createKey(kms);
    await registry.createEncryptedRepository({ repositoryName: 'team/mismatch', encryption: { type: 'KMS', key: key.arn } });
    const callsBefore = createCalls();

    const otherKey = await registry.createEncryptedRepository({ repositoryName: 'team/mismatch', encryption: { type: 'KMS', key: other.arn } });
    const aes = await registry.createEncryptedRepository({ repositoryName: 'team/mismatch', encryption: 'AES256' });

    expect(otherKey._unsafeUnwrapErr()).toMatchObject({
      kind: 'EncryptionMismatch',
      existing: { type: 'KMS', keyArn: key.arn },
      requested: { type: 'KMS', keyArn: other.arn },
      remedy: 'migrateRepository',
    });
    expect(aes._unsafeUnwrapErr()).toMatchObject({ kind: 'EncryptionMismatch', requested: { type: 'AES256' } });
    expect(createCalls()).toBe(callsBefore);
    expect(aws.inspect.grants(other.arn)).toEqual([]);
  });
});

describe('createEncryptedRepository: the AWS-managed key and AES256', () => {
  it('creates with aws/ecr (made on first use) and returns its grants', async () => {
    const created = (await registry.createEncryptedRepository({ repositoryName: 'team/managed', encryption: { type: 'KMS' } }))._unsafeUnwrap();

    const managed = aws.inspect.keys().find((k) => k.aliases.includes('alias/aws/ecr'));
    expect(managed?.keyManager).toBe('AWS');
    expect(created.encryption).toEqual({ type: 'KMS', keyArn: managed?.arn, awsManagedKey: true });
    expect(created.awsManagedKeyCreated).toBe(true);
    expect(created.grants).toHaveLength(2);
    expect(aws.inspect.ecr?.repositories().find((r) => r.repositoryName === 'team/managed')?.kmsKey).toBe(managed?.arn);
  });

  it('creates an AES256 repository with no grants, idempotently', async () => {
    const created = (await registry.createEncryptedRepository({ repositoryName: 'team/aes', encryption: 'AES256' }))._unsafeUnwrap();
    const again = (await registry.createEncryptedRepository({ repositoryName: 'team/aes', encryption: { type: 'AES256' } }))._unsafeUnwrap();

    expect(created).toMatchObject({ created: true, encryption: { type: 'AES256' }, grants: [] });
    expect(again.created).toBe(false);
    expect(aws.inspect.ecr?.repositories().find((r) => r.repositoryName === 'team/aes')?.encryptionType).toBe('AES256');
  });
});

describe('createEncryptedRepository: bad input is refused before ECR is called, and nothing is created', () => {
  const refused = async (
    repositoryName: string,
    encryption: EncryptionSpec,
    as: EncryptedRegistry = registry,
  ): Promise<CreateEncryptedRepositoryError> => {
    const callsBefore = createCalls();
    const result = await as.createEncryptedRepository({ repositoryName, encryption });
    expect(createCalls()).toBe(callsBefore);
    expect(exists(repositoryName)).toBe(false);
    return result._unsafeUnwrapErr();
  };

  it('a malformed name: InvalidRepositoryName', async () => {
    expect(await refused('Team/App', { type: 'KMS', key: 'alias/app' })).toMatchObject({ kind: 'InvalidRepositoryName', repositoryName: 'Team/App' });
  });

  it('a malformed key reference: InvalidEncryption', async () => {
    expect(await refused('bad/key-ref', { type: 'KMS', key: 'not a key' })).toMatchObject({ kind: 'InvalidEncryption' });
  });

  it('a key in another region: KeyRegionMismatch', async () => {
    const remote = await createKey(kmsFor(aws, undefined, OTHER_REGION));
    expect(await refused('bad/region', { type: 'KMS', key: remote.arn })).toEqual({
      kind: 'KeyRegionMismatch',
      keyArn: remote.arn,
      keyRegion: OTHER_REGION,
      repositoryRegion: 'us-east-1',
    });
  });

  it('a key that does not exist: KeyNotFound', async () => {
    expect(await refused('bad/missing', { type: 'KMS', key: 'alias/missing' })).toMatchObject({ kind: 'KeyNotFound', key: 'alias/missing' });
  });

  it('a disabled key: KeyNotUsable Disabled', async () => {
    const disabled = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
    expect(await refused('bad/disabled', { type: 'KMS', key: disabled.arn })).toMatchObject({ kind: 'KeyNotUsable', keyArn: disabled.arn, reason: 'Disabled' });
  });

  it('an asymmetric key: KeyNotUsable WrongKeySpec', async () => {
    const rsa = await createKey(kms, { input: { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' } });
    expect(await refused('bad/asymmetric', { type: 'KMS', key: rsa.arn })).toMatchObject({ kind: 'KeyNotUsable', reason: 'WrongKeySpec' });
  });

  it('a signing key: KeyNotUsable WrongKeyUsage', async () => {
    const signing = await createKey(kms, { input: { KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' } });
    const error = await refused('bad/signing', { type: 'KMS', key: signing.arn });
    expect(error).toMatchObject({ kind: 'KeyNotUsable' });
  });

  it('a key pending deletion: KeyNotUsable PendingDeletion', async () => {
    const doomed = await createKey(kms);
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.id, PendingWindowInDays: 7 }));
    const error = await refused('bad/pending-deletion', { type: 'KMS', key: doomed.arn });
    expect(error).toMatchObject({ kind: 'KeyNotUsable', reason: 'PendingDeletion' });
  });

  it('a caller without kms:CreateGrant: MissingPermissions naming it', async () => {
    const user = userWithout(aws, 'no-create-grant', 'kms:CreateGrant');
    const asUser = registryFor(aws, user);
    try {
      expect(await refused('bad/no-grant', { type: 'KMS', key: 'alias/app' }, asUser)).toEqual({
        kind: 'MissingPermissions',
        principalArn: user.arn,
        actions: ['kms:CreateGrant'],
        source: 'iam-simulation',
      });
    } finally {
      asUser.destroy();
    }
  });

  it('a caller without ecr:CreateRepository: MissingPermissions, and no grant was made', async () => {
    const user = aws.principals.createUser('no-create-repo', {
      policies: [allow([['ecr:DescribeRepositories', 'kms:*', 'iam:SimulatePrincipalPolicy']])],
    });
    const asUser = registryFor(aws, user);
    try {
      expect(await refused('bad/no-create', { type: 'KMS', key: 'alias/app' }, asUser)).toMatchObject({
        kind: 'MissingPermissions',
        actions: ['ecr:CreateRepository'],
      });
      expect(aws.inspect.calls({ principal: user.arn, operation: 'CreateGrant' })).toHaveLength(0);
    } finally {
      asUser.destroy();
    }
  });

  it('the preflight reports every problem at once, without creating anything', async () => {
    const disabled = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
    const report = (await registry.preflight({ repositoryName: 'team/preflight', encryption: { type: 'KMS', key: disabled.arn }, tags: [{ Key: 'aws:x', Value: '1' }] }))._unsafeUnwrap();
    expect(report.ok).toBe(false);
    expect(report.findings.filter((f) => f.severity === 'error').map((f) => f.error?.kind)).toEqual(expect.arrayContaining(['InvalidInput', 'KeyNotUsable']));
    expect(exists('team/preflight')).toBe(false);
  });
});

describe('createEncryptedRepository: rollback', () => {
  it('deletes the new repository and retires its grants when a setting fails, and returns the setting\'s error', async () => {
    const rolled = await createKey(kms);
    const callsBefore = createCalls();

    // ECR validates lifecycle rules; the library only checks that it is a JSON object of the right size.
    const result = await registry.createEncryptedRepository({
      repositoryName: 'team/rollback',
      encryption: { type: 'KMS', key: rolled.arn },
      lifecyclePolicy: JSON.stringify({ description: 'no rules array here', padding: 'x'.repeat(100) }),
    });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'lifecyclePolicy' });
    expect(createCalls()).toBe(callsBefore + 1);
    expect(exists('team/rollback')).toBe(false);
    const grants = aws.inspect.grants(rolled.arn);
    expect(grants).toHaveLength(2);
    expect(grants.every((g) => g.retired)).toBe(true);
  });

  it('a throttled ListGrants while rolling back (no SDK retries) is listed again, not a failed rollback', async () => {
    const rolled = await createKey(kms);
    const impatient = registryFor(aws, undefined, { maxAttempts: 1 });
    // Every second ListGrants is throttled: the preflight's passes, the rollback's first check does not.
    const fault = aws.faults.throttle({ operation: 'kms:ListGrants', every: 2 });
    try {
      const result = await impatient.createEncryptedRepository({
        repositoryName: 'team/rollback-throttled',
        encryption: { type: 'KMS', key: rolled.arn },
        lifecyclePolicy: JSON.stringify({ description: 'no rules array here', padding: 'x'.repeat(100) }),
      });
      expect(result.isErr() ? result.error.kind : 'ok').toBe('InvalidInput');
    } finally {
      fault.remove();
      impatient.destroy();
    }
    expect(exists('team/rollback-throttled')).toBe(false);
  });

  it('a throttled ListGrants after creating (no SDK retries) does not cost the grant verification', async () => {
    const verified = await createKey(kms);
    const impatient = registryFor(aws, undefined, { maxAttempts: 1 });
    const fault = aws.faults.throttle({ operation: 'kms:ListGrants', every: 2 });
    try {
      const created = (await impatient.createEncryptedRepository({ repositoryName: 'team/verify-throttled', encryption: { type: 'KMS', key: verified.arn } }))._unsafeUnwrap();
      expect(created.grants).toHaveLength(2);
      expect(created.warnings.filter((w) => w.check === 'grants')).toEqual([]);
    } finally {
      fault.remove();
      impatient.destroy();
    }
  });

  it('reports RollbackFailed when undoing fails too', async () => {
    const rolled = await createKey(kms);
    const policyFault = aws.faults.failNth('ecr:SetRepositoryPolicy', 1, new ApiError('InvalidParameterException', 'Invalid repository policy provided'));
    const deleteFault = aws.faults.serverError({ operation: 'ecr:DeleteRepository' });
    const withoutRetries = registryFor(aws, undefined, { maxAttempts: 1 });
    try {
      const result = await withoutRetries.createEncryptedRepository({
        repositoryName: 'team/rollback-fails',
        encryption: { type: 'KMS', key: rolled.arn },
        repositoryPolicy: { Version: '2012-10-17', Statement: [] },
      });
      expect(result._unsafeUnwrapErr()).toMatchObject({
        kind: 'RollbackFailed',
        original: { kind: 'InvalidInput', field: 'repositoryPolicy' },
        rollbackErrors: [{ kind: 'AwsServiceError', fault: 'server', operation: 'DeleteRepository' }],
      });
    } finally {
      policyFault.remove();
      deleteFault.remove();
      withoutRetries.destroy();
    }
    // Left for a person to clean up, and said so.
    expect(exists('team/rollback-fails')).toBe(true);
  });
});

describe('preflight: the key policy, as ECR would apply it', () => {
  it('lets a key policy that allows the caller only through ECR clear the IAM simulation\'s implicit deny', async () => {
    // The creator's IAM policies lack kms:CreateGrant and kms:DescribeKey; the key policy grants them through ECR only.
    const creator = userWithout(aws, 'via-ecr-only', 'kms:CreateGrant', 'kms:DescribeKey');
    const viaEcr = { StringEquals: { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com', 'kms:CallerAccount': aws.account } };
    const scoped = await createKey(kms, {
      input: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'kms:*', Resource: '*' },
            { Sid: 'UseThroughEcr', Effect: 'Allow', Principal: { AWS: creator.arn }, Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: '*', Condition: viaEcr },
            { Sid: 'DescribeForPreflight', Effect: 'Allow', Principal: { AWS: creator.arn }, Action: 'kms:DescribeKey', Resource: '*' },
          ],
        }),
      },
    });
    const asCreator = registryFor(aws, creator);
    const creatorKms = kmsFor(aws, creator);
    try {
      const report = (await asCreator.preflight({ repositoryName: 'team/key-policy-ok', encryption: { type: 'KMS', key: scoped.arn } }))._unsafeUnwrap();
      expect(report.findings.filter((f) => f.severity === 'error')).toEqual([]);
      expect(report.findings.find((f) => f.check === 'keyPolicy')?.message).toContain('kms:CreateGrant');

      const created = await asCreator.createEncryptedRepository({ repositoryName: 'team/key-policy-ok', encryption: { type: 'KMS', key: scoped.arn } });
      expect(created._unsafeUnwrap().grants).toHaveLength(2);

      // Outside ECR the same caller may not create a grant: the emulator agrees with the evaluation.
      await expect(
        creatorKms.send(new CreateGrantCommand({ KeyId: scoped.arn, GranteePrincipal: creator.arn, Operations: ['Decrypt'] })),
      ).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      asCreator.destroy();
      creatorKms.destroy();
    }
  });

  it('refuses, before ECR is called, when the key policy denies CreateGrant through ECR though IAM allows it', async () => {
    const denying = await createKey(kms, {
      input: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Sid: 'Admin', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Sid: 'NoEcrGrants',
              Effect: 'Deny',
              Principal: { AWS: '*' },
              Action: 'kms:CreateGrant',
              Resource: '*',
              Condition: { StringLike: { 'kms:ViaService': 'ecr.*.amazonaws.com' } },
            },
          ],
        }),
      },
    });
    const callsBefore = createCalls();

    const result = await registry.createEncryptedRepository({ repositoryName: 'team/key-policy-denied', encryption: { type: 'KMS', key: denying.arn } });

    expect(result._unsafeUnwrapErr()).toEqual({
      kind: 'MissingPermissions',
      principalArn: aws.principals.default.arn,
      actions: ['kms:CreateGrant'],
      source: 'key-policy',
    });
    expect(createCalls()).toBe(callsBefore);
    expect(exists('team/key-policy-denied')).toBe(false);
    // And ECR itself would have failed: the same key, asked directly, answers KmsException.
    const direct = await ecr
      .send(
        new CreateRepositoryCommand({
          repositoryName: 'team/key-policy-direct',
          encryptionConfiguration: { encryptionType: 'KMS', kmsKey: denying.arn },
        }),
      )
      .catch((e: unknown) => e);
    expect(direct).toMatchObject({ name: 'KmsException', kmsError: 'AccessDeniedException' });
    expect(exists('team/key-policy-direct')).toBe(false);
  });
});

describe('callers and regions', () => {
  it('an assumed-role session: GetRole finds the role with its path, the key policy naming the role lets it create', async () => {
    const role = aws.principals.createRole('deployer', {
      path: '/teams/platform/',
      policies: [allow([['ecr:*', 'kms:DescribeKey', 'kms:ListGrants', 'kms:RetireGrant', 'kms:GetKeyPolicy', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']])],
    });
    expect(role.arn).toBe(`arn:aws:iam::${aws.account}:role/teams/platform/deployer`);
    const roleKey = await createKey(kms, {
      input: {
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'kms:*', Resource: '*' },
            {
              Effect: 'Allow',
              Principal: { AWS: role.arn },
              Action: ['kms:CreateGrant', 'kms:DescribeKey'],
              Resource: '*',
              Condition: { StringEquals: { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' } },
            },
          ],
        }),
      },
    });
    const session = aws.principals.assumeRole('deployer', 'ci-run');
    const asRole = registryFor(aws, session);
    try {
      const report = (await asRole.preflight({ repositoryName: 'role/app', encryption: { type: 'KMS', key: roleKey.arn } }))._unsafeUnwrap();
      expect(report.facts).toMatchObject({ callerArn: session.arn, roleArn: role.arn });
      expect(report.findings.find((f) => f.check === 'permissions')?.message).toContain('kms:CreateGrant by the key policy');

      const created = (await asRole.createEncryptedRepository({ repositoryName: 'role/app', encryption: { type: 'KMS', key: roleKey.arn } }))._unsafeUnwrap();
      expect(created.grants).toHaveLength(2);
      // ECR made the grants as the session, through the forward access session.
      expect(aws.inspect.calls({ principal: session.arn, operation: 'CreateGrant' }).filter((c) => c.viaService !== undefined)).toHaveLength(2);
      expect((await asRole.deleteRepository({ repositoryName: 'role/app' }))._unsafeUnwrap().verified).toBe(true);
    } finally {
      asRole.destroy();
    }
  });

  it('works in a second region, with a multi-Region key\'s replica there; the primary\'s ARN is KeyRegionMismatch', async () => {
    const { KeyMetadata: primary } = await kms.send(new CreateKeyCommand({ MultiRegion: true }));
    const { ReplicaKeyMetadata: replica } = await kms.send(new ReplicateKeyCommand({ KeyId: primary?.KeyId, ReplicaRegion: OTHER_REGION }));
    const eu = registryFor(aws, undefined, { region: OTHER_REGION });
    try {
      const created = (await eu.createEncryptedRepository({ repositoryName: 'eu/app', encryption: { type: 'KMS', key: replica?.Arn ?? '' } }))._unsafeUnwrap();
      expect(created.repository.arn).toBe(`arn:aws:ecr:${OTHER_REGION}:${aws.account}:repository/eu/app`);
      expect(created.encryption.keyArn).toBe(replica?.Arn);
      expect(created.grants).toHaveLength(2);
      expect(aws.inspect.grants(replica?.Arn ?? '').every((g) => g.granteePrincipal === `ecr.${OTHER_REGION}.amazonaws.com`)).toBe(true);

      const wrong = await eu.createEncryptedRepository({ repositoryName: 'eu/primary', encryption: { type: 'KMS', key: primary?.Arn ?? '' } });
      expect(wrong._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyRegionMismatch', keyRegion: 'us-east-1', repositoryRegion: OTHER_REGION });

      // The same name in the default region is another repository.
      expect(exists('eu/app')).toBe(true);
      expect(aws.inspect.ecr?.repositories('us-east-1').some((r) => r.repositoryName === 'eu/app')).toBe(false);
      expect((await eu.deleteRepository({ repositoryName: 'eu/app' }))._unsafeUnwrap().verified).toBe(true);
    } finally {
      eu.destroy();
    }
  });

  it('a caller without kms:ListGrants creates, with warnings that grants were neither counted nor verified', async () => {
    const user = userWithout(aws, 'no-list-grants', 'kms:ListGrants');
    const asUser = registryFor(aws, user);
    try {
      const created = (await asUser.createEncryptedRepository({ repositoryName: 'perm/no-list', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(created.created).toBe(true);
      expect(created.grants).toEqual([]);
      expect(created.warnings.map((w) => w.check)).toEqual(expect.arrayContaining(['grantHeadroom', 'grants']));
      // The grants are there all the same.
      expect(ecrGrantsOf(key.arn, created.repository.arn)).toHaveLength(2);
    } finally {
      asUser.destroy();
    }
  });

  it('a caller who may not simulate its policies still creates, warned that permissions were not checked', async () => {
    const user = userWithout(aws, 'no-simulate', 'iam:SimulatePrincipalPolicy');
    const asUser = registryFor(aws, user);
    try {
      const created = (await asUser.createEncryptedRepository({ repositoryName: 'perm/no-simulate', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(created.created).toBe(true);
      expect(created.warnings.find((w) => w.check === 'permissions')?.message).toContain('could not run');
    } finally {
      asUser.destroy();
    }
  });

  it('tags need ecr:TagResource too: refused before ECR is called', async () => {
    const user = aws.principals.createUser('no-tag', {
      policies: [allow([['ecr:CreateRepository', 'ecr:DescribeRepositories', 'kms:*', 'iam:SimulatePrincipalPolicy']])],
    });
    const asUser = registryFor(aws, user);
    try {
      const callsBefore = createCalls();
      const result = await asUser.createEncryptedRepository({ repositoryName: 'perm/no-tag', encryption: 'AES256', tags: [{ Key: 'team', Value: 'a' }] });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'MissingPermissions', actions: ['ecr:TagResource'] });
      expect(createCalls()).toBe(callsBefore);
    } finally {
      asUser.destroy();
    }
  });
});
