/**
 * The emulator's IAM simulator: which condition keys it reports in `MissingContextValues`
 * (`awsVariants.simulateMissingContext: 'report'`).
 */
import { describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/policy/types.js';
import { missingContextKeys } from '../../src/testing/emulator/iam-sts.js';

const KEY = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const policy: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:GranteePrincipal': 'ecr.us-east-1.amazonaws.com', 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' } } },
    { Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*', Condition: { Bool: { 'aws:SecureTransport': 'true' } } },
    { Effect: 'Deny', Action: 'kms:*', Resource: 'arn:aws:kms:*:*:key/other', Condition: { Null: { 'aws:SourceVpce': 'true' } } },
    { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'aws:PrincipalAccount': '111122223333', 'kms:CallerAccount': '111122223333' } } },
  ],
};

describe('missingContextKeys', () => {
  it('lists the keys of the statements for this action and resource that the context lacks, as the policy writes them', () => {
    expect(missingContextKeys([policy], 'kms:CreateGrant', KEY, { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' })).toEqual(['kms:GranteePrincipal']);
  });

  it('treats the keys the evaluator derives from the principal, and kms:CallerAccount for KMS, as given', () => {
    expect(missingContextKeys([policy], 'kms:CreateGrant', KEY, { 'KMS:GRANTEEPRINCIPAL': 'x', 'kms:viaservice': 'y' })).toEqual([]);
  });

  it('ignores statements of other actions and other resources', () => {
    expect(missingContextKeys([policy], 'kms:DescribeKey', KEY, {})).toEqual(['aws:SecureTransport']);
    expect(missingContextKeys([policy], 'ecr:CreateRepository', 'arn:aws:ecr:us-east-1:111122223333:repository/x', {})).toEqual([]);
  });
});
