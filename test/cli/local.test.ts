import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { assertBuilt, baseEnv, CLI, runCli } from './helpers.js';

// Tests run the built CLI up to 8 times in a row (each a new node process): 23 s of the default
// 30 s on a loaded 2-core machine (two CPU hogs).
describe('encrypted-ecr local and demo', { timeout: 120_000 }, () => {
  it('starts the emulator, prints its environment, serves the CLI, and stops on SIGINT', async () => {
    assertBuilt();
    const child = spawn(process.execPath, [CLI, 'local', '--port', '0', '--region', 'eu-west-1'], { env: baseEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stdout = '';
    const started = new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('AWS_SECRET_ACCESS_KEY=')) resolve();
      });
    });
    try {
      await started;
      const env = Object.fromEntries(stdout.trim().split('\n').map((line) => {
        const [name = '', value = ''] = line.replace(/^export /, '').split('=');
        return [name, value.replace(/^'|'$/g, '')];
      }));
      expect(env).toMatchObject({ AWS_REGION: 'eu-west-1', AWS_ENDPOINT_URL: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) as unknown });

      const audit = await runCli(['audit'], baseEnv(env));
      expect(audit.code).toBe(0);
      expect(audit.json()).toMatchObject({ region: 'eu-west-1', repositories: [] });

      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      // Never leave the emulator running when an assertion failed first.
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('demo: runs the library end to end on its own emulator and exits 0', async () => {
    const run = await runCli(['demo'], baseEnv());
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('verified: true');
    expect(run.stdout).toMatch(/Report/);
  });

  it('passes its own flags through: a bad one is exit 2 with its usage', async () => {
    const run = await runCli(['local', '--port', 'x'], baseEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--port: not a port');
  });

  it('parses its flags with commander: --help and help local list every flag and variant, exit 0', async () => {
    for (const args of [['local', '--help'], ['help', 'local'], ['local', '-h']]) {
      const run = await runCli(args, baseEnv());
      expect(run.code, args.join(' ')).toBe(0);
      for (const flag of ['--port', '--region', '--account', '--data-dir', '--access-key-id', '--secret-access-key', '--grant-consistency-delay-ms', '--aws-variant', '--write-env-file', '--log-requests', '--print-env', '--rate-quotas']) {
        expect(run.stdout, `${args.join(' ')}: ${flag}`).toContain(flag);
      }
      expect(run.stdout).toMatch(/secondGrant=describe-retire\|same-as-first\|no-constraint \(default describe-retire\)/);
    }
  });

  it('refuses, before starting anything, what the emulator would refuse (exit 2, one UsageError line)', async () => {
    const cases: [string[], string][] = [
      [['--account', '12'], '--account: not a 12-digit account ID: 12'],
      [['--aws-variant', 'nosuch=1'], '--aws-variant: unknown variant "nosuch"'],
      [['--aws-variant', 'secondGrant=maybe'], '--aws-variant: secondGrant must be one of'],
      [['--aws-variant=grantConsistencyDelayMs=soon'], 'grantConsistencyDelayMs needs a number of milliseconds'],
      [['--access-key-id', 'AKIDLOCAL'], '--access-key-id and --secret-access-key go together'],
      [['--grant-consistency-delay-ms', '-1'], '--grant-consistency-delay-ms: not a duration'],
      [['--aws-variant', 'grantConsistencyDelayMs=400000'], 'grantConsistencyDelayMs must be 0..300000'],
      [['--bogus'], "unknown option '--bogus'"],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['local', ...args], baseEnv());
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(/^encrypted-ecr: UsageError: /);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
  });

  it('refuses a malformed --rate-quotas before starting anything (exit 2, one UsageError line)', async () => {
    for (const value of ['fast', 'ecr:PutImage=0', 'PutImage=5']) {
      const run = await runCli(['local', '--rate-quotas', value], baseEnv());
      expect(run.code, value).toBe(2);
      expect(run.stderr, value).toMatch(/^encrypted-ecr: UsageError: .*--rate-quotas: "aws", or <service>:<Operation>=<requests per second>/);
    }
  });
});
