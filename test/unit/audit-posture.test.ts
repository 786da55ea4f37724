/**
 * audit: three-state results (an unreadable key is unknown, not non-compliant), keys of other
 * accounts (a warning; their fee is billed to the owner), the `Updating` state of multi-Region keys
 * (usable), and a cost estimate that says what it did not estimate.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeKeyCommand, type DescribeKeyCommandInput, KMSClient, KMSServiceException, ListGrantsCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { ACCOUNT, REGION } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);

const OTHER = '444455556666';
const keyArn = (id: string, account = ACCOUNT) => `arn:aws:kms:${REGION}:${account}:key/${id}`;
const OWN = keyArn('1111aaaa-12ab-34cd-56ef-1234567890ab');
const DENIED = keyArn('2222bbbb-12ab-34cd-56ef-1234567890ab');
const FOREIGN = keyArn('3333cccc-12ab-34cd-56ef-1234567890ab', OTHER);
const UPDATING = keyArn('mrk-4444dddd12ab34cd56ef1234567890ab');

const repo = (name: string, kmsKey?: string, encryptionType: 'KMS' | 'KMS_DSSE' = 'KMS') => ({
  repositoryName: name,
  repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`,
  registryId: ACCOUNT,
  createdAt: new Date('2026-01-01T00:00:00Z'),
  encryptionConfiguration: kmsKey === undefined ? { encryptionType: 'AES256' as const } : { encryptionType, kmsKey },
});

const registry = () => new EncryptedRegistry({ clientConfig: { region: REGION } });

beforeEach(() => {
  ecr.reset();
  kms.reset();
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  kms.on(DescribeKeyCommand).callsFake((input: DescribeKeyCommandInput) => {
    if (input.KeyId === DENIED) throw new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not allowed' });
    const account = input.KeyId === FOREIGN ? OTHER : ACCOUNT;
    return { KeyMetadata: { Arn: input.KeyId, KeyId: input.KeyId, AWSAccountId: account, KeyManager: 'CUSTOMER', KeyState: input.KeyId === UPDATING ? 'Updating' : 'Enabled' } };
  });
});

describe('audit: pass / fail / unknown', () => {
  it('an unreadable key makes its repository unknown: counted apart from non-compliant ones', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('ok', OWN), repo('denied', DENIED), repo('plain')] });
    const report = (await registry().audit({ require: 'cmk' }))._unsafeUnwrap();
    const status = Object.fromEntries(report.repositories.map((r) => [r.name, r.status]));
    expect(status).toEqual({ ok: 'pass', denied: 'unknown', plain: 'fail' });
    expect(report.summary).toMatchObject({ repositories: 3, nonCompliant: 1, unknown: 1 });
    expect(report.status).toBe('fail');
    expect(report.compliant).toBe(false);
  });

  it('with only unknowns the report is unknown, and still not compliant (nothing is assumed)', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('ok', OWN), repo('denied', DENIED)] });
    const report = (await registry().audit())._unsafeUnwrap();
    expect(report).toMatchObject({ status: 'unknown', compliant: false, summary: { nonCompliant: 0, unknown: 1 } });
  });
});

describe('audit: key posture', () => {
  it("a customer-managed key of another account passes 'cmk' with a warning, and its fee is the owner's", async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('shared', FOREIGN)] });
    const report = (await registry().audit({ require: 'cmk' }))._unsafeUnwrap();
    const [shared] = report.repositories;
    expect(shared).toMatchObject({ status: 'pass', warnings: [{ code: 'key-cross-account' }], encryption: { keyAccount: OTHER } });
    expect(report.keys[0]).toMatchObject({ keyAccount: OTHER, keyFeeBilledTo: 'owner', estimatedMonthlyCost: 0 });
    expect(report.cost.keys).toBe(0);
    expect(report.cost.caveats).toContain('keys of other accounts are billed to their owners, not here');
  });

  it('a multi-Region key in the transient Updating state is usable (KMS: "you can use the keys in cryptographic operations")', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('mrk', UPDATING)] });
    const report = (await registry().audit())._unsafeUnwrap();
    expect(report.repositories[0]).toMatchObject({ status: 'pass', violations: [], encryption: { keyState: 'Updating' } });
  });
});

describe('audit: the cost estimate says what it leaves out', () => {
  it('without usage, request cost is "not estimated", not $0 for 0 requests', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('a', OWN)] });
    const cost = (await registry().audit())._unsafeUnwrap().cost;
    expect(cost).toMatchObject({ requestsEstimated: false, requests: 0, keys: 1, total: 1 });
    expect(cost.caveats).toContain('request cost not estimated: give usage (pushes and pulls a month) to estimate it');
    expect(cost.caveats).toContain('before the KMS free tier (20,000 requests a month per account)');
  });

  it('with usage, requests are estimated; DSSE repositories are flagged as costed like KMS', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('a', OWN), repo('d', OWN, 'KMS_DSSE')] });
    const cost = (await registry().audit({ usage: { pushesPerMonth: 100 } }))._unsafeUnwrap().cost;
    expect(cost).toMatchObject({ requestsEstimated: true, requestsPerMonth: 2 * 100 * 6 });
    expect(cost.caveats).toContain('KMS_DSSE repositories are costed like KMS, an approximation: DSSE-KMS pricing is not modelled');
    expect(cost.caveats.some((c) => c.startsWith('request cost not estimated'))).toBe(false);
  });
});
