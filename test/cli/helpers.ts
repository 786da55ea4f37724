/** Runs the BUILT CLI (`dist/cli.js`, made by `npm run build`) as a child process. */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { LocalAws } from '../../src/testing/index.js';

export const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

/** Fails with a clear message when the CLI has not been built. */
export const assertBuilt = (): void => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the CLI tests (npm test does)`);
};

/** The JSON error object the CLI prints on stdout with JSON output. */
export interface JsonError {
  readonly error: { readonly kind: string; readonly message: string } & Record<string, unknown>;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed as JSON (throws when it is not). */
  json<T = Record<string, unknown>>(): T;
}

/** An empty home: the child must never read the machine's ~/.aws. */
const home = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-home-'));

/** The environment of a child: nothing of this process's AWS settings, only what is given. */
export const baseEnv = (extra: Readonly<Record<string, string>> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: home,
  AWS_CONFIG_FILE: join(home, 'config'),
  AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  AWS_EC2_METADATA_DISABLED: 'true',
  ...extra,
});

/** The environment for the emulator's default principal (or the credentials given). */
export const emulatorEnv = (
  aws: LocalAws,
  credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } = aws.credentials,
): Record<string, string> =>
  baseEnv({ AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });

/** Runs `node dist/cli.js ...args`; never rejects on a non-zero exit. */
export const runCli = (args: readonly string[], env: Readonly<Record<string, string>>): Promise<CliRun> =>
  new Promise((done, fail) => {
    execFile(process.execPath, [CLI, ...args], { env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : undefined;
      if (code === undefined) {
        fail(error ?? new Error('no exit code'));
        return;
      }
      done({
        code,
        stdout,
        stderr,
        json: <T>() => JSON.parse(stdout) as T,
      });
    });
  });

/** `--endpoint-url` and `--region` of the emulator. */
export const at = (aws: LocalAws): string[] => ['--endpoint-url', aws.endpoint, '--region', aws.region];
