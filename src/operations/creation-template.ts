/**
 * `ensureCreationTemplate`: a repository creation template with the given encryption, created or
 * updated, after the same key checks as a repository creation and a check of the custom role ECR
 * will create the KMS grants with. Idempotent: a template that already says the same is left alone.
 *
 * AWS: templates apply only to repositories ECR creates on your behalf (create-on-push, pull-through
 * cache, replication); a template's key must be a full key ARN (model pattern of
 * `KmsKeyForRepositoryCreationTemplate`), in the repositories' region; a template using KMS needs a
 * custom role in the registry's account that ECR can assume (repository-creation-templates-create.html).
 */
import type { RepositoryCreationTemplate } from '@aws-sdk/client-ecr';
import { err, errAsync, ok, okAsync, type Result, type ResultAsync, safeTry } from 'neverthrow';
import { type ParsedEncryption, parseEncryption } from '../encryption/spec.js';
import { TEMPLATE_PREFIX, TEMPLATE_SCENARIOS, type TemplateScenario } from '../encryption/templates.js';
import type { EnsureCreationTemplateError, InvalidInput, ListCreationTemplatesError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { checkCaller, checkKey, checkTemplateRole, type Finding, isBlocking, parseRoleArn, type PreflightFindingError, type ResolvedKey } from '../preflight/index.js';
import { describeCreationTemplates } from '../steps/ecr-migration.js';
import { createCreationTemplate, type TemplateWrite, updateCreationTemplate } from '../steps/ecr-templates.js';
import type { Cancellable, EncryptionDescription, EncryptionSpec } from '../types.js';

/** What {@link ensureCreationTemplate} takes. */
export interface EnsureCreationTemplateInput extends Cancellable {
  /** `ROOT` (every repository no other template covers), or a namespace such as `team` (a trailing `/` is implied). */
  readonly prefix: string;
  /** When ECR applies it: `CREATE_ON_PUSH`, `PULL_THROUGH_CACHE`, `REPLICATION` (at least one). */
  readonly appliedFor: readonly TemplateScenario[];
  /** The encryption of the repositories ECR creates from it; a key by id, ARN or alias (stored as its key ARN). */
  readonly encryption: EncryptionSpec;
  /** The role ECR assumes to create the repositories and, with KMS, their grants. Required with KMS. */
  readonly customRoleArn?: string;
  /** Up to 256 characters. */
  readonly description?: string;
}

/** A template as it is now. */
export interface CreationTemplateDescription {
  readonly prefix: string;
  readonly appliedFor: readonly string[];
  readonly encryption: EncryptionDescription;
  readonly customRoleArn?: string;
  readonly description?: string;
}

/** What {@link ensureCreationTemplate} did. */
export interface EnsuredCreationTemplate {
  /** `unchanged`: a template of that prefix said the same already. */
  readonly action: 'created' | 'updated' | 'unchanged';
  readonly template: CreationTemplateDescription;
  /** Every check made: the key's, the caller's, the role's (warnings included). */
  readonly findings: readonly Finding[];
}

const invalid = (field: string, reason: string): Result<never, InvalidInput> => err({ kind: 'InvalidInput', field, reason });

/** Every check that needs no AWS call. */
const validate = (input: EnsureCreationTemplateInput): Result<ParsedEncryption, EnsureCreationTemplateError> => {
  const { prefix, appliedFor, customRoleArn, description } = input;
  if (prefix.length < 1 || prefix.length > 256 || !TEMPLATE_PREFIX.test(prefix)) {
    return invalid('prefix', 'must be ROOT or a namespace of lowercase letters and digits in parts separated by ., _, __, - or / (1-256 characters)');
  }
  if (appliedFor.length === 0) return invalid('appliedFor', `give at least one of ${TEMPLATE_SCENARIOS.join(', ')}`);
  const unknown = appliedFor.findIndex((a) => !TEMPLATE_SCENARIOS.includes(a));
  if (unknown !== -1) return invalid(`appliedFor[${unknown}]`, `"${String(appliedFor[unknown])}" is not one of ${TEMPLATE_SCENARIOS.join(', ')}`);
  if (description !== undefined && description.length > 256) return invalid('description', 'must be at most 256 characters');
  if (customRoleArn !== undefined && parseRoleArn(customRoleArn) === undefined) return invalid('customRoleArn', 'must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)');
  const parsed = parseEncryption(input.encryption);
  if (parsed.isErr()) return err(parsed.error);
  if (parsed.value.type !== 'AES256' && customRoleArn === undefined) {
    return invalid('customRoleArn', 'a template that uses KMS needs a custom role ECR can assume to create the KMS grants (AWS: repository-creation-templates-create.html)');
  }
  return ok(parsed.value);
};

const describe = (t: RepositoryCreationTemplate): CreationTemplateDescription => {
  const type = t.encryptionConfiguration?.encryptionType;
  const keyArn = t.encryptionConfiguration?.kmsKey;
  const encryption: EncryptionDescription =
    type === 'KMS' || type === 'KMS_DSSE' ? { type, ...(keyArn ? { keyArn } : { awsManagedKey: true }) } : { type: 'AES256' };
  return {
    prefix: t.prefix ?? '',
    appliedFor: [...(t.appliedFor ?? [])],
    encryption,
    ...(t.customRoleArn ? { customRoleArn: t.customRoleArn } : {}),
    ...(t.description ? { description: t.description } : {}),
  };
};

const sameScenarios = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x) => b.includes(x));

/** Whether an existing template says what `write` would write. */
const alreadySays = (existing: RepositoryCreationTemplate, write: TemplateWrite): boolean =>
  sameScenarios(existing.appliedFor ?? [], write.appliedFor ?? []) &&
  (existing.encryptionConfiguration?.encryptionType ?? 'AES256') === (write.encryptionConfiguration?.encryptionType ?? 'AES256') &&
  (existing.encryptionConfiguration?.kmsKey || undefined) === (write.encryptionConfiguration?.kmsKey || undefined) &&
  (existing.customRoleArn || undefined) === (write.customRoleArn || undefined) &&
  (write.description === undefined || existing.description === write.description);

/** Writes the template: update if it exists, else create (and the other way round when the answer says so). */
const write = (ctx: RegistryContext, input: TemplateWrite, exists: boolean): ResultAsync<{ readonly template: RepositoryCreationTemplate; readonly action: 'created' | 'updated' }, EnsureCreationTemplateError> => {
  const create = (): ResultAsync<{ readonly template: RepositoryCreationTemplate; readonly action: 'created' | 'updated' }, EnsureCreationTemplateError> =>
    createCreationTemplate(ctx, input).andThen((t) =>
      t === 'exists' ? updateCreationTemplate(ctx, input).andThen((u) => (u === 'missing' ? errAsync(gone(input.prefix ?? "")) : okAsync({ template: u, action: 'updated' as const }))) : okAsync({ template: t, action: 'created' as const }),
    );
  if (!exists) return create();
  return updateCreationTemplate(ctx, input).andThen((u) => (u === 'missing' ? create() : okAsync({ template: u, action: 'updated' as const })));
};

/** A blocking finding's error; the kinds only repository checks make cannot occur for a template. */
const asEnsureError = (error: PreflightFindingError): EnsureCreationTemplateError =>
  error.kind === 'InvalidRepositoryName' || error.kind === 'EncryptionMismatch' ? { kind: 'InvalidInput', field: 'template', reason: JSON.stringify(error) } : error;

/** Created and deleted by someone else between our two calls: say so rather than loop. */
const gone = (prefix: string): EnsureCreationTemplateError => ({
  kind: 'UnexpectedResponse',
  service: 'ecr',
  operation: 'UpdateRepositoryCreationTemplate',
  message: `the template '${prefix}' existed for CreateRepositoryCreationTemplate and no longer for UpdateRepositoryCreationTemplate: it is being changed concurrently`,
  missing: 'repositoryCreationTemplate',
});

/**
 * Creates or updates a repository creation template. @internal Use `EncryptedRegistry.ensureCreationTemplate`.
 */
export const ensureCreationTemplate = (ctx: RegistryContext, input: EnsureCreationTemplateInput): ResultAsync<EnsuredCreationTemplate, EnsureCreationTemplateError> => {
  const parsed = validate(input);
  if (parsed.isErr()) return errAsync(parsed.error);
  const encryption = parsed.value;
  return safeTry(async function* () {
    const region = yield* ctx.region();
    const callerCheck = checkCaller(ctx);
    const caller = yield* callerCheck;
    const findings: Finding[] = [...caller.findings];
    const roleArn = input.customRoleArn;
    const roleAccount = roleArn === undefined ? undefined : parseRoleArn(roleArn)?.account;
    if (roleAccount !== undefined && caller.account !== undefined && roleAccount !== caller.account) {
      return err<never, EnsureCreationTemplateError>({ kind: 'InvalidInput', field: 'customRoleArn', reason: `the role must be in the registry's account ${caller.account} (AWS), not ${roleAccount}` });
    }

    let key: ResolvedKey | undefined;
    if (encryption.type !== 'AES256') {
      const checked = yield* checkKey(ctx, encryption, region, callerCheck);
      findings.push(...checked.findings);
      const blocking = checked.findings.find(isBlocking);
      if (blocking !== undefined) return err<never, EnsureCreationTemplateError>(asEnsureError(blocking.error));
      key = checked.key;
      if (key === undefined) return err<never, EnsureCreationTemplateError>({ kind: 'KeyNotFound', service: 'kms', operation: 'DescribeKey', cause: undefined, key: encryption.key?.value ?? 'alias/aws/ecr' });
    }
    if (roleArn !== undefined) {
      const roleFindings = yield* checkTemplateRole(ctx, { roleArn, region, prefix: input.prefix, key });
      findings.push(...roleFindings);
      const blocking = roleFindings.find(isBlocking);
      if (blocking !== undefined) return err<never, EnsureCreationTemplateError>(asEnsureError(blocking.error));
    }

    const request: TemplateWrite = {
      prefix: input.prefix,
      appliedFor: [...input.appliedFor],
      encryptionConfiguration: {
        encryptionType: encryption.type,
        // The AWS-managed key goes unnamed: ECR uses `aws/ecr` when no key is given.
        ...(key !== undefined && key.manager !== 'AWS' ? { kmsKey: key.arn } : {}),
      },
      ...(roleArn === undefined ? {} : { customRoleArn: roleArn }),
      ...(input.description === undefined ? {} : { description: input.description }),
    };
    const existing = (yield* describeCreationTemplates(ctx)).find((t) => t.prefix === input.prefix);
    if (existing !== undefined && alreadySays(existing, request)) {
      return ok({ action: 'unchanged' as const, template: describe(existing), findings });
    }
    const written = yield* write(ctx, request, existing !== undefined);
    // Verify what ECR answered, not what was sent.
    if (!alreadySays(written.template, request)) {
      return err<never, EnsureCreationTemplateError>({
        kind: 'UnexpectedResponse',
        service: 'ecr',
        operation: written.action === 'created' ? 'CreateRepositoryCreationTemplate' : 'UpdateRepositoryCreationTemplate',
        message: `ECR answered a template that differs from the one written: ${JSON.stringify(describe(written.template))}`,
        missing: 'repositoryCreationTemplate',
      });
    }
    ctx.logger.info('ensureCreationTemplate', { prefix: input.prefix, action: written.action });
    return ok({ action: written.action, template: describe(written.template), findings });
  });
};

/**
 * Every repository creation template of the region, as {@link CreationTemplateDescription}s.
 * @internal Use `EncryptedRegistry.listCreationTemplates`.
 */
export const listCreationTemplates = (ctx: RegistryContext, _input: Cancellable): ResultAsync<CreationTemplateDescription[], ListCreationTemplatesError> =>
  ctx.transportError ? errAsync(ctx.transportError) : describeCreationTemplates(ctx).map((templates) => templates.map(describe));
