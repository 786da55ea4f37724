import {
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  ECRClient,
} from '@aws-sdk/client-ecr';
import { DescribeKeyCommand, type DescribeKeyCommandInput, KMSClient, KMSServiceException, ListGrantsCommand, NotFoundException } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { ACCOUNT, REGION } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);

const keyArn = (id: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${id}`;
const GONE = keyArn('0000aaaa-12ab-34cd-56ef-1234567890ab');
const DENIED = keyArn('1111bbbb-12ab-34cd-56ef-1234567890ab');
const PENDING = keyArn('2222cccc-12ab-34cd-56ef-1234567890ab');

const repo = (name: string, encryptionConfiguration?: { encryptionType: 'KMS' | 'AES256' | 'KMS_DSSE'; kmsKey?: string }) => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
  registryId: ACCOUNT,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  ...(encryptionConfiguration ? { encryptionConfiguration } : {}),
});

const registry = () => new EncryptedRegistry({ clientConfig: { region: REGION } });

describe('EncryptedRegistry.audit (edge cases)', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    // No registry rules: the audit reads them (issue 18).
    ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({ registryId: ACCOUNT, repositoryCreationTemplates: [] });
    ecr.on(DescribePullThroughCacheRulesCommand).resolves({ pullThroughCacheRules: [] });
    ecr.on(DescribeRegistryCommand).resolves({ registryId: ACCOUNT, replicationConfiguration: { rules: [] } });
    kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
    kms.on(DescribeKeyCommand).callsFake((input: DescribeKeyCommandInput) => {
      if (input.KeyId === GONE) throw new NotFoundException({ $metadata: {}, message: 'no such key' });
      if (input.KeyId === DENIED) {
        throw new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not allowed' });
      }
      return { KeyMetadata: { Arn: input.KeyId, KeyId: input.KeyId, KeyManager: 'CUSTOMER', KeyState: 'PendingDeletion' } };
    });
  });

  it('pages through DescribeRepositories and keeps one DescribeKey per distinct key', async () => {
    ecr
      .on(DescribeRepositoriesCommand, { maxResults: 1000 })
      .resolves({ repositories: [repo('a', { encryptionType: 'KMS', kmsKey: PENDING })], nextToken: 't1' })
      .on(DescribeRepositoriesCommand, { maxResults: 1000, nextToken: 't1' })
      .resolves({ repositories: [repo('b', { encryptionType: 'KMS', kmsKey: PENDING })] });
    const report = (await registry().audit())._unsafeUnwrap();
    expect(report.repositories.map((r) => r.name)).toEqual(['a', 'b']);
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(1);
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(2);
  });

  it('a deleted key and a key pending deletion fail, an unreadable key is unknown, whatever the rule', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        repo('gone', { encryptionType: 'KMS', kmsKey: GONE }),
        repo('denied', { encryptionType: 'KMS', kmsKey: DENIED }),
        repo('pending', { encryptionType: 'KMS', kmsKey: PENDING }),
      ],
    });
    const report = (await registry().audit({ require: 'any', usage: { pushesPerMonth: 0 } }))._unsafeUnwrap();
    const codes = Object.fromEntries(report.repositories.map((r) => [r.name, r.violations.map((v) => v.code)]));
    expect(codes).toEqual({ gone: ['key-not-found'], denied: ['key-unreadable'], pending: ['key-not-usable'] });
    expect(report.repositories.map((r) => r.status)).toEqual(['fail', 'unknown', 'fail']);
    expect(report.keys.find((k) => k.keyArn === GONE)).toMatchObject({ keyState: 'NotFound', error: { kind: 'KeyNotFound' } });
    expect(report.keys.find((k) => k.keyArn === DENIED)).toMatchObject({ keyState: undefined, error: { kind: 'AccessDenied' } });
    // Keys pending deletion are not billed; keys that could not be described are not swept.
    expect(report.cost.keys).toBe(0);
    expect(kms.commandCalls(ListGrantsCommand).map((c) => c.args[0].input.KeyId)).toEqual([PENDING]);
  });

  it("a KMS repository without a key ARN is on ECR's default, AWS-managed key", async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('default', { encryptionType: 'KMS' }), repo('plain')] });
    const any = (await registry().audit())._unsafeUnwrap();
    expect(any.repositories[0]).toMatchObject({ encryption: { type: 'KMS', keyManager: 'AWS' }, compliant: true });
    expect(any.repositories[1]).toMatchObject({ encryption: { type: 'AES256' }, compliant: true });
    const cmk = (await registry().audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(cmk.repositories[0]?.violations.map((v) => v.code)).toEqual(['not-customer-managed']);
    expect(kms.commandCalls(DescribeKeyCommand)).toHaveLength(0);
  });

  it('an empty region is compliant and costs nothing, without a KMS call', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
    const report = (await registry().audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(report).toMatchObject({ compliant: true, account: undefined, repositories: [], keys: [], cost: { total: 0 } });
    expect(kms.calls()).toHaveLength(0);
  });

  it('rejects usage that is not a count', async () => {
    const result = await registry().audit({ usage: { pushesPerMonth: -1 } });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'usage.pushesPerMonth' });
    expect(ecr.calls()).toHaveLength(0);
  });
});
