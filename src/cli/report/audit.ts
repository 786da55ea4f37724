/**
 * `audit`'s reports: the JSON document (with `schemaVersion`, schema
 * `schemas/audit-report.schema.json`), SARIF, JUnit, CSV, and `--fail-on`.
 */
import type { AuditedRepository, AuditReport } from '../../index.js';
import { type AuditCheck, auditChecks, CHECK_RULES, sarifRuleIdOf } from './audit-checks.js';
import { csv } from './csv.js';
import { type JunitCase, junitXml } from './junit.js';
import { type SarifFinding, sarifLog, type SarifRule } from './sarif.js';
import { type ReportFormats, TOOL } from './spec.js';
import { loadLibrary } from '../library.js';

/** The version of the JSON document's shape; a change that can break a reader bumps it. */
const AUDIT_SCHEMA_VERSION = '1';

/** A repository as a report may carry it: `region` and `accountId` when several were audited. */
type Row = AuditedRepository & { readonly region?: string; readonly accountId?: string };

/** The JSON document: the report with its `schemaVersion` first. */
export const auditDocument = (report: AuditReport): unknown => ({ schemaVersion: AUDIT_SCHEMA_VERSION, ...report });

/**
 * `--fail-on` for `audit`: the lowest status that fails the run (exit 9).
 * `fail` – a repository fails; `unknown` (default, as before) – one fails or could not be checked;
 * `warning` – any of those, a repository warning, or an orphaned grant; `none` – never.
 */
export const AUDIT_FAIL_ON = ['fail', 'unknown', 'warning', 'none'] as const;
export type AuditFailOn = (typeof AUDIT_FAIL_ON)[number];

/** Whether `report` fails the run under `failOn`. */
export const auditFails = (report: Pick<AuditReport, 'status' | 'repositories' | 'summary'>, failOn: AuditFailOn): boolean => {
  // The report's own status counts the registry rules (templates, pull-through cache, replication) too.
  const failed = report.status === 'fail' || report.repositories.some((r) => r.status === 'fail');
  const unknown = report.status === 'unknown' || report.repositories.some((r) => r.status === 'unknown');
  const warned = report.repositories.some((r) => r.warnings.length > 0) || report.summary.orphanedGrants > 0;
  switch (failOn) {
    case 'none':
      return false;
    case 'fail':
      return failed;
    case 'unknown':
      return failed || unknown;
    case 'warning':
      return failed || unknown || warned;
  }
};

/** The checks, as SARIF rules (GitHub shows the help with each alert). */
const RULES: readonly SarifRule[] = [
  {
    id: 'not-kms',
    name: 'RepositoryNotKmsEncrypted',
    shortDescription: 'The repository is encrypted with AES256 where the rule asks for KMS.',
    fullDescription: 'ECR encrypts this repository with S3-managed keys (AES256). Encryption cannot be changed in place: migrate the repository to a KMS key.',
    help: 'Migrate the images to a KMS-encrypted repository of the same name: encrypted-ecr migrate <repository> --kms-key <key> (or --encryption KMS for aws/ecr). Run it with --plan first.',
    level: 'error',
  },
  {
    id: 'not-customer-managed',
    name: 'RepositoryUsesAwsManagedKey',
    shortDescription: 'The repository uses the AWS-managed key aws/ecr where the rule asks for a customer-managed key.',
    fullDescription: 'The AWS-managed key aws/ecr cannot be given a key policy of your own, nor be disabled or shared. The rule requires a customer-managed KMS key.',
    help: 'Migrate the repository to a customer-managed key: encrypted-ecr migrate <repository> --kms-key <key>.',
    level: 'error',
  },
  {
    id: 'key-not-allowed',
    name: 'RepositoryKeyNotAllowed',
    shortDescription: 'The repository is encrypted with a KMS key outside the allowed keys.',
    fullDescription: 'The audit was given a list of allowed keys (--allowed-keys) and this repository uses another one.',
    help: 'Migrate the repository to an allowed key: encrypted-ecr migrate <repository> --kms-key <allowed key>.',
    level: 'error',
  },
  {
    id: 'key-not-usable',
    name: 'RepositoryKeyNotUsable',
    shortDescription: 'The repository’s KMS key is disabled or pending deletion: images cannot be pushed or pulled.',
    fullDescription: 'A KMS key that is not Enabled cannot decrypt the repository’s layers. A key pending deletion can be saved until its deletion date.',
    help: 'Enable the key (aws kms enable-key) or cancel its deletion (aws kms cancel-key-deletion), then migrate the repository if it should use another key: encrypted-ecr migrate <repository> --kms-key <key>.',
    level: 'error',
  },
  {
    id: 'key-not-found',
    name: 'RepositoryKeyNotFound',
    shortDescription: 'The repository’s KMS key no longer exists.',
    fullDescription: 'Without its key the repository’s images cannot be decrypted; a migration cannot read them either.',
    help: 'The images are lost unless the key can be restored (a deleted KMS key cannot). Rebuild and push the images to a repository with a usable key: encrypted-ecr create <repository> --kms-key <key>.',
    level: 'error',
  },
  {
    id: 'key-unreadable',
    name: 'RepositoryKeyUnreadable',
    shortDescription: 'The repository’s KMS key could not be described: compliance is unknown.',
    fullDescription: 'DescribeKey failed (often access denied), so the audit could not check the key. The repository is neither compliant nor failing.',
    help: 'Allow kms:DescribeKey on the key to the auditing principal and audit again.',
    level: 'warning',
  },
  {
    id: 'key-cross-account',
    name: 'RepositoryKeyInOtherAccount',
    shortDescription: 'The repository’s KMS key belongs to another account.',
    fullDescription: 'The key’s account controls it and can withdraw it (disable it, change its policy), and pays its monthly fee.',
    help: 'Check that the key owner is trusted, or migrate to a key of this account: encrypted-ecr migrate <repository> --kms-key <key>.',
    level: 'note',
  },
  {
    id: 'orphaned-grants',
    name: 'KeyHasOrphanedEcrGrants',
    shortDescription: 'A KMS key holds grants ECR made for repositories that are gone.',
    fullDescription: 'A repository deleted by a principal without kms:RetireGrant leaves ECR’s grants on the key; they count against the 50,000-grant quota.',
    help: 'List them with encrypted-ecr grants orphans --key <key>, retire them with encrypted-ecr grants retire --key <key>.',
    level: 'warning',
  },
];

/** A rule for a check this CLI does not know yet (a newer library): named by its code. */
const ruleFor = (code: string, level: SarifRule['level']): SarifRule =>
  RULES.find((r) => r.id === code) ?? {
    id: code,
    name: code,
    shortDescription: `Audit check ${code}.`,
    fullDescription: `Audit check ${code}.`,
    help: 'See the violation message.',
    level,
  };

const regionOf = (report: AuditReport, row: Row): string => row.region ?? report.region;

/** The command that fixes a violation, for the result's message. */
const remedy = (report: AuditReport, row: Row, code: string): string => {
  const region = ` --region ${regionOf(report, row)}`;
  const key = report.rule.allowedKeys?.[0] ?? '<key-arn>';
  switch (code) {
    case 'not-kms':
      return report.rule.require === 'cmk'
        ? `encrypted-ecr migrate ${row.name} --kms-key ${key}${region}`
        : `encrypted-ecr migrate ${row.name} --encryption KMS${region}`;
    case 'not-customer-managed':
    case 'key-not-allowed':
    case 'key-not-usable':
    case 'key-cross-account':
      return `encrypted-ecr migrate ${row.name} --kms-key ${key}${region} --plan`;
    case 'key-unreadable':
      return `allow kms:DescribeKey on ${row.encryption.keyArn ?? 'the key'}, then: encrypted-ecr audit${region}`;
    default:
      return `encrypted-ecr audit${region}`;
  }
};

/** One SARIF result per repository and failed check (and per warning, per key with orphaned grants). */
const findings = (report: AuditReport): SarifFinding[] => [
  ...(report.repositories as readonly Row[]).flatMap((r) => [
    ...r.violations.map((v) => ({
      ruleId: v.code,
      level: r.status === 'unknown' ? ('warning' as const) : ('error' as const),
      message: `${r.name}: ${v.message}. Fix: ${remedy(report, r, v.code)}`,
      resourceArn: r.arn,
      resourceName: r.name,
      properties: { status: r.status, region: regionOf(report, r), ...(r.accountId !== undefined ? { accountId: r.accountId } : {}) },
    })),
    ...r.warnings.map((w) => ({
      ruleId: w.code,
      level: 'note' as const,
      message: `${r.name}: ${w.message}. If unwanted: ${remedy(report, r, w.code)}`,
      resourceArn: r.arn,
      resourceName: r.name,
    })),
  ]),
  // Registry rules and key posture: one result per violation of a rule, per posture check that does not pass.
  ...auditChecks(report).flatMap((c) =>
    c.codes.map((code) => ({
      ruleId: sarifRuleIdOf(c, code),
      level: c.status === 'unknown' ? ('warning' as const) : c.level,
      message: `${c.message}${c.status === 'unknown' ? ' (unknown: the check could not be made)' : ''}`,
      resourceArn: c.resource,
      resourceName: c.resourceName,
      properties: { status: c.status, region: report.region, ...c.properties },
    })),
  ),
  ...report.keys.flatMap((k) =>
    k.grants !== undefined && k.grants.orphans.length > 0
      ? [
          {
            ruleId: 'orphaned-grants',
            level: 'warning' as const,
            message: `${k.grants.orphans.length} orphaned ECR grant(s) on ${k.keyArn}. Fix: encrypted-ecr grants retire --key ${k.keyArn} --region ${report.region}`,
            resourceArn: k.keyArn,
            resourceName: k.keyArn.split('/').pop() ?? k.keyArn,
          },
        ]
      : [],
  ),
];

/** The SARIF log of an audit. */
const auditSarif = (report: AuditReport, version: string): string => {
  const results = findings(report);
  const seen = [...new Set(results.map((f) => f.ruleId))];
  const known = [...RULES, ...CHECK_RULES];
  const rules = [...known, ...seen.filter((id) => !known.some((r) => r.id === id)).map((id) => ruleFor(id, 'error'))];
  return JSON.stringify(
    sarifLog({ ...TOOL, version }, rules, results, {
      region: report.region,
      account: report.account ?? null,
      rule: report.rule,
      status: report.status,
      registryRulesStatus: report.registryRules.status,
      postureStatus: report.postureStatus ?? null,
    }),
    null,
    2,
  );
};

/** JUnit: one test case per repository (the class names the rule), failure for `fail`, skipped for `unknown`. */
const auditJunit = (report: AuditReport, timestamp: string): string => {
  const classname = `encrypted-ecr.audit.require-${report.rule.require}`;
  const byRegion = new Map<string, JunitCase[]>();
  for (const r of report.repositories as readonly Row[]) {
    const suite = `${r.accountId !== undefined ? `${r.accountId} ` : ''}${regionOf(report, r)}`;
    const reason = r.violations.map((v) => `${v.code}: ${v.message}`).join('; ');
    const testcase: JunitCase =
      r.status === 'pass'
        ? { name: r.name, classname, outcome: 'pass' }
        : {
            name: r.name,
            classname,
            outcome: r.status === 'fail' ? 'fail' : 'skipped',
            message: reason,
            detail: `${r.arn}\n${reason}\nFix: ${r.violations.map((v) => remedy(report, r, v.code)).join('; ')}`,
          };
    byRegion.set(suite, [...(byRegion.get(suite) ?? []), testcase]);
  }
  const checks = auditChecks(report);
  const suite = (group: AuditCheck['group'], title: string) => {
    const cases = checks.filter((c) => c.group === group).map(checkCase);
    return cases.length === 0 ? [] : [{ name: `encrypted-ecr audit ${title} ${report.region}`, cases }];
  };
  return junitXml(
    'encrypted-ecr audit',
    [...[...byRegion].map(([name, cases]) => ({ name: `encrypted-ecr audit ${name}`, cases })), ...suite('registry-rule', 'registry rules'), ...suite('key-posture', 'key posture')],
    timestamp,
  );
};

/** A registry rule or posture check as a JUnit case: failure for `fail`, skipped for `unknown`. */
const checkCase = (c: AuditCheck): JunitCase =>
  c.status === 'pass'
    ? { name: c.resourceName, classname: `encrypted-ecr.audit.${c.group}.${c.check}`, outcome: 'pass' }
    : {
        name: c.resourceName,
        classname: `encrypted-ecr.audit.${c.group}.${c.check}`,
        outcome: c.status === 'fail' ? 'fail' : 'skipped',
        message: c.message,
        detail: `${c.resource}\n${c.message}${c.notes.length > 0 ? `\n${c.notes.join('\n')}` : ''}`,
      };

/**
 * CSV: one row per repository (`resource_type` `repository`), then one per registry rule
 * (`registry-rule`: `repository` names the rule and prefix, `encryption` what new repositories
 * get) and per key-posture check (`key-posture`: `repository` and `key_arn` the key); `region` and
 * `account_id` columns when the report spans several.
 */
const auditCsv = (report: AuditReport): string => {
  const rows = report.repositories as readonly Row[];
  const multi = rows.some((r) => r.region !== undefined || r.accountId !== undefined);
  const where = multi ? [report.region, report.account ?? ''] : [];
  return csv(
    [...(multi ? ['region', 'account_id'] : []), 'repository', 'repository_arn', 'encryption', 'key_arn', 'key_manager', 'key_state', 'status', 'violations', 'reason', 'warnings', 'resource_type'],
    [
      ...rows.map((r) => [
        ...(multi ? [regionOf(report, r), r.accountId ?? report.account ?? ''] : []),
        r.name,
        r.arn,
        r.encryption.type,
        r.encryption.keyArn ?? '',
        r.encryption.keyManager ?? '',
        r.encryption.keyState ?? '',
        r.status,
        r.violations.map((v) => v.code).join(';'),
        r.violations.map((v) => v.message).join('; '),
        r.warnings.map((w) => w.message).join('; '),
        'repository',
      ]),
      ...auditChecks(report).map((c) => [
        ...where,
        c.group === 'key-posture' ? `${c.resourceName} ${c.check}` : c.resourceName,
        c.resource,
        c.encryption?.type ?? '',
        c.group === 'key-posture' ? c.resource : (c.encryption?.keyArn ?? ''),
        '',
        '',
        c.status,
        c.codes.join(';'),
        c.status === 'pass' ? '' : c.message,
        c.notes.join('; '),
        c.group,
      ]),
    ],
  );
};

/** The formats `audit` writes besides JSON and the table. */
export const AUDIT_FORMATS: ReportFormats<AuditReport> = {
  sarif: (report, context) => auditSarif(report, context.version),
  junit: (report, context) => auditJunit(report, context.now.toISOString()),
  csv: (report) => auditCsv(report),
  // AWS Security Finding Format, for Security Hub's BatchImportFindings (the library's auditToAsff).
  asff: async (report, context) => {
    const { auditToAsff } = await loadLibrary();
    return JSON.stringify(auditToAsff(report, { generatedAt: context.now }), null, 2);
  },
};
