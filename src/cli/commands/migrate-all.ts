/**
 * `migrate --all --where <expr>` and `migrate resume --fleet-journal <file>`: thin over
 * `migrateRepositories`. `--plan` prints the fleet plan; the run shows one status line for the
 * whole fleet, then each repository's outcome. Exit 8 (partial) when a repository failed.
 */
import { resolve } from 'node:path';
import type { EncryptionSpec, MigrateRepositoriesInput, RepositoriesMigrationPlan, RepositoriesMigrationProgress, RepositoriesMigrationResult } from '../../index.js';
import { fail, finish, type Run } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { onInterrupt } from '../interrupt.js';
import { loadLibrary } from '../library.js';
import { describeError, renderFields, renderTable } from '../output.js';
import { formatBytes, formatDuration } from '../progress.js';
import { confirm, createStatusLine } from '../terminal.js';
import type { EncryptedRegistry } from '../../index.js';

/** The options `--all` and the fleet resume read. */
export interface FleetOptions {
  readonly where?: readonly string[];
  readonly fleetJournal?: string;
  readonly parallel?: string;
  readonly concurrency?: string;
  readonly restoreArchived?: boolean;
  readonly plan?: boolean;
  readonly yes?: boolean;
}

/** `--where` is repeatable: each use adds one expression. */
export const collectWhere = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), value];

const planTable = (plan: RepositoriesMigrationPlan): string =>
  [
    renderFields([
      ['region', plan.region],
      ['repositories', `${plan.totals.repositories} (${plan.totals.toMigrate} to migrate, ${plan.totals.nothingToDo} already there, ${plan.totals.blocked} blocked)`],
      ['images', plan.totals.images],
      ['bytes', formatBytes(plan.totals.bytes)],
      ['estimated API calls', plan.totals.estimatedApiCalls],
      [
        'binding quota',
        plan.bindingQuota === undefined ? undefined : `${plan.bindingQuota.api}: ${plan.bindingQuota.calls} calls at ${plan.bindingQuota.perSecond}/s`,
      ],
      ['least duration', formatDuration(plan.estimatedSeconds)],
    ]),
    '',
    renderTable(
      ['repository', 'from', 'images', 'bytes', 'calls', 'plan'],
      plan.repositories.map((r) => [
        r.repositoryName,
        r.from === undefined ? '-' : r.from.keyArn === undefined ? r.from.type : `${r.from.type} ${r.from.keyArn}`,
        String(r.images),
        formatBytes(r.bytes),
        String(r.estimatedApiCalls),
        r.nothingToDo ? 'nothing to do' : r.ready ? 'ready' : `blocked: ${r.blockers.join('; ')}`,
      ]),
    ),
  ].join('\n');

const resultTable = (r: RepositoriesMigrationResult): string =>
  r.planOnly
    ? planTable(r.plan)
    : [
        renderTable(
          ['repository', 'outcome', 'detail'],
          r.repositories.map((o) => [
            o.repositoryName,
            o.status,
            o.error !== undefined ? `${o.error.kind}: ${describeError(o.error)}` : o.result !== undefined ? `${o.result.counts.images} images, ${formatBytes(o.result.counts.bytes)}` : '',
          ]),
        ),
        '',
        `${r.totals.migrated} migrated, ${r.totals.unchanged} unchanged, ${r.totals.failed} failed, ${r.totals.pending} not finished` +
          (r.totals.failed + r.totals.pending > 0 ? `; the fleet journal ${r.journal} is kept: encrypted-ecr migrate resume --fleet-journal ${r.journal}` : ''),
      ].join('\n');

/** What JSON shows of an outcome's error: its kind and message (the SDK cause stays out). */
const plainResult = (r: RepositoriesMigrationResult): unknown => ({
  ...r,
  repositories: r.repositories.map((o) => ({ ...o, ...(o.error === undefined ? {} : { error: { kind: o.error.kind, message: describeError(o.error) } }) })),
});

const exitOf = (r: RepositoriesMigrationResult): number => (!r.planOnly && r.totals.failed + r.totals.pending > 0 ? EXIT.partial : EXIT.ok);

/** One status line for the fleet: repositories done of all, failures, bytes, the ones running. */
const fleetDisplay = (run: Run): { onProgress: (p: RepositoriesMigrationProgress) => void; clear: () => void } => {
  const line = createStatusLine(run.io, run.progress.enabled);
  let last = '';
  return {
    onProgress: (p) => {
      const text = `fleet: ${p.repositoriesDone}/${p.repositoriesTotal} repositories${p.failed > 0 ? `, ${p.failed} failed` : ''}, ${formatBytes(p.bytesDone)}/${formatBytes(p.bytesTotal)}${p.running.length > 0 ? `, running ${p.running.join(', ')}` : ''}`;
      if (text !== last) line.draw(text);
      last = text;
    },
    clear: () => line.clear(),
  };
};

/** Runs the fleet with Ctrl-C wired to its signal; prints the outcomes; 8 when one failed or stopped. */
const runFleet = async (run: Run, registry: EncryptedRegistry, input: MigrateRepositoriesInput): Promise<number> => {
  const controller = new AbortController();
  const display = fleetDisplay(run);
  const release = onInterrupt(() => {
    display.clear();
    run.io.err(`encrypted-ecr: stopping every migration after the call in flight; resume with encrypted-ecr migrate resume --fleet-journal ${input.journal ?? ''} (Ctrl-C again exits at once)`);
    controller.abort();
  });
  try {
    const outcome = registry.migrateRepositories({ ...input, signal: controller.signal, onProgress: display.onProgress }).map((r) => {
      display.clear();
      return r;
    });
    return await finish(run, outcome, { table: resultTable, document: plainResult }, exitOf);
  } finally {
    release();
  }
};

/** `migrate --all`: the plan with `--plan`, else the run (confirmed, or `--yes`). */
export const migrateAll = async (run: Run, registry: EncryptedRegistry, encryption: EncryptionSpec, options: FleetOptions): Promise<number> => {
  const { parseRepositoryFilter } = await loadLibrary();
  const where = parseRepositoryFilter(options.where ?? []);
  if (where.isErr()) return fail(run, { kind: 'UsageError', message: `--where: ${where.error.reason}` });
  const journal = resolve(options.fleetJournal ?? '.encrypted-ecr-fleet-migration.json');
  const input: MigrateRepositoriesInput = {
    encryption,
    where: where.value,
    journal,
    ...(options.parallel === undefined ? {} : { concurrency: Number(options.parallel) }),
    ...(options.concurrency === undefined ? {} : { blobConcurrency: Number(options.concurrency) }),
    restoreArchived: options.restoreArchived === true,
  };
  if (options.plan === true) return finish(run, registry.migrateRepositories({ ...input, planOnly: true }), { table: resultTable, document: (r) => r.plan }, () => EXIT.ok);
  const confirmed = await confirm(run.io, `Migrate every repository --where selects (each is recreated under the same name; pushes to it are refused while it runs)?`, options.yes === true);
  if (confirmed !== true) return fail(run, confirmed);
  return runFleet(run, registry, input);
};

/** `migrate resume --fleet-journal <file>`. */
export const resumeFleet = async (run: Run, registry: EncryptedRegistry, options: FleetOptions & { readonly fleetJournal: string }): Promise<number> => {
  const journal = resolve(options.fleetJournal);
  const confirmed = await confirm(run.io, `Resume the fleet migration recorded in ${journal}?`, options.yes === true);
  if (confirmed !== true) return fail(run, confirmed);
  return runFleet(run, registry, {
    resume: true,
    journal,
    ...(options.parallel === undefined ? {} : { concurrency: Number(options.parallel) }),
    ...(options.concurrency === undefined ? {} : { blobConcurrency: Number(options.concurrency) }),
  });
};
