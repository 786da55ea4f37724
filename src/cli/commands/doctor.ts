/** `doctor`: read-only checks as a checklist (✓ pass, ✗ fail, ? unknown); `--live` adds the throwaway probes of `npm run test:aws`. */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { DoctorCheck, DoctorInput, DoctorReport } from '../../index.js';
import type { LiveReport, ProbeCredentials } from '../../testing/index.js';
import { type AwsOptions, createRegistry, fail, isFailure, show, startRun, withAwsOptions, withProgressOption } from '../context.js';
import { EXIT, exitCodeFor } from '../exit-codes.js';
import { loadTestKit } from '../library.js';
import { type CliIo, outputFormat, reportError } from '../output.js';
import { confirm } from '../terminal.js';

interface DoctorOptions extends AwsOptions {
  readonly kmsKey?: string;
  readonly repository?: string;
  readonly live?: boolean;
  readonly yes?: boolean;
  readonly withoutRetireRole?: string;
  readonly report?: string;
}

const SYMBOL = { pass: '✓', fail: '✗', unknown: '?' } as const;
const LABEL: Readonly<Record<DoctorCheck['check'], string>> = {
  region: 'region',
  credentials: 'credentials',
  kmsKey: 'kms key',
  'permissions:create': 'create permissions',
  'permissions:delete': 'delete permissions',
  'permissions:migrate': 'migrate permissions',
};

const checklist = (report: DoctorReport, live: LiveReport | undefined, reportPath: string | undefined): string => {
  const width = Math.max(...report.checks.map((c) => LABEL[c.check].length));
  const lines = report.checks.flatMap((c) => [
    `${SYMBOL[c.status]} ${LABEL[c.check].padEnd(width)}  ${c.message}`,
    ...(c.notes ?? []).map((n) => `  ${' '.repeat(width)}  note: ${n}`),
  ]);
  lines.push(`(permissions simulated for repository ${report.repositoryName})`);
  if (live !== undefined) {
    lines.push('', `live probes (${live.prefix}, key ${live.keyArn ?? '?'}):`);
    for (const o of Object.values(live.observations)) {
      const symbol = o.agrees === null ? '?' : o.agrees ? '✓' : '✗';
      lines.push(`${symbol} ${o.id}${o.agrees === true ? '' : `  observed ${JSON.stringify(o.observed)}; expected ${JSON.stringify(o.expected)}`}`);
    }
    if (live.error !== undefined) lines.push(`stopped: ${live.error}`);
    const { repositoriesDeleted, grantsRetired, leftovers } = live.cleanup;
    lines.push(
      `cleanup: ${repositoriesDeleted.length} repositories deleted, ${grantsRetired.length} grants retired, ` +
        (leftovers.length === 0 ? 'nothing left' : `LEFT: ${leftovers.join('; ')}`),
    );
    if (reportPath !== undefined) lines.push(`report: ${reportPath}`);
  }
  return lines.join('\n');
};

/** The exit code: the first failed check's (its typed error's code, else by check), then the live probes'. */
const exitOf = (report: DoctorReport, live: LiveReport | undefined): number => {
  const failed = report.checks.find((c) => c.status === 'fail');
  if (failed !== undefined) {
    if (failed.error !== undefined) return exitCodeFor(failed.error);
    return failed.check === 'region' ? EXIT.usage : failed.check === 'kmsKey' ? EXIT.key : EXIT.permissions;
  }
  if (live !== undefined && (live.error !== undefined || live.cleanup.leftovers.length > 0 || Object.values(live.observations).some((o) => o.agrees === false))) {
    return EXIT.unexpected;
  }
  return EXIT.ok;
};

/** Registers `doctor`. */
export const registerDoctorCommand = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  withProgressOption(withAwsOptions(
    program
      .command('doctor')
      .description(
        'read-only checks: credentials, region, a KMS key, and permissions for create, delete and migrate (✓ ✗ ?); ' +
          '--live also runs throwaway probes in the account',
      )
      .option('--kms-key <key>', 'check this KMS key (id, ARN, alias); alias/aws/ecr creates the AWS-managed key if the account has none')
      .option('--repository <name>', 'the repository name to simulate permissions for (default encrypted-ecr-doctor-check)')
      .option('--live', 'also create and delete throwaway encrypted-ecr-probe-* repositories to observe AWS behaviours (asks first)')
      .option('--without-retire-role <arn>', 'with --live: a role to assume that lacks kms:RetireGrant (default: ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN)')
      .option('--report <file>', 'with --live: write the observations report (JSON) here')
      .option('-y, --yes', 'do not ask before --live (required off a terminal)'),
  )).action(async (options: DoctorOptions) => {
    setExit(await runDoctor(io, options));
  });
};

const runDoctor = async (io: CliIo, options: DoctorOptions): Promise<number> => {
  const run = startRun(io, options);
  if (isFailure(run)) return fail({ io, format: outputFormat(undefined, io) }, run);
  const live = options.live === true;
  // Off a terminal, refuse --live without --yes before any call.
  if (live && options.yes !== true && (!io.stdinIsTty || !io.stderrIsTty)) {
    return fail(run, { kind: 'ConfirmationRequired', message: 'doctor --live creates and deletes throwaway repositories: off a terminal, pass --yes' });
  }
  const registry = await createRegistry(io, options);
  if (isFailure(registry)) return fail(run, registry);
  try {
    const input: DoctorInput = {
      ...(options.kmsKey !== undefined ? { kmsKey: options.kmsKey } : {}),
      ...(options.repository !== undefined ? { repositoryName: options.repository } : {}),
    };
    const outcome = await registry.doctor(input);
    if (outcome.isErr()) {
      reportError(io, run.format, outcome.error);
      return exitCodeFor(outcome.error);
    }
    const report = outcome.value;
    let liveReport: LiveReport | undefined;
    if (live && report.checks.find((c) => c.check === 'credentials')?.status === 'pass') {
      const confirmed = await confirm(io, `Create and delete throwaway repositories ${'encrypted-ecr-probe-*'} in ${report.region}?`, options.yes === true);
      if (confirmed !== true) return fail(run, confirmed);
      const endpoint = options.endpointUrl ?? (io.env.AWS_ENDPOINT_URL || undefined);
      const config = (credentials?: ProbeCredentials) => ({
        region: report.region,
        ...(endpoint !== undefined ? { endpoint } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
      });
      const role = options.withoutRetireRole ?? (io.env.ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN || undefined);
      // Only --live loads the probes (with the test kit's image helpers) and the four SDK clients.
      const [{ runLiveProbes }, { ECRClient }, { KMSClient }, { STSClient }, { IAMClient }] = await Promise.all([
        loadTestKit(),
        import('@aws-sdk/client-ecr'),
        import('@aws-sdk/client-kms'),
        import('@aws-sdk/client-sts'),
        import('@aws-sdk/client-iam'),
      ]);
      liveReport = await runLiveProbes({
        region: report.region,
        clients: (credentials) => ({
          ecr: new ECRClient(config(credentials)),
          kms: new KMSClient(config(credentials)),
          sts: new STSClient(config(credentials)),
          iam: new IAMClient(config(credentials)),
        }),
        ...(options.kmsKey !== undefined ? { kmsKey: options.kmsKey } : {}),
        ...(role !== undefined ? { noRetireRoleArn: role } : {}),
        log: (line) => run.progress.update(line, 0, undefined),
      });
      run.progress.done();
      if (options.report !== undefined) writeFileSync(options.report, `${JSON.stringify(liveReport, null, 2)}\n`);
    }
    const shown = await show(run, { ...report, ...(liveReport ? { live: liveReport } : {}) }, () => checklist(report, liveReport, options.report));
    return shown ?? exitOf(report, liveReport);
  } finally {
    run.progress.done();
    registry.destroy();
  }
};
