/** `encrypted-ecr local`: the emulator as a process, for users' own tests and manual tries. */
import { chmodSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import type { CallRecord } from './emulator/calls.js';
import { startLocalAws, type LocalAws, type LocalAwsOptions } from './emulator/local-aws.js';

/** Where the standalone emulator writes, and what stops it (for tests; defaults to the process's). */
export interface StandaloneIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves when the emulator should stop; default: the first SIGINT or SIGTERM. */
  readonly until?: Promise<void>;
  /** Called once the emulator listens. */
  readonly onStarted?: (aws: LocalAws) => void;
}

/** {@link serveLocalAws}'s options: the emulator's, and what the process does around it. */
export interface ServeLocalAwsOptions extends LocalAwsOptions {
  /**
   * Also writes the environment to this file once the emulator listens, as `NAME=value` lines
   * (docker-compose `env_file`, direnv `dotenv`, `set -a; . file`), mode 0600, replaced atomically.
   */
  readonly envFile?: string;
  /** Prints one line per request on `io.err`: service, operation, status, milliseconds (and the error code). */
  readonly logRequests?: boolean;
}

/** What a client needs to reach the emulator. */
export interface LocalAwsEnvironment {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * The `AWS_*` variables for a client of the emulator, in print order. `AWS_REGION` is what the
 * SDKs read; `AWS_DEFAULT_REGION` is what the AWS CLI v1 reads (v2 reads both, `AWS_REGION` first).
 */
const localAwsVariables = (env: LocalAwsEnvironment): readonly (readonly [string, string])[] => [
  ['AWS_ENDPOINT_URL', env.endpoint],
  ['AWS_REGION', env.region],
  ['AWS_DEFAULT_REGION', env.region],
  ['AWS_ACCESS_KEY_ID', env.credentials.accessKeyId],
  ['AWS_SECRET_ACCESS_KEY', env.credentials.secretAccessKey],
];

const SAFE = /^[\w@%+=:,./-]+$/;

const shellQuote = (value: string): string => (SAFE.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

/** Double quotes (docker compose v2 and dotenv read them) only when needed. */
const dotenvQuote = (value: string): string => (SAFE.test(value) ? value : `"${value.replace(/["\\$`]/g, (c) => `\\${c}`)}"`);

/**
 * The `export NAME=value` lines for a POSIX shell (`eval "$(encrypted-ecr local --print-env)"`).
 *
 * @example
 * ```ts
 * for (const line of exportLines(env)) console.log(line); // export AWS_ENDPOINT_URL=http://127.0.0.1:4566 …
 * ```
 */
export const exportLines = (env: LocalAwsEnvironment): string[] => localAwsVariables(env).map(([name, value]) => `export ${name}=${shellQuote(value)}`);

/** Writes the variables as `NAME=value` lines: to a temporary file next to `path`, then renamed over it. */
const writeEnvFile = (path: string, env: LocalAwsEnvironment): void => {
  const text = `# encrypted-ecr local: the environment of its emulator\n${localAwsVariables(env).map(([name, value]) => `${name}=${dotenvQuote(value)}`).join('\n')}\n`;
  const temporary = join(dirname(path), `.${basename(path)}.${String(process.pid)}.tmp`);
  try {
    // It holds a secret key (a test one, but the user may have given their own): owner only.
    writeFileSync(temporary, text, { mode: 0o600 });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
};

/** One `--log-requests` line: `kms CreateGrant 200 3ms`, with the error code and the service calling on the caller's behalf. */
const requestLine = (call: CallRecord): string =>
  [
    call.viaService === undefined ? '#' : `# via ${call.viaService}:`,
    call.service,
    call.operation,
    String(call.status),
    call.durationMs === undefined ? '-' : `${String(call.durationMs)}ms`,
    ...(call.error !== undefined ? [call.error] : []),
  ].join(' ');

const signalled = (): Promise<void> =>
  new Promise((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

/** Why the emulator could not start, in words a user can act on. */
const startFailure = (error: unknown, port: number | undefined): string => {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  if (code === 'EADDRINUSE') {
    return `port ${String(port)} on 127.0.0.1 is already in use (another emulator such as LocalStack, or a running \`encrypted-ecr local\`?): stop it, or pick another port with --port <n> (--port 0: any free port)`;
  }
  if (code === 'EACCES') return `not allowed to listen on port ${String(port)} on 127.0.0.1: pick a port above 1023 with --port <n>`;
  return error instanceof Error ? error.message : String(error);
};

/**
 * What `encrypted-ecr local` runs once its options are parsed: starts the emulator with `options`,
 * prints the `export …` lines on `io.out` (and writes them to `options.envFile`), a status line on
 * `io.err` (and with `logRequests` one line per request), and stays up until `io.until` (default:
 * the first SIGINT or SIGTERM), then stops it. Answers the process exit code: 0, or 1 when the
 * emulator cannot start (e.g. the port is taken) or the env file cannot be written.
 *
 * @example
 * ```ts
 * process.exitCode = await serveLocalAws({ regions: ['eu-west-1'], port: 4566, envFile: '.env.aws', logRequests: true });
 * ```
 */
export const serveLocalAws = async (
  options: ServeLocalAwsOptions,
  io: StandaloneIo = { out: (line) => console.log(line), err: (line) => console.error(line) },
): Promise<number> => {
  const { envFile, logRequests, ...emulatorOptions } = options;
  let aws: LocalAws;
  try {
    aws = await startLocalAws({
      ...emulatorOptions,
      ...(logRequests === true
        ? {
            onCall: (call: CallRecord) => {
              io.err(requestLine(call));
              options.onCall?.(call);
            },
          }
        : {}),
    });
  } catch (error) {
    io.err(`encrypted-ecr: Unexpected: local: ${startFailure(error, options.port)}`);
    return 1;
  }
  if (envFile !== undefined) {
    try {
      writeEnvFile(envFile, aws);
    } catch (error) {
      await aws.stop();
      io.err(`encrypted-ecr: Unexpected: local: cannot write the environment file ${envFile}: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  for (const line of exportLines(aws)) io.out(line);
  io.err(`# local AWS emulator on ${aws.endpoint} (regions ${aws.regions.join(', ')}, account ${aws.account}); Ctrl-C stops it`);
  if (envFile !== undefined) io.err(`# environment written to ${envFile}`);
  io.err(`# AWS variants: ${Object.entries(aws.variants).map(([name, value]) => `${name}=${String(value)}`).join(' ')}`);
  io.onStarted?.(aws);
  await (io.until ?? signalled());
  await aws.stop();
  return 0;
};
