import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  DisabledException,
  DryRunOperationException,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  IncorrectKeyException,
  InvalidCiphertextException,
  InvalidMarkerException,
  KMSClient,
  KMSInvalidStateException,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  MalformedPolicyDocumentException,
  NotFoundException,
  PutKeyPolicyCommand,
  ReplicateKeyCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  ScheduleKeyDeletionCommand,
  AlreadyExistsException,
  EnableKeyRotationCommand,
  GetKeyRotationStatusCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws, type PrincipalHandle } from '../../src/testing/index.js';

let aws: LocalAws;
let kms: KMSClient;
const kmsAs = (who: PrincipalHandle, region?: string): KMSClient =>
  new KMSClient({ ...aws.clientConfig({ credentials: who.credentials, ...(region ? { region } : {}) }), maxAttempts: 1 });
const newKey = async (client: KMSClient = kms, input: ConstructorParameters<typeof CreateKeyCommand>[0] = {}) => {
  const { KeyMetadata } = await client.send(new CreateKeyCommand(input));
  return { arn: KeyMetadata!.Arn!, id: KeyMetadata!.KeyId! };
};

beforeAll(async () => {
  aws = await startLocalAws({ regions: ['us-east-1', 'eu-west-1'] });
  kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  kms.destroy();
  await aws.stop();
});

describe('KMS keys', () => {
  it('creates a symmetric key and describes it by ID, ARN, alias and alias ARN', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'app', Tags: [{ TagKey: 'team', TagValue: 'core' }] }));
    expect(KeyMetadata).toMatchObject({
      AWSAccountId: '111122223333',
      KeyState: 'Enabled',
      Enabled: true,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyManager: 'CUSTOMER',
      Origin: 'AWS_KMS',
      MultiRegion: false,
      Description: 'app',
    });
    expect(KeyMetadata!.CreationDate).toBeInstanceOf(Date);
    expect(KeyMetadata!.Arn).toBe(`arn:aws:kms:us-east-1:111122223333:key/${KeyMetadata!.KeyId}`);
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: KeyMetadata!.KeyId }));
    for (const ref of [KeyMetadata!.KeyId!, KeyMetadata!.Arn!, 'alias/app', 'arn:aws:kms:us-east-1:111122223333:alias/app']) {
      const described = await kms.send(new DescribeKeyCommand({ KeyId: ref }));
      expect(described.KeyMetadata!.Arn).toBe(KeyMetadata!.Arn);
    }
    const tags = await kms.send(new ListResourceTagsCommand({ KeyId: KeyMetadata!.KeyId }));
    expect(tags.Tags).toEqual([{ TagKey: 'team', TagValue: 'core' }]);
    await expect(kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: KeyMetadata!.KeyId }))).rejects.toBeInstanceOf(AlreadyExistsException);
    await kms.send(new DeleteAliasCommand({ AliasName: 'alias/app' }));
    await expect(kms.send(new DescribeKeyCommand({ KeyId: 'alias/app' }))).rejects.toThrow(/alias\/app is not found/);
  });

  it('answers NotFoundException for an unknown key, and keys are per region', async () => {
    const error = await kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-0000-0000-000000000000' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundException);
    expect((error as NotFoundException).$metadata.httpStatusCode).toBe(404);
    const key = await newKey();
    const eu = kmsAs(aws.principals.default, 'eu-west-1');
    await expect(eu.send(new DescribeKeyCommand({ KeyId: key.id }))).rejects.toBeInstanceOf(NotFoundException);
    expect(aws.inspect.keys('eu-west-1').some((k) => k.arn === key.arn)).toBe(false);
  });

  it('creates asymmetric and multi-Region keys, replicates them, and refuses a spec/usage mismatch', async () => {
    const rsa = await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }));
    expect(rsa.KeyMetadata).toMatchObject({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    expect(rsa.KeyMetadata!.SigningAlgorithms).toContain('RSASSA_PSS_SHA_256');
    const bad = await kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'ENCRYPT_DECRYPT' })).catch((e: unknown) => e);
    expect((bad as Error).name).toBe('ValidationException');

    const mrk = await kms.send(new CreateKeyCommand({ MultiRegion: true }));
    expect(mrk.KeyMetadata!.KeyId).toMatch(/^mrk-/);
    const replica = await kms.send(new ReplicateKeyCommand({ KeyId: mrk.KeyMetadata!.Arn, ReplicaRegion: 'eu-west-1' }));
    expect(replica.ReplicaKeyMetadata).toMatchObject({ KeyId: mrk.KeyMetadata!.KeyId, MultiRegion: true });
    expect(replica.ReplicaKeyMetadata!.MultiRegionConfiguration).toMatchObject({ MultiRegionKeyType: 'REPLICA', PrimaryKey: { Region: 'us-east-1' } });
    // Ciphertext from the primary decrypts in the replica's region: the key material is shared.
    const sealed = await kms.send(new EncryptCommand({ KeyId: mrk.KeyMetadata!.Arn, Plaintext: Buffer.from('hi') }));
    const eu = kmsAs(aws.principals.default, 'eu-west-1');
    const opened = await eu.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('hi');
    await expect(kms.send(new ReplicateKeyCommand({ KeyId: mrk.KeyMetadata!.Arn, ReplicaRegion: 'eu-west-1' }))).rejects.toBeInstanceOf(AlreadyExistsException);
  });

  it('creates the AWS managed key aws/ecr on the first DescribeKey, as AWS does', async () => {
    const before = await kms.send(new ListAliasesCommand({}));
    expect(before.Aliases!.find((a) => a.AliasName === 'alias/aws/ecr')?.TargetKeyId).toBeUndefined();
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ecr' }));
    expect(KeyMetadata).toMatchObject({ KeyManager: 'AWS', KeyState: 'Enabled' });
    const again = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ecr' }));
    expect(again.KeyMetadata!.Arn).toBe(KeyMetadata!.Arn);
    const after = await kms.send(new ListAliasesCommand({ KeyId: KeyMetadata!.KeyId }));
    expect(after.Aliases).toEqual([expect.objectContaining({ AliasName: 'alias/aws/ecr', TargetKeyId: KeyMetadata!.KeyId })]);
    const policy = await kms.send(new GetKeyPolicyCommand({ KeyId: KeyMetadata!.Arn }));
    expect(policy.Policy).toContain('ecr.us-east-1.amazonaws.com');
  });

  it('pages ListKeys with Limit and Marker', async () => {
    const eu = kmsAs(aws.principals.default, 'eu-west-1');
    const created = [await newKey(eu), await newKey(eu), await newKey(eu)];
    const seen: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    do {
      const page = await eu.send(new ListKeysCommand({ Limit: 1, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...page.Keys!.map((k) => k.KeyArn!));
      marker = page.Truncated ? page.NextMarker : undefined;
      pages += 1;
    } while (marker);
    expect(seen).toEqual(expect.arrayContaining(created.map((k) => k.arn)));
    expect(pages).toBe(seen.length);
    await expect(eu.send(new ListKeysCommand({ Marker: 'bm9wZQ' }))).rejects.toBeInstanceOf(InvalidMarkerException);
  });

  it('reads and writes key policies, with the default root policy and the lockout check', async () => {
    const key = await newKey();
    const { Policy, PolicyName } = await kms.send(new GetKeyPolicyCommand({ KeyId: key.id }));
    expect(PolicyName).toBe('default');
    expect(JSON.parse(Policy!)).toMatchObject({
      Statement: [{ Sid: 'Enable IAM User Permissions', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*' }],
    });
    const lockout = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/someone' }, Action: 'kms:*', Resource: '*' }] });
    await expect(kms.send(new PutKeyPolicyCommand({ KeyId: key.id, Policy: lockout }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    await expect(kms.send(new PutKeyPolicyCommand({ KeyId: key.id, Policy: '{not json' }))).rejects.toBeInstanceOf(MalformedPolicyDocumentException);
    const narrower = Policy!.replace('Enable IAM User Permissions', 'Root');
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.id, Policy: narrower }));
    expect((await kms.send(new GetKeyPolicyCommand({ KeyId: key.id }))).Policy).toBe(narrower);
    await expect(kms.send(new GetKeyPolicyCommand({ KeyId: key.id, PolicyName: 'other' }))).rejects.toBeInstanceOf(NotFoundException);
  });

  it('answers key-state errors as AWS does: disabled, pending deletion, cancelled', async () => {
    const key = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    const disabled = await kms.send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256' })).catch((e: unknown) => e);
    expect(disabled).toBeInstanceOf(DisabledException);
    expect((disabled as Error).message).toBe(`${key.arn} is disabled.`);
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled', Enabled: false });
    await kms.send(new EnableKeyCommand({ KeyId: key.id }));

    const scheduled = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 7 }));
    expect(scheduled).toMatchObject({ KeyId: key.arn, KeyState: 'PendingDeletion', PendingWindowInDays: 7 });
    expect(scheduled.DeletionDate).toBeInstanceOf(Date);
    const pending = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x') })).catch((e: unknown) => e);
    expect(pending).toBeInstanceOf(KMSInvalidStateException);
    expect((pending as Error).message).toBe(`${key.arn} is pending deletion.`);
    await expect(kms.send(new EnableKeyCommand({ KeyId: key.id }))).rejects.toBeInstanceOf(KMSInvalidStateException);
    const described = await kms.send(new DescribeKeyCommand({ KeyId: key.id }));
    expect(described.KeyMetadata!.DeletionDate).toBeInstanceOf(Date);
    await kms.send(new CancelKeyDeletionCommand({ KeyId: key.id }));
    expect((await kms.send(new DescribeKeyCommand({ KeyId: key.id }))).KeyMetadata).toMatchObject({ KeyState: 'Disabled' });
    const window = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.id, PendingWindowInDays: 3 })).catch((e: unknown) => e);
    expect((window as Error).name).toBe('ValidationException');
  });

  it('reports and toggles automatic key rotation', async () => {
    const key = await newKey();
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.id }))).KeyRotationEnabled).toBe(false);
    await kms.send(new EnableKeyRotationCommand({ KeyId: key.id }));
    expect(await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.arn }))).toMatchObject({ KeyRotationEnabled: true, RotationPeriodInDays: 365 });
    const rsa = await newKey(kms, { KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
    await expect(kms.send(new GetKeyRotationStatusCommand({ KeyId: rsa.id }))).rejects.toMatchObject({ name: 'UnsupportedOperationException' });
  });
});

describe('KMS cryptography', () => {
  it('round-trips Encrypt/Decrypt and GenerateDataKey, bound to the encryption context', async () => {
    const key = await newKey();
    const context = { 'aws:ecr:arn': 'arn:aws:ecr:us-east-1:111122223333:repository/app' };
    const sealed = await kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('secret'), EncryptionContext: context }));
    expect(sealed.KeyId).toBe(key.arn);
    const opened = await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(opened.Plaintext!).toString()).toBe('secret');
    expect(opened.KeyId).toBe(key.arn);
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { 'aws:ecr:arn': 'other' } }))).rejects.toBeInstanceOf(
      InvalidCiphertextException,
    );
    const other = await newKey();
    await expect(kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: context, KeyId: other.arn }))).rejects.toBeInstanceOf(
      IncorrectKeyException,
    );

    const dataKey = await kms.send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256', EncryptionContext: context }));
    expect(dataKey.Plaintext).toHaveLength(32);
    const unwrapped = await kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob, EncryptionContext: context }));
    expect(Buffer.from(unwrapped.Plaintext!).equals(Buffer.from(dataKey.Plaintext!))).toBe(true);
    const noSpec = await kms.send(new GenerateDataKeyCommand({ KeyId: key.arn })).catch((e: unknown) => e);
    expect((noSpec as Error).name).toBe('ValidationException');
    await expect(kms.send(new EncryptCommand({ KeyId: key.id, Plaintext: Buffer.from('x'), DryRun: true }))).rejects.toBeInstanceOf(DryRunOperationException);
  });
});

describe('KMS grants', () => {
  it('creates grants and lists them with every field', async () => {
    const key = await newKey();
    const created = await kms.send(
      new CreateGrantCommand({
        KeyId: key.arn,
        GranteePrincipal: 'ecr.us-east-1.amazonaws.com',
        RetiringPrincipal: 'ecr.us-east-1.amazonaws.com',
        Operations: ['GenerateDataKey', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': 'arn:aws:ecr:us-east-1:111122223333:repository/app' } },
        Name: 'ecr-app',
      }),
    );
    expect(created.GrantId).toMatch(/^[0-9a-f]{64}$/);
    expect(created.GrantToken).toBeTruthy();
    const { Grants, Truncated } = await kms.send(new ListGrantsCommand({ KeyId: key.id }));
    expect(Truncated).toBe(false);
    expect(Grants).toEqual([
      {
        KeyId: key.arn,
        GrantId: created.GrantId,
        Name: 'ecr-app',
        CreationDate: expect.any(Date) as Date,
        GranteePrincipal: 'ecr.us-east-1.amazonaws.com',
        RetiringPrincipal: 'ecr.us-east-1.amazonaws.com',
        IssuingAccount: 'arn:aws:iam::111122223333:root',
        Operations: ['GenerateDataKey', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': 'arn:aws:ecr:us-east-1:111122223333:repository/app' } },
      },
    ]);
    const retirable = await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'ecr.us-east-1.amazonaws.com' }));
    expect(retirable.Grants!.map((g) => g.GrantId)).toContain(created.GrantId);
    // Same name and parameters: the same grant, as AWS answers a retried CreateGrant.
    const retried = await kms.send(
      new CreateGrantCommand({
        KeyId: key.arn,
        GranteePrincipal: 'ecr.us-east-1.amazonaws.com',
        RetiringPrincipal: 'ecr.us-east-1.amazonaws.com',
        Operations: ['GenerateDataKey', 'Decrypt'],
        Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': 'arn:aws:ecr:us-east-1:111122223333:repository/app' } },
        Name: 'ecr-app',
      }),
    );
    expect(retried.GrantId).toBe(created.GrantId);
  });

  it('validates Limit and pages with Marker/NextMarker/Truncated', async () => {
    const key = await newKey();
    for (let i = 0; i < 3; i += 1) {
      await kms.send(new CreateGrantCommand({ KeyId: key.arn, GranteePrincipal: `arn:aws:iam::111122223333:user/u${i}`, Operations: ['Decrypt'] }));
    }
    for (const Limit of [0, 101]) {
      const error = await kms.send(new ListGrantsCommand({ KeyId: key.arn, Limit })).catch((e: unknown) => e);
      expect((error as Error).name).toBe('ValidationException');
    }
    const first = await kms.send(new ListGrantsCommand({ KeyId: key.arn, Limit: 2 }));
    expect(first.Grants).toHaveLength(2);
    expect(first.Truncated).toBe(true);
    const second = await kms.send(new ListGrantsCommand({ KeyId: key.arn, Limit: 2, Marker: first.NextMarker }));
    expect(second.Grants).toHaveLength(1);
    expect(second.Truncated).toBe(false);
    expect(second.NextMarker).toBeUndefined();
    const filtered = await kms.send(new ListGrantsCommand({ KeyId: key.arn, GranteePrincipal: 'arn:aws:iam::111122223333:user/u1' }));
    expect(filtered.Grants).toHaveLength(1);
  });

  it('retires by token or by key and grant ID, revokes, and answers NotFoundException for a retired grant', async () => {
    const key = await newKey();
    const grant = (name: string) =>
      kms.send(new CreateGrantCommand({ KeyId: key.arn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['Decrypt'], Name: name }));
    const a = await grant('a');
    const b = await grant('b');
    const c = await grant('c');
    await expect(kms.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: a.GrantId, DryRun: true }))).rejects.toBeInstanceOf(DryRunOperationException);
    await kms.send(new RetireGrantCommand({ GrantToken: a.GrantToken }));
    await kms.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: b.GrantId }));
    await expect(kms.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: b.GrantId }))).rejects.toBeInstanceOf(NotFoundException);
    await kms.send(new RevokeGrantCommand({ KeyId: key.id, GrantId: c.GrantId }));
    await expect(kms.send(new RevokeGrantCommand({ KeyId: key.id, GrantId: c.GrantId }))).rejects.toBeInstanceOf(NotFoundException);
    expect((await kms.send(new ListGrantsCommand({ KeyId: key.arn }))).Grants).toEqual([]);
    const inspected = aws.inspect.grants(key.arn);
    expect(inspected.map((g) => [g.name, g.retired, g.retiredBy])).toEqual([
      ['a', true, 'RetireGrant'],
      ['b', true, 'RetireGrant'],
      ['c', true, 'RevokeGrant'],
    ]);
    expect(inspected[0]!.retiredAt).toBeInstanceOf(Date);
  });

  it('refuses grants on a disabled key and data-key operations on an asymmetric key', async () => {
    const key = await newKey();
    await kms.send(new DisableKeyCommand({ KeyId: key.id }));
    await expect(kms.send(new CreateGrantCommand({ KeyId: key.arn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['Decrypt'] }))).rejects.toBeInstanceOf(
      DisabledException,
    );
    const rsa = await newKey(kms, { KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
    const error = await kms.send(new CreateGrantCommand({ KeyId: rsa.arn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['GenerateDataKey'] })).catch((e: unknown) => e);
    expect((error as Error).name).toBe('ValidationException');
  });
});

describe('KMS authorization', () => {
  it('denies a user without permissions with AccessDeniedException, and allows through the key policy or IAM', async () => {
    const key = await newKey();
    const nobody = aws.principals.createUser('kms-nobody');
    const asNobody = kmsAs(nobody);
    const denied = await asNobody.send(new DescribeKeyCommand({ KeyId: key.arn })).catch((e: unknown) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
    expect((denied as Error).message).toContain(`User: ${nobody.arn} is not authorized to perform: kms:DescribeKey on resource: ${key.arn}`);

    const reader = aws.principals.createUser('kms-reader', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: key.arn }] }] });
    await expect(kmsAs(reader).send(new DescribeKeyCommand({ KeyId: key.arn }))).resolves.toBeDefined();
    // Only through ECR: kms:ViaService is absent on a direct call.
    const viaEcrOnly = aws.principals.createUser('kms-via-ecr', {
      policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' } } }] }],
    });
    const direct = await kmsAs(viaEcrOnly)
      .send(new CreateGrantCommand({ KeyId: key.arn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['Decrypt'] }))
      .catch((e: unknown) => e);
    expect((direct as Error).name).toBe('AccessDeniedException');
  });

  it('lets the retiring principal retire, and the creating account only with kms:RetireGrant in IAM', async () => {
    const key = await newKey();
    const retirer = aws.principals.createUser('retirer');
    const iamRetirer = aws.principals.createUser('iam-retirer', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:RetireGrant', Resource: key.arn }] }] });
    const other = aws.principals.createUser('key-policy-retirer');
    // A key-policy Allow for kms:RetireGrant is not effective.
    const policy = JSON.parse((await kms.send(new GetKeyPolicyCommand({ KeyId: key.id }))).Policy!) as { Statement: unknown[] };
    policy.Statement.push({ Effect: 'Allow', Principal: { AWS: other.arn }, Action: 'kms:RetireGrant', Resource: '*' });
    await kms.send(new PutKeyPolicyCommand({ KeyId: key.id, Policy: JSON.stringify(policy) }));
    const grant = (retiring?: string) =>
      kms.send(new CreateGrantCommand({ KeyId: key.arn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['Decrypt'], ...(retiring ? { RetiringPrincipal: retiring } : {}) }));

    const named = await grant(retirer.arn);
    await kmsAs(retirer).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: named.GrantId }));
    const byAccount = await grant();
    const refused = await kmsAs(other).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: byAccount.GrantId })).catch((e: unknown) => e);
    expect((refused as Error).name).toBe('AccessDeniedException');
    await kmsAs(iamRetirer).send(new RetireGrantCommand({ KeyId: key.arn, GrantId: byAccount.GrantId }));
    expect(aws.inspect.grants(key.arn).every((g) => g.retired)).toBe(true);
  });
});

describe('KMS across accounts', () => {
  it('lets another account use a key by ARN when the key policy and its IAM policy both allow', async () => {
    const local = await startLocalAws({ accounts: ['111122223333', '444455556666'] });
    const owner = new KMSClient({ ...local.clientConfig(), maxAttempts: 1 });
    const { KeyMetadata } = await owner.send(new CreateKeyCommand({}));
    const keyArn = KeyMetadata!.Arn!;
    const outsider = local.principals.createUser('outsider', { account: '444455556666', policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: keyArn }] }] });
    const asOutsider = new KMSClient({ ...local.clientConfig({ credentials: outsider.credentials }), maxAttempts: 1 });
    await expect(asOutsider.send(new DescribeKeyCommand({ KeyId: keyArn }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    const policy = JSON.parse((await owner.send(new GetKeyPolicyCommand({ KeyId: keyArn }))).Policy!) as { Statement: unknown[] };
    policy.Statement.push({ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::444455556666:root' }, Action: 'kms:DescribeKey', Resource: '*' });
    await owner.send(new PutKeyPolicyCommand({ KeyId: keyArn, Policy: JSON.stringify(policy) }));
    expect((await asOutsider.send(new DescribeKeyCommand({ KeyId: keyArn }))).KeyMetadata!.AWSAccountId).toBe('111122223333');
    // A bare key ID resolves in the caller's own account.
    await expect(asOutsider.send(new DescribeKeyCommand({ KeyId: KeyMetadata!.KeyId }))).rejects.toBeInstanceOf(NotFoundException);
    await local.stop();
  });
});

describe('KMS grants as authorization', () => {
  it('lets a grantee use the key for the granted operations, within the grant constraint', async () => {
    const key = await newKey();
    const grantee = aws.principals.createUser('grantee');
    await kms.send(
      new CreateGrantCommand({
        KeyId: key.arn,
        GranteePrincipal: grantee.arn,
        Operations: ['GenerateDataKey', 'DescribeKey'],
        Constraints: { EncryptionContextSubset: { purpose: 'test' } },
      }),
    );
    const asGrantee = kmsAs(grantee);
    await expect(asGrantee.send(new DescribeKeyCommand({ KeyId: key.arn }))).resolves.toBeDefined();
    await expect(asGrantee.send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'test', extra: 'x' } }))).resolves.toBeDefined();
    await expect(asGrantee.send(new GenerateDataKeyCommand({ KeyId: key.arn, KeySpec: 'AES_256', EncryptionContext: { purpose: 'other' } }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
    await expect(asGrantee.send(new EncryptCommand({ KeyId: key.arn, Plaintext: Buffer.from('x'), EncryptionContext: { purpose: 'test' } }))).rejects.toMatchObject({
      name: 'AccessDeniedException',
    });
  });
});
