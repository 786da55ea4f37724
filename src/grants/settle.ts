/**
 * The life of an incarnation's KMS grants around a deletion: wait until ECR's documented grants
 * show ({@link awaitIncarnationGrants}), and after the repository is gone, wait while ECR retires
 * them, retire what it left, and list again until none is shown ({@link settleIncarnationGrants}).
 * Used by `deleteRepository`, the rollback of `createEncryptedRepository` and a migration's
 * leftover retirement. Never revokes; retires only grants proven to be this incarnation's.
 */
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { type GenericAwsError, isRetryable, type KeyNotFound } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { mapPool } from '../internal/pool.js';
import { pollUntil } from '../internal/wait.js';
import { findRepository } from '../steps/ecr-repository.js';
import { listAllGrants, retireGrant } from '../steps/kms-grants.js';
import { ECR_DOCUMENTED_GRANTS } from './rules.js';
import { grantsOf, idsOf, type Incarnation, isSameIncarnation, namesUnknownGrant, sortListing, type UnattributedGrant } from './incarnation.js';

/** Retire at most this many grants at once: RetireGrant is 30 requests/s per account and region, shared. */
const RETIRE_CONCURRENCY = 4;

/** The incarnation's grants as first listed, or `'key-gone'` when the key no longer exists. */
export interface AwaitedGrants {
  readonly grants: readonly GrantListEntry[] | 'key-gone';
  /** Whether the `ECR_DOCUMENTED_GRANTS` (two) grants ECR documents creating showed before the poll ended. */
  readonly complete: boolean;
}

/**
 * ECR's grants of the incarnation on the key, listed until the two ECR documents creating show
 * (grants are eventually consistent: a young repository may not show them yet), or until
 * `keepWaiting()` says waiting is pointless, or the poll bound (`EncryptedRegistryOptions.poll`)
 * is reached. `tolerate` accepts failed listings worth listing again after the next pause.
 *
 * @example
 * ```ts
 * awaitIncarnationGrants(ctx, keyArn, incarnation).map(({ grants, complete }) => …);
 * ```
 */
export const awaitIncarnationGrants = (
  ctx: RegistryContext,
  keyArn: string,
  incarnation: Incarnation,
  options: { readonly keepWaiting?: () => boolean; readonly tolerate?: (error: GenericAwsError) => boolean } = {},
): ResultAsync<AwaitedGrants, GenericAwsError> =>
  pollUntil(
    ctx,
    () =>
      listAllGrants(ctx, keyArn)
        .map((grants): readonly GrantListEntry[] | 'key-gone' => grantsOf(grants, incarnation))
        .orElse((e) => (e.kind === 'KeyNotFound' ? okAsync<'key-gone', never>('key-gone') : errAsync(e))),
    (listed) => listed === 'key-gone' || listed.length >= ECR_DOCUMENTED_GRANTS || options.keepWaiting?.() === false,
    options.tolerate === undefined ? {} : { tolerate: options.tolerate },
  ).map(({ value }) => ({ grants: value, complete: value === 'key-gone' || value.length >= ECR_DOCUMENTED_GRANTS }));

/** What {@link settleIncarnationGrants} takes. */
export interface SettleInput {
  readonly keyArn: string;
  /**
   * The deleted incarnation. Without `successorCreatedAt`, a repository of the same name is looked
   * up (once) when a listing shows a grant naming the ARN that is not known: a newer incarnation's
   * grants are never retired.
   */
  readonly incarnation: Incarnation;
  /** Grant ids recorded as the incarnation's before it was deleted. */
  readonly known?: ReadonlySet<string>;
}

/** A RetireGrant that failed. */
interface GrantRetirementFailure {
  readonly grantId: string;
  readonly error: GenericAwsError;
}

/** What became of an incarnation's grants. Settled when `remaining` is empty and `listError` undefined. */
export interface Settlement {
  /** Every grant seen as the incarnation's (known before, or listed since). */
  readonly identified: readonly string[];
  /** Grants that disappeared without being retired here (ECR did). */
  readonly retiredByEcr: readonly string[];
  /** Grants ECR left behind that were retired here. */
  readonly retiredHere: readonly string[];
  /** Grants that may be the incarnation's but are not provably so: never retired. */
  readonly unattributed: readonly UnattributedGrant[];
  /** The incarnation's grants the last listing still showed. */
  readonly remaining: readonly string[];
  /** RetireGrant calls that failed for good (or until the poll bound). */
  readonly failures: readonly GrantRetirementFailure[];
  /** Set when listing failed for good: nothing could be verified after it. */
  readonly listError: GenericAwsError | undefined;
}

/**
 * After the incarnation's repository is gone: waits (poll bound) while ECR retires its grants (and
 * grants it cannot attribute, which ECR may own), retires what is left, and lists again until none
 * is shown or the poll bound is reached.
 *
 * A grant just retired may still be listed for a while (eventual consistency), so "remaining" is
 * only concluded after the bound, or when every grant still listed is one whose retirement was
 * refused (waiting would not change that). A grant is retired once; only a retryable failure is
 * tried again, after the next pause. A listing that fails for a passing reason (throttling or a
 * 5xx past the SDK's retries, the network) is listed again on the poll's pauses: the repository is
 * gone whatever happens, and a failed listing says nothing about the grants. A key that no longer
 * exists has no grants.
 *
 * @example
 * ```ts
 * settleIncarnationGrants(ctx, { keyArn, incarnation: { name, arn, createdAt } }).map((s) => s.remaining.length === 0);
 * ```
 */
export const settleIncarnationGrants = (ctx: RegistryContext, input: SettleInput): ResultAsync<Settlement, never> => {
  const { keyArn } = input;
  const known = input.known ?? new Set<string>();
  const seen = new Set(known);
  const retiredHere = new Set<string>();
  const failed = new Map<string, GenericAwsError>();
  const unattributed = new Map<string, Omit<UnattributedGrant, 'remaining'>>();
  let unattributedListed = new Set<string>();
  let lastListed: string[] = [...known];
  let incarnation = input.incarnation;
  let successorLookedUp = incarnation.successorCreatedAt !== undefined;

  const withSuccessor = (all: readonly GrantListEntry[]): ResultAsync<Incarnation, GenericAwsError> => {
    if (successorLookedUp || !namesUnknownGrant(all, incarnation, known)) return okAsync(incarnation);
    return findRepository(ctx, incarnation.name).map((r) => {
      successorLookedUp = true;
      if (r !== undefined && !isSameIncarnation(r, incarnation) && r.createdAt !== undefined) {
        incarnation = { ...incarnation, successorCreatedAt: r.createdAt };
      }
      return incarnation;
    });
  };

  const listOnce = (): ResultAsync<string[], KeyNotFound | GenericAwsError> =>
    listAllGrants(ctx, keyArn).andThen((all) =>
      withSuccessor(all).map((current) => {
        const { mine, unattributed: others } = sortListing(all, current, known);
        unattributedListed = new Set();
        for (const [g, reason] of others) {
          const grantId = g.GrantId ?? '';
          unattributedListed.add(grantId);
          if (!unattributed.has(grantId)) unattributed.set(grantId, { grantId, creationDate: g.CreationDate, granteePrincipal: g.GranteePrincipal, reason });
        }
        lastListed = idsOf(mine);
        for (const id of lastListed) seen.add(id);
        return lastListed;
      }),
    );

  const listOurs = (): ResultAsync<string[], GenericAwsError> =>
    pollUntil(
      ctx,
      () =>
        listOnce().orElse((e) => {
          if (e.kind !== 'KeyNotFound') return errAsync(e);
          // The key was deleted meanwhile, and its grants with it.
          unattributedListed = new Set();
          lastListed = [];
          return okAsync<string[], never>([]);
        }),
      () => true,
      {
        tolerate: (e) => {
          ctx.logger.debug('listing grants failed; trying again', { keyArn, error: e.kind });
          return isRetryable(e);
        },
      },
    ).map(({ value }) => value);

  const retire = async (grantIds: readonly string[]): Promise<void> => {
    await mapPool(grantIds, RETIRE_CONCURRENCY, (grantId) =>
      retireGrant(ctx, keyArn, grantId).match(
        (outcome) => {
          if (outcome === 'retired') retiredHere.add(grantId);
          ctx.logger.debug('grant retirement', { keyArn, grantId, outcome });
        },
        (error) => {
          failed.set(grantId, error);
          ctx.logger.warn('could not retire grant', { keyArn, grantId, error: error.kind });
        },
      ),
    );
  };
  const retryable = (id: string): boolean => {
    const failure = failed.get(id);
    return failure !== undefined && isRetryable(failure);
  };

  const settle = async (): Promise<GenericAwsError | undefined> => {
    // 1. Give ECR the time to retire its grants (and the ones we cannot attribute, which it may own).
    const waited = await pollUntil(ctx, listOurs, (remaining) => remaining.length === 0 && unattributedListed.size === 0);
    if (waited.isErr()) return waited.error;
    let remaining = waited.value.value;

    // 2. Retire what is left, then check again: new grants at once, refused ones again (when the
    // refusal may pass) after each pause. Waiting does not change a refusal for good.
    const attempted = new Set<string>();
    const refusedForGood = (ids: readonly string[]): boolean => ids.every((id) => failed.has(id) && !retryable(id));
    const retireThenList = (): ResultAsync<string[], GenericAwsError> =>
      ResultAsync.fromSafePromise(
        (async () => {
          const fresh = remaining.filter((id) => !attempted.has(id));
          for (const id of fresh) attempted.add(id);
          const again = fresh.length > 0 ? [] : remaining.filter(retryable);
          for (const id of again) failed.delete(id);
          await retire(fresh.length > 0 ? fresh : again);
        })(),
      )
        .andThen(() => (refusedForGood(remaining) ? okAsync(remaining) : listOurs()))
        .map((listed) => (remaining = listed));
    if (remaining.length > 0) {
      const retired = await pollUntil(ctx, retireThenList, (listed) => listed.length === 0 || refusedForGood(listed));
      if (retired.isErr()) return retired.error;
    }
    return undefined;
  };

  return ResultAsync.fromSafePromise(
    settle().then(
      (listError): Settlement => ({
        identified: [...seen],
        retiredByEcr: [...seen].filter((id) => !retiredHere.has(id) && !lastListed.includes(id)),
        retiredHere: [...retiredHere],
        unattributed: [...unattributed.values()].map((g) => ({ ...g, remaining: unattributedListed.has(g.grantId) })),
        remaining: lastListed,
        failures: [...failed.entries()].map(([grantId, error]) => ({ grantId, error })),
        listError,
      }),
    ),
  );
};
