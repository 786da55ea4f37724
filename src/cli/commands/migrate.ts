/**
 * `migrate <repository>` (with `--plan`) and `migrate resume`: thin over `planMigration`,
 * `migrateRepository` and `resumeMigration`. Ctrl-C stops the migration between AWS calls through
 * its `AbortSignal`; the journal keeps where it stopped, and the CLI says how to resume.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ResultAsync } from 'neverthrow';
import type { EncryptionDescription, MigrateRepositoryError, MigrationPlan, MigrationProgress, MigrationResult, MigrationWarning } from '../../index.js';
import { type AwsOptions, fail, finish, isFailure, type Run, withAwsOptions, withGrantWait, withProgressOption, withRegistry } from '../context.js';
import { blockingExitCode, EXIT } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import { loadLibrary } from '../library.js';
import { createMigrationDisplay } from '../migration-progress.js';
import { type CliFailure, type CliIo, renderFields } from '../output.js';
import { confirm } from '../terminal.js';
import { encryptionFromFlags } from './repository.js';
import { collectWhere, type FleetOptions, migrateAll, resumeFleet } from './migrate-all.js';

interface MigrateOptions extends AwsOptions, FleetOptions {
  readonly all?: boolean;
  readonly kmsKey?: string;
  readonly encryption?: string;
  readonly plan?: boolean;
  readonly journal?: string;
  readonly concurrency?: string;
  readonly restoreArchived?: boolean;
  readonly yes?: boolean;
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const encryptionText = (e: EncryptionDescription | undefined): string | undefined =>
  e === undefined ? undefined : e.keyArn === undefined ? e.type : `${e.type} ${e.keyArn}${e.awsManagedKey ? ' (aws/ecr)' : ''}`;

/** What a migration that changes nothing says (as Terraform's "No changes."), and nothing else. */
const noChanges = (repositoryName: string, encryption: EncryptionDescription | undefined): string =>
  `No changes. ${repositoryName} already has ${encryptionText(encryption) ?? 'this encryption'}: there is nothing to migrate.`;

/**
 * The plan's exit code is the one `migrate` would exit with: a blocking preflight finding's (a
 * disabled key 6, a missing permission 5: `migrate` returns that very error, as `preflight` and
 * `create` do), else 0 when it would go ahead or change nothing, else 4 (archived images).
 */
const planExit = (plan: MigrationPlan): number =>
  blockingExitCode(plan.preflight.findings) ?? (plan.ready || plan.nothingToDo ? EXIT.ok : EXIT.conflict);

const planDetails = (plan: MigrationPlan): string =>
  [
    renderFields([
      ['repository', plan.repositoryName],
      ['from', encryptionText(plan.from)],
      ['to', encryptionText(plan.to)],
      ['images', `${plan.counts.images} (${plan.counts.tagged} tagged, ${plan.counts.untagged} untagged, ${plan.counts.archived} archived)`],
      ['tags', plan.counts.tags],
      ['blobs', `${plan.blobs.count} (${mib(plan.blobs.totalBytes)})`],
      ['estimated API calls', plan.estimatedApiCalls.total],
      ['ready', plan.nothingToDo ? 'nothing to do: it already has this encryption' : plan.ready ? 'yes: migrate would go ahead' : 'no: see the blockers'],
    ]),
    ...plan.blockers.map((b) => `blocker: ${b}`),
    ...plan.warnings.map((w) => `warning: ${w.code}: ${w.message}`),
  ].join('\n');

/** The result; warnings the progress display printed while the migration ran are not repeated. */
const resultDetails = (r: MigrationResult, shown: (w: MigrationWarning) => boolean = () => false): string =>
  [
    renderFields([
      ['repository', r.repository.name],
      ['status', r.changed ? (r.resumed ? 'migrated (resumed)' : 'migrated') : 'unchanged: it already had this encryption'],
      ['from', encryptionText(r.from)],
      ['to', encryptionText(r.to)],
      ['images', r.counts.images],
      ['tags', r.counts.tags],
      ['blobs', `${r.counts.blobs} (${mib(r.counts.bytes)})`],
    ]),
    ...r.warnings.filter((w) => !shown(w)).map((w) => `warning: ${w.code}: ${w.message}`),
  ].join('\n');

/** A plan that changes nothing (and nothing blocks) is "No changes.": no estimate of API calls, no warnings. */
const planTable = (plan: MigrationPlan): string =>
  plan.nothingToDo && plan.blockers.length === 0 ? noChanges(plan.repositoryName, plan.to) : planDetails(plan);

const resultTable = (r: MigrationResult, shown: (w: MigrationWarning) => boolean = () => false): string =>
  r.changed ? resultDetails(r, shown) : noChanges(r.repository.name, r.to);

/**
 * Runs a migration with Ctrl-C wired to its AbortSignal: the first Ctrl-C stops it after the call
 * in flight (the library answers `MigrationFailed` caused by `Aborted`, or `Aborted` before any
 * change: exit 130, with how to resume); a second Ctrl-C exits at once.
 */
const runMigration = async (
  run: Run,
  journalPath: string,
  start: (signal: AbortSignal, onProgress: (p: MigrationProgress) => void) => ResultAsync<MigrationResult, MigrateRepositoryError>,
): Promise<number> => {
  const controller = new AbortController();
  const display = createMigrationDisplay(run.io, run.progress.enabled);
  const release = onInterrupt(() => {
    display.log(`encrypted-ecr: stopping the migration after the call in flight; the journal ${journalPath} keeps where it is (Ctrl-C again exits at once)`);
    controller.abort();
  });
  try {
    const outcome = start(controller.signal, display.onProgress)
      .map((result) => {
        display.end(result);
        return result;
      })
      .mapErr((error) => {
        display.stop();
        return error;
      });
    // Under --output table the result follows the summary line, without the warnings shown above it.
    return await finish(run, outcome, (result) => resultTable(result, run.io.stdoutIsTty ? display.shown : undefined));
  } finally {
    release();
  }
};

/** The journals `migrate` writes by default (`.encrypted-ecr-migration-<name>.json`, older `.migration-journal-<name>.json`) in a directory. */
const journalsIn = (directory: string): string[] => {
  try {
    return readdirSync(directory).filter((name) => /^\.(?:encrypted-ecr-migration|migration-journal)-.+\.json$/.test(name));
  } catch {
    return [];
  }
};

/**
 * `JournalNotFound` when no file is at the journal path (the library would read a missing file as a
 * journal that records no migration), naming the journals beside it; `undefined` otherwise (an
 * unreadable one is the library's `JournalFailed`).
 */
const missingJournal = (path: string): CliFailure | undefined => {
  try {
    statSync(path);
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return undefined;
  }
  const beside = journalsIn(dirname(path)).filter((name) => name !== basename(path));
  return {
    kind: 'JournalNotFound',
    message:
      `no journal at ${path}` +
      (beside.length > 0 ? `; journals in ${dirname(path)}: ${beside.join(', ')}` : '') +
      ' (migrate <repository> writes .encrypted-ecr-migration-<name>.json in the directory it ran in, or where --journal said)',
  };
};

const concurrencyOf = (options: MigrateOptions): { concurrency?: number } =>
  options.concurrency === undefined ? {} : { concurrency: Number(options.concurrency) };

/** Registers `migrate` and `migrate resume`. */
export const registerMigrateCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  /** The options of a migration, on `migrate <repository>` and on its alias `migrate start <repository>`. */
  const withStartOptions = (command: Command): Command =>
    withProgressOption(withGrantWait(
      withAwsOptions(
        command
          .argument('[repository]', 'repository name (or --all with --where)')
          .option('--kms-key <key>', 'target KMS key: key id, key ARN, alias name or alias ARN')
          .option('--encryption <type>', 'target AES256, KMS or KMS_DSSE, any case (default KMS with --kms-key; required without it)')
          .option('--plan', 'show what would be migrated and the checks, change nothing')
          .option('--journal <file>', 'where to record the migration (default ./.encrypted-ecr-migration-<name, / as %2F>.json)')
          .option('--concurrency <n>', 'blobs copied at once, 1-64 (default 4)')
          .option('--restore-archived', 'restore archived images first (they block the migration otherwise)')
          .option('-y, --yes', 'do not ask for confirmation (required off a terminal)')
          .option('--all', 'migrate every repository --where selects (one fleet plan, one fleet journal)')
          .option('--where <expr>', 'with --all, repeatable, all must hold: encryption=AES256[,KMS], encryption!=…, key=<key>[,…], key!=<key>[,…] (key ARN, alias/<name>, alias ARN or key id), name=<glob>', collectWhere)
          .option('--fleet-journal <file>', 'with --all: the fleet journal (default ./.encrypted-ecr-fleet-migration.json; each repository journals beside it)')
          .option('--parallel <n>', 'with --all: repositories migrated at once, 1-16 (default 4)'),
      ),
    ));

  /** `--all` and a repository name exclude each other; the fleet options need `--all`. */
  const usageOf = (name: string | undefined, options: MigrateOptions): string | undefined => {
    if (options.all === true && name !== undefined) return `--all migrates the repositories --where selects: leave out the repository name (${name})`;
    if (options.all === true && (options.where ?? []).length === 0) return '--all needs at least one --where (--where name=* selects every repository)';
    if (options.all !== true && name === undefined) return 'name the repository to migrate, or use --all with --where';
    const fleetOnly = [options.where !== undefined && '--where', options.fleetJournal !== undefined && '--fleet-journal', options.parallel !== undefined && '--parallel'].filter(Boolean);
    if (options.all !== true && fleetOnly.length > 0) return `${fleetOnly.join(', ')} go with --all`;
    if (options.all === true && options.journal !== undefined) return '--journal names one repository\'s journal: with --all use --fleet-journal';
    return undefined;
  };

  const start = async (name: string | undefined, options: MigrateOptions): Promise<void> => {
    setExit(
      await withRegistry(io, options, async (run, registry) => {
        const usage = usageOf(name, options);
        if (usage !== undefined) return fail(run, { kind: 'UsageError', message: usage });
        const encryption = encryptionFromFlags(options);
        if (isFailure(encryption)) return fail(run, encryption);
        if (options.all === true || name === undefined) return migrateAll(run, registry, encryption, options);
        const restoreArchived = options.restoreArchived === true;
        if (options.plan === true) {
          return finish(run, registry.planMigration({ repositoryName: name, encryption, restoreArchived }), planTable, planExit);
        }
        const { defaultJournalPath, fileJournal } = await loadLibrary();
        const journalPath = resolve(options.journal ?? defaultJournalPath(name));
        const confirmed = await confirm(
          io,
          `Migrate ${name} (it is recreated under the same name; pushes are refused until it is done)?`,
          options.yes === true,
        );
        if (confirmed !== true) return fail(run, confirmed);
        return runMigration(run, journalPath, (signal, onProgress) =>
          registry.migrateRepository({
            repositoryName: name,
            encryption,
            journal: fileJournal(journalPath),
            restoreArchived,
            signal,
            onProgress,
            ...concurrencyOf(options),
          }),
        );
      }),
    );
  };

  // `migrate <repository>` takes the migration's options itself, so `migrate --help` shows them.
  // Its options are positional (as the program's): `migrate resume --journal j` leaves --journal to `resume`.
  const migrate = withStartOptions(
    program
      .command('migrate')
      .description(
        "change a repository's encryption by recreating it under the same name, losing no image (journaled, resumable); " +
          'plan it first with --plan. A repository named resume or start: encrypted-ecr migrate start <repository>',
      )
      .enablePositionalOptions(),
  ).action(start);

  // The older spelling, kept working: `migrate start <repository> ...` (hidden from the command list).
  withStartOptions(
    migrate.command('start', { hidden: true }).description('the same as encrypted-ecr migrate <repository>: plan (--plan) or run a migration'),
  ).action(start);

  withProgressOption(withGrantWait(
    withAwsOptions(
      migrate
        .command('resume')
        .description('go on with an interrupted migration from its journal (as the principal that started it)')
        .option('--journal <file>', 'the journal of the interrupted migration (this or --fleet-journal is required)')
        .option('--fleet-journal <file>', 'the fleet journal of an interrupted migrate --all (instead of --journal)')
        .option('--parallel <n>', 'with --fleet-journal: repositories migrated at once, 1-16 (default 4)')
        .option('--concurrency <n>', 'blobs copied at once, 1-64 (default 4)')
        .option('-y, --yes', 'do not ask for confirmation (required off a terminal)'),
    ),
  )).action(async (options: MigrateOptions) => {
    setExit(
      await withRegistry(io, options, async (run, registry) => {
        if ((options.journal === undefined) === (options.fleetJournal === undefined)) {
          return fail(run, { kind: 'UsageError', message: 'migrate resume needs --journal <file> (one repository) or --fleet-journal <file> (migrate --all), one of them' });
        }
        if (options.fleetJournal !== undefined) {
          const missingFleet = missingJournal(resolve(options.fleetJournal));
          if (missingFleet !== undefined) return fail(run, missingFleet);
          return resumeFleet(run, registry, { ...options, fleetJournal: options.fleetJournal });
        }
        if (options.journal === undefined) return fail(run, { kind: 'UsageError', message: 'migrate resume needs --journal <file>' });
        const { fileJournal } = await loadLibrary();
        const journalPath = resolve(options.journal);
        const missing = missingJournal(journalPath);
        if (missing !== undefined) return fail(run, missing);
        const confirmed = await confirm(io, `Resume the migration recorded in ${journalPath}?`, options.yes === true);
        if (confirmed !== true) return fail(run, confirmed);
        return runMigration(run, journalPath, (signal, onProgress) =>
          registry.resumeMigration({ journal: fileJournal(journalPath), signal, onProgress, ...concurrencyOf(options) }),
        );
      }),
    );
  });
};
