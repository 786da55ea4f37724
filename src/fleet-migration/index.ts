/**
 * Fleet migration: `EncryptedRegistry.migrateRepositories`. Selects repositories of one account and
 * Region, plans them as one fleet, then migrates them `concurrency` at once through the
 * single-repository migration, recording the run in one fleet journal that `resume: true` goes on
 * with. The public types are re-exported by `src/index.ts`.
 */
import { dirname, resolve } from 'node:path';
import { err, errAsync, ok, ResultAsync, safeTry } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import type { InvalidInput, JournalFailed, MigrateRepositoriesError, RegistryError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { defaultJournalPath, lockFile } from '../migration/index.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { DEFAULT_FLEET_JOURNAL, FLEET_JOURNAL_FORMAT, FLEET_JOURNAL_VERSION, FleetJournal, type FleetState, loadFleetState } from './journal.js';
import { fleetPlanOf, planRepositories, selectRepositories } from './plan.js';
import { runFleet } from './run.js';
import type { MigrateRepositoriesInput, RepositoriesMigrationPlan, RepositoriesMigrationResult, RepositoryMigrationOutcome } from './types.js';
import { checkFilter } from './where.js';

export { parseRepositoryFilter } from './where.js';

const MAX_REPOSITORIES_AT_ONCE = 16;
const DEFAULT_REPOSITORIES_AT_ONCE = 4;

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

const integerIn = (value: number | undefined, field: string, max: number): InvalidInput | undefined =>
  value !== undefined && (!Number.isInteger(value) || value < 1 || value > max) ? invalid(field, `must be an integer from 1 to ${max}`) : undefined;

/** Bad input, before any AWS call; `undefined` when it is fine. */
const checkInput = (input: MigrateRepositoriesInput): RegistryError | undefined => {
  const bad = integerIn(input.concurrency, 'concurrency', MAX_REPOSITORIES_AT_ONCE) ?? integerIn(input.blobConcurrency, 'blobConcurrency', 64);
  if (bad !== undefined) return bad;
  if (input.journal !== undefined && input.journal.trim() === '') return invalid('journal', 'the fleet journal path is empty');
  if (input.resume === true) {
    if (input.planOnly === true) return invalid('planOnly', 'a resumed fleet migration has its plan already: planOnly and resume exclude each other');
    return input.where !== undefined || input.repositoryNames !== undefined || input.encryption !== undefined
      ? invalid('resume', 'a resumed fleet migration takes its repositories and target from its journal: leave out where, repositoryNames and encryption')
      : undefined;
  }
  if (input.encryption === undefined) return invalid('encryption', 'the target encryption is required (e.g. { type: "KMS", key: "alias/ecr" })');
  const encryption = parseEncryption(input.encryption);
  if (encryption.isErr()) return encryption.error;
  if (input.where === undefined && input.repositoryNames === undefined) {
    return invalid('where', 'select repositories with where (e.g. { encryptionTypes: ["AES256"] }; {} selects all) or repositoryNames');
  }
  for (const name of input.repositoryNames ?? []) {
    const checked = validateRepositoryName(name);
    if (checked.isErr()) return checked.error;
  }
  return input.where === undefined ? undefined : checkFilter(input.where);
};

const totalsOf = (outcomes: readonly RepositoryMigrationOutcome[]): RepositoriesMigrationResult['totals'] => ({
  migrated: outcomes.filter((o) => o.status === 'migrated').length,
  unchanged: outcomes.filter((o) => o.status === 'unchanged').length,
  failed: outcomes.filter((o) => o.status === 'failed').length,
  pending: outcomes.filter((o) => o.status === 'pending' || o.status === 'running').length,
});

const resultOf = (path: string, plan: RepositoriesMigrationPlan, resumed: boolean, planOnly: boolean, outcomes: RepositoryMigrationOutcome[]): RepositoriesMigrationResult => ({
  journal: path,
  resumed,
  planOnly,
  plan,
  repositories: outcomes,
  totals: totalsOf(outcomes),
});

/**
 * Runs `body` holding the fleet journal's lock (`<journal>.lock`, the design of a migration
 * journal's lock: `lockFile`), released however `body` ends. Held by another live process of
 * this host, or by any process of another host: `JournalFailed` (`operation: 'lock'`, `owner`),
 * before any AWS call. A lock left by a dead process of this host is taken over.
 */
const withFleetLock = <T>(
  ctx: RegistryContext,
  path: string,
  body: () => ResultAsync<T, MigrateRepositoriesError>,
): ResultAsync<T, MigrateRepositoriesError> =>
  new ResultAsync(
    (async () => {
      const lock = await lockFile(path, path);
      if (lock.isErr()) return err<never, JournalFailed>(lock.error);
      try {
        return await body();
      } finally {
        const released = await lock.value.release();
        if (released.isErr()) ctx.logger.warn('the fleet journal lock could not be released', { journal: path, reason: released.error.reason });
      }
    })(),
  );

/**
 * Migrates many repositories (see {@link EncryptedRegistry.migrateRepositories}).
 *
 * @internal Use `EncryptedRegistry.migrateRepositories`.
 */
export const migrateRepositories = (ctx: RegistryContext, input: MigrateRepositoriesInput): ResultAsync<RepositoriesMigrationResult, MigrateRepositoriesError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const bad = checkInput(input);
  if (bad !== undefined) return errAsync(bad as MigrateRepositoriesError);
  const path = resolve(input.journal ?? DEFAULT_FLEET_JOURNAL);
  const settings = {
    concurrency: input.concurrency ?? DEFAULT_REPOSITORIES_AT_ONCE,
    blobConcurrency: input.blobConcurrency,
    restoreArchived: input.restoreArchived === true,
    onProgress: input.onProgress,
    signal: input.signal,
  };

  // A plan only writes nothing: it takes no lock (and is not refused by a run in progress).
  const run = (): ResultAsync<RepositoriesMigrationResult, MigrateRepositoriesError> => safeTry(async function* () {
    const recorded = yield* loadFleetState(path);
    const region = yield* ctx.region();
    let state: FleetState;
    let known = new Map<string, RegistryError>();
    if (input.resume === true) {
      if (recorded === undefined) return err<never, MigrateRepositoriesError>(invalid('journal', `${path} records no fleet migration to resume`));
      if (recorded.region !== region) {
        return err<never, MigrateRepositoriesError>(invalid('journal', `the fleet migration runs in ${recorded.region}, but this registry's clients use ${region}`));
      }
      state = recorded;
    } else {
      if (recorded !== undefined && input.planOnly !== true) {
        return err<never, MigrateRepositoriesError>(
          invalid('journal', `${path} records an unfinished fleet migration (started ${recorded.startedAt}): resume it (resume: true) or give another journal`),
        );
      }
      // checkInput made sure of it.
      const encryption = input.encryption ?? 'AES256';
      const names = yield* selectRepositories(ctx, input);
      const { planned, errors } = yield* planRepositories(ctx, names, encryption, settings.restoreArchived, input.signal);
      const plan = fleetPlanOf(ctx, region, encryption, planned);
      const pending = planned.map((p) => ({ repositoryName: p.repositoryName, journal: defaultJournalPath(p.repositoryName, dirname(path)), status: 'pending' as const }));
      // A plan only, or an empty selection (nothing to do): no journal is written.
      if (input.planOnly === true || planned.length === 0) return ok(resultOf(path, plan, false, input.planOnly === true, pending));
      const now = ctx.now().toISOString();
      state = {
        format: FLEET_JOURNAL_FORMAT,
        version: FLEET_JOURNAL_VERSION,
        region,
        startedAt: now,
        updatedAt: now,
        encryption,
        restoreArchived: settings.restoreArchived,
        plan,
        // Already on the target: nothing to run. Not plannable (missing, unreadable): failed, with the plan's error.
        repositories: pending.map((entry, i) => {
          const p = planned[i];
          if (p?.nothingToDo === true) return { ...entry, status: 'unchanged' as const };
          return p?.error === undefined ? entry : { ...entry, status: 'failed' as const, error: p.error };
        }),
      };
      known = errors;
    }
    const fleet = new FleetJournal(path, state);
    // The fleet journal holds the run before any repository changes.
    yield* fleet.save(ctx.now());
    ctx.logger.info('fleet migration starting', { journal: path, repositories: state.repositories.length, resumed: input.resume === true });
    const outcomes = yield* runFleet(ctx, fleet, settings, known).mapErr((e) => e as MigrateRepositoriesError);
    const result = resultOf(path, state.plan, input.resume === true, false, outcomes);
    if (result.totals.failed === 0 && result.totals.pending === 0) yield* fleet.clear();
    return ok(result);
  });
  return input.planOnly === true ? run() : withFleetLock(ctx, path, run);
};
