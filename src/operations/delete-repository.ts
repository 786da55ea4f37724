/**
 * `deleteRepository`: delete an ECR repository, then prove that the KMS grants ECR made for it are
 * gone. ECR retires its two grants with the deleter's credentials, so a deleter without
 * `kms:RetireGrant` in an IAM policy leaves them behind; and a name can be reused, so only the
 * grants of the incarnation we deleted may be retired, never a recreated repository's.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import { err, errAsync, ok, okAsync, type ResultAsync, safeTry } from 'neverthrow';
import {
  type DeleteRepositoryError,
  type DeletedButGrantsRemain,
  type GenericAwsError,
  isRetryable,
  type KmsRefused,
  type MigrationInProgress,
  type RepositoryNotEmpty,
} from '../errors.js';
import { awaitIncarnationGrants, type Settlement, settleIncarnationGrants } from '../grants/settle.js';
import { type Incarnation, incarnationOf, idsOf, isSameIncarnation, type UnattributedGrant } from '../grants/incarnation.js';
import { unexpectedResponse } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';
import { pollUntil } from '../internal/wait.js';
import { freezeOf } from '../policy/index.js';
import {
  countImages,
  deleteRepository as ecrDeleteRepository,
  describeRepository,
  findRepository,
  getRepositoryPolicy,
} from '../steps/ecr-repository.js';
import { describeKey } from '../steps/kms-keys.js';
import { ECR_DOCUMENTED_GRANTS, mayNotShowGrantsYet } from '../grants/rules.js';
import type { Cancellable, EncryptionDescription } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';

export type { UnattributedGrant } from '../grants/incarnation.js';

/** What {@link deleteRepository} takes. */
export interface DeleteRepositoryInput extends Cancellable {
  readonly repositoryName: string;
  /** Delete even if the repository holds images (they are lost). Default `false`. */
  readonly force?: boolean;
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

export interface DeletedRepositoryFields {
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
  /**
   * What the caller read of the repository moments ago, in the same step (a migration): not read
   * again. `imageCount`: a listing just made (with `force`, it is only reported); `encryption`:
   * the key by its canonical ARN, used when it is the key the repository names.
   */
  readonly described?: { readonly repository: Repository; readonly imageCount?: number; readonly encryption?: EncryptionDescription };
}

/** The caller's key when it is the one the repository names (ECR names it by its ARN). */
const knownKey = (encryption: EncryptionDescription | undefined, kmsKey: string): RepositoryKey | undefined =>
  encryption?.keyArn === kmsKey ? { keyArn: kmsKey, awsManagedKey: encryption.awsManagedKey } : undefined;

const describedIncarnation = (repository: Repository, name: string): ResultAsync<Incarnation, GenericAwsError> => {
  const incarnation = incarnationOf(repository, name);
  return incarnation
    ? okAsync(incarnation)
    : errAsync(unexpectedResponse('ecr', 'DescribeRepositories', 'the repository has no ARN or creation date'));
};

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
    const described = options.described?.repository ?? (yield* describeRepository(ctx, name));
    const incarnation = yield* describedIncarnation(described, name);
    // A migration in progress keeps its images here: never delete it, `force` or not (D1).
    yield* refuseFrozen(ctx, name, options);
    // A repository deleted under us counts as empty here; DeleteRepository then says it is gone.
    const imageCount =
      options.described?.imageCount ?? (yield* countImages(ctx, name).orElse((e) => (e.kind === 'RepositoryNotFound' ? okAsync<number, never>(0) : errAsync(e))));
    if (imageCount > 0 && !force) {
      return err<never, RepositoryNotEmpty>({ kind: 'RepositoryNotEmpty', repositoryName: name, imageCount });
    }

    const encryptionType = described.encryptionConfiguration?.encryptionType ?? 'AES256';
    const kmsKey = described.encryptionConfiguration?.kmsKey;
    if (encryptionType !== 'AES256' && !kmsKey) {
      return err(unexpectedResponse('ecr', 'DescribeRepositories', `a ${encryptionType} repository without kmsKey`));
    }
    const key = kmsKey && encryptionType !== 'AES256' ? (knownKey(options.described?.encryption, kmsKey) ?? (yield* resolveKey(ctx, kmsKey))) : undefined;
    const encryption = encryptionOf(described, key);

    // Before deleting: the grants ECR should retire, and proof that we may list them. A repository
    // younger than the grant consistency delay may not show its grants yet: wait (poll bound) until
    // the documented two show, then go on either way.
    const young = (): boolean => mayNotShowGrantsYet(incarnation, ctx.now());
    const before = key ? (yield* awaitIncarnationGrants(ctx, key.keyArn, incarnation, { keepWaiting: young })).grants : undefined;
    if (before !== undefined && before !== 'key-gone') {
      ctx.logger.debug('grants identified before deleting', { repositoryName: name, grants: idsOf(before) });
    }

    const deletion = yield* deleteOnce(ctx, incarnation, force, imageCount);
    ctx.logger.info('repository deleted', { repositoryName: name, ...(deletion.kmsRefused ? { kmsError: deletion.kmsRefused.kmsError } : {}) });

    const repository = { name: incarnation.name, arn: incarnation.arn, createdAt: incarnation.createdAt };
    const base = { repository, encryption, imageCount } as const;
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
    const settled = yield* settleIncarnationGrants(ctx, {
      keyArn: key.keyArn,
      incarnation: deletion.successor?.createdAt ? { ...incarnation, successorCreatedAt: deletion.successor.createdAt } : incarnation,
      known: new Set(idsOf(before)),
    });
    if (settled.listError !== undefined || settled.remaining.length > 0) {
      return err(grantsRemain(incarnation, key.keyArn, settled, deletion.kmsRefused));
    }
    return ok<DeletedRepository, never>(judge(base, settled));
  });
};

/** The deletion is done, but grants of it are still listed (or could no longer be listed). */
const grantsRemain = (incarnation: Incarnation, keyArn: string, settled: Settlement, kmsRefused: KmsRefused | undefined): DeletedButGrantsRemain => ({
  kind: 'DeletedButGrantsRemain',
  repositoryName: incarnation.name,
  repositoryArn: incarnation.arn,
  keyArn,
  grantIds: settled.remaining,
  missingPermission: settled.failures.some((f) => f.error.kind === 'AccessDenied') ? 'kms:RetireGrant' : undefined,
  cause: settled.listError ?? settled.failures[0]?.error ?? kmsRefused,
});

/** `verified: true` only when every check passed; otherwise every reason is given. */
const judge = (base: Pick<DeletedRepositoryFields, 'repository' | 'encryption' | 'imageCount'>, outcome: Settlement): DeletedRepository => {
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

interface Deletion {
  /** ECR raised KmsException, yet the repository is gone. */
  readonly kmsRefused: KmsRefused | undefined;
  /** A repository of the same name found after the deletion: a newer incarnation. */
  readonly successor: Repository | undefined;
}

/**
 * Whether the repository is still there after DeleteRepository failed: DescribeRepositories, asked
 * again on the poll's pauses while it fails for a passing reason. `'unknown'` when it cannot tell.
 */
const recheck = (ctx: RegistryContext, incarnation: Incarnation): ResultAsync<'same' | 'gone' | Repository | 'unknown', never> =>
  pollUntil(
    ctx,
    () => findRepository(ctx, incarnation.name).map((now): 'same' | 'gone' | Repository => (now === undefined ? 'gone' : isSameIncarnation(now, incarnation) ? 'same' : now)),
    () => true,
    { tolerate: isRetryable },
  )
    .map(({ value }) => value)
    .orElse((e) => {
      ctx.logger.warn('could not check whether the repository was deleted', { repositoryName: incarnation.name, error: e.kind });
      return okAsync<'unknown', never>('unknown');
    });

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
