/**
 * The bin as it is built and published: --version and --help load no AWS SDK module, dist/cli.js
 * holds neither the emulator nor a second copy of the library, the tarball ships no source maps,
 * and a reader that goes away (`| head`) ends the CLI quietly.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, baseEnv, CLI, emulatorEnv } from './helpers.js';

const DIST = resolve(import.meta.dirname, '../../dist');
const RECORD_LOADS = resolve(import.meta.dirname, 'fixtures/record-loads.mjs');

interface Exit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the bin with the load recorder; answers its exit and every module URL it resolved. */
const runRecorded = (args: readonly string[], env: Record<string, string> = baseEnv()): Promise<Exit & { readonly loaded: readonly string[] }> => {
  const record = join(mkdtempSync(join(tmpdir(), 'encrypted-ecr-loads-')), 'loads.txt');
  return new Promise((done) => {
    execFile(process.execPath, ['--import', RECORD_LOADS, CLI, ...args], { env: { ...env, RECORD_LOADS: record }, timeout: 60_000 }, (error, stdout, stderr) => {
      let loaded: string[] = [];
      try {
        loaded = readFileSync(record, 'utf8').trim().split('\n');
      } catch {
        // Nothing resolved through the hook: an empty list.
      }
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr, loaded });
    });
  });
};

/** Runs the bin with its stdout read by nobody: the pipe is closed before the child writes. */
const runWithClosedStdout = (args: readonly string[], env: Record<string, string>): Promise<Exit> =>
  new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('close', (code) => done({ code, stdout: '', stderr }));
  });

const sdkModules = (loaded: readonly string[]): string[] => loaded.filter((url) => url.includes('/@aws-sdk/') || url.includes('/@smithy/'));

describe('encrypted-ecr --version and --help load no AWS SDK module', () => {
  beforeAll(() => assertBuilt());

  it.each([[['--version']], [['--help']], [['help', 'migrate']], [['migrate', '--help']], [['audit', '--help']]])('%j', async (args) => {
    const run = await runRecorded(args);
    expect(run.code).toBe(0);
    expect(run.stdout).not.toBe('');
    // The recorder worked: it saw the bin's own imports (commander).
    expect(run.loaded.some((url) => url.includes('/commander/'))).toBe(true);
    expect(sdkModules(run.loaded)).toEqual([]);
    // Nor the library or the test kit.
    expect(run.loaded.filter((url) => url.startsWith('file:') && /\/dist\/(index|testing\/index)\.js$/.test(url))).toEqual([]);
  });

  it('a command that calls AWS does load it, lazily (so the recorder can see it)', async () => {
    // An endpoint nobody listens on: the command fails fast, after loading the library and the SDK.
    const run = await runRecorded(['audit', '--region', 'eu-west-1', '--endpoint-url', 'http://127.0.0.1:9', '--output', 'json'], baseEnv({ AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret', AWS_MAX_ATTEMPTS: '1' }));
    expect(run.code).not.toBe(0);
    expect(sdkModules(run.loaded).length).toBeGreaterThan(0);
    expect(run.loaded.some((url) => url.endsWith('/dist/index.js'))).toBe(true);
  });
});

describe('dist/cli.js', () => {
  const cli = (): string => readFileSync(CLI, 'utf8');
  const library = (): string => readFileSync(join(DIST, 'index.js'), 'utf8');
  const testKit = (): string => readFileSync(join(DIST, 'testing/index.js'), 'utf8');

  beforeAll(() => assertBuilt());

  it('does not contain the emulator: its Query-protocol refusal is in dist/testing/index.js only', () => {
    const marker = 'the local AWS emulator does not support';
    expect(testKit()).toContain(marker);
    expect(cli()).not.toContain(marker);
    expect(cli()).toContain("import('./testing/index.js')");
  });

  it('does not bundle the library again: it imports the built ./index.js', () => {
    const marker = 'no AWS region configured: pass clientConfig.region';
    expect(library()).toContain(marker);
    expect(cli()).not.toContain(marker);
    expect(cli()).toContain("import('./index.js')");
    // Nothing of the SDK is bundled: it is imported (lazily) from the user's installation.
    expect(cli()).not.toMatch(/class ECRClient\b/);
  });
});

describe('the published tarball', () => {
  it('ships no source maps (they pointed at src/ files the package does not ship)', async () => {
    assertBuilt();
    const packed = await new Promise<string>((done, fail) => {
      execFile('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: resolve(DIST, '..'), timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
        error === null ? done(stdout) : fail(new Error(`npm pack failed: ${error.message}`)),
      );
    });
    const [pack] = JSON.parse(packed) as { files: { path: string }[] }[];
    const files = (pack?.files ?? []).map((f) => f.path);
    expect(files).toContain('dist/cli.js');
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });
});

describe('a reader that goes away (| head) ends the CLI quietly', () => {
  let aws: LocalAws;
  beforeAll(async () => {
    aws = await startLocalAws({ regions: ['eu-west-1'] });
  });
  afterAll(async () => {
    await aws.stop();
  });

  it('--help: exit 0, nothing on stderr', async () => {
    assertBuilt();
    const run = await runWithClosedStdout(['--help'], baseEnv());
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('audit --output json: its own exit code, no EPIPE stack trace', async () => {
    const run = await runWithClosedStdout(['audit', ...at(aws), '--output', 'json'], emulatorEnv(aws));
    expect(run.stderr).not.toMatch(/EPIPE|node:events|Unhandled/);
    expect(run.code).toBe(0);
  });
});
