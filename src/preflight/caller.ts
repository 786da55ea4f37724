/** The caller checks of the preflight: who calls, and which principal IAM can simulate for it. */
import { okAsync, type ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { getRoleArn, type IamUnavailable } from '../steps/iam.js';
import { getCallerIdentity } from '../steps/sts.js';
import { errorFinding, note } from './finding.js';
import type { Finding } from './types.js';

/** Who the caller is, and the principal IAM can simulate for it. */
export interface CallerOutcome {
  readonly findings: Finding[];
  readonly account?: string;
  readonly partition?: string;
  readonly callerArn?: string;
  readonly roleArn?: string;
  /** The ARN IAM can simulate (user or role), when there is one. */
  readonly principalArn?: string;
}

const ARN = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/;

/** Why IAM could not answer, in a word. */
export const iamUnavailableMessage = (e: IamUnavailable | GenericAwsError): string => ('kind' in e ? e.kind : e.reason);

/** GetCallerIdentity, and for an assumed-role session the role behind it (with its path, from GetRole). */
export const checkCaller = (ctx: RegistryContext): ResultAsync<CallerOutcome, never> =>
  getCallerIdentity(ctx)
    .andThen((identity): ResultAsync<CallerOutcome, never> => {
      const parsed = ARN.exec(identity.arn);
      const base = { account: identity.account, callerArn: identity.arn, ...(parsed?.[1] ? { partition: parsed[1] } : {}) };
      const resource = parsed?.[4] ?? '';
      if (parsed?.[2] === 'iam' && resource === 'root') {
        return okAsync({
          ...base,
          findings: [note('permissions', 'info', 'the caller is the account root user: it has every permission, nothing to simulate')],
        });
      }
      if (parsed?.[2] === 'iam' && resource.startsWith('user/')) return okAsync({ ...base, principalArn: identity.arn, findings: [] });
      const assumed = parsed?.[2] === 'sts' ? /^assumed-role\/([^/]+)\//.exec(resource) : null;
      const roleName = assumed?.[1];
      if (roleName !== undefined) {
        // The session ARN drops the role's path: only GetRole knows the real role ARN.
        return getRoleArn(ctx, roleName)
          .map((roleArn): CallerOutcome => ({ ...base, roleArn, principalArn: roleArn, findings: [] }))
          .orElse((e) =>
            okAsync<CallerOutcome, never>({
              ...base,
              findings: [
                note(
                  'permissions',
                  'warning',
                  `cannot look up role ${roleName} (${iamUnavailableMessage(e)}): permissions were not simulated`,
                ),
              ],
            }),
          );
      }
      return okAsync({
        ...base,
        findings: [note('permissions', 'warning', `IAM cannot simulate ${identity.arn} (only users and roles): permissions were not checked`)],
      });
    })
    .orElse((error) =>
      okAsync<CallerOutcome, never>({
        findings: [errorFinding('callerIdentity', `cannot tell who the caller is: ${error.kind}`, error)],
      }),
    );
