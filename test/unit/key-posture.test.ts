/**
 * audit: the posture of each key in use (rotation, deletion, state, owner, imported material, key
 * policy), three-state, mapped to Security Hub controls and Prowler checks; and the rotation
 * surcharge of the cost estimate.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DescribeKeyCommand,
  type DescribeKeyCommandInput,
  GetKeyPolicyCommand,
  type GetKeyPolicyCommandInput,
  GetKeyRotationStatusCommand,
  type GetKeyRotationStatusCommandInput,
  KMSClient,
  KMSServiceException,
  type KeyMetadata,
  ListGrantsCommand,
  ListKeyRotationsCommand,
  type ListKeyRotationsCommandInput,
  UnsupportedOperationException,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type AuditedKey, type KeyPostureCheck } from '../../src/index.js';
import { ACCOUNT, OTHER_ACCOUNT, REGION } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);

const NOW = new Date('2026-12-01T00:00:00Z');
const DAY = 86_400_000;
const keyArn = (id: string, account = ACCOUNT) => `arn:aws:kms:${REGION}:${account}:key/${id}`;

const denied = () => new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not allowed' });

/** Per key: its metadata, rotation, completed rotations and policy (an Error is thrown). */
interface FakeKey {
  readonly meta: Partial<KeyMetadata>;
  readonly rotation?: { readonly KeyRotationEnabled: boolean; readonly RotationPeriodInDays?: number } | Error;
  readonly rotations?: number | Error;
  readonly policy?: object | Error;
}
let keys: Record<string, FakeKey> = {};

const ROOT_POLICY = { Version: '2012-10-17', Statement: [{ Sid: 'root', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] };

const repo = (name: string, kmsKey: string) => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
  registryId: ACCOUNT,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  encryptionConfiguration: { encryptionType: 'KMS' as const, kmsKey },
});

const registry = () => new EncryptedRegistry({ clientConfig: { region: REGION }, clock: { now: () => NOW, sleep: () => Promise.resolve() } });

const fake = (arn: string): FakeKey => {
  const key = keys[arn];
  if (key === undefined) throw new Error(`no fake key ${arn}`);
  return key;
};

beforeEach(() => {
  ecr.reset();
  kms.reset();
  keys = {};
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(DescribeKeyCommand).callsFake((input: DescribeKeyCommandInput) => {
    const arn = input.KeyId ?? '';
    const account = /:(\d{12}):key\//.exec(arn)?.[1] ?? ACCOUNT;
    return {
      KeyMetadata: {
        Arn: arn,
        KeyId: arn,
        AWSAccountId: account,
        KeyManager: 'CUSTOMER',
        KeyState: 'Enabled',
        KeySpec: 'SYMMETRIC_DEFAULT',
        Origin: 'AWS_KMS',
        CreationDate: new Date(NOW.getTime() - 800 * DAY),
        ...fake(arn).meta,
      },
    };
  });
  kms.on(GetKeyRotationStatusCommand).callsFake((input: GetKeyRotationStatusCommandInput) => {
    const r = fake(input.KeyId ?? '').rotation ?? { KeyRotationEnabled: true, RotationPeriodInDays: 365 };
    if (r instanceof Error) throw r;
    return { KeyId: input.KeyId, ...r };
  });
  kms.on(ListKeyRotationsCommand).callsFake((input: ListKeyRotationsCommandInput) => {
    const n = fake(input.KeyId ?? '').rotations ?? 0;
    if (n instanceof Error) throw n;
    return { Rotations: Array.from({ length: n }, (_, i) => ({ KeyId: input.KeyId, RotationDate: new Date(NOW.getTime() - (i + 1) * 365 * DAY), RotationType: 'AUTOMATIC' as const })), Truncated: false };
  });
  kms.on(GetKeyPolicyCommand).callsFake((input: GetKeyPolicyCommandInput) => {
    const p = fake(input.KeyId ?? '').policy ?? ROOT_POLICY;
    if (p instanceof Error) throw p;
    return { Policy: JSON.stringify(p), PolicyName: 'default' };
  });
});

/** Audits one repository per key and answers the keys by ARN. */
const auditKeys = async (given: Record<string, FakeKey>): Promise<Record<string, AuditedKey>> => {
  keys = given;
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: Object.keys(given).map((arn, i) => repo(`r${i}`, arn)) });
  const report = (await registry().audit())._unsafeUnwrap();
  return Object.fromEntries(report.keys.map((k) => [k.keyArn, k]));
};

const checkOf = (key: AuditedKey | undefined, id: KeyPostureCheck['id']): KeyPostureCheck | undefined => key?.posture?.checks.find((c) => c.id === id);

describe('key posture: rotation (Security Hub KMS.4, Prowler kms_cmk_rotation_enabled)', () => {
  const ON = keyArn('1111aaaa-0000-0000-0000-000000000001');
  const OFF = keyArn('1111aaaa-0000-0000-0000-000000000002');
  const DENIED = keyArn('1111aaaa-0000-0000-0000-000000000003');
  const IMPORTED = keyArn('1111aaaa-0000-0000-0000-000000000004');

  it('passes with rotation on, fails with it off, is unknown when denied, and is absent when the key cannot rotate', async () => {
    const got = await auditKeys({
      [ON]: { meta: {} },
      [OFF]: { meta: {}, rotation: { KeyRotationEnabled: false } },
      [DENIED]: { meta: {}, rotation: denied() },
      [IMPORTED]: { meta: { Origin: 'EXTERNAL' }, rotation: new UnsupportedOperationException({ message: 'imported', $metadata: {} }) },
    });
    expect(checkOf(got[ON], 'rotation')).toMatchObject({ status: 'pass', securityHubControlId: 'KMS.4', prowlerCheckId: 'kms_cmk_rotation_enabled' });
    expect(checkOf(got[OFF], 'rotation')).toMatchObject({ status: 'fail', severity: 'MEDIUM', securityHubControlId: 'KMS.4' });
    expect(checkOf(got[DENIED], 'rotation')).toMatchObject({ status: 'unknown' });
    expect(got[DENIED]?.posture?.status).toBe('unknown');
    expect(checkOf(got[IMPORTED], 'rotation')).toBeUndefined();
    // Imported material is not rotatable: not even asked.
    expect(kms.commandCalls(GetKeyRotationStatusCommand).map((c) => c.args[0].input.KeyId)).not.toContain(IMPORTED);
  });

  it('an unsupported answer (a key KMS cannot rotate) is not applicable, not a failure', async () => {
    const got = await auditKeys({ [ON]: { meta: {}, rotation: new UnsupportedOperationException({ message: 'custom key store', $metadata: {} }) } });
    expect(checkOf(got[ON], 'rotation')).toBeUndefined();
    expect(got[ON]?.posture?.status).toBe('pass');
  });

  it('an AWS managed key passes without a call: AWS rotates it every year', async () => {
    const got = await auditKeys({ [ON]: { meta: { KeyManager: 'AWS' } } });
    expect(checkOf(got[ON], 'rotation')).toMatchObject({ status: 'pass' });
    expect(kms.commandCalls(GetKeyRotationStatusCommand)).toHaveLength(0);
  });
});

describe('key posture: state, deletion (KMS.3), owner, imported material', () => {
  const DELETING = keyArn('2222bbbb-0000-0000-0000-000000000001');
  const FOREIGN = keyArn('2222bbbb-0000-0000-0000-000000000002', OTHER_ACCOUNT);
  const EXPIRED = keyArn('2222bbbb-0000-0000-0000-000000000003');
  const SOON = keyArn('2222bbbb-0000-0000-0000-000000000004');
  const LATER = keyArn('2222bbbb-0000-0000-0000-000000000005');
  const FOREVER = keyArn('2222bbbb-0000-0000-0000-000000000006');

  it('a key pending deletion fails KMS.3 (kms_cmk_not_deleted_unintentionally) and the key state', async () => {
    const got = await auditKeys({ [DELETING]: { meta: { KeyState: 'PendingDeletion', DeletionDate: new Date(NOW.getTime() + 7 * DAY) } } });
    expect(checkOf(got[DELETING], 'deletion-scheduled')).toMatchObject({
      status: 'fail',
      severity: 'CRITICAL',
      securityHubControlId: 'KMS.3',
      prowlerCheckId: 'kms_cmk_not_deleted_unintentionally',
    });
    expect(checkOf(got[DELETING], 'key-state')).toMatchObject({ status: 'fail' });
    expect(checkOf(got[DELETING], 'key-state')?.securityHubControlId).toBeUndefined();
    expect(checkOf(got[DELETING], 'key-state')?.prowlerCheckId).toBeUndefined();
  });

  it('a key of another account fails key-account (a warning: LOW), and its policy is unknown without a GetKeyPolicy call', async () => {
    const got = await auditKeys({ [FOREIGN]: { meta: {} } });
    expect(checkOf(got[FOREIGN], 'key-account')).toMatchObject({ status: 'fail', severity: 'LOW' });
    expect(checkOf(got[FOREIGN], 'public-key-policy')).toMatchObject({ status: 'unknown' });
    expect(checkOf(got[FOREIGN], 'destructive-key-access')).toMatchObject({ status: 'unknown' });
    expect(kms.commandCalls(GetKeyPolicyCommand)).toHaveLength(0);
  });

  it('imported key material: expired and expiring within 30 days fail, later or never passes', async () => {
    const imported = (validTo?: Date): FakeKey => ({
      meta: { Origin: 'EXTERNAL', ...(validTo ? { ValidTo: validTo, ExpirationModel: 'KEY_MATERIAL_EXPIRES' as const } : { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' as const }) },
    });
    const got = await auditKeys({
      [EXPIRED]: imported(new Date(NOW.getTime() - DAY)),
      [SOON]: imported(new Date(NOW.getTime() + 10 * DAY)),
      [LATER]: imported(new Date(NOW.getTime() + 90 * DAY)),
      [FOREVER]: imported(),
    });
    expect(checkOf(got[EXPIRED], 'imported-key-material')).toMatchObject({ status: 'fail', severity: 'HIGH' });
    expect(checkOf(got[SOON], 'imported-key-material')).toMatchObject({ status: 'fail', severity: 'MEDIUM' });
    expect(checkOf(got[LATER], 'imported-key-material')).toMatchObject({ status: 'pass' });
    expect(checkOf(got[FOREVER], 'imported-key-material')).toMatchObject({ status: 'pass' });
  });
});

describe('key posture: key policy (KMS.5 public access, destructive access)', () => {
  const PUBLIC = keyArn('3333cccc-0000-0000-0000-000000000001');
  const NARROWED = keyArn('3333cccc-0000-0000-0000-000000000002');
  const FOREIGN_ADMIN = keyArn('3333cccc-0000-0000-0000-000000000003');
  const OWN_ADMIN = keyArn('3333cccc-0000-0000-0000-000000000004');
  const UNREADABLE = keyArn('3333cccc-0000-0000-0000-000000000005');
  const policy = (...extra: object[]) => ({ Version: '2012-10-17', Statement: [...ROOT_POLICY.Statement, ...extra] });

  it('a wildcard principal without a narrowing condition fails KMS.5; kms:CallerAccount narrows it', async () => {
    const got = await auditKeys({
      [PUBLIC]: { meta: {}, policy: policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: ['kms:Decrypt', 'kms:DescribeKey'], Resource: '*' }) },
      [NARROWED]: {
        meta: {},
        policy: policy({ Effect: 'Allow', Principal: { AWS: '*' }, Action: 'kms:Decrypt', Resource: '*', Condition: { StringEquals: { 'kms:CallerAccount': ACCOUNT } } }),
      },
    });
    expect(checkOf(got[PUBLIC], 'public-key-policy')).toMatchObject({
      status: 'fail',
      severity: 'CRITICAL',
      securityHubControlId: 'KMS.5',
      prowlerCheckId: 'kms_key_not_publicly_accessible',
    });
    expect(checkOf(got[PUBLIC], 'public-key-policy')?.message).toContain('kms:Decrypt');
    expect(checkOf(got[NARROWED], 'public-key-policy')).toMatchObject({ status: 'pass' });
  });

  it('a principal of another account that can disable, delete or rewrite the policy fails; one of the key account is listed only', async () => {
    const foreignRole = `arn:aws:iam::${OTHER_ACCOUNT}:role/admin`;
    const ownRole = `arn:aws:iam::${ACCOUNT}:role/key-admin`;
    const got = await auditKeys({
      [FOREIGN_ADMIN]: {
        meta: {},
        // A condition is assumed satisfiable: it does not hide who could.
        policy: policy({ Effect: 'Allow', Principal: { AWS: foreignRole }, Action: 'kms:*', Resource: '*', Condition: { Bool: { 'aws:MultiFactorAuthPresent': 'true' } } }),
      },
      [OWN_ADMIN]: { meta: {}, policy: policy({ Effect: 'Allow', Principal: { AWS: ownRole }, Action: ['kms:PutKeyPolicy', 'kms:Describe*'], Resource: '*' }) },
    });
    const foreign = checkOf(got[FOREIGN_ADMIN], 'destructive-key-access');
    expect(foreign).toMatchObject({ status: 'fail', severity: 'HIGH' });
    expect(foreign?.principals).toEqual([`${foreignRole}: kms:DisableKey`, `${foreignRole}: kms:ScheduleKeyDeletion`, `${foreignRole}: kms:PutKeyPolicy`]);
    expect(foreign?.securityHubControlId).toBeUndefined();
    const own = checkOf(got[OWN_ADMIN], 'destructive-key-access');
    expect(own).toMatchObject({ status: 'pass', principals: [`${ownRole}: kms:PutKeyPolicy`] });
  });

  it('an unreadable key policy makes both policy checks unknown, never pass', async () => {
    const got = await auditKeys({ [UNREADABLE]: { meta: {}, policy: denied() } });
    expect(checkOf(got[UNREADABLE], 'public-key-policy')).toMatchObject({ status: 'unknown' });
    expect(checkOf(got[UNREADABLE], 'destructive-key-access')).toMatchObject({ status: 'unknown' });
    expect(got[UNREADABLE]?.posture?.status).toBe('unknown');
  });
});

describe('cost: rotation surcharges', () => {
  const THREE = keyArn('4444dddd-0000-0000-0000-000000000001');
  const ONE = keyArn('4444dddd-0000-0000-0000-000000000002');
  const ESTIMATED = keyArn('4444dddd-0000-0000-0000-000000000003');
  const FOREIGN = keyArn('4444dddd-0000-0000-0000-000000000004', OTHER_ACCOUNT);

  it('adds $1 a month per rotation, capped after the second; counts from ListKeyRotations', async () => {
    keys = { [THREE]: { meta: {}, rotations: 3 }, [ONE]: { meta: {}, rotations: 1 } };
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('a', THREE), repo('b', ONE)] });
    const report = (await registry().audit())._unsafeUnwrap();
    const byArn = Object.fromEntries(report.keys.map((k) => [k.keyArn, k]));
    expect(byArn[THREE]).toMatchObject({ rotationSurcharge: 2, estimatedMonthlyCost: 3 });
    expect(byArn[THREE]?.posture?.rotation).toMatchObject({ rotations: 3, rotationsEstimated: false });
    expect(byArn[ONE]).toMatchObject({ rotationSurcharge: 1, estimatedMonthlyCost: 2 });
    expect(report.cost).toMatchObject({ keys: 2, rotationSurcharges: 3, rotationSurchargesEstimated: false, total: 5, requestsBasis: 'before-free-tier' });
  });

  it('estimates the count from the rotation period and the creation date when ListKeyRotations is denied, and says so', async () => {
    // Created 800 days ago, rotated every 365 days: 2 rotations at most.
    keys = { [ESTIMATED]: { meta: {}, rotations: denied() } };
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('a', ESTIMATED)] });
    const report = (await registry().audit())._unsafeUnwrap();
    expect(report.keys[0]?.posture?.rotation).toMatchObject({ rotations: 2, rotationsEstimated: true });
    expect(report.cost).toMatchObject({ rotationSurcharges: 2, rotationSurchargesEstimated: true });
    expect(report.cost.caveats.some((c) => c.includes('estimates'))).toBe(true);
  });

  it('a key of another account costs nothing here, rotation included (billed to its owner)', async () => {
    keys = { [FOREIGN]: { meta: {}, rotations: 5 } };
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('a', FOREIGN)] });
    const report = (await registry().audit())._unsafeUnwrap();
    expect(report.keys[0]).toMatchObject({ keyFeeBilledTo: 'owner', rotationSurcharge: 0, estimatedMonthlyCost: 0 });
    expect(kms.commandCalls(ListKeyRotationsCommand)).toHaveLength(0);
  });
});
