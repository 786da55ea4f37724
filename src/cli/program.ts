/**
 * The `encrypted-ecr` command line, on commander. Every command is thin over a library operation;
 * {@link runCli} answers the exit code instead of exiting, so tests and the bin share it.
 */
import { Command, CommanderError, Help } from 'commander';
import { registerAuditAndGrantCommands } from './commands/audit-grants.js';
import { registerDoctorCommand } from './commands/doctor.js';
import { registerLocalCommand } from './commands/local.js';
import { registerMigrateCommands } from './commands/migrate.js';
import { registerPolicyCommands } from './commands/policy.js';
import { registerRepositoryCommands } from './commands/repository.js';
import { EXIT } from './exit-codes.js';
import { loadTestKit } from './library.js';
import { type CliIo, errorLine, outputFormat, reportError } from './output.js';
import { setCliVersion } from './report/spec.js';

const DESCRIPTION =
  'Safe Amazon ECR encryption at rest: create with a full KMS preflight, delete with verified grant retirement, ' +
  'audit a region, find and retire orphaned grants, generate and check policies.';

const EXIT_HELP = `
Exit codes:
  0    ok (audit: every repository compliant; policy check: allowed)
  1    unexpected error
  2    usage or bad input (unknown flag, malformed name or key, missing region, no --yes off a terminal)
  3    not found (repository, key)
  4    conflict (exists, not empty, other encryption, copy mismatch, migration in progress; migrate --plan: not ready)
  5    permissions or credentials (policy check: denied)
  6    KMS key problem (disabled, other region, grant quota, KMS refused)
  7    retryable (throttled, network, 5xx)
  8    partly done (deleted but grants remain, rollback failed, some grants not retired, a migration stopped: resume it)
  9    a finding --fail-on selects (audit: a repository not compliant; grants: an orphaned grant with --fail-on orphans)
  130  interrupted`;

/** The output format argv asks for (`--output x` or `--output=x`), for usage errors found before parsing ends. */
const outputIn = (argv: readonly string[]): string | undefined => {
  for (const [i, arg] of argv.entries()) {
    if (arg.startsWith('--output=')) return arg.slice('--output='.length);
    if (arg === '--output') return argv[i + 1];
  }
  return undefined;
};

const plainHelp = new Help();

/**
 * `help [command [subcommand]]`: the command the names lead to (by name or alias), or the first
 * name that leads nowhere.
 */
const commandFor = (program: Command, names: readonly string[]): Command | { readonly unknown: string } => {
  let command = program;
  for (const name of names) {
    const next = command.commands.find((c) => c.name() === name || c.aliases().includes(name));
    if (next === undefined) return { unknown: [command === program ? undefined : command.name(), name].filter(Boolean).join(' ') };
    command = next;
  }
  return command;
};

/** The program with every command registered; `setExit` receives each command's exit code. */
export const buildProgram = (io: CliIo, version: string, setExit: (code: number) => void): Command => {
  setCliVersion(version);
  const program = new Command('encrypted-ecr')
    .description(DESCRIPTION)
    .version(version, '-V, --version')
    .addHelpText('after', EXIT_HELP)
    .showSuggestionAfterError(true)
    // Options belong to the command they follow: `migrate resume --journal j` leaves --journal to
    // `resume`, though `migrate <repository>` takes a --journal of its own.
    .enablePositionalOptions()
    // Inherited by every command registered below: a required option says so in its help.
    .configureHelp({ optionDescription: (option) => `${plainHelp.optionDescription(option)}${option.mandatory ? ' (required)' : ''}` })
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.replace(/\n$/, '')),
      writeErr: (text) => io.err(text.replace(/\n$/, '')),
      // Usage errors are reported by runCli, in the requested format.
      outputError: () => undefined,
    });
  registerRepositoryCommands(program, io, setExit);
  registerAuditAndGrantCommands(program, io, setExit);
  registerMigrateCommands(program, io, setExit);
  registerPolicyCommands(program, io, setExit);
  registerDoctorCommand(program, io, setExit);
  registerLocalCommand(program, io, setExit);
  program
    .command('demo')
    .description('the library end to end on a fresh local emulator (no AWS credentials, no network)')
    .action(async () => {
      try {
        const { runDemo } = await loadTestKit();
        await runDemo({ out: io.out });
        setExit(EXIT.ok);
      } catch (error) {
        io.err(errorLine('Unexpected', `the demo failed: ${error instanceof Error ? error.message : String(error)}`));
        setExit(EXIT.unexpected);
      }
    });
  return program;
};

/**
 * Runs the CLI on `argv` (without `node` and the script) and answers the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), nodeIo(), '0.1.0');
 * ```
 */
export const runCli = async (argv: readonly string[], io: CliIo, version: string): Promise<number> => {
  let exitCode: number = EXIT.ok;
  // `help`, `help <command>`, `help <command> <subcommand>`: print that help and exit 0.
  if (argv[0] === 'help') {
    // `local`'s help lists the emulator's variants: its hook is not run here, so load the kit first.
    if (argv[1] === 'local') await loadTestKit();
    const target = commandFor(buildProgram(io, version, () => undefined), argv.slice(1));
    if (target instanceof Command) {
      target.outputHelp();
      return EXIT.ok;
    }
    reportError(io, outputFormat(undefined, io), { kind: 'UsageError', message: `unknown command '${target.unknown}' (see: encrypted-ecr --help)` });
    return EXIT.usage;
  }
  const program = buildProgram(io, version, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    // Help asked for (`policy help generate`) exits 0; a command group without its subcommand
    // (commander printed its help as an error) is a usage error.
    if (error.code === 'commander.help') return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (error.code === 'commander.executeSubCommandAsync') return EXIT.usage;
    reportError(io, outputFormat(outputIn(argv), io), {
      kind: 'UsageError',
      message: `${error.message.replace(/^error: /, '')} (see: encrypted-ecr --help)`,
    });
    return EXIT.usage;
  }
  return exitCode;
};
