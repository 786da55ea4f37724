/**
 * The custom role of a repository creation template: ECR assumes it to create repositories on your
 * behalf, and with a KMS template it makes ECR's grants with it. AWS's example policy for that role
 * allows `ecr:CreateRepository`, `ecr:ReplicateImage`, `ecr:TagResource`, `kms:CreateGrant`,
 * `kms:RetireGrant` and `kms:DescribeKey` (repository-creation-templates-custom.html). The same
 * simulation as the caller's (`permissions.ts`), with the role as the principal and the template's
 * namespace as the repository.
 */
import type { ResultAsync } from 'neverthrow';
import type { RegistryContext } from '../internal/context.js';
import { ecrCreateGrantContext, ecrForwardedContext, requestedRegion } from './ecr-context.js';
import type { ResolvedKey } from './key.js';
import { simulate, type SimulationBatch } from './permissions.js';
import type { Finding } from './types.js';

const ROLE_ARN = /^arn:([a-z0-9-]+):iam::(\d{12}):role\/.+$/;

/** The repository ARN a template's prefix stands for: `repository/<namespace>/*`, or `repository/*` for `ROOT`. */
const templateRepositoryArn = (partition: string, region: string, account: string, prefix: string): string =>
  `arn:${partition}:ecr:${region}:${account}:repository/${prefix === 'ROOT' ? '*' : `${prefix.replace(/\/$/, '')}/*`}`;

/** Parts of a role ARN, when it is one. */
export const parseRoleArn = (arn: string): { readonly partition: string; readonly account: string } | undefined => {
  const match = ROLE_ARN.exec(arn);
  return match?.[1] !== undefined && match[2] !== undefined ? { partition: match[1], account: match[2] } : undefined;
};

/**
 * Whether the template's role may create repositories under the prefix and, for a KMS key, create
 * ECR's grants (`kms:CreateGrant` in the context of ECR's CreateGrant, `kms:DescribeKey` and
 * `kms:RetireGrant` through ECR). Findings as the caller's permission check makes them.
 */
export const checkTemplateRole = (
  ctx: RegistryContext,
  input: { readonly roleArn: string; readonly region: string; readonly prefix: string; readonly key: ResolvedKey | undefined },
): ResultAsync<Finding[], never> => {
  const { roleArn, region, prefix, key } = input;
  const parts = parseRoleArn(roleArn) ?? { partition: 'aws', account: '' };
  const repositoryArn = templateRepositoryArn(parts.partition, region, parts.account, prefix);
  const batches: SimulationBatch[] = [{ actions: ['ecr:CreateRepository'], resource: repositoryArn, contextEntries: [requestedRegion(region)] }];
  if (key !== undefined) {
    // As for the caller: the AWS-managed key's policy allows CreateGrant and DescribeKey through ECR to the account.
    if (key.manager !== 'AWS') batches.push({ actions: ['kms:CreateGrant'], resource: key.arn, contextEntries: ecrCreateGrantContext(region, parts.account, repositoryArn) });
    batches.push({
      actions: key.manager === 'AWS' ? ['kms:RetireGrant'] : ['kms:DescribeKey', 'kms:RetireGrant'],
      resource: key.arn,
      contextEntries: ecrForwardedContext(region, parts.account),
    });
  }
  return simulate(ctx, { principalArn: roleArn, callerArn: roleArn, account: parts.account }, batches, key?.arn);
};
