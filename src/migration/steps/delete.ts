/**
 * Steps 6 and 11, `deleteOriginal` and `deleteStaging`: a repository goes only once its images
 * are verified elsewhere by this process; its leftover grants (of that incarnation only) are
 * retired, or named in a warning.
 */
import type { ImageDetail } from '@aws-sdk/client-ecr';
import { err, errAsync, ok, okAsync, safeTry } from 'neverthrow';
import type { CopyVerificationFailed, RegistryError, TagDifference } from '../../errors.js';
import type { Incarnation } from '../../grants/incarnation.js';
import { settleIncarnationGrants } from '../../grants/settle.js';
import { deleteRepository, type DeleteRepositoryOptions } from '../../operations/delete-repository.js';
// moves them to src/encryption/: adapt this import when it lands.
import { encryptionOfRepository, sameEncryption } from '../../encryption/compare.js';
import { describeImages } from '../../steps/ecr-images.js';
import { findRepository } from '../../steps/ecr-repository.js';
import type { EncryptionDescription } from '../../types.js';
import type { ImageGraph } from '../snapshot.js';
import { ensureVerified } from './copy.js';
import { type MigrationRun, snapshotOf, type StepResult } from './run.js';
import { checkStagingIsOurs } from './staging.js';

/**
 * The deleted incarnation's grants, settled by the one grant lifecycle (`settleIncarnationGrants`):
 * it waits while ECR retires them, retires only what is provably this incarnation's (never a
 * successor's), and lists again. A listing that failed for good fails the step (nothing could be
 * verified); grants still shown after the poll bound are named in a `grantsRemain` warning.
 */
const retireLeftoverGrants = (run: MigrationRun, keyArn: string, incarnation: Incarnation, label: string): StepResult =>
  settleIncarnationGrants(run.ctx, { keyArn, incarnation }).andThen((settled): StepResult => {
    if (settled.listError !== undefined) return errAsync(settled.listError);
    if (settled.remaining.length > 0) {
      const refused = settled.failures.filter((f) => settled.remaining.includes(f.grantId)).map((f) => f.error.kind);
      run.warn({
        code: 'grantsRemain',
        message:
          `${settled.remaining.length} grant(s) of the deleted ${label} still show on ${keyArn}` +
          (refused.length > 0 ? ` (${[...new Set(refused)].join(', ')})` : '') +
          ': check again with findOrphanedGrants, retire them with retireOrphanedGrants',
      });
    }
    return okAsync(undefined);
  });

/**
 * Deletes a repository that every image has been verified elsewhere for, and proves its grants
 * retired. Gone already (a crash after the deletion): its leftover grants are still checked.
 */
const deleteVerified = (
  run: MigrationRun,
  incarnation: Incarnation,
  encryption: EncryptionDescription,
  label: string,
  described?: DeleteRepositoryOptions['described'],
): StepResult => {
  const repositoryName = incarnation.name;
  const leftovers = (): StepResult => (encryption.keyArn === undefined ? okAsync(undefined) : retireLeftoverGrants(run, encryption.keyArn, incarnation, label));
  // The repository carries this migration's own freeze: deleteRepository refuses any other's. What
  // the step has just read of it (the same incarnation, checked) is not read again, on the first
  // attempt only: a retry reads everything again.
  let first = true;
  return run.retrying('DeleteRepository', () => {
    const known = first && described !== undefined ? { described } : {};
    first = false;
    return deleteRepository(run.ctx, { repositoryName, force: true }, { migrationId: run.state.migrationId, ...known });
  })
    .map((deleted) => {
      if (!deleted.verified) {
        run.warn({ code: 'grantsRemain', message: `${label} deleted, but its grants could not be verified: ${deleted.grantsUnverifiable.detail}` });
      }
    })
    .orElse((e): StepResult => {
      if (e.kind === 'RepositoryNotFound') return leftovers();
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
  const original: Incarnation = { name, arn: s.original.repositoryArn, createdAt: new Date(s.original.createdAt) };
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
      // Described and listed just now (the original incarnation, holding the snapshot's images only).
      return ok(yield* deleteVerified(run, original, s.from, `original ${name}`, { repository: current, imageCount: details.length, encryption: s.from }));
    }),
  );
};

const leftoversOfOriginal = (run: MigrationRun, successor: Date | undefined): StepResult => {
  const s = run.state;
  const keyArn = s.from.keyArn;
  if (keyArn === undefined) return okAsync(undefined);
  const original: Incarnation = { name: s.repositoryName, arn: s.original.repositoryArn, createdAt: new Date(s.original.createdAt), successorCreatedAt: successor };
  return retireLeftoverGrants(run, keyArn, original, `original ${s.repositoryName}`);
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
      // The incarnation createStaging recorded is ours (it created it, or checked its tags before
      // recording it); any other is checked by its tags.
      const recorded = current !== undefined && s.staging.createdAt !== undefined && current.createdAt?.getTime() === Date.parse(s.staging.createdAt);
      if (current !== undefined && !recorded) yield* checkStagingIsOurs(run, current);
      return ok(yield* deleteVerified(run, { name: staging, arn, createdAt }, s.to, `staging ${staging}`, current === undefined ? undefined : { repository: current, encryption: s.to }));
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
