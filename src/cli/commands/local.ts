/**
 * `local`: the local AWS emulator (ECR, KMS, IAM, STS) as a process, parsed by commander like every
 * command. The test kit is loaded only here (a `preSubcommand` hook loads it before `local` parses
 * its options, so the option parsers and the help can use its variant tables synchronously).
 */
import { type Command, InvalidArgumentError } from 'commander';
import type { AwsVariants, LocalAwsOptions } from '../../testing/index.js';
import { EXIT } from '../exit-codes.js';
import { loadedTestKit, loadTestKit, type TestKit } from '../library.js';
import { type CliIo, errorLine } from '../output.js';

interface LocalOptions {
  readonly port?: number;
  readonly region?: readonly string[];
  readonly account?: readonly string[];
  readonly dataDir?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly grantConsistencyDelayMs?: number;
  readonly awsVariant?: Readonly<Record<string, string | number>>;
}

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

const regions = (value: string, previous: readonly string[] | undefined): string[] => [...(previous ?? []), ...value.split(',')];

const account = (value: string, previous: readonly string[] | undefined): string[] => {
  if (!/^\d{12}$/.test(value)) throw new InvalidArgumentError(`--account: not a 12-digit account ID: ${value}`);
  return [...(previous ?? []), value];
};

const delay = (value: string): number => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--grant-consistency-delay-ms: not a duration: ${value}`);
  return n;
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

/** The emulator's options, or why not (a usage error's message). */
const localAwsOptions = (options: LocalOptions): LocalAwsOptions | string => {
  const { accessKeyId, secretAccessKey } = options;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) return '--access-key-id and --secret-access-key go together';
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
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.region !== undefined ? { regions: [...options.region] } : {}),
    ...(options.account !== undefined ? { accounts: [...options.account] } : {}),
    ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}),
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { credentials: { accessKeyId, secretAccessKey } } : {}),
    ...(options.grantConsistencyDelayMs !== undefined ? { grantConsistencyDelayMs: options.grantConsistencyDelayMs } : {}),
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
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)', port)
    .option('--region <region>', "the emulator's regions, the first the default (comma-separated, repeatable; default us-east-1)", regions)
    .option('--account <id>', "the emulator's 12-digit accounts, the first the default (repeatable)", account)
    .option('--data-dir <dir>', 'keep state in this directory across restarts')
    .option('--access-key-id <id>', "the default principal's access key id (with --secret-access-key)")
    .option('--secret-access-key <secret>', "the default principal's secret access key (with --access-key-id)")
    .option('--grant-consistency-delay-ms <ms>', 'retired grants stay in ListGrants, new ones appear, only after this long (default 0)', delay)
    .option('--aws-variant <name=value>', 'how to play a behaviour AWS does not document (repeatable; listed below)', variant)
    .addHelpText('after', () => variantHelp())
    .action(async (options: LocalOptions) => {
      const parsed = localAwsOptions(options);
      if (typeof parsed === 'string') {
        io.err(errorLine('UsageError', `local: ${parsed}`));
        setExit(EXIT.usage);
        return;
      }
      setExit(await kit().serveLocalAws(parsed, { out: io.out, err: io.err }));
    });
  // Before `local` parses its options (and its --help), load the test kit its parsers and help use.
  program.hook('preSubcommand', async (_program, subcommand) => {
    if (subcommand === local) await loadTestKit();
  });
};
