/** `audit`, `grants orphans` and `grants retire`: thin over `audit`, `findOrphanedGrants` and `retireOrphanedGrants`. */
import type { Command } from 'commander';
import type { AuditProgress, AuditReport, AuditRequirement } from '../../operations/audit.js';
import type { KeyGrantReport, OrphanedGrantsReport, OrphanedGrantsRetirement } from '../../operations/orphaned-grants.js';
import { type AwsOptions, fail, finish, withAwsOptions, withRegistry } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { type CliIo, renderTable } from '../output.js';
import { confirm } from '../terminal.js';

interface AuditOptions extends AwsOptions {
  readonly require?: string;
  readonly allowedKeys?: readonly string[];
  readonly pushesPerMonth?: string;
  readonly pullsPerMonth?: string;
  readonly layersPerImage?: string;
}

interface GrantOptions extends AwsOptions {
  readonly key?: readonly string[];
  readonly dryRun?: boolean;
  readonly concurrency?: string;
  readonly yes?: boolean;
}

/** Comma-separated and repeatable: `--allowed-keys a,b --allowed-keys c`. */
const collectList = (value: string, previous: readonly string[] | undefined): string[] => [
  ...(previous ?? []),
  ...value.split(',').map((v) => v.trim()).filter((v) => v !== ''),
];
const collect = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), value];

const usd = (n: number): string => `$${n.toFixed(2)}`;
const short = (arn: string | undefined): string => (arn === undefined ? '' : arn.replace(/^arn:[^:]+:kms:[^:]+:\d{12}:key\//, 'key/'));

const PHASES: Readonly<Record<AuditProgress['phase'], string>> = {
  repositories: 'listing repositories',
  keys: 'describing keys',
  grants: 'listing grants',
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
      k.keyArn,
      k.keyManager ?? '?',
      k.keyState ?? '?',
      String(k.repositories.length),
      k.grants ? String(k.grants.total) : '?',
      k.grants ? String(k.grants.orphans.length) : '?',
      k.grants?.headroom.remaining === undefined ? (k.grants ? 'no quota' : '?') : String(k.grants.headroom.remaining),
      usd(k.estimatedMonthlyCost),
    ]),
  );
  const c = report.cost;
  return [
    repositories,
    '',
    keys,
    '',
    c.requestsEstimated
      ? `estimated KMS cost: ${usd(c.total)}/month (${usd(c.keys)} for customer-managed keys, ${usd(c.requests)} for ${c.requestsPerMonth} requests; ` +
        `${c.assumptions.pushesPerMonth} pushes and ${c.assumptions.pullsPerMonth} pulls a month per repository, ${c.assumptions.layersPerImage} blobs an image)`
      : `estimated KMS cost: ${usd(c.keys)}/month for customer-managed keys; request cost not estimated (give --pushes-per-month / --pulls-per-month)`,
    ...c.caveats.filter((caveat) => !caveat.startsWith('request cost not estimated')).map((caveat) => `  note: ${caveat}`),
    `${report.summary.repositories} repositories, ${report.summary.nonCompliant} non-compliant, ${report.summary.unknown} unknown under require=${report.rule.require}` +
      `${report.rule.allowedKeys ? ` and ${report.rule.allowedKeys.length} allowed key(s)` : ''}; ${report.summary.orphanedGrants} orphaned grant(s)`,
  ].join('\n');
};

const keyRows = (keys: readonly KeyGrantReport[]): string[][] =>
  keys.map((k) => [
    k.keyArn,
    k.keyManager,
    String(k.totalGrants),
    String(k.ecrGrants),
    String(k.orphans.length),
    String(k.unverifiable.length),
    k.headroom.remaining === undefined ? 'no quota' : String(k.headroom.remaining),
  ]);
const KEY_HEADERS = ['KEY', 'MANAGER', 'GRANTS', 'ECR', 'ORPHANS', 'UNVERIFIABLE', 'HEADROOM'];

const orphansTable = (report: OrphanedGrantsReport): string =>
  [
    renderTable(KEY_HEADERS, keyRows(report.keys)),
    '',
    report.keys.some((k) => k.orphans.length > 0)
      ? renderTable(
          ['KEY', 'GRANT', 'REPOSITORY', 'REASON'],
          report.keys.flatMap((k) => k.orphans.map((o) => [short(k.keyArn), o.grantId, o.repositoryArn, o.reason])),
        )
      : 'no orphaned grants',
    ...report.skipped.map((s) => `skipped ${s.keyArn}: ${s.error.kind}`),
  ].join('\n');

const retireTable = (report: OrphanedGrantsRetirement): string =>
  [
    renderTable(
      ['KEY', 'ORPHANS', 'RETIRED', 'ALREADY RETIRED', 'FAILED'],
      report.keys.map((k) => [k.keyArn, String(k.orphans.length), String(k.retired.length), String(k.alreadyRetired.length), String(k.failed.length)]),
    ),
    ...report.keys.flatMap((k) => k.failed.map((f) => `failed ${f.grantId} on ${short(k.keyArn)}: ${f.error.kind}`)),
    ...report.skipped.map((s) => `skipped ${s.keyArn}: ${s.error.kind}`),
    report.dryRun ? 'dry run: nothing was retired' : '',
  ]
    .filter((line) => line !== '')
    .join('\n');

/** Registers `audit` and `grants orphans|retire`. */
export const registerAuditAndGrantCommands = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  withAwsOptions(
    program
      .command('audit')
      .description('every repository of the region: encryption, compliance, orphaned grants, estimated KMS cost; exit 9 when one is not compliant')
      .option('--require <rule>', 'cmk (customer-managed key), kms (any KMS key) or any, any case', 'any')
      .option('--allowed-keys <keys>', 'KMS keys repositories may use (comma-separated, repeatable; ids, ARNs or aliases)', collectList)
      .option('--pushes-per-month <n>', 'image pushes a month per KMS repository, for the cost estimate', '0')
      .option('--pulls-per-month <n>', 'image pulls a month per KMS repository, for the cost estimate', '0')
      .option('--layers-per-image <n>', 'blobs per image (layers and config), for the cost estimate', '5'),
  ).action(async (options: AuditOptions) => {
    setExit(
      await withRegistry(io, options, (run, registry) =>
        finish(
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
          auditTable,
          (report) => (report.compliant ? EXIT.ok : EXIT.nonCompliant),
        ),
      ),
    );
  });

  const grants = program.command('grants').description('KMS grants ECR left behind');
  withAwsOptions(
    grants
      .command('orphans')
      .description('find grants of deleted repositories (or older incarnations of a name); reads only')
      .option('--key <key>', 'sweep only this key (repeatable; default: every customer-managed key and aws/ecr)', collect),
  ).action(async (options: GrantOptions) => {
    setExit(
      await withRegistry(io, options, (run, registry) =>
        finish(run, registry.findOrphanedGrants(options.key !== undefined ? { keys: options.key } : {}), orphansTable),
      ),
    );
  });

  withAwsOptions(
    grants
      .command('retire')
      .description('retire the orphaned grants (never revokes, never touches a live repository)')
      .option('--key <key>', 'sweep only this key (repeatable)', collect)
      .option('--dry-run', 'show what would be retired, retire nothing')
      .option('--concurrency <n>', 'RetireGrant calls in flight, 1-30', '4')
      .option('-y, --yes', 'do not ask for confirmation (required off a terminal)'),
  ).action(async (options: GrantOptions) => {
    setExit(
      await withRegistry(io, options, async (run, registry) => {
        const dryRun = options.dryRun === true;
        const keys = options.key !== undefined ? { keys: options.key } : {};
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
          registry.retireOrphanedGrants({ ...keys, dryRun, concurrency: Number(options.concurrency ?? 4) }),
          retireTable,
          (report) => (report.keys.some((k) => k.failed.length > 0) ? EXIT.partial : EXIT.ok),
        );
      }),
    );
  });
};
