/**
 * Step 1, `freeze`: claim the repository with a Deny statement in its policy (last writer wins,
 * read back twice), then pause its lifecycle policy, its text kept in the journal first.
 */
import { err, errAsync, ok, okAsync, type ResultAsync, safeTry } from 'neverthrow';
import type { MigrationInProgress, RegistryError } from '../../errors.js';
import { pollUntil } from '../../internal/wait.js';
import { deleteLifecyclePolicy } from '../../steps/ecr-migration.js';
import { getLifecyclePolicy, getRepositoryPolicy, setRepositoryPolicy } from '../../steps/ecr-repository.js';
import { claimOf } from '../../policy/index.js';
import { frozenPolicyOf, invalid, type MigrationRun, type StepResult } from './run.js';

/**
 * 1. Deny pushes, deletes and settings changes to everyone else (the original policy is in the
 * journal), then pause the lifecycle policy. ECR's own expiry is no principal: the freeze does
 * not stop it, and it could expire an image after the snapshot (the copy would then fail on
 * every resume) or, counting by push time, expire copies. Its text, read again now that nobody
 * else can change it, is saved in the journal before it is deleted; `restoreSettings` puts it
 * back last. Repeatable: a policy already deleted is not found, and the journal keeps its text.
 */
export const freeze = (run: MigrationRun): StepResult => {
  const s = run.state;
  const name = s.repositoryName;
  const ctx = run.ctx;
  return safeTry(async function* () {
    yield* claim(run);
    const live = yield* run.retrying('GetLifecyclePolicy', () => getLifecyclePolicy(ctx, name));
    if (live === undefined) {
      // None, or deleted by this step before a crash: then the journal holds its text already.
      if (s.original.settings.lifecyclePolicy !== undefined && s.lifecyclePausedAt === undefined) {
        s.lifecyclePausedAt = ctx.now().toISOString();
        yield* run.save();
      }
      return ok(undefined);
    }
    if (live !== s.original.settings.lifecyclePolicy) {
      // Changed between the first read and the freeze: what is live now is what to restore.
      ctx.logger.warn('the lifecycle policy changed before the freeze: the journal records the current one', { migrationId: s.migrationId });
      s.original.settings = { ...s.original.settings, lifecyclePolicy: live };
    }
    // Never delete what the journal does not hold durably.
    yield* run.save();
    yield* run.retrying('DeleteLifecyclePolicy', () => deleteLifecyclePolicy(ctx, name));
    s.lifecyclePausedAt = ctx.now().toISOString();
    yield* run.save();
    return ok(undefined);
  });
};

/**
 * The freeze is also the claim on the repository. ECR has no conditional write, so the claim is
 * last-writer-wins: read the policy (another migration's freeze: stop, writing nothing); write
 * ours; read it back, wait, and read it back again; go on only while the statement is ours. Two
 * migrations that both passed the first check both write: the one whose write came last finds
 * its own statement both times, the other finds the winner's at one of its reads back and stops
 * with `MigrationInProgress`, never writing again (so never undoing the winner's freeze). The
 * wait covers a rival's write that was already on its way when we read back; nothing else
 * (lifecycle, staging) is touched before the claim is settled.
 */
const claim = (run: MigrationRun): StepResult => {
  const s = run.state;
  const name = s.repositoryName;
  const ctx = run.ctx;
  const inProgress = (other: string | undefined): MigrationInProgress => ({
    kind: 'MigrationInProgress',
    repositoryName: name,
    migrationId: other,
    foundIn: 'repositoryPolicy',
    journal: undefined,
  });
  const read = (): ResultAsync<string | undefined, RegistryError> => run.retrying('GetRepositoryPolicy', () => getRepositoryPolicy(ctx, name));
  return safeTry(async function* () {
    const current = yield* read();
    const before = claimOf(current, s.migrationId);
    if (typeof before === 'object') return err(inProgress(before.other));
    if (before === 'none' && current !== s.original.settings.repositoryPolicy) {
      // Changed between the first read and now (nobody can once frozen): what is live is what to restore.
      ctx.logger.warn('the repository policy changed before the freeze: the journal records the current one', { migrationId: s.migrationId });
      s.original.settings = { ...s.original.settings, repositoryPolicy: current };
      yield* run.save();
    }
    const policy = yield* frozenPolicyOf(run.state);
    const written = await run.retrying('SetRepositoryPolicy', () => setRepositoryPolicy(ctx, name, policy));
    if (written.isErr()) {
      // Refused, perhaps by a rival's freeze (it denies SetRepositoryPolicy to other principals).
      const now = await getRepositoryPolicy(ctx, name);
      const claim = now.isOk() ? claimOf(now.value, s.migrationId) : 'none';
      return err(typeof claim === 'object' ? inProgress(claim.other) : written.error);
    }
    // ASSUMED: AWS does not document read-after-write for repository policies; a read that does
    // not show our write yet is polled (within the poll bound) rather than taken as a removal.
    const readBack = (): ResultAsync<void, RegistryError> =>
      pollUntil(ctx, () => read().map((text) => claimOf(text, s.migrationId)), (claim) => claim !== 'none').andThen(
        ({ value: claim }): ResultAsync<void, RegistryError> => {
          if (typeof claim === 'object') return errAsync(inProgress(claim.other));
          if (claim === 'none') {
            return errAsync(invalid('repositoryPolicy', `the freeze statement on ${name} is not there right after it was set: someone else is changing the repository policy`));
          }
          return okAsync(undefined);
        },
      );
    yield* readBack();
    // Then once more, after a rival's write already on its way has had the time to land.
    await ctx.sleep(claimSettleMs(run));
    yield* readBack();
    return ok(undefined);
  });
};

/** How long a claim is left to settle before it is read back the second time. */
const claimSettleMs = (run: MigrationRun): number => {
  return Math.max(1, run.ctx.poll.initialDelayMs * 2);
};
