/** Merges the single-region reports of a fleet sweep into one report with per-account and per-region totals. */
import type { AuditCost, AuditReport, AuditStatus } from '../operations/audit-types.js';
import type { OrphanedGrantsReport, OrphanedGrantsRetirement } from '../operations/orphaned-grants.js';
import type {
  FleetAuditReport,
  FleetOrphanedGrantsReport,
  FleetOrphanedGrantsRetirement,
  FleetReportBase,
  FleetTarget,
  FleetTargetOutcome,
  FleetTotals,
} from './types.js';

/** One target's outcome with its report, when it has one. */
export interface TargetResult<R> {
  readonly outcome: FleetTargetOutcome;
  readonly report?: R;
}

/** What the sweep found before any target ran. */
export interface SweepScope {
  readonly accounts: readonly string[];
  readonly skippedAccounts: FleetReportBase['skippedAccounts'];
}

/** The counts one target adds to its account's and its region's totals. */
interface Counts {
  readonly repositories: number;
  readonly nonCompliant: number;
  readonly unknown: number;
  readonly keys: number;
  readonly orphanedGrants: number;
}
const NONE: Counts = { repositories: 0, nonCompliant: 0, unknown: 0, keys: 0, orphanedGrants: 0 };

const emptyTotals = (): FleetTotals => ({ targets: 0, failed: 0, ...NONE });

const add = (table: Record<string, FleetTotals>, key: string, failed: boolean, counts: Counts): void => {
  const t = table[key] ?? emptyTotals();
  table[key] = {
    targets: t.targets + 1,
    failed: t.failed + (failed ? 1 : 0),
    repositories: t.repositories + counts.repositories,
    nonCompliant: t.nonCompliant + counts.nonCompliant,
    unknown: t.unknown + counts.unknown,
    keys: t.keys + counts.keys,
    orphanedGrants: t.orphanedGrants + counts.orphanedGrants,
  };
};

/** The fields every fleet report shares, with totals from `countsOf` each target's report. */
const base = <R>(scope: SweepScope, results: readonly TargetResult<R>[], countsOf: (report: R) => Counts): FleetReportBase => {
  const byAccount: Record<string, FleetTotals> = Object.fromEntries(scope.accounts.map((a) => [a, emptyTotals()]));
  const byRegion: Record<string, FleetTotals> = {};
  for (const { outcome, report } of results) {
    const counts = report === undefined ? NONE : countsOf(report);
    const failed = outcome.status === 'failed';
    add(byAccount, outcome.accountId, failed, counts);
    if (outcome.region !== undefined) add(byRegion, outcome.region, failed, counts);
  }
  const regions = [...new Set(results.flatMap((r) => (r.outcome.region === undefined ? [] : [r.outcome.region])))];
  return {
    accounts: [...scope.accounts],
    regions,
    targets: results.map((r) => r.outcome),
    skippedAccounts: scope.skippedAccounts,
    byAccount,
    byRegion,
    failedTargets: results.filter((r) => r.outcome.status === 'failed').length,
  };
};

/**
 * `row` tagged with its target: `{ accountId, region, ...row }`, built with `Object.assign`. The
 * same object (same keys, same order), but a spread of two objects into a literal is V8's slow path:
 * for 12,000 audit rows it cost more CPU than the whole merge besides.
 */
const tagged = <T extends object>(target: FleetTarget, row: T): FleetTarget & T => Object.assign({ accountId: target.accountId, region: target.region }, row);

/** The reports that came back, each with its target. */
const swept = <R>(results: readonly TargetResult<R>[]): { readonly target: FleetTarget; readonly report: R }[] =>
  results.flatMap(({ outcome, report }) =>
    report === undefined || outcome.region === undefined ? [] : [{ target: { accountId: outcome.accountId, region: outcome.region }, report }],
  );

const sumCost = (reports: readonly AuditReport[]): AuditCost | undefined => {
  const first = reports[0]?.cost;
  if (first === undefined) return undefined;
  const sum = (pick: (c: AuditCost) => number): number => reports.reduce((n, r) => n + pick(r.cost), 0);
  return {
    ...first,
    keys: sum((c) => c.keys),
    requests: sum((c) => c.requests),
    total: sum((c) => c.total),
    requestsPerMonth: sum((c) => c.requestsPerMonth),
    rotationSurcharges: sum((c) => c.rotationSurcharges),
    rotationSurchargesEstimated: reports.some((r) => r.cost.rotationSurchargesEstimated),
    caveats: [...new Set(reports.flatMap((r) => r.cost.caveats))],
  };
};

const auditCounts = (r: AuditReport): Counts => ({
  repositories: r.summary.repositories,
  nonCompliant: r.summary.nonCompliant,
  unknown: r.summary.unknown,
  keys: r.summary.keys,
  orphanedGrants: r.summary.orphanedGrants,
});

/**
 * The fleet audit: every repository and key row tagged with its account and region, sums, and the
 * status `fail` when one repository fails, else `unknown` when one could not be checked or a target
 * failed, else `pass`.
 */
export const mergeAudit = (scope: SweepScope, results: readonly TargetResult<AuditReport>[], rule: AuditReport['rule']): FleetAuditReport => {
  const reports = swept(results);
  const common = base(scope, results, auditCounts);
  const summary = {
    repositories: reports.reduce((n, r) => n + r.report.summary.repositories, 0),
    nonCompliant: reports.reduce((n, r) => n + r.report.summary.nonCompliant, 0),
    unknown: reports.reduce((n, r) => n + r.report.summary.unknown, 0),
    keys: reports.reduce((n, r) => n + r.report.summary.keys, 0),
    orphanedGrants: reports.reduce((n, r) => n + r.report.summary.orphanedGrants, 0),
    keyPosture: {
      pass: reports.reduce((n, r) => n + r.report.summary.keyPosture.pass, 0),
      fail: reports.reduce((n, r) => n + r.report.summary.keyPosture.fail, 0),
      unknown: reports.reduce((n, r) => n + r.report.summary.keyPosture.unknown, 0),
    },
  };
  const status: AuditStatus = summary.nonCompliant > 0 ? 'fail' : summary.unknown > 0 || common.failedTargets > 0 ? 'unknown' : 'pass';
  return {
    ...common,
    rule,
    compliant: status === 'pass',
    status,
    repositories: reports.flatMap(({ target, report }) => report.repositories.map((r) => tagged(target, r))),
    keys: reports.flatMap(({ target, report }) => report.keys.map((k) => tagged(target, k))),
    cost: sumCost(reports.map((r) => r.report)),
    summary,
  };
};

const grantCounts = (r: OrphanedGrantsReport): Counts => ({
  ...NONE,
  keys: r.keys.length,
  orphanedGrants: r.keys.reduce((n, k) => n + k.orphans.length, 0),
});

/** The fleet grant sweep: every key and skipped key tagged with its account and region. */
export const mergeOrphans = (scope: SweepScope, results: readonly TargetResult<OrphanedGrantsReport>[]): FleetOrphanedGrantsReport => {
  const reports = swept(results);
  return {
    ...base(scope, results, grantCounts),
    keys: reports.flatMap(({ target, report }) => report.keys.map((k) => tagged(target, k))),
    skipped: reports.flatMap(({ target, report }) => report.skipped.map((s) => tagged(target, s))),
  };
};

/** The fleet retirement, as {@link mergeOrphans}. */
export const mergeRetirement = (scope: SweepScope, results: readonly TargetResult<OrphanedGrantsRetirement>[], dryRun: boolean): FleetOrphanedGrantsRetirement => {
  const reports = swept(results);
  return {
    ...base(scope, results, grantCounts),
    dryRun,
    keys: reports.flatMap(({ target, report }) => report.keys.map((k) => tagged(target, k))),
    skipped: reports.flatMap(({ target, report }) => report.skipped.map((s) => tagged(target, s))),
  };
};
