/**
 * The live-AWS probes (src/probes/live-aws.ts) run here against the local emulator through an
 * injected client factory: the report's shape, the observations the emulator can make, and that
 * cleanup leaves no repository and no grant of a probe repository. Also the opt-out of `npm run
 * test:aws`: without ENCRYPTED_ECR_LIVE_AWS=1 it touches nothing and exits 0 with one line.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_PROBE_IDS, liveGate, type LiveReport, type ProbeCredentials, runLiveProbes } from '../../src/probes/live-aws.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor } from '../helpers/local-aws.js';

let aws: LocalAws;
beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});

const clientsOf = (credentials?: ProbeCredentials) => {
  const config = { ...aws.clientConfig(), ...(credentials ? { credentials } : {}) };
  return { ecr: new ECRClient(config), kms: new KMSClient(config), sts: new STSClient(config), iam: new IAMClient(config) };
};
const run = (options: { kmsKey?: string; noRetireRoleArn?: string; prefix?: string } = {}): Promise<LiveReport> =>
  runLiveProbes({ region: aws.region, clients: clientsOf, grantWaitMs: 300, pollIntervalMs: 10, ...options });

/** What the probes left: repositories of the prefix, and grants still listed that are constrained to one of them. */
const leftBehind = (report: LiveReport): { repositories: string[]; grants: string[] } => ({
  repositories: (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.startsWith(report.prefix)),
  grants: aws.inspect
    .keys()
    .flatMap((k) => aws.inspect.grants(k.arn))
    .filter((g) => !g.retired && (g.encryptionContextSubset?.['aws:ecr:arn'] ?? '').includes(`repository/${report.prefix}`))
    .map((g) => g.grantId),
});

describe('runLiveProbes against the emulator', () => {
  it('reports one entry per ledger id with observed, expected and agrees, and cleans up everything it made', async () => {
    const report = await run();
    expect(report.error).toBeUndefined();
    expect(report.prefix).toMatch(/^encrypted-ecr-probe-[0-9a-f]{8}$/);
    expect(Object.keys(report.observations).sort()).toEqual([...LIVE_PROBE_IDS].sort());
    for (const [id, o] of Object.entries(report.observations)) {
      expect(o.id).toBe(id);
      expect(o).toHaveProperty('observed');
      expect(o).toHaveProperty('expected');
      expect([true, false, null]).toContain(o.agrees);
    }
    const o = report.observations;
    // The default key is the AWS-managed aws/ecr key; ECR answers its ARN.
    expect(report.keyArn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\//);
    expect(o['ecr.kms-key-echo']).toMatchObject({ agrees: true, observed: { answered: report.keyArn } });
    expect(o['kms.ecr-grants-shape']).toMatchObject({ agrees: true, observed: { count: 2 } });
    expect(o['kms.grant-visibility-delay']?.agrees).toBe(true);
    expect(o['ecr.layer-part-size']).toMatchObject({ agrees: true, observed: { partSize: 10_485_760 } });
    expect(o['ecr.manifest-byte-exact']?.agrees).toBe(true);
    expect(o['ecr.delete-retires-grants']).toMatchObject({ agrees: true, observed: { grantsLeft: 0 } });
    // No role given: that probe is not observed, and says how to enable it.
    expect(o['ecr.delete-without-retire-grant']?.agrees).toBeNull();
    expect(String(o['ecr.delete-without-retire-grant']?.observed)).toContain('ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN');
    // Whatever the emulator answers to a policy with Resource, the observation records the answer.
    expect(o['ecr.policy-resource-refused']?.observed).toHaveProperty('accepted');

    expect(report.cleanup.repositoriesDeleted).toEqual([`${report.prefix}-kms`]);
    expect(report.cleanup.leftovers).toEqual([]);
    expect(leftBehind(report)).toEqual({ repositories: [], grants: [] });
  });

  it('with a role lacking kms:RetireGrant: observes the deletion leaving the grants, then retires only the probe repository grants', async () => {
    const kms = kmsFor(aws);
    const key = await createKey(kms, { alias: 'alias/probe-cmk' });
    // A grant of someone else on the same key, constrained to another repository: never touched.
    const other = await createKey(kms);
    kms.destroy();
    aws.principals.createRole('probe-no-retire', {
      policies: [allow([['ecr:*', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:ListGrants']])],
    });
    const report = await run({ kmsKey: 'alias/probe-cmk', noRetireRoleArn: `arn:aws:iam::${aws.account}:role/probe-no-retire` });
    expect(report.error).toBeUndefined();
    expect(report.keyArn).toBe(key.arn);
    // The alias goes in, the key ARN comes out.
    expect(report.observations['ecr.kms-key-echo']).toMatchObject({ agrees: true, observed: { given: 'alias/probe-cmk', answered: key.arn } });
    expect(report.observations['ecr.delete-without-retire-grant']).toMatchObject({
      agrees: true,
      observed: { repositoryDeleted: true, grantsLeft: 2 },
    });
    // The two grants the role could not retire are retired by the cleanup, and nothing else.
    expect(report.cleanup.grantsRetired).toHaveLength(2);
    expect(report.cleanup.leftovers).toEqual([]);
    expect(leftBehind(report)).toEqual({ repositories: [], grants: [] });
    expect(aws.inspect.grants(other.arn).every((g) => !g.retired)).toBe(true);
  });

  it('stops early on a key that does not exist: nothing created, every observation not observed', async () => {
    const report = await run({ kmsKey: 'alias/does-not-exist' });
    expect(report.error).toContain('KeyNotFound');
    expect(Object.values(report.observations).every((o) => o.agrees === null)).toBe(true);
    expect(report.cleanup).toEqual({ repositoriesDeleted: [], grantsRetired: [], leftovers: [] });
  });

  it('refuses a prefix that is not a probe prefix (it would sweep grants of real repositories)', async () => {
    await expect(run({ prefix: 'team-app' })).rejects.toThrow(/encrypted-ecr-probe-/);
  });
});

describe('the test:aws gate', () => {
  it('does nothing without ENCRYPTED_ECR_LIVE_AWS=1, and without resolvable credentials', async () => {
    expect(await liveGate({}, () => Promise.resolve({}))).toMatch(/ENCRYPTED_ECR_LIVE_AWS is not 1/);
    expect(await liveGate({ ENCRYPTED_ECR_LIVE_AWS: '1' }, () => Promise.reject(new Error('Could not load credentials from any providers')))).toMatch(
      /no AWS credentials could be resolved/,
    );
    expect(await liveGate({ ENCRYPTED_ECR_LIVE_AWS: '1' }, () => Promise.resolve({}))).toBeUndefined();
  });

  it('npm run test:aws without the opt-in prints one line and exits 0', async () => {
    const root = resolve(import.meta.dirname, '../..');
    const result = await new Promise<{ code: number; stdout: string }>((done, fail) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', join(root, 'scripts/test-aws.ts')],
        { cwd: root, env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', AWS_EC2_METADATA_DISABLED: 'true' }, timeout: 60_000 },
        (error, stdout) => {
          if (error !== null && typeof error.code !== 'number') fail(new Error(error.message));
          else done({ code: error === null ? 0 : Number(error.code), stdout });
        },
      );
    });
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([expect.stringMatching(/^test:aws: did nothing: ENCRYPTED_ECR_LIVE_AWS is not 1/)]);
  });
});
