/**
 * Issue 18: `audit`'s SARIF, JUnit and CSV carry the registry rules (templates, pull-through
 * cache, replication destinations) and the key-posture checks with their three states, as the
 * JSON and ASFF do; the JSON validates against the shipped schema, the SARIF against SARIF 2.1.0.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribePullThroughCacheRulesCommand, DescribeRegistryCommand, DescribeRepositoriesCommand, DescribeRepositoryCreationTemplatesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import { Ajv, type ValidateFunction } from 'ajv';
import { mockClient } from 'aws-sdk-client-mock';
import { XMLParser } from 'fast-xml-parser';
import { beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_FORMATS, auditDocument } from '../../../src/cli/report/audit.js';
import type { ReportContext } from '../../../src/cli/report/spec.js';
import { type AuditReport, EncryptedRegistry } from '../../../src/index.js';
import { mockTwoKeys, repositoryWith, ROTATING, STILL } from '../../fixtures/audit-keys.js';
import { ACCOUNT, REGION } from '../../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const ROOT = resolve(import.meta.dirname, '../../..');
const CONTEXT = { version: '0.0.0-test', now: new Date('2026-12-01T00:00:00Z') } as ReportContext;
/** The writer of one format (a test bug if absent). */
const write = (format: string, report: AuditReport): Promise<string> => {
  const writer = AUDIT_FORMATS[format];
  if (writer === undefined) throw new Error(`no ${format} writer`);
  return Promise.resolve(writer(report, CONTEXT));
};

const validator = (path: string, draft04 = false): ValidateFunction => {
  const instance = new Ajv({ allErrors: true, strict: false });
  instance.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  instance.addFormat('uri', (value: string) => URL.canParse(value));
  instance.addFormat('uri-reference', (value: string) => URL.canParse(value, 'https://base.example/'));
  const schema = JSON.parse(readFileSync(resolve(ROOT, path), 'utf8')) as Record<string, unknown>;
  if (!draft04) return instance.compile(schema);
  const { id, $schema: _draft04, ...rest } = schema;
  return instance.compile({ ...rest, $id: String(id) });
};
const expectValid = (validate: ValidateFunction, document: unknown): void => {
  validate(document);
  expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
};

const audit = async (): Promise<AuditReport> => (await new EncryptedRegistry({ clientConfig: { region: REGION } }).audit({ require: 'cmk' }))._unsafeUnwrap();

beforeEach(() => {
  ecr.reset();
  kms.reset();
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repositoryWith('app/a', ROTATING), repositoryWith('app/b', STILL)] });
  // A pull-through cache rule no template covers (fail), replication to a registry whose templates are not read here (unknown).
  ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({ repositoryCreationTemplates: [] });
  ecr.on(DescribePullThroughCacheRulesCommand).resolves({ pullThroughCacheRules: [{ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io' }] });
  ecr.on(DescribeRegistryCommand).resolves({ registryId: ACCOUNT, replicationConfiguration: { rules: [{ destinations: [{ region: 'eu-central-1', registryId: ACCOUNT }] }] } });
  mockTwoKeys(kms);
});

describe('audit reports carry registry rules and key posture', () => {
  it('the JSON validates against schemas/audit-report.schema.json, registry rules and posture included', async () => {
    const report = await audit();
    expect(report.registryRules.rules.map((r) => [r.rule, r.status])).toEqual([
      ['pull-through-cache', 'fail'],
      ['replication', 'unknown'],
    ]);
    expect(report.keys.flatMap((k) => k.posture?.checks ?? []).length).toBeGreaterThan(0);
    const validate = validator('schemas/audit-report.schema.json');
    const document = JSON.parse(JSON.stringify(auditDocument(report))) as Record<string, unknown>;
    expectValid(validate, document);
    // The schema describes the new parts: a malformed registry rule is refused.
    expect(validate({ ...document, registryRules: { status: 'maybe', rules: [] } })).toBe(false);
  });

  it('SARIF: a result per registry-rule violation and per posture check that does not pass, valid SARIF 2.1.0', async () => {
    const log = JSON.parse(await write('sarif', await audit())) as { runs: { results: { ruleId: string; level: string; message: { text: string }; properties: { status: string } }[]; tool: { driver: { rules: { id: string }[] } } }[] };
    expectValid(validator('test/data/sarif-schema-2.1.0.json', true), log);
    const results = log.runs[0]?.results ?? [];
    expect(results.find((r) => r.ruleId === 'no-template')).toMatchObject({ level: 'error', properties: { status: 'fail' } });
    expect(results.find((r) => r.ruleId === 'rules-unverified')).toMatchObject({ level: 'warning', properties: { status: 'unknown' } });
    const rotation = results.filter((r) => r.ruleId === 'key-posture/rotation');
    expect(rotation.map((r) => r.message.text)).toEqual([expect.stringContaining(STILL)]);
    expect(results.filter((r) => r.ruleId === 'key-posture/public-key-policy').map((r) => r.properties.status)).toEqual(['unknown', 'unknown']);
    const ruleIds = new Set(log.runs[0]?.tool.driver.rules.map((r) => r.id));
    for (const r of results) expect(ruleIds.has(r.ruleId), r.ruleId).toBe(true);
  });

  it('JUnit: suites for registry rules and key posture, <failure> for fail, <skipped> for unknown', async () => {
    const xml = await write('junit', await audit());
    const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml) as {
      testsuites: { testsuite: { name: string; testcase: { name: string; classname: string; failure?: unknown; skipped?: unknown }[] }[] };
    };
    const suite = (title: string) => doc.testsuites.testsuite.find((s) => s.name.startsWith(`encrypted-ecr audit ${title}`))?.testcase ?? [];
    const rules = suite('registry rules');
    expect(rules.map((c) => [c.name, c.failure !== undefined, c.skipped !== undefined])).toEqual([
      ['pull-through-cache hub', true, false],
      [`replication ROOT → ${ACCOUNT}/eu-central-1`, false, true],
    ]);
    const posture = suite('key posture');
    const rotation = posture.filter((c) => c.classname === 'encrypted-ecr.audit.key-posture.rotation');
    expect(rotation.map((c) => [c.name, c.failure !== undefined])).toEqual([
      [ROTATING, false],
      [STILL, true],
    ]);
    expect(posture.some((c) => c.skipped !== undefined)).toBe(true);
  });

  it('CSV: a row per registry rule and posture check after the repositories, with resource_type and the three states', async () => {
    const text = await write('csv', await audit());
    // resource_type is the last column and never quoted: each record ends with it.
    const [header, ...lines] = text.trimEnd().split('\r\n');
    expect(header?.endsWith(',warnings,resource_type')).toBe(true);
    const of = (type: string): string[] => lines.filter((l) => l.endsWith(`,${type}`));
    expect(of('repository')).toHaveLength(2);
    expect(of('registry-rule').map((l) => [l.split(',')[0], /,(pass|fail|unknown),/.exec(l)?.[1]])).toEqual([
      ['pull-through-cache hub', 'fail'],
      [`replication ROOT → ${ACCOUNT}/eu-central-1`, 'unknown'],
    ]);
    expect(new Set(of('key-posture').map((l) => /,,,(pass|fail|unknown),/.exec(l)?.[1]))).toEqual(new Set(['pass', 'fail', 'unknown']));
  });
});
