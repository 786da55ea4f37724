/** Key policies: parsing, the policies AWS gives new keys, and the lockout safety check. */
import type { Authorizer, CallContext } from '../core.js';
import type { PolicyDocument } from '../../../policy/types.js';
import { kmsError } from './state.js';

export const parsePolicy = (text: string): PolicyDocument => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw kmsError('MalformedPolicyDocumentException', 'The policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
    throw kmsError('MalformedPolicyDocumentException', 'The policy must contain a Statement element.');
  }
  return parsed as PolicyDocument;
};

export const defaultKeyPolicy = (account: string): string =>
  JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
    },
    null,
    2,
  );

/** The policy AWS gives an AWS managed key: use only through the service, metadata to the account. */
export const managedKeyPolicy = (service: string, region: string, account: string): string =>
  JSON.stringify(
    {
      Version: '2012-10-17',
      Id: `auto-${service}-1`,
      Statement: [
        {
          Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com`, 'kms:CallerAccount': account } },
        },
        {
          Sid: 'Allow direct access to key metadata to the account',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );

/** AWS refuses a key policy that would lock the caller out of PutKeyPolicy. */
export const lockoutCheck = (authorizer: Authorizer, ctx: CallContext, policy: PolicyDocument, resource: string, account: string): void => {
  if (!authorizer.isAllowed(ctx, 'kms:PutKeyPolicy', resource, { keyPolicy: policy, resourceAccount: account })) {
    throw kmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
  }
};
