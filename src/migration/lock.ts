/** Holding a journal's lock for the whole of a start or a resume. */
import { ResultAsync, err, type Result } from 'neverthrow';
import type { JournalFailed, JournalLockOwner, MigrationInProgress } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import type { StateJournal } from './journal.js';
import type { JournalState } from './state.js';

/**
 * Runs `body` holding the journal's lock (when the journal has one), and releases it however
 * `body` ends. A lock held by another process is `MigrationInProgress` naming it.
 */
export const withJournalLock = <T, E>(
  ctx: RegistryContext,
  journal: StateJournal,
  body: () => ResultAsync<T, E>,
): ResultAsync<T, E | JournalFailed | MigrationInProgress> => {
  const run = async (): Promise<Result<T, E | JournalFailed | MigrationInProgress>> => {
    if (journal.lock === undefined) return body();
    const lock = await journal.lock();
    if (lock.isErr()) {
      const owner = lock.error.owner;
      if (owner === undefined) return err(lock.error);
      // Reading is safe while another process writes (writes are atomic): name what it runs.
      const recorded = await journal.load();
      if (recorded.isErr() || recorded.value === undefined) return err(lock.error);
      return err(lockedBy(recorded.value, journal, owner));
    }
    try {
      return await body();
    } finally {
      const released = await lock.value.release();
      if (released.isErr()) ctx.logger.warn('the journal lock could not be released', { journal: journal.description, reason: released.error.reason });
    }
  };
  return new ResultAsync(run());
};

const lockedBy = (state: JournalState, journal: StateJournal, owner: JournalLockOwner): MigrationInProgress => ({
  kind: 'MigrationInProgress',
  repositoryName: state.repositoryName,
  migrationId: state.migrationId,
  foundIn: 'journalLock',
  journal: journal.description,
  owner,
});
