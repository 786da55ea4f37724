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
import { registerTemplateCommands } from './commands/template.js';
import { EXIT, exitHelp } from './exit-codes.js';
import { loadTestKit } from './library.js';
import { type CliIo, errorLine, outputFormat, reportError } from './output.js';
import { setCliVersion } from './report/spec.js';

const DESCRIPTION =
  'Safe Amazon ECR encryption at rest: create with a full KMS preflight, delete with verified grant retirement, ' +
  'audit a region, find and retire orphaned grants, generate and check policies.';

const EXIT_HELP = exitHelp();

/** The output format argv asks for (`--output x` or `--output=x`), for usage errors found before parsing ends. */
const outputIn = (argv: readonly string[]): string | undefined => {
  for (const [i, arg] of argv.entries()) {
    if (arg.startsWith('--output=')) return arg.slice('--output='.length);
    if (arg === '--output') return argv[i + 1];
  }
  return undefined;
};

const plainHelp = new Help();

const subcommand = (command: Command, name: string): Command | undefined =>
  command.commands.find((c) => c.name() === name || c.aliases().includes(name));

/** `encrypted-ecr grants retire`: a command's full name, as typed. */
const commandPath = (command: Command): string => {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
};

/**
 * The command `argv` names before anything else (`migrate start app --bogus` → `migrate start`):
 * the one whose help a usage error points at.
 */
const commandOf = (program: Command, argv: readonly string[]): Command => {
  let command = program;
  for (const arg of argv) {
    const next = subcommand(command, arg);
    if (next === undefined) break;
    command = next;
  }
  return command;
};

/**
 * `help [command [subcommand]]`: the command the names lead to (by name or alias), or the first
 * name that leads nowhere and the command it was looked for in.
 */
const commandFor = (program: Command, names: readonly string[]): Command | { readonly unknown: string; readonly within: Command } => {
  let command = program;
  for (const name of names) {
    const next = subcommand(command, name);
    if (next === undefined) return { unknown: [command === program ? undefined : command.name(), name].filter(Boolean).join(' '), within: command };
    command = next;
  }
  return command;
};

/**
 * A commander error message as one line of ours: without its `error: ` prefix, with its
 * "(Did you mean …?)" on the same line, and the help of the command that failed to read next.
 */
const usageMessage = (message: string, command: string): string =>
  `${message
    .replace(/^error: /, '')
    .replace(/\s*\n\s*\(Did you mean (.+?)\?\)\s*$/s, '; did you mean $1?')
    .replace(/\s*\n\s*/g, ' ')
    .trim()} (see: ${command} --help)`;

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
  registerTemplateCommands(program, io, setExit);
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
    reportError(io, outputFormat(undefined, io), { kind: 'UsageError', message: usageMessage(`unknown command '${target.unknown}'`, commandPath(target.within)) });
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
    // Help asked for (`policy help generate`) exits 0.
    if (error.code === 'commander.help' && error.exitCode === 0) return EXIT.ok;
    if (error.code === 'commander.executeSubCommandAsync') return EXIT.usage;
    const command = commandOf(program, argv);
    // A command group without its subcommand: commander printed the group's help (on stderr); the
    // error line says what was missing, as every usage error does.
    const message = error.code === 'commander.help' ? `${command.name()} needs one of its commands: ${plainHelp.visibleCommands(command).map((c) => c.name()).filter((name) => name !== 'help').join(', ')}` : error.message;
    reportError(io, outputFormat(outputIn(argv), io), { kind: 'UsageError', message: usageMessage(message, commandPath(command)) });
    return EXIT.usage;
  }
  return exitCode;
};
