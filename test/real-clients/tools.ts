/**
 * Real AWS clients nobody here wrote — the official AWS CLI v2 and boto3, from Debian's packages
 * (`awscli`, `python3-boto3`; `.ci/run` installs them) — run against the local emulator as a user
 * would run them. They sign, serialise and parse with their own code, so they check the emulator's
 * wire format and SigV4 independently of the JavaScript SDK the library uses.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { EmulatorCredentials, LocalAws } from '../../src/testing/index.js';

export const AWS_CLI = '/usr/bin/aws';
/** skopeo, from Debian's package (`.ci/run` installs it): a registry client nobody here wrote. */
export const SKOPEO = '/usr/bin/skopeo';
export const PYTHON = '/usr/bin/python3';

/** Whether boto3 imports under Debian's python3 (the pyenv python on dev machines lacks it). */
const hasBoto3 = (): boolean => {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import boto3'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * Whether a tool is here. On CI a missing tool is a failure (the run must install it), elsewhere
 * the suite is skipped with a message saying how to get it.
 */
export const available = (tool: 'aws-cli' | 'boto3' | 'skopeo'): boolean => {
  const present = tool === 'aws-cli' ? existsSync(AWS_CLI) : tool === 'skopeo' ? existsSync(SKOPEO) : hasBoto3();
  const packages = tool === 'skopeo' ? 'skopeo' : 'awscli python3-boto3';
  if (!present && process.env.CI) throw new Error(`${tool} is missing on CI: .ci/run installs ${packages} with apt-get`);
  if (!present) console.warn(`skipping the ${tool} tests: ${SKOPEO} not found (apt-get install --no-install-recommends ${packages})`);
  return present;
};

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment a user would export for the emulator (no profile, no config files of the machine). */
const envFor = (aws: LocalAws, credentials: EmulatorCredentials): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/nonexistent',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  ...(credentials.sessionToken !== undefined ? { AWS_SESSION_TOKEN: credentials.sessionToken } : {}),
  AWS_DEFAULT_REGION: aws.region,
  AWS_REGION: aws.region,
  AWS_PAGER: '',
  AWS_MAX_ATTEMPTS: '1',
  ENDPOINT: aws.endpoint,
});

const run = (file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeout = 60_000): Promise<Run> =>
  new Promise((resolve) => {
    execFile(file, [...args], { env, timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });

/** `aws <args> --endpoint-url <emulator> --output json` as `credentials` (AWS CLI 2.9 predates AWS_ENDPOINT_URL). */
export const awsCli = (aws: LocalAws, credentials: EmulatorCredentials, ...args: string[]): Promise<Run> =>
  run(AWS_CLI, [...args, '--endpoint-url', aws.endpoint, '--output', 'json'], envFor(aws, credentials));

/** Runs a Python script with boto3; `ENDPOINT` and the credentials are in its environment. */
export const python = (aws: LocalAws, credentials: EmulatorCredentials, script: string, ...args: string[]): Promise<Run> =>
  run(PYTHON, ['-c', script, ...args], envFor(aws, credentials));

/**
 * `skopeo <args>` with no configuration of the machine (its own empty HOME and auth file, no
 * signature policy): what a user runs against a plain-HTTP loopback registry.
 */
export const skopeo = (home: string, ...args: string[]): Promise<Run> =>
  run(SKOPEO, ['--insecure-policy', ...args], {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_RUNTIME_DIR: home,
    REGISTRY_AUTH_FILE: `${home}/auth.json`,
    CONTAINERS_REGISTRIES_CONF: '/dev/null',
  }, 300_000);

/** Parses a command's JSON output, failing with what it printed. */
export const json = <T>(result: Run): T => {
  if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
};
