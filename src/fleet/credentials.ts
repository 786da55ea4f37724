/** Credentials of a role assumed in another account, renewed before they expire. */
import type { ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import type { AssumedCredentials } from '../steps/sts.js';

/** Renew this long before the expiration: the SDK itself asks again 5 minutes before it. */
const RENEW_BEFORE_MS = 5 * 60_000;

/** A credential provider's failure, named as the SDK names its own (the library maps it to `CredentialsError`). */
const providerError = (roleArn: string, error: GenericAwsError): Error =>
  Object.assign(new Error(`renewing the credentials of ${roleArn} failed: ${error.kind}${'message' in error ? `: ${error.message}` : ''}`), {
    name: 'CredentialsProviderError',
    cause: error,
  });

/**
 * An SDK credential provider over AssumeRole: answers `first` while it has more than
 * {@link RENEW_BEFORE_MS} to live by `now()`, then assumes the role again (one call at a time, shared
 * by concurrent callers). A failed renewal throws a `CredentialsProviderError` naming the role, so
 * the call that needed it fails with `CredentialsError`; the next call tries again.
 *
 * @example
 * ```ts
 * const credentials = renewingCredentials(arn, first, () => assumeRole(scope, sts, request), () => clock.now());
 * new ECRClient({ region, credentials });
 * ```
 */
export const renewingCredentials = (
  roleArn: string,
  first: AssumedCredentials,
  renew: () => ResultAsync<AssumedCredentials, GenericAwsError>,
  now: () => Date,
): (() => Promise<AssumedCredentials>) => {
  let current = first;
  let pending: Promise<AssumedCredentials> | undefined;
  return () => {
    if (current.expiration.getTime() - now().getTime() > RENEW_BEFORE_MS) return Promise.resolve(current);
    pending ??= renew()
      .match(
        (fresh) => {
          current = fresh;
          return fresh;
        },
        (error) => {
          throw providerError(roleArn, error);
        },
      )
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
};
