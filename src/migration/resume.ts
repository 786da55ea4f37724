/** `resumeMigration`: goes on with the migration a journal records, from its first unfinished step. */
import type { ResultAsync } from 'neverthrow';
import { err, errAsync, ok, okAsync, safeTry } from 'neverthrow';
import { type GenericAwsError, type InvalidInput, type JournalFailed, MIGRATION_STEPS, type RepositoryNotFound, type ResumeMigrationError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
// moves them to src/encryption/: adapt this import when it lands.
import { encryptionOfRepository, sameEncryption } from '../encryption/compare.js';
import { describeImages } from '../steps/ecr-images.js';
import { findRepository, getRepositoryPolicy } from '../steps/ecr-repository.js';
import { checkConcurrency, MigrationEngine, resultOf, runOptions } from './engine.js';
import { freezeOf } from '../policy/index.js';
import { guardJournal, type StateJournal } from './journal.js';
import { withJournalLock } from './lock.js';
import { describeEncryption } from './messages.js';
import type { JournalState } from './state.js';
import type { MigrationResult, ResumeMigrationInput } from './types.js';

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

/**
 * A journal that says the migration is over (every step done, or `completedAt`) is believed only
 * once the repositories say so too: the repository exists with the target encryption, is the
 * incarnation the migration created, carries no freeze statement and holds every image of the
 * snapshot; the staging repository is gone. Otherwise `JournalFailed`, and the journal is kept.
 */
const checkCompleted = (ctx: RegistryContext, s: JournalState, journal: StateJournal): ResultAsync<void, JournalFailed | GenericAwsError> =>
  safeTry(async function* () {
    const name = s.repositoryName;
    const problems: string[] = [];
    // Gone between two reads: the check answers on what it has.
    const orNone = <T>(call: ResultAsync<T, RepositoryNotFound | GenericAwsError>, none: T): ResultAsync<T, GenericAwsError> =>
      call.orElse((e) => (e.kind === 'RepositoryNotFound' ? okAsync(none) : errAsync(e)));
    const repository = yield* findRepository(ctx, name);
    if (repository === undefined) problems.push(`${name} does not exist`);
    else {
      const actual = encryptionOfRepository(repository);
      if (!sameEncryption(actual, s.to)) problems.push(`${name} has ${describeEncryption(actual)}, not ${describeEncryption(s.to)}`);
      if (s.final.createdAt !== undefined && repository.createdAt?.getTime() !== Date.parse(s.final.createdAt)) {
        problems.push(`${name} is not the repository the migration created (created ${repository.createdAt?.toISOString() ?? 'at an unknown time'})`);
      }
      if (freezeOf(yield* orNone(getRepositoryPolicy(ctx, name), undefined)) !== null) problems.push(`${name} still carries a migration freeze statement`);
      const present = new Set((yield* orNone(describeImages(ctx, name), [])).flatMap((d) => (d.imageDigest ? [d.imageDigest] : [])));
      const missing = (s.snapshot?.images ?? []).filter((i) => !present.has(i.digest)).map((i) => i.digest);
      if (s.snapshot === undefined) problems.push('the journal has no snapshot');
      else if (missing.length > 0) problems.push(`${name} lacks ${missing.length} image(s) of the snapshot (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
    }
    if ((yield* findRepository(ctx, s.stagingRepositoryName)) !== undefined) problems.push(`staging ${s.stagingRepositoryName} still exists`);
    if (problems.length === 0) return ok(undefined);
    return err<never, JournalFailed>({
      kind: 'JournalFailed',
      operation: 'load',
      journal: journal.description,
      reason: `the journal says migration ${s.migrationId} is complete, but ${problems.join('; ')}: it does not match the repositories and is kept`,
    });
  });

/**
 * Goes on with the migration a journal records, from its first unfinished step.
 *
 * @internal Use {@link EncryptedRegistry.resumeMigration}.
 */
export const resumeMigration = (ctx: RegistryContext, input: ResumeMigrationInput): ResultAsync<MigrationResult, ResumeMigrationError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const journal = (input as ResumeMigrationInput | undefined)?.journal;
  if (journal === undefined) return errAsync(invalid('journal', 'resumeMigration needs the journal of the migration to resume'));
  const badConcurrency = checkConcurrency(input.concurrency);
  if (badConcurrency) return errAsync(badConcurrency);
  const guarded = guardJournal(journal);
  const body = (): ResultAsync<MigrationResult, ResumeMigrationError> => safeTry(async function* () {
    const state = yield* guarded.load().mapErr((e): ResumeMigrationError => e);
    if (state === undefined) return err<never, ResumeMigrationError>(invalid('journal', `${guarded.description} holds no migration`));
    const region = yield* ctx.region();
    if (region !== state.region) {
      return err<never, ResumeMigrationError>(invalid('journal', `the migration runs in ${state.region}, but this registry's clients use ${region}`));
    }
    if (state.completedAt !== undefined || MIGRATION_STEPS.every((step) => state.steps[step]?.status === 'done')) {
      yield* checkCompleted(ctx, state, guarded).mapErr((e): ResumeMigrationError => e);
      yield* guarded.clear().mapErr((e): ResumeMigrationError => e);
      return ok<MigrationResult, never>(resultOf(state, true, guarded.description));
    }
    ctx.logger.info('migration resuming', { migrationId: state.migrationId, repositoryName: state.repositoryName, journal: guarded.description });
    const result = await new MigrationEngine(ctx, guarded, state, runOptions(input, true)).run();
    return result.mapErr((e): ResumeMigrationError => e);
  });
  return withJournalLock(ctx, guarded, body);
};
