/**
 * auditToAsff: ASFF findings from an audit report. Required top-level attributes on every
 * finding (Security Hub user guide, "Required top-level ASFF attributes"), stable ids, one finding
 * per repository and per key-posture check, three states as Compliance.Status.
 */
import { DescribePullThroughCacheRulesCommand, DescribeRepositoriesCommand, DescribeRepositoryCreationTemplatesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type AuditReport, auditToAsff, EncryptedRegistry } from '../../src/index.js';
import { mockTwoKeys, repositoryWith as repo, ROTATING, STILL } from '../fixtures/audit-keys.js';
import { ACCOUNT, REGION } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);

const REQUIRED = ['AwsAccountId', 'CreatedAt', 'Description', 'GeneratorId', 'Id', 'ProductArn', 'Resources', 'SchemaVersion', 'Severity', 'Title', 'Types', 'UpdatedAt'] as const;

const audit = async (): Promise<AuditReport> =>
  (await new EncryptedRegistry({ clientConfig: { region: REGION } }).audit({ require: 'cmk' }))._unsafeUnwrap();

beforeEach(() => {
  ecr.reset();
  kms.reset();
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repo('app/a', ROTATING), repo('app/b', STILL), repo('plain')] });
  mockTwoKeys(kms);
});

describe('auditToAsff', () => {
  it('gives every finding the required top-level attributes, schema 2018-10-08 and the default product ARN', async () => {
    const findings = auditToAsff(await audit(), { generatedAt: new Date('2026-12-01T00:00:00Z') });
    expect(findings.length).toBeGreaterThan(0);
    for (const f of findings) {
      for (const field of REQUIRED) expect(f[field], `${f.Id} ${field}`).toBeDefined();
      expect(f.SchemaVersion).toBe('2018-10-08');
      expect(f.ProductArn).toBe(`arn:aws:securityhub:${REGION}:${ACCOUNT}:product/${ACCOUNT}/default`);
      expect(f.AwsAccountId).toBe(ACCOUNT);
      expect(f.CreatedAt).toBe('2026-12-01T00:00:00.000Z');
      expect(f.Types.length).toBeGreaterThan(0);
      expect(f.Resources.length).toBe(1);
      expect(f.Title.length).toBeLessThanOrEqual(256);
      expect(f.Description.length).toBeLessThanOrEqual(1024);
      expect(['PASSED', 'FAILED', 'NOT_AVAILABLE']).toContain(f.Compliance.Status);
    }
  });

  it('one finding per repository and one per key-posture check, with ids stable across runs', async () => {
    const first = await audit();
    const checks = first.keys.reduce((n, k) => n + (k.posture?.checks.length ?? 0), 0);
    const findings = auditToAsff(first, { generatedAt: new Date('2026-12-01T00:00:00Z') });
    expect(findings.filter((f) => f.Resources[0]?.Type === 'AwsEcrRepository')).toHaveLength(3);
    expect(findings.filter((f) => f.Resources[0]?.Type === 'AwsKmsKey')).toHaveLength(checks);
    expect(new Set(findings.map((f) => f.Id)).size).toBe(findings.length);
    const again = auditToAsff(await audit(), { generatedAt: new Date('2026-12-02T00:00:00Z') });
    expect(again.map((f) => f.Id)).toEqual(findings.map((f) => f.Id));
  });

  it('maps pass / fail / unknown to PASSED / FAILED / NOT_AVAILABLE, with the Security Hub control where one matches', async () => {
    const findings = auditToAsff(await audit());
    const byId = new Map(findings.map((f) => [f.Id, f]));
    expect(byId.get(`encrypted-ecr/${REGION}/${ACCOUNT}/repository/plain/encryption`)).toMatchObject({
      Compliance: { Status: 'FAILED' },
      Severity: { Label: 'HIGH' },
      ProductFields: { 'encrypted-ecr/prowlerCheckId': 'ecr_repository_encrypted_with_cmk' },
    });
    expect(byId.get(`encrypted-ecr/${REGION}/${ACCOUNT}/repository/plain/encryption`)?.Remediation).toBeDefined();
    expect(byId.get(`encrypted-ecr/${ROTATING}/rotation`)).toMatchObject({ Compliance: { Status: 'PASSED', SecurityControlId: 'KMS.4' }, Severity: { Label: 'INFORMATIONAL' } });
    expect(byId.get(`encrypted-ecr/${STILL}/rotation`)).toMatchObject({
      Compliance: { Status: 'FAILED', SecurityControlId: 'KMS.4' },
      Severity: { Label: 'MEDIUM' },
      ProductFields: { 'encrypted-ecr/prowlerCheckId': 'kms_cmk_rotation_enabled' },
    });
    // The key policy could not be read: not available, never passed.
    expect(byId.get(`encrypted-ecr/${STILL}/public-key-policy`)).toMatchObject({ Compliance: { Status: 'NOT_AVAILABLE', SecurityControlId: 'KMS.5' } });
    // No control matches the key state: no SecurityControlId.
    expect(byId.get(`encrypted-ecr/${STILL}/key-state`)?.Compliance.SecurityControlId).toBeUndefined();
  });

  it('one finding per registry rule, of resource type Other: a pull-through cache rule no template covers fails, the template that covers another passes', async () => {
    ecr.on(DescribePullThroughCacheRulesCommand).resolves({
      pullThroughCacheRules: [
        { ecrRepositoryPrefix: 'docker-hub', upstreamRegistryUrl: 'registry-1.docker.io' },
        { ecrRepositoryPrefix: 'quay', upstreamRegistryUrl: 'quay.io' },
      ],
    });
    ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({
      repositoryCreationTemplates: [{ prefix: 'quay', appliedFor: ['PULL_THROUGH_CACHE'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: ROTATING }, customRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecr-templates` }],
    });
    const report = await audit();
    const findings = auditToAsff(report, { generatedAt: new Date('2026-12-01T00:00:00Z') });
    const rules = findings.filter((f) => f.Resources[0]?.Type === 'Other');
    expect(rules).toHaveLength(report.registryRules.rules.length);
    const open = rules.find((f) => f.Id === `encrypted-ecr/${REGION}/${ACCOUNT}/registry-rule/pull-through-cache/docker-hub`);
    expect(open).toMatchObject({ Compliance: { Status: 'FAILED' }, Severity: { Label: 'HIGH' }, GeneratorId: 'encrypted-ecr/audit/registry-rule/pull-through-cache' });
    expect(open?.Remediation?.Recommendation.Text).toContain('creation template');
    expect(open?.Resources[0]).toMatchObject({ Id: `ecr-registry-rule:${ACCOUNT}/${REGION}/pull-through-cache/docker-hub`, Details: { Other: { rule: 'pull-through-cache', prefix: 'docker-hub', encryptionType: 'AES256' } } });
    const covered = rules.find((f) => f.Id === `encrypted-ecr/${REGION}/${ACCOUNT}/registry-rule/pull-through-cache/quay`);
    expect(covered).toMatchObject({ Compliance: { Status: 'PASSED' }, Severity: { Label: 'INFORMATIONAL' }, Resources: [{ Details: { Other: { template: 'quay', kmsKey: ROTATING } } }] });
    expect(covered?.Remediation).toBeUndefined();
    for (const f of rules) for (const value of Object.values(f.Resources[0]?.Details?.Other ?? {})) expect(value.length).toBeLessThan(1024);
  });

  it('a report without repositories gives no finding', () => {
    const empty = { account: undefined, region: REGION, repositories: [], keys: [] } as unknown as AuditReport;
    expect(auditToAsff(empty)).toEqual([]);
  });
});
