/**
 * The audit's checks beyond repositories, as the CI formats carry them: each registry rule
 * (creation templates, pull-through cache rules, replication destinations: what the repositories
 * ECR creates on your behalf get) and each key-posture check of each key in use, with the
 * three-state result (pass / fail / unknown) the JSON and ASFF outputs give them.
 */
import type { AuditReport, AuditStatus } from '../../index.js';
import type { SarifRule } from './sarif.js';

/** One check of one registry rule or one key, flattened for SARIF, JUnit and CSV. */
export interface AuditCheck {
  readonly group: 'registry-rule' | 'key-posture';
  /** The rule kind and prefix (`creation-template ROOT`, `replication team → 444455556666/eu-central-1`) or the key ARN. */
  readonly resourceName: string;
  /**
   * A URI for the resource: the key ARN; for a registry rule (which has no ARN),
   * `ecr-registry-rule:<account>/<region>/<rule>/<prefix>[/<destination>]`.
   */
  readonly resource: string;
  /** The check: the registry rule kind, or the posture check id (`rotation`, …). */
  readonly check: string;
  readonly status: AuditStatus;
  /** Violation codes (registry rules) or the posture check id when it does not pass. */
  readonly codes: readonly string[];
  readonly message: string;
  /** For SARIF: the level a failure has (posture: from its severity). */
  readonly level: SarifRule['level'];
  /** What new repositories get (registry rules). */
  readonly encryption?: { readonly type: string; readonly keyArn?: string };
  readonly notes: readonly string[];
  readonly properties: Readonly<Record<string, string>>;
}

const SEVERE = new Set(['HIGH', 'CRITICAL']);

/** Every registry rule and key-posture check of the report, in the report's order. */
export const auditChecks = (report: AuditReport): AuditCheck[] => {
  const account = report.account ?? 'unknown-account';
  const rules = report.registryRules.rules.map((r): AuditCheck => {
    const destination = r.destination ? `${r.destination.registryId}/${r.destination.region}` : undefined;
    const reasons = r.violations.map((v) => v.message);
    return {
      group: 'registry-rule',
      resourceName: `${r.rule} ${r.prefix}${destination !== undefined ? ` → ${destination}` : ''}`,
      resource: `ecr-registry-rule:${account}/${report.region}/${r.rule}/${r.prefix}${destination !== undefined ? `/${destination}` : ''}`,
      check: r.rule,
      status: r.status,
      codes: r.violations.map((v) => v.code),
      message:
        `${r.rule} ${r.prefix}${destination !== undefined ? ` → ${destination}` : ''}: new repositories get ` +
        `${r.encryption ? `${r.encryption.type}${r.encryption.keyArn ? ` with ${r.encryption.keyArn}` : ''}` : 'an encryption not known here'}` +
        `${r.template !== undefined ? ` (template ${r.template})` : ''}${reasons.length > 0 ? `; ${reasons.join('; ')}` : ''}`,
      level: 'error',
      ...(r.encryption ? { encryption: { type: r.encryption.type, ...(r.encryption.keyArn ? { keyArn: r.encryption.keyArn } : {}) } } : {}),
      notes: r.notes,
      properties: { group: 'registry-rule', rule: r.rule, prefix: r.prefix, ...(r.template !== undefined ? { template: r.template } : {}), ...(destination !== undefined ? { destination } : {}) },
    };
  });
  const posture = report.keys.flatMap((k) =>
    (k.posture?.checks ?? []).map(
      (c): AuditCheck => ({
        group: 'key-posture',
        resourceName: k.keyArn,
        resource: k.keyArn,
        check: c.id,
        status: c.status,
        codes: c.status === 'pass' ? [] : [c.id],
        message: `${k.keyArn}: ${c.message}`,
        level: SEVERE.has(c.severity) ? 'error' : c.severity === 'MEDIUM' ? 'warning' : 'note',
        notes: [],
        properties: {
          group: 'key-posture',
          severity: c.severity,
          ...(c.securityHubControlId !== undefined ? { securityHubControlId: c.securityHubControlId } : {}),
          ...(c.prowlerCheckId !== undefined ? { prowlerCheckId: c.prowlerCheckId } : {}),
        },
      }),
    ),
  );
  return [...rules, ...posture];
};

/** The SARIF rules of registry-rule violations and key-posture checks (GitHub shows their help). */
export const CHECK_RULES: readonly SarifRule[] = [
  {
    id: 'no-template',
    name: 'RegistryRuleWithoutTemplate',
    shortDescription: 'Repositories ECR creates on your behalf here match no creation template: they get AES256.',
    fullDescription: 'Pull-through cache, replication and create-on-push create repositories with the matching creation template, or with ECR’s defaults (AES256) when none matches.',
    help: 'Create a template for the prefix with the required encryption: encrypted-ecr template put --prefix <prefix> --applied-for <scenario> --kms-key <key> --custom-role-arn <role>.',
    level: 'error',
  },
  {
    id: 'template-role-missing',
    name: 'KmsTemplateWithoutRole',
    shortDescription: 'A KMS creation template names no custom role: ECR cannot create the grants.',
    fullDescription: 'A template that uses KMS needs a customRoleArn that ECR assumes to create and retire the KMS grants of the repositories it creates.',
    help: 'Give the template a role trusted by ecr.amazonaws.com allowed kms:CreateGrant, kms:RetireGrant and kms:DescribeKey: encrypted-ecr template put --prefix <prefix> --applied-for <scenario> --kms-key <key> --custom-role-arn <role>.',
    level: 'error',
  },
  {
    id: 'template-role-denied',
    name: 'TemplateRoleMayNotUseKey',
    shortDescription: 'The creation template’s role may not do what ECR needs it for.',
    fullDescription: 'The permission simulation of the template’s custom role (and the key policy) denies an action ECR performs with it.',
    help: 'Allow the role kms:CreateGrant, kms:RetireGrant and kms:DescribeKey on the key (IAM policy and key policy), then audit again.',
    level: 'error',
  },
  {
    id: 'key-wrong-region',
    name: 'TemplateKeyInOtherRegion',
    shortDescription: 'The creation template’s key is in another region.',
    fullDescription: 'ECR needs a KMS key in the repository’s region; a template naming another region’s key cannot create repositories.',
    help: 'Point the template at a key of this region: encrypted-ecr template put --prefix <prefix> --applied-for <scenario> --kms-key <key of this region> --custom-role-arn <role>.',
    level: 'error',
  },
  {
    id: 'rules-unverified',
    name: 'RegistryRulesUnverified',
    shortDescription: 'Registry rules could not be read or checked: compliance is unknown.',
    fullDescription: 'A registry read was denied, or the rule creates repositories in another registry whose templates are not read here.',
    help: 'Allow the auditing principal ecr:DescribeRegistry, ecr:DescribeRepositoryCreationTemplates and ecr:DescribePullThroughCacheRules (in each destination too), then audit again.',
    level: 'warning',
  },
  ...(
    [
      ['rotation', 'KeyRotationDisabled', 'Automatic rotation of the key material is off (Security Hub KMS.4).', 'EnableKeyRotation on the key.'],
      ['deletion-scheduled', 'KeyDeletionScheduled', 'The key is scheduled for deletion (Security Hub KMS.3).', 'CancelKeyDeletion unless every image encrypted with the key may become unreadable.'],
      ['key-state', 'KeyNotUsable', 'The key is in a state ECR cannot use.', 'Enable the key, or migrate its repositories to a usable key.'],
      ['key-account', 'KeyInOtherAccount', 'The key belongs to another account, which controls its availability.', 'Prefer a key of the registry account, or make sure the owner keeps the key and its grants.'],
      ['imported-key-material', 'ImportedKeyMaterialExpires', 'The key’s imported material expires.', 'Re-import the key material before it expires.'],
      ['public-key-policy', 'KeyPolicyPublic', 'The key policy lets anyone use or manage the key (Security Hub KMS.5).', 'Remove the wildcard principal or narrow it with a condition.'],
      ['destructive-key-access', 'KeyPolicyDestructiveAccess', 'Principals of another account may disable, delete or rewrite the key.', 'Keep kms:DisableKey, kms:ScheduleKeyDeletion and kms:PutKeyPolicy to the key account.'],
    ] as const
  ).map(([id, name, text, help]): SarifRule => ({ id: `key-posture/${id}`, name, shortDescription: text, fullDescription: text, help, level: 'warning' })),
];

/** The SARIF rule id of a check's code. */
export const sarifRuleIdOf = (check: AuditCheck, code: string): string => (check.group === 'key-posture' ? `key-posture/${code}` : code);
