import { AssumeRoleCommand, GetCallerIdentityCommand, type STSClient } from '@aws-sdk/client-sts';
import { Result, type ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import { awsCall, type CallScope, expectField } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** Who the caller is. Needs no permission: AWS answers even under an explicit deny. */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

/** STS GetCallerIdentity. */
export const getCallerIdentity = (ctx: CallScope & Pick<RegistryContext, 'sts'>): ResultAsync<CallerIdentity, GenericAwsError> =>
  awsCall(ctx, 'sts', 'GetCallerIdentity', (o) => ctx.sts.send(new GetCallerIdentityCommand({}), o)).andThen((out) =>
    Result.combine([expectField('sts', 'GetCallerIdentity', 'Account', out.Account), expectField('sts', 'GetCallerIdentity', 'Arn', out.Arn)]).map(
      ([account, arn]) => ({ account, arn, userId: out.UserId ?? '' }),
    ),
  );

/** Temporary credentials of an assumed role, as the SDK's credential providers answer them. */
export interface AssumedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

/** What AssumeRole is asked for. */
export interface AssumeRoleRequest {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly externalId?: string | undefined;
}

/**
 * STS AssumeRole with the given client (the caller's credentials). A role that does not exist, a
 * trust policy that does not name the caller, or a wrong external id all answer `AccessDenied` (STS
 * does not tell them apart); `RegionDisabledException` (STS not activated in the client's region) is
 * an `AwsServiceError` keeping that name.
 */
export const assumeRole = (scope: CallScope, sts: STSClient, request: AssumeRoleRequest): ResultAsync<AssumedCredentials, GenericAwsError> =>
  awsCall(scope, 'sts', 'AssumeRole', (o) =>
    sts.send(
      new AssumeRoleCommand({
        RoleArn: request.roleArn,
        RoleSessionName: request.sessionName,
        ...(request.externalId !== undefined ? { ExternalId: request.externalId } : {}),
      }),
      o,
    ),
  ).andThen((out) =>
    expectField('sts', 'AssumeRole', 'Credentials', out.Credentials).andThen((c) =>
      Result.combine([
        expectField('sts', 'AssumeRole', 'Credentials.AccessKeyId', c.AccessKeyId),
        expectField('sts', 'AssumeRole', 'Credentials.SecretAccessKey', c.SecretAccessKey),
        expectField('sts', 'AssumeRole', 'Credentials.SessionToken', c.SessionToken),
        expectField('sts', 'AssumeRole', 'Credentials.Expiration', c.Expiration),
      ]).map(([accessKeyId, secretAccessKey, sessionToken, expiration]) => ({ accessKeyId, secretAccessKey, sessionToken, expiration })),
    ),
  );
