/** One safe wrapper per KMS key call. KMS exception names are matched here, where KMS threw. */
import {
  DescribeKeyCommand,
  GetKeyPolicyCommand,
  type KeyMetadata,
  ListAliasesCommand,
  type AliasListEntry,
  ListKeysCommand,
  type KeyListEntry,
} from '@aws-sdk/client-kms';
import { Result, type ResultAsync } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS } from '../encryption/spec.js';
import type { GenericAwsError, InvalidEncryption, KeyNotFound } from '../errors.js';
import { allPages, awsCall, expectField, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/**
 * DescribeKey: resolves a key id, key ARN, alias name or alias ARN to the key's metadata.
 * Note: `alias/aws/ecr` makes KMS create the AWS-managed key if the account has none yet.
 */
export const describeKey = (
  ctx: RegistryContext,
  key: string,
): ResultAsync<KeyMetadata & { readonly Arn: string; readonly KeyId: string }, KeyNotFound | InvalidEncryption | GenericAwsError> =>
  awsCall(
    ctx,
    'kms',
    'DescribeKey',
    (o) => ctx.kms.send(new DescribeKeyCommand({ KeyId: key }), o),
    (e): KeyNotFound | InvalidEncryption | undefined => {
      if (e.name === 'NotFoundException') return { kind: 'KeyNotFound', service: 'kms', operation: 'DescribeKey', cause: e, key };
      if (e.name === 'InvalidArnException') return { kind: 'InvalidEncryption', reason: e.message, key };
      return undefined;
    },
  ).andThen((out) =>
    Result.combine([
      expectField('kms', 'DescribeKey', 'KeyMetadata.Arn', out.KeyMetadata?.Arn),
      expectField('kms', 'DescribeKey', 'KeyMetadata.KeyId', out.KeyMetadata?.KeyId),
    ]).map(([Arn, KeyId]) => ({ ...out.KeyMetadata, Arn, KeyId })),
  );

/** GetKeyPolicy (the only policy name is `default`). Works for keys of the caller's account only. */
export const getKeyPolicy = (ctx: RegistryContext, keyArn: string): ResultAsync<string | undefined, GenericAwsError> =>
  awsCall(ctx, 'kms', 'GetKeyPolicy', (o) => ctx.kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }), o)).andThen(
    (out) => expectField('kms', 'GetKeyPolicy', 'Policy', out.Policy),
  );

/** Every alias of the region, paged 100 at a time. */
export const listAllAliases = (ctx: RegistryContext): ResultAsync<AliasListEntry[], GenericAwsError> =>
  allPages((marker) =>
    awsCall(ctx, 'kms', 'ListAliases', (o) => ctx.kms.send(new ListAliasesCommand({ Limit: 100, ...(marker ? { Marker: marker } : {}) }), o)).andThen((out) =>
      expectList('kms', 'ListAliases', 'Aliases', out.Aliases).map((items) => ({ items, nextToken: out.Truncated ? out.NextMarker : undefined })),
    ),
  );

const AWS_ECR_ALIAS_ARN = /^arn:[a-z0-9-]+:kms:[a-z0-9-]+:\d{12}:alias\/aws\/ecr$/;

/** Whether a key reference names the AWS-managed `aws/ecr` key by its alias (name or alias ARN). */
export const isAwsEcrAlias = (key: string): boolean => key === AWS_MANAGED_ECR_ALIAS || AWS_ECR_ALIAS_ARN.test(key);

/**
 * The `aws/ecr` key's ARN, found through ListAliases (DescribeKey on the alias would create the
 * key); `undefined` when the account has no such key yet.
 */
export const findAwsEcrKeyArn = (ctx: RegistryContext): ResultAsync<string | undefined, GenericAwsError> =>
  listAllAliases(ctx).map((aliases) => {
    const alias = aliases.find((a) => a.AliasName === AWS_MANAGED_ECR_ALIAS && a.TargetKeyId);
    return !alias?.AliasArn || !alias.TargetKeyId ? undefined : alias.AliasArn.replace(/:alias\/.*$/, `:key/${alias.TargetKeyId}`);
  });

/** Every key of the region, paged 1,000 at a time (ListKeys allows up to 1,000). */
export const listAllKeys = (ctx: RegistryContext): ResultAsync<KeyListEntry[], GenericAwsError> =>
  allPages((marker) =>
    awsCall(ctx, 'kms', 'ListKeys', (o) => ctx.kms.send(new ListKeysCommand({ Limit: 1000, ...(marker ? { Marker: marker } : {}) }), o)).andThen((out) =>
      expectList('kms', 'ListKeys', 'Keys', out.Keys).map((items) => ({ items, nextToken: out.Truncated ? out.NextMarker : undefined })),
    ),
  );
