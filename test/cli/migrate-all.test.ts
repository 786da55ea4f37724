/**
 * `encrypted-ecr migrate --all --where …` and `migrate resume --fleet-journal` (the built bin) on the
 * emulator: the fleet plan, `--yes` off a terminal, each repository's outcome in JSON, exit 8 when
 * one failed, the usage errors of the fleet flags, the fleet journal's lock, and key filters by alias.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushImage, randomBytes } from '../../src/testing/index.js';
import { useCliEmulator } from '../fixtures/cli-emulator.js';
import { at, runCli } from './helpers.js';

const cli = useCliEmulator({
  dirPrefix: 'encrypted-ecr-cli-migrate-all-',
  key: { description: 'fleet target', alias: 'alias/fleet' },
  seed: async ({ ecr }) => {
    for (const [i, name] of ['fleetcli/a', 'fleetcli/b', 'fleetcli/refuses', 'other/z'].entries()) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
      await pushImage(ecr, name, { layers: [randomBytes(4096, 500 + i)], tags: ['v1'], label: name });
    }
    const refusing = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:SetRepositoryPolicy' }] };
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fleetcli/refuses', policyText: JSON.stringify(refusing), force: true }));
  },
});

interface FleetJson {
  readonly repositories: readonly { readonly repositoryName: string; readonly status: string; readonly error?: { readonly kind: string; readonly message: string } }[];
  readonly totals: Record<string, number>;
}

describe('encrypted-ecr migrate --all', () => {
  it('plans the fleet, needs --yes off a terminal, lists each outcome and exits 8 when one repository failed', async () => {
    // Act
    const plan = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'encryption=AES256', '--kms-key', 'alias/fleet', '--plan', ...at(cli.aws)], cli.env);
    const refused = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', ...at(cli.aws)], cli.env);
    const journal = join(cli.dir, 'fleet.json');
    const run = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', '--yes', '--fleet-journal', journal, '--parallel', '2', ...at(cli.aws)], cli.env);

    // Assess
    expect(plan.code).toBe(0);
    expect(plan.json<{ totals: { repositories: number }; repositories: { repositoryName: string }[] }>().repositories.map((r) => r.repositoryName)).toEqual([
      'fleetcli/a',
      'fleetcli/b',
      'fleetcli/refuses',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');
    expect(run.code).toBe(8);
    const result = run.json<FleetJson>();
    expect(result.repositories.map((r) => [r.repositoryName, r.status])).toEqual([
      ['fleetcli/a', 'migrated'],
      ['fleetcli/b', 'migrated'],
      ['fleetcli/refuses', 'failed'],
    ]);
    expect(result.repositories[2]?.error?.kind).toEqual(expect.any(String));
    expect(result.totals).toEqual({ migrated: 2, unchanged: 0, failed: 1, pending: 0 });
    expect(await cli.encryptionOf('fleetcli/a')).toEqual({ encryptionType: 'KMS', kmsKey: cli.keyArn });
    expect(await cli.encryptionOf('other/z')).toEqual({ encryptionType: 'AES256' });
    expect(existsSync(journal)).toBe(true);
  }, 120_000);

  it.each([
    [['migrate', 'fleetcli/a', '--all', '--where', 'name=*'], 'leave out the repository name'],
    [['migrate', '--all'], 'needs at least one --where'],
    [['migrate', 'fleetcli/a', '--where', 'name=*'], '--where go with --all'],
    [['migrate', '--all', '--where', 'owner=me'], 'unknown field owner'],
    [['migrate', 'resume'], 'needs --journal <file> (one repository) or --fleet-journal'],
  ])('%j is a usage error (exit 2) before any AWS call', async (args, message) => {
    // Act
    const calls = cli.aws.inspect.calls().length;
    const run = await runCli([...args, '--kms-key', 'alias/fleet', '--yes', ...at(cli.aws)].filter((a, i, all) => !(args[1] === 'resume' && (a === '--kms-key' || all[i - 1] === '--kms-key'))), cli.env);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(cli.aws.inspect.calls().length).toBe(calls);
  });

  it('migrate resume --fleet-journal with no file is JournalNotFound (exit 3)', async () => {
    // Act
    const run = await runCli(['migrate', 'resume', '--fleet-journal', join(cli.dir, 'none.json'), '--yes', ...at(cli.aws)], cli.env);

    // Assess
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('no journal at');
  });

  it('a second run on a fleet journal in use exits 2 naming the process that holds it, before any AWS call; so does migrate resume', async () => {
    // Prepare: the lock as a running migrate --all holds it (this test process stands for it: alive, this host).
    const journal = join(cli.dir, 'locked.json');
    writeFileSync(`${journal}.lock`, `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: '0123456789abcdef' })}\n`);
    writeFileSync(journal, '{}');
    const calls = cli.aws.inspect.calls().length;

    // Act
    const run = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', '--yes', '--fleet-journal', journal, ...at(cli.aws)], cli.env);
    const resumed = await runCli(['migrate', 'resume', '--fleet-journal', journal, '--yes', ...at(cli.aws)], cli.env);

    // Assess
    for (const refused of [run, resumed]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`the journal is in use by process ${process.pid} on ${hostname()}`);
      expect(refused.stderr).toContain(`${journal}.lock`);
    }
    expect(cli.aws.inspect.calls().length).toBe(calls);
  });

  it('--where key!=alias/… selects by the key the alias names; an alias that names no key exits 3 before any repository is listed', async () => {
    // Act
    const plan = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'key!=alias/fleet', '--encryption', 'AES256', '--plan', ...at(cli.aws)], cli.env);
    const typo = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'key!=alias/flete', '--encryption', 'AES256', '--plan', ...at(cli.aws)], cli.env);

    // Assess: the first test migrated fleetcli/a and fleetcli/b onto alias/fleet's key.
    expect(plan.code).toBe(0);
    expect(plan.json<{ repositories: { repositoryName: string }[] }>().repositories.map((r) => r.repositoryName)).toEqual(['fleetcli/refuses']);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain('KMS key not found: alias/flete');
  });
});
