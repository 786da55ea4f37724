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
  type RepositoryNotEmpty,
} from '../errors.js';
import { unexpectedResponse } from '../internal/aws.js';
import { mapConcurrent } from '../internal/concurrency.js';
import type { RegistryContext } from '../internal/context.js';
import { backoffDelays } from '../internal/poll.js';
import {
  countImages,
  deleteRepository as ecrDeleteRepository,
  describeRepository,
  findRepository,
} from '../steps/ecr-repository.js';
import { describeKey } from '../steps/kms-keys.js';
import { GRANT_CLOCK_SKEW_MS, grantsOfIncarnation, listAllGrants, retireGrant } from '../steps/kms-grants.js';
import type { EncryptionDescription } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';

/** What {@link deleteRepository} takes. */
export interface DeleteRepositoryInput {
  readonly repositoryName: string;
  /** Delete even if the repository holds images (they are lost). Default `false`. */
  readonly force?: boolean;
}

/** A repository that is gone, with proof that none of its KMS grants are left on the key. */
export interface DeletedRepository {
  readonly repository: {
    readonly name: string;
    readonly arn: string;
    /** When this incarnation of the name was created: it tells its grants from a recreated repository's. */
    readonly createdAt: Date;
  };
  readonly encryption: EncryptionDescription;
  /** Images the repository held when it was described (deleted with it when `force` was given). */
  readonly imageCount: number;
  /** Grants of this repository that disappeared without this call retiring them (ECR did). */
  readonly grantsRetiredByEcr: readonly string[];
  /** Grants ECR left behind that this call retired. */
  readonly grantsRetiredHere: readonly string[];
  /** ListGrants showed none of this repository's grants on the key. Never claimed otherwise. */
  readonly verified: true;
}

/** Retire at most this many grants at once: RetireGrant is 30 requests/s per account and region, shared. */
const RETIRE_CONCURRENCY = 4;

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

/**
 * Deletes a repository and verifies that the KMS grants of this incarnation are retired.
 *
 * Order: describe (ARN, `createdAt`, encryption), count images (refuse a non-empty repository
 * without `force`), list the key's grants of this incarnation (so a missing `kms:ListGrants` stops
 * us before anything is deleted), DeleteRepository, wait with bounded backoff while ECR retires
 * its grants, retire what is left, and list again until none is shown.
 *
 * @internal
 */
export const deleteRepository = (
  ctx: RegistryContext,
  input: DeleteRepositoryInput,
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
    const before = key ? yield* grantsOnKey(ctx, key.keyArn, incarnation) : undefined;

    const deletion = yield* deleteOnce(ctx, incarnation, force, imageCount);
    ctx.logger.info('repository deleted', { repositoryName: name, ...(deletion.kmsRefused ? { kmsError: deletion.kmsRefused.kmsError } : {}) });

    const base = { repository: incarnation, encryption, imageCount } as const;
    if (!key || before === undefined || before === 'key-gone') {
      // AES256; or the key itself is deleted, and its grants with it.
      return ok<DeletedRepository, never>({ ...base, grantsRetiredByEcr: [], grantsRetiredHere: [], verified: true });
    }
    const grants = yield* verifyGrantsRetired(ctx, key.keyArn, incarnation, new Set(idsOf(before)), deletion.successor, deletion.kmsRefused);
    return ok<DeletedRepository, never>({ ...base, ...grants, verified: true });
  });
};

/** This incarnation's grants on the key; `'key-gone'` when the key no longer exists. */
const grantsOnKey = (
  ctx: RegistryContext,
  keyArn: string,
  incarnation: Incarnation,
): ResultAsync<GrantListEntry[] | 'key-gone', GenericAwsError> =>
  listAllGrants(ctx, keyArn)
    .map((grants): GrantListEntry[] | 'key-gone' => grantsOfIncarnation(grants, incarnation.arn, incarnation.createdAt))
    .orElse((e) => (e.kind === 'KeyNotFound' ? okAsync<'key-gone', never>('key-gone') : errAsync(e)));

interface Deletion {
  /** ECR raised KmsException, yet the repository is gone. */
  readonly kmsRefused: KmsRefused | undefined;
  /** A repository of the same name found after the deletion: a newer incarnation. */
  readonly successor: Repository | undefined;
}

/**
 * DeleteRepository, with the outcomes that still mean "gone": a concurrent delete (not found), and
 * a KmsException after which the repository is no longer there (ECR could not retire the grants).
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
      if (e.kind === 'KmsRefused') {
        return findRepository(ctx, incarnation.name)
          .orElse(() => okAsync<'unknown', never>('unknown'))
          .andThen((now): ResultAsync<Deletion, KmsRefused> => {
            if (now === 'unknown' || (now !== undefined && isSameIncarnation(now, incarnation))) return errAsync(e);
            ctx.logger.warn('ECR raised KmsException but deleted the repository; retiring its grants here', {
              repositoryName: incarnation.name,
              kmsError: e.kmsError,
            });
            return okAsync({ kmsRefused: e, successor: now });
          });
      }
      return errAsync(e);
    });

/**
 * Waits while ECR retires the incarnation's grants, retires what it left, and lists again until
 * none is shown or the poll bound is reached.
 *
 * A grant just retired may still be listed for a while (eventual consistency), so "remaining" is
 * only concluded after the bound, or when every grant still listed is one whose retirement failed
 * (waiting would not change that).
 */
const verifyGrantsRetired = (
  ctx: RegistryContext,
  keyArn: string,
  incarnation: Incarnation,
  before: ReadonlySet<string>,
  knownSuccessor: Repository | undefined,
  kmsRefused: KmsRefused | undefined,
): ResultAsync<Pick<DeletedRepository, 'grantsRetiredByEcr' | 'grantsRetiredHere'>, DeletedButGrantsRemain> => {
  const seen = new Set(before);
  const retiredHere = new Set<string>();
  const failed = new Map<string, GenericAwsError>();
  let lastListed: string[] = [...before];

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

  const listOnce = (): ResultAsync<GrantListEntry[], KeyNotFound | GenericAwsError> =>
    listAllGrants(ctx, keyArn)
      .andThen((all) => {
        const mine = grantsOfIncarnation(all, incarnation.arn, incarnation.createdAt).filter((g) => g.GrantId);
        if (mine.every((g) => before.has(g.GrantId ?? ''))) return okAsync(mine);
        return successorCreatedAt().map((newer) =>
          newer === undefined
            ? mine
            : mine.filter(
                (g) =>
                  before.has(g.GrantId ?? '') ||
                  (g.CreationDate !== undefined && g.CreationDate.getTime() < newer.getTime() - GRANT_CLOCK_SKEW_MS),
              ),
        );
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
    // 1. Give ECR the time to retire its grants.
    let remaining = idsOf(yield* listOurs());
    for (const delay of backoffDelays(ctx.poll)) {
      if (remaining.length === 0) break;
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
      grantsRetiredByEcr: [...seen].filter((id) => !retiredHere.has(id)),
      grantsRetiredHere: [...retiredHere],
    });
  });
};
