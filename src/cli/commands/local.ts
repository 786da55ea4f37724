/**
 * `local`: the local AWS emulator (ECR, KMS, IAM, STS) as a process, parsed by commander like every
 * command. The test kit is loaded only here (a `preSubcommand` hook loads it before `local` parses
 * its options, so the option parsers and the help can use its variant tables synchronously).
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { AwsVariants, LocalAwsEnvironment, ServeLocalAwsOptions } from '../../testing/index.js';
import { EXIT } from '../exit-codes.js';
import { loadedTestKit, loadTestKit, type TestKit } from '../library.js';
import { type CliIo, errorLine } from '../output.js';

interface LocalOptions {
  readonly port: number;
  readonly region?: readonly string[];
  readonly account?: readonly string[];
  readonly dataDir?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly grantConsistencyDelayMs?: number;
  readonly awsVariant?: Readonly<Record<string, string | number>>;
  readonly writeEnvFile?: string;
  readonly logRequests?: boolean;
  readonly printEnv?: boolean;
  readonly rateQuotas?: 'aws' | Readonly<Record<string, number>>;
}

/**
 * The default port: LocalStack's (its single "edge" port since 0.11.6), so tools and habits set up
 * for an AWS emulator at `http://localhost:4566` work unchanged. When LocalStack runs too, the start
 * fails with a clear error: pass `--port`.
 */
const DEFAULT_LOCAL_PORT = 4566;

/**
 * The default principal's keys: AWS's own documentation example keys (the AWS CLI guide's
 * `AKIAIOSFODNN7EXAMPLE`), fixed so the exports stay valid across restarts, and known to secret
 * scanners as examples. They are no secret: the emulator listens on 127.0.0.1 only.
 */
const DEFAULT_LOCAL_CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } as const;

/** As the emulator checks them (they name directories under `--data-dir`). */
const REGION_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** The kit the hook loaded; commander calls option parsers synchronously, after the hook. */
const kit = (): TestKit => {
  const loaded = loadedTestKit();
  if (loaded === undefined) throw new Error('bug: local runs before its preSubcommand hook loaded the test kit');
  return loaded;
};

const DELAY_VARIANT = 'grantConsistencyDelayMs';

const port = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`--port: not a port: ${value}`);
  return n;
};

const regions = (value: string, previous: readonly string[] | undefined): string[] => {
  const names = value.split(',');
  const bad = names.find((name) => !REGION_NAME.test(name));
  if (bad !== undefined) throw new InvalidArgumentError(`--region: not a region name such as eu-west-1: "${bad}"`);
  return [...(previous ?? []), ...names];
};

/** `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION` (the SDKs' and AWS CLI v2's order), else the emulator's default. */
const regionsFrom = (options: LocalOptions, env: CliIo['env']): readonly string[] | string | undefined => {
  if (options.region !== undefined) return options.region;
  for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const) {
    const value = env[name]?.trim();
    if (value === undefined || value === '') continue;
    return REGION_NAME.test(value) ? [value] : `${name}: not a region name such as eu-west-1: "${value}" (or pass --region)`;
  }
  return undefined;
};

const account = (value: string, previous: readonly string[] | undefined): string[] => {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError(`--account: not a 12-digit account ID: ${value}`);
  return [...(previous ?? []), value];
};

const delay = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--grant-consistency-delay-ms: not a duration: ${value}`);
  return n;
};

/** `--rate-quotas`: `aws`, or `<service>:<Operation>=<per second>` pairs (comma-separated, repeatable). */
const rateQuotas = (value: string, previous: 'aws' | Readonly<Record<string, number>> | undefined): 'aws' | Record<string, number> => {
  if (value === 'aws') return 'aws';
  const table: Record<string, number> = previous === undefined || previous === 'aws' ? {} : { ...previous };
  for (const pair of value.split(',')) {
    const match = /^([a-z]+:[A-Z][A-Za-z]+)=(\d+(?:\.\d+)?)$/.exec(pair.trim());
    if (match?.[1] === undefined || match[2] === undefined || !(Number(match[2]) > 0)) {
      throw new InvalidArgumentError(`--rate-quotas: "aws", or <service>:<Operation>=<requests per second> such as ecr:PutImage=10 (got ${pair})`);
    }
    table[match[1]] = Number(match[2]);
  }
  return table;
};

/** `name=value` of `--aws-variant`, added to the earlier ones; the values are checked once all are in. */
const variant = (value: string, previous: Readonly<Record<string, string | number>> | undefined): Record<string, string | number> => {
  const eq = value.indexOf('=');
  const name = eq < 0 ? value : value.slice(0, eq);
  const setting = eq < 0 ? '' : value.slice(eq + 1);
  if (name === DELAY_VARIANT) {
    const ms = Number(setting);
    if (setting === '' || !Number.isInteger(ms)) throw new InvalidArgumentError(`--aws-variant: ${DELAY_VARIANT} needs a number of milliseconds: ${value}`);
    return { ...previous, [name]: ms };
  }
  const known = kit().AWS_VARIANT_VALUES;
  if (!Object.hasOwn(known, name)) {
    throw new InvalidArgumentError(`--aws-variant: unknown variant "${name}" (known: ${[...Object.keys(known), DELAY_VARIANT].join(', ')})`);
  }
  return { ...previous, [name]: setting };
};

/** The `--aws-variant` part of `local --help`: every variant, its values and its default. */
const variantHelp = (): string => {
  const { AWS_VARIANT_VALUES, DEFAULT_AWS_VARIANTS } = kit();
  return [
    '',
    '--aws-variant picks how the emulator plays a behaviour AWS does not document (repeatable):',
    ...Object.entries(AWS_VARIANT_VALUES).map(
      ([name, values]) => `  ${name}=${values.join('|')} (default ${String(DEFAULT_AWS_VARIANTS[name as keyof typeof AWS_VARIANT_VALUES])})`,
    ),
    `  ${DELAY_VARIANT}=<0..300000> (default ${DEFAULT_AWS_VARIANTS.grantConsistencyDelayMs})`,
  ].join('\n');
};

/** What `--print-env` prints: what the emulator started with these options would print. */
const printedEnvironment = (options: ServeLocalAwsOptions): LocalAwsEnvironment => ({
  endpoint: `http://127.0.0.1:${String(options.port ?? DEFAULT_LOCAL_PORT)}`,
  region: options.regions?.[0] ?? 'us-east-1',
  credentials: options.credentials ?? DEFAULT_LOCAL_CREDENTIALS,
});

/** How to use it from a shell, docker compose and direnv. */
const usageHelp = (): string =>
  [
    '',
    'The defaults are fixed, so the environment stays the same across restarts:',
    `  AWS_ENDPOINT_URL=http://127.0.0.1:${String(DEFAULT_LOCAL_PORT)} AWS_ACCESS_KEY_ID=${DEFAULT_LOCAL_CREDENTIALS.accessKeyId} (AWS's documentation example keys)`,
    '  In one terminal: encrypted-ecr local --log-requests',
    '  In another:      eval "$(encrypted-ecr local --print-env)"   (prints and exits; plain `local` runs until Ctrl-C)',
    '  For docker compose or direnv: encrypted-ecr local --write-env-file .env.aws',
  ].join('\n');

/** The emulator's options, or why not (a usage error's message). */
const localAwsOptions = (options: LocalOptions, env: CliIo['env']): ServeLocalAwsOptions | string => {
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) return '--access-key-id and --secret-access-key go together';
  const { accessKeyId, secretAccessKey } = options.accessKeyId !== undefined && options.secretAccessKey !== undefined
    ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
    : DEFAULT_LOCAL_CREDENTIALS;
  const regionList = regionsFrom(options, env);
  if (typeof regionList === 'string') return regionList;
  if (options.printEnv === true && options.port === 0) return '--print-env needs a fixed --port (with --port 0 the port is known only once started: read the exports it prints, or --write-env-file)';
  let awsVariants: Partial<AwsVariants> | undefined;
  if (options.awsVariant !== undefined) {
    try {
      // Checked here, so a bad value is a usage error before anything starts.
      kit().resolveAwsVariants(options.awsVariant);
      awsVariants = options.awsVariant;
    } catch (error) {
      return `--aws-variant: ${error instanceof Error ? error.message.replace(/^startLocalAws: awsVariants\./, '') : String(error)}`;
    }
  }
  return {
    ...(awsVariants !== undefined ? { awsVariants } : {}),
    port: options.port,
    ...(regionList !== undefined ? { regions: [...regionList] } : {}),
    ...(options.account !== undefined ? { accounts: [...options.account] } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    // Always given, so the default ones win over keys saved in --data-dir by an older version.
    credentials: { accessKeyId, secretAccessKey },
    ...(options.grantConsistencyDelayMs !== undefined ? { grantConsistencyDelayMs: options.grantConsistencyDelayMs } : {}),
    ...(options.writeEnvFile !== undefined ? { envFile: options.writeEnvFile } : {}),
    ...(options.logRequests === true ? { logRequests: true } : {}),
    ...(options.rateQuotas !== undefined ? { rateQuotas: options.rateQuotas } : {}),
  };
};

/**
 * Registers `local`. It runs until SIGINT or SIGTERM (the bin leaves both to it), then stops the
 * emulator cleanly and exits 0.
 */
export const registerLocalCommand = (program: Command, io: CliIo, setExit: (code: number) => void): void => {
  const local = program
    .command('local')
    .description('start the local AWS emulator (ECR, KMS, IAM, STS) on 127.0.0.1 and print the environment to use it; runs until Ctrl-C')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free port)', port, DEFAULT_LOCAL_PORT)
    .option(
      '--region <region>',
      "the emulator's regions, the first the default (comma-separated, repeatable; default $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1)",
      regions,
    )
    .option('--account <id>', "the emulator's 12-digit accounts, the first the default (repeatable)", account)
    .option('--data-dir <dir>', 'keep state in this directory across restarts')
    .option('--access-key-id <id>', `the default principal's access key id (with --secret-access-key; default ${DEFAULT_LOCAL_CREDENTIALS.accessKeyId})`)
    .option('--secret-access-key <secret>', "the default principal's secret access key (with --access-key-id; default AWS's documentation example key)")
    .option('--grant-consistency-delay-ms <ms>', 'retired grants stay in ListGrants, new ones appear, only after this long (default 0)', delay)
    .option('--aws-variant <name=value>', 'how to play a behaviour AWS does not document (repeatable; listed below)', variant)
    // Not `--env-file`: Node reads `--env-file` even after the script name (nodejs/node#54232) and
    // exits 9 when the file does not exist yet, before this program runs.
    .option('--write-env-file <path>', 'also write the AWS_* variables to this file as NAME=value lines (docker compose env_file, direnv dotenv), mode 0600')
    .option(
      '--rate-quotas <aws|api=n,…>',
      "answer ThrottlingException beyond request-rate quotas per account and region: 'aws' (AWS's documented defaults) or pairs such as ecr:PutImage=10 (repeatable; off by default)",
      rateQuotas,
    )
    .option('--log-requests', 'print one line per request on stderr: service, operation, status, milliseconds, error code')
    .option('--print-env', 'print the export lines for these options and exit without starting (for eval "$(encrypted-ecr local --print-env)")')
    .addHelpText('after', () => `${usageHelp()}\n${variantHelp()}`)
    .action(async (options: LocalOptions) => {
      const parsed = localAwsOptions(options, io.env);
      if (typeof parsed === 'string') {
        io.err(errorLine('UsageError', `local: ${parsed}`));
        setExit(EXIT.usage);
        return;
      }
      if (options.printEnv === true) {
        for (const line of kit().exportLines(printedEnvironment(parsed))) io.out(line);
        setExit(EXIT.ok);
        return;
      }
      setExit(await kit().serveLocalAws(parsed, { out: io.out, err: io.err }));
    });
  // Before `local` parses its options (and its --help), load the test kit its parsers and help use.
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand === local) await loadTestKit();
  });
};
