import { GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { Result, type ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import { awsCall, expectField } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** Who the caller is. Needs no permission: AWS answers even under an explicit deny. */
export interface CallerIdentity {
  readonly account: string;
  readonly arn: string;
  readonly userId: string;
}

/** STS GetCallerIdentity. */
export const getCallerIdentity = (ctx: RegistryContext): ResultAsync<CallerIdentity, GenericAwsError> =>
  awsCall(ctx, 'sts', 'GetCallerIdentity', (o) => ctx.sts.send(new GetCallerIdentityCommand({}), o)).andThen((out) =>
    Result.combine([expectField('sts', 'GetCallerIdentity', 'Account', out.Account), expectField('sts', 'GetCallerIdentity', 'Arn', out.Arn)]).map(
      ([account, arn]) => ({ account, arn, userId: out.UserId ?? '' }),
    ),
  );
