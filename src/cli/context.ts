/**
 * What every AWS command shares: the AWS CLI's conventions for region, profile and endpoint, the
 * registry built from them, and how a command's outcome becomes output and an exit code.
 */
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { ResultAsync } from 'neverthrow';
import type { EncryptedRegistry, EncryptedRegistryOptions, RegistryError } from '../index.js';
import { CLI_FAILURE_EXIT, EXIT, exitCodeFor } from './exit-codes.js';
import { loadLibrary } from './library.js';
import { type CliFailure, type CliIo, isCliFailureKind, type OutputFormat, outputFormat, reportError } from './output.js';
import { emit } from './report/emit.js';
import { parseQuery, type Query } from './report/query.js';
import { cliVersion, type ReportContext, type View } from './report/spec.js';
import { setTableWidth, terminalWidth } from './report/table.js';
import { createProgress, type Progress, progressEnabled } from './terminal.js';

/** The options every AWS command takes. */
export interface AwsOptions {
  readonly region?: string;
  readonly profile?: string;
  readonly endpointUrl?: string;
  readonly output?: string;
  /** `--query <JMESPath>`, applied to the JSON result. */
  readonly query?: string;
  /** `--report-file <path>` of the report commands. */
  readonly reportFile?: string;
  /** `--fail-on <what>` of the report commands (each command parses its own). */
  readonly failOn?: string;
  readonly progress?: boolean;
  /** `--grant-wait <seconds>` of `create` and `delete`: how long to wait for KMS grants (the registry's `poll.timeoutMs`). */
  readonly grantWait?: string;
  /** `--allow-insecure-http`: plain http:// to a non-loopback endpoint (the registry's `allowInsecureHttp`). */
  readonly allowInsecureHttp?: boolean;
}

/** The formats every command prints. */
const BASIC_FORMATS: readonly string[] = ['json', 'table'];

/** Adds `--region`, `--profile`, `--endpoint-url`, `--allow-insecure-http`, `--output` (`formats`) and `--query` to a command. */
export const withAwsOptions = (command: Command, formats: readonly string[] = BASIC_FORMATS): Command =>
  withOutputOption(command, formats)
    .option('--region <region>', 'AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)')
    .option('--profile <name>', 'named profile from ~/.aws/config and ~/.aws/credentials (default: AWS_PROFILE)')
    .option('--endpoint-url <url>', 'custom endpoint for every service, e.g. the local emulator (default: AWS_ENDPOINT_URL)')
    .option(
      '--allow-insecure-http',
      'accept a plain http:// endpoint that is not loopback, e.g. an emulator at a CI service name (default: ENCRYPTED_ECR_ALLOW_INSECURE_HTTP=1); warns',
    );

/**
 * Adds `--no-progress`, only to the commands that draw progress (`migrate`, `migrate resume`,
 * `audit`, `doctor --live`): elsewhere it would be a flag that does nothing.
 */
export const withProgressOption = (command: Command): Command =>
  command.option('--no-progress', 'never draw progress on stderr (drawn only when stderr is a terminal and CI is unset)');

/** Adds `--grant-wait` (create and delete wait for eventually consistent KMS grants). */
export const withGrantWait = (command: Command): Command =>
  command.option('--grant-wait <seconds>', 'how long to wait for KMS grants to appear or be retired (default 120)');

/** Adds `--output` (one of `formats`) and `--query`. */
export const withOutputOption = (command: Command, formats: readonly string[] = BASIC_FORMATS): Command =>
  command
    .option('--output <format>', `${formats.slice(0, -1).join(', ')} or ${formats.at(-1) ?? ''} (default: table on a terminal, json when piped)`)
    .option('--query <jmespath>', 'a JMESPath expression applied to the JSON result before printing, as the AWS CLI does');

/**
 * Adds `--report-file` and `--fail-on` to a report command; `failOn` is the option's help (its
 * values and default).
 */
export const withReportOptions = (command: Command, failOn: string): Command =>
  command
    .option('--report-file <path>', 'write the --output report to this file (atomically; --query does not filter it) and print the table on stdout')
    .option('--fail-on <what>', failOn);

/** A command's run: its output format, progress bar, and the registry once built. */
export interface Run {
  readonly io: CliIo;
  /** How errors are printed: `json` adds the JSON error object on stdout. */
  readonly format: OutputFormat;
  /** The format the value is printed in (`json`, `table`, or a report format). */
  readonly output: string;
  readonly query?: Query;
  readonly reportFile?: string;
  readonly context: ReportContext;
  readonly progress: Progress;
}

/** Why `--report-file` cannot be written, checked before any AWS call; `undefined` when it can. */
const unwritable = (path: string): string | undefined => {
  const target = resolve(path);
  try {
    if (statSync(target, { throwIfNoEntry: false })?.isDirectory() === true) return `--report-file: ${path} is a directory`;
    accessSync(dirname(target), constants.W_OK);
    return undefined;
  } catch (error) {
    return `--report-file: cannot write into ${dirname(target)}: ${error instanceof Error ? error.message : String(error)}`;
  }
};

/**
 * Checks `--output` (one of `formats`), `--query` (JMESPath) and `--report-file`, all before any
 * AWS call, and picks the format; sets the width tables are cut to.
 */
export const startRun = (io: CliIo, options: AwsOptions, formats: readonly string[] = BASIC_FORMATS): Run | CliFailure => {
  setTableWidth(terminalWidth(io));
  const given = options.output?.toLowerCase();
  if (given !== undefined && !formats.includes(given)) {
    return { kind: 'UsageError', message: `--output must be ${formats.slice(0, -1).join(', ')} or ${formats.at(-1) ?? ''}, not "${options.output ?? ''}"` };
  }
  const query = options.query === undefined ? undefined : parseQuery(options.query);
  if (typeof query === 'string') return { kind: 'UsageError', message: `--query: not a JMESPath expression (${query}): ${options.query ?? ''}` };
  const reportFile = options.reportFile;
  const output = given ?? (reportFile !== undefined ? 'json' : outputFormat(undefined, io));
  if (query !== undefined && reportFile === undefined && output !== 'json' && output !== 'table') {
    return { kind: 'UsageError', message: `--query applies to json and table output, not to --output ${output} (it never filters a --report-file)` };
  }
  const cannotWrite = reportFile === undefined ? undefined : unwritable(reportFile);
  if (cannotWrite !== undefined) return { kind: 'UsageError', message: cannotWrite };
  return {
    io,
    format: output === 'json' && reportFile === undefined ? 'json' : 'table',
    output,
    ...(query !== undefined ? { query } : {}),
    ...(reportFile !== undefined ? { reportFile } : {}),
    context: { version: cliVersion(), now: new Date() },
    progress: createProgress(io, progressEnabled(io, options.progress !== false)),
  };
};

const NO_REGION =
  'no AWS region: pass --region, set AWS_REGION (or AWS_DEFAULT_REGION), or set a region in your profile';

/**
 * The shared config files the SDK reads profiles from: `AWS_CONFIG_FILE` and
 * `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials` (as
 * `getConfigFilepath`/`getCredentialsFilepath` of the SDK's shared-ini-file-loader).
 */
const sharedConfigFiles = (env: Readonly<Record<string, string | undefined>>): { readonly config: string; readonly credentials: string } => {
  const home = nonEmpty(env.HOME) ?? nonEmpty(env.USERPROFILE) ?? homedir();
  return {
    config: nonEmpty(env.AWS_CONFIG_FILE) ?? join(home, '.aws', 'config'),
    credentials: nonEmpty(env.AWS_SHARED_CREDENTIALS_FILE) ?? join(home, '.aws', 'credentials'),
  };
};

/**
 * The profile names in one shared file, as the SDK's `loadSharedConfigFiles` finds them: in the
 * config file `[default]` and `[profile name]` (`[name]` alone is not a profile there), in the
 * credentials file `[name]`; a section counts only once it holds a `key = value` line (the SDK's
 * `parseIni` keeps no empty section). An unreadable file holds no profile (the SDK swallows it too).
 */
const profilesIn = (file: string, kind: 'config' | 'credentials'): ReadonlySet<string> => {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set();
  }
  const names = new Set<string>();
  let section: string | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.split(/(^|\s)[;#]/)[0]?.trim() ?? '';
    if (line.startsWith('[') && line.endsWith(']')) {
      const name = line.slice(1, -1);
      const prefixed = /^profile\s(["'])?([\w-@+.%:/]+)\1$/.exec(name);
      section = kind === 'credentials' ? name : prefixed !== null ? prefixed[2] : name === 'default' ? 'default' : undefined;
    } else if (section !== undefined) {
      const at = line.indexOf('=');
      if (at > 0 && line.slice(at + 1).trim() !== '') names.add(section);
    }
  }
  return names;
};

/** A failure when `--profile` names a profile neither shared file defines (the SDK would fail later, or quietly find no region). */
const unknownProfile = (io: CliIo, profile: string): CliFailure | undefined => {
  const files = sharedConfigFiles(io.env);
  if (profilesIn(files.config, 'config').has(profile) || profilesIn(files.credentials, 'credentials').has(profile)) return undefined;
  return { kind: 'UsageError', message: `--profile: profile ${profile} not found in ${files.config} or ${files.credentials}` };
};

/**
 * The registry for the options, resolving the region the AWS CLI way: `--region`, `AWS_REGION`,
 * `AWS_DEFAULT_REGION`, then the SDK's chain (the profile's `region`). Credentials come from the
 * SDK's default provider chain; `--profile` selects the profile by setting `AWS_PROFILE` before
 * any client exists.
 */
export const createRegistry = async (
  io: CliIo,
  options: AwsOptions,
): Promise<EncryptedRegistry | CliFailure> => {
  const registryOptions = await registryOptionsFor(io, options);
  if (isFailure(registryOptions)) return registryOptions;
  const library = await loadLibrary();
  return new library.EncryptedRegistry(registryOptions);
};

/** The registry options of {@link createRegistry} (also the base of a fleet sweep's): profile, region, endpoint, waits. */
export const registryOptionsFor = async (io: CliIo, options: AwsOptions): Promise<EncryptedRegistryOptions | CliFailure> => {
  if (options.profile !== undefined) {
    const missing = unknownProfile(io, options.profile);
    if (missing !== undefined) return missing;
    process.env.AWS_PROFILE = options.profile;
  }
  let region = options.region ?? nonEmpty(io.env.AWS_REGION) ?? nonEmpty(io.env.AWS_DEFAULT_REGION);
  if (region === undefined) {
    // The SDK is loaded only by a command that calls AWS.
    const { ECRClient } = await import('@aws-sdk/client-ecr');
    const probe = new ECRClient({});
    try {
      region = await probe.config.region();
    } catch {
      return { kind: 'UsageError', message: NO_REGION };
    } finally {
      probe.destroy();
    }
    if (!region) return { kind: 'UsageError', message: NO_REGION };
  }
  const endpoint = options.endpointUrl ?? nonEmpty(io.env.AWS_ENDPOINT_URL);
  if (endpoint !== undefined && !URL.canParse(endpoint)) {
    // Not echoed: the text may hold credentials (user:password@), and a redaction of text that is not a URL is a guess.
    return { kind: 'UsageError', message: '--endpoint-url: not a URL (e.g. http://127.0.0.1:4566)' };
  }
  const wait = options.grantWait === undefined ? undefined : Number(options.grantWait);
  if (wait !== undefined && !(Number.isFinite(wait) && wait >= 0)) {
    return { kind: 'UsageError', message: `--grant-wait must be a number of seconds, not "${options.grantWait ?? ''}"` };
  }
  const insecure = allowInsecureHttp(io, options);
  if (isFailure(insecure)) return insecure;
  return {
    clientConfig: { region, ...(endpoint !== undefined ? { endpoint } : {}) },
    ...(wait !== undefined ? { poll: { timeoutMs: wait * 1000 } } : {}),
    ...(insecure !== false ? { allowInsecureHttp: true, logger: insecureHttpWarning(io, insecure) } : {}),
  };
};

/** `--allow-insecure-http`, else `ENCRYPTED_ECR_ALLOW_INSECURE_HTTP` (1/true or 0/false/empty; anything else is a usage error). */
const allowInsecureHttp = (io: CliIo, options: AwsOptions): string | false | CliFailure => {
  if (options.allowInsecureHttp === true) return '--allow-insecure-http';
  const value = io.env.ENCRYPTED_ECR_ALLOW_INSECURE_HTTP?.trim().toLowerCase();
  if (value === undefined || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return 'ENCRYPTED_ECR_ALLOW_INSECURE_HTTP';
  return { kind: 'UsageError', message: `ENCRYPTED_ECR_ALLOW_INSECURE_HTTP must be 1 or 0 (true or false), not "${io.env.ENCRYPTED_ECR_ALLOW_INSECURE_HTTP ?? ''}"` };
};

/** The streams already warned, so a run with several registries (several regions) warns once. */
const warnedOfInsecureHttp = new WeakSet<CliIo>();

/** A logger that prints the registry's plain-http warning, once per run, naming the hosts; the library's other log lines stay silent. */
const insecureHttpWarning = (io: CliIo, optIn: string): NonNullable<EncryptedRegistryOptions['logger']> => ({
  debug: () => undefined,
  info: () => undefined,
  warn: (_message, fields) => {
    const hosts = fields?.insecureHttpHosts;
    if (!Array.isArray(hosts) || warnedOfInsecureHttp.has(io)) return;
    warnedOfInsecureHttp.add(io);
    io.err(`encrypted-ecr: warning: plain HTTP to ${hosts.map(String).join(', ')} (${optIn}): requests and image layers travel unencrypted`);
  },
});

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === '' ? undefined : value);

/** Whether a value is a CLI failure rather than what was asked for. */
export const isFailure = (value: unknown): value is CliFailure =>
  typeof value === 'object' && value !== null && 'kind' in value && isCliFailureKind(value.kind);

/** Reports a CLI failure and answers its exit code. */
export const fail = (run: Pick<Run, 'io' | 'format'>, failure: CliFailure): number => {
  reportError(run.io, run.format, failure);
  return CLI_FAILURE_EXIT[failure.kind];
};

/**
 * Prints a value in the run's format (`--query` applied, `--report-file` written); answers the
 * exit code of a report file that could not be written, else `undefined`.
 */
export const show = async <T>(run: Run, value: T, view: View<T> | ((value: T) => string)): Promise<number | undefined> => {
  const failed = await emit(run, value, typeof view === 'function' ? { table: view } : view);
  return failed === undefined ? undefined : fail(run, { kind: 'Unexpected', message: failed });
};

/**
 * Runs a library operation and prints its value (JSON, `table(value)`, or a report format of
 * `view`), or its error; answers the exit code (`exit(value)` for a value, default 0).
 */
export const finish = async <T>(
  run: Run,
  result: ResultAsync<T, RegistryError>,
  view: View<T> | ((value: T) => string),
  exit: (value: T) => number = () => EXIT.ok,
): Promise<number> => {
  const outcome = await result;
  run.progress.done();
  if (outcome.isErr()) {
    reportError(run.io, run.format, outcome.error);
    return exitCodeFor(outcome.error);
  }
  return (await show(run, outcome.value, view)) ?? exit(outcome.value);
};

/** Builds the run and the registry, runs `body`, and always destroys the registry. */
export const withRegistry = async (
  io: CliIo,
  options: AwsOptions,
  body: (run: Run, registry: EncryptedRegistry) => Promise<number>,
  formats: readonly string[] = BASIC_FORMATS,
): Promise<number> => {
  const run = startRun(io, options, formats);
  if (isFailure(run)) return fail({ io, format: outputFormat(undefined, io) }, run);
  const registry = await createRegistry(io, options);
  if (isFailure(registry)) return fail(run, registry);
  try {
    return await body(run, registry);
  } finally {
    run.progress.done();
    registry.destroy();
  }
};
