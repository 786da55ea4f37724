/**
 * The ECR calls only a migration makes: removing a repository or lifecycle policy, restoring archived images,
 * and the registry-level reads that tell whether something could recreate a repository name.
 */
import {
  DeleteLifecyclePolicyCommand,
  DeleteRepositoryPolicyCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoryCreationTemplatesCommand,
  type PullThroughCacheRule,
  type ReplicationRule,
  type RepositoryCreationTemplate,
  UpdateImageStorageClassCommand,
} from '@aws-sdk/client-ecr';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError, RepositoryNotFound } from '../errors.js';
import { allPages, awsCall, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { repositoryNotFound } from './ecr-errors.js';

/** DeleteRepositoryPolicy; a repository without a policy is fine. */
export const deleteRepositoryPolicy = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<void, RepositoryNotFound | GenericAwsError> =>
  awsCall(ctx, 'ecr', 'DeleteRepositoryPolicy', (o) => ctx.ecr.send(new DeleteRepositoryPolicyCommand({ repositoryName }), o), repositoryNotFound(repositoryName))
    .map(() => undefined)
    .orElse((e) => (e.kind === 'AwsServiceError' && e.name === 'RepositoryPolicyNotFoundException' ? okAsync(undefined) : errAsync(e)));

/** DeleteLifecyclePolicy; a repository without one is fine (already deleted, e.g. before a crash). */
export const deleteLifecyclePolicy = (
  ctx: RegistryContext,
  repositoryName: string,
): ResultAsync<void, RepositoryNotFound | GenericAwsError> =>
  awsCall(ctx, 'ecr', 'DeleteLifecyclePolicy', (o) => ctx.ecr.send(new DeleteLifecyclePolicyCommand({ repositoryName }), o), repositoryNotFound(repositoryName))
    .map(() => undefined)
    .orElse((e) => (e.kind === 'AwsServiceError' && e.name === 'LifecyclePolicyNotFoundException' ? okAsync(undefined) : errAsync(e)));

/** UpdateImageStorageClass to `STANDARD`: starts restoring an archived image. */
export const restoreImage = (
  ctx: RegistryContext,
  repositoryName: string,
  imageDigest: string,
): ResultAsync<void, RepositoryNotFound | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'UpdateImageStorageClass',
    (o) => ctx.ecr.send(new UpdateImageStorageClassCommand({ repositoryName, imageId: { imageDigest }, targetStorageClass: 'STANDARD' }), o),
    repositoryNotFound(repositoryName),
  ).map(() => undefined);

/** DescribeRegistry's replication rules. */
export const describeReplicationRules = (ctx: RegistryContext): ResultAsync<ReplicationRule[], GenericAwsError> =>
  awsCall(ctx, 'ecr', 'DescribeRegistry', (o) => ctx.ecr.send(new DescribeRegistryCommand({}), o)).map((out) => out.replicationConfiguration?.rules ?? []);

/** Every repository creation template, over every page. */
export const describeCreationTemplates = (ctx: RegistryContext): ResultAsync<RepositoryCreationTemplate[], GenericAwsError> =>
  allPages((nextToken) =>
    awsCall(ctx, 'ecr', 'DescribeRepositoryCreationTemplates', (o) => ctx.ecr.send(new DescribeRepositoryCreationTemplatesCommand(nextToken ? { nextToken } : {}), o)).andThen((out) =>
      expectList('ecr', 'DescribeRepositoryCreationTemplates', 'repositoryCreationTemplates', out.repositoryCreationTemplates).map((items) => ({ items, nextToken: out.nextToken })),
    ),
  );

/** Every pull-through cache rule, over every page. */
export const describePullThroughCacheRules = (ctx: RegistryContext): ResultAsync<PullThroughCacheRule[], GenericAwsError> =>
  allPages((nextToken) =>
    awsCall(ctx, 'ecr', 'DescribePullThroughCacheRules', (o) => ctx.ecr.send(new DescribePullThroughCacheRulesCommand(nextToken ? { nextToken } : {}), o)).andThen((out) =>
      expectList('ecr', 'DescribePullThroughCacheRules', 'pullThroughCacheRules', out.pullThroughCacheRules).map((items) => ({ items, nextToken: out.nextToken })),
    ),
  );
