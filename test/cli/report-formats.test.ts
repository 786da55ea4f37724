/**
 * Issue 15: the report formats of `audit` and `grants` (SARIF validated against the official
 * SARIF 2.1.0 schema, JUnit parsed as Jenkins/GitLab read it, CSV as RFC 4180, JSON against the
 * schemas the package ships), `--report-file`, `--fail-on`, `--query` (compared with jmespath.py,
 * the AWS CLI's own implementation) and tables cut to 80 and 200 columns. Runs the BUILT CLI
 * against the emulator.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../src/testing/index.js';
import { startAuditEmulator } from '../fixtures/audit-emulator.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(resolve(ROOT, path), 'utf8')) as Record<string, unknown>;

/** ajv with the formats the schemas use (ajv-formats is not a dependency: these are strict enough for a test). */
const ajv = (): Ajv => {
  const instance = new Ajv({ allErrors: true, strict: false });
  instance.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  instance.addFormat('uri', (value: string) => URL.canParse(value));
  instance.addFormat('uri-reference', (value: string) => URL.canParse(value, 'https://base.example/'));
  return instance;
};

/** The official SARIF 2.1.0 schema (draft-04: `id` becomes `$id` for ajv's draft-07). */
const sarifValidator = (): ValidateFunction => {
  const { id, $schema: _draft04, ...schema } = readJson('test/data/sarif-schema-2.1.0.json');
  return ajv().compile({ ...schema, $id: String(id) });
};
const shippedValidator = (name: string): ValidateFunction => ajv().compile(readJson(`schemas/${name}`));

const expectValid = (validate: ValidateFunction, document: unknown): void => {
  const valid = validate(document);
  expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
  expect(valid).toBe(true);
};

/** jmespath.py (what the AWS CLI uses) on `document`; `undefined` when python3 has no jmespath. */
const jmespathPy = (expression: string, document: unknown): unknown => {
  try {
    const out = execFileSync('python3', ['-c', 'import json,sys,jmespath; print(json.dumps(jmespath.search(sys.argv[1], json.load(sys.stdin))))', expression], {
      input: JSON.stringify(document),
      encoding: 'utf8',
    });
    return JSON.parse(out) as unknown;
  } catch (error) {
    if (process.env.CI) throw error;
    return undefined;
  }
};

/** RFC 4180: fields, quoted fields with doubled quotes, CRLF records. */
const parseCsv = (text: string): string[][] => {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(field === '' && record.length === 0, 'the last record ends with CRLF').toBe(true);
  return records;
};

let aws: LocalAws;
let env: Record<string, string>;
let auditorEnv: Record<string, string>;
let cmk: string;

beforeAll(async () => {
  assertBuilt();
  ({ aws, cmk } = await startAuditEmulator({ keyDescription: 'report key', managedRepository: 'team/a-rather-long-repository-name-for-narrow-terminals' }));
  env = emulatorEnv(aws);
  // An auditor who cannot DescribeKey: every KMS repository is `unknown` to it.
  const auditor = aws.principals.createUser('auditor', {
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:Describe*', 'ecr:List*', 'kms:ListGrants', 'kms:ListKeys', 'kms:ListAliases'], Resource: '*' }] }],
  });
  auditorEnv = emulatorEnv(aws, auditor.credentials);
});
afterAll(() => aws.stop());

describe('audit --output sarif|junit|csv|json', { timeout: 300_000 }, () => {
  it('SARIF validates against the official SARIF 2.1.0 schema: one result per failed check, with the migrate command and the repository ARN', async () => {
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'sarif', ...at(aws)], env);
    expect(run.code).toBe(9);
    const log = run.json<{
      version: string;
      runs: {
        tool: { driver: { name: string; rules: { id: string; help: { text: string } }[] } };
        results: { ruleId: string; level: string; message: { text: string }; locations: { logicalLocations: { fullyQualifiedName: string; kind: string }[] }[] }[];
      }[];
    }>();
    expectValid(sarifValidator(), log);
    expect(log.version).toBe('2.1.0');
    const [sarifRun] = log.runs;
    expect(sarifRun?.tool.driver.name).toBe('encrypted-ecr');
    expect(sarifRun?.tool.driver.rules.every((r) => r.help.text.length > 10)).toBe(true);
    const errors = sarifRun?.results.filter((r) => r.level === 'error') ?? [];
    expect(errors.map((r) => r.ruleId).sort()).toEqual(['not-customer-managed', 'not-kms']);
    const plain = errors.find((r) => r.ruleId === 'not-kms');
    expect(plain?.message.text).toContain('encrypted-ecr migrate plain --kms-key');
    expect(plain?.locations[0]?.logicalLocations[0]).toEqual({ name: 'plain', fullyQualifiedName: `arn:aws:ecr:eu-west-1:${aws.account}:repository/plain`, kind: 'resource' });
    // The key holding orphaned grants is a warning with the retire command.
    expect(sarifRun?.results.find((r) => r.ruleId === 'orphaned-grants')?.message.text).toContain(`encrypted-ecr grants retire --key ${cmk}`);
  });

  it('JUnit parses as Jenkins and GitLab read it: a testcase per repository, <failure> for fail, <skipped> for unknown, counts right', async () => {
    const check = async (e: Record<string, string>, args: string[]) => {
      const run = await runCli(['audit', '--output', 'junit', ...args, ...at(aws)], e);
      const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(run.stdout) as {
        testsuites: { tests: string; failures: string; skipped: string; testsuite: { tests: string; failures: string; skipped: string; testcase: { name: string; classname: string; failure?: unknown; skipped?: unknown }[] }[] };
      };
      const cases = doc.testsuites.testsuite.flatMap((s) => s.testcase);
      for (const suite of [doc.testsuites, ...doc.testsuites.testsuite]) {
        const own = 'testcase' in suite ? (suite as { testcase: typeof cases }).testcase : cases;
        expect(Number(suite.tests)).toBe(own.length);
        expect(Number(suite.failures)).toBe(own.filter((c) => c.failure !== undefined).length);
        expect(Number(suite.skipped)).toBe(own.filter((c) => c.skipped !== undefined).length);
      }
      // The repositories' cases (registry rules and key posture have suites of their own).
      return { run, cases: cases.filter((c) => c.classname.startsWith('encrypted-ecr.audit.require-')) };
    };
    const cmkRule = await check(env, ['--require', 'cmk']);
    expect(cmkRule.run.code).toBe(9);
    expect(cmkRule.cases.map((c) => c.name).sort()).toEqual(['plain', 'secure', 'team/a-rather-long-repository-name-for-narrow-terminals']);
    expect(cmkRule.cases.filter((c) => c.failure !== undefined).map((c) => c.name).sort()).toEqual(['plain', 'team/a-rather-long-repository-name-for-narrow-terminals']);
    const blind = await check(auditorEnv, ['--require', 'any']);
    expect(blind.cases.filter((c) => c.skipped !== undefined).map((c) => c.name).sort()).toEqual(['secure', 'team/a-rather-long-repository-name-for-narrow-terminals']);
  });

  it('CSV is RFC 4180: one header row, a record per repository, CRLF, quoted fields', async () => {
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'csv', ...at(aws)], env);
    expect(run.code).toBe(9);
    const [header, ...records] = parseCsv(run.stdout);
    expect(header).toEqual(['repository', 'repository_arn', 'encryption', 'key_arn', 'key_manager', 'key_state', 'status', 'violations', 'reason', 'warnings', 'resource_type']);
    const rows = records.filter((r) => r[10] === 'repository');
    expect(rows).toHaveLength(3);
    const plain = rows.find((r) => r[0] === 'plain');
    expect(plain?.[6]).toBe('fail');
    // The reason holds a comma and a semicolon: quoted, read back whole.
    expect(plain?.[8]).toBe('encrypted with AES256; the rule requires a customer-managed KMS key');
  });

  it('JSON carries schemaVersion "1" and validates against the shipped schemas/audit-report.schema.json', async () => {
    for (const e of [env, auditorEnv]) {
      const run = await runCli(['audit', '--output', 'json', ...at(aws)], e);
      const report = run.json();
      expect(report.schemaVersion).toBe('1');
      expectValid(shippedValidator('audit-report.schema.json'), report);
    }
  });

  it('the shipped schema rejects what it should (it is not a schema that accepts everything)', () => {
    const validate = shippedValidator('audit-report.schema.json');
    expect(validate({ schemaVersion: '2', region: 'x' })).toBe(false);
    expect(validate({})).toBe(false);
  });
});

describe('--report-file and --fail-on', { timeout: 300_000 }, () => {
  it('--report-file writes the report (atomically, no temporary file left) and prints the table on stdout', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-report-'));
    const file = join(dir, 'audit.sarif');
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'sarif', '--report-file', file, ...at(aws)], env);
    expect(run.code).toBe(9);
    expectValid(sarifValidator(), JSON.parse(readFileSync(file, 'utf8')));
    expect(run.stdout).toMatch(/^REPOSITORY\s+ENCRYPTION/);
    expect(readdirSync(dir)).toEqual(['audit.sarif']);
  });

  it('an unwritable --report-file is a usage error before any AWS call', async () => {
    const run = await runCli(['audit', '--report-file', '/nonexistent-dir/x.json', '--endpoint-url', 'http://127.0.0.1:1', '--region', 'eu-west-1'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--report-file');
  });

  it('audit: default fails on unknown (as before); fail ignores unknown; warning adds orphaned grants; none never fails', async () => {
    const code = async (e: Record<string, string>, ...args: string[]) => (await runCli(['audit', '--output', 'json', ...args, ...at(aws)], e)).code;
    expect(await code(auditorEnv)).toBe(9);
    expect(await code(auditorEnv, '--fail-on', 'unknown')).toBe(9);
    expect(await code(auditorEnv, '--fail-on', 'fail')).toBe(0);
    expect(await code(env)).toBe(0);
    expect(await code(env, '--fail-on', 'warning')).toBe(9);
    expect(await code(env, '--require', 'cmk', '--fail-on', 'none')).toBe(0);
    expect(await code(env, '--fail-on', 'sometimes')).toBe(2);
  });

  it('grants orphans: --fail-on orphans exits 9 when orphans are found; undecided (default) and none exit 0 here', async () => {
    const code = async (...args: string[]) => (await runCli(['grants', 'orphans', '--output', 'json', ...args, ...at(aws)], env)).code;
    expect(await code()).toBe(0);
    expect(await code('--fail-on', 'orphans')).toBe(9);
    expect(await code('--fail-on', 'orphans,undecided')).toBe(9);
    expect(await code('--fail-on', 'none')).toBe(0);
    expect(await code('--fail-on', 'none,orphans')).toBe(2);
  });
});

describe('grants orphans|retire reports', { timeout: 300_000 }, () => {
  it('JSON validates against schemas/orphaned-grants-report.schema.json, for orphans and retire --dry-run', async () => {
    const validate = shippedValidator('orphaned-grants-report.schema.json');
    for (const args of [['grants', 'orphans'], ['grants', 'retire', '--dry-run']]) {
      const run = await runCli([...args, '--output', 'json', ...at(aws)], env);
      expect(run.code).toBe(0);
      expect(run.json().schemaVersion).toBe('1');
      expectValid(validate, run.json());
    }
  });

  it('SARIF (valid 2.1.0), JUnit and CSV list the two orphaned grants with their full ids', async () => {
    const json = (await runCli(['grants', 'orphans', '--output', 'json', ...at(aws)], env)).json<{ keys: { keyArn: string; orphans: { grantId: string }[] }[] }>();
    const ids = json.keys.flatMap((k) => k.orphans.map((o) => o.grantId)).sort();
    expect(ids).toHaveLength(2);
    const sarif = (await runCli(['grants', 'orphans', '--output', 'sarif', ...at(aws)], env)).json<{ runs: { results: { ruleId: string; properties: { grantId: string } }[] }[] }>();
    expectValid(sarifValidator(), sarif);
    expect(sarif.runs[0]?.results.map((r) => r.properties.grantId).sort()).toEqual(ids);
    const junit = (await runCli(['grants', 'orphans', '--output', 'junit', ...at(aws)], env)).stdout;
    for (const id of ids) expect(junit).toContain(`name="${id}"`);
    const [header, ...rows] = parseCsv((await runCli(['grants', 'orphans', '--output', 'csv', ...at(aws)], env)).stdout);
    expect(header?.slice(0, 4)).toEqual(['key_arn', 'grant_id', 'repository_arn', 'status']);
    expect(rows.map((r) => r[1]).sort()).toEqual(ids);
  });

  it('retire offers junit and csv but not sarif', async () => {
    const run = await runCli(['grants', 'retire', '--dry-run', '--output', 'sarif', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--output must be json, table, junit or csv');
  });
});

describe('--query (JMESPath, as the AWS CLI)', { timeout: 300_000 }, () => {
  const expressions = ["repositories[?status=='fail'].name", 'length(repositories)', 'repositories[*].[name, status]', 'keys[].grants.orphans[].reason', 'summary'];

  it.each(expressions)('%s gives what jmespath.py gives on the same JSON', async (expression) => {
    const whole = (await runCli(['audit', '--require', 'cmk', '--output', 'json', ...at(aws)], env)).json();
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'json', '--query', expression, ...at(aws)], env);
    expect(run.code).toBe(9);
    const expected = jmespathPy(expression, whole);
    if (expected === undefined) {
      console.warn('python3 has no jmespath module: compared with the fixed expectation only');
      return;
    }
    expect(JSON.parse(run.stdout)).toEqual(expected);
  });

  it('known answers, without python', async () => {
    const q = async (expression: string) => (await runCli(['audit', '--require', 'cmk', '--output', 'json', '--query', expression, ...at(aws)], env)).json<unknown>();
    expect(((await q("repositories[?status=='fail'].name")) as string[]).sort()).toEqual(['plain', 'team/a-rather-long-repository-name-for-narrow-terminals']);
    expect(await q('length(repositories)')).toBe(3);
    expect(await q("length(repositories[?status=='pass'])")).toBe(1);
  });

  it('with --output table, prints the query result as a table (as the AWS CLI formats the query result)', async () => {
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'table', '--query', 'repositories[*].{name: name, status: status}', ...at(aws)], env);
    expect(run.code).toBe(9);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+STATUS$/);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0]).sort()).toEqual(['plain', 'secure', 'team/a-rather-long-repository-name-for-narrow-terminals']);
  });

  it('an invalid expression is a usage error (exit 2) before any AWS call', async () => {
    // Port 1: any AWS call would fail as NetworkError (exit 7), not 2.
    const run = await runCli(['audit', '--query', 'repositories[?', '--endpoint-url', 'http://127.0.0.1:1', '--region', 'eu-west-1'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/UsageError: --query/);
  });

  it('works on other commands with JSON output (policy generate)', async () => {
    const run = await runCli(
      ['policy', 'generate', 'identity', '--account', '111122223333', '--region', 'eu-west-1', '--prefix', 'team/', '--key-arn', cmk, '--output', 'json', '--query', 'length(Statement) > `0`'],
      env,
    );
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toBe(true);
  });
});

describe('tables cut to the terminal (B9)', { timeout: 300_000 }, () => {
  it.each([80, 200])('at %i columns no line is longer than the width; ids are shortened in tables, whole in JSON', async (columns) => {
    for (const args of [['audit', '--require', 'cmk'], ['grants', 'orphans'], ['grants', 'retire', '--dry-run']]) {
      const run = await runCli([...args, '--output', 'table', ...at(aws)], { ...env, COLUMNS: String(columns) });
      const lines = run.stdout.split('\n');
      const long = lines.filter((l) => [...l].length > columns);
      expect(long, `${args.join(' ')} at ${columns}`).toEqual([]);
      expect(run.stdout).not.toContain(cmk);
      expect(run.stdout).toContain(`arn:…:key/${cmk.split('/')[1]?.slice(0, 8)}…`);
    }
    const json = (await runCli(['grants', 'orphans', '--output', 'json', ...at(aws)], { ...env, COLUMNS: String(columns) })).json<{ keys: { orphans: { grantId: string }[] }[] }>();
    const grantId = json.keys.flatMap((k) => k.orphans)[0]?.grantId ?? '';
    expect(grantId.length).toBeGreaterThan(13);
    const table = (await runCli(['grants', 'orphans', '--output', 'table', ...at(aws)], { ...env, COLUMNS: String(columns) })).stdout;
    expect(table).toContain(`${grantId.slice(0, 12)}…`);
    expect(table).not.toContain(grantId);
  });

  it('at 80 columns the REASON text is whole words, below its row', async () => {
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'table', ...at(aws)], { ...env, COLUMNS: '80' });
    const firstTable = run.stdout.split('\n\n')[0] ?? '';
    const below = firstTable
      .split('\n')
      .filter((l) => l.startsWith('    '))
      .map((l) => l.trim())
      .join(' ');
    expect(below).toContain('encrypted with AES256; the rule requires a customer-managed KMS key');
    expect(below).toContain('encrypted with the AWS-managed key aws/ecr; the rule requires a customer-managed key');
  });
});
