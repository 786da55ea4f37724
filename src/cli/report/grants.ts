/**
 * `grants orphans` and `grants retire` reports: the JSON document (with `schemaVersion`, schema
 * `schemas/orphaned-grants-report.schema.json`), SARIF (orphans), JUnit, CSV, and `--fail-on`.
 */
import type { KeyGrantReport, KeyRetirementReport } from '../../index.js';
import { csv } from './csv.js';
import { type JunitCase, junitXml } from './junit.js';
import { type SarifFinding, sarifLog, type SarifRule } from './sarif.js';
import { type ReportFormats, TOOL } from './spec.js';

/** The version of the JSON document's shape; a change that can break a reader bumps it. */
const GRANTS_SCHEMA_VERSION = '1';

/** A grant the sweep left undecided, as the command lists it. */
interface Undecided {
  readonly keyArn: string;
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly reason: string;
  readonly decidableAfter?: Date;
}

/** What the grant commands print: the sweep (or retirement) with its undecided grants. */
export interface SweepView {
  readonly region: string;
  readonly account: string;
  readonly keys: readonly (KeyGrantReport & Partial<Pick<KeyRetirementReport, 'retired' | 'alreadyRetired' | 'failed' | 'kept'>> & { readonly region?: string; readonly accountId?: string })[];
  readonly undecided: readonly Undecided[];
  readonly dryRun?: boolean;
}

/** The JSON document: the sweep with its `schemaVersion` first. */
export const grantsDocument = <T extends SweepView>(view: T): unknown => ({ schemaVersion: GRANTS_SCHEMA_VERSION, ...view });

/**
 * `--fail-on` for `grants orphans|retire`, a comma-separated list: `undecided` (default, as
 * before: exit 8 when a grant could not be decided), `orphans` (exit 9 when an orphaned grant was
 * found; with `retire`, found whether retired or not), `none`. A failed retirement always exits 8.
 */
export const GRANTS_FAIL_ON = ['orphans', 'undecided', 'none'] as const;
export type GrantsFailOn = (typeof GRANTS_FAIL_ON)[number];

/** The exit code of a sweep under `failOn`: 8 (partial), 9 (orphans found) or 0. */
export const grantsExit = (view: SweepView, failOn: readonly GrantsFailOn[], codes: { readonly partial: number; readonly findings: number; readonly ok: number }): number => {
  if (view.keys.some((k) => (k.failed ?? []).length > 0)) return codes.partial;
  if (failOn.includes('undecided') && view.undecided.length > 0) return codes.partial;
  if (failOn.includes('orphans') && view.keys.some((k) => k.orphans.length > 0)) return codes.findings;
  return codes.ok;
};

const RULES: readonly SarifRule[] = [
  {
    id: 'orphaned-grant',
    name: 'OrphanedEcrGrant',
    shortDescription: 'A KMS grant ECR made for a repository that is gone (or for an older incarnation of its name).',
    fullDescription:
      'ECR retires its grants when a repository is deleted by a principal with kms:RetireGrant; otherwise they stay on the key, count against its 50,000-grant quota and keep allowing ECR to use the key for that repository ARN.',
    help: 'Retire them (never revoke): encrypted-ecr grants retire --key <key> (try --dry-run first).',
    level: 'warning',
  },
  {
    id: 'undecided-grant',
    name: 'UndecidedEcrGrant',
    shortDescription: 'An ECR grant the sweep could not decide (too recent, ambiguous, other account or region, kept).',
    fullDescription: 'The grant is left alone. A too-recent grant can be decided after the time given; the others once their repository is deleted, or from their own account and region.',
    help: 'Run the sweep again later (or with --wait <seconds>): encrypted-ecr grants orphans --key <key>.',
    level: 'note',
  },
];

const regionOf = (view: SweepView, key: SweepView['keys'][number]): string => key.region ?? view.region;

/** SARIF: one result per orphaned grant (error-free warning) and per undecided grant (note); the location is the key. */
const grantsSarif = (view: SweepView, version: string): string => {
  const keyRegion = new Map(view.keys.map((k) => [k.keyArn, regionOf(view, k)]));
  const results: SarifFinding[] = [
    ...view.keys.flatMap((k) =>
      k.orphans.map((o) => ({
        ruleId: 'orphaned-grant',
        level: 'warning' as const,
        message: `grant ${o.grantId} on ${k.keyArn} is ECR's for ${o.repositoryArn} (${o.reason}). Fix: encrypted-ecr grants retire --key ${k.keyArn} --region ${regionOf(view, k)}`,
        resourceArn: k.keyArn,
        resourceName: o.grantId,
        properties: { grantId: o.grantId, repositoryArn: o.repositoryArn, reason: o.reason },
      })),
    ),
    ...view.undecided.map((u) => ({
      ruleId: 'undecided-grant',
      level: 'note' as const,
      message: `grant ${u.grantId} on ${u.keyArn} (for ${u.repositoryArn}) not decided: ${u.reason}${u.decidableAfter !== undefined ? `; decidable after ${u.decidableAfter.toISOString()}` : ''}. Then: encrypted-ecr grants orphans --key ${u.keyArn} --region ${keyRegion.get(u.keyArn) ?? view.region}`,
      resourceArn: u.keyArn,
      resourceName: u.grantId,
      properties: { grantId: u.grantId, repositoryArn: u.repositoryArn, reason: u.reason },
    })),
  ];
  return JSON.stringify(sarifLog({ ...TOOL, version }, RULES, results, { region: view.region, account: view.account }), null, 2);
};

/** What became of an orphan in a retirement (`undefined` for a sweep that retires nothing). */
const outcome = (view: SweepView, k: SweepView['keys'][number], grantId: string): string | undefined => {
  if (k.retired === undefined) return undefined;
  if (view.dryRun === true) return 'would-retire';
  if (k.retired.includes(grantId)) return 'retired';
  if ((k.alreadyRetired ?? []).includes(grantId)) return 'already-retired';
  const failed = (k.failed ?? []).find((f) => f.grantId === grantId);
  if (failed !== undefined) return `failed: ${failed.error.kind}`;
  return 'kept';
};

/**
 * JUnit: a suite per key; a case per orphan (failure, or for a retirement: pass once retired,
 * failure when it failed), a skipped case per undecided grant, and one passing case for a key with
 * neither.
 */
const grantsJunit = (view: SweepView, timestamp: string): string =>
  junitXml(
    view.dryRun === undefined ? 'encrypted-ecr grants orphans' : 'encrypted-ecr grants retire',
    view.keys.map((k) => {
      const classname = `encrypted-ecr.grants.${regionOf(view, k)}`;
      // A kept orphan is listed with the undecided grants (skipped), not twice.
      const orphans: JunitCase[] = k.orphans.flatMap((o): JunitCase[] => {
        const done = outcome(view, k, o.grantId);
        if (done === 'kept') return [];
        const message = `orphaned grant for ${o.repositoryArn} (${o.reason})`;
        return done === 'retired' || done === 'already-retired'
          ? [{ name: o.grantId, classname, outcome: 'pass' }]
          : [{ name: o.grantId, classname, outcome: 'fail', message: done === undefined ? message : `${message}: ${done}`, detail: `${k.keyArn}\n${message}\nFix: encrypted-ecr grants retire --key ${k.keyArn}` }];
      });
      const undecided: JunitCase[] = view.undecided
        .filter((u) => u.keyArn === k.keyArn)
        .map((u) => ({
          name: u.grantId,
          classname,
          outcome: 'skipped',
          message: `not decided: ${u.reason}${u.decidableAfter !== undefined ? ` (decidable after ${u.decidableAfter.toISOString()})` : ''}`,
        }));
      const cases = orphans.length + undecided.length === 0 ? [{ name: 'no orphaned grants', classname, outcome: 'pass' as const }] : [...orphans, ...undecided];
      return { name: k.keyArn, cases };
    }),
    timestamp,
  );

/** CSV: one row per orphaned or undecided grant. */
const grantsCsv = (view: SweepView): string => {
  const multi = view.keys.some((k) => k.region !== undefined || k.accountId !== undefined);
  const where = (k: SweepView['keys'][number] | undefined): string[] => (multi ? [k?.region ?? view.region, k?.accountId ?? view.account] : []);
  const byArn = new Map(view.keys.map((k) => [k.keyArn, k]));
  return csv(
    [...(multi ? ['region', 'account_id'] : []), 'key_arn', 'grant_id', 'repository_arn', 'status', 'reason', 'decidable_after', 'outcome'],
    [
      ...view.keys.flatMap((k) => k.orphans.map((o) => [...where(k), k.keyArn, o.grantId, o.repositoryArn, 'orphan', o.reason, '', outcome(view, k, o.grantId) ?? ''])),
      ...view.undecided.map((u) => [...where(byArn.get(u.keyArn)), u.keyArn, u.grantId, u.repositoryArn, 'undecided', u.reason, u.decidableAfter?.toISOString() ?? '', '']),
    ],
  );
};

/** The formats of `grants orphans` besides JSON and the table. */
export const ORPHANS_FORMATS: ReportFormats<SweepView> = {
  sarif: (view, context) => grantsSarif(view, context.version),
  junit: (view, context) => grantsJunit(view, context.now.toISOString()),
  csv: (view) => grantsCsv(view),
};

/** The formats of `grants retire` besides JSON and the table (SARIF is for findings, not for what was done). */
export const RETIRE_FORMATS: ReportFormats<SweepView> = {
  junit: (view, context) => grantsJunit(view, context.now.toISOString()),
  csv: (view) => grantsCsv(view),
};
