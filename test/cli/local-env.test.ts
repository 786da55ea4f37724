/**
 * `encrypted-ecr local` as people use it (issue 15, B8): a fixed default port and fixed test
 * credentials, the region from the environment, `AWS_DEFAULT_REGION`, `--print-env` for `eval`,
 * `--write-env-file`, `--log-requests`, and a clear error when the port is taken. Runs the BUILT CLI.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { assertBuilt, baseEnv, CLI, runCli } from './helpers.js';

const EXAMPLE_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
const EXAMPLE_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NAMES = ['AWS_ENDPOINT_URL', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'];

const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-local-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `export NAME=value` lines (single-quoted or bare) into a record. */
const exportsOf = (stdout: string): Record<string, string> =>
  Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => {
        const match = /^export (\w+)=(.*)$/.exec(line);
        if (match === null) throw new Error(`not an export line: ${line}`);
        return [match[1] ?? '', (match[2] ?? '').replace(/^'|'$/g, '')];
      }),
  );

/** A running `encrypted-ecr local`: its output so far, and once it printed its exports, those. */
interface Running {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stderr: () => string;
  /** Resolves with the exports once all five are printed; rejects if it exits first. */
  readonly started: Promise<Record<string, string>>;
  readonly exited: Promise<number | null>;
}

const startLocal = (args: readonly string[], env: Record<string, string> = baseEnv()): Running => {
  const child = spawn(process.execPath, [CLI, 'local', ...args], { env, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Started once both streams are out: the exports on stdout, the status lines on stderr.
  const started = new Promise<Record<string, string>>((resolve, reject) => {
    const check = (): void => {
      if (stdout.includes('AWS_SECRET_ACCESS_KEY=') && stdout.endsWith('\n') && stderr.includes('# AWS variants:')) resolve(exportsOf(stdout));
    };
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      check();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      check();
    });
    void exited.then((code) => reject(new Error(`local exited ${String(code)} before printing its environment: ${stderr}`)));
  });
  started.catch(() => undefined);
  return { child, stderr: () => stderr, started, exited };
};

/** Stops it with SIGINT and answers its exit code; SIGKILLs it if anything failed first. */
const stopLocal = async (running: Running): Promise<number | null> => {
  running.child.kill('SIGINT');
  return running.exited;
};

const listening = (port = 0): Promise<Server | undefined> =>
  new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });

const close = (server: Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));

describe('encrypted-ecr local: fixed defaults', () => {
  it('listens on 4566 with AWS’s documentation example keys by default (or says clearly that 4566 is taken)', async () => {
    assertBuilt();
    // Another program may hold 4566 on this machine: then the clear refusal is what must show.
    const probe = await listening(4566);
    if (probe !== undefined) await close(probe);
    const running = startLocal([]);
    try {
      if (probe === undefined) {
        expect(await running.exited).toBe(1);
        expect(running.stderr()).toContain('port 4566 on 127.0.0.1 is already in use');
        return;
      }
      const env = await running.started;
      expect(Object.keys(env)).toEqual(NAMES);
      expect(env).toEqual({
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
        AWS_REGION: 'us-east-1',
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: EXAMPLE_KEY_ID,
        AWS_SECRET_ACCESS_KEY: EXAMPLE_SECRET,
      });
      // The printed keys are the ones it accepts.
      const audit = await runCli(['audit'], baseEnv(env));
      expect(audit.code, audit.stderr).toBe(0);
      expect(await stopLocal(running)).toBe(0);
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
    }
  });

  it('refuses a taken port with a clear error naming it and --port (exit 1, one line)', async () => {
    const taken = await listening();
    if (taken === undefined) throw new Error('no free port');
    const address = taken.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const run = await runCli(['local', '--port', String(port)], baseEnv());
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toEqual([
        `encrypted-ecr: Unexpected: local: port ${String(port)} on 127.0.0.1 is already in use (another emulator such as LocalStack, or a running \`encrypted-ecr local\`?): stop it, or pick another port with --port <n> (--port 0: any free port)`,
      ]);
    } finally {
      await close(taken);
    }
  });

  it('--print-env prints the exports for its options and exits at once, so eval "$(encrypted-ecr local --print-env)" works', async () => {
    const run = await runCli(['local', '--print-env'], baseEnv());
    expect(run.code).toBe(0);
    expect(exportsOf(run.stdout)).toEqual({
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      AWS_REGION: 'us-east-1',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: EXAMPLE_KEY_ID,
      AWS_SECRET_ACCESS_KEY: EXAMPLE_SECRET,
    });
    // A real shell evals it (quoting included) and goes on.
    const shell = await new Promise<string>((resolve, reject) => {
      execFile(
        '/bin/sh',
        ['-c', `eval "$("${process.execPath}" "${CLI}" local --print-env --port 4599 --access-key-id AKIDQUOTE --secret-access-key "it's \\$secret")"; printf '%s|%s|%s' "$AWS_ENDPOINT_URL" "$AWS_DEFAULT_REGION" "$AWS_SECRET_ACCESS_KEY"`],
        { env: baseEnv(), timeout: 30_000 },
        (error, stdout) => {
          if (error === null) resolve(stdout);
          else reject(new Error(error.message));
        },
      );
    });
    expect(shell).toBe("http://127.0.0.1:4599|us-east-1|it's $secret");
  });

  it('--print-env refuses --port 0 (the port is known only once started)', async () => {
    const run = await runCli(['local', '--print-env', '--port', '0'], baseEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^encrypted-ecr: UsageError: local: --print-env needs a fixed --port/);
  });
});

describe('encrypted-ecr local: the region from the environment', () => {
  const printed = async (args: readonly string[], env: Record<string, string>): Promise<Record<string, string>> => {
    const run = await runCli(['local', '--print-env', ...args], baseEnv(env));
    expect(run.code, run.stderr).toBe(0);
    return exportsOf(run.stdout);
  };

  it('takes AWS_REGION, else AWS_DEFAULT_REGION, unless --region is given; prints both variables', async () => {
    expect(await printed([], { AWS_DEFAULT_REGION: 'eu-west-3' })).toMatchObject({ AWS_REGION: 'eu-west-3', AWS_DEFAULT_REGION: 'eu-west-3' });
    expect(await printed([], { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'eu-west-3' })).toMatchObject({ AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'ap-south-1' });
    expect(await printed(['--region', 'us-west-2,eu-west-1'], { AWS_REGION: 'ap-south-1' })).toMatchObject({ AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-west-2' });
    expect(await printed([], { AWS_REGION: '' })).toMatchObject({ AWS_REGION: 'us-east-1' });
  });

  it('refuses a malformed region, from the environment or --region, as a usage error before starting', async () => {
    const fromEnv = await runCli(['local', '--port', '0'], baseEnv({ AWS_DEFAULT_REGION: 'Not A Region' }));
    expect(fromEnv.code).toBe(2);
    expect(fromEnv.stderr).toContain('encrypted-ecr: UsageError: local: AWS_DEFAULT_REGION: not a region name such as eu-west-1: "Not A Region"');
    const fromFlag = await runCli(['local', '--port', '0', '--region', 'eu-west-1,EU'], baseEnv());
    expect(fromFlag.code).toBe(2);
    expect(fromFlag.stderr).toContain('--region: not a region name such as eu-west-1: "EU"');
  });
});

describe('encrypted-ecr local --write-env-file --log-requests --aws-variant', () => {
  it('writes the environment to the file (mode 0600), logs one line per request on stderr, and applies the variants', async () => {
    const envFile = join(dir, '.env.aws');
    const running = startLocal([
      '--port', '0', '--region', 'eu-west-1', '--write-env-file', envFile, '--log-requests',
      '--aws-variant', 'secondGrant=no-constraint', '--aws-variant=deleteWhenRetireFails=silent', '--aws-variant', 'grantConsistencyDelayMs=1500',
    ]);
    try {
      const env = await running.started;
      expect(env.AWS_ENDPOINT_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(statSync(envFile).mode & 0o777).toBe(0o600);
      const lines = readFileSync(envFile, 'utf8').split('\n').filter((line) => line !== '' && !line.startsWith('#'));
      expect(lines).toEqual(NAMES.map((name) => `${name}=${env[name] ?? ''}`));
      expect(running.stderr()).toContain(`# environment written to ${envFile}`);
      expect(running.stderr()).toMatch(/# AWS variants: .*secondGrant=no-constraint.*deleteWhenRetireFails=silent.*grantConsistencyDelayMs=1500/);

      const audit = await runCli(['audit'], baseEnv(env));
      expect(audit.code, audit.stderr).toBe(0);
      // A wrong secret: its refusal shows in the log with its error code.
      const denied = await runCli(['audit'], baseEnv({ ...env, AWS_SECRET_ACCESS_KEY: 'wrong' }));
      expect(denied.code).toBe(5);
      // One line per request: service, operation, status, milliseconds, then the error code if any.
      const logged = running.stderr().split('\n').filter((line) => /^# (ecr|kms|iam|sts|http) /.test(line));
      expect(logged).toContainEqual(expect.stringMatching(/^# ecr DescribeRepositories 200 \d+ms$/));
      expect(logged).toContainEqual(expect.stringMatching(/^# ecr DescribeRepositories 400 \d+ms InvalidSignatureException$/));
      expect(await stopLocal(running)).toBe(0);
    } finally {
      if (running.child.exitCode === null) running.child.kill('SIGKILL');
    }
  });

  it('refuses a --write-env-file it cannot write: exit 1, nothing left listening', async () => {
    const run = await runCli(['local', '--port', '0', '--write-env-file', join(dir, 'no', 'such', 'dir', '.env')], baseEnv());
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('encrypted-ecr: Unexpected: local: cannot write the environment file');
    expect(run.stdout).toBe('');
  });
});
