import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import { awsCall, unexpectedResponse } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** Who the caller is. Needs no permission: AWS answers even under an explicit deny. */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

/** STS GetCallerIdentity. */
export const getCallerIdentity = (ctx: RegistryContext): ResultAsync<CallerIdentity, GenericAwsError> =>
  awsCall('sts', 'GetCallerIdentity', () => ctx.sts.send(new GetCallerIdentityCommand({}))).andThen((out) =>
    out.Account && out.Arn
      ? okAsync({ account: out.Account, arn: out.Arn, userId: out.UserId ?? '' })
      : errAsync(unexpectedResponse('sts', 'GetCallerIdentity', 'no account or ARN in the answer')),
  );
