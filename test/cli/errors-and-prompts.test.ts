/**
 * The CLI as a user meets it when something is wrong (issue 15, B7 and B11): one error format with
 * the kind, usage errors included; exit codes that agree between a check and the operation it
 * checks; "No changes."; a missing journal; declining and interrupting a prompt (in a real
 * pseudo-terminal, through util-linux `script`); and the plain-http opt-in.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, baseEnv, CLI, emulatorEnv, type JsonError, runCli } from './helpers.js';

let aws: LocalAws;
let env: Record<string, string>;
let disabledKeyArn: string;

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({ regions: ['eu-west-1'] });
  env = emulatorEnv(aws);
  const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  disabledKeyArn = (await kms.send(new CreateKeyCommand({ Description: 'disabled' }))).KeyMetadata!.Arn!;
  await kms.send(new DisableKeyCommand({ KeyId: disabledKeyArn }));
  kms.destroy();
  const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'plain/app', encryptionConfiguration: { encryptionType: 'AES256' } }));
  ecr.destroy();
});
afterAll(() => aws.stop());

/** Every line of stderr is one error line of the one format. */
const errorLines = (stderr: string): string[] => stderr.trim().split('\n');

describe('usage errors: one line, with the kind, pointing at the help of the command that failed', () => {
  it("folds commander's suggestion into the line (no second line, no line break in the JSON message)", async () => {
    const run = await runCli(['migrat', 'app'], baseEnv());
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual(["encrypted-ecr: UsageError: unknown command 'migrat'; did you mean migrate? (see: encrypted-ecr --help)"]);
    expect(run.json<JsonError>().error.message).not.toContain('\n');
  });

  it('an unknown option of a subcommand points at that subcommand’s help', async () => {
    const run = await runCli(['migrate', '--kms-ky', 'alias/x', 'app', '--output', 'json'], baseEnv());
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual([
      "encrypted-ecr: UsageError: unknown option '--kms-ky'; did you mean --kms-key? (see: encrypted-ecr migrate --help)",
    ]);
    expect(run.json<JsonError>().error).toEqual({
      kind: 'UsageError',
      message: "unknown option '--kms-ky'; did you mean --kms-key? (see: encrypted-ecr migrate --help)",
    });
    const nested = await runCli(['grants', 'retire', '--bogus'], baseEnv());
    expect(errorLines(nested.stderr)).toEqual(["encrypted-ecr: UsageError: unknown option '--bogus' (see: encrypted-ecr grants retire --help)"]);
  });

  it('a missing argument points at the command’s help', async () => {
    const run = await runCli(['delete'], baseEnv());
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toEqual(["encrypted-ecr: UsageError: missing required argument 'repository' (see: encrypted-ecr delete --help)"]);
  });
});

describe('credentials: none found is not "rejected"', () => {
  it('no credentials anywhere: says none were found, and how to provide them (exit 5)', async () => {
    const run = await runCli(['audit', ...at(aws)], baseEnv());
    expect(run.code).toBe(5);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^encrypted-ecr: CredentialsError: no AWS credentials for ecr:\w+: Could not load credentials from any providers; set AWS_ACCESS_KEY_ID/);
    expect(run.stderr).not.toMatch(/rejected/);
    expect(run.json<JsonError>().error).toMatchObject({ kind: 'CredentialsError', reason: 'missing' });
  });

  it('an access key AWS does not know: says they were rejected (exit 5)', async () => {
    const run = await runCli(['audit', ...at(aws)], baseEnv({ AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7NOSUCHK', AWS_SECRET_ACCESS_KEY: 'wrong' }));
    expect(run.code).toBe(5);
    expect(run.stderr).toMatch(/^encrypted-ecr: CredentialsError: AWS rejected the credentials on ecr:\w+: /);
    expect(run.json<JsonError>().error).toMatchObject({ kind: 'CredentialsError', reason: 'rejected' });
  });
});

describe('checks exit as the operation they check would', () => {
  it('a disabled key: preflight, migrate --plan and migrate all exit 6', async () => {
    const preflight = await runCli(['preflight', 'new/app', '--kms-key', disabledKeyArn, ...at(aws)], env);
    const plan = await runCli(['migrate', 'plain/app', '--kms-key', disabledKeyArn, '--plan', ...at(aws)], env);
    const migrate = await runCli(['migrate', 'plain/app', '--kms-key', disabledKeyArn, '--yes', '--journal', join(mkdtempSync(join(tmpdir(), 'cliux-')), 'j.json'), ...at(aws)], env);
    expect(migrate.json<JsonError>().error.kind).toBe('KeyNotUsable');
    expect([preflight.code, plan.code, migrate.code]).toEqual([6, 6, 6]);
  });

  it('a plan with nothing to do says "No changes." and nothing else (exit 0); its JSON stays whole', async () => {
    const table = await runCli(['migrate', 'plain/app', '--encryption', 'aes256', '--plan', '--output', 'table', ...at(aws)], env);
    expect(table.code).toBe(0);
    expect(table.stdout.trim()).toBe('No changes. plain/app already has AES256: there is nothing to migrate.');
    expect(table.stderr).toBe('');
    const json = await runCli(['migrate', 'plain/app', '--encryption', 'aes256', '--plan', ...at(aws)], env);
    expect(json.json()).toMatchObject({ nothingToDo: true, ready: false });
  });
});

describe('migrate resume of a journal that is not there', () => {
  it('says "no journal at PATH", names the journals beside it, and exits 3 (not found), before asking anything', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'cliux-journal-'));
    const path = join(directory, 'nosuch.json');
    const run = await runCli(['migrate', 'resume', '--journal', path, ...at(aws)], env);
    expect(run.code).toBe(3);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(new RegExp(`^encrypted-ecr: JournalNotFound: no journal at ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `));
    expect(run.stderr).not.toMatch(/holds no migration/);
    const inMissingDirectory = await runCli(['migrate', 'resume', '--journal', join(directory, 'gone', 'j.json'), '--yes', ...at(aws)], env);
    expect(inMissingDirectory.code).toBe(3);
    expect(inMissingDirectory.json<JsonError>().error.kind).toBe('JournalNotFound');
  });
});

/** util-linux `script`: runs a command in a pseudo-terminal (skipped where it is missing). */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;

const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI in a pseudo-terminal; types `keys` once the confirmation prompt shows. */
const atPrompt = (args: readonly string[], keys: string): Promise<{ readonly code: number | null; readonly output: string }> =>
  new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map(quote).join(' ');
    const child = spawn('script', ['-qefc', command, '/dev/null'], { env: baseEnv({ TERM: 'dumb' }), stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    let typed = false;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`no exit within 60 s; output so far: ${JSON.stringify(output)}`));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (!typed && output.includes('[y/N]')) {
        typed = true;
        child.stdin.write(keys);
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });

/** The lines the terminal shows, without the cursor moves readline draws. */
const screenLines = (output: string): string[] =>
  output
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .split(/\r?\n/)
    .map((line) => line.replace(/\r/g, '').trimEnd())
    .filter((line) => line !== '');

describe.skipIf(!hasScript)('the confirmation prompt in a terminal', () => {
  const deleteArgs = ['delete', 'app', '--region', 'eu-west-1', '--endpoint-url', 'http://127.0.0.1:9'];

  it('answering no is Declined, exit 10: not a usage error, nothing done', async () => {
    const run = await atPrompt(deleteArgs, 'n\r');
    expect(run.code).toBe(10);
    expect(screenLines(run.output).at(-1)).toBe('encrypted-ecr: Declined: Delete repository app: declined, nothing was done');
  });

  it('Ctrl-D is a no too (not a silent exit 0)', async () => {
    const run = await atPrompt(deleteArgs, '\x04');
    expect(run.code).toBe(10);
    expect(screenLines(run.output).at(-1)).toMatch(/^encrypted-ecr: Declined: /);
  });

  it('Ctrl-C moves off the prompt’s line, then prints the error line, and exits 130', async () => {
    const run = await atPrompt(deleteArgs, '\x03');
    expect(run.code).toBe(130);
    const lines = screenLines(run.output);
    expect(lines.at(-2)).toMatch(/Delete repository app\? \[y\/N\]$/);
    expect(lines.at(-1)).toBe('encrypted-ecr: Interrupted: interrupted at the confirmation prompt (Ctrl-C): nothing was done');
  });
});

describe('plain http to a host that is not loopback: an explicit, loud opt-in', () => {
  // 0.0.0.0 is no loopback name, yet reaches the emulator's 127.0.0.1 listener on Linux: it plays a
  // CI service name such as http://localstack:4566 without any DNS.
  const serviceName = (): string[] => ['--endpoint-url', aws.endpoint.replace('127.0.0.1', '0.0.0.0'), '--region', aws.region];

  it('is refused by default, and the error says how to opt in (exit 2)', async () => {
    const run = await runCli(['audit', ...serviceName()], env);
    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/^encrypted-ecr: InsecureEndpoint: refusing plain http:\/\/ to http:\/\/0\.0\.0\.0:\d+.*--allow-insecure-http.*ENCRYPTED_ECR_ALLOW_INSECURE_HTTP=1/);
  });

  it('--allow-insecure-http goes ahead with one warning line naming the host', async () => {
    const run = await runCli(['audit', ...serviceName(), '--allow-insecure-http'], env);
    expect(run.code).toBe(0);
    const port = new URL(aws.endpoint).port;
    expect(errorLines(run.stderr)).toEqual([
      `encrypted-ecr: warning: plain HTTP to 0.0.0.0:${port} (--allow-insecure-http): requests and image layers travel unencrypted`,
    ]);
  });

  it('ENCRYPTED_ECR_ALLOW_INSECURE_HTTP=1 does the same; another value is a usage error', async () => {
    const run = await runCli(['audit', ...serviceName()], { ...env, ENCRYPTED_ECR_ALLOW_INSECURE_HTTP: '1' });
    expect(run.code).toBe(0);
    expect(errorLines(run.stderr)).toHaveLength(1);
    expect(run.stderr).toMatch(/ENCRYPTED_ECR_ALLOW_INSECURE_HTTP/);
    const bad = await runCli(['audit', ...serviceName()], { ...env, ENCRYPTED_ECR_ALLOW_INSECURE_HTTP: 'yes' });
    expect(bad.code).toBe(2);
    expect(bad.json<JsonError>().error.kind).toBe('UsageError');
  });

  it('loopback needs no opt-in and gets no warning, with the opt-in or without', async () => {
    const run = await runCli(['audit', ...at(aws), '--allow-insecure-http'], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
  });
});
