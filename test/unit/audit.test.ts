import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type AuditProgress, type AuditReport } from '../../src/index.js';
import { manualClock, startLocalAws, type LocalAws } from '../../src/testing/index.js';

let aws: LocalAws;
let ecr: ECRClient;
let kms: KMSClient;
let registry: EncryptedRegistry;
let cmk: string;
let disabled: string;
let other: string;

const createKey = async (description: string): Promise<string> => {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: description }));
  return KeyMetadata!.Arn!;
};
const createRepo = (name: string, encryption?: { encryptionType: 'KMS' | 'AES256'; kmsKey?: string }) =>
  ecr.send(new CreateRepositoryCommand({ repositoryName: name, ...(encryption ? { encryptionConfiguration: encryption } : {}) }));

const byName = (report: AuditReport, name: string) => report.repositories.find((r) => r.name === name)!;

beforeAll(async () => {
  // Everything happened two hours ago: grants older than the sweep's clock tolerance.
  aws = await startLocalAws({ regions: ['eu-west-1'], clock: manualClock(new Date(Date.now() - 2 * 3_600_000)) });
  ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  registry = new EncryptedRegistry({ clientConfig: { ...aws.clientConfig(), maxAttempts: 1 } });
  cmk = await createKey('app key');
  other = await createKey('other key');
  disabled = await createKey('disabled key');
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: cmk }));
  // Three repositories share the customer key: the audit must describe it once.
  await createRepo('app/a', { encryptionType: 'KMS', kmsKey: cmk });
  await createRepo('app/b', { encryptionType: 'KMS', kmsKey: cmk });
  await createRepo('app/c', { encryptionType: 'KMS', kmsKey: cmk });
  await createRepo('plain');
  await createRepo('managed', { encryptionType: 'KMS' });
  await createRepo('elsewhere', { encryptionType: 'KMS', kmsKey: other });
  await createRepo('broken', { encryptionType: 'KMS', kmsKey: disabled });
  await kms.send(new DisableKeyCommand({ KeyId: disabled }));
  // An orphan on the customer key: a repository deleted by a principal that could not retire its grants.
  const noRetire = aws.principals.createUser('no-retire', {
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants', 'kms:CreateGrant'], Resource: '*' }] }],
  });
  await createRepo('gone', { encryptionType: 'KMS', kmsKey: cmk });
  const asNoRetire = new ECRClient({ ...aws.clientConfig({ credentials: noRetire.credentials }), maxAttempts: 1 });
  await asNoRetire.send(new DeleteRepositoryCommand({ repositoryName: 'gone' })).catch(() => undefined);
});
afterAll(async () => {
  registry.destroy();
  await aws.stop();
});

describe('EncryptedRegistry.audit', () => {
  it('lists every repository with its encryption, key manager and key state', async () => {
    const report = (await registry.audit())._unsafeUnwrap();
    expect(report.repositories.map((r) => r.name).sort()).toEqual(['app/a', 'app/b', 'app/c', 'broken', 'elsewhere', 'managed', 'plain']);
    expect(byName(report, 'plain').encryption).toEqual({ type: 'AES256' });
    expect(byName(report, 'app/a').encryption).toEqual({ type: 'KMS', keyArn: cmk, keyManager: 'CUSTOMER', keyState: 'Enabled', keyAccount: aws.account });
    expect(byName(report, 'managed').encryption).toMatchObject({ type: 'KMS', keyManager: 'AWS', keyState: 'Enabled' });
    expect(byName(report, 'broken').encryption).toMatchObject({ keyArn: disabled, keyState: 'Disabled' });
    expect(report.account).toBe(aws.account);
    expect(report.region).toBe('eu-west-1');
  });

  it("under require 'any' only a broken key is non-compliant", async () => {
    const report = (await registry.audit())._unsafeUnwrap();
    expect(report.compliant).toBe(false);
    expect(report.repositories.filter((r) => !r.compliant).map((r) => r.name)).toEqual(['broken']);
    expect(byName(report, 'broken').violations.map((v) => v.code)).toEqual(['key-not-usable']);
  });

  it("require 'cmk' flags AES256 and the AWS-managed key, with the reason", async () => {
    const report = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(byName(report, 'plain').violations.map((v) => v.code)).toEqual(['not-kms']);
    expect(byName(report, 'managed').violations.map((v) => v.code)).toEqual(['not-customer-managed']);
    expect(byName(report, 'app/a').compliant).toBe(true);
    expect(report.summary).toMatchObject({ repositories: 7, nonCompliant: 3 });
  });

  it("require 'kms' accepts the AWS-managed key", async () => {
    const report = (await registry.audit({ require: 'kms' }))._unsafeUnwrap();
    expect(byName(report, 'managed').compliant).toBe(true);
    expect(byName(report, 'plain').compliant).toBe(false);
  });

  it('allowedKeys, given by alias, are resolved to key ARNs', async () => {
    const report = (await registry.audit({ allowedKeys: ['alias/app', disabled] }))._unsafeUnwrap();
    expect(report.rule.allowedKeys).toEqual([cmk, disabled]);
    expect(byName(report, 'elsewhere').violations.map((v) => v.code)).toEqual(['key-not-allowed']);
    expect(byName(report, 'managed').violations.map((v) => v.code)).toEqual(['key-not-allowed']);
    expect(byName(report, 'app/b').compliant).toBe(true);
    expect(byName(report, 'plain').compliant).toBe(true);
  });

  it('reports orphaned grants and headroom per key in use', async () => {
    const report = (await registry.audit())._unsafeUnwrap();
    const key = report.keys.find((k) => k.keyArn === cmk)!;
    expect(key.repositories).toEqual(['app/a', 'app/b', 'app/c']);
    expect(key.grants?.orphans).toHaveLength(2);
    expect(key.grants?.orphans.every((o) => o.repositoryArn.endsWith(':repository/gone'))).toBe(true);
    expect(key.grants?.headroom).toEqual({ quota: 50_000, used: key.grants?.grantCount, remaining: 50_000 - (key.grants?.grantCount ?? 0) });
    expect(report.summary.orphanedGrants).toBe(2);
    const managed = report.keys.find((k) => k.keyManager === 'AWS')!;
    expect(managed.grants?.headroom.quota).toBeUndefined();
  });

  it('estimates the monthly cost: $1 per customer key in use plus $0.03 per 10,000 requests', async () => {
    const report = (await registry.audit({ usage: { pushesPerMonth: 1000, pullsPerMonth: 9000, layersPerImage: 4 } }))._unsafeUnwrap();
    // Customer keys in use: cmk, other, disabled (disabled keys are still billed).
    expect(report.cost.keys).toBe(3);
    // 6 KMS repositories × (1000 + 9000) images × (4 blobs + 1 manifest) requests.
    expect(report.cost.requestsPerMonth).toBe(6 * 10_000 * 5);
    expect(report.cost.requests).toBeCloseTo((300_000 / 10_000) * 0.03, 6);
    expect(report.cost.total).toBeCloseTo(3 + 0.9, 6);
    expect(report.keys.find((k) => k.keyArn === cmk)?.estimatedMonthlyCost).toBeCloseTo(1 + (150_000 / 10_000) * 0.03, 6);
    expect(report.keys.find((k) => k.keyManager === 'AWS')?.estimatedMonthlyCost).toBeCloseTo((50_000 / 10_000) * 0.03, 6);
  });

  it('batches its calls: one DescribeRepositories page, one DescribeKey per distinct key, ListGrants per key, no STS', async () => {
    const principal = aws.principals.default.arn;
    const before = aws.inspect.calls({ principal }).length;
    const progress: AuditProgress[] = [];
    const report = (await registry.audit({ posture: false, onProgress: (p) => progress.push(p) }))._unsafeUnwrap();
    const counts = aws.inspect.calls({ principal }).slice(before).reduce<Record<string, number>>((acc, c) => {
      const name = `${c.service}:${c.operation}`;
      acc[name] = (acc[name] ?? 0) + 1;
      return acc;
    }, {});
    expect(report.keys).toHaveLength(4);
    // Plus one read of each registry rule list (issue 18): no template here, so no more DescribeKey.
    expect(counts).toEqual({
      'ecr:DescribeRepositories': 1,
      'ecr:DescribeRepositoryCreationTemplates': 1,
      'ecr:DescribePullThroughCacheRules': 1,
      'ecr:DescribeRegistry': 1,
      'kms:DescribeKey': 4,
      'kms:ListGrants': 4,
    });
    expect(progress.at(-1)).toEqual({ phase: 'grants', completed: 4, total: 4 });
  });

  it('checks the posture of each key once, whatever the number of repositories using it', async () => {
    const principal = aws.principals.default.arn;
    const before = aws.inspect.calls({ principal }).length;
    const progress: AuditProgress[] = [];
    const report = (await registry.audit({ onProgress: (p) => progress.push(p) }))._unsafeUnwrap();
    const counts = aws.inspect.calls({ principal }).slice(before).reduce<Record<string, number>>((acc, c) => {
      const name = `${c.service}:${c.operation}`;
      acc[name] = (acc[name] ?? 0) + 1;
      return acc;
    }, {});
    // 4 keys (3 customer keys, 1 AWS managed): one GetKeyPolicy each; rotation read for customer keys only.
    expect(counts).toMatchObject({ 'kms:DescribeKey': 4, 'kms:GetKeyPolicy': 4, 'kms:GetKeyRotationStatus': 3 });
    expect(counts['kms:ListKeyRotations'] ?? 0).toBeLessThanOrEqual(3);
    expect(progress.at(-1)).toEqual({ phase: 'posture', completed: 4, total: 4 });
    expect(report.keys.every((k) => k.posture !== undefined && k.posture.checks.length > 0)).toBe(true);
  });

  it('rejects a malformed allowed key before any call, and an unknown one as KeyNotFound', async () => {
    expect((await registry.audit({ allowedKeys: ['arn:aws:kms:nope'] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'allowedKeys[0]' });
    expect((await registry.audit({ allowedKeys: ['alias/missing'] }))._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound', key: 'alias/missing' });
    expect((await registry.audit({ require: 'strict' as never }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'require' });
  });
});
