/**
 * Issue 15 B1 and B10: `grants orphans` / `grants retire` list the grants they could not decide
 * (with when they become decidable), exit 8 then, can `--wait` for them, and a dry run lists which
 * grants it would retire. Runs the BUILT CLI against the emulator.
 */
import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startLocalAws, type LocalAws, type ManualClock } from '../../src/testing/index.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

let aws: LocalAws;
let clock: ManualClock;
let env: Record<string, string>;
let cmk: string;
let ecr: ECRClient;
let kms: KMSClient;
let asUser: ECRClient;

interface Undecided {
  readonly keyArn: string;
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly reason: string;
  readonly decidableAfter?: string;
}
interface Sweep {
  readonly dryRun?: boolean;
  readonly keys: readonly {
    readonly keyArn: string;
    readonly orphans: readonly { grantId: string; repositoryArn: string; reason: string }[];
    readonly retired?: readonly string[];
  }[];
  readonly undecided: readonly Undecided[];
  readonly decidableAfter?: string;
  readonly rerun?: string;
}

const IN_TEN_MINUTES = 10 * 60_000;

/** Creates a KMS repository and deletes it as a principal without kms:RetireGrant: its two grants stay. */
const orphanRepository = async (name: string, key: string): Promise<void> => {
  await ecr.send(new CreateRepositoryCommand({ repositoryName: name, encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key } }));
  await expect(asUser.send(new DeleteRepositoryCommand({ repositoryName: name }))).rejects.toMatchObject({ name: 'KmsException' });
};

const grantsOf = (key: string, repository: string) =>
  aws.inspect.grants(key).filter((g) => g.encryptionContextSubset?.['aws:ecr:arn']?.endsWith(`:repository/${repository}`));

beforeAll(async () => {
  assertBuilt();
  clock = manualClock(new Date(Date.now() - 2 * 3_600_000));
  aws = await startLocalAws({ regions: ['eu-west-1'], clock });
  env = emulatorEnv(aws);
  kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const user = aws.principals.createUser('deployer', {
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' }] }],
  });
  asUser = new ECRClient({ ...aws.clientConfig({ credentials: user.credentials }), maxAttempts: 1 });
  cmk = (await kms.send(new CreateKeyCommand({ Description: 'undecided' }))).KeyMetadata!.Arn!;
  // Two hours ago: a decided orphan.
  await orphanRepository('old', cmk);
  // As far as KMS tells, ten minutes from now: grants far too recent to decide (the sweep's clock is this machine's).
  clock.set(new Date(Date.now() + IN_TEN_MINUTES));
  await orphanRepository('fresh', cmk);
});
afterAll(() => {
  for (const client of [kms, ecr, asUser]) client.destroy();
  return aws.stop();
});

describe('grants orphans: undecided grants (issue 15 B1)', () => {
  it('lists the too-recent grants with key, grant, repository, reason and decidable-after, and exits 8', async () => {
    const run = await runCli(['grants', 'orphans', '--key', cmk, '--output', 'json', ...at(aws)], env);
    expect(run.code).toBe(8);
    const sweep = run.json<Sweep>();
    const fresh = grantsOf(cmk, 'fresh');
    expect(fresh).toHaveLength(2);
    expect(sweep.undecided.map((u) => u.grantId).sort()).toEqual(fresh.map((g) => g.grantId).sort());
    for (const u of sweep.undecided) {
      expect(u).toMatchObject({ keyArn: cmk, reason: 'too-recent' });
      expect(u.repositoryArn).toMatch(/:repository\/fresh$/);
      const created = fresh.find((g) => g.grantId === u.grantId)?.createdAt;
      expect(u.decidableAfter).toBe(new Date(created!.getTime() + 60_000).toISOString());
    }
    expect(sweep.decidableAfter).toBe(sweep.undecided[0]?.decidableAfter);
    expect(sweep.rerun).toContain(`decidable after ${sweep.decidableAfter}`);
    // The decided ones are still orphans.
    expect(sweep.keys.find((k) => k.keyArn === cmk)?.orphans.map((o) => o.reason)).toEqual(['repository-deleted', 'repository-deleted']);
  });

  it('the table shows each undecided grant and one line saying when to run again', async () => {
    const run = await runCli(['grants', 'orphans', '--key', cmk, '--output', 'table', ...at(aws)], env);
    expect(run.code).toBe(8);
    for (const g of grantsOf(cmk, 'fresh')) {
      const line = run.stdout.split('\n').find((l) => l.includes(g.grantId.slice(0, 12)));
      expect(line).toContain('too-recent');
      expect(line).toContain(':repository/fresh');
      expect(line).toContain(new Date(g.createdAt.getTime() + 60_000).toISOString());
    }
    expect(run.stdout.split('\n').filter((l) => l.includes('run `encrypted-ecr grants orphans` again'))).toHaveLength(1);
  });

  it('documents exit 8 and --wait in its help', async () => {
    const run = await runCli(['grants', 'orphans', '--help'], env);
    expect(run.stdout).toContain('--wait <seconds>');
    expect(run.stdout).toMatch(/8 a grant could not be decided/);
  });

  it('a malformed --wait is a usage error before any call (exit 2)', async () => {
    const before = aws.inspect.calls().length;
    const run = await runCli(['grants', 'orphans', '--wait', 'soon', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--wait');
    expect(aws.inspect.calls().length).toBe(before);
  });
});

describe('grants retire: which grants, and the undecided ones (issue 15 B1, B10)', () => {
  it('--dry-run lists the grants it would retire (key, grant, repository, reason), retires nothing', async () => {
    const run = await runCli(['grants', 'retire', '--dry-run', '--key', cmk, '--output', 'table', ...at(aws)], env);
    expect(run.code).toBe(8);
    const lines = run.stdout.split('\n');
    for (const g of grantsOf(cmk, 'old')) {
      const line = lines.find((l) => l.includes(g.grantId.slice(0, 12)));
      expect(line).toContain(':repository/old');
      expect(line).toContain('repository-deleted');
      expect(line).toContain('would retire');
      expect(line).toContain('key/');
    }
    for (const g of grantsOf(cmk, 'fresh')) expect(lines.find((l) => l.includes(g.grantId.slice(0, 12)))).toContain('too-recent');
    expect(run.stdout).toContain('dry run: nothing was retired');
    expect(aws.inspect.grants(cmk).filter((g) => g.retired)).toHaveLength(0);
  });

  it('--yes retires the decided orphans, leaves the too-recent ones, and exits 8 with when to run again', async () => {
    // --wait 5 cannot reach grants decidable in ten minutes: no waiting. Every pause is announced
    // on stderr (the next test sees it), so its absence is the proof; the run's wall time is not
    // (a CLI run alone can take seconds on a loaded machine).
    const run = await runCli(['grants', 'retire', '--yes', '--wait', '5', '--key', cmk, '--output', 'json', ...at(aws)], env);
    expect(run.stderr).not.toMatch(/waiting \d+ s for/);
    expect(run.code).toBe(8);
    const sweep = run.json<Sweep>();
    expect(sweep.keys.find((k) => k.keyArn === cmk)?.retired).toHaveLength(2);
    expect(sweep.undecided.map((u) => u.reason)).toEqual(['too-recent', 'too-recent']);
    expect(sweep.rerun).toContain('run `encrypted-ecr grants retire` again');
    expect(grantsOf(cmk, 'old').every((g) => g.retired)).toBe(true);
    expect(grantsOf(cmk, 'fresh').some((g) => g.retired)).toBe(false);
  });

  it('--wait waits until too-recent grants become decidable, then retires them (exit 0)', async () => {
    const key = (await kms.send(new CreateKeyCommand({ Description: 'soon' }))).KeyMetadata!.Arn!;
    // Grants 45 s old: decidable 15 s from now (plus the sweep's margin), well after the CLI has
    // started and swept once even on a loaded machine (a CLI run takes seconds there).
    clock.set(new Date(Date.now() - 45_000));
    await orphanRepository('soon', key);
    clock.set(new Date(Date.now() + IN_TEN_MINUTES));
    const run = await runCli(['grants', 'retire', '--yes', '--wait', '30', '--key', key, '--output', 'json', ...at(aws)], env);
    expect(run.stderr).toMatch(/waiting \d+ s for 2 too-recent grant\(s\)/);
    expect(run.code).toBe(0);
    const sweep = run.json<Sweep>();
    expect(sweep.undecided).toEqual([]);
    expect(sweep.rerun).toBeUndefined();
    expect(sweep.keys.find((k) => k.keyArn === key)?.retired).toHaveLength(2);
    expect(grantsOf(key, 'soon').every((g) => g.retired)).toBe(true);
  }, 60_000);
});
