/**
 * Steps 6 and 11, `deleteOriginal` and `deleteStaging`: a repository goes only once its images
 * are verified elsewhere by this process; its leftover grants (of that incarnation only) are
 * retired, or named in a warning.
 */
import type { ImageDetail } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { ResultAsync, err, errAsync, ok, okAsync, type Result, safeTry } from 'neverthrow';
import { type CopyVerificationFailed, isRetryable, type RegistryError, type TagDifference } from '../../errors.js';
import { backoffDelays } from '../../internal/poll.js';
import { deleteRepository } from '../../operations/delete-repository.js';
// moves them to src/encryption/: adapt this import when it lands.
import { encryptionOfRepository, sameEncryption } from '../../encryption/compare.js';
import { describeImages } from '../../steps/ecr-images.js';
import { findRepository } from '../../steps/ecr-repository.js';
import { GRANT_CLOCK_SKEW_MS, grantsOfIncarnation } from '../../grants/rules.js';
import { listAllGrants, retireGrant } from '../../steps/kms-grants.js';
import type { EncryptionDescription } from '../../types.js';
import type { ImageGraph } from '../snapshot.js';
import { ensureVerified } from './copy.js';
import { type MigrationRun, snapshotOf, type StepResult } from './run.js';
import { checkStagingIsOurs } from './staging.js';

/** Only grants of `incarnation` (created in its lifetime and before any successor) are retired. */
const retireLeftoverGrants = (run: MigrationRun, keyArn: string, repositoryArn: string, createdAt: Date, successorCreatedAt: Date | undefined, label: string): StepResult => {
  const ours = (grants: GrantListEntry[]): GrantListEntry[] =>
    grantsOfIncarnation(grants, repositoryArn, createdAt).filter(
      (g) => successorCreatedAt === undefined || (g.CreationDate !== undefined && g.CreationDate.getTime() < successorCreatedAt.getTime() - GRANT_CLOCK_SKEW_MS),
    );
  const list = (): ResultAsync<GrantListEntry[], RegistryError> =>
    listAllGrants(run.ctx, keyArn)
      .map(ours)
      .orElse((e) => (e.kind === 'KeyNotFound' ? okAsync<GrantListEntry[], never>([]) : errAsync(e)));
  const retire = async (): Promise<Result<void, RegistryError>> => {
    let left = await list();
    for (const delay of [0, ...backoffDelays(run.ctx.poll)]) {
      if (left.isErr()) return err(left.error);
      if (left.value.length === 0) return ok(undefined);
      if (delay > 0) await run.ctx.sleep(delay);
      for (const grant of left.value) {
        const retired = await retireGrant(run.ctx, keyArn, grant.GrantId ?? '');
        if (retired.isErr() && !isRetryable(retired.error)) {
          run.warn({
            code: 'grantsRemain',
            message: `grants of the deleted ${label} remain on ${keyArn} (${retired.error.kind}): retire them with retireOrphanedGrants`,
          });
          return ok(undefined);
        }
      }
      left = await list();
    }
    if (left.isOk() && left.value.length > 0) {
      run.warn({ code: 'grantsRemain', message: `grants of the deleted ${label} still show on ${keyArn}: check again with findOrphanedGrants` });
    }
    return left.map(() => undefined);
  };
  return new ResultAsync(retire());
};

/**
 * Deletes a repository that every image has been verified elsewhere for, and proves its grants
 * retired. Gone already (a crash after the deletion): its leftover grants are still checked.
 */
const deleteVerified = (run: MigrationRun, repositoryName: string, incarnation: { readonly arn: string; readonly createdAt: Date }, encryption: EncryptionDescription, label: string): StepResult => {
  const leftovers = (successor: Date | undefined): StepResult =>
    encryption.keyArn === undefined ? okAsync(undefined) : retireLeftoverGrants(run, encryption.keyArn, incarnation.arn, incarnation.createdAt, successor, label);
  // The repository carries this migration's own freeze: deleteRepository refuses any other's.
  return run.retrying('DeleteRepository', () => deleteRepository(run.ctx, { repositoryName, force: true }, { migrationId: run.state.migrationId }))
    .map((deleted) => {
      if (!deleted.verified) {
        run.warn({ code: 'grantsRemain', message: `${label} deleted, but its grants could not be verified: ${deleted.grantsUnverifiable.detail}` });
      }
    })
    .orElse((e): StepResult => {
      if (e.kind === 'RepositoryNotFound') return leftovers(undefined);
      if (e.kind === 'DeletedButGrantsRemain') {
        run.warn({
          code: 'grantsRemain',
          message: `${label} deleted, but ${e.grantIds.length} grant(s) remain on ${e.keyArn}${e.missingPermission ? ` (missing ${e.missingPermission})` : ''}: retire them with retireOrphanedGrants`,
        });
        return okAsync(undefined);
      }
      return errAsync(e);
    });
};

/** 6a. The original goes only once staging is verified here and holds every image the original holds. */
export const deleteOriginal = (run: MigrationRun): StepResult => {
  const s = run.state;
  const name = s.repositoryName;
  const original = { arn: s.original.repositoryArn, createdAt: new Date(s.original.createdAt) };
  return ensureVerified(run, 'staging').andThen(() =>
    safeTry(async function* () {
      if (!run.verified.has('staging')) throw new Error('bug: deleting the original before staging was verified in this process');
      const current = yield* findRepository(run.ctx, name);
      if (current === undefined) return ok(yield* leftoversOfOriginal(run, undefined));
      if (current.createdAt?.getTime() !== original.createdAt.getTime()) {
        // Someone recreated the name meanwhile: the original is gone; never delete theirs.
        const theirs = encryptionOfRepository(current);
        if (!sameEncryption(theirs, s.to)) {
          return err<never, RegistryError>({ kind: 'EncryptionMismatch', repositoryName: name, existing: theirs, requested: s.to, remedy: 'migrateRepository' });
        }
        return ok(yield* leftoversOfOriginal(run, current.createdAt));
      }
      // Frozen, but the migrating principal itself (any session of it) is let through: if the
      // original no longer matches the snapshot (an image pushed or removed, a tag moved, added
      // or removed), copying the snapshot back would silently revert that change: stop.
      const graph = yield* snapshotOf(run.state);
      const details = yield* run.retrying('DescribeImages', () => describeImages(run.ctx, name));
      const changed = changesSinceSnapshot(graph, details, name);
      if (changed !== undefined) return err<never, RegistryError>(changed);
      return ok(yield* deleteVerified(run, name, original, s.from, `original ${name}`));
    }),
  );
};

const leftoversOfOriginal = (run: MigrationRun, successor: Date | undefined): StepResult => {
  const s = run.state;
  const keyArn = s.from.keyArn;
  if (keyArn === undefined) return okAsync(undefined);
  return retireLeftoverGrants(run, keyArn, s.original.repositoryArn, new Date(s.original.createdAt), successor, `original ${s.repositoryName}`);
};

/** 8. The staging repository goes only once the final repository is verified here. */
export const deleteStaging = (run: MigrationRun): StepResult => {
  const s = run.state;
  const staging = s.stagingRepositoryName;
  return ensureVerified(run, 'final').andThen(() =>
    safeTry(async function* () {
      if (!run.verified.has('final')) throw new Error('bug: deleting staging before the final repository was verified in this process');
      const current = yield* findRepository(run.ctx, staging);
      const createdAt = current?.createdAt ?? (s.staging.createdAt !== undefined ? new Date(s.staging.createdAt) : undefined);
      const arn = current?.repositoryArn ?? s.staging.repositoryArn;
      if (createdAt === undefined || arn === undefined) return ok(undefined);
      if (current !== undefined) yield* checkStagingIsOurs(run, current);
      return ok(yield* deleteVerified(run, staging, { arn, createdAt }, s.to, `staging ${staging}`));
    }),
  );
};

/**
 * How a repository differs from the snapshot taken of it: images pushed since (by digest, with
 * failure code `PushedAfterSnapshot`), images removed since (`RemovedAfterSnapshot`), and tags
 * moved, removed or added (`tagMismatches`, `expected` from the snapshot, `actual` now).
 */
const changesSinceSnapshot = (graph: ImageGraph, details: readonly ImageDetail[], repositoryName: string): CopyVerificationFailed | undefined => {
  const known = new Set(graph.images.map((i) => i.digest));
  const present = new Set(details.flatMap((d) => (d.imageDigest ? [d.imageDigest] : [])));
  const pushed = [...present].filter((digest) => !known.has(digest));
  const removed = [...known].filter((digest) => !present.has(digest));
  const tagsThen = new Map(graph.images.flatMap((i) => i.tags.map((tag) => [tag, i.digest] as const)));
  const tagsNow = new Map(details.flatMap((d) => (d.imageDigest ? (d.imageTags ?? []).map((tag) => [tag, d.imageDigest ?? ''] as const) : [])));
  const tagMismatches: TagDifference[] = [];
  for (const [tag, expected] of tagsThen) {
    const actual = tagsNow.get(tag);
    if (actual !== expected) tagMismatches.push({ tag, expected, actual });
  }
  for (const [tag, actual] of tagsNow) if (!tagsThen.has(tag)) tagMismatches.push({ tag, expected: undefined, actual });
  if (pushed.length + removed.length + tagMismatches.length === 0) return undefined;
  return {
    kind: 'CopyVerificationFailed',
    repositoryName,
    missingImages: [
      ...pushed.map((imageDigest) => ({ imageDigest, failureCode: 'PushedAfterSnapshot' })),
      ...removed.map((imageDigest) => ({ imageDigest, failureCode: 'RemovedAfterSnapshot' })),
    ],
    manifestMismatches: [],
    tagMismatches,
    missingBlobs: [],
    notCopied: [],
  };
};
