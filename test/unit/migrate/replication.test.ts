/**
 * Replication-aware migration: a staging name no replication rule covers (filters are
 * PREFIX_MATCH on repository names; a rule without filters covers every name), and the replicas
 * of the repository in each destination, with their encryption, or unknown.
 */
import { DescribePullThroughCacheRulesCommand, DescribeRegistryCommand, DescribeRepositoriesCommand, DescribeRepositoryCreationTemplatesCommand, ECRClient, ECRServiceException, type ReplicationRule, RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { chooseStagingName, replicasOf, ruleCovers } from '../../../src/migration/replication.js';
import { registryWarnings } from '../../../src/migration/warnings.js';
import { describeReplicationRules } from '../../../src/steps/ecr-migration.js';
import { fakeContext } from '../../fixtures/create-stubs.js';

const ecr = mockClient(ECRClient);
const ID = 'ab0123456789';
const rule = (filters: string[] | undefined, region = 'us-east-1', registryId = '111122223333'): ReplicationRule => ({
  destinations: [{ region, registryId }],
  ...(filters === undefined ? {} : { repositoryFilters: filters.map((filter) => ({ filter, filterType: 'PREFIX_MATCH' as const })) }),
});

describe('chooseStagingName', () => {
  it('keeps <name>-migrating-<id> when no rule covers it', () => {
    expect(chooseStagingName('team/app', ID, [rule(['other/'])])).toEqual({ name: `team/app-migrating-${ID}`, replicatedTo: [] });
    expect(chooseStagingName('team/app', ID, [])).toEqual({ name: `team/app-migrating-${ID}`, replicatedTo: [] });
  });

  it('escapes a rule whose prefix covers the repository (and so <name>-migrating-<id>)', () => {
    const choice = chooseStagingName('team/app', ID, [rule(['team'])]);
    expect(choice).toEqual({ name: `encrypted-ecr-migrating-${ID}`, replicatedTo: [] });
    expect(ruleCovers(rule(['team']), choice.name)).toBe(false);
  });

  it('escapes every filter when the fallback is covered too: the first character no filter starts with', () => {
    const rules = [rule(['team', 'encrypted', 'a', 'b-'])];
    const choice = chooseStagingName('team/app', ID, rules);
    expect(choice.name).toBe(`c-encrypted-ecr-migrating-${ID}`);
    expect(rules.some((r) => ruleCovers(r, choice.name))).toBe(false);
  });

  it('a rule without filters covers every name: the default name, with the destinations where its copies will appear', () => {
    const choice = chooseStagingName('team/app', ID, [rule(undefined, 'us-east-1'), rule(['team'], 'eu-west-2', '444455556666'), rule(['zzz'], 'ap-south-1')]);
    expect(choice.name).toBe(`team/app-migrating-${ID}`);
    expect(choice.replicatedTo).toEqual([
      { region: 'us-east-1', registryId: '111122223333' },
      { region: 'eu-west-2', registryId: '444455556666' },
    ]);
  });

  it('an unknown filter type is taken as covering (assume the worst)', () => {
    expect(ruleCovers({ destinations: [], repositoryFilters: [{ filter: 'x', filterType: 'SOMETHING_NEW' as never }] }, 'team/app')).toBe(true);
  });
});

describe('the staging-replicated warning follows the chosen name', () => {
  beforeEach(() => {
    ecr.reset();
    ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({ repositoryCreationTemplates: [] });
    ecr.on(DescribePullThroughCacheRulesCommand).resolves({ pullThroughCacheRules: [] });
  });

  it('no stagingReplicated warning when the chosen name escapes the rules; one when no name can', async () => {
    ecr.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [rule(['team'])] } });
    const ctx = fakeContext();
    const rules = describeReplicationRules(ctx);
    const name = chooseStagingName('team/app', ID, (await rules)._unsafeUnwrap()).name;
    const escaped = (await registryWarnings(ctx, 'team/app', ID, { name, rules }))._unsafeUnwrap();
    expect(escaped.map((w) => w.code)).toEqual(['replicationRule']);
    // Only one DescribeRegistry: the rules the name was chosen with are reused.
    expect(ecr.commandCalls(DescribeRegistryCommand)).toHaveLength(1);

    ecr.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [rule(undefined)] } });
    const everything = describeReplicationRules(ctx);
    const covered = chooseStagingName('team/app', ID, (await everything)._unsafeUnwrap()).name;
    const warned = (await registryWarnings(ctx, 'team/app', ID, { name: covered, rules: everything }))._unsafeUnwrap();
    expect(warned.map((w) => w.code)).toEqual(['replicationRule', 'stagingReplicated']);
    expect(warned[1]?.message).toContain(`team/app-migrating-${ID}`);
    expect(warned[1]?.message).toContain('111122223333/us-east-1');
  });
});

describe('replicasOf', () => {
  beforeEach(() => ecr.reset());

  it('reads each destination of the covering rules: exists (with its encryption), absent, unknown', async () => {
    const ctx = fakeContext();
    ecr.on(DescribeRepositoriesCommand, { registryId: '111122223333' }).resolves({
      repositories: [{ repositoryName: 'team/app', encryptionConfiguration: { encryptionType: 'AES256' } }],
    });
    ecr.on(DescribeRepositoriesCommand, { registryId: '444455556666' }).rejects(new RepositoryNotFoundException({ message: 'not found', $metadata: {} }));
    ecr.on(DescribeRepositoriesCommand, { registryId: '777788889999' }).rejects(
      new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'denied' }),
    );
    const region = 'eu-west-1';
    const rules = [
      rule(['team'], region, '111122223333'),
      rule(undefined, region, '444455556666'),
      rule(['team/'], region, '777788889999'),
      rule(['team'], 'us-east-1', '111122223333'),
      rule(['other'], region, '999999999999'),
    ];
    const replicas = (await replicasOf(ctx, region, 'team/app', rules))._unsafeUnwrap();
    expect(replicas).toEqual([
      { region, registryId: '111122223333', status: 'exists', encryption: { type: 'AES256' } },
      { region, registryId: '444455556666', status: 'absent' },
      { region, registryId: '777788889999', status: 'unknown', reason: expect.stringContaining('AccessDenied') as unknown as string },
      { region: 'us-east-1', registryId: '111122223333', status: 'unknown', reason: 'no ECR client for us-east-1 (pass replicaClients)' },
    ]);
    // The rule that does not cover the repository is not read.
    expect(ecr.commandCalls(DescribeRepositoriesCommand).map((c) => c.args[0].input.registryId)).not.toContain('999999999999');
  });

  it('uses the client given for another region', async () => {
    const other = new ECRClient({ region: 'us-east-1' });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'team/app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:111122223333:key/k' } }] });
    const replicas = (await replicasOf(fakeContext(), 'eu-west-1', 'team/app', [rule(['team'], 'us-east-1')], { 'us-east-1': other }))._unsafeUnwrap();
    expect(replicas).toEqual([{ region: 'us-east-1', registryId: '111122223333', status: 'exists', encryption: { type: 'KMS', kmsKey: 'arn:aws:kms:us-east-1:111122223333:key/k' } }]);
  });
});
