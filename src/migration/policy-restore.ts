/**
 * Restoring a saved repository policy that ECR refuses. When an IAM role or user named in a
 * resource policy is deleted, IAM shows its unique id (`AROA…`, `AIDA…`) in its place; unique ids
 * are never reused, so such a principal can never match a request again and removing it is
 * access-neutral ("These unique IDs are never reused, so you can safely remove principals with
 * unique identifiers from all of your policy statements": Amazon S3 User Guide,
 * s3-bucket-user-policy-specifying-principal-intro; IAM User Guide, reference_identifiers, unique
 * ids). ECR validates that principals exist ("Principal not found": hashicorp/terraform-provider-aws#39064),
 * so the saved text may not go back as it was.
 */
import { type ResultAsync, errAsync, okAsync } from 'neverthrow';
import type { Aborted, GenericAwsError, InvalidInput, RegistryError, RepositoryNotFound, RepositoryPolicyRefused } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { deleteRepositoryPolicy } from '../steps/ecr-migration.js';
import { getRepositoryPolicy, setRepositoryPolicy } from '../steps/ecr-repository.js';
import { freezeOf } from '../policy/index.js';
import type { MigrationWarning } from './types.js';

/** An IAM unique id of a user (`AIDA`) or role (`AROA`). */
export const UNIQUE_ID = /^A(ID|RO)A[A-Z0-9]{12,}$/;

/** The saved policy with the principals of deleted users and roles taken out. */
export interface CleanedPolicy {
  /**
   * The policy text to try instead; `undefined` when no statement is left: then the repository
   * gets no policy, which allows and denies exactly what the saved one still could.
   */
  readonly text: string | undefined;
  /** The unique ids taken out. */
  readonly removed: readonly string[];
  /** Sids (or positions, `#<index>`) of statements dropped because they named only deleted principals. */
  readonly droppedStatements: readonly string[];
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The `AWS` values of a principal element, as a list; `undefined` when it has none or is not an object. */
const awsValues = (element: unknown): unknown[] | undefined => {
  if (!isObject(element) || element.AWS === undefined) return undefined;
  const aws: unknown = element.AWS;
  return Array.isArray(aws) ? (aws as unknown[]) : [aws];
};

const isUniqueId = (value: unknown): value is string => typeof value === 'string' && UNIQUE_ID.test(value);

/**
 * The saved policy without unique-id principals, or `undefined` when nothing can be taken out
 * without changing who has access. Per statement:
 *
 * - `Principal`: the unique ids go. A statement left naming no principal at all (not even a
 *   service or federated one) applied to nobody, Allow or Deny alike, and is dropped.
 * - `NotPrincipal` (a Deny to everyone except those named): the unique ids go only while a live
 *   exception remains. With none left the statement denies everyone, which no remaining element can
 *   say without a new shape: then it stays as it is (and the restore fails with a typed error),
 *   never silently dropped.
 *
 * @example
 * ```ts
 * const cleaned = withoutDeletedPrincipals(savedPolicyText);
 * if (cleaned !== undefined) console.log(cleaned.removed); // ['AROAEXAMPLEID1234567']
 * ```
 */
export const withoutDeletedPrincipals = (policyText: string): CleanedPolicy | undefined => {
  let document: unknown;
  try {
    document = JSON.parse(policyText);
  } catch {
    return undefined;
  }
  if (!isObject(document)) return undefined;
  const single = isObject(document.Statement);
  const statements: unknown[] = single ? [document.Statement] : Array.isArray(document.Statement) ? document.Statement : [];
  const removed: string[] = [];
  const droppedStatements: string[] = [];
  const kept: unknown[] = [];
  statements.forEach((statement, index) => {
    if (!isObject(statement)) {
      kept.push(statement);
      return;
    }
    const sid = typeof statement.Sid === 'string' && statement.Sid !== '' ? statement.Sid : `#${index}`;
    const principal = awsValues(statement.Principal);
    if (principal !== undefined && principal.some(isUniqueId)) {
      const live = principal.filter((p) => !isUniqueId(p));
      removed.push(...principal.filter(isUniqueId));
      const others = Object.entries(statement.Principal as Json).filter(([key]) => key !== 'AWS');
      if (live.length === 0 && others.length === 0) {
        droppedStatements.push(sid);
        return;
      }
      const rest: Json = Object.fromEntries(others);
      kept.push({ ...statement, Principal: live.length === 0 ? rest : { ...rest, AWS: live.length === 1 ? live[0] : live } });
      return;
    }
    const notPrincipal = awsValues(statement.NotPrincipal);
    if (notPrincipal !== undefined && notPrincipal.some(isUniqueId)) {
      const live = notPrincipal.filter((p) => !isUniqueId(p));
      const others = Object.entries(statement.NotPrincipal as Json).filter(([key]) => key !== 'AWS');
      if (live.length === 0 && others.length === 0) {
        kept.push(statement);
        return;
      }
      removed.push(...notPrincipal.filter(isUniqueId));
      const rest: Json = Object.fromEntries(others);
      kept.push({ ...statement, NotPrincipal: live.length === 0 ? rest : { ...rest, AWS: live.length === 1 ? live[0] : live } });
      return;
    }
    kept.push(statement);
  });
  if (removed.length === 0) return undefined;
  return { text: kept.length === 0 ? undefined : JSON.stringify({ ...document, Statement: kept }), removed: [...new Set(removed)], droppedStatements };
};

/** The unique-id principals a policy names (of deleted users and roles), for warnings. */
export const deletedPrincipalsIn = (policyText: string | undefined): string[] =>
  policyText === undefined ? [] : [...(withoutDeletedPrincipals(policyText)?.removed ?? [])];

/** Runs one AWS call with the migration's retries. */
export type Retrying = <T, E extends RegistryError>(operation: string, attempt: () => ResultAsync<T, E>) => ResultAsync<T, E | Aborted>;

/** What can stop {@link restoreRepositoryPolicy}. */
export type RestorePolicyError = RepositoryPolicyRefused | RepositoryNotFound | InvalidInput | GenericAwsError | Aborted;

const refusal = (e: RestorePolicyError): InvalidInput | undefined => (e.kind === 'InvalidInput' && e.field === 'repositoryPolicy' ? e : undefined);

/**
 * The last step of a migration: the repository policy saved before it, exactly, with `force`
 * (the saved policy may deny the caller the next SetRepositoryPolicy). When ECR refuses that text:
 *
 * 1. if the live policy no longer carries this migration's freeze, the migrating principal (the
 *    only one the freeze lets change it) has set a policy after an earlier refusal: it is kept;
 * 2. otherwise the saved policy without principals of deleted users and roles is set (or, when no
 *    statement is left, the policy is deleted), which changes nobody's access;
 * 3. if ECR refuses that too, or nothing could be taken out, `RepositoryPolicyRefused` carries the
 *    saved text and AWS's reason; the repository stays frozen, never unfrozen with a policy other
 *    than one that allows and denies what the saved one did.
 *
 * Returns the warning to record when the saved text did not go back as it was.
 */
export const restoreRepositoryPolicy = (
  ctx: RegistryContext,
  repositoryName: string,
  savedPolicy: string,
  migrationId: string,
  retrying: Retrying,
): ResultAsync<MigrationWarning | undefined, RestorePolicyError> =>
  retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, repositoryName, savedPolicy, true))
    .map((): MigrationWarning | undefined => undefined)
    .orElse((e: RestorePolicyError) => {
      const refused = refusal(e);
      if (refused === undefined) return errAsync(e);
      return retrying('GetRepositoryPolicy', () => getRepositoryPolicy(ctx, repositoryName)).andThen(
        (live): ResultAsync<MigrationWarning | undefined, RestorePolicyError> => {
          if (freezeOf(live)?.migrationId !== migrationId) {
            return okAsync({
              code: 'repositoryPolicyKept',
              message: `ECR refused the saved repository policy (${refused.reason}); the policy set on ${repositoryName} since then (${live === undefined ? 'none' : 'not the saved one'}) is kept`,
            });
          }
          const cleaned = withoutDeletedPrincipals(savedPolicy);
          const refusedError = (reason: string, attempted: string | undefined): RepositoryPolicyRefused => ({
            kind: 'RepositoryPolicyRefused',
            repositoryName,
            savedPolicy,
            attemptedPolicy: attempted,
            reason,
            stillFrozen: true,
          });
          if (cleaned === undefined) return errAsync(refusedError(refused.reason, undefined));
          const warning: MigrationWarning = {
            code: 'repositoryPolicyCleaned',
            message:
              `ECR refused the saved repository policy (${refused.reason}); restored it without the principals of deleted users and roles ` +
              `(${cleaned.removed.join(', ')}), which can never match again` +
              (cleaned.droppedStatements.length > 0 ? `, dropping the statements that named only them (${cleaned.droppedStatements.join(', ')})` : '') +
              (cleaned.text === undefined ? ': no statement was left, so the repository has no policy' : ''),
          };
          const text = cleaned.text;
          const apply: ResultAsync<void, RestorePolicyError> =
            text === undefined
              ? retrying('DeleteRepositoryPolicy', () => deleteRepositoryPolicy(ctx, repositoryName))
              : retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, repositoryName, text, true)).orElse((again: RestorePolicyError) => {
                  const still = refusal(again);
                  return errAsync(still === undefined ? again : refusedError(still.reason, text));
                });
          return apply.map(() => warning);
        },
      );
    });

/**
 * What the freeze statement is added to: the saved policy without principals of deleted users and
 * roles (access-neutral, and what ECR may refuse), `undefined` when nothing is left of it.
 *
 * @example
 * ```ts
 * frozenPolicy(freezeBaseOf(settings.repositoryPolicy), migrationId, exemptPrincipals);
 * ```
 */
export const freezeBaseOf = (savedPolicy: string | undefined): string | undefined => {
  if (savedPolicy === undefined) return undefined;
  const cleaned = withoutDeletedPrincipals(savedPolicy);
  return cleaned === undefined ? savedPolicy : cleaned.text;
};
