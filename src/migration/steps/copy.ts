/**
 * Steps 4, 5, 8 and 9: `copyToStaging` and `copyBack` (every blob and manifest, by digest),
 * `verifyStaging` and `verifyFinal` (digest by digest against the snapshot).
 */
import { errAsync, okAsync } from 'neverthrow';
import type { JournalFailed, MigrationStep } from '../../errors.js';
import { copyImages } from '../copy.js';
import { verifyCopy } from '../verify.js';
import { type MigrationRun, recordFor, snapshotOf, type StepResult, type Verified } from './run.js';

/** 4 and 7. Every blob and manifest, by digest; what the target holds is skipped. */
export const copy = (run: MigrationRun, which: Verified): StepResult => {
  const s = run.state;
  const step: MigrationStep = which === 'staging' ? 'copyToStaging' : 'copyBack';
  const record = recordFor(run.state, which);
  const [source, target] = which === 'staging' ? [s.repositoryName, s.stagingRepositoryName] : [s.stagingRepositoryName, s.repositoryName];
  return snapshotOf(run.state).andThen((graph) =>
    copyImages<JournalFailed>(run.ctx, {
      source,
      target,
      graph,
      concurrency: run.options.concurrency,
      retry: run.options.retry,
      ...(run.options.signal ? { signal: run.options.signal } : {}),
      done: { blobs: record.blobs, manifests: record.manifests },
      onProgress: (progress) => run.emit(step, 'running', progress),
      onBlobCopied: ({ digest }) => {
        if (!record.blobs.includes(digest)) record.blobs.push(digest);
        return run.saveProgress();
      },
      onManifestCopied: ({ digest }) => {
        if (!record.manifests.includes(digest)) record.manifests.push(digest);
        return run.saveProgress();
      },
    }).map(() => undefined),
  );
};

/** 5 and 8. Digest by digest against the snapshot; only this proves a copy to this process. */
export const verify = (run: MigrationRun, which: Verified): StepResult => {
  const s = run.state;
  const target = which === 'staging' ? s.stagingRepositoryName : s.repositoryName;
  return snapshotOf(run.state).andThen((graph) =>
    verifyCopy(run.ctx, { target, graph, retry: run.options.retry, ...(run.options.signal ? { signal: run.options.signal } : {}) }).map(() => {
      run.verified.add(which);
      recordFor(run.state, which).verifiedAt = run.ctx.now().toISOString();
    }),
  );
};

/**
 * A journal record of an earlier verification is not enough to delete: verify again here. If
 * the copy no longer verifies (someone deleted from it), copy again, checking every blob and
 * manifest rather than trusting the journal's progress, and verify once more.
 */
export const ensureVerified = (run: MigrationRun, which: Verified): StepResult => {
  if (run.verified.has(which)) return okAsync(undefined);
  return verify(run, which).orElse((e): StepResult => {
    if (e.kind !== 'CopyVerificationFailed') return errAsync(e);
    run.ctx.logger.warn('the copy no longer matches the snapshot: copying again', { migrationId: run.state.migrationId, target: e.repositoryName });
    const record = recordFor(run.state, which);
    record.blobs.length = 0;
    record.manifests.length = 0;
    return copy(run, which).andThen(() => verify(run, which));
  });
};
