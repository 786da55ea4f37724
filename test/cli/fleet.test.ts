/**
 * The built CLI over several accounts and regions, against the emulator: `audit --region a,b`
 * audits both; `--accounts all --role-name --external-id` audits the organization, the account
 * without the role is a failed target in the one JSON document and the exit code is 8; `grants
 * orphans --all-regions` follows Account ListRegions.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, emulatorEnv, runCli } from './helpers.js';

const MANAGEMENT = '111111111111';
const MEMBER = '222222222222';
const NO_ROLE = '333333333333';

let aws: LocalAws;
let env: Record<string, string>;

interface FleetJson {
  readonly compliant?: boolean;
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  readonly repositories?: readonly { readonly accountId: string; readonly region: string; readonly name: string }[];
  readonly targets: readonly { readonly accountId: string; readonly region?: string; readonly status: string; readonly stage?: string; readonly error?: { readonly kind: string } }[];
  readonly byAccount: Readonly<Record<string, { readonly targets: number; readonly failed: number }>>;
  readonly failedTargets: number;
}

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({
    accounts: [MANAGEMENT, MEMBER, NO_ROLE],
    regions: ['eu-west-1', 'us-east-1'],
    disabledRegions: ['ap-east-1'],
    clock: manualClock(new Date(Date.now() - 2 * 3_600_000)),
  });
  env = emulatorEnv(aws);
  for (const account of [MANAGEMENT, MEMBER, NO_ROLE]) aws.principals.setOrg(account, 'o-clifleet01');
  aws.principals.createRole('ecr-auditor', {
    account: MEMBER,
    trust: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${MANAGEMENT}:root` }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': 'cli-42' } } }],
    },
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:Describe*', 'kms:Describe*', 'kms:List*'], Resource: '*' }] }],
  });
  for (const region of aws.regions) {
    const ecr = new ECRClient({ ...aws.clientConfig({ region }), maxAttempts: 1 });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: `app-${region}` }));
    ecr.destroy();
  }
});
afterAll(async () => {
  await aws.stop();
});

describe('encrypted-ecr over several accounts and regions', () => {
  it('audit --region a,b audits both regions into one report', async () => {
    const run = await runCli(['audit', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1,us-east-1', '--output', 'json'], env);
    expect(run.stderr).toBe('');
    const report = run.json<FleetJson>();
    expect(report.repositories?.map((r) => `${r.accountId}/${r.region}/${r.name}`).sort()).toEqual([
      `${MANAGEMENT}/eu-west-1/app-eu-west-1`,
      `${MANAGEMENT}/us-east-1/app-us-east-1`,
    ]);
    expect(report.targets.map((t) => t.status)).toEqual(['ok', 'ok']);
    expect(run.code).toBe(0);
  });

  it('audit --region a,b --fail-on: as for one region (exit 9 by default for AES256 under --require kms, 0 with none, 2 for an unknown value)', async () => {
    const base = ['audit', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1,us-east-1', '--require', 'kms', '--output', 'json'];
    const byDefault = await runCli(base, env);
    expect(byDefault.json<FleetJson>().compliant).toBe(false);
    expect(byDefault.code).toBe(9);
    const none = await runCli([...base, '--fail-on', 'none'], env);
    expect(none.json<FleetJson>().compliant).toBe(false);
    expect(none.code).toBe(0);
    const any = await runCli(['audit', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1,us-east-1', '--fail-on', 'fail', '--output', 'json'], env);
    expect(any.code).toBe(0);
    const unknown = await runCli([...base, '--fail-on', 'sometimes'], env);
    expect(unknown.code).toBe(2);
  });

  it('audit --accounts all: the account without the role is a failed target, the others are audited, exit 8', async () => {
    const run = await runCli(
      ['audit', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1,us-east-1', '--accounts', 'all', '--role-name', 'ecr-auditor', '--external-id', 'cli-42', '--output', 'json'],
      env,
    );
    const report = run.json<FleetJson>();
    expect(report.accounts).toEqual([MANAGEMENT, MEMBER, NO_ROLE]);
    expect(report.targets.filter((t) => t.status === 'failed')).toEqual([expect.objectContaining({ accountId: NO_ROLE, stage: 'assume-role', error: expect.objectContaining({ kind: 'AccessDenied' }) as unknown })]);
    expect(report.byAccount[MEMBER]).toEqual(expect.objectContaining({ targets: 2, failed: 0 }));
    expect(report.failedTargets).toBe(1);
    expect(run.code).toBe(8);
  });

  it('grants orphans --all-regions sweeps the enabled regions; a disabled one given by name fails as a target', async () => {
    const enabled = await runCli(['grants', 'orphans', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1', '--all-regions', '--output', 'json'], env);
    expect(enabled.code).toBe(2);
    expect(enabled.stderr).toMatch(/--region and --all-regions/);

    const all = await runCli(['grants', 'orphans', '--endpoint-url', aws.endpoint, '--all-regions', '--output', 'json'], { ...env, AWS_REGION: 'eu-west-1' });
    expect(all.json<FleetJson>().regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(all.code).toBe(0);

    const named = await runCli(['grants', 'orphans', '--endpoint-url', aws.endpoint, '--region', 'eu-west-1,ap-east-1', '--output', 'table'], env);
    expect(named.code).toBe(8);
    expect(named.stdout).toMatch(/targets that failed/);
    expect(named.stdout).toMatch(/ap-east-1\s+sweep\s+CredentialsError/);
  });
});
