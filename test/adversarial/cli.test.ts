/**
 * Issue 12, D18 (and D11 on the command line): every error line the built CLI prints has the
 * format the README promises, `encrypted-ecr: <kind>: <message>`: usage errors (`UsageError`),
 * refused confirmations (`ConfirmationRequired`), library errors (their `kind`), and those of
 * `encrypted-ecr local`. No line echoes `user:password@` of an endpoint URL.
 *
 * Nothing here reaches AWS: every case stops before the first call, and the endpoint, where one
 * is needed, is a closed port on 127.0.0.1.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, baseEnv, runCli } from '../cli/helpers.js';

beforeAll(() => assertBuilt());

const env = baseEnv({ AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret' });
const closed = ['--endpoint-url', 'http://127.0.0.1:9'];

// `encrypted-ecr: <kind>: <message>`, the kind in PascalCase.
const ERROR_LINE = /^encrypted-ecr: ([A-Z][A-Za-z]+): \S/;

/** The lines of stderr that are errors (not progress, notices or the usage text after one). */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((line) => line.startsWith('encrypted-ecr'));

describe('every error line has its kind', () => {
  it.each([
    ['an unknown option', ['audit', '--no-such-flag'], 'UsageError'],
    ['an unknown command', ['frobnicate'], 'UsageError'],
    ['a missing argument', ['delete'], 'UsageError'],
    ['a missing required option', ['migrate', 'resume'], 'UsageError'],
    ['a bad --output', ['audit', '--output', 'yaml', ...closed], 'UsageError'],
    ['delete off a terminal without --yes', ['delete', 'team/app', ...closed], 'ConfirmationRequired'],
    ['grants retire off a terminal without --yes', ['grants', 'retire', ...closed], 'ConfirmationRequired'],
    ['an invalid repository name', ['create', 'Team/App', '--encryption', 'AES256', ...closed], 'InvalidRepositoryName'],
    ['local with a bad port', ['local', '--port', 'x'], 'UsageError'],
    ['local with an unknown option', ['local', '--frob'], 'UsageError'],
  ])('%s: encrypted-ecr: %s', async (_, args, kind) => {
    const run = await runCli(args, env);

    expect(run.code).toBe(2);
    const lines = errorLines(run.stderr);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(ERROR_LINE);
    expect(lines[0]?.match(ERROR_LINE)?.[1]).toBe(kind);
  });

  it('the JSON error object carries the same kind as the line', async () => {
    const run = await runCli(['delete', 'team/app', '--output', 'json', ...closed], env);

    expect(run.code).toBe(2);
    expect(run.json<{ error: { kind: string } }>().error.kind).toBe('ConfirmationRequired');
    expect(errorLines(run.stderr)[0]).toMatch(/^encrypted-ecr: ConfirmationRequired: /);
  });
});

describe('no line echoes user:password@ of an endpoint (D11)', () => {
  it.each([
    ['an endpoint that is no URL', 'http://admin:hunter2@exa mple.com', 'UsageError'],
    ['a plain http:// endpoint to another host', 'http://admin:hunter2@ecr.example.com', 'InsecureEndpoint'],
  ])('%s', async (_, endpoint, kind) => {
    const run = await runCli(['audit', '--endpoint-url', endpoint], env);

    expect(run.code).toBe(2);
    expect(errorLines(run.stderr)[0]).toMatch(new RegExp(`^encrypted-ecr: ${kind}: `));
    expect(run.stderr).not.toContain('hunter2');
    expect(run.stdout).not.toContain('hunter2');
  });
});
