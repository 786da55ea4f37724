/** Issue 15 B4, B5, B11: help exits 0, shows every option a command takes, and marks the required ones. */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, baseEnv, runCli } from './helpers.js';

beforeAll(() => {
  assertBuilt();
});

/** The option lines of a help text (`  --flag <value>  description`). */
const optionsOf = (help: string): string[] => help.split('\n').filter((line) => /^\s+(-\w, )?--[\w-]+/.test(line));

describe('help', () => {
  it('`help` alone prints the program help (commands and exit codes) and exits 0', async () => {
    const run = await runCli(['help'], baseEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: encrypted-ecr /);
    expect(run.stdout).toContain('migrate');
    expect(run.stdout).toContain('Exit codes:');
  });

  it('`help <command>` prints that command’s help and exits 0, as `<command> --help` does', async () => {
    const viaHelp = await runCli(['help', 'create'], baseEnv());
    expect(viaHelp.code).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: encrypted-ecr create /);
    const viaFlag = await runCli(['create', '--help'], baseEnv());
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stdout).toBe(viaHelp.stdout);
  });

  it('`help <command> <subcommand>` prints the subcommand’s help and exits 0', async () => {
    const resume = await runCli(['help', 'migrate', 'resume'], baseEnv());
    expect(resume.code).toBe(0);
    expect(resume.stdout).toMatch(/^Usage: encrypted-ecr migrate resume /);
    const check = await runCli(['help', 'policy', 'check'], baseEnv());
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/^Usage: encrypted-ecr policy check /);
    // commander's own help subcommand of a group answers 0 too.
    const groupHelp = await runCli(['policy', 'help', 'check'], baseEnv());
    expect(groupHelp.code).toBe(0);
    expect(groupHelp.stdout).toBe(check.stdout);
  });

  it('`help local` prints the emulator’s usage and exits 0', async () => {
    const run = await runCli(['help', 'local'], baseEnv());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage: encrypted-ecr local /);
  });

  it('`help` of an unknown command is a usage error naming it: exit 2', async () => {
    const run = await runCli(['help', 'migrate', 'nosuch'], baseEnv());
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toBe("encrypted-ecr: UsageError: unknown command 'migrate nosuch' (see: encrypted-ecr migrate --help)");
  });

  it('a command group without its subcommand is still a usage error: exit 2, with an error line naming its commands', async () => {
    const run = await runCli(['policy'], baseEnv());
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(
      'encrypted-ecr: UsageError: policy needs one of its commands: generate, check (see: encrypted-ecr policy --help)',
    );
  });

  it('`migrate --help` shows every option of a migration (--plan, --kms-key, ...) and the resume subcommand', async () => {
    const run = await runCli(['migrate', '--help'], baseEnv());
    expect(run.code).toBe(0);
    const flags = optionsOf(run.stdout).map((line) => /--[\w-]+/.exec(line)?.[0]);
    for (const flag of ['--kms-key', '--encryption', '--plan', '--journal', '--concurrency', '--restore-archived', '--yes', '--region', '--profile', '--grant-wait', '--all', '--where', '--fleet-journal', '--parallel']) {
      expect(flags, flag).toContain(flag);
    }
    // The repository is optional: `migrate --all --where …` names none.
    expect(run.stdout).toMatch(/^Usage: encrypted-ecr migrate .*\[repository\]/m);
    expect(run.stdout).toMatch(/^\s+resume /m);
  });

  it('required options say so in help; optional ones do not', async () => {
    const resume = await runCli(['migrate', 'resume', '--help'], baseEnv());
    // `--journal` or `--fleet-journal`, one of them: each says so, neither is commander-required.
    expect(resume.stdout.replace(/\n\s{20,}/g, ' ')).toMatch(/--journal <file>\s+the journal of the interrupted migration \(this or --fleet-journal is required\)/);
    expect(optionsOf(resume.stdout).find((l) => l.includes('--concurrency'))).not.toContain('(required)');
    const check = await runCli(['policy', 'check', '--help'], baseEnv());
    const required = optionsOf(check.stdout.replace(/\n\s{20,}/g, ' '))
      .filter((l) => l.includes('(required)'))
      .map((l) => /--[\w-]+/.exec(l)?.[0]);
    expect(required.sort()).toEqual(['--action', '--resource']);
  });
});
