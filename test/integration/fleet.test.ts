/**
 * `EncryptedFleet` on the emulator over HTTP, with real SDK clients: an organization of three
 * accounts × two regions where one member account has no role (every other account audited, the
 * missing one reported), `sts:ExternalId` in the trust policies, Organizations `ListAccounts`,
 * Account `ListRegions` with a region the accounts have not enabled, and grant sweeps.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedFleet, type FleetOptions, type PolicyDocument } from '../../src/index.js';
import { manualClock, startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { TEST_POLL } from '../helpers/local-aws.js';

const MANAGEMENT = '111111111111';
const MEMBER = '222222222222';
const NO_ROLE = '333333333333';
const OUTSIDER = '444444444444';
const REGIONS = ['eu-west-1', 'us-east-1'];
const EXTERNAL_ID = 'fleet-audit-7';

let aws: LocalAws;

const auditorPolicy: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:Describe*', 'ecr:List*', 'kms:Describe*', 'kms:List*', 'account:ListRegions'], Resource: '*' }] };
const trustFromManagement: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${MANAGEMENT}:root` }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': EXTERNAL_ID } } }],
};

const fleetOf = (options: Omit<FleetOptions, 'clientConfig' | 'poll'>): EncryptedFleet =>
  new EncryptedFleet({ clientConfig: { ...aws.clientConfig(), maxAttempts: 1 }, poll: TEST_POLL, ...options });

beforeAll(async () => {
  aws = await startLocalAws({
    accounts: [MANAGEMENT, MEMBER, NO_ROLE, OUTSIDER],
    regions: REGIONS,
    disabledRegions: ['ap-east-1'],
    clock: manualClock(new Date(Date.now() - 2 * 3_600_000)),
  });
  for (const account of [MANAGEMENT, MEMBER, NO_ROLE]) aws.principals.setOrg(account, 'o-fleet0test1');
  aws.principals.createRole('ecr-auditor', { account: MEMBER, trust: trustFromManagement, policies: [auditorPolicy] });
  aws.principals.createRole('ecr-auditor', { account: OUTSIDER, trust: trustFromManagement, policies: [auditorPolicy] });
  // A repository per account and region, made by each account's own admin session.
  for (const account of [MANAGEMENT, MEMBER, NO_ROLE]) {
    const admin =
      account === MANAGEMENT
        ? aws.principals.default
        : aws.principals.assumeRole(aws.principals.createRole('setup-admin', { account, policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }] }).name, 'setup', { account });
    for (const region of REGIONS) {
      const ecr = new ECRClient({ ...aws.clientConfig({ region, credentials: admin.credentials }), maxAttempts: 1 });
      await ecr.send(new CreateRepositoryCommand({ repositoryName: `app-${account.slice(0, 1)}`, ...(account === MEMBER && region === 'us-east-1' ? { encryptionConfiguration: { encryptionType: 'KMS' } } : {}) }));
      ecr.destroy();
    }
  }
});
afterAll(async () => {
  await aws.stop();
});

describe('EncryptedFleet on the emulator', () => {
  it('audits every account of the organization in both regions; the account without the role is reported, the others audited', async () => {
    const fleet = fleetOf({ accounts: 'organization', regions: REGIONS, roleName: 'ecr-auditor', externalId: EXTERNAL_ID });
    const report = (await fleet.audit({ require: 'kms' }))._unsafeUnwrap();
    fleet.destroy();

    // The organization's three accounts, not the outsider.
    expect(report.accounts).toEqual([MANAGEMENT, MEMBER, NO_ROLE]);
    const failed = report.targets.filter((t) => t.status === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ accountId: NO_ROLE, stage: 'assume-role', error: { kind: 'AccessDenied', service: 'sts', operation: 'AssumeRole' } });
    expect(report.targets.filter((t) => t.status === 'ok').map((t) => `${t.accountId}/${t.region ?? ''}`).sort()).toEqual(
      [MANAGEMENT, MEMBER].flatMap((a) => REGIONS.map((r) => `${a}/${r}`)).sort(),
    );
    // Each row says where it is; each repository was listed in its own account and region.
    expect(report.repositories.map((r) => `${r.accountId}/${r.region}/${r.name}`).sort()).toEqual([
      `${MANAGEMENT}/eu-west-1/app-1`,
      `${MANAGEMENT}/us-east-1/app-1`,
      `${MEMBER}/eu-west-1/app-2`,
      `${MEMBER}/us-east-1/app-2`,
    ]);
    for (const r of report.repositories) expect(r.arn).toBe(`arn:aws:ecr:${r.region}:${r.accountId}:repository/${r.name}`);
    expect(report.repositories.find((r) => r.accountId === MEMBER && r.region === 'us-east-1')?.compliant).toBe(true);
    expect(report.byAccount[NO_ROLE]).toMatchObject({ targets: 1, failed: 1, repositories: 0 });
    expect(report.byAccount[MEMBER]).toMatchObject({ targets: 2, failed: 0, repositories: 2, nonCompliant: 1 });
    expect(report.byRegion['us-east-1']).toMatchObject({ targets: 2, repositories: 2, nonCompliant: 1 });
    expect(report.compliant).toBe(false);

    // The role was assumed with the external id, under a session name that says who ran it.
    const sessions = aws.inspect.calls({ service: 'ecr' }).filter((c) => c.principal?.includes(`${MEMBER}:assumed-role/ecr-auditor/`) === true);
    expect(sessions.length).toBeGreaterThan(0);
    expect(sessions[0]?.principal).toBe(`arn:aws:sts::${MEMBER}:assumed-role/ecr-auditor/encrypted-ecr-admin`);
  });

  it('a wrong external id is a failed target of that account, not an error of the sweep', async () => {
    const fleet = fleetOf({ accounts: [MEMBER, MANAGEMENT], regions: ['eu-west-1'], roleName: 'ecr-auditor', externalId: 'not-the-one' });
    const report = (await fleet.findOrphanedGrants())._unsafeUnwrap();
    fleet.destroy();
    expect(report.targets).toEqual([
      expect.objectContaining({ accountId: MEMBER, status: 'failed', stage: 'assume-role' }),
      expect.objectContaining({ accountId: MANAGEMENT, region: 'eu-west-1', status: 'ok' }),
    ]);
  });

  it("'enabled' regions come from Account ListRegions in each account; a region the account has not enabled fails as AWS answers it", async () => {
    const enabled = fleetOf({ accounts: [MEMBER], regions: 'enabled', roleName: 'ecr-auditor', externalId: EXTERNAL_ID });
    const report = (await enabled.audit())._unsafeUnwrap();
    enabled.destroy();
    expect(report.targets.map((t) => [t.status, t.region])).toEqual([
      ['ok', 'eu-west-1'],
      ['ok', 'us-east-1'],
    ]);

    const explicit = fleetOf({ accounts: [MEMBER], regions: ['eu-west-1', 'ap-east-1'], roleName: 'ecr-auditor', externalId: EXTERNAL_ID });
    const withDisabled = (await explicit.audit())._unsafeUnwrap();
    explicit.destroy();
    const disabled = withDisabled.targets.find((t) => t.region === 'ap-east-1');
    expect(disabled).toMatchObject({ status: 'failed', stage: 'sweep', error: { kind: 'CredentialsError', service: 'ecr' } });
    expect(disabled?.hint).toMatch(/opt-in region/);
    expect(withDisabled.targets.find((t) => t.region === 'eu-west-1')?.status).toBe('ok');
  });

  it('ListAccounts from a member account is AccessDenied: the sweep stops before any target', async () => {
    const memberAdmin = aws.principals.assumeRole('setup-admin', 'member', { account: MEMBER });
    const fleet = new EncryptedFleet({ clientConfig: { ...aws.clientConfig({ credentials: memberAdmin.credentials }), maxAttempts: 1 }, accounts: 'organization', roleName: 'ecr-auditor' });
    const error = (await fleet.audit())._unsafeUnwrapErr();
    fleet.destroy();
    expect(error).toMatchObject({ kind: 'AccessDenied', service: 'organizations', operation: 'ListAccounts' });
  });

  it('suspended and closed accounts are listed as skipped, never assumed into', async () => {
    aws.principals.setAccountState(NO_ROLE, 'SUSPENDED');
    try {
      const fleet = fleetOf({ accounts: 'organization', regions: ['eu-west-1'], roleName: 'ecr-auditor', externalId: EXTERNAL_ID });
      const report = (await fleet.findOrphanedGrants())._unsafeUnwrap();
      fleet.destroy();
      expect(report.accounts).toEqual([MANAGEMENT, MEMBER]);
      expect(report.skippedAccounts).toEqual([{ accountId: NO_ROLE, state: 'SUSPENDED' }]);
      expect(report.failedTargets).toBe(0);
    } finally {
      aws.principals.setAccountState(NO_ROLE, 'ACTIVE');
    }
  });
});
