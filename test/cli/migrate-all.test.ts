/**
 * `encrypted-ecr migrate --all --where …` and `migrate resume --fleet-journal` (the built bin) on the
 * emulator: the fleet plan, `--yes` off a terminal, each repository's outcome in JSON, exit 8 when
 * one failed, the usage errors of the fleet flags, the fleet journal's lock, and key filters by alias.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

let aws: LocalAws;
let ecr: ECRClient;
let env: Record<string, string>;
let keyArn: string;
const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-migrate-all-'));

interface FleetJson {
  readonly repositories: readonly { readonly repositoryName: string; readonly status: string; readonly error?: { readonly kind: string; readonly message: string } }[];
  readonly totals: Record<string, number>;
}

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({ regions: ['eu-west-1'] });
  env = emulatorEnv(aws);
  ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  keyArn = (await kms.send(new CreateKeyCommand({ Description: 'fleet target' }))).KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/fleet', TargetKeyId: keyArn }));
  kms.destroy();
  for (const [i, name] of ['fleetcli/a', 'fleetcli/b', 'fleetcli/refuses', 'other/z'].entries()) {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(4096, 500 + i)], tags: ['v1'], label: name });
  }
  const refusing = { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:SetRepositoryPolicy' }] };
  await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fleetcli/refuses', policyText: JSON.stringify(refusing), force: true }));
});
afterAll(async () => {
  ecr.destroy();
  await aws.stop();
});

const encryptionOf = async (name: string) => (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.encryptionConfiguration;

describe('encrypted-ecr migrate --all', () => {
  it('plans the fleet, needs --yes off a terminal, lists each outcome and exits 8 when one repository failed', async () => {
    // Act
    const plan = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'encryption=AES256', '--kms-key', 'alias/fleet', '--plan', ...at(aws)], env);
    const refused = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', ...at(aws)], env);
    const journal = join(dir, 'fleet.json');
    const run = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', '--yes', '--fleet-journal', journal, '--parallel', '2', ...at(aws)], env);

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
    expect(await encryptionOf('fleetcli/a')).toEqual({ encryptionType: 'KMS', kmsKey: keyArn });
    expect(await encryptionOf('other/z')).toEqual({ encryptionType: 'AES256' });
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
    const calls = aws.inspect.calls().length;
    const run = await runCli([...args, '--kms-key', 'alias/fleet', '--yes', ...at(aws)].filter((a, i, all) => !(args[1] === 'resume' && (a === '--kms-key' || all[i - 1] === '--kms-key'))), env);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(aws.inspect.calls().length).toBe(calls);
  });

  it('migrate resume --fleet-journal with no file is JournalNotFound (exit 3)', async () => {
    // Act
    const run = await runCli(['migrate', 'resume', '--fleet-journal', join(dir, 'none.json'), '--yes', ...at(aws)], env);

    // Assess
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('no journal at');
  });

  it('a second run on a fleet journal in use exits 2 naming the process that holds it, before any AWS call; so does migrate resume', async () => {
    // Prepare: the lock as a running migrate --all holds it (this test process stands for it: alive, this host).
    const journal = join(dir, 'locked.json');
    writeFileSync(`${journal}.lock`, `${JSON.stringify({ pid: process.pid, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: '0123456789abcdef' })}\n`);
    writeFileSync(journal, '{}');
    const calls = aws.inspect.calls().length;

    // Act
    const run = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--kms-key', 'alias/fleet', '--yes', '--fleet-journal', journal, ...at(aws)], env);
    const resumed = await runCli(['migrate', 'resume', '--fleet-journal', journal, '--yes', ...at(aws)], env);

    // Assess
    for (const refused of [run, resumed]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`the journal is in use by process ${process.pid} on ${hostname()}`);
      expect(refused.stderr).toContain(`${journal}.lock`);
    }
    expect(aws.inspect.calls().length).toBe(calls);
  });

  it('--where key!=alias/… selects by the key the alias names; an alias that names no key exits 3 before any repository is listed', async () => {
    // Act
    const plan = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'key!=alias/fleet', '--encryption', 'AES256', '--plan', ...at(aws)], env);
    const typo = await runCli(['migrate', '--all', '--where', 'name=fleetcli/*', '--where', 'key!=alias/flete', '--encryption', 'AES256', '--plan', ...at(aws)], env);

    // Assess: the first test migrated fleetcli/a and fleetcli/b onto alias/fleet's key.
    expect(plan.code).toBe(0);
    expect(plan.json<{ repositories: { repositoryName: string }[] }>().repositories.map((r) => r.repositoryName)).toEqual(['fleetcli/refuses']);
    expect(typo.code).toBe(3);
    expect(typo.stderr).toContain('KMS key not found: alias/flete');
  });
});
