/**
 * The audit of registry rules: what the repositories ECR creates on your behalf get.
 *
 * - Every repository creation template: its encryption (AES256 when it sets none), its key's health
 *   and whether it is allowed (the repository checks of `audit.ts`, given in), its key's region, and
 *   for a KMS template whether its custom role may create ECR's grants (the preflight's simulation).
 * - Every pull-through cache rule: the template that applies to its prefix for PULL_THROUGH_CACHE,
 *   or AES256 ("Amazon ECR uses the default settings", repository-creation-templates page).
 * - Every replication destination: replicas are created in the destination registry with its
 *   REPLICATION template, or AES256 ("KMS encryption settings are disabled by default on all
 *   repositories created because of a replication action", replication.md). Another registry's
 *   templates are not read here: under `cmk`/`kms` such a destination is `unknown`, not `pass`.
 *
 * Reads: DescribeRepositoryCreationTemplates, DescribePullThroughCacheRules, DescribeRegistry (all
 * pages), one DescribeKey per template key not already described, and for KMS templates the IAM
 * simulation of the role.
 */
import type { PullThroughCacheRule, ReplicationRule, RepositoryCreationTemplate } from '@aws-sdk/client-ecr';
import { okAsync, ResultAsync } from 'neverthrow';
import { templateFor } from '../encryption/templates.js';
import type { GenericAwsError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { checkTemplateRole, type ResolvedKey } from '../preflight/index.js';
import { describeCreationTemplates, describePullThroughCacheRules, describeReplicationRules } from '../steps/ecr-migration.js';
import type { EncryptionType } from '../types.js';
import type {
  AuditedEncryption,
  AuditedRegistryRule,
  AuditedRegistryRules,
  AuditRequirement,
  AuditStatus,
  AuditViolation,
} from './audit-types.js';

/** How `audit` judges an encryption: its key described, its violations of the rule. */
export type EncryptionJudge = (type: EncryptionType, keyArn: string | undefined) => Promise<{
  readonly encryption: AuditedEncryption;
  readonly violations: readonly AuditViolation[];
}>;

interface RegistryRulesInput {
  readonly region: string;
  readonly require: AuditRequirement;
  readonly judge: EncryptionJudge;
}

const statusOf = (violations: readonly AuditViolation[], unknownCodes: ReadonlySet<string>): AuditStatus =>
  violations.some((v) => !unknownCodes.has(v.code)) ? 'fail' : violations.length > 0 ? 'unknown' : 'pass';

const UNKNOWN_CODES: ReadonlySet<string> = new Set(['key-unreadable', 'rules-unverified']);

const worst = (statuses: readonly AuditStatus[]): AuditStatus =>
  statuses.includes('fail') ? 'fail' : statuses.includes('unknown') ? 'unknown' : 'pass';

const typeOf = (template: RepositoryCreationTemplate | undefined): EncryptionType => {
  const type = template?.encryptionConfiguration?.encryptionType;
  return type === 'KMS' || type === 'KMS_DSSE' ? type : 'AES256';
};

const keyOf = (template: RepositoryCreationTemplate): string | undefined => {
  const key = template.encryptionConfiguration?.kmsKey;
  return key === undefined || key === '' ? undefined : key;
};

const requiredLabel = (rule: AuditRequirement): string => (rule === 'cmk' ? 'a customer-managed KMS key' : 'KMS');

/** The role's permission findings, as violations (what stops creation) and notes (what does not). */
const roleVerdict = (
  ctx: RegistryContext,
  template: RepositoryCreationTemplate,
  region: string,
  encryption: AuditedEncryption,
): ResultAsync<{ readonly violations: AuditViolation[]; readonly notes: string[] }, never> => {
  const prefix = template.prefix ?? '';
  const roleArn = template.customRoleArn;
  if (encryption.type === 'AES256') return okAsync({ violations: [], notes: [] });
  if (roleArn === undefined || roleArn === '') {
    return okAsync({
      violations: [
        {
          code: 'template-role-missing',
          message: `the KMS template '${prefix}' has no customRoleArn: AWS requires a custom role for templates that use KMS, which ECR assumes to create the repository's KMS grants`,
        },
      ],
      notes: [],
    });
  }
  const key: ResolvedKey | undefined =
    encryption.keyArn === undefined ? undefined : { arn: encryption.keyArn, manager: encryption.keyManager ?? 'CUSTOMER', usable: true };
  return checkTemplateRole(ctx, { roleArn, region, prefix, key }).map((findings) => {
    const violations: AuditViolation[] = findings
      .filter((f) => f.severity === 'error')
      .map((f) => ({ code: 'template-role-denied' as const, message: `the template's role: ${f.message}` }));
    const notes = findings.filter((f) => f.severity === 'warning').map((f) => `the template's role: ${f.message}`);
    return { violations, notes };
  });
};

const auditTemplate = async (ctx: RegistryContext, template: RepositoryCreationTemplate, input: RegistryRulesInput): Promise<AuditedRegistryRule> => {
  const prefix = template.prefix ?? '';
  const type = typeOf(template);
  const keyArn = type === 'AES256' ? undefined : keyOf(template);
  const judged = await input.judge(type, keyArn);
  const scenarios = template.appliedFor ?? [];
  const violations: AuditViolation[] = judged.violations.map((v) => ({
    code: v.code,
    message: `repositories ECR creates from the template '${prefix}' (${scenarios.join(', ')}) would be ${v.message}`,
  }));
  const keyRegion = keyArn?.split(':')[3];
  if (keyRegion !== undefined && keyRegion !== input.region) {
    violations.push({ code: 'key-wrong-region', message: `the template's key ${keyArn ?? ''} is in ${keyRegion}; ECR needs a key in ${input.region}` });
  }
  const role = await roleVerdict(ctx, template, input.region, judged.encryption).unwrapOr({ violations: [], notes: [] });
  violations.push(...role.violations);
  return {
    rule: 'creation-template',
    prefix,
    appliedFor: scenarios,
    template: prefix,
    ...(template.customRoleArn ? { customRoleArn: template.customRoleArn } : {}),
    encryption: judged.encryption,
    status: statusOf(violations, UNKNOWN_CODES),
    violations,
    notes: role.notes,
  };
};

/** A rule under which ECR creates repositories with the applying template of this registry (or none). */
const covered = (
  rule: 'pull-through-cache',
  prefix: string,
  templates: readonly RepositoryCreationTemplate[],
  audited: readonly AuditedRegistryRule[],
  require: AuditRequirement,
): AuditedRegistryRule => {
  const template = templateFor(templates, prefix, 'PULL_THROUGH_CACHE');
  if (template?.prefix !== undefined) {
    const own = audited.find((a) => a.rule === 'creation-template' && a.prefix === template.prefix);
    return {
      rule,
      prefix,
      template: template.prefix,
      ...(own?.encryption ? { encryption: own.encryption } : {}),
      status: own?.status ?? 'unknown',
      violations: [],
      notes: [`repositories cached under '${prefix}' are created from the template '${template.prefix}'${own && own.status !== 'pass' ? ', which does not pass (see it above)' : ''}`],
    };
  }
  const violations: AuditViolation[] =
    require === 'any'
      ? []
      : [{ code: 'no-template', message: `new repositories here will be AES256: no PULL_THROUGH_CACHE template covers '${prefix}'; the rule requires ${requiredLabel(require)}` }];
  return { rule, prefix, encryption: { type: 'AES256' }, status: statusOf(violations, UNKNOWN_CODES), violations, notes: require === 'any' ? ['new repositories here will be AES256 (no template applies)'] : [] };
};

const replicationRules = (rules: readonly ReplicationRule[], require: AuditRequirement): AuditedRegistryRule[] =>
  rules.flatMap((rule) => {
    const filters = rule.repositoryFilters?.flatMap((f) => (f.filter ? [f.filter] : [])) ?? [];
    const prefixes = filters.length > 0 ? filters : ['ROOT'];
    return (rule.destinations ?? []).flatMap((d) =>
      prefixes.map((prefix): AuditedRegistryRule => {
        const destination = { region: d.region ?? '', registryId: d.registryId ?? '' };
        const where = `${destination.registryId} in ${destination.region}`;
        const message = `replicas of '${prefix}' are created in ${where} with that registry's REPLICATION template, or AES256 when none matches: audit ${where} to know which`;
        const violations: AuditViolation[] = require === 'any' ? [] : [{ code: 'rules-unverified', message }];
        return { rule: 'replication', prefix, destination, status: statusOf(violations, UNKNOWN_CODES), violations, notes: require === 'any' ? [message] : [] };
      }),
    );
  });

/**
 * A read that failed: one rule saying what could not be read, `unknown` under `cmk`/`kms` (new
 * repositories may be AES256) and a note under `any` (where AES256 passes).
 */
const unreadable = (rule: AuditedRegistryRule['rule'], what: string, error: GenericAwsError, require: AuditRequirement): AuditedRegistryRule => {
  const message = `${what} could not be read (${error.kind}${'message' in error && error.message ? `: ${error.message}` : ''}): what ECR creates on your behalf is unknown`;
  return require === 'any'
    ? { rule, prefix: 'ROOT', status: 'pass', violations: [], notes: [message] }
    : { rule, prefix: 'ROOT', status: 'unknown', violations: [{ code: 'rules-unverified', message }], notes: [] };
};

type Settled<T> = { readonly items: T[]; readonly error?: GenericAwsError };

/** The three reads of the region's registry rules, each settled (a failed read is kept as its error). */
type RegistryRuleReads = readonly [Settled<RepositoryCreationTemplate>, Settled<PullThroughCacheRule>, Settled<ReplicationRule>];

/**
 * Reads the region's registry rules (templates, pull-through cache rules, replication), the three
 * at once. Never fails. `audit` starts it together with the repository listing, so the reads
 * overlap instead of adding their latency to each target's chain of calls.
 *
 * @internal Called by `audit`.
 */
export const readRegistryRules = (ctx: RegistryContext): ResultAsync<RegistryRuleReads, never> => {
  const settle = <T>(read: ResultAsync<T[], GenericAwsError>): ResultAsync<Settled<T>, never> =>
    read.map((items): Settled<T> => ({ items })).orElse((error) => okAsync<Settled<T>, never>({ items: [] as T[], error }));
  return ResultAsync.combine([
    settle<RepositoryCreationTemplate>(describeCreationTemplates(ctx)),
    settle<PullThroughCacheRule>(describePullThroughCacheRules(ctx)),
    settle<ReplicationRule>(describeReplicationRules(ctx)),
  ] as const);
};

/**
 * Audits the region's registry rules from their reads (started by the caller, or here). Never
 * fails: a read that failed is an `unknown` rule.
 *
 * @internal Called by `audit`.
 */
export const auditRegistryRules = (
  ctx: RegistryContext,
  input: RegistryRulesInput,
  reads: ResultAsync<RegistryRuleReads, never> = readRegistryRules(ctx),
): ResultAsync<AuditedRegistryRules, never> =>
  reads.andThen(([templates, caches, replication]) =>
    ResultAsync.fromSafePromise(
      (async (): Promise<AuditedRegistryRules> => {
        const rules: AuditedRegistryRule[] = [];
        // One template at a time: each may describe a key and simulate a role.
        for (const template of templates.items) rules.push(await auditTemplate(ctx, template, input));
        const audited = [...rules];
        if (templates.error) rules.push(unreadable('creation-template', 'The repository creation templates (DescribeRepositoryCreationTemplates)', templates.error, input.require));
        for (const cache of caches.items) rules.push(covered('pull-through-cache', cache.ecrRepositoryPrefix ?? 'ROOT', templates.items, audited, input.require));
        if (caches.error) rules.push(unreadable('pull-through-cache', 'The pull-through cache rules (DescribePullThroughCacheRules)', caches.error, input.require));
        rules.push(...replicationRules(replication.items, input.require));
        if (replication.error) rules.push(unreadable('replication', 'The replication configuration (DescribeRegistry)', replication.error, input.require));
        return { status: worst(rules.map((r) => r.status)), rules };
      })(),
    ),
  );
