/**
 * `deleteRepository`: delete an ECR repository, then prove that the KMS grants ECR made for it are
 * gone. ECR retires its two grants with the deleter's credentials, so a deleter without
 * `kms:RetireGrant` in an IAM policy leaves them behind; and a name can be reused, so only the
 * grants of the incarnation we deleted may be retired, never a recreated repository's.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { err, errAsync, ok, okAsync, ResultAsync, safeTry } from 'neverthrow';
import {
  type DeleteRepositoryError,
  type DeletedButGrantsRemain,
  type GenericAwsError,
  isRetryable,
  type KeyNotFound,
  type KmsRefused,
  type MigrationInProgress,
  type RepositoryNotEmpty,
} from '../errors.js';
import { unexpectedResponse } from '../internal/aws.js';
import { mapConcurrent } from '../internal/concurrency.js';
import type { RegistryContext } from '../internal/context.js';
import { backoffDelays } from '../internal/poll.js';
import { freezeOf } from '../migration/freeze.js';
import {
  countImages,
  deleteRepository as ecrDeleteRepository,
  describeRepository,
  findRepository,
  getRepositoryPolicy,
} from '../steps/ecr-repository.js';
import { describeKey } from '../steps/kms-keys.js';
import {
  createdWithin,
  ECR_DOCUMENTED_GRANTS,
  GRANT_CLOCK_SKEW_MS,
  grantsOfIncarnation,
  isConstrainedTo,
  isEcrGrantFor,
  listAllGrants,
  retireGrant,
  unattributedEcrGrants,
} from '../steps/kms-grants.js';
import type { Cancellable, EncryptionDescription } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';

/** What {@link deleteRepository} takes. */
export interface DeleteRepositoryInput extends Cancellable {
  readonly repositoryName: string;
  /** Delete even if the repository holds images (they are lost). Default `false`. */
  readonly force?: boolean;
}

/**
 * A grant on the repository's key that this call could not attribute to the deleted incarnation.
 * Reported, never retired:
 * - `no-repository-constraint`: granted to ECR around the time the repository was created, with no
 *   `aws:ecr:arn` constraint (it may be ECR's second, undocumented grant, or another repository's);
 * - `not-granted-to-ecr`: constrained to the repository's ARN, but granted to someone else;
 * - `other-incarnation`: ECR's grant for the same ARN, created before this incarnation of the name;
 * - `no-creation-date`: constrained to the ARN, but ListGrants gave no date to place it.
 */
export interface UnattributedGrant {
  readonly grantId: string;
  readonly creationDate: Date | undefined;
  readonly granteePrincipal: string | undefined;
  readonly reason: 'no-repository-constraint' | 'not-granted-to-ecr' | 'other-incarnation' | 'no-creation-date';
  /** Whether the last listing still showed it. */
  readonly remaining: boolean;
}

/**
 * Why a deletion's grants could not be verified:
 * - `fewer-grants-than-documented`: ECR documents two grants per KMS repository, and fewer were
 *   identified by their documented parts (constraint, grantee, creation time), so others may exist
 *   that nothing here can recognise;
 * - `unattributed-grants-remain`: grants constrained to the repository's ARN (or granted to ECR
 *   without a constraint around its creation) that are not provably this incarnation's are still
 *   on the key (see `unattributedGrants`).
 */
export type GrantsUnverifiableReason = 'fewer-grants-than-documented' | 'unattributed-grants-remain';

/** What a deletion could not prove about the key's grants. */
export interface GrantsUnverifiable {
  readonly reasons: readonly GrantsUnverifiableReason[];
  /** A sentence for humans. */
  readonly detail: string;
}

interface DeletedRepositoryFields {
  readonly repository: {
    readonly name: string;
    readonly arn: string;
    /** When this incarnation of the name was created: it tells its grants from a recreated repository's. */
    readonly createdAt: Date;
  };
  readonly encryption: EncryptionDescription;
  /** Images the repository held when it was described (deleted with it when `force` was given). */
  readonly imageCount: number;
  /** The grants identified as this incarnation's (recorded before deleting, plus any that showed up late). */
  readonly grantsIdentified: readonly string[];
  /** Grants of this repository that disappeared without this call retiring them (ECR did). */
  readonly grantsRetiredByEcr: readonly string[];
  /** Grants ECR left behind that this call retired. */
  readonly grantsRetiredHere: readonly string[];
  /** Grants this call could not attribute, with whether they are still listed. Never retired. */
  readonly unattributedGrants: readonly UnattributedGrant[];
}

/** The repository is gone, and ListGrants shows no grant of it on the key: every check passed. */
export interface VerifiedDeletion extends DeletedRepositoryFields {
  readonly verified: true;
}

/**
 * The repository is gone, but what is on the key could not be proven clean: see
 * `grantsUnverifiable`. Check `unattributedGrants`; after the consistency delay (up to five
 * minutes), `findOrphanedGrants` / `retireOrphanedGrants` sort out what belongs to no repository.
 */
export interface UnverifiedDeletion extends DeletedRepositoryFields {
  readonly verified: false;
  readonly grantsUnverifiable: GrantsUnverifiable;
}

/**
 * A repository that is gone. `verified: true` only when none of its KMS grants is left on the key
 * and every grant ECR documents creating was identified; otherwise `verified: false` with
 * `grantsUnverifiable` saying why.
 */
export type DeletedRepository = VerifiedDeletion | UnverifiedDeletion;

/** Internal options: a migration deletes repositories that carry its own freeze. */
export interface DeleteRepositoryOptions {
  /** The id of the migration whose freeze statement may be on the repository. */
  readonly migrationId?: string;
}

/** Retire at most this many grants at once: RetireGrant is 30 requests/s per account and region, shared. */
const RETIRE_CONCURRENCY = 4;

/** KMS grants are eventually consistent, "usually less than five minutes". */
const GRANT_CONSISTENCY_MS = 5 * 60_000;

interface Incarnation {
  readonly name: string;
  readonly arn: string;
  readonly createdAt: Date;
}

const incarnationOf = (repository: Repository, name: string): ResultAsync<Incarnation, GenericAwsError> =>
  repository.repositoryArn && repository.createdAt
    ? okAsync({ name, arn: repository.repositoryArn, createdAt: repository.createdAt })
    : errAsync(unexpectedResponse('ecr', 'DescribeRepositories', 'the repository has no ARN or creation date'));

const isSameIncarnation = (repository: Repository, incarnation: Incarnation): boolean =>
  repository.createdAt?.getTime() === incarnation.createdAt.getTime();

/** The key as the repository names it, resolved to its ARN when DescribeKey is allowed. */
interface RepositoryKey {
  readonly keyArn: string;
  readonly awsManagedKey: boolean | undefined;
}

// Best effort: ECR returns the key ARN, and a deleter needs no kms:DescribeKey to delete. DescribeKey
// by key ARN never creates the aws/ecr key.
const resolveKey = (ctx: RegistryContext, kmsKey: string): ResultAsync<RepositoryKey, never> =>
  describeKey(ctx, kmsKey)
    .map((key): RepositoryKey => ({ keyArn: key.Arn, awsManagedKey: key.KeyManager === 'AWS' }))
    .orElse((error) => {
      ctx.logger.debug('DescribeKey failed; using the key as the repository names it', { kmsKey, error: error.kind });
      return okAsync<RepositoryKey, never>({ keyArn: kmsKey, awsManagedKey: undefined });
    });

const encryptionOf = (repository: Repository, key: RepositoryKey | undefined): EncryptionDescription => {
  const type = repository.encryptionConfiguration?.encryptionType ?? 'AES256';
  if (type === 'AES256' || key === undefined) return { type: 'AES256' };
  return key.awsManagedKey === undefined ? { type, keyArn: key.keyArn } : { type, keyArn: key.keyArn, awsManagedKey: key.awsManagedKey };
};

const idsOf = (grants: readonly GrantListEntry[]): string[] => grants.flatMap((g) => (g.GrantId ? [g.GrantId] : []));

/** The freeze statement of a migration on the repository, unless it is the caller's own migration. */
const refuseFrozen = (
  ctx: RegistryContext,
  name: string,
  options: DeleteRepositoryOptions,
): ResultAsync<void, MigrationInProgress | GenericAwsError> =>
  getRepositoryPolicy(ctx, name)
    // Gone meanwhile: DeleteRepository says so.
    .orElse((e) => (e.kind === 'RepositoryNotFound' ? okAsync<undefined, never>(undefined) : errAsync(e)))
    .andThen((policy) => {
      const frozen = freezeOf(policy);
      if (frozen === null || (options.migrationId !== undefined && frozen.migrationId === options.migrationId)) return okAsync(undefined);
      return errAsync<never, MigrationInProgress>({
        kind: 'MigrationInProgress',
        repositoryName: name,
        migrationId: frozen.migrationId,
        foundIn: 'repositoryPolicy',
        journal: undefined,
      });
    });

/**
 * Deletes a repository and verifies that the KMS grants of this incarnation are retired.
 *
 * Order: describe (ARN, `createdAt`, encryption), refuse a repository a migration has frozen, count
 * images (refuse a non-empty repository without `force`), identify the grants of this incarnation
 * on the key and record them (waiting, for a young repository, until ECR's two documented grants
 * show), DeleteRepository, wait with bounded backoff while ECR retires its grants, retire what is
 * left of this incarnation's, and list again until none is shown.
 *
 * @internal
 */
export const deleteRepository = (
  ctx: RegistryContext,
  input: DeleteRepositoryInput,
  options: DeleteRepositoryOptions = {},
): ResultAsync<DeletedRepository, DeleteRepositoryError> => {
  // Plain JavaScript callers may pass nothing: that is an invalid name, not a crash.
  const validName = validateRepositoryName((input as DeleteRepositoryInput | undefined)?.repositoryName);
  if (validName.isErr()) return errAsync(validName.error);
  if (ctx.transportError) return errAsync(ctx.transportError);
  const name = validName.value;
  const force = input.force === true;

  return safeTry(async function* () {
    const described = yield* describeRepository(ctx, name);
    const incarnation = yield* incarnationOf(described, name);
    // A migration in progress keeps its images here: never delete it, `force` or not (D1).
    yield* refuseFrozen(ctx, name, options);
    // A repository deleted under us counts as empty here; DeleteRepository then says it is gone.
    const imageCount = yield* countImages(ctx, name).orElse((e) =>
      e.kind === 'RepositoryNotFound' ? okAsync<number, never>(0) : errAsync(e),
    );
    if (imageCount > 0 && !force) {
      return err<never, RepositoryNotEmpty>({ kind: 'RepositoryNotEmpty', repositoryName: name, imageCount });
    }

    const encryptionType = described.encryptionConfiguration?.encryptionType ?? 'AES256';
    const kmsKey = described.encryptionConfiguration?.kmsKey;
    if (encryptionType !== 'AES256' && !kmsKey) {
      return err(unexpectedResponse('ecr', 'DescribeRepositories', `a ${encryptionType} repository without kmsKey`));
    }
    const key = kmsKey && encryptionType !== 'AES256' ? yield* resolveKey(ctx, kmsKey) : undefined;
    const encryption = encryptionOf(described, key);

    // Before deleting: the grants ECR should retire, and proof that we may list them.
    const before = key ? yield* identifyBeforeDeleting(ctx, key.keyArn, incarnation) : undefined;

    const deletion = yield* deleteOnce(ctx, incarnation, force, imageCount);
    ctx.logger.info('repository deleted', { repositoryName: name, ...(deletion.kmsRefused ? { kmsError: deletion.kmsRefused.kmsError } : {}) });

    const base = { repository: incarnation, encryption, imageCount } as const;
    if (!key || before === undefined || before === 'key-gone') {
      // AES256; or the key itself is deleted, and its grants with it.
      return ok<DeletedRepository, never>({
        ...base,
        grantsIdentified: [],
        grantsRetiredByEcr: [],
        grantsRetiredHere: [],
        unattributedGrants: [],
        verified: true,
      });
    }
    const outcome = yield* verifyGrantsRetired(ctx, key.keyArn, incarnation, before, deletion.successor, deletion.kmsRefused);
    return ok<DeletedRepository, never>(judge(base, outcome));
  });
};

/** What the grants of a deletion came to. */
interface GrantOutcome {
  readonly identified: readonly string[];
  readonly retiredByEcr: readonly string[];
  readonly retiredHere: readonly string[];
  readonly unattributed: readonly UnattributedGrant[];
}

/** `verified: true` only when every check passed; otherwise every reason is given. */
const judge = (base: Pick<DeletedRepositoryFields, 'repository' | 'encryption' | 'imageCount'>, outcome: GrantOutcome): DeletedRepository => {
  const fields: DeletedRepositoryFields = {
    ...base,
    grantsIdentified: outcome.identified,
    grantsRetiredByEcr: outcome.retiredByEcr,
    grantsRetiredHere: outcome.retiredHere,
    unattributedGrants: outcome.unattributed,
  };
  const reasons: GrantsUnverifiableReason[] = [];
  const details: string[] = [];
  if (outcome.identified.length < ECR_DOCUMENTED_GRANTS) {
    reasons.push('fewer-grants-than-documented');
    details.push(
      `${outcome.identified.length} of the ${ECR_DOCUMENTED_GRANTS} grants ECR documents creating were identified on ${base.encryption.keyArn ?? 'the key'}; ` +
        'AWS documents only one grant\'s shape, so the others could not be recognised',
    );
  }
  const remaining = outcome.unattributed.filter((g) => g.remaining);
  if (remaining.length > 0) {
    reasons.push('unattributed-grants-remain');
    details.push(`${remaining.length} grant(s) that may be this repository's are still listed and were left alone: ${remaining.map((g) => `${g.grantId} (${g.reason})`).join(', ')}`);
  }
  if (reasons.length === 0) return { ...fields, verified: true };
  return { ...fields, verified: false, grantsUnverifiable: { reasons, detail: details.join('; ') } };
};

/** What was on the key before deleting. */
interface Identified {
  /** This incarnation's grants, by id. */
  readonly ids: ReadonlySet<string>;
}

/**
 * This incarnation's grants on the key, recorded before deleting; `'key-gone'` when the key no
 * longer exists. A repository younger than the grant consistency delay may not show its grants
 * yet: wait (bounded by the poll settings) until the documented two show, then go on either way.
 */
const identifyBeforeDeleting = (
  ctx: RegistryContext,
  keyArn: string,
  incarnation: Incarnation,
): ResultAsync<Identified | 'key-gone', GenericAwsError> => {
  const listOnce = (): ResultAsync<GrantListEntry[] | 'key-gone', GenericAwsError> =>
    listAllGrants(ctx, keyArn)
      .map((grants): GrantListEntry[] | 'key-gone' => grantsOfIncarnation(grants, incarnation.arn, incarnation.createdAt))
      .orElse((e) => (e.kind === 'KeyNotFound' ? okAsync<'key-gone', never>('key-gone') : errAsync(e)));
  const young = (): boolean => ctx.now().getTime() - incarnation.createdAt.getTime() < GRANT_CONSISTENCY_MS + GRANT_CLOCK_SKEW_MS;
  const delays = backoffDelays(ctx.poll);
  const attempt = (i: number): ResultAsync<Identified | 'key-gone', GenericAwsError> =>
    listOnce().andThen((listed) => {
      if (listed === 'key-gone') return okAsync<'key-gone', never>('key-gone');
      const delay = delays[i];
      if (listed.length >= ECR_DOCUMENTED_GRANTS || delay === undefined || !young()) {
        ctx.logger.debug('grants identified before deleting', { repositoryName: incarnation.name, grants: idsOf(listed) });
        return okAsync<Identified, never>({ ids: new Set(idsOf(listed)) });
      }
      return ResultAsync.fromSafePromise(ctx.sleep(delay)).andThen(() => attempt(i + 1));
    });
  return attempt(0);
};

interface Deletion {
  /** ECR raised KmsException, yet the repository is gone. */
  readonly kmsRefused: KmsRefused | undefined;
  /** A repository of the same name found after the deletion: a newer incarnation. */
  readonly successor: Repository | undefined;
}

/**
 * Whether the repository is still there after DeleteRepository failed: DescribeRepositories, tried
 * again on the poll's backoff while it fails for a passing reason. `'unknown'` when it cannot tell.
 */
const recheck = (ctx: RegistryContext, incarnation: Incarnation): ResultAsync<'same' | 'gone' | Repository | 'unknown', never> => {
  const delays = backoffDelays(ctx.poll);
  const attempt = (i: number): ResultAsync<'same' | 'gone' | Repository | 'unknown', never> =>
    findRepository(ctx, incarnation.name)
      .map((now): 'same' | 'gone' | Repository => (now === undefined ? 'gone' : isSameIncarnation(now, incarnation) ? 'same' : now))
      .orElse((e) => {
        const delay = delays[i];
        if (!isRetryable(e) || delay === undefined) {
          ctx.logger.warn('could not check whether the repository was deleted', { repositoryName: incarnation.name, error: e.kind });
          return okAsync<'unknown', never>('unknown');
        }
        return ResultAsync.fromSafePromise(ctx.sleep(delay)).andThen(() => attempt(i + 1));
      });
  return attempt(0);
};

/**
 * DeleteRepository, with the outcomes that still mean "gone": a concurrent delete (not found), and
 * any other failure after which DescribeRepositories no longer finds this incarnation (ECR could
 * not retire the grants and said so with KmsException; or the answer was lost on the way back).
 */
const deleteOnce = (
  ctx: RegistryContext,
  incarnation: Incarnation,
  force: boolean,
  imageCount: number,
): ResultAsync<Deletion, DeleteRepositoryError> =>
  ecrDeleteRepository(ctx, incarnation.name, force)
    .map((): Deletion => ({ kmsRefused: undefined, successor: undefined }))
    .orElse((e): ResultAsync<Deletion, DeleteRepositoryError> => {
      if (e.kind === 'RepositoryNotFound') {
        ctx.logger.info('repository already deleted; verifying its grants', { repositoryName: incarnation.name });
        return okAsync({ kmsRefused: undefined, successor: undefined });
      }
      if (e.kind === 'RepositoryNotEmpty') {
        // Images were pushed since we counted: count again for the report.
        return countImages(ctx, incarnation.name)
          .orElse(() => okAsync<number, never>(Math.max(imageCount, 1)))
          .andThen((count) => errAsync<never, RepositoryNotEmpty>({ ...e, imageCount: Math.max(count, 1) }));
      }
      // Any other failure: ask ECR whether the repository is still there before saying it is.
      return recheck(ctx, incarnation).andThen((now): ResultAsync<Deletion, DeleteRepositoryError> => {
        if (now === 'unknown' || now === 'same') return errAsync(e);
        ctx.logger.warn('DeleteRepository failed, yet the repository is gone; verifying its grants', {
          repositoryName: incarnation.name,
          error: e.kind,
          ...(e.kind === 'KmsRefused' ? { kmsError: e.kmsError } : {}),
        });
        return okAsync({ kmsRefused: e.kind === 'KmsRefused' ? e : undefined, successor: now === 'gone' ? undefined : now });
      });
    });

/**
 * Waits while ECR retires the incarnation's grants, retires what it left, and lists again until
 * none is shown or the poll bound is reached.
 *
 * A grant just retired may still be listed for a while (eventual consistency), so "remaining" is
 * only concluded after the bound, or when every grant still listed is one whose retirement failed
 * (waiting would not change that). Grants it cannot attribute are waited for too (ECR may retire
 * them), and reported, never retired.
 */
const verifyGrantsRetired = (
  ctx: RegistryContext,
  keyArn: string,
  incarnation: Incarnation,
  identified: Identified,
  knownSuccessor: Repository | undefined,
  kmsRefused: KmsRefused | undefined,
): ResultAsync<GrantOutcome, DeletedButGrantsRemain> => {
  const before = identified.ids;
  const seen = new Set(before);
  const retiredHere = new Set<string>();
  const failed = new Map<string, GenericAwsError>();
  let lastListed: string[] = [...before];
  const unattributed = new Map<string, Omit<UnattributedGrant, 'remaining'>>();
  let unattributedListed = new Set<string>();

  const remain = (cause: unknown): DeletedButGrantsRemain => {
    const firstFailure = [...failed.values()][0];
    const denied = [...failed.values()].some((e) => e.kind === 'AccessDenied');
    return {
      kind: 'DeletedButGrantsRemain',
      repositoryName: incarnation.name,
      repositoryArn: incarnation.arn,
      keyArn,
      grantIds: lastListed,
      missingPermission: denied ? 'kms:RetireGrant' : undefined,
      cause: cause ?? firstFailure ?? kmsRefused,
    };
  };

  // A grant first seen after the deletion, created after a repository of the same name appeared,
  // belongs to that newer repository: never ours to retire. Looked up once, and only if needed.
  let successor: ResultAsync<Date | undefined, GenericAwsError> | undefined =
    knownSuccessor === undefined ? undefined : okAsync(knownSuccessor.createdAt);
  const successorCreatedAt = (): ResultAsync<Date | undefined, GenericAwsError> =>
    (successor ??= findRepository(ctx, incarnation.name).map((r) =>
      r === undefined || isSameIncarnation(r, incarnation) ? undefined : r.createdAt,
    ));

  /** Sorts one listing: ours (to wait for or retire), a successor's (left alone), and the rest (reported). */
  const sort = (all: readonly GrantListEntry[], newer: Date | undefined): GrantListEntry[] => {
    const window = { createdAt: incarnation.createdAt, successorCreatedAt: newer };
    const isSuccessors = (g: GrantListEntry): boolean =>
      newer !== undefined && isEcrGrantFor(g, incarnation.arn) && g.CreationDate !== undefined && !createdWithin(g, window) &&
      g.CreationDate.getTime() >= newer.getTime() - GRANT_CLOCK_SKEW_MS;
    const mine = all.filter((g) => g.GrantId && (before.has(g.GrantId) || (isEcrGrantFor(g, incarnation.arn) && createdWithin(g, window))));
    const mineIds = new Set(idsOf(mine));
    const others: [GrantListEntry, UnattributedGrant['reason']][] = [
      ...all
        .filter((g) => g.GrantId && !mineIds.has(g.GrantId) && isConstrainedTo(g, incarnation.arn) && !isSuccessors(g))
        .map((g): [GrantListEntry, UnattributedGrant['reason']] => [
          g,
          !isEcrGrantFor(g, incarnation.arn) ? 'not-granted-to-ecr' : g.CreationDate === undefined ? 'no-creation-date' : 'other-incarnation',
        ]),
      ...unattributedEcrGrants(all, incarnation.arn, incarnation.createdAt).map((g): [GrantListEntry, UnattributedGrant['reason']] => [g, 'no-repository-constraint']),
    ];
    unattributedListed = new Set();
    for (const [g, reason] of others) {
      const grantId = g.GrantId ?? '';
      unattributedListed.add(grantId);
      if (!unattributed.has(grantId)) {
        unattributed.set(grantId, { grantId, creationDate: g.CreationDate, granteePrincipal: g.GranteePrincipal, reason });
      }
    }
    return mine;
  };

  const listOnce = (): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> =>
    listAllGrants(ctx, keyArn)
      .andThen((all) => {
        const needsSuccessor = all.some((g) => g.GrantId && !before.has(g.GrantId) && isConstrainedTo(g, incarnation.arn));
        return (needsSuccessor ? successorCreatedAt() : okAsync<Date | undefined, never>(undefined)).map((newer) => sort(all, newer));
      })
      .map((mine) => {
        lastListed = idsOf(mine);
        for (const id of lastListed) seen.add(id);
        return mine;
      });

  // A listing that fails for a passing reason (throttling after the SDK's retries, the network, a
  // 5xx) says nothing about the grants: list again on the poll's backoff before concluding.
  const listOurs = (): ResultAsync<GrantListEntry[], DeletedButGrantsRemain> => {
    const delays = backoffDelays(ctx.poll);
    const attempt = (i: number): ResultAsync<GrantListEntry[], DeletedButGrantsRemain> =>
      listOnce().orElse((e) => {
        if (e.kind === 'KeyNotFound') {
          // The key was deleted meanwhile, and its grants with it.
          unattributedListed = new Set();
          lastListed = [];
          return okAsync<GrantListEntry[], never>([]);
        }
        const delay = delays[i];
        if (!isRetryable(e) || delay === undefined) {
          // The repository is gone whatever happens now: a failed listing is "not verified", not "not deleted".
          return errAsync(remain(e));
        }
        ctx.logger.debug('listing grants failed; trying again', { keyArn, error: e.kind, delay });
        return ResultAsync.fromSafePromise(ctx.sleep(delay)).andThen(() => attempt(i + 1));
      });
    return attempt(0);
  };

  const retire = async (grantIds: readonly string[]): Promise<void> => {
    await mapConcurrent(grantIds, RETIRE_CONCURRENCY, (grantId) =>
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

  return safeTry(async function* () {
    // 1. Give ECR the time to retire its grants (and the ones we cannot attribute, which it may own).
    let remaining = idsOf(yield* listOurs());
    for (const delay of backoffDelays(ctx.poll)) {
      if (remaining.length === 0 && unattributedListed.size === 0) break;
      await ctx.sleep(delay);
      remaining = idsOf(yield* listOurs());
    }

    // 2. Retire what is left, then check again. A grant is retired once; only a retryable failure
    // (throttling, network, a 5xx) is tried again, after a pause of the same bounded backoff.
    const attempted = new Set<string>();
    const delays = backoffDelays(ctx.poll);
    let pause = 0;
    const retryable = (id: string): boolean => {
      const failure = failed.get(id);
      return failure !== undefined && isRetryable(failure);
    };
    while (remaining.length > 0) {
      const fresh = remaining.filter((id) => !attempted.has(id));
      if (fresh.length > 0) {
        for (const id of fresh) attempted.add(id);
        await retire(fresh);
      } else {
        const delay = delays[pause++];
        if (delay === undefined) break;
        await ctx.sleep(delay);
        const again = remaining.filter(retryable);
        for (const id of again) failed.delete(id);
        await retire(again);
      }
      // Waiting does not change a refusal.
      if (remaining.every((id) => failed.has(id) && !retryable(id))) break;
      remaining = idsOf(yield* listOurs());
    }

    if (remaining.length > 0) return err(remain(undefined));
    return ok({
      identified: [...seen],
      retiredByEcr: [...seen].filter((id) => !retiredHere.has(id)),
      retiredHere: [...retiredHere],
      unattributed: [...unattributed.values()].map((g) => ({ ...g, remaining: unattributedListed.has(g.grantId) })),
    });
  });
};
