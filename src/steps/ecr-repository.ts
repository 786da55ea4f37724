/**
 * One safe wrapper per ECR repository call. Each maps the exceptions ECR models for that call, by
 * name, where we know ECR threw; everything else falls back to the generic mapping.
 */
import {
  CreateRepositoryCommand,
  type CreateRepositoryCommandInput,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutImageScanningConfigurationCommand,
  PutImageTagMutabilityCommand,
  type PutImageTagMutabilityCommandInput,
  PutLifecyclePolicyCommand,
  type Repository,
  SetRepositoryPolicyCommand,
  type Tag,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
import { err, errAsync, ok, okAsync, type Result, type ResultAsync } from 'neverthrow';
import type {
  GenericAwsError,
  InvalidInput,
  KmsRefused,
  RepositoryAlreadyExists,
  RepositoryNotEmpty,
  RepositoryNotFound,
} from '../errors.js';
import { allPages, awsCall, expectField, expectList, type ServiceException, unexpectedResponse } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { kmsRefused, repositoryNotFound } from './ecr-errors.js';
import { listImages } from './ecr-images.js';

const invalidParameter = (field: string, e: ServiceException): InvalidInput | undefined =>
  e.name === 'InvalidParameterException' || e.name === 'InvalidTagParameterException' || e.name === 'TooManyTagsException'
    ? { kind: 'InvalidInput', field, reason: e.message }
    : undefined;

/** DescribeRepositories for one name. */
export const describeRepository = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<Repository, RepositoryNotFound | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'DescribeRepositories',
    (o) => ctx.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [repositoryName] }), o),
    repositoryNotFound(repositoryName),
  ).andThen((out) =>
    expectList('ecr', 'DescribeRepositories', 'repositories', out.repositories).andThen((repositories) => {
      const repository = repositories[0];
      return repository ? ok(repository) : err({ kind: 'RepositoryNotFound' as const, repositoryName });
    }),
  );

/** DescribeRepositories for one name, `undefined` when there is none. */
export const findRepository = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<Repository | undefined, GenericAwsError> =>
  describeRepository(ctx, repositoryName).orElse((e) =>
    e.kind === 'RepositoryNotFound' ? okAsync(undefined) : errAsync(e),
  );

/** DescribeRepositories takes at most 100 names at once. */
const DESCRIBE_NAMES_MAX = 100;

/**
 * The repositories of these names as they are now: name → repository, or `undefined` when absent.
 * DescribeRepositories by names fails whole on one missing name, so a batch that fails that way is
 * split in halves until each missing name is found alone (one call per 100 names when all exist).
 */
export const describeRepositoriesByName = (
  ctx: RegistryContext,
  names: readonly string[],
): ResultAsync<Map<string, Repository | undefined>, GenericAwsError> => {
  const found = new Map<string, Repository | undefined>();
  const batch = (group: readonly string[]): ResultAsync<void, GenericAwsError> => {
    if (group.length === 0) return okAsync(undefined);
    return awsCall(
      ctx,
      'ecr',
      'DescribeRepositories',
      (o) => ctx.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [...group] }), o),
      repositoryNotFound(group[0] ?? ''),
    )
      .andThen((out) => expectList('ecr', 'DescribeRepositories', 'repositories', out.repositories))
      .andThen((repositories) => {
        // ECR fails the whole call on a missing name: an answer without one of them is no proof it is absent.
        const byName = new Map(repositories.map((r) => [r.repositoryName, r]));
        const absent = group.find((name) => !byName.has(name));
        if (absent !== undefined) {
          return err(unexpectedResponse('ecr', 'DescribeRepositories', `the answer leaves out ${absent} without failing`, `repositories[${absent}]`));
        }
        for (const name of group) found.set(name, byName.get(name));
        return ok(undefined);
      })
      .orElse((e): ResultAsync<void, GenericAwsError> => {
        if (e.kind !== 'RepositoryNotFound') return errAsync(e);
        if (group.length === 1) {
          found.set(group[0] ?? '', undefined);
          return okAsync(undefined);
        }
        const half = Math.ceil(group.length / 2);
        return batch(group.slice(0, half)).andThen(() => batch(group.slice(half)));
      });
  };
  const unique = [...new Set(names)];
  const groups: string[][] = [];
  for (let i = 0; i < unique.length; i += DESCRIBE_NAMES_MAX) groups.push(unique.slice(i, i + DESCRIBE_NAMES_MAX));
  return groups.reduce<ResultAsync<void, GenericAwsError>>((chain, group) => chain.andThen(() => batch(group)), okAsync(undefined)).map(() => found);
};

/**
 * Every repository of the registry, paged 1,000 at a time (the API's maximum): the cheapest way to
 * check many names at once, since DescribeRepositories by names fails whole on one missing name.
 */
export const listAllRepositories = (ctx: RegistryContext): ResultAsync<Repository[], GenericAwsError> =>
  allPages((nextToken) =>
    awsCall(ctx, 'ecr', 'DescribeRepositories', (o) =>
      ctx.ecr.send(new DescribeRepositoriesCommand({ maxResults: 1000, ...(nextToken ? { nextToken } : {}) }), o),
    ).andThen((out) => expectList('ecr', 'DescribeRepositories', 'repositories', out.repositories).map((items) => ({ items, nextToken: out.nextToken }))),
  );

/** CreateRepository. */
export const createRepository = (
  ctx: RegistryContext,
  input: CreateRepositoryCommandInput & { readonly repositoryName: string },
): ResultAsync<Repository, RepositoryAlreadyExists | KmsRefused | InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'CreateRepository',
    (o) => ctx.ecr.send(new CreateRepositoryCommand(input), o),
    (e): RepositoryAlreadyExists | KmsRefused | InvalidInput | undefined =>
      e.name === 'RepositoryAlreadyExistsException'
        ? { kind: 'RepositoryAlreadyExists', service: 'ecr', operation: 'CreateRepository', cause: e, repositoryName: input.repositoryName }
        : (kmsRefused('CreateRepository', e) ?? invalidParameter('CreateRepository', e)),
  ).andThen((out) => expectField('ecr', 'CreateRepository', 'repository', out.repository));

/** DeleteRepository. `RepositoryNotEmpty` carries no count here: the caller counted before. */
export const deleteRepository = (
  ctx: RegistryContext,
  repositoryName: string,
  force: boolean,
): ResultAsync<Repository | undefined, RepositoryNotFound | RepositoryNotEmpty | KmsRefused | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'DeleteRepository',
    (o) => ctx.ecr.send(new DeleteRepositoryCommand({ repositoryName, force }), o),
    (e): RepositoryNotFound | RepositoryNotEmpty | KmsRefused | undefined =>
      e.name === 'RepositoryNotEmptyException'
        ? { kind: 'RepositoryNotEmpty', repositoryName, imageCount: -1 }
        : (repositoryNotFound(repositoryName)(e) ?? kmsRefused('DeleteRepository', e)),
  ).map((out) => out.repository);

/** How many distinct images (by digest, any tag status and any storage status) a repository holds. */
export const countImages = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<number, RepositoryNotFound | GenericAwsError> =>
  listImages(ctx, repositoryName).map((ids) => new Set(ids.flatMap((id) => (id.imageDigest ? [id.imageDigest] : []))).size);

/** GetRepositoryPolicy; `undefined` when the repository has none. */
export const getRepositoryPolicy = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<string | undefined, RepositoryNotFound | GenericAwsError> =>
  awsCall(ctx, 'ecr', 'GetRepositoryPolicy', (o) => ctx.ecr.send(new GetRepositoryPolicyCommand({ repositoryName }), o), repositoryNotFound(repositoryName))
    .andThen((out): Result<string | undefined, GenericAwsError> => expectField('ecr', 'GetRepositoryPolicy', 'policyText', out.policyText))
    .orElse((e) =>
      e.kind === 'AwsServiceError' && e.name === 'RepositoryPolicyNotFoundException' ? okAsync(undefined) : errAsync(e),
    );

/** SetRepositoryPolicy. */
export const setRepositoryPolicy = (
  ctx: RegistryContext,
  repositoryName: string,
  policyText: string,
  force = false,
): ResultAsync<void, RepositoryNotFound | InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'SetRepositoryPolicy',
    (o) => ctx.ecr.send(new SetRepositoryPolicyCommand({ repositoryName, policyText, force }), o),
    (e) => repositoryNotFound(repositoryName)(e) ?? invalidParameter('repositoryPolicy', e),
  ).map(() => undefined);

/** GetLifecyclePolicy; `undefined` when the repository has none. */
export const getLifecyclePolicy = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<string | undefined, RepositoryNotFound | GenericAwsError> =>
  awsCall(ctx, 'ecr', 'GetLifecyclePolicy', (o) => ctx.ecr.send(new GetLifecyclePolicyCommand({ repositoryName }), o), repositoryNotFound(repositoryName))
    .andThen((out): Result<string | undefined, GenericAwsError> => expectField('ecr', 'GetLifecyclePolicy', 'lifecyclePolicyText', out.lifecyclePolicyText))
    .orElse((e) =>
      e.kind === 'AwsServiceError' && e.name === 'LifecyclePolicyNotFoundException' ? okAsync(undefined) : errAsync(e),
    );

/** PutLifecyclePolicy. */
export const putLifecyclePolicy = (
  ctx: RegistryContext,
  repositoryName: string,
  lifecyclePolicyText: string,
): ResultAsync<void, RepositoryNotFound | InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'PutLifecyclePolicy',
    (o) => ctx.ecr.send(new PutLifecyclePolicyCommand({ repositoryName, lifecyclePolicyText }), o),
    (e) => repositoryNotFound(repositoryName)(e) ?? invalidParameter('lifecyclePolicy', e),
  ).map(() => undefined);

/** PutImageTagMutability, with exclusion filters when given. */
export const putImageTagMutability = (
  ctx: RegistryContext,
  input: PutImageTagMutabilityCommandInput & { readonly repositoryName: string },
): ResultAsync<void, RepositoryNotFound | InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'PutImageTagMutability',
    (o) => ctx.ecr.send(new PutImageTagMutabilityCommand(input), o),
    (e) => repositoryNotFound(input.repositoryName)(e) ?? invalidParameter('imageTagMutability', e),
  ).map(() => undefined);

/** PutImageScanningConfiguration (deprecated by AWS in favour of registry-level scanning, still honoured). */
export const putImageScanningConfiguration = (
  ctx: RegistryContext,
  repositoryName: string,
  scanOnPush: boolean,
): ResultAsync<void, RepositoryNotFound | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'PutImageScanningConfiguration',
    (o) => ctx.ecr.send(new PutImageScanningConfigurationCommand({ repositoryName, imageScanningConfiguration: { scanOnPush } }), o),
    repositoryNotFound(repositoryName),
  ).map(() => undefined);

/** ListTagsForResource. */
export const listTags = (
  ctx: RegistryContext,
  repositoryArn: string,
  repositoryName: string,
): ResultAsync<Tag[], RepositoryNotFound | GenericAwsError> =>
  awsCall(ctx, 'ecr', 'ListTagsForResource', (o) => ctx.ecr.send(new ListTagsForResourceCommand({ resourceArn: repositoryArn }), o), repositoryNotFound(repositoryName)).andThen(
    (out) => expectList('ecr', 'ListTagsForResource', 'tags', out.tags),
  );

/** TagResource. */
export const tagRepository = (
  ctx: RegistryContext,
  repositoryArn: string,
  repositoryName: string,
  tags: readonly Tag[],
): ResultAsync<void, RepositoryNotFound | InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'TagResource',
    (o) => ctx.ecr.send(new TagResourceCommand({ resourceArn: repositoryArn, tags: [...tags] }), o),
    (e) => repositoryNotFound(repositoryName)(e) ?? invalidParameter('tags', e),
  ).map(() => undefined);
