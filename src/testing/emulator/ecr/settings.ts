/**
 * Repository settings and registry-level actions: repository and lifecycle policies, tag
 * mutability, scanning configuration, resource tags, authorization tokens and registry reads.
 */
import type { PolicyDocument } from '../../../policy/types.js';
import { ApiError, type CallContext } from '../core.js';
import { repositoryArn, repositoryNotFound, type EcrContext, type Handler, type RegistryRef } from './context.js';
import { epochSeconds, invalidParameter, REPOSITORY_NAME, type Input } from './input.js';
import { validateRepositoryPolicy } from './repository-policy.js';
import { REGISTRY_TOKEN_TTL_MS } from './registry-token.js';
import type { ExclusionFilter, RepositoryRecord, Tag } from './state.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
const MAX_TAGS = 50;

/** `imageTagMutability` and its exclusion filters, with the compatibility rule (aws-facts §1). */
export const readMutability = (
  input: Input,
  required: boolean,
): { readonly mutability: string; readonly filters: ExclusionFilter[] | undefined } => {
  const rule = { oneOf: MUTABILITIES };
  const mutability = required ? input.string('imageTagMutability', rule) : (input.optionalString('imageTagMutability', rule) ?? 'MUTABLE');
  const filters = input.optionalObjects('imageTagMutabilityExclusionFilters', 1, 5)?.map((filter) => ({
    filterType: filter.string('filterType', { oneOf: ['WILDCARD'] }),
    filter: filter.string('filter', { min: 1, max: 128, pattern: /^[0-9a-zA-Z._*-]{1,128}$/ }),
  }));
  const withExclusion = mutability.endsWith('_WITH_EXCLUSION');
  if (withExclusion && filters === undefined) {
    throw new ApiError('InvalidParameterException', `imageTagMutabilityExclusionFilters are required when imageTagMutability is ${mutability}`);
  }
  if (!withExclusion && filters !== undefined) {
    throw new ApiError('InvalidParameterException', `imageTagMutabilityExclusionFilters are only allowed with ${mutability}_WITH_EXCLUSION`);
  }
  return { mutability, filters };
};

/** Resource tags as TagResource and CreateRepository accept them. */
export const readTags = (input: Input, member: string): Tag[] | undefined => {
  const list = input.optionalList(member, 0, 1000);
  if (list === undefined) return undefined;
  return list.map((item) => {
    const tag = typeof item === 'object' && item !== null ? (item as Record<string, unknown>) : {};
    const key = tag.Key;
    const value = tag.Value ?? '';
    if (typeof key !== 'string' || key.length < 1 || key.length > 128 || typeof value !== 'string' || value.length > 256) {
      throw new ApiError('InvalidTagParameterException', 'Tag keys must be 1-128 characters and values at most 256 characters');
    }
    if (key.toLowerCase().startsWith('aws:')) {
      throw new ApiError('InvalidTagParameterException', `Tag key '${key}' uses the reserved prefix 'aws:'`);
    }
    return { Key: key, Value: value };
  });
};

/** Merges tags by key (a later value wins), enforcing the per-resource limit. */
export const mergeTags = (existing: readonly Tag[], added: readonly Tag[]): Tag[] => {
  const merged = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  if (merged.size > MAX_TAGS) {
    throw new ApiError('TooManyTagsException', `A resource can have at most ${String(MAX_TAGS)} tags`);
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
};

const policyResponse = (repository: RepositoryRecord, policyText: string): Record<string, unknown> => ({
  registryId: repository.account,
  repositoryName: repository.name,
  policyText,
});

const policyNotFound = (repository: RepositoryRecord): ApiError =>
  new ApiError(
    'RepositoryPolicyNotFoundException',
    `Repository policy does not exist for the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
  );

const setRepositoryPolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'SetRepositoryPolicy');
  // RepositoryPolicyText: max 10240 in the model (botocore ecr service-2.json).
  const policyText = input.string('policyText', { min: 0, max: 10240 });
  const force = input.optionalBoolean('force') ?? false;
  const document = validateRepositoryPolicy(policyText, ecr.deps.repositoryPolicyUniqueIds ?? 'accept');
  // `force` (model doc): "If the policy you are attempting to set on a repository policy would
  // prevent you from setting another policy in the future, you must force the SetRepositoryPolicy
  // operation. This is intended to prevent accidental repository lock outs."
  if (!force && !ecr.deps.authorizer.isAllowed(ctx, 'ecr:SetRepositoryPolicy', repository.arn, { resourcePolicy: document as unknown as PolicyDocument })) {
    throw new ApiError(
      'InvalidParameterException',
      'The repository policy would prevent you from setting another policy in the future. Use force to set it anyway',
    );
  }
  repository.policyText = policyText;
  return policyResponse(repository, policyText);
};

const getRepositoryPolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'GetRepositoryPolicy');
  if (repository.policyText === undefined) throw policyNotFound(repository);
  return policyResponse(repository, repository.policyText);
};

const deleteRepositoryPolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'DeleteRepositoryPolicy');
  const policyText = repository.policyText;
  if (policyText === undefined) throw policyNotFound(repository);
  repository.policyText = undefined;
  return policyResponse(repository, policyText);
};

const lifecycleNotFound = (repository: RepositoryRecord): ApiError =>
  new ApiError(
    'LifecyclePolicyNotFoundException',
    `Lifecycle policy does not exist for the repository with name '${repository.name}' in the registry with id '${repository.account}'`,
  );

/** Stored only: the emulator never runs lifecycle rules. */
const putLifecyclePolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'PutLifecyclePolicy');
  const text = input.string('lifecyclePolicyText', { min: 100, max: 30720 });
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    document = undefined;
  }
  if (typeof document !== 'object' || document === null || !Array.isArray((document as { rules?: unknown }).rules)) {
    throw new ApiError(
      'InvalidParameterException',
      'Invalid parameter at \'LifecyclePolicyText\' failed to satisfy constraint: \'Lifecycle policy validation failure: a JSON object with a rules array is required\'',
    );
  }
  repository.lifecyclePolicyText = text;
  return { registryId: repository.account, repositoryName: repository.name, lifecyclePolicyText: text };
};

const getLifecyclePolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'GetLifecyclePolicy');
  if (repository.lifecyclePolicyText === undefined) throw lifecycleNotFound(repository);
  return { registryId: repository.account, repositoryName: repository.name, lifecyclePolicyText: repository.lifecyclePolicyText };
};

const deleteLifecyclePolicy: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'DeleteLifecyclePolicy');
  const text = repository.lifecyclePolicyText;
  if (text === undefined) throw lifecycleNotFound(repository);
  repository.lifecyclePolicyText = undefined;
  return { registryId: repository.account, repositoryName: repository.name, lifecyclePolicyText: text };
};

const putImageTagMutability: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'PutImageTagMutability');
  const { mutability, filters } = readMutability(input, true);
  repository.imageTagMutability = mutability;
  repository.imageTagMutabilityExclusionFilters = filters;
  return {
    registryId: repository.account,
    repositoryName: repository.name,
    imageTagMutability: mutability,
    ...(filters === undefined ? {} : { imageTagMutabilityExclusionFilters: filters }),
  };
};

const putImageScanningConfiguration: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'PutImageScanningConfiguration');
  const scanOnPush = input.object('imageScanningConfiguration').optionalBoolean('scanOnPush') ?? false;
  repository.scanOnPush = scanOnPush;
  return { registryId: repository.account, repositoryName: repository.name, imageScanningConfiguration: { scanOnPush } };
};

/** The repository a `resourceArn` names, after authorizing `action` on it. */
const repositoryByArn = (ecr: EcrContext, input: Input, ctx: CallContext, action: string): RepositoryRecord => {
  const arn = input.string('resourceArn', { min: 1 });
  const match = /^arn:aws[a-z-]*:ecr:([a-z0-9-]+):([0-9]{12}):repository\/(.+)$/.exec(arn);
  if (match === null || !REPOSITORY_NAME.test(match[3] ?? '')) {
    throw invalidParameter('resourceArn', 'must be the ARN of an ECR repository');
  }
  const [, region = '', account = '', name = ''] = match;
  if (region !== ctx.region) throw invalidParameter('resourceArn', `must be in the Region of the request (${ctx.region})`);
  const ref: RegistryRef = { account, region };
  const repository = ecr.findRepository(ref, name);
  ecr.authorize(ctx, action, arn, ref, repository);
  if (repository === undefined) throw repositoryNotFound(name, account);
  return repository;
};

const tagResource: Handler = (ecr, input, ctx) => {
  const repository = repositoryByArn(ecr, input, ctx, 'TagResource');
  const tags = readTags(input, 'tags');
  if (tags === undefined) throw invalidParameter('tags', 'Member must not be null');
  repository.tags = mergeTags(repository.tags, tags);
  return {};
};

const untagResource: Handler = (ecr, input, ctx) => {
  const repository = repositoryByArn(ecr, input, ctx, 'UntagResource');
  const keys = new Set(input.strings('tagKeys', 0, 200, { min: 1, max: 128 }));
  repository.tags = repository.tags.filter((tag) => !keys.has(tag.Key));
  return {};
};

const listTagsForResource: Handler = (ecr, input, ctx) => {
  const repository = repositoryByArn(ecr, input, ctx, 'ListTagsForResource');
  return { tags: repository.tags.map((tag) => ({ ...tag })) };
};

/**
 * A registry login: `base64("AWS:" + password)`, valid for 12 hours of the emulator's clock. The
 * password stands for the caller and this region, whatever `registryIds` says ("specifying a
 * registry ID doesn't change the permissions scope of the authorization token": the model's
 * deprecation note); the `/v2/` API (`emulator/registry/`) verifies it.
 */
const getAuthorizationToken: Handler = (ecr, input, ctx) => {
  ecr.authorize(ctx, 'GetAuthorizationToken', '*', { account: ctx.principal.account, region: ctx.region });
  const registryIds = input.optionalStrings('registryIds', 1, 10, { pattern: /^[0-9]{12}$/ }) ?? [ctx.principal.account];
  const expiresAtMs = ecr.now() + REGISTRY_TOKEN_TTL_MS;
  const authorizationToken = ecr.registryTokens.issue({ principal: ctx.principal, region: ctx.region, expiresAt: expiresAtMs });
  return {
    authorizationData: registryIds.map((account) => ({
      authorizationToken,
      expiresAt: epochSeconds(expiresAtMs),
      proxyEndpoint: `https://${account}.dkr.ecr.${ctx.region}.amazonaws.com`,
    })),
  };
};

const batchGetRepositoryScanningConfiguration: Handler = (ecr, input, ctx) => {
  const ref = ecr.registry(input, ctx);
  const names = input.strings('repositoryNames', 1, 25, { min: 2, max: 256, pattern: REPOSITORY_NAME });
  const scanningConfigurations: Record<string, unknown>[] = [];
  const failures: Record<string, unknown>[] = [];
  for (const name of names) {
    const repository = ecr.findRepository(ref, name);
    ecr.authorize(ctx, 'BatchGetRepositoryScanningConfiguration', repositoryArn(ref.region, ref.account, name), ref, repository);
    if (repository === undefined) {
      failures.push({ repositoryName: name, failureCode: 'REPOSITORY_NOT_FOUND', failureReason: 'REPOSITORY_NOT_FOUND' });
      continue;
    }
    scanningConfigurations.push({
      repositoryArn: repository.arn,
      repositoryName: repository.name,
      scanOnPush: repository.scanOnPush,
      scanFrequency: repository.scanOnPush ? 'SCAN_ON_PUSH' : 'MANUAL',
      appliedScanFilters: [],
    });
  }
  return { scanningConfigurations, failures };
};

/** Registry-level reads answer "nothing configured", so a migration planner can read them. */
const registryRead = (action: string, answer: (ref: RegistryRef) => unknown): Handler => (ecr, _input, ctx) => {
  const ref = { account: ctx.principal.account, region: ctx.region };
  ecr.authorize(ctx, action, '*', ref);
  return answer(ref);
};

export const settingsHandlers: Readonly<Record<string, Handler>> = {
  SetRepositoryPolicy: setRepositoryPolicy,
  GetRepositoryPolicy: getRepositoryPolicy,
  DeleteRepositoryPolicy: deleteRepositoryPolicy,
  PutLifecyclePolicy: putLifecyclePolicy,
  GetLifecyclePolicy: getLifecyclePolicy,
  DeleteLifecyclePolicy: deleteLifecyclePolicy,
  PutImageTagMutability: putImageTagMutability,
  PutImageScanningConfiguration: putImageScanningConfiguration,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
  GetAuthorizationToken: getAuthorizationToken,
  BatchGetRepositoryScanningConfiguration: batchGetRepositoryScanningConfiguration,
  GetRegistryScanningConfiguration: registryRead('GetRegistryScanningConfiguration', (ref) => ({
    registryId: ref.account,
    scanningConfiguration: { scanType: 'BASIC', rules: [] },
  })),
};
