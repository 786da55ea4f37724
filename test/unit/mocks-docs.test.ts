/**
 * docs/testing.md cannot drift from the code: its command table is what each operation really
 * sends against the happy-path scenario, its failure table is `mockFailures`, and its Vitest and
 * Jest examples are the suites the consumer test runs. `UPDATE_TESTING_DOC=1` rewrites the tables.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ResultAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal } from '../../src/index.js';
import { mockFailures, mockRegistryClients, type MockScenarioOptions, type RegistryScenario } from '../../src/testing/mocks/index.js';

const DOC = new URL('../../docs/testing.md', import.meta.url);
const NAME = 'team/app';

interface Case {
  readonly operation: string;
  readonly setup: MockScenarioOptions;
  readonly run: (registry: EncryptedRegistry, scenario: RegistryScenario) => ResultAsync<unknown, unknown>;
}

const kmsRepository: MockScenarioOptions = { repositories: [{ name: NAME, encryption: 'KMS', images: 1 }] };
const aesRepository: MockScenarioOptions = { repositories: [{ name: NAME, encryption: 'AES256', images: 2 }] };
const target = (s: RegistryScenario) => ({ repositoryName: NAME, encryption: { type: 'KMS' as const, key: s.keyAlias } });

const CASES: readonly Case[] = [
  { operation: 'createEncryptedRepository', setup: {}, run: (r, s) => r.createEncryptedRepository(target(s)) },
  { operation: 'preflight', setup: {}, run: (r, s) => r.preflight(target(s)) },
  { operation: 'deleteRepository', setup: kmsRepository, run: (r) => r.deleteRepository({ repositoryName: NAME, force: true }) },
  { operation: 'findOrphanedGrants', setup: kmsRepository, run: (r) => r.findOrphanedGrants() },
  { operation: 'retireOrphanedGrants', setup: kmsRepository, run: (r) => r.retireOrphanedGrants({ dryRun: false }) },
  { operation: 'audit', setup: kmsRepository, run: (r) => r.audit() },
  { operation: 'planMigration', setup: aesRepository, run: (r, s) => r.planMigration(target(s)) },
  { operation: 'migrateRepository', setup: aesRepository, run: (r, s) => r.migrateRepository({ ...target(s), journal: memoryJournal() }) },
];

const commandTable = async (): Promise<string> => {
  const rows: string[] = [];
  for (const c of CASES) {
    const scenario = mockRegistryClients(c.setup);
    try {
      const result = await c.run(new EncryptedRegistry(scenario.options), scenario);
      expect(result.isOk(), `${c.operation} succeeds on its happy path`).toBe(true);
      const commands = [...new Set(scenario.commandsSent())].sort();
      rows.push(`| \`${c.operation}\` | ${commands.map((name) => `\`${name}\``).join(', ')} |`);
    } finally {
      scenario.restore();
    }
  }
  return ['| Operation | Commands it sends (happy path) |', '|---|---|', ...rows].join('\n');
};

const failureTable = (): string =>
  [
    '| `fail(...)` | Command | What it answers instead | Try with | `error.kind` |',
    '|---|---|---|---|---|',
    ...Object.entries(mockFailures).map(([name, f]) => `| \`'${name}'\` | \`${f.command}\` | ${f.answer} | \`${f.operation}\` | \`${f.kind}\` |`),
  ].join('\n');

/** The text between `<!-- name:start -->` and `<!-- name:end -->`. */
const section = (doc: string, name: string): string => {
  const match = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)\\n?<!-- ${name}:end -->`).exec(doc);
  if (match === null) throw new Error(`docs/testing.md has no ${name} section`);
  return match[1] ?? '';
};
const replaceSection = (doc: string, name: string, body: string): string =>
  doc.replace(new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`), `$1${body}\n$2`);

describe('docs/testing.md', () => {
  it('lists the commands each operation sends, as the scenario records them', async () => {
    const table = await commandTable();
    if (process.env.UPDATE_TESTING_DOC === '1') {
      writeFileSync(DOC, replaceSection(replaceSection(readFileSync(DOC, 'utf8'), 'commands', table), 'failures', failureTable()));
    }
    expect(section(readFileSync(DOC, 'utf8'), 'commands')).toBe(table);
  });

  it('lists every failure switch with its error kind', () => {
    expect(section(readFileSync(DOC, 'utf8'), 'failures')).toBe(failureTable());
  });

  it.each(['vitest', 'jest'])('shows the %s suite the consumer test runs, unchanged', (runner) => {
    const suite = readFileSync(new URL(`../consumer/${runner}/registry.spec.ts`, import.meta.url), 'utf8');
    expect(readFileSync(DOC, 'utf8')).toContain('```ts\n' + suite + '```\n');
  });
});
