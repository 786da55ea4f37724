/**
 * An audit report as AWS Security Finding Format (ASFF) findings, ready for Security Hub's
 * `BatchImportFindings`: one finding per repository (its encryption against the rule), one per
 * registry rule (what the repositories ECR creates on your behalf get) and one per key-posture
 * check. A pure function: it makes no call.
 *
 * Fields, as the Security Hub user guide's "Required top-level ASFF attributes" page lists them:
 * `AwsAccountId`, `CreatedAt`, `Description`, `GeneratorId`, `Id`, `ProductArn`, `Resources`,
 * `SchemaVersion` (`2018-10-08`), `Severity`, `Title`, `Types`, `UpdatedAt`; plus `Compliance`
 * (`Status` PASSED / FAILED / NOT_AVAILABLE, `SecurityControlId` where a control matches) and
 * `Remediation`. `Title` is cut to 256 characters and `Description` to 1,024 (the API's limits).
 */
import type { AuditedRegistryRule, AuditedRepository, AuditReport, AuditStatus } from './audit-types.js';
import type { FindingSeverity, KeyPostureCheck } from './key-posture.js';

/** One ASFF finding (the subset of `AwsSecurityFinding` this library fills). */
export interface AsffFinding {
  readonly SchemaVersion: '2018-10-08';
  /** Stable across runs: the same repository or key check always has the same id. */
  readonly Id: string;
  readonly ProductArn: string;
  readonly GeneratorId: string;
  readonly AwsAccountId: string;
  readonly Region: string;
  readonly Types: readonly string[];
  readonly CreatedAt: string;
  readonly UpdatedAt: string;
  readonly Severity: { readonly Label: FindingSeverity };
  readonly Title: string;
  readonly Description: string;
  readonly Resources: readonly AsffResource[];
  readonly Compliance: {
    readonly Status: 'PASSED' | 'FAILED' | 'NOT_AVAILABLE';
    readonly SecurityControlId?: string;
  };
  readonly Remediation?: { readonly Recommendation: { readonly Text: string; readonly Url?: string } };
  /** Free-form fields: `encrypted-ecr/prowlerCheckId`, `encrypted-ecr/check`, … */
  readonly ProductFields: Readonly<Record<string, string>>;
  readonly RecordState: 'ACTIVE';
}

/**
 * A resource of a finding. A registry rule (creation template, pull-through cache rule,
 * replication destination) has no ASFF type of its own: it is `Other`, with its fields in
 * `Details.Other`, as the Security Hub user guide's "Other object in ASFF" page says to do.
 */
export interface AsffResource {
  readonly Type: 'AwsEcrRepository' | 'AwsKmsKey' | 'Other';
  readonly Id: string;
  readonly Partition: string;
  readonly Region: string;
  readonly Details?: { readonly Other: Readonly<Record<string, string>> };
}

/** Options of {@link auditToAsff}. */
export interface AsffOptions {
  /** `CreatedAt` and `UpdatedAt` of every finding. Default: now. */
  readonly generatedAt?: Date;
  /**
   * The product ARN. Default: the account's default product,
   * `arn:<partition>:securityhub:<region>:<account>:product/<account>/default` (how Security Hub
   * takes findings an account imports for itself).
   */
  readonly productArn?: string;
}

const TYPE = 'Software and Configuration Checks/AWS Security Best Practices';
const MAX_TITLE = 256;
const MAX_DESCRIPTION = 1024;
const cut = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);
const partitionOf = (arn: string): string => /^arn:([^:]+):/.exec(arn)?.[1] ?? 'aws';
const regionOf = (arn: string, fallback: string): string => /^arn:[^:]+:[^:]+:([^:]+):/.exec(arn)?.[1] ?? fallback;

const COMPLIANCE: Readonly<Record<AuditStatus, AsffFinding['Compliance']['Status']>> = { pass: 'PASSED', fail: 'FAILED', unknown: 'NOT_AVAILABLE' };

const ENCRYPTION_DOCS = 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html';
const TEMPLATE_DOCS = 'https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-creation-templates.html';
const REMEDIATION: Readonly<Record<KeyPostureCheck['id'], { readonly text: string; readonly url: string }>> = {
  rotation: { text: 'Turn on automatic rotation of the key (EnableKeyRotation).', url: 'https://docs.aws.amazon.com/kms/latest/developerguide/rotate-keys.html' },
  'deletion-scheduled': {
    text: 'Cancel the deletion (CancelKeyDeletion) unless every image encrypted with the key may become unreadable.',
    url: 'https://docs.aws.amazon.com/kms/latest/developerguide/deleting-keys-scheduling-key-deletion.html',
  },
  'key-state': { text: 'Enable the key (EnableKey), or migrate the repositories to a usable key.', url: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html' },
  'key-account': {
    text: 'Prefer a key of the registry account, or make sure the owning account keeps the key and its grants available.',
    url: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html',
  },
  'imported-key-material': { text: 'Re-import the key material before it expires.', url: 'https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html' },
  'public-key-policy': {
    text: 'Remove the wildcard principal, or narrow it with a condition such as kms:CallerAccount or aws:PrincipalOrgID.',
    url: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html',
  },
  'destructive-key-access': {
    text: 'Keep kms:DisableKey, kms:ScheduleKeyDeletion and kms:PutKeyPolicy to the key account (its key administrators).',
    url: 'https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html',
  },
};

type FindingBase = Omit<AsffFinding, 'Id' | 'GeneratorId' | 'Severity' | 'Title' | 'Description' | 'Resources' | 'Compliance' | 'Remediation' | 'ProductFields'>;

const repositoryFinding = (report: AuditReport, account: string, base: FindingBase, repository: AuditedRepository): AsffFinding => {
  const rule = report.rule.require;
  const reasons = [...repository.violations, ...repository.warnings].map((v) => v.message);
  const encryption = `${repository.encryption.type}${repository.encryption.keyArn ? ` with ${repository.encryption.keyArn}` : ''}`;
  return {
    ...base,
    Id: `encrypted-ecr/${report.region}/${account}/repository/${repository.name}/encryption`,
    GeneratorId: 'encrypted-ecr/audit/repository-encryption',
    Severity: { Label: repository.status === 'fail' ? 'HIGH' : 'INFORMATIONAL' },
    Title: cut(`ECR repository ${repository.name} should be encrypted as the rule requires (require=${rule})`, MAX_TITLE),
    Description: cut(`${repository.name} is encrypted with ${encryption}.${reasons.length > 0 ? ` ${reasons.join('; ')}.` : ''}`, MAX_DESCRIPTION),
    Resources: [{ Type: 'AwsEcrRepository', Id: repository.arn, Partition: partitionOf(repository.arn), Region: regionOf(repository.arn, report.region) }],
    Compliance: { Status: COMPLIANCE[repository.status] },
    ...(repository.status === 'fail'
      ? { Remediation: { Recommendation: { Text: 'Migrate the repository to the required encryption (encrypted-ecr migrate): encryption cannot change after creation.', Url: ENCRYPTION_DOCS } } }
      : {}),
    ProductFields: {
      'encrypted-ecr/check': 'repository-encryption',
      'encrypted-ecr/status': repository.status,
      // Prowler's check asks for a customer managed key: it matches the `cmk` rule only.
      ...(rule === 'cmk' ? { 'encrypted-ecr/prowlerCheckId': 'ecr_repository_encrypted_with_cmk', 'encrypted-ecr/configRule': 'ecr-repository-cmk-encryption-enabled' } : {}),
    },
  };
};

/** A registry rule's finding: the encryption the repositories ECR creates under it get, against the rule. */
const registryRuleFinding = (report: AuditReport, account: string, partition: string, base: FindingBase, rule: AuditedRegistryRule): AsffFinding => {
  const destination = rule.destination ? `${rule.destination.registryId}/${rule.destination.region}` : undefined;
  const name = `${rule.rule} ${rule.prefix}${destination !== undefined ? ` → ${destination}` : ''}`;
  const encryption = rule.encryption ? `${rule.encryption.type}${rule.encryption.keyArn ? ` with ${rule.encryption.keyArn}` : ''}` : 'an encryption not known here';
  const reasons = [...rule.violations.map((v) => v.message), ...rule.notes];
  // The same resource id as the CLI's SARIF, JUnit and CSV (`cli/report/audit-checks.ts`).
  const id = `ecr-registry-rule:${account}/${report.region}/${rule.rule}/${rule.prefix}${destination !== undefined ? `/${destination}` : ''}`;
  const details: Record<string, string> = {
    rule: rule.rule,
    prefix: rule.prefix,
    ...(rule.template !== undefined ? { template: rule.template } : {}),
    ...(destination !== undefined ? { destination } : {}),
    ...(rule.encryption ? { encryptionType: rule.encryption.type, ...(rule.encryption.keyArn ? { kmsKey: rule.encryption.keyArn } : {}) } : {}),
    ...(rule.customRoleArn !== undefined ? { customRoleArn: rule.customRoleArn } : {}),
  };
  return {
    ...base,
    Id: `encrypted-ecr/${report.region}/${account}/registry-rule/${rule.rule}/${rule.prefix}${destination !== undefined ? `/${destination}` : ''}`,
    GeneratorId: `encrypted-ecr/audit/registry-rule/${rule.rule}`,
    Severity: { Label: rule.status === 'fail' ? 'HIGH' : 'INFORMATIONAL' },
    Title: cut(`Repositories ECR creates under ${name} should be encrypted as the rule requires (require=${report.rule.require})`, MAX_TITLE),
    Description: cut(`New repositories under ${name} get ${encryption}${rule.template !== undefined ? ` (template ${rule.template})` : ''}.${reasons.length > 0 ? ` ${reasons.join('; ')}.` : ''}`, MAX_DESCRIPTION),
    Resources: [{ Type: 'Other', Id: id, Partition: partition, Region: rule.destination?.region ?? report.region, Details: { Other: details } }],
    Compliance: { Status: COMPLIANCE[rule.status] },
    ...(rule.status === 'fail'
      ? { Remediation: { Recommendation: { Text: 'Create or fix the creation template for the prefix (encrypted-ecr template put): ECR gives repositories it creates the matching template\'s encryption, or AES256 when none matches.', Url: TEMPLATE_DOCS } } }
      : {}),
    ProductFields: { 'encrypted-ecr/check': `registry-rule/${rule.rule}`, 'encrypted-ecr/status': rule.status, ...(rule.violations.length > 0 ? { 'encrypted-ecr/violations': rule.violations.map((v) => v.code).join(',') } : {}) },
  };
};

const keyFinding = (report: AuditReport, base: FindingBase, keyArn: string, check: KeyPostureCheck): AsffFinding => ({
  ...base,
  Id: `encrypted-ecr/${keyArn}/${check.id}`,
  GeneratorId: `encrypted-ecr/audit/key-posture/${check.id}`,
  Severity: { Label: check.status === 'fail' ? check.severity : 'INFORMATIONAL' },
  Title: cut(check.title, MAX_TITLE),
  Description: cut(check.message, MAX_DESCRIPTION),
  Resources: [{ Type: 'AwsKmsKey', Id: keyArn, Partition: partitionOf(keyArn), Region: regionOf(keyArn, report.region) }],
  Compliance: { Status: COMPLIANCE[check.status], ...(check.securityHubControlId !== undefined ? { SecurityControlId: check.securityHubControlId } : {}) },
  ...(check.status === 'fail' ? { Remediation: { Recommendation: { Text: REMEDIATION[check.id].text, Url: REMEDIATION[check.id].url } } } : {}),
  ProductFields: {
    'encrypted-ecr/check': check.id,
    'encrypted-ecr/status': check.status,
    ...(check.prowlerCheckId !== undefined ? { 'encrypted-ecr/prowlerCheckId': check.prowlerCheckId } : {}),
    ...(check.principals !== undefined && check.principals.length > 0 ? { 'encrypted-ecr/principals': cut(check.principals.join(', '), MAX_DESCRIPTION) } : {}),
  },
});

/**
 * Turns an audit report into ASFF findings for AWS Security Hub: one per repository, one per
 * registry rule (resource type `Other`, its fields in `Details.Other`) and one per key-posture
 * check, with stable ids (a new run updates the same findings). Pass, fail and
 * unknown become `Compliance.Status` PASSED, FAILED and NOT_AVAILABLE; `SecurityControlId` is set
 * where a Security Hub control matches (KMS.3, KMS.4, KMS.5). Makes no AWS call; a report with no
 * repository (no account) gives no finding.
 *
 * @example
 * ```ts
 * import { writeFile } from 'node:fs/promises';
 * import { auditToAsff, EncryptedRegistry } from 'encrypted-ecr';
 *
 * const report = await new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } }).audit({ require: 'cmk' });
 * if (report.isOk()) {
 *   const findings = auditToAsff(report.value);
 *   // Then: aws securityhub batch-import-findings --findings file://findings.json (100 findings a call at most)
 *   await writeFile('findings.json', JSON.stringify(findings.slice(0, 100)));
 * }
 * ```
 */
export const auditToAsff = (report: AuditReport, options: AsffOptions = {}): AsffFinding[] => {
  const account = report.account;
  if (account === undefined) return [];
  const at = (options.generatedAt ?? new Date()).toISOString();
  const partition = partitionOf(report.repositories[0]?.arn ?? '');
  const base = {
    SchemaVersion: '2018-10-08' as const,
    ProductArn: options.productArn ?? `arn:${partition}:securityhub:${report.region}:${account}:product/${account}/default`,
    AwsAccountId: account,
    Region: report.region,
    Types: [TYPE],
    CreatedAt: at,
    UpdatedAt: at,
    RecordState: 'ACTIVE' as const,
  };
  return [
    ...report.repositories.map((r) => repositoryFinding(report, account, base, r)),
    ...report.registryRules.rules.map((r) => registryRuleFinding(report, account, partition, base, r)),
    ...report.keys.flatMap((k) => (k.posture?.checks ?? []).map((c) => keyFinding(report, base, k.keyArn, c))),
  ];
};
