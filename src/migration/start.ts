/**
 * `migrateRepository`: checks everything first (nothing is changed when a check fails), records
 * the migration in its journal, then runs the steps (`./engine.ts`).
 */
import { randomBytes } from 'node:crypto';
import { type ResultAsync, err, errAsync, ok, safeTry } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import type { ImagesArchived, MigrateRepositoryError, RegistryError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { aborted, pollUntil } from '../internal/wait.js';
import { encryptionOfRepository, sameEncryption } from '../encryption/compare.js';
import { preflightReplacement } from '../preflight/index.js';
import { describeImages } from '../steps/ecr-images.js';
import { restoreImage } from '../steps/ecr-migration.js';
import { describeRepository } from '../steps/ecr-repository.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { checkConcurrency, MigrationEngine, runOptions } from './engine.js';
import { defaultJournalPath, fileJournal } from './file-journal.js';
import { exemptPrincipalsOf, freezeOf } from '../policy/index.js';
import { guardJournal } from './journal.js';
import { withJournalLock } from './lock.js';
import { describeEncryption } from './messages.js';
import { preflightInputOf, readSettings } from './settings.js';
import { describeReplicationRules } from '../steps/ecr-migration.js';
import { chooseStagingName } from './replication.js';
import { stagingNameOf } from './staging-name.js';
import { JOURNAL_FORMAT, JOURNAL_VERSION, type JournalState } from './state.js';
import type { MigrateRepositoryInput, MigrationResult, MigrationWarning } from './types.js';
import { graphWarnings, registryWarnings } from './warnings.js';


/** The warnings known before the snapshot (the settings ones). */
const graphWarningsWithoutGraph = (settings: JournalState['original']['settings']): MigrationWarning[] =>
  graphWarnings(
    { repositoryName: '', takenAt: '', images: [], archived: [], blobs: [], externalBlobs: [], totalBytes: 0, blobsOfUnknownSize: 0, danglingReferences: [], mediaTypes: [] },
    settings,
    false,
  );

/**
 * Waits, within the poll bound, until no image is archived or being restored; restores archived
 * ones first. Answers the images still not `ACTIVE`.
 */
const restoreArchived = (ctx: RegistryContext, repositoryName: string, signal: AbortSignal | undefined): ResultAsync<ImagesArchived | undefined, RegistryError> => {
  const pending = (): ResultAsync<ImagesArchived['images'][number][], RegistryError> =>
    describeImages(ctx, repositoryName, { signal }).map((details) =>
      details
        .filter((d) => d.imageDigest !== undefined && d.imageStatus !== undefined && d.imageStatus !== 'ACTIVE')
        .map((d) => ({ imageDigest: d.imageDigest ?? '', imageTags: d.imageTags ?? [], status: d.imageStatus === 'ARCHIVED' ? ('ARCHIVED' as const) : ('ACTIVATING' as const) })),
    );
  return safeTry(async function* () {
    const first = yield* pending();
    if (first.length === 0) return ok(undefined);
    for (const image of first.filter((i) => i.status === 'ARCHIVED')) yield* restoreImage(ctx, repositoryName, image.imageDigest);
    // Restoring takes a while: poll (within the poll bound) until every image is ACTIVE.
    const { value: left, done } = yield* pollUntil(ctx, pending, (images) => images.length === 0, { signal });
    if (!done && signal?.aborted === true) return err(aborted('MigrateRepository'));
    return ok(done ? undefined : { kind: 'ImagesArchived' as const, repositoryName, images: left });
  });
};

/**
 * Starts a migration: checks everything first (nothing is changed when a check fails), then runs
 * the steps, recording each in the journal.
 *
 * @internal Use {@link EncryptedRegistry.migrateRepository}.
 */
export const migrateRepository = (ctx: RegistryContext, input: MigrateRepositoryInput): ResultAsync<MigrationResult, MigrateRepositoryError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const name = validateRepositoryName((input as MigrateRepositoryInput | undefined)?.repositoryName);
  if (name.isErr()) return errAsync(name.error);
  const parsed = parseEncryption(input.encryption);
  if (parsed.isErr()) return errAsync(parsed.error);
  const badConcurrency = checkConcurrency(input.concurrency);
  if (badConcurrency) return errAsync(badConcurrency);
  const repositoryName = name.value;
  const journal = guardJournal(input.journal ?? fileJournal(defaultJournalPath(repositoryName)));

  const body = (): ResultAsync<MigrationResult, MigrateRepositoryError> => safeTry(async function* () {
    const recorded = yield* journal.load().mapErr((e): MigrateRepositoryError => e);
    if (recorded !== undefined && recorded.completedAt === undefined) {
      return err<never, MigrateRepositoryError>({
        kind: 'MigrationInProgress',
        repositoryName: recorded.repositoryName,
        migrationId: recorded.migrationId,
        foundIn: 'journal',
        journal: journal.description,
      });
    }
    const region = yield* ctx.region();
    const repository = yield* describeRepository(ctx, repositoryName);
    const settings = yield* readSettings(ctx, repository, repositoryName);
    const frozen = freezeOf(settings.repositoryPolicy);
    if (frozen !== null) {
      return err<never, MigrateRepositoryError>({
        kind: 'MigrationInProgress',
        repositoryName,
        migrationId: frozen.migrationId,
        foundIn: 'repositoryPolicy',
        journal: undefined,
      });
    }

    // The target, checked exactly as a creation checks it (key, region, permissions).
    // The repository was described just above: the preflight does not describe it again.
    const report = yield* preflightReplacement(ctx, preflightInputOf(repositoryName, input.encryption, settings), { repository });
    if (!report.ok) return err<never, MigrateRepositoryError>(report.blocking[0].error);
    const { encryption: to, callerArn, account } = report.facts;
    const from = encryptionOfRepository(repository);
    const repositoryArn = repository.repositoryArn ?? '';
    if (sameEncryption(from, to)) {
      return ok<MigrationResult, never>({
        migrationId: '',
        changed: false,
        resumed: false,
        repository: { name: repositoryName, arn: repositoryArn },
        stagingRepositoryName: undefined,
        from,
        to,
        counts: { images: 0, tags: 0, blobs: 0, bytes: 0 },
        warnings: [{ code: 'sameEncryption', message: `${repositoryName} already has ${describeEncryption(to)}: nothing to do` }],
        steps: {},
        journal: journal.description,
      });
    }

    // Archived images cannot be copied: restore them (when asked), or stop before changing anything.
    const stillArchived = input.restoreArchived === true
      ? yield* restoreArchived(ctx, repositoryName, input.signal).mapErr((e) => e as MigrateRepositoryError)
      : yield* describeImages(ctx, repositoryName, { signal: input.signal }).map((details): ImagesArchived | undefined => {
          const archived = details.filter((d) => d.imageStatus !== undefined && d.imageStatus !== 'ACTIVE');
          return archived.length === 0
            ? undefined
            : {
                kind: 'ImagesArchived',
                repositoryName,
                images: archived.map((d) => ({ imageDigest: d.imageDigest ?? '', imageTags: d.imageTags ?? [], status: d.imageStatus === 'ARCHIVED' ? 'ARCHIVED' : 'ACTIVATING' })),
              };
        });
    if (stillArchived !== undefined) return err<never, MigrateRepositoryError>(stillArchived);
    if (input.signal?.aborted) return err<never, MigrateRepositoryError>(aborted('MigrateRepository'));

    const migrationId = randomBytes(6).toString('hex');
    // A staging name no replication rule covers, so that no copy of it appears in a destination.
    const rules = describeReplicationRules(ctx);
    const stagingName = (await rules).match((r) => chooseStagingName(repositoryName, migrationId, r).name, () => stagingNameOf(repositoryName, migrationId));
    const warnings = yield* registryWarnings(ctx, repositoryName, migrationId, { name: stagingName, rules });
    const now = ctx.now().toISOString();
    const state: JournalState = {
      format: JOURNAL_FORMAT,
      version: JOURNAL_VERSION,
      migrationId,
      region,
      account,
      repositoryName,
      stagingRepositoryName: stagingName,
      startedAt: now,
      updatedAt: now,
      from,
      to,
      exemptPrincipals: exemptPrincipalsOf(callerArn, report.facts.roleArn),
      original: {
        repositoryArn,
        createdAt: (repository.createdAt ?? new Date(0)).toISOString(),
        settings,
      },
      steps: {},
      staging: { blobs: [], manifests: [] },
      final: { blobs: [], manifests: [] },
      warnings: [...graphWarningsWithoutGraph(settings), ...warnings],
    };
    // The journal must hold the migration before anything changes: a journal that cannot be
    // written fails here, with nothing to resume.
    yield* journal.save(state).mapErr((e): MigrateRepositoryError => e);
    ctx.logger.info('migration starting', { migrationId, repositoryName, from, to, journal: journal.description });
    // The target as this preflight established it: the run's creations do not check the key again.
    const established = { region, account, callerArn, encryption: to };
    const result = await new MigrationEngine(ctx, journal, state, runOptions(input, false, established)).run();
    if (result.isErr() && result.error.kind === 'MigrationInProgress') {
      // Lost the claim: nothing of this migration remains on the repository; neither may its journal.
      const cleared = await journal.clear();
      if (cleared.isErr()) ctx.logger.warn('the journal of a migration that lost its claim could not be cleared', { migrationId, journal: journal.description, reason: cleared.error.reason });
    }
    return result.mapErr((e): MigrateRepositoryError => e);
  });
  return withJournalLock(ctx, journal, body).mapErr((e) => e);
};
