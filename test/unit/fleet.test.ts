/**
 * `EncryptedFleet` with aws-sdk-client-mock: Organizations pagination and the Status/State fields,
 * AssumeRole per account (role ARN, external id, session name), a denied AssumeRole and a region the
 * account has not enabled as per-target failures, Account ListRegions pagination and filtering,
 * renewal of expiring credentials. Every rejection is a real SDK exception class.
 */
import { AccountClient, ListRegionsCommand } from '@aws-sdk/client-account';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { ListAccountsCommand, OrganizationsClient, AWSOrganizationsNotInUseException } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient, STSServiceException } from '@aws-sdk/client-sts';
import { ECRServiceException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { errAsync, okAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedFleet } from '../../src/index.js';
import { renewingCredentials } from '../../src/fleet/credentials.js';

const sts = mockClient(STSClient);
const orgs = mockClient(OrganizationsClient);
const account = mockClient(AccountClient);
const ecr = mockClient(ECRClient);

const MANAGEMENT = '111111111111';
const credentialsOf = (accountId: string) => ({
  AccessKeyId: `ASIA${accountId}`,
  SecretAccessKey: 'secret',
  SessionToken: `token-${accountId}`,
  Expiration: new Date(Date.now() + 3_600_000),
});
const accessDenied = (message: string) =>
  new STSServiceException({ name: 'AccessDenied', $fault: 'client', message, $metadata: { httpStatusCode: 403 } });

/** The account whose credentials signed an ECR call (`ASIA<account>`), or the management account. */
const accountOfClient = async (client: ECRClient): Promise<string> => {
  const provider = client.config.credentials;
  const credentials = await provider();
  return credentials.accessKeyId.startsWith('ASIA') ? credentials.accessKeyId.slice(4) : MANAGEMENT;
};

const repositoriesIn = (accountId: string, region: string) => ({
  repositories: [
    {
      repositoryName: `app-${accountId.slice(0, 2)}`,
      repositoryArn: `arn:aws:ecr:${region}:${accountId}:repository/app-${accountId.slice(0, 2)}`,
      registryId: accountId,
      repositoryUri: `${accountId}.dkr.ecr.${region}.amazonaws.com/app`,
      encryptionConfiguration: { encryptionType: 'AES256' as const },
    },
  ],
});

beforeEach(() => {
  for (const mock of [sts, orgs, account, ecr]) mock.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: MANAGEMENT, Arn: `arn:aws:iam::${MANAGEMENT}:user/alice`, UserId: 'AIDA' });
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    const accountId = /::(\d{12}):/.exec(input.RoleArn)?.[1] ?? '';
    return { Credentials: credentialsOf(accountId), AssumedRoleUser: { Arn: `arn:aws:sts::${accountId}:assumed-role/auditor/x`, AssumedRoleId: 'AROA:x' } };
  });
  ecr.on(DescribeRepositoriesCommand).callsFake(async (_input, getClient: () => ECRClient) => {
    // The client of this call: aws-sdk-client-mock's getClient() is the last one used, so read it at once.
    const client = getClient();
    return repositoriesIn(await accountOfClient(client), await client.config.region());
  });
});
afterEach(() => {
  for (const mock of [sts, orgs, account, ecr]) mock.reset();
});

describe('EncryptedFleet: accounts of the organization', () => {
  it('follows every ListAccounts page (an empty page with a NextToken too) and sweeps only ACTIVE accounts, State before Status', async () => {
    orgs
      .on(ListAccountsCommand)
      .resolvesOnce({ Accounts: [], NextToken: 'p2' })
      .resolvesOnce({
        Accounts: [
          { Id: '222222222222', State: 'ACTIVE', Status: 'ACTIVE' },
          // The Status field is being retired: an account with State only.
          { Id: '333333333333', State: 'ACTIVE' },
          // An older answer, Status only.
          { Id: '444444444444', Status: 'ACTIVE' },
        ],
        NextToken: 'p3',
      })
      .resolvesOnce({
        Accounts: [
          { Id: '555555555555', State: 'SUSPENDED', Status: 'ACTIVE' },
          { Id: '666666666666', State: 'CLOSED' },
          { Id: '777777777777', State: 'PENDING_ACTIVATION' },
        ],
      });
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, accounts: 'organization', roleName: 'ecr-auditor', externalId: 'ext-42' });
    const report = (await fleet.audit())._unsafeUnwrap();
    fleet.destroy();

    expect(orgs.commandCalls(ListAccountsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'p2', 'p3']);
    expect(report.accounts).toEqual(['222222222222', '333333333333', '444444444444']);
    expect(report.skippedAccounts).toEqual([
      { accountId: '555555555555', state: 'SUSPENDED' },
      { accountId: '666666666666', state: 'CLOSED' },
      { accountId: '777777777777', state: 'PENDING_ACTIVATION' },
    ]);
    const assumed = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed.map((i) => i.RoleArn).sort()).toEqual([
      'arn:aws:iam::222222222222:role/ecr-auditor',
      'arn:aws:iam::333333333333:role/ecr-auditor',
      'arn:aws:iam::444444444444:role/ecr-auditor',
    ]);
    for (const input of assumed) {
      expect(input.ExternalId).toBe('ext-42');
      expect(input.RoleSessionName).toBe('encrypted-ecr-alice');
    }
    // Each repository row carries the account it was audited in, with that account's credentials.
    expect(report.repositories.map((r) => [r.accountId, r.region, r.name]).sort()).toEqual([
      ['222222222222', 'eu-west-1', 'app-22'],
      ['333333333333', 'eu-west-1', 'app-33'],
      ['444444444444', 'eu-west-1', 'app-44'],
    ]);
    expect(report.byAccount['333333333333']).toMatchObject({ targets: 1, failed: 0, repositories: 1 });
    expect(report.byRegion['eu-west-1']).toMatchObject({ targets: 3, failed: 0, repositories: 3 });
    expect(report.compliant).toBe(true);
  });

  it('an organization that cannot be listed stops the sweep before any AssumeRole', async () => {
    orgs.on(ListAccountsCommand).rejects(new AWSOrganizationsNotInUseException({ message: 'Your account is not a member of an organization.', $metadata: {} }));
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, accounts: 'organization', roleName: 'ecr-auditor' });
    const error = (await fleet.audit())._unsafeUnwrapErr();
    fleet.destroy();
    expect(error).toMatchObject({ kind: 'AwsServiceError', service: 'organizations', operation: 'ListAccounts', name: 'AWSOrganizationsNotInUseException' });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });
});

describe('EncryptedFleet: per-target failures', () => {
  it('a role that cannot be assumed fails its account only; the others are audited', async () => {
    sts.on(AssumeRoleCommand, { RoleArn: 'arn:aws:iam::333333333333:role/ecr-auditor' }).rejects(
      accessDenied(`User: arn:aws:iam::${MANAGEMENT}:user/alice is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::333333333333:role/ecr-auditor`),
    );
    const fleet = new EncryptedFleet({
      clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIACALLER', secretAccessKey: 'caller' } },
      accounts: ['222222222222', '333333333333', MANAGEMENT],
      regions: ['eu-west-1', 'us-east-1'],
      roleName: 'ecr-auditor',
    });
    const report = (await fleet.audit())._unsafeUnwrap();
    fleet.destroy();

    const failedTargets = report.targets.filter((t) => t.status === 'failed');
    expect(failedTargets, JSON.stringify(failedTargets)).toHaveLength(1);
    expect(failedTargets[0]).toMatchObject({ accountId: '333333333333', stage: 'assume-role', error: { kind: 'AccessDenied', service: 'sts', operation: 'AssumeRole' } });
    expect(failedTargets[0]?.region).toBeUndefined();
    expect(failedTargets[0]?.hint).toMatch(/role does not exist/);
    // Two accounts × two regions audited; the caller's own account with its own credentials (no AssumeRole).
    expect(report.targets.filter((t) => t.status === 'ok')).toHaveLength(4);
    expect(sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn)).not.toContain(`arn:aws:iam::${MANAGEMENT}:role/ecr-auditor`);
    expect(report.repositories.filter((r) => r.accountId === MANAGEMENT).map((r) => r.region).sort()).toEqual(['eu-west-1', 'us-east-1']);
    expect(report.byAccount['333333333333']).toMatchObject({ targets: 1, failed: 1, repositories: 0 });
    expect(report.failedTargets).toBe(1);
    // A fleet with a target not audited is not known to comply.
    expect(report.compliant).toBe(false);
    expect(report.status).toBe('unknown');
  });

  it('a region the account has not enabled (UnrecognizedClientException) fails that target only, with a hint', async () => {
    ecr.on(DescribeRepositoriesCommand).callsFake(async (_input, getClient: () => ECRClient) => {
      const client = getClient();
      const region = await client.config.region();
      if (region === 'ap-east-1') {
        throw new ECRServiceException({ name: 'UnrecognizedClientException', $fault: 'client', message: 'The security token included in the request is invalid.', $metadata: { httpStatusCode: 400 } });
      }
      return repositoriesIn(await accountOfClient(client), region);
    });
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, accounts: ['222222222222'], regions: ['eu-west-1', 'ap-east-1'], roleName: 'ecr-auditor' });
    const report = (await fleet.audit())._unsafeUnwrap();
    fleet.destroy();
    expect(report.targets).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ accountId: '222222222222', region: 'eu-west-1', status: 'ok' }),
        expect.objectContaining({ accountId: '222222222222', region: 'ap-east-1', status: 'failed', stage: 'sweep', error: expect.objectContaining({ kind: 'CredentialsError' }) as unknown }),
      ]),
    );
    expect(report.targets.find((t) => t.region === 'ap-east-1')?.hint).toMatch(/opt-in region/);
    expect(report.byRegion['ap-east-1']).toMatchObject({ targets: 1, failed: 1 });
    expect(report.repositories.map((r) => r.region)).toEqual(['eu-west-1']);
  });
});

describe('EncryptedFleet: enabled regions', () => {
  it('follows every ListRegions page, asks for ENABLED and ENABLED_BY_DEFAULT, and sweeps no region listed otherwise', async () => {
    account
      .on(ListRegionsCommand)
      .resolvesOnce({ Regions: [{ RegionName: 'eu-west-1', RegionOptStatus: 'ENABLED_BY_DEFAULT' }], NextToken: 'r2' })
      .resolvesOnce({
        Regions: [
          { RegionName: 'ap-east-1', RegionOptStatus: 'ENABLED' },
          // Not asked for: never swept even if the service answers it.
          { RegionName: 'me-south-1', RegionOptStatus: 'DISABLED' },
          { RegionName: 'af-south-1', RegionOptStatus: 'ENABLING' },
        ],
      });
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, regions: 'enabled' });
    const report = (await fleet.findOrphanedGrants())._unsafeUnwrap();
    fleet.destroy();
    const calls = account.commandCalls(ListRegionsCommand).map((c) => c.args[0].input);
    expect(calls.map((i) => i.NextToken)).toEqual([undefined, 'r2']);
    expect(calls[0]?.RegionOptStatusContains).toEqual(['ENABLED', 'ENABLED_BY_DEFAULT']);
    expect(report.targets.map((t) => t.region).sort()).toEqual(['ap-east-1', 'eu-west-1']);
    expect(report.accounts).toEqual([MANAGEMENT]);
  });
});

describe('EncryptedFleet: options', () => {
  it.each([
    [{ accounts: ['12345'] }, 'options.accounts'],
    [{ regions: ['EU West'] }, 'options.regions'],
    [{ accounts: 'organization' as const }, 'options.roleName'],
    [{ roleName: 'bad role' }, 'options.roleName'],
    [{ roleName: 'r', externalId: 'x' }, 'options.externalId'],
    [{ concurrency: 0 }, 'options.concurrency'],
  ])('%j is InvalidInput before any call', async (options, field) => {
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, ...options });
    expect((await fleet.audit())._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
    expect(sts.calls()).toHaveLength(0);
  });

  it('another account without a role name is InvalidInput, after only GetCallerIdentity', async () => {
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, accounts: ['222222222222'] });
    expect((await fleet.audit())._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'options.roleName' });
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    expect(ecr.calls()).toHaveLength(0);
  });
});

describe('renewingCredentials', () => {
  const at = (iso: string) => new Date(iso);
  const creds = (expiration: string, key: string) => ({ accessKeyId: key, secretAccessKey: 's', sessionToken: 't', expiration: at(expiration) });

  it('answers the first credentials while they live, and assumes the role again once they are about to expire', async () => {
    let now = at('2026-01-01T10:00:00Z');
    let renewals = 0;
    const provider = renewingCredentials(
      'arn:aws:iam::222222222222:role/r',
      creds('2026-01-01T11:00:00Z', 'first'),
      () => {
        renewals++;
        return okAsync(creds('2026-01-01T12:00:00Z', `renewed-${renewals}`));
      },
      () => now,
    );
    expect((await provider()).accessKeyId).toBe('first');
    now = at('2026-01-01T10:54:00Z');
    expect((await provider()).accessKeyId).toBe('first');
    // Four minutes to live: under the five-minute margin.
    now = at('2026-01-01T10:56:00Z');
    const [a, b] = await Promise.all([provider(), provider()]);
    expect([a.accessKeyId, b.accessKeyId]).toEqual(['renewed-1', 'renewed-1']);
    expect(renewals).toBe(1);
    expect((await provider()).accessKeyId).toBe('renewed-1');
  });

  it('a failed renewal throws a CredentialsProviderError naming the role, and the next call tries again', async () => {
    let fail = true;
    const provider = renewingCredentials(
      'arn:aws:iam::222222222222:role/r',
      creds('2020-01-01T00:00:00Z', 'expired'),
      () =>
        fail
          ? errAsync({ kind: 'AccessDenied' as const, service: 'sts' as const, operation: 'AssumeRole', cause: undefined, message: 'denied' })
          : okAsync(creds('2099-01-01T00:00:00Z', 'fresh')),
      () => new Date('2026-01-01T00:00:00Z'),
    );
    const thrown = await provider().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe('CredentialsProviderError');
    expect((thrown as Error).message).toMatch(/role\/r.*AccessDenied/);
    fail = false;
    expect((await provider()).accessKeyId).toBe('fresh');
  });
});
