/** `audit`, `grants orphans` and `grants retire`: thin over `audit`, `findOrphanedGrants` and `retireOrphanedGrants`. */
import type { Command } from 'commander';
import type {
  AuditProgress,
  AuditReport,
  AuditRequirement,
  FindOrphanedGrantsInput,
  KeyGrantReport,
  KeyRetirementReport,
  OrphanedGrantsReport,
  OrphanedGrantsRetirement,
} from '../../index.js';
import { fail, finish, type Run, withAwsOptions, withProgressOption, withRegistry, withReportOptions } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type CliIo, renderTable } from '../output.js';
import { AUDIT_FAIL_ON, AUDIT_FORMATS, auditDocument, auditFails } from '../report/audit.js';
import { GRANTS_FAIL_ON, grantsDocument, grantsExit, ORPHANS_FORMATS, RETIRE_FORMATS } from '../report/grants.js';
import { parseFailOn } from '../report/spec.js';
import { shortGrantId, shortKeyArn } from '../report/table.js';
import { confirm } from '../terminal.js';
import { type FleetCliOptions, fleetAuditTable, fleetExit, fleetRequested, fleetTables, withFleet, withFleetOptions } from './fleet.js';

interface AuditOptions extends FleetCliOptions {
  readonly require?: string;
  readonly allowedKeys?: readonly string[];
  readonly pushesPerMonth?: string;
  readonly pullsPerMonth?: string;
  readonly layersPerImage?: string;
}

interface GrantOptions extends FleetCliOptions {
  readonly key?: readonly string[];
  readonly dryRun?: boolean;
  readonly concurrency?: string;
  readonly yes?: boolean;
  readonly wait?: string;
}

/** The longest `--wait`: an hour (the library's bound for `waitForDecidableMs`). */
const MAX_WAIT_SECONDS = 3_600;

/** Comma-separated and repeatable: `--allowed-keys a,b --allowed-keys c`. */
const collectList = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((v) => v.trim()).filter((v) => v !== ''),
];
const collect = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), value];

const usd = (n: number): string => `$${n.toFixed(2)}`;
const short = shortKeyArn;

const PHASES: Readonly<Record<AuditProgress['phase'], string>> = {
  repositories: 'listing repositories',
  keys: 'describing keys',
  grants: 'listing grants',
  posture: 'checking key posture',
};

const auditTable = (report: AuditReport): string => {
  const repositories = renderTable(
    ['REPOSITORY', 'ENCRYPTION', 'KEY', 'MANAGER', 'STATE', 'STATUS', 'REASON'],
    report.repositories.map((r) => [
      r.name,
      r.encryption.type,
      short(r.encryption.keyArn),
      r.encryption.keyManager ?? '',
      r.encryption.keyState ?? '',
      r.status === 'fail' ? 'FAIL' : r.status,
      [...r.violations, ...r.warnings.map((w) => ({ message: `warning: ${w.message}` }))].map((v) => v.message).join('; '),
    ]),
  );
  const keys = renderTable(
    ['KEY', 'MANAGER', 'STATE', 'REPOSITORIES', 'GRANTS', 'ORPHANS', 'HEADROOM', 'EST/MONTH'],
    report.keys.map((k) => [
      short(k.keyArn),
      k.keyManager ?? '?',
      k.keyState ?? '?',
      String(k.repositories.length),
      k.grants ? String(k.grants.grantCount) : '?',
      k.grants ? String(k.grants.orphans.length) : '?',
      k.grants?.headroom.remaining === undefined ? (k.grants ? 'no quota' : '?') : String(k.grants.headroom.remaining),
      usd(k.estimatedMonthlyCost),
    ]),
  );
  const postureRows = report.keys.flatMap((k) =>
    (k.posture?.checks ?? []).map((check) => [
      short(k.keyArn),
      check.id,
      check.status === 'fail' ? 'FAIL' : check.status,
      check.status === 'fail' ? check.severity : '',
      [check.securityHubControlId, check.prowlerCheckId].filter((id) => id !== undefined).join(' / '),
      // Full ARNs belong in JSON; the table shows the key as in its other columns.
      check.message.replaceAll(k.keyArn, short(k.keyArn)),
    ]),
  );
  const posture = postureRows.length === 0 ? [] : [renderTable(['KEY', 'CHECK', 'STATUS', 'SEVERITY', 'SECURITY HUB / PROWLER', 'DETAIL'], postureRows), ''];
  const c = report.cost;
  const rotation = c.rotationSurcharges > 0 ? `, ${usd(c.rotationSurcharges)} rotation surcharges${c.rotationSurchargesEstimated ? ' (estimated)' : ''}` : '';
  // Issue 18: what the repositories ECR creates on your behalf get.
  const rules =
    report.registryRules.rules.length === 0
      ? 'registry rules: no creation template, pull-through cache rule or replication'
      : renderTable(
          ['REGISTRY RULE', 'PREFIX', 'TEMPLATE', 'NEW REPOSITORIES', 'STATUS', 'REASON'],
          report.registryRules.rules.map((r) => [
            r.rule + (r.destination ? ` → ${r.destination.registryId}/${r.destination.region}` : '') + (r.appliedFor ? ` (${r.appliedFor.join(',')})` : ''),
            r.prefix,
            r.template ?? '-',
            r.encryption ? `${r.encryption.type}${r.encryption.keyArn ? ` ${short(r.encryption.keyArn)}` : ''}` : '?',
            r.status === 'fail' ? 'FAIL' : r.status,
            [...r.violations.map((v) => v.message), ...r.notes.map((n) => `note: ${n}`)].join('; '),
          ]),
        );
  return [
    repositories,
    '',
    keys,
    '',
    ...posture,
    rules,
    '',
    c.requestsEstimated
      ? `estimated KMS cost: ${usd(c.total)}/month (${usd(c.keys)} for customer-managed keys${rotation}, ${usd(c.requests)} for ${c.requestsPerMonth} requests before the free tier; ` +
        `${c.assumptions.pushesPerMonth} pushes and ${c.assumptions.pullsPerMonth} pulls a month per repository, ${c.assumptions.layersPerImage} blobs an image)`
      : `estimated KMS cost: ${usd(c.keys + c.rotationSurcharges)}/month for customer-managed keys${rotation}; request cost not estimated (give --pushes-per-month / --pulls-per-month)`,
    ...c.caveats.filter((caveat) => !caveat.startsWith('request cost not estimated')).map((caveat) => `  note: ${caveat}`),
    `${report.summary.repositories} repositories, ${report.summary.nonCompliant} non-compliant, ${report.summary.unknown} unknown under require=${report.rule.require}` +
      `${report.rule.allowedKeys ? ` and ${report.rule.allowedKeys.length} allowed key(s)` : ''}; ${report.summary.orphanedGrants} orphaned grant(s)` +
      (report.postureStatus === undefined ? '' : `; key posture ${report.postureStatus} (${report.summary.keyPosture.fail} key(s) failing, ${report.summary.keyPosture.unknown} unknown)`),
  ].join('\n');
};

const keyRows = (keys: readonly KeyGrantReport[]): string[][] =>
  keys.map((k) => [
    short(k.keyArn),
    k.keyManager,
    String(k.grantCount),
    String(k.ecrGrantCount),
    String(k.orphans.length),
    String(k.unverifiable.length),
    k.headroom.remaining === undefined ? 'no quota' : String(k.headroom.remaining),
  ]);
const KEY_HEADERS = ['KEY', 'MANAGER', 'GRANTS', 'ECR', 'ORPHANS', 'UNVERIFIABLE', 'HEADROOM'];

/** A grant the sweep could not decide: unverifiable, or an orphan kept because its repository's absence was not confirmed. */
interface UndecidedGrant {
  readonly keyArn: string;
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly reason: string;
  readonly decidableAfter?: Date;
}

const undecidedOf = (keys: readonly (KeyGrantReport & { readonly kept?: KeyRetirementReport['kept'] })[]): UndecidedGrant[] =>
  keys.flatMap((k) => [
    ...k.unverifiable.map((u) => ({
      keyArn: k.keyArn,
      grantId: u.grantId,
      repositoryArn: u.repositoryArn,
      reason: u.reason,
      ...(u.decidableAfter !== undefined ? { decidableAfter: u.decidableAfter } : {}),
    })),
    ...(k.kept ?? []).map((o) => ({ keyArn: k.keyArn, grantId: o.grantId, repositoryArn: o.repositoryArn, reason: `kept: ${o.reason}` })),
  ]);

/** When every undecided grant that waiting decides is decidable; `undefined` when none is. */
const decidableAt = (undecided: readonly UndecidedGrant[]): Date | undefined => {
  const times = undecided.flatMap((u) => (u.decidableAfter !== undefined ? [u.decidableAfter.getTime()] : []));
  return times.length === 0 ? undefined : new Date(Math.max(...times));
};

/** The one line that says when to run the command again; `undefined` when everything was decided. */
const rerunLine = (undecided: readonly UndecidedGrant[], command: string): string | undefined => {
  if (undecided.length === 0) return undefined;
  const at = decidableAt(undecided);
  const waitable = undecided.filter((u) => u.decidableAfter !== undefined).length;
  const rest = undecided.length - waitable;
  return (
    `${undecided.length} grant(s) not decided: ` +
    [
      ...(at !== undefined ? [`${waitable} decidable after ${at.toISOString()}: run \`encrypted-ecr ${command}\` again then (or add --wait <seconds>)`] : []),
      ...(rest > 0 ? [`${rest} cannot be decided by waiting (see REASON; a kept or ambiguous grant is decided once its repository is deleted)`] : []),
    ].join('; ')
  );
};

const undecidedTable = (undecided: readonly UndecidedGrant[]): string[] =>
  undecided.length === 0
    ? []
    : [
        '',
        'not decided (left alone):',
        renderTable(
          ['KEY', 'GRANT', 'REPOSITORY', 'REASON', 'DECIDABLE AFTER'],
          undecided.map((u) => [short(u.keyArn), shortGrantId(u.grantId), u.repositoryArn, u.reason, u.decidableAfter?.toISOString() ?? '']),
        ),
      ];

/** The report with its undecided grants and the rerun hint, for JSON. */
const withUndecided = <T extends { readonly keys: readonly KeyGrantReport[] }>(report: T, command: string) => {
  const undecided = undecidedOf(report.keys);
  const at = decidableAt(undecided);
  const rerun = rerunLine(undecided, command);
  return { ...report, undecided, ...(at !== undefined ? { decidableAfter: at } : {}), ...(rerun !== undefined ? { rerun } : {}) };
};

/** Exit 8 (`partial`) when a grant was not decided or a retirement failed. */
const sweepExit = (report: ReturnType<typeof withUndecided<Pick<OrphanedGrantsReport | OrphanedGrantsRetirement, 'keys'>>>): number =>
  report.undecided.length > 0 || report.keys.some((k) => 'failed' in k && Array.isArray(k.failed) && k.failed.length > 0) ? EXIT.partial : EXIT.ok;

/** Exit 8 (`partial`) when a grant was not decided (`--fail-on undecided`, the default) or a retirement failed; 9 for orphans under `--fail-on orphans`. */
const SWEEP_CODES = { partial: EXIT.partial, findings: EXIT.nonCompliant, ok: EXIT.ok } as const;

/** The `--output` formats of each report command. */
const AUDIT_OUTPUTS = ['json', 'table', ...Object.keys(AUDIT_FORMATS)];
const ORPHANS_OUTPUTS = ['json', 'table', ...Object.keys(ORPHANS_FORMATS)];
const RETIRE_OUTPUTS = ['json', 'table', ...Object.keys(RETIRE_FORMATS)];

const AUDIT_FAIL_ON_HELP =
  'what makes the run exit 9: fail (a repository fails), unknown (default: fails or could not be checked), warning (also a warning or an orphaned grant), none';
const GRANTS_FAIL_ON_HELP =
  'comma-separated: undecided (default: exit 8 when a grant could not be decided), orphans (exit 9 when an orphaned grant is found), none; a failed retirement always exits 8';

const orphansTable = (report: ReturnType<typeof withUndecided<Pick<OrphanedGrantsReport, 'keys' | 'skipped'>>>): string =>
  [
    renderTable(KEY_HEADERS, keyRows(report.keys)),
    '',
    report.keys.some((k) => k.orphans.length > 0)
      ? renderTable(
          ['KEY', 'GRANT', 'REPOSITORY', 'REASON'],
          report.keys.flatMap((k) => k.orphans.map((o) => [short(k.keyArn), shortGrantId(o.grantId), o.repositoryArn, o.reason])),
        )
      : 'no orphaned grants',
    ...undecidedTable(report.undecided),
    ...report.skipped.map((s) => `skipped ${s.keyArn}: ${s.error.kind}`),
    ...(report.rerun !== undefined ? [report.rerun] : []),
  ].join('\n');

/** What became of one orphan. */
const outcomeOf = (k: KeyRetirementReport, grantId: string, dryRun: boolean): string => {
  if (dryRun) return 'would retire';
  if (k.retired.includes(grantId)) return 'retired';
  if (k.alreadyRetired.includes(grantId)) return 'already retired';
  const failed = k.failed.find((f) => f.grantId === grantId);
  if (failed) return `FAILED: ${failed.error.kind}`;
  return 'kept';
};

const retireTable = (report: ReturnType<typeof withUndecided<Pick<OrphanedGrantsRetirement, 'keys' | 'skipped' | 'dryRun'>>>): string =>
  [
    renderTable(
      ['KEY', 'ORPHANS', 'RETIRED', 'ALREADY RETIRED', 'FAILED', 'KEPT', 'UNVERIFIABLE'],
      report.keys.map((k) => [
        short(k.keyArn),
        String(k.orphans.length),
        String(k.retired.length),
        String(k.alreadyRetired.length),
        String(k.failed.length),
        String(k.kept.length),
        String(k.unverifiable.length),
      ]),
    ),
    ...(report.keys.some((k) => k.orphans.length > 0)
      ? [
          '',
          renderTable(
            ['KEY', 'GRANT', 'REPOSITORY', 'REASON', 'OUTCOME'],
            report.keys.flatMap((k) => k.orphans.map((o) => [short(k.keyArn), shortGrantId(o.grantId), o.repositoryArn, o.reason, outcomeOf(k, o.grantId, report.dryRun)])),
          ),
        ]
      : []),
    ...undecidedTable(report.undecided),
    ...report.keys.flatMap((k) => k.failed.map((f) => `failed ${shortGrantId(f.grantId)} on ${short(k.keyArn)}: ${f.error.kind}`)),
    ...report.skipped.map((s) => `skipped ${s.keyArn}: ${s.error.kind}`),
    ...(report.dryRun ? ['dry run: nothing was retired'] : []),
    ...(report.rerun !== undefined ? [report.rerun] : []),
  ].join('\n');

/** `--wait <seconds>`: a whole number from 0 to {@link MAX_WAIT_SECONDS}; `undefined` when malformed. */
const parseWait = (value: string | undefined): number | undefined => {
  const seconds = Number(value ?? '0');
  return /^\d+$/.test((value ?? '0').trim()) && seconds <= MAX_WAIT_SECONDS ? seconds : undefined;
};

/**
 * `--wait <seconds>` as the library's own wait for too-recent grants (`waitForDecidableMs`): the
 * sweep pauses through the registry's clock and sweeps again; each pause is announced on stderr.
 */
const waitOptions = (io: CliIo, seconds: number): Pick<FindOrphanedGrantsInput, 'waitForDecidableMs' | 'onWait'> =>
  seconds === 0
    ? {}
    : {
        waitForDecidableMs: seconds * 1_000,
        onWait: ({ grants, waitMs }) => io.err(`waiting ${Math.ceil(waitMs / 1_000)} s for ${grants} too-recent grant(s) to become decidable`),
      };

/** `grants retire` over several accounts and regions: confirmed as the single-region one, then one merged report. */
const retireInFleet = (io: CliIo, options: GrantOptions): Promise<number> =>
  withFleet(io, options, async (run, fleet) => {
    const dryRun = options.dryRun === true;
    const wait = parseWait(options.wait);
    if (wait === undefined) return fail(run, { kind: 'UsageError', message: `--wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` });
    if (!dryRun && options.yes !== true) {
      if (!io.stdinIsTty || !io.stderrIsTty) {
        return fail(run, { kind: 'ConfirmationRequired', message: 'retiring grants: not confirmed; off a terminal, pass --yes (or --dry-run)' });
      }
      const confirmed = await confirm(io, 'Retire the orphaned grants in every account and region swept?', false);
      if (confirmed !== true) return fail(run, confirmed);
    }
    return finish(
      run,
      fleet
        .retireOrphanedGrants({
          ...(options.key !== undefined ? { keys: options.key } : {}),
          dryRun,
          concurrency: Number(options.concurrency ?? 4),
          ...waitOptions(io, wait),
        })
        .map((report) => withUndecided(report, `grants retire${dryRun ? ' --dry-run' : ''}`)),
      (report) => [retireTable(report), '', ...fleetTables(report)].join('\n'),
      (report) => fleetExit(report, sweepExit(report)),
    );
  });

/** Registers `audit` and `grants orphans|retire`. */
export const registerAuditAndGrantCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  withProgressOption(withFleetOptions(withAwsOptions(
    withReportOptions(program.command('audit'), AUDIT_FAIL_ON_HELP)
      .description('every repository of the region: encryption, compliance, orphaned grants, estimated KMS cost; exit 9 when one is not compliant (see --fail-on)')
      .option('--require <rule>', 'cmk (customer-managed key), kms (any KMS key) or any, any case', 'any')
      .option('--allowed-keys <keys>', 'KMS keys repositories may use (comma-separated, repeatable; ids, ARNs or aliases)', collectList)
      .option('--pushes-per-month <n>', 'image pushes a month per KMS repository, for the cost estimate', '0')
      .option('--pulls-per-month <n>', 'image pulls a month per KMS repository, for the cost estimate', '0')
      .option('--layers-per-image <n>', 'blobs per image (layers and config), for the cost estimate', '5'),
    AUDIT_OUTPUTS,
  ))).action(async (options: AuditOptions) => {
    const auditInput = (run: Run) => ({
      require: (options.require ?? 'any').toLowerCase() as AuditRequirement,
      ...(options.allowedKeys !== undefined ? { allowedKeys: options.allowedKeys } : {}),
      usage: {
        pushesPerMonth: Number(options.pushesPerMonth ?? 0),
        pullsPerMonth: Number(options.pullsPerMonth ?? 0),
        layersPerImage: Number(options.layersPerImage ?? 5),
      },
      onProgress: (p: AuditProgress) => run.progress.update(PHASES[p.phase], p.completed, p.total),
    });
    if (fleetRequested(options)) {
      setExit(
        await withFleet(io, options, (run, fleet) => {
          // --fail-on as for one region, over every target's repositories (a failed target exits 8 whatever it says).
          const failOn = parseFailOn(options.failOn, AUDIT_FAIL_ON, ['unknown'], false);
          if (typeof failOn === 'string') return Promise.resolve(fail(run, { kind: 'UsageError', message: failOn }));
          return finish(run, fleet.audit(auditInput(run)), fleetAuditTable, (report) =>
            fleetExit(report, auditFails(report, failOn[0] ?? 'unknown') ? EXIT.nonCompliant : EXIT.ok),
          );
        }),
      );
      return;
    }
    setExit(
      await withRegistry(
        io,
        options,
        (run, registry) => {
          const failOn = parseFailOn(options.failOn, AUDIT_FAIL_ON, ['unknown'], false);
          if (typeof failOn === 'string') return Promise.resolve(fail(run, { kind: 'UsageError', message: failOn }));
          return finish(
          run,
          registry.audit({
            require: (options.require ?? 'any').toLowerCase() as AuditRequirement,
            ...(options.allowedKeys !== undefined ? { allowedKeys: options.allowedKeys } : {}),
            usage: {
              pushesPerMonth: Number(options.pushesPerMonth ?? 0),
              pullsPerMonth: Number(options.pullsPerMonth ?? 0),
              layersPerImage: Number(options.layersPerImage ?? 5),
            },
            onProgress: (p) => run.progress.update(PHASES[p.phase], p.completed, p.total),
          }),
          { table: auditTable, document: auditDocument, formats: AUDIT_FORMATS },
          (report) => (auditFails(report, failOn[0] ?? 'unknown') ? EXIT.nonCompliant : EXIT.ok),
        );
        },
        AUDIT_OUTPUTS,
      ),
    );
  });

  const grants = program.command('grants').description('KMS grants ECR left behind');
  const waitOption = [
    '--wait <seconds>',
    `wait up to this long (0-${MAX_WAIT_SECONDS}) for grants too recent to decide, then sweep again`,
    '0',
  ] as const;
  const exitHelp =
    '\nExit codes: 0 every ECR grant decided (and, for retire, every orphan retired); 8 a grant could not be decided ' +
    '(too recent, ambiguous, other account or region, kept) or a retirement failed: the output lists them and says when to run again; ' +
    '9 an orphaned grant was found under --fail-on orphans. --fail-on none: 0 unless a retirement failed.';
  withFleetOptions(withAwsOptions(
    withReportOptions(grants.command('orphans'), GRANTS_FAIL_ON_HELP)
      .description('find grants of deleted repositories (or older incarnations of a name); reads only; exit 8 when a grant could not be decided')
      .option('--key <key>', 'sweep only this key (repeatable; default: every customer-managed key and aws/ecr)', collect)
      .option(...waitOption)
      .addHelpText('after', exitHelp),
    ORPHANS_OUTPUTS,
  )).action(async (options: GrantOptions) => {
    if (fleetRequested(options)) {
      setExit(
        await withFleet(io, options, async (run, fleet) => {
          const wait = parseWait(options.wait);
          if (wait === undefined) return fail(run, { kind: 'UsageError', message: `--wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` });
          return finish(
            run,
            fleet.findOrphanedGrants({ ...(options.key !== undefined ? { keys: options.key } : {}), ...waitOptions(io, wait) }).map((r) => withUndecided(r, 'grants orphans')),
            (report) => [orphansTable(report), '', ...fleetTables(report)].join('\n'),
            (report) => fleetExit(report, sweepExit(report)),
          );
        }),
      );
      return;
    }
    setExit(
      await withRegistry(
        io,
        options,
        async (run, registry) => {
          const wait = parseWait(options.wait);
          if (wait === undefined) return fail(run, { kind: 'UsageError', message: `--wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` });
          const failOn = parseFailOn(options.failOn, GRANTS_FAIL_ON, ['undecided'], true);
          if (typeof failOn === 'string') return fail(run, { kind: 'UsageError', message: failOn });
          const keys = options.key !== undefined ? { keys: options.key } : {};
          return finish(
            run,
            registry.findOrphanedGrants({ ...keys, ...waitOptions(io, wait) }).map((report) => withUndecided(report, 'grants orphans')),
            { table: orphansTable, document: grantsDocument, formats: ORPHANS_FORMATS },
            (view) => grantsExit(view, failOn, SWEEP_CODES),
          );
        },
        ORPHANS_OUTPUTS,
      ),
    );
  });

  withFleetOptions(withAwsOptions(
    withReportOptions(grants.command('retire'), GRANTS_FAIL_ON_HELP)
      .description('retire the orphaned grants (never revokes, never touches a live repository); exit 8 when a grant could not be decided')
      .option('--key <key>', 'sweep only this key (repeatable)', collect)
      .option('--dry-run', 'list the grants that would be retired, retire nothing')
      .option('--concurrency <n>', 'RetireGrant calls in flight, 1-30', '4')
      .option(...waitOption)
      .option('-y, --yes', 'do not ask for confirmation (required off a terminal)')
      .addHelpText('after', exitHelp),
    RETIRE_OUTPUTS,
  )).action(async (options: GrantOptions) => {
    if (fleetRequested(options)) {
      setExit(await retireInFleet(io, options));
      return;
    }
    setExit(
      await withRegistry(io, options, async (run, registry) => {
        const dryRun = options.dryRun === true;
        const keys = options.key !== undefined ? { keys: options.key } : {};
        const wait = parseWait(options.wait);
        if (wait === undefined) return fail(run, { kind: 'UsageError', message: `--wait must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}` });
        const failOn = parseFailOn(options.failOn, GRANTS_FAIL_ON, ['undecided'], true);
        if (typeof failOn === 'string') return fail(run, { kind: 'UsageError', message: failOn });
        if (!dryRun) {
          // Off a terminal, refuse before any call; on one, say how many grants before asking.
          if (options.yes !== true && (!io.stdinIsTty || !io.stderrIsTty)) {
            return fail(run, { kind: 'ConfirmationRequired', message: 'retiring grants: not confirmed; off a terminal, pass --yes (or --dry-run)' });
          }
          if (options.yes !== true) {
            const found = await registry.findOrphanedGrants(keys);
            const count = found.isOk() ? found.value.keys.reduce((n, k) => n + k.orphans.length, 0) : undefined;
            const confirmed = await confirm(io, `Retire ${count ?? 'the'} orphaned grant(s)?`, false);
            if (confirmed !== true) return fail(run, confirmed);
          }
        }
        return finish(
          run,
          registry
            .retireOrphanedGrants({ ...keys, dryRun, concurrency: Number(options.concurrency ?? 4), ...waitOptions(io, wait) })
            .map((report) => withUndecided(report, `grants retire${dryRun ? ' --dry-run' : ''}`)),
          { table: retireTable, document: grantsDocument, formats: RETIRE_FORMATS },
          (view) => grantsExit(view, failOn, SWEEP_CODES),
        );
      }, RETIRE_OUTPUTS),
    );
  });
};
