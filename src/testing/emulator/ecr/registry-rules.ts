/**
 * Registry-level rules: repository creation templates, pull-through cache rules, the replication
 * configuration and the registry policy. What ECR does with them when it creates a repository on
 * your behalf is in `on-behalf.ts`.
 *
 * Evidence (docs/aws-behaviour.md has the rows): the shapes and constraints are botocore's ECR model
 * (test/data/service-models/ecr); "a prefix of prod would apply to all repositories beginning with
 * prod/", "ROOT … all repositories in your registry that don't have an associated creation
 * template" and "There is always an assumed / applied to the end of the prefix" are the model's
 * `prefix` documentation; "This role must be in the same account as the registry" is
 * `customRoleArn`'s.
 */
import { ApiError, type CallContext } from '../core.js';
import type { EcrContext, Handler, RegistryRef } from './context.js';
import { epochSeconds, invalidParameter, page, type Input } from './input.js';
import { mergeTags, readMutability, readTags } from './settings.js';
import { own, registryKey, type AppliedFor, type PullThroughCacheRuleRecord, type RegistryRules, type ReplicationRuleRecord, type TemplateRecord } from './state.js';

const APPLIED_FOR = ['REPLICATION', 'PULL_THROUGH_CACHE', 'CREATE_ON_PUSH'] as const;
const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'] as const;
const TEMPLATE_KMS_KEY = /^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+/;

/**
 * Registry policies accept only these actions: "Amazon ECR only enforces the following permissions
 * at the private registry level. If any additional actions are added to the registry policy, an
 * error will occur" (registry-permissions.html, quoted on repost.aws QUotxPDrRVT2ikDhEV92zQwA).
 */
const REGISTRY_POLICY_ACTIONS = new Set(['ecr:ReplicateImage', 'ecr:BatchImportUpstreamImage', 'ecr:CreateRepository', 'ecr:*']);

/** The rules of a registry, created empty on first use. */
export const rulesOf = (ecr: EcrContext, ref: RegistryRef): RegistryRules => {
  ecr.state.rules ??= {};
  const key = registryKey(ref.account, ref.region);
  const existing = own(ecr.state.rules, key);
  if (existing !== undefined) return existing;
  const created: RegistryRules = { templates: [], pullThroughCacheRules: [], replicationRules: [], policyText: undefined };
  ecr.state.rules[key] = created;
  return created;
};

/** A namespace prefix without its implied trailing `/`. */
const namespaceOf = (prefix: string): string => prefix.replace(/\/$/, '');

/** Whether a repository name lies under a prefix (`ROOT` matches every name). */
const prefixMatches = (prefix: string, name: string): boolean =>
  prefix === 'ROOT' || name.startsWith(`${namespaceOf(prefix)}/`);

/**
 * The template that applies to a repository ECR creates for `appliedFor`: among the templates for
 * that scenario, the most specific prefix (the longest namespace) under which the name lies, else
 * `ROOT` ("all repositories … that don't have an associated creation template"). GUESS: templates
 * for other scenarios are not considered at all (a `prod` template for REPLICATION does not hide a
 * ROOT template for CREATE_ON_PUSH from `prod/x`); AWS does not say.
 */
export const matchingTemplate = (templates: readonly TemplateRecord[], name: string, appliedFor: AppliedFor): TemplateRecord | undefined => {
  const candidates = templates.filter((t) => t.appliedFor.includes(appliedFor) && prefixMatches(t.prefix, name));
  const specific = candidates
    .filter((t) => t.prefix !== 'ROOT')
    .sort((a, b) => namespaceOf(b.prefix).length - namespaceOf(a.prefix).length)[0];
  return specific ?? candidates.find((t) => t.prefix === 'ROOT');
};

/** Registry-level actions are authorized on `*` (as the other registry reads are). */
const callerRegistry = (ecr: EcrContext, input: Input, ctx: CallContext, action: string): RegistryRef => {
  const ref = ecr.registry(input, ctx);
  if (ref.account !== ctx.principal.account) throw invalidParameter('registryId', 'must be the caller\'s registry');
  ecr.authorize(ctx, action, '*', ref);
  return ref;
};

const templateShape = (t: TemplateRecord): Record<string, unknown> => ({
  prefix: t.prefix,
  ...(t.description === undefined ? {} : { description: t.description }),
  encryptionConfiguration: { encryptionType: t.encryptionType, ...(t.kmsKey === undefined ? {} : { kmsKey: t.kmsKey }) },
  resourceTags: t.resourceTags.map((tag) => ({ ...tag })),
  imageTagMutability: t.imageTagMutability,
  ...(t.imageTagMutabilityExclusionFilters === undefined ? {} : { imageTagMutabilityExclusionFilters: t.imageTagMutabilityExclusionFilters }),
  ...(t.repositoryPolicy === undefined ? {} : { repositoryPolicy: t.repositoryPolicy }),
  ...(t.lifecyclePolicy === undefined ? {} : { lifecyclePolicy: t.lifecyclePolicy }),
  appliedFor: [...t.appliedFor],
  ...(t.customRoleArn === undefined ? {} : { customRoleArn: t.customRoleArn }),
  createdAt: epochSeconds(t.createdAt),
  updatedAt: epochSeconds(t.updatedAt),
});

const templatePrefix = (input: Input): string =>
  input.string('prefix', { min: 1, max: 256, pattern: /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/ });

const readAppliedFor = (input: Input, required: boolean): AppliedFor[] | undefined => {
  const values = required ? input.strings('appliedFor', 0, 3, { oneOf: APPLIED_FOR }) : input.optionalStrings('appliedFor', 0, 3, { oneOf: APPLIED_FOR });
  // GUESS: an empty list would make a template that never applies; refused like other empty members.
  if (values !== undefined && values.length === 0) throw invalidParameter('appliedFor', 'Member must have length greater than or equal to 1');
  return values === undefined ? undefined : [...new Set(values as AppliedFor[])];
};

/** The template's encryption: AES256 when absent; a key only as a full key ARN, and only with KMS types. */
const readTemplateEncryption = (input: Input): { readonly encryptionType: string; readonly kmsKey: string | undefined } | undefined => {
  const config = input.optionalObject('encryptionConfiguration');
  if (config === undefined) return undefined;
  const encryptionType = config.string('encryptionType', { oneOf: ENCRYPTION_TYPES });
  const kmsKey = config.optionalString('kmsKey', { min: 0, max: 2048, pattern: TEMPLATE_KMS_KEY });
  const key = kmsKey === '' ? undefined : kmsKey;
  if (encryptionType === 'AES256' && key !== undefined) {
    throw new ApiError('InvalidParameterException', 'kmsKey can only be specified with the KMS or KMS_DSSE encryption type');
  }
  return { encryptionType, kmsKey: key };
};

/** "This role must be in the same account as the registry that you are configuring" (model doc of `customRoleArn`). */
const readCustomRole = (input: Input, account: string): string | undefined => {
  const arn = input.optionalString('customRoleArn', { max: 2048 });
  if (arn === undefined || arn === '') return undefined;
  const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/.+$/.exec(arn);
  if (match === null) throw invalidParameter('customRoleArn', 'must be the ARN of an IAM role');
  if (match[1] !== account) throw invalidParameter('customRoleArn', `the role must be in the registry's account ${account}`);
  return arn;
};

const refuseKmsWithoutRole = (ecr: EcrContext, t: { readonly encryptionType: string; readonly customRoleArn: string | undefined }): void => {
  if (t.encryptionType !== 'AES256' && t.customRoleArn === undefined && ecr.deps.awsVariants?.templateKmsWithoutRole === 'template-refused') {
    // GUESS (awsVariants.templateKmsWithoutRole = template-refused).
    throw new ApiError('InvalidParameterException', 'A custom role (customRoleArn) is required for a template with KMS encryption');
  }
};

const templateNotFound = (prefix: string, account: string): ApiError =>
  new ApiError('TemplateNotFoundException', `The specified repository creation template with prefix '${prefix}' does not exist in the registry with id '${account}'`);

const createTemplate: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'CreateRepositoryCreationTemplate');
  const prefix = templatePrefix(input);
  const appliedFor = readAppliedFor(input, true) ?? [];
  const encryption = readTemplateEncryption(input) ?? { encryptionType: 'AES256', kmsKey: undefined };
  const { mutability, filters } = readMutability(input, false);
  const customRoleArn = readCustomRole(input, ref.account);
  refuseKmsWithoutRole(ecr, { encryptionType: encryption.encryptionType, customRoleArn });
  const rules = rulesOf(ecr, ref);
  if (rules.templates.some((t) => t.prefix === prefix)) {
    throw new ApiError('TemplateAlreadyExistsException', `The repository creation template with prefix '${prefix}' already exists in the registry with id '${ref.account}'`);
  }
  const now = ecr.now();
  // GUESS: the key is not checked here (AWS documents no KMS error for this operation); ECR uses it when it creates a repository.
  const template: TemplateRecord = {
    prefix,
    description: input.optionalString('description', { max: 256 }),
    encryptionType: encryption.encryptionType,
    kmsKey: encryption.kmsKey,
    resourceTags: mergeTags([], readTags(input, 'resourceTags') ?? []),
    imageTagMutability: mutability,
    imageTagMutabilityExclusionFilters: filters,
    repositoryPolicy: input.optionalString('repositoryPolicy', { min: 0, max: 10240 }),
    lifecyclePolicy: input.optionalString('lifecyclePolicy', { min: 0, max: 30720 }),
    appliedFor,
    customRoleArn,
    createdAt: now,
    updatedAt: now,
  };
  rules.templates.push(template);
  return { registryId: ref.account, repositoryCreationTemplate: templateShape(template) };
};

const updateTemplate: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'UpdateRepositoryCreationTemplate');
  const prefix = templatePrefix(input);
  const template = rulesOf(ecr, ref).templates.find((t) => t.prefix === prefix);
  if (template === undefined) throw templateNotFound(prefix, ref.account);
  const appliedFor = readAppliedFor(input, false);
  const encryption = readTemplateEncryption(input);
  const customRoleArn = input.has('customRoleArn') ? readCustomRole(input, ref.account) : template.customRoleArn;
  const next = { encryptionType: encryption?.encryptionType ?? template.encryptionType, customRoleArn };
  refuseKmsWithoutRole(ecr, next);
  if (input.has('imageTagMutability') || input.has('imageTagMutabilityExclusionFilters')) {
    const { mutability, filters } = readMutability(input, false);
    template.imageTagMutability = mutability;
    template.imageTagMutabilityExclusionFilters = filters;
  }
  if (appliedFor !== undefined) template.appliedFor = appliedFor;
  if (encryption !== undefined) {
    template.encryptionType = encryption.encryptionType;
    template.kmsKey = encryption.kmsKey;
  }
  template.customRoleArn = customRoleArn;
  if (input.has('description')) template.description = input.optionalString('description', { max: 256 });
  if (input.has('resourceTags')) template.resourceTags = mergeTags([], readTags(input, 'resourceTags') ?? []);
  if (input.has('repositoryPolicy')) template.repositoryPolicy = input.optionalString('repositoryPolicy', { min: 0, max: 10240 });
  if (input.has('lifecyclePolicy')) template.lifecyclePolicy = input.optionalString('lifecyclePolicy', { min: 0, max: 30720 });
  template.updatedAt = ecr.now();
  return { registryId: ref.account, repositoryCreationTemplate: templateShape(template) };
};

const describeTemplates: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DescribeRepositoryCreationTemplates');
  const prefixes = input.optionalStrings('prefixes', 0, 100);
  const maxResults = input.optionalNumber('maxResults', 1, 1000);
  const nextToken = input.optionalString('nextToken');
  const all = rulesOf(ecr, ref).templates;
  // GUESS: unknown prefixes are left out (the model lists no TemplateNotFoundException here).
  const selected = prefixes === undefined || prefixes.length === 0 ? all : all.filter((t) => prefixes.includes(t.prefix));
  const result = page('DescribeRepositoryCreationTemplates', selected, nextToken, maxResults ?? 100);
  return {
    registryId: ref.account,
    repositoryCreationTemplates: result.items.map(templateShape),
    ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }),
  };
};

const deleteTemplate: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DeleteRepositoryCreationTemplate');
  const prefix = templatePrefix(input);
  const rules = rulesOf(ecr, ref);
  const template = rules.templates.find((t) => t.prefix === prefix);
  if (template === undefined) throw templateNotFound(prefix, ref.account);
  rules.templates = rules.templates.filter((t) => t !== template);
  return { registryId: ref.account, repositoryCreationTemplate: templateShape(template) };
};

// ---------------------------------------------------------------------------------------------
// Pull-through cache rules (stored; the emulator reaches no upstream registry)
// ---------------------------------------------------------------------------------------------

const PTC_PREFIX = { min: 2, max: 30, pattern: /^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$/ };
const UPSTREAM_REGISTRIES = ['ecr', 'ecr-public', 'quay', 'k8s', 'docker-hub', 'github-container-registry', 'azure-container-registry', 'gitlab-container-registry', 'chainguard'] as const;

const ruleShape = (ref: RegistryRef, r: PullThroughCacheRuleRecord): Record<string, unknown> => ({
  ecrRepositoryPrefix: r.ecrRepositoryPrefix,
  upstreamRegistryUrl: r.upstreamRegistryUrl,
  createdAt: epochSeconds(r.createdAt),
  registryId: ref.account,
  ...(r.upstreamRegistry === undefined ? {} : { upstreamRegistry: r.upstreamRegistry }),
  ...(r.credentialArn === undefined ? {} : { credentialArn: r.credentialArn }),
  ...(r.customRoleArn === undefined ? {} : { customRoleArn: r.customRoleArn }),
  ...(r.upstreamRepositoryPrefix === undefined ? {} : { upstreamRepositoryPrefix: r.upstreamRepositoryPrefix }),
});

const ruleNotFound = (prefix: string, account: string): ApiError =>
  new ApiError('PullThroughCacheRuleNotFoundException', `The pull through cache rule with prefix '${prefix}' does not exist in the registry with id '${account}'`);

const createPullThroughCacheRule: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'CreatePullThroughCacheRule');
  const prefix = input.string('ecrRepositoryPrefix', PTC_PREFIX);
  const rules = rulesOf(ecr, ref);
  const rule: PullThroughCacheRuleRecord = {
    ecrRepositoryPrefix: prefix,
    upstreamRegistryUrl: input.string('upstreamRegistryUrl', { min: 1 }),
    upstreamRegistry: input.optionalString('upstreamRegistry', { oneOf: UPSTREAM_REGISTRIES }),
    upstreamRepositoryPrefix: input.optionalString('upstreamRepositoryPrefix', PTC_PREFIX),
    credentialArn: input.optionalString('credentialArn', { min: 50, max: 612 }),
    customRoleArn: readCustomRole(input, ref.account),
    createdAt: ecr.now(),
  };
  if (rules.pullThroughCacheRules.some((r) => r.ecrRepositoryPrefix === prefix)) {
    throw new ApiError('PullThroughCacheRuleAlreadyExistsException', `A pull through cache rule with prefix '${prefix}' already exists in the registry with id '${ref.account}'`);
  }
  rules.pullThroughCacheRules.push(rule);
  return ruleShape(ref, rule);
};

const describePullThroughCacheRules: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DescribePullThroughCacheRules');
  const prefixes = input.optionalStrings('ecrRepositoryPrefixes', 1, 100, PTC_PREFIX);
  const maxResults = input.optionalNumber('maxResults', 1, 1000);
  const nextToken = input.optionalString('nextToken');
  const all = rulesOf(ecr, ref).pullThroughCacheRules;
  for (const prefix of prefixes ?? []) {
    if (!all.some((r) => r.ecrRepositoryPrefix === prefix)) throw ruleNotFound(prefix, ref.account);
  }
  const selected = prefixes === undefined ? all : all.filter((r) => prefixes.includes(r.ecrRepositoryPrefix));
  const result = page('DescribePullThroughCacheRules', selected, nextToken, maxResults ?? 100);
  return {
    pullThroughCacheRules: result.items.map((r) => ruleShape(ref, r)),
    ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }),
  };
};

const deletePullThroughCacheRule: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DeletePullThroughCacheRule');
  const prefix = input.string('ecrRepositoryPrefix', PTC_PREFIX);
  const rules = rulesOf(ecr, ref);
  const rule = rules.pullThroughCacheRules.find((r) => r.ecrRepositoryPrefix === prefix);
  if (rule === undefined) throw ruleNotFound(prefix, ref.account);
  rules.pullThroughCacheRules = rules.pullThroughCacheRules.filter((r) => r !== rule);
  return ruleShape(ref, rule);
};

// ---------------------------------------------------------------------------------------------
// Replication and the registry policy
// ---------------------------------------------------------------------------------------------

const replicationShape = (rules: readonly ReplicationRuleRecord[]): Record<string, unknown> => ({
  rules: rules.map((r) => ({
    destinations: r.destinations.map((d) => ({ ...d })),
    ...(r.repositoryFilters === undefined ? {} : { repositoryFilters: r.repositoryFilters.map((f) => ({ ...f })) }),
  })),
});

const putReplicationConfiguration: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'PutReplicationConfiguration');
  const rules = input.object('replicationConfiguration').objects('rules', 0, 10).map((rule): ReplicationRuleRecord => {
    const destinations = rule.objects('destinations', 0, 100).map((d) => ({
      region: d.string('region', { min: 2, max: 25, pattern: /^[0-9a-z-]{2,25}$/ }),
      registryId: d.string('registryId', { pattern: /^[0-9]{12}$/ }),
    }));
    for (const d of destinations) {
      // GUESS: a registry cannot replicate to itself (nothing to copy); AWS's message is not documented.
      if (d.region === ref.region && d.registryId === ref.account) {
        throw new ApiError('InvalidParameterException', 'Invalid parameter at \'destinations\' failed to satisfy constraint: \'a registry cannot replicate to itself\'');
      }
    }
    const filters = rule.optionalObjects('repositoryFilters', 1, 100)?.map((f) => ({
      filter: f.string('filter', { min: 2, max: 256 }),
      filterType: f.string('filterType', { oneOf: ['PREFIX_MATCH'] }),
    }));
    return { destinations, repositoryFilters: filters };
  });
  rulesOf(ecr, ref).replicationRules = rules;
  return { replicationConfiguration: replicationShape(rules) };
};

const describeRegistry: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DescribeRegistry');
  return { registryId: ref.account, replicationConfiguration: replicationShape(rulesOf(ecr, ref).replicationRules) };
};

const registryPolicyNotFound = (account: string): ApiError =>
  new ApiError('RegistryPolicyNotFoundException', `Registry policy does not exist in the registry with id '${account}'`);

const actionsOf = (statement: unknown): string[] => {
  const action = typeof statement === 'object' && statement !== null ? (statement as { Action?: unknown }).Action : undefined;
  return typeof action === 'string' ? [action] : Array.isArray(action) ? action.filter((a): a is string => typeof a === 'string') : [];
};

const putRegistryPolicy: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'PutRegistryPolicy');
  const policyText = input.string('policyText', { min: 0, max: 10240 });
  let document: unknown;
  try {
    document = JSON.parse(policyText);
  } catch {
    document = undefined;
  }
  const statements = typeof document === 'object' && document !== null ? (document as { Statement?: unknown }).Statement : undefined;
  const list = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  if (list.length === 0 || list.some((s) => actionsOf(s).some((a) => !REGISTRY_POLICY_ACTIONS.has(a)))) {
    throw new ApiError('InvalidParameterException', 'Invalid parameter at \'PolicyText\' failed to satisfy constraint: \'Invalid registry policy provided\'');
  }
  rulesOf(ecr, ref).policyText = policyText;
  return { registryId: ref.account, policyText };
};

const getRegistryPolicy: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'GetRegistryPolicy');
  const policyText = rulesOf(ecr, ref).policyText;
  if (policyText === undefined) throw registryPolicyNotFound(ref.account);
  return { registryId: ref.account, policyText };
};

const deleteRegistryPolicy: Handler = (ecr, input, ctx) => {
  const ref = callerRegistry(ecr, input, ctx, 'DeleteRegistryPolicy');
  const rules = rulesOf(ecr, ref);
  const policyText = rules.policyText;
  if (policyText === undefined) throw registryPolicyNotFound(ref.account);
  rules.policyText = undefined;
  return { registryId: ref.account, policyText };
};

export const registryRuleHandlers: Readonly<Record<string, Handler>> = {
  CreateRepositoryCreationTemplate: createTemplate,
  UpdateRepositoryCreationTemplate: updateTemplate,
  DescribeRepositoryCreationTemplates: describeTemplates,
  DeleteRepositoryCreationTemplate: deleteTemplate,
  CreatePullThroughCacheRule: createPullThroughCacheRule,
  DescribePullThroughCacheRules: describePullThroughCacheRules,
  DeletePullThroughCacheRule: deletePullThroughCacheRule,
  PutReplicationConfiguration: putReplicationConfiguration,
  DescribeRegistry: describeRegistry,
  PutRegistryPolicy: putRegistryPolicy,
  GetRegistryPolicy: getRegistryPolicy,
  DeleteRegistryPolicy: deleteRegistryPolicy,
};
