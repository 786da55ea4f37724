/**
 * The KMS, IAM and STS commands of a mock scenario, answered from the in-memory account with the
 * shapes and exceptions of the service models (botocore `kms/2014-11-01`, `iam/2010-05-08`,
 * `sts/2011-06-15`).
 */
import { type EvaluationResult, GetRoleCommand, type GetRoleCommandInput, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import {
  DescribeKeyCommand,
  type DescribeKeyCommandInput,
  GetKeyPolicyCommand,
  type GetKeyPolicyCommandInput,
  KMSServiceException,
  ListAliasesCommand,
  ListGrantsCommand,
  type ListGrantsCommandInput,
  ListKeysCommand,
  NotFoundException,
  RetireGrantCommand,
  type RetireGrantCommandInput,
} from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { type AnyStub, handle } from './ecr.js';
import { isScenarioKey, keyMetadata, managedKeyArn, managedKeyMetadata, type MockAccount } from './state.js';

const meta = { $metadata: {} };

const keyNotFound = (reference: string | undefined): NotFoundException =>
  new NotFoundException({ ...meta, message: `Key '${reference ?? ''}' does not exist` });

/** The key ARN a reference names, or NotFoundException. */
const resolveKey = (a: MockAccount, reference: string | undefined): string => {
  if (a.failures.has('keyNotFound')) throw keyNotFound(reference);
  if (isScenarioKey(a, reference)) return a.keyArn;
  if (reference === managedKeyArn(a) || reference === 'alias/aws/ecr') return managedKeyArn(a);
  throw keyNotFound(reference);
};

/** KMS's default key policy: the account's IAM policies decide. */
const defaultKeyPolicy = (a: MockAccount): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:${a.partition}:iam::${a.account}:root` }, Action: 'kms:*', Resource: '*' }],
  });

/** Wires the KMS commands the library sends. */
export const wireKms = (kms: AnyStub, a: MockAccount): void => {
  kms.on(DescribeKeyCommand).callsFake(
    handle((input: DescribeKeyCommandInput) => {
      const keyArn = resolveKey(a, input.KeyId);
      return { KeyMetadata: keyArn === a.keyArn ? keyMetadata(a) : managedKeyMetadata(a) };
    }),
  );
  kms.on(GetKeyPolicyCommand).callsFake(
    handle((input: GetKeyPolicyCommandInput) => {
      resolveKey(a, input.KeyId);
      return { Policy: defaultKeyPolicy(a), PolicyName: 'default' };
    }),
  );
  kms.on(ListGrantsCommand).callsFake(
    handle((input: ListGrantsCommandInput) => {
      const grants = a.grants.get(resolveKey(a, input.KeyId)) ?? [];
      const start = input.Marker === undefined ? 0 : Number(input.Marker);
      const limit = input.Limit ?? 50;
      const next = start + limit;
      const page = grants.slice(start, next).map((g) => ({ ...g }));
      return next < grants.length ? { Grants: page, Truncated: true, NextMarker: String(next) } : { Grants: page, Truncated: false };
    }),
  );
  kms.on(RetireGrantCommand).callsFake(
    handle((input: RetireGrantCommandInput) => {
      if (a.failures.has('grantsLeftBehind')) {
        throw new KMSServiceException({
          name: 'AccessDeniedException',
          $fault: 'client',
          ...meta,
          message: `User: ${a.callerArn} is not authorized to perform: kms:RetireGrant on resource: ${a.keyArn}`,
        });
      }
      const keyArn = resolveKey(a, input.KeyId);
      a.grants.set(keyArn, (a.grants.get(keyArn) ?? []).filter((g) => g.GrantId !== input.GrantId));
      return {};
    }),
  );
  kms.on(ListKeysCommand).callsFake(
    handle(() => ({
      Keys: [
        { KeyId: a.keyId, KeyArn: a.keyArn },
        { KeyId: managedKeyArn(a).split('/')[1], KeyArn: managedKeyArn(a) },
      ],
      Truncated: false,
    })),
  );
  kms.on(ListAliasesCommand).callsFake(
    handle(() => ({
      Aliases: [
        { AliasName: a.keyAlias, AliasArn: `arn:${a.partition}:kms:${a.region}:${a.account}:${a.keyAlias}`, TargetKeyId: a.keyId },
        { AliasName: 'alias/aws/ecr', AliasArn: `arn:${a.partition}:kms:${a.region}:${a.account}:alias/aws/ecr`, TargetKeyId: managedKeyArn(a).split('/')[1] },
      ],
      Truncated: false,
    })),
  );
};

/** Wires the IAM and STS commands the library sends. */
export const wireIamSts = (iam: AnyStub, sts: AnyStub, a: MockAccount): void => {
  sts.on(GetCallerIdentityCommand).callsFake(handle(() => ({ Account: a.account, Arn: a.callerArn, UserId: 'AIDAMOCKCALLER' })));
  iam.on(GetRoleCommand).callsFake(
    handle((input: GetRoleCommandInput) => ({
      Role: {
        RoleName: input.RoleName,
        Arn: `arn:${a.partition}:iam::${a.account}:role/${input.RoleName ?? ''}`,
        Path: '/',
        RoleId: 'AROAMOCKROLE',
        CreateDate: new Date('2025-01-01T00:00:00Z'),
      },
    })),
  );
  iam.on(SimulatePrincipalPolicyCommand).callsFake(
    handle((input: SimulatePrincipalPolicyCommandInput) => ({
      EvaluationResults: (input.ActionNames ?? []).map(
        (action): EvaluationResult => ({
          EvalActionName: action,
          EvalResourceName: input.ResourceArns?.[0] ?? '*',
          EvalDecision: a.failures.has('missingPermission') && action === 'kms:CreateGrant' ? 'implicitDeny' : 'allowed',
          MissingContextValues: [],
        }),
      ),
      IsTruncated: false,
    })),
  );
};
