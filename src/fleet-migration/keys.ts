/**
 * The fleet filter's key references resolved to key ARNs, once per run and before selection: ECR
 * reports a repository's key as a key ARN (`ecr.kms-key-echo`), so `alias/ecr-prod`, an alias ARN
 * or a key id is turned into the ARN it stands for with one DescribeKey each, in the registry's
 * Region (`kms.describe-key-references`). A reference that names no key is `KeyNotFound`, before
 * anything is listed or changed: with `notOnKeys` it would otherwise select every repository.
 *
 * `alias/aws/ecr` (the AWS-managed key) is found through ListAliases instead, because DescribeKey
 * on it creates that key when the account has none (`kms.describe-aws-managed-creates`); with no
 * key behind it, no repository can be on it. It also stands for a `KMS` repository whose `kmsKey`
 * ECR leaves out (`where.ts`).
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS, parseKeyReference } from '../encryption/spec.js';
import type { GenericAwsError, InvalidInput, KeyNotFound } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { describeKey, findAwsEcrKeyArn, isAwsEcrAlias } from '../steps/kms-keys.js';
import type { RepositoryFilter } from './types.js';

type ResolveError = KeyNotFound | InvalidInput | GenericAwsError;

/** What one reference stands for in the filter: key ARNs (and `alias/aws/ecr` itself for repositories without a reported key). */
const resolveOne = (ctx: RegistryContext, key: string, field: string, region: string): ResultAsync<readonly string[], ResolveError> => {
  const reference = parseKeyReference(key);
  // checkFilter has checked every reference already; kept for a filter that skipped it.
  if (reference.isErr()) return errAsync({ kind: 'InvalidInput', field, reason: `${key}: ${reference.error.reason}` });
  const ref = reference.value;
  // ECR needs a key of the repository's Region (`ecr.kms-key-same-region`): with `notOnKeys`, a key
  // of another Region would exclude nothing and so select every repository.
  if ((ref.form === 'key-arn' || ref.form === 'alias-arn') && ref.region !== region) {
    return errAsync({ kind: 'InvalidInput', field, reason: `${key} is in ${ref.region}: no repository of ${region} can be on it (ECR needs a key of the repository's Region)` });
  }
  if (ref.form === 'key-arn') return okAsync([key]);
  if (isAwsEcrAlias(key)) return findAwsEcrKeyArn(ctx).map((arn) => (arn === undefined ? [AWS_MANAGED_ECR_ALIAS] : [arn, AWS_MANAGED_ECR_ALIAS]));
  return describeKey(ctx, key)
    .mapErr((e): ResolveError => (e.kind === 'InvalidEncryption' ? { kind: 'InvalidInput', field, reason: `${key}: ${e.reason}` } : e))
    .map((metadata) => [metadata.Arn]);
};

/**
 * The filter with every key reference of `onKeys` / `notOnKeys` replaced by key ARNs. Each
 * distinct reference is resolved once; a filter without keys makes no call. A key or alias ARN of
 * another Region than `region` (the registry's) is `InvalidInput`: no repository can be on it.
 */
export const resolveFilterKeys = (ctx: RegistryContext, filter: RepositoryFilter, region: string): ResultAsync<RepositoryFilter, ResolveError> => {
  const resolved = new Map<string, ResultAsync<readonly string[], ResolveError>>();
  const listOf = (name: 'onKeys' | 'notOnKeys'): ResultAsync<string[] | undefined, ResolveError> => {
    const keys = filter[name];
    if (keys === undefined) return okAsync(undefined);
    const each = keys.map((key) => {
      let found = resolved.get(key);
      if (found === undefined) {
        found = resolveOne(ctx, key, `where.${name}`, region);
        resolved.set(key, found);
      }
      return found;
    });
    return each.reduce<ResultAsync<string[], ResolveError>>((all, one) => all.andThen((list) => one.map((arns) => [...list, ...arns])), okAsync([])).map((all) => [...new Set(all)]);
  };
  return listOf('onKeys').andThen((onKeys) =>
    listOf('notOnKeys').map((notOnKeys) => ({
      ...filter,
      ...(onKeys === undefined ? {} : { onKeys }),
      ...(notOnKeys === undefined ? {} : { notOnKeys }),
    })),
  );
};
