/**
 * `encrypted-ecr doctor` as a child process (the BUILT CLI) against the emulator: read-only checks
 * as a checklist, exit codes per failed check, and `--live` running the throwaway probes.
 */
import { DisableKeyCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_PROBE_IDS } from '../../src/probes/live-aws.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor } from '../helpers/local-aws.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

interface Check {
  readonly check: string;
  readonly status: 'pass' | 'fail' | 'unknown';
  readonly message: string;
  readonly notes?: readonly string[];
  readonly error?: { readonly kind: string; readonly actions?: readonly string[] };
}
interface Report {
  readonly ok: boolean;
  readonly region: string;
  readonly account?: string;
  readonly principalArn?: string;
  readonly key?: { readonly arn: string; readonly state?: string; readonly usage?: string; readonly spec?: string; readonly region?: string; readonly partition?: string };
  readonly checks: readonly Check[];
  readonly live?: {
    readonly prefix: string;
    readonly observations: Readonly<Record<string, { readonly agrees: boolean | null }>>;
    readonly cleanup: { readonly leftovers: readonly string[]; readonly repositoriesDeleted: readonly string[] };
  };
}

let aws: LocalAws;
let env: Record<string, string>;
let cmk: string;

const checkOf = (report: Report, name: string): Check | undefined => report.checks.find((c) => c.check === name);
const doctor = (args: readonly string[], environment = env) => runCli(['doctor', ...at(aws), '--output', 'json', ...args], environment);

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({ regions: ['us-east-1', 'eu-west-1'] });
  env = emulatorEnv(aws);
  const kms = kmsFor(aws);
  cmk = (await createKey(kms, { alias: 'alias/doctor-cmk' })).arn;
  kms.destroy();
});
afterAll(async () => {
  await aws.stop();
});

describe('encrypted-ecr doctor', () => {
  it('checks region, credentials and permissions without creating anything (not even the aws/ecr key)', async () => {
    const run = await doctor([]);
    expect(run.code).toBe(0);
    const report = run.json<Report>();
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => [c.check, c.status])).toEqual([
      ['region', 'pass'],
      ['credentials', 'pass'],
      ['permissions:create', 'pass'],
      ['permissions:delete', 'pass'],
      ['permissions:migrate', 'pass'],
    ]);
    expect(checkOf(report, 'credentials')?.message).toContain(`arn:aws:iam::${aws.account}:user/admin`);
    expect(checkOf(report, 'permissions:delete')?.notes).toContain('KMS permissions not checked: pass --kms-key');
    // Read-only: no key was created (DescribeKey on alias/aws/ecr would have), no repository either.
    expect(aws.inspect.keys().filter((k) => k.arn !== cmk)).toEqual([]);
    expect(aws.inspect.ecr?.repositories() ?? []).toEqual([]);
    // Only reads were sent (the key above was made before the doctor ran, by this test file).
    const calls = aws.inspect.calls().countBy('operation');
    expect(calls['sts:GetCallerIdentity']).toBeGreaterThan(0);
    expect(calls['iam:SimulatePrincipalPolicy']).toBeGreaterThan(0);
    for (const write of ['ecr:CreateRepository', 'ecr:DeleteRepository', 'kms:CreateGrant', 'kms:RetireGrant']) expect(calls[write] ?? 0).toBe(0);
    expect(calls['kms:CreateKey']).toBe(1);
  });

  it('prints a checklist with ✓ ✗ ? in table output', async () => {
    // A checklist line with a key ARN is wider than the 120 columns tables are cut to off a terminal.
    const run = await runCli(['doctor', ...at(aws), '--output', 'table', '--kms-key', 'alias/doctor-cmk'], { ...env, COLUMNS: '250' });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^✓ region +us-east-1 \(partition aws\)$/m);
    expect(run.stdout).toMatch(/^✓ kms key +arn:aws:kms:us-east-1:\d{12}:key\/\S+: Enabled, ENCRYPT_DECRYPT, SYMMETRIC_DEFAULT, CUSTOMER-managed, us-east-1$/m);
    expect(run.stdout).toMatch(/^✓ delete permissions /m);
  });

  it('describes a --kms-key: state, usage, spec, region, partition', async () => {
    const run = await doctor(['--kms-key', 'alias/doctor-cmk']);
    expect(run.code).toBe(0);
    const report = run.json<Report>();
    expect(report.key).toEqual({ arn: cmk, state: 'Enabled', usage: 'ENCRYPT_DECRYPT', spec: 'SYMMETRIC_DEFAULT', manager: 'CUSTOMER', region: 'us-east-1', partition: 'aws' });
    expect(checkOf(report, 'kmsKey')?.status).toBe('pass');
    // With a key, the KMS actions are simulated too, in ECR's context.
    expect(checkOf(report, 'permissions:delete')?.message).toContain('kms:RetireGrant');
  });

  it('fails a disabled key (exit 6) and a key of another region (exit 6)', async () => {
    const kms = kmsFor(aws);
    const disabled = await createKey(kms);
    await kms.send(new DisableKeyCommand({ KeyId: disabled.id }));
    kms.destroy();
    const run = await doctor(['--kms-key', disabled.arn]);
    expect(run.code).toBe(6);
    const check = checkOf(run.json<Report>(), 'kmsKey');
    expect(check).toMatchObject({ status: 'fail', error: { kind: 'KeyNotUsable' } });

    const other = kmsFor(aws, undefined, 'eu-west-1');
    const elsewhere = await createKey(other);
    other.destroy();
    const far = await doctor(['--kms-key', elsewhere.arn]);
    expect(far.code).toBe(6);
    expect(checkOf(far.json<Report>(), 'kmsKey')).toMatchObject({ status: 'fail', error: { kind: 'KeyRegionMismatch' } });
  });

  it('fails delete permissions (exit 5) for a user without kms:RetireGrant and ecr:DeleteRepository; create passes with a note', async () => {
    const user = aws.principals.createUser('doctor-no-delete', {
      policies: [allow([['ecr:CreateRepository', 'ecr:DescribeRepositories', 'ecr:ListImages', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:ListGrants', 'kms:GetKeyPolicy', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']])],
    });
    const run = await doctor(['--kms-key', cmk], emulatorEnv(aws, user.credentials));
    expect(run.code).toBe(5);
    const report = run.json<Report>();
    expect(report.ok).toBe(false);
    expect(checkOf(report, 'permissions:create')?.status).toBe('pass');
    expect(checkOf(report, 'permissions:create')?.notes?.join(' ')).toContain('kms:RetireGrant');
    const del = checkOf(report, 'permissions:delete');
    expect(del?.status).toBe('fail');
    expect(del?.error?.kind).toBe('MissingPermissions');
    expect(del?.message).toContain('ecr:DeleteRepository');
    expect(del?.message).toContain('kms:RetireGrant');
  });

  it('simulates the role behind an assumed-role session, found with GetRole (its path included)', async () => {
    aws.principals.createRole('deployer', { path: '/ci/', policies: [allow([['ecr:*', 'kms:*', 'iam:GetRole', 'iam:SimulatePrincipalPolicy']])] });
    const session = aws.principals.assumeRole('deployer', 'doctor');
    const run = await doctor([], { ...emulatorEnv(aws, session.credentials), AWS_SESSION_TOKEN: session.credentials.sessionToken ?? '' });
    expect(run.code).toBe(0);
    expect(run.json<Report>().principalArn).toBe(`arn:aws:iam::${aws.account}:role/ci/deployer`);
  });

  it('fails credentials that AWS rejects (exit 5), leaving the permission rows unknown', async () => {
    const run = await doctor([], emulatorEnv(aws, { accessKeyId: 'AKIANOTAREALKEY00000', secretAccessKey: 'wrong' }));
    expect(run.code).toBe(5);
    const report = run.json<Report>();
    expect(checkOf(report, 'credentials')).toMatchObject({ status: 'fail', error: { kind: 'CredentialsError' } });
    expect(checkOf(report, 'permissions:delete')?.status).toBe('unknown');
  });

  it('refuses --live off a terminal without --yes, before any call', async () => {
    const before = aws.inspect.calls().length;
    const run = await doctor(['--live']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--yes');
    expect(aws.inspect.calls().length).toBe(before);
  });

  it('--live --yes runs the probes and cleans up after them', async () => {
    const run = await doctor(['--live', '--yes', '--kms-key', 'alias/doctor-cmk']);
    const report = run.json<Report>();
    const live = report.live;
    expect(live).toBeDefined();
    expect(Object.keys(live?.observations ?? {}).sort()).toEqual([...LIVE_PROBE_IDS].sort());
    expect(live?.observations['kms.ecr-grants-shape']?.agrees).toBe(true);
    expect(live?.cleanup.leftovers).toEqual([]);
    expect((aws.inspect.ecr?.repositories() ?? []).filter((r) => r.repositoryName.startsWith(live?.prefix ?? '-'))).toEqual([]);
    // Exit 1 exactly when AWS (here the emulator) disagreed with the ledger.
    const disagrees = Object.values(live?.observations ?? {}).some((o) => o.agrees === false);
    expect(run.code).toBe(disagrees ? 1 : 0);
  });

  it('reports a missing region as a usage error (exit 2)', async () => {
    const run = await runCli(['doctor', '--endpoint-url', aws.endpoint, '--output', 'json'], emulatorEnv(aws));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no AWS region');
  });
});
