/**
 * Repository actions: create (with the KMS key check and ECR's two grants), describe, delete (with
 * grant retirement as the caller), policies, settings, tags and the registry-level reads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { PolicyDocument } from '../../../policy/types.js';
import { ApiError, type CallContext, type KmsForEcr, type KmsKeyInfo } from '../core.js';
import {
  ecrServicePrincipal, repositoryArn, repositoryDirectory, repositoryNotFound, repositoryUri, type EcrContext, type Handler, type RegistryRef,
} from './context.js';
import { epochSeconds, invalidParameter, page, REPOSITORY_NAME, repositoryName, type Input } from './input.js';
import { registryKey, type ExclusionFilter, type RepositoryRecord, type Tag } from './state.js';
import { validateRepositoryPolicy } from './repository-policy.js';
import { toKmsException } from './storage.js';
import { type AwsVariants, DEFAULT_AWS_VARIANTS, type SecondGrantVariant } from '../variants.js';

const MUTABILITIES = ['MUTABLE', 'IMMUTABLE', 'IMMUTABLE_WITH_EXCLUSION', 'MUTABLE_WITH_EXCLUSION'] as const;
const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'] as const;
const MAX_TAGS = 50;
const AWS_MANAGED_ECR_KEY = 'alias/aws/ecr';

/**
 * The operations of ECR's two grants. The first is documented (CloudTrail example, aws-facts §2:
 * GenerateDataKey + Decrypt, constrained to `aws:ecr:arn`). The second is not: GUESS, per
 * `awsVariants.secondGrant`. The default gives it `DescribeKey` + `RetireGrant` with the same
 * `aws:ecr:arn` constraint (which KMS does not apply to those two operations), so it is visible in
 * ListGrants and harmless.
 */
export const ECR_GRANT_OPERATIONS: readonly (readonly string[])[] = [
  ['GenerateDataKey', 'Decrypt'],
  ['DescribeKey', 'RetireGrant'],
];

/** ECR's two grants under a second-grant variant: operations, and whether the `aws:ecr:arn` constraint applies. */
export const ecrGrantsFor = (variant: SecondGrantVariant): readonly { readonly operations: readonly string[]; readonly constrained: boolean }[] => {
  const [first = [], second = []] = ECR_GRANT_OPERATIONS;
  switch (variant) {
    case 'describe-retire':
      return [{ operations: first, constrained: true }, { operations: second, constrained: true }];
    // GUESS: the second grant repeats the first.
    case 'same-as-first':
      return [{ operations: first, constrained: true }, { operations: first, constrained: true }];
    // GUESS: the second grant carries no encryption-context constraint (no repository can be read off it).
    case 'no-constraint':
      return [{ operations: first, constrained: true }, { operations: second, constrained: false }];
  }
};

/** The JSON of a `Repository`. */
export const repositoryShape = (repository: RepositoryRecord): Record<string, unknown> => ({
  repositoryArn: repository.arn,
  registryId: repository.account,
  repositoryName: repository.name,
  repositoryUri: repository.uri,
  createdAt: epochSeconds(repository.createdAt),
  imageTagMutability: repository.imageTagMutability,
  ...(repository.imageTagMutabilityExclusionFilters === undefined
    ? {}
    : { imageTagMutabilityExclusionFilters: repository.imageTagMutabilityExclusionFilters }),
  imageScanningConfiguration: { scanOnPush: repository.scanOnPush },
  encryptionConfiguration: {
    encryptionType: repository.encryptionType,
    ...(repository.kmsKey === undefined ? {} : { kmsKey: repository.kmsKey }),
  },
});

/** `imageTagMutability` and its exclusion filters, with the compatibility rule (aws-facts §1). */
const readMutability = (
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
const readTags = (input: Input, member: string): Tag[] | undefined => {
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
const mergeTags = (existing: readonly Tag[], added: readonly Tag[]): Tag[] => {
  const merged = new Map(existing.map((tag) => [tag.Key, tag.Value]));
  for (const tag of added) merged.set(tag.Key, tag.Value);
  if (merged.size > MAX_TAGS) {
    throw new ApiError('TooManyTagsException', `A resource can have at most ${String(MAX_TAGS)} tags`);
  }
  return [...merged].map(([Key, Value]) => ({ Key, Value }));
};

/** KMS's code for a key state ECR cannot use. */
const unusableKeyError = (key: KmsKeyInfo, region: string): ApiError | undefined => {
  const kms = (code: string, message: string): ApiError => new ApiError('KmsException', message, { fields: { kmsError: code } });
  if (key.region !== region) {
    return kms('NotFoundException', `The KMS key ${key.arn} must be in the repository's Region ${region}`);
  }
  if (key.state === 'Disabled') return kms('DisabledException', `${key.arn} is disabled.`);
  if (key.state !== 'Enabled') return kms('KMSInvalidStateException', `${key.arn} is ${key.state}.`);
  if (key.usage !== 'ENCRYPT_DECRYPT' || key.spec !== 'SYMMETRIC_DEFAULT') {
    return kms('InvalidKeyUsageException', `${key.arn} is not a symmetric encryption key (${key.spec}, ${key.usage}).`);
  }
  return undefined;
};

/**
 * DescribeKey and the two CreateGrant calls ECR makes as the caller (forward access session:
 * `kms:ViaService = ecr.<region>.amazonaws.com`). Creates nothing if any step fails.
 */
const prepareKms = (
  kms: KmsForEcr,
  ctx: CallContext,
  arn: string,
  kmsKey: string | undefined,
  secondGrant: SecondGrantVariant,
): { readonly keyArn: string; readonly grantIds: string[] } => {
  const via: CallContext = { ...ctx, viaService: ecrServicePrincipal(ctx.region) };
  let key: KmsKeyInfo;
  try {
    key = kms.describeKey(via, kmsKey ?? AWS_MANAGED_ECR_KEY);
  } catch (error) {
    return toKmsException(error);
  }
  const unusable = unusableKeyError(key, ctx.region);
  if (unusable !== undefined) throw unusable;
  const grantIds: string[] = [];
  try {
    for (const { operations, constrained } of ecrGrantsFor(secondGrant)) {
      const grant = kms.createGrant(via, {
        keyArn: key.arn,
        granteePrincipal: ecrServicePrincipal(ctx.region),
        retiringPrincipal: ecrServicePrincipal(ctx.region),
        operations,
        ...(constrained ? { encryptionContextSubset: { 'aws:ecr:arn': arn } } : {}),
      });
      grantIds.push(grant.grantId);
    }
  } catch (error) {
    for (const grantId of grantIds) {
      try {
        kms.retireGrant(via, key.arn, grantId);
      } catch {
        // Best effort: the grant stays, as it would on AWS after a half-made repository.
      }
    }
    return toKmsException(error);
  }
  return { keyArn: key.arn, grantIds };
};

const createRepository: Handler = (ecr, input, ctx) => {
  const ref = ecr.registry(input, ctx);
  if (ref.account !== ctx.principal.account) {
    throw invalidParameter('registryId', 'Repositories can only be created in the caller\'s registry');
  }
  const name = repositoryName(input);
  const tags = readTags(input, 'tags') ?? [];
  const merged = mergeTags([], tags);
  const { mutability, filters } = readMutability(input, false);
  const scanOnPush = input.optionalObject('imageScanningConfiguration')?.optionalBoolean('scanOnPush') ?? false;
  const encryption = input.optionalObject('encryptionConfiguration');
  const encryptionType = encryption?.string('encryptionType', { oneOf: ENCRYPTION_TYPES }) ?? 'AES256';
  const requestedKey = encryption?.optionalString('kmsKey', { min: 1, max: 2048 });
  if (encryptionType === 'AES256' && requestedKey !== undefined) {
    throw new ApiError('InvalidParameterException', 'kmsKey can only be specified with the KMS or KMS_DSSE encryption type');
  }

  const arn = repositoryArn(ref.region, ref.account, name);
  ecr.authorize(ctx, 'CreateRepository', arn, ref);
  // Tag-on-create is authorized as TagResource too (aws-facts §1).
  if (tags.length > 0) ecr.authorize(ctx, 'TagResource', arn, ref);
  if (ecr.findRepository(ref, name) !== undefined) {
    throw new ApiError(
      'RepositoryAlreadyExistsException',
      `The repository with name '${name}' already exists in the registry with id '${ref.account}'`,
    );
  }

  const kms = encryptionType === 'AES256' ? undefined : prepareKms(ecr.deps.kms, ctx, arn, requestedKey, variantsOf(ecr).secondGrant);
  const repository: RepositoryRecord = {
    account: ref.account,
    region: ref.region,
    name,
    arn,
    uri: repositoryUri(ref.region, ref.account, name),
    uuid: randomUUID(),
    createdAt: ecr.now(),
    sequence: ecr.state.nextRepositorySequence++,
    imageTagMutability: mutability,
    imageTagMutabilityExclusionFilters: filters,
    scanOnPush,
    encryptionType,
    kmsKey: kms?.keyArn,
    grantIds: kms?.grantIds ?? [],
    tags: merged,
    policyText: undefined,
    lifecyclePolicyText: undefined,
    blobs: {},
    uploads: {},
    images: {},
    nextSequence: 1,
  };
  ecr.repositories(ref)[name] = repository;
  return { repository: repositoryShape(repository) };
};

const describeRepositories: Handler = (ecr, input, ctx) => {
  const ref = ecr.registry(input, ctx);
  const names = input.optionalStrings('repositoryNames', 1, 100, { min: 2, max: 256, pattern: REPOSITORY_NAME });
  const maxResults = input.optionalNumber('maxResults', 1, 1000);
  const nextToken = input.optionalString('nextToken');
  if (names !== undefined) {
    if (maxResults !== undefined || nextToken !== undefined) {
      throw new ApiError('InvalidParameterException', 'maxResults and nextToken cannot be used with repositoryNames');
    }
    const repositories = names.map((name) => {
      const repository = ecr.findRepository(ref, name);
      ecr.authorize(ctx, 'DescribeRepositories', repositoryArn(ref.region, ref.account, name), ref, repository);
      if (repository === undefined) throw repositoryNotFound(name, ref.account);
      return repositoryShape(repository);
    });
    return { repositories };
  }
  // Listing the whole registry is authorized on the wildcard repository ARN.
  ecr.authorize(ctx, 'DescribeRepositories', repositoryArn(ref.region, ref.account, '*'), ref);
  const result = page('DescribeRepositories', ecr.listRepositories(ref), nextToken, maxResults ?? 100);
  return {
    repositories: result.items.map(repositoryShape),
    ...(result.nextToken === undefined ? {} : { nextToken: result.nextToken }),
  };
};

/** The variants ECR plays: `awsVariants`, else the deprecated `onGrantRetireFailure`, else the defaults. */
const variantsOf = (ecr: EcrContext): Pick<AwsVariants, 'secondGrant' | 'deleteWhenRetireFails'> => ({
  secondGrant: ecr.deps.awsVariants?.secondGrant ?? DEFAULT_AWS_VARIANTS.secondGrant,
  deleteWhenRetireFails:
    ecr.deps.awsVariants?.deleteWhenRetireFails ??
    (ecr.deps.onGrantRetireFailure === 'succeed' ? 'silent' : ecr.deps.onGrantRetireFailure === 'kms-exception' ? 'kms-exception' : DEFAULT_AWS_VARIANTS.deleteWhenRetireFails),
});

/**
 * Removes a repository and its files; retires its grants as the caller (aws-facts §3: the caller
 * needs kms:RetireGrant). When that fails, the answer is `awsVariants.deleteWhenRetireFails`
 * (AWS documents only the console's message, not the API's answer):
 * - `kms-exception` (GUESS, default): deleted, then KmsException with the console's message;
 * - `access-denied` (GUESS): checked first (RetireGrant with DryRun), nothing deleted, AccessDeniedException;
 * - `silent` (GUESS): deleted, the grants stay, success.
 */
const deleteRepository: Handler = (ecr, input, ctx) => {
  const repository = ecr.repositoryFor(input, ctx, 'DeleteRepository');
  const force = input.optionalBoolean('force') ?? false;
  if (!force && Object.keys(repository.images).length > 0) {
    throw new ApiError(
      'RepositoryNotEmptyException',
      `The repository with name '${repository.name}' in registry with id '${repository.account}' cannot be deleted because it still contains images`,
    );
  }
  const { deleteWhenRetireFails } = variantsOf(ecr);
  const via: CallContext = { ...ctx, viaService: ecrServicePrincipal(repository.region) };
  const retireAll = (dryRun: boolean): ApiError | undefined => {
    let failure: ApiError | undefined;
    for (const grantId of repository.kmsKey === undefined ? [] : repository.grantIds) {
      try {
        ecr.deps.kms.retireGrant(via, repository.kmsKey ?? '', grantId, { dryRun });
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        // Already retired by someone: nothing left to do for it.
        if (error.code === 'NotFoundException' || error.code === 'DryRunOperationException') continue;
        failure ??= error;
      }
    }
    return failure;
  };
  if (deleteWhenRetireFails === 'access-denied') {
    const refusal = retireAll(true);
    if (refusal !== undefined) {
      throw new ApiError(
        'AccessDeniedException',
        `User: ${ctx.principal.arn} is not authorized to delete repository ${repository.arn}: the grants created by the kmsKey [${String(repository.kmsKey)}] cannot be retired (${refusal.code})`,
      );
    }
  }
  removeRepository(ecr, repository);
  const failure = retireAll(false);
  if (failure !== undefined && deleteWhenRetireFails === 'kms-exception') {
    throw new ApiError(
      'KmsException',
      `The repository [${repository.name}] has been deleted successfully but the grants created by the kmsKey [${String(repository.kmsKey)}] failed to be retired`,
      { fields: { kmsError: failure.code } },
    );
  }
  return { repository: repositoryShape(repository) };
};

export const removeRepository = (ecr: EcrContext, repository: RepositoryRecord): void => {
  const registry = ecr.state.registries[registryKey(repository.account, repository.region)];
  if (registry !== undefined) delete registry[repository.name];
  for (const [token, download] of Object.entries(ecr.state.downloads)) {
    if (download.repositoryUuid === repository.uuid) delete ecr.state.downloads[token];
  }
  ecr.store.remove(repositoryDirectory(repository));
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

/** A Docker-login token; the emulator has no registry HTTP API, so the password opens nothing. */
const getAuthorizationToken: Handler = (ecr, input, ctx) => {
  ecr.authorize(ctx, 'GetAuthorizationToken', '*', { account: ctx.principal.account, region: ctx.region });
  const registryIds = input.optionalStrings('registryIds', 1, 10, { pattern: /^[0-9]{12}$/ }) ?? [ctx.principal.account];
  const expiresAt = epochSeconds(ecr.now() + 12 * 60 * 60 * 1000);
  return {
    authorizationData: registryIds.map((account) => ({
      authorizationToken: Buffer.from(`AWS:${randomBytes(24).toString('base64')}`, 'utf8').toString('base64'),
      expiresAt,
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

export const repositoryHandlers: Readonly<Record<string, Handler>> = {
  CreateRepository: createRepository,
  DescribeRepositories: describeRepositories,
  DeleteRepository: deleteRepository,
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
  DescribeRegistry: registryRead('DescribeRegistry', (ref) => ({ registryId: ref.account, replicationConfiguration: { rules: [] } })),
  DescribeRepositoryCreationTemplates: registryRead('DescribeRepositoryCreationTemplates', (ref) => ({
    registryId: ref.account,
    repositoryCreationTemplates: [],
  })),
  DescribePullThroughCacheRules: registryRead('DescribePullThroughCacheRules', () => ({ pullThroughCacheRules: [] })),
  GetRegistryScanningConfiguration: registryRead('GetRegistryScanningConfiguration', (ref) => ({
    registryId: ref.account,
    scanningConfiguration: { scanType: 'BASIC', rules: [] },
  })),
  GetRegistryPolicy: registryRead('GetRegistryPolicy', (ref) => {
    throw new ApiError('RegistryPolicyNotFoundException', `Registry policy does not exist in the registry with id '${ref.account}'`);
  }),
};
