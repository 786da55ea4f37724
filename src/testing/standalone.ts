/** `encrypted-ecr local`: the emulator as a process, for users' own tests and manual tries. */
import { startLocalAws, type LocalAws, type LocalAwsOptions } from './emulator/local-aws.js';
import { AWS_VARIANT_VALUES, type AwsVariants, DEFAULT_AWS_VARIANTS, resolveAwsVariants } from './emulator/variants.js';

/** Where the standalone emulator writes, and what stops it (for tests; defaults to the process's). */
export interface StandaloneIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Resolves when the emulator should stop; default: the first SIGINT or SIGTERM. */
  readonly until?: Promise<void>;
  /** Called once the emulator listens. */
  readonly onStarted?: (aws: LocalAws) => void;
}

const VARIANT_HELP = [
  ...Object.entries(AWS_VARIANT_VALUES).map(([name, values]) => `  ${name}=${values.join('|')} (default ${String(DEFAULT_AWS_VARIANTS[name as keyof typeof AWS_VARIANT_VALUES])})`),
  '  grantConsistencyDelayMs=<0..300000> (default 0)',
].join('\n');

const USAGE = `Usage: encrypted-ecr local [--port <n>] [--region <r>]... [--account <id>]... [--data-dir <dir>]
          [--access-key-id <id> --secret-access-key <secret>] [--grant-consistency-delay-ms <n>]
          [--aws-variant <name>=<value>]...

Starts the local AWS emulator (ECR, KMS, IAM, STS) on 127.0.0.1 and prints the environment to use it.
Runs until interrupted (Ctrl-C).

--aws-variant picks how the emulator plays a behaviour AWS does not document (repeatable):
${VARIANT_HELP}`;

/** `name=value` of `--aws-variant` into `variants`, or why not. */
const addVariant = (variants: Record<string, string | number>, value: string): string | undefined => {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  const setting = eq < 0 ? '' : value.slice(eq + 1);
  if (name === 'grantConsistencyDelayMs') {
    const delay = Number(setting);
    if (setting === '' || !Number.isInteger(delay)) return `--aws-variant: grantConsistencyDelayMs needs a number of milliseconds: ${value}`;
    variants[name] = delay;
    return undefined;
  }
  if (!Object.hasOwn(AWS_VARIANT_VALUES, name)) {
    return `--aws-variant: unknown variant "${name}" (known: ${[...Object.keys(AWS_VARIANT_VALUES), 'grantConsistencyDelayMs'].join(', ')})`;
  }
  variants[name] = setting;
  return undefined;
};

const parseArgs = (argv: readonly string[]): LocalAwsOptions | string => {
  const regions: string[] = [];
  const accounts: string[] = [];
  let port: number | undefined;
  let dataDir: string | undefined;
  let accessKeyId: string | undefined;
  let secretAccessKey: string | undefined;
  let delay: number | undefined;
  const variants: Record<string, string | number> = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (flag === '--help' || flag === '-h') return USAGE;
    const value = inline ?? argv[++i];
    if (value === undefined) return `${flag} needs a value\n\n${USAGE}`;
    switch (flag) {
      case '--port':
        port = Number(value);
        if (!Number.isInteger(port) || port < 0 || port > 65535) return `--port: not a port: ${value}`;
        break;
      case '--region':
        regions.push(...value.split(','));
        break;
      case '--account':
        if (!/^\d{12}$/.test(value)) return `--account: not a 12-digit account ID: ${value}`;
        accounts.push(value);
        break;
      case '--data-dir':
        dataDir = value;
        break;
      case '--access-key-id':
        accessKeyId = value;
        break;
      case '--secret-access-key':
        secretAccessKey = value;
        break;
      case '--aws-variant': {
        const problem = addVariant(variants, value);
        if (problem !== undefined) return problem;
        break;
      }
      case '--grant-consistency-delay-ms':
        delay = Number(value);
        if (!Number.isInteger(delay) || delay < 0) return `--grant-consistency-delay-ms: not a duration: ${value}`;
        break;
      default:
        return `unknown option ${flag}\n\n${USAGE}`;
    }
  }
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) return '--access-key-id and --secret-access-key go together';
  let awsVariants: Partial<AwsVariants> | undefined;
  if (Object.keys(variants).length > 0) {
    try {
      // Checked here, so a bad value is a usage error before anything starts.
      resolveAwsVariants(variants);
      awsVariants = variants;
    } catch (error) {
      return `--aws-variant: ${error instanceof Error ? error.message.replace(/^startLocalAws: awsVariants\./, '') : String(error)}`;
    }
  }
  return {
    ...(awsVariants !== undefined ? { awsVariants } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(regions.length > 0 ? { regions } : {}),
    ...(accounts.length > 0 ? { accounts } : {}),
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    ...(delay !== undefined ? { grantConsistencyDelayMs: delay } : {}),
  };
};

const shellQuote = (value: string): string => (/^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`);

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

/**
 * Starts the emulator, prints `export AWS_ENDPOINT_URL=… AWS_REGION=… AWS_ACCESS_KEY_ID=…
 * AWS_SECRET_ACCESS_KEY=…` lines (so `eval "$(encrypted-ecr local)"` style use works), and stays
 * up until SIGINT/SIGTERM. Answers the process exit code.
 *
 * @example
 * ```ts
 * // bin: encrypted-ecr local --region eu-west-1 --data-dir .aws-local
 * process.exitCode = await runLocalAwsStandalone(process.argv.slice(3));
 * ```
 */
export const runLocalAwsStandalone = async (
  argv: readonly string[],
  io: StandaloneIo = { out: (line) => console.log(line), err: (line) => console.error(line) },
): Promise<number> => {
  const parsed = parseArgs(argv);
  // Error lines have the CLI's one format, `encrypted-ecr: <kind>: <message>`.
  if (typeof parsed === 'string') {
    if (parsed === USAGE) io.out(parsed);
    else io.err(`encrypted-ecr: UsageError: local: ${parsed}`);
    return parsed === USAGE ? 0 : 2;
  }
  return serveLocalAws(parsed, io);
};

/**
 * What `encrypted-ecr local` runs once its options are parsed: starts the emulator with `options`,
 * prints the `export …` lines on `io.out` and a status line on `io.err`, and stays up until
 * `io.until` (default: the first SIGINT or SIGTERM), then stops it. Answers the process exit code:
 * 0, or 1 when the emulator cannot start (e.g. the port is taken).
 *
 * @example
 * ```ts
 * process.exitCode = await serveLocalAws({ regions: ['eu-west-1'], port: 4566 });
 * ```
 */
export const serveLocalAws = async (
  options: LocalAwsOptions,
  io: StandaloneIo = { out: (line) => console.log(line), err: (line) => console.error(line) },
): Promise<number> => {
  let aws: LocalAws;
  try {
    aws = await startLocalAws(options);
  } catch (error) {
    io.err(`encrypted-ecr: Unexpected: local: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  const env: [string, string][] = [
    ['AWS_ENDPOINT_URL', aws.endpoint],
    ['AWS_REGION', aws.region],
    ['AWS_ACCESS_KEY_ID', aws.credentials.accessKeyId],
    ['AWS_SECRET_ACCESS_KEY', aws.credentials.secretAccessKey],
  ];
  for (const [name, value] of env) io.out(`export ${name}=${shellQuote(value)}`);
  io.err(`# local AWS emulator on ${aws.endpoint} (regions ${aws.regions.join(', ')}, account ${aws.account}); Ctrl-C stops it`);
  io.err(`# AWS variants: ${Object.entries(aws.variants).map(([name, value]) => `${name}=${String(value)}`).join(' ')}`);
  io.onStarted?.(aws);
  await (io.until ?? signalled());
  await aws.stop();
  return 0;
};
