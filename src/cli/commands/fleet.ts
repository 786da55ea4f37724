/**
 * Several accounts and regions for `audit` and `grants orphans|retire`: `--region a,b`,
 * `--all-regions`, `--accounts all|ID,…`, `--role-name`, `--external-id`, run through the library's
 * `EncryptedFleet`, one merged report (JSON: one document, per-target failures in `targets`).
 */
import type { Command } from 'commander';
import type { EncryptedFleet, FleetAuditReport, FleetOptions, FleetReportBase, FleetTargetOutcome } from '../../index.js';
import { type AwsOptions, fail, isFailure, registryOptionsFor, type Run, startRun } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { loadLibrary } from '../library.js';
import { type CliFailure, type CliIo, outputFormat, renderTable } from '../output.js';

/** The fleet options of `audit` and `grants orphans|retire`. */
export interface FleetCliOptions extends AwsOptions {
  readonly allRegions?: boolean;
  readonly accounts?: string;
  readonly roleName?: string;
  readonly externalId?: string;
}

/** Help shown after `audit --help` and `grants orphans|retire --help`. */
const FLEET_HELP =
  '\nSeveral accounts and regions: --region a,b (or --all-regions) and --accounts all|ID,... with --role-name (and --external-id) ' +
  'sweep every account and region and print one merged report. Calls to STS, Organizations and Account go to the first region of --region ' +
  '(else the default region). A target (account, region) that fails is listed with its error and never stops the others; ' +
  'then the exit code is 8 (partial), whatever else was found.';

/** Adds `--all-regions`, `--accounts`, `--role-name` and `--external-id`. */
export const withFleetOptions = (command: Command): Command =>
  command
    .option('--all-regions', 'every region each account has enabled (Account ListRegions; needs account:ListRegions and @aws-sdk/client-account)')
    .option('--accounts <ids>', 'all (the AWS Organization\'s active accounts; needs @aws-sdk/client-organizations) or account ids, comma-separated')
    .option('--role-name <name>', 'the role assumed in every account but yours (with --accounts)')
    .option('--external-id <id>', 'sent as ExternalId with every AssumeRole (trust policies with an sts:ExternalId condition)')
    .addHelpText('after', FLEET_HELP);

const list = (value: string): string[] =>
  value
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');

/** Whether the options ask for more than one account or region. */
export const fleetRequested = (options: FleetCliOptions): boolean =>
  options.allRegions === true || options.accounts !== undefined || options.roleName !== undefined || options.externalId !== undefined || list(options.region ?? '').length > 1;

/** The fleet options from the command line, over the registry options every command resolves. */
const fleetOptionsFor = async (io: CliIo, options: FleetCliOptions): Promise<FleetOptions | CliFailure> => {
  const regions = options.region === undefined ? undefined : list(options.region);
  if (options.allRegions === true && regions !== undefined) return { kind: 'UsageError', message: '--region and --all-regions: give one of them' };
  if (regions !== undefined && regions.length === 0) return { kind: 'UsageError', message: '--region: no region given' };
  const base = await registryOptionsFor(io, { ...options, ...(regions?.[0] !== undefined ? { region: regions[0] } : {}) });
  if (isFailure(base)) return base;
  const accounts = options.accounts === undefined ? undefined : options.accounts.trim().toLowerCase() === 'all' ? ('organization' as const) : list(options.accounts);
  return {
    ...base,
    ...(accounts !== undefined ? { accounts } : {}),
    ...(options.allRegions === true ? { regions: 'enabled' as const } : regions !== undefined ? { regions } : {}),
    ...(options.roleName !== undefined ? { roleName: options.roleName } : {}),
    ...(options.externalId !== undefined ? { externalId: options.externalId } : {}),
  };
};

/** Builds the run and the fleet, runs `body`, and always destroys the fleet. */
export const withFleet = async (io: CliIo, options: FleetCliOptions, body: (run: Run, fleet: EncryptedFleet) => Promise<number>): Promise<number> => {
  const run = startRun(io, options);
  if (isFailure(run)) return fail({ io, format: outputFormat(undefined, io) }, run);
  const fleetOptions = await fleetOptionsFor(io, options);
  if (isFailure(fleetOptions)) return fail(run, fleetOptions);
  const library = await loadLibrary();
  const fleet = new library.EncryptedFleet(fleetOptions);
  try {
    return await body(run, fleet);
  } finally {
    run.progress.done();
    fleet.destroy();
  }
};

/** Exit 8 (`partial`) when a target failed, else `otherwise`. */
export const fleetExit = (report: Pick<FleetReportBase, 'failedTargets'>, otherwise: number): number => (report.failedTargets > 0 ? EXIT.partial : otherwise);

const errorText = (t: FleetTargetOutcome): string => {
  const error = t.error;
  if (error === undefined) return '';
  const message = 'message' in error && typeof error.message === 'string' ? `: ${error.message}` : '';
  return `${error.kind}${message}`;
};

/** The targets that failed, and the totals per account; for every fleet table. */
export const fleetTables = (report: FleetReportBase): string[] => [
  renderTable(
    ['ACCOUNT', 'TARGETS', 'FAILED', 'REPOSITORIES', 'NON-COMPLIANT', 'KEYS', 'ORPHANS'],
    Object.entries(report.byAccount).map(([account, t]) => [
      account,
      String(t.targets),
      String(t.failed),
      String(t.repositories),
      String(t.nonCompliant),
      String(t.keys),
      String(t.orphanedGrants),
    ]),
  ),
  ...(report.failedTargets > 0
    ? [
        '',
        'targets that failed (not swept):',
        renderTable(
          ['ACCOUNT', 'REGION', 'STAGE', 'ERROR', 'HINT'],
          report.targets.filter((t) => t.status === 'failed').map((t) => [t.accountId, t.region ?? '(all)', t.stage ?? '', errorText(t), t.hint ?? '']),
        ),
      ]
    : []),
  ...report.skippedAccounts.map((s) => `skipped account ${s.accountId}: ${s.state}`),
  `${String(report.targets.length)} target(s) in ${String(report.accounts.length)} account(s) and ${String(report.regions.length)} region(s); ${String(report.failedTargets)} failed`,
];

/** The fleet audit as tables: repositories with their account and region, then the totals. */
export const fleetAuditTable = (report: FleetAuditReport): string =>
  [
    renderTable(
      ['ACCOUNT', 'REGION', 'REPOSITORY', 'ENCRYPTION', 'KEY', 'STATUS', 'REASON'],
      report.repositories.map((r) => [
        r.accountId,
        r.region,
        r.name,
        r.encryption.type,
        (r.encryption.keyArn ?? '').replace(/^arn:[^:]+:kms:[^:]+:\d{12}:key\//, 'key/'),
        r.status === 'fail' ? 'FAIL' : r.status,
        r.violations.map((v) => v.message).join('; '),
      ]),
    ),
    '',
    ...fleetTables(report),
    `${String(report.summary.repositories)} repositories, ${String(report.summary.nonCompliant)} non-compliant, ${String(report.summary.unknown)} unknown under require=${report.rule.require}; ` +
      `${String(report.summary.orphanedGrants)} orphaned grant(s)` +
      (report.cost === undefined ? '' : `; estimated KMS cost $${report.cost.total.toFixed(2)}/month`),
  ].join('\n');
