/**
 * Repository actions: create (with the KMS key check and ECR's two grants), describe, delete (with
 * grant retirement as the caller). Settings, tags and registry-level reads are in `settings.ts`.
 */
import { randomUUID } from 'node:crypto';
import { ApiError, type CallContext, type KmsForEcr, type KmsKeyInfo } from '../core.js';
import {
  ecrServicePrincipal, repositoryArn, repositoryDirectory, repositoryNotFound, repositoryUri, type EcrContext, type Handler, type RegistryRef,
} from './context.js';
import { epochSeconds, invalidParameter, page, REPOSITORY_NAME, repositoryName } from './input.js';
import { mergeTags, readMutability, readTags } from './settings.js';
import { registryKey, type RepositoryRecord } from './state.js';
import { toKmsException } from './storage.js';
import { type AwsVariants, DEFAULT_AWS_VARIANTS, type SecondGrantVariant } from '../variants.js';

const ENCRYPTION_TYPES = ['AES256', 'KMS', 'KMS_DSSE'] as const;
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
const ecrGrantsFor = (variant: SecondGrantVariant): readonly { readonly operations: readonly string[]; readonly constrained: boolean }[] => {
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
const repositoryShape = (repository: RepositoryRecord): Record<string, unknown> => ({
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
export const prepareKms = (
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
  const repository = storeRepository(ecr, ref, name, {
    imageTagMutability: mutability,
    imageTagMutabilityExclusionFilters: filters,
    scanOnPush,
    encryptionType,
    kmsKey: kms?.keyArn,
    grantIds: kms?.grantIds ?? [],
    tags: merged,
    policyText: undefined,
    lifecyclePolicyText: undefined,
  });
  return { repository: repositoryShape(repository) };
};

/** The settings a new repository is made with (by CreateRepository, or by ECR on your behalf). */
export type NewRepositorySettings = Pick<
  RepositoryRecord,
  | 'imageTagMutability'
  | 'imageTagMutabilityExclusionFilters'
  | 'scanOnPush'
  | 'encryptionType'
  | 'kmsKey'
  | 'grantIds'
  | 'tags'
  | 'policyText'
  | 'lifecyclePolicyText'
>;

/** Adds a new, empty repository to a registry. */
export const storeRepository = (ecr: EcrContext, ref: RegistryRef, name: string, settings: NewRepositorySettings): RepositoryRecord => {
  const repository: RepositoryRecord = {
    account: ref.account,
    region: ref.region,
    name,
    arn: repositoryArn(ref.region, ref.account, name),
    uri: repositoryUri(ref.region, ref.account, name),
    uuid: randomUUID(),
    createdAt: ecr.now(),
    sequence: ecr.state.nextRepositorySequence++,
    ...settings,
    blobs: {},
    uploads: {},
    images: {},
    nextSequence: 1,
  };
  ecr.repositories(ref)[name] = repository;
  return repository;
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
export const variantsOf = (ecr: EcrContext): Pick<AwsVariants, 'secondGrant' | 'deleteWhenRetireFails'> => ({
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

const removeRepository = (ecr: EcrContext, repository: RepositoryRecord): void => {
  const registry = ecr.state.registries[registryKey(repository.account, repository.region)];
  if (registry !== undefined) delete registry[repository.name];
  for (const [token, download] of Object.entries(ecr.state.downloads)) {
    if (download.repositoryUuid === repository.uuid) delete ecr.state.downloads[token];
  }
  ecr.store.remove(repositoryDirectory(repository));
};

export const repositoryHandlers: Readonly<Record<string, Handler>> = {
  CreateRepository: createRepository,
  DescribeRepositories: describeRepositories,
  DeleteRepository: deleteRepository,
};
