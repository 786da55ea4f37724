import {
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoryCreationTemplatesCommand,
  ECRServiceException,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { registryWarnings } from '../../../src/migration/warnings.js';
import { ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { fakeContext } from '../../fixtures/create-stubs.js';

const ecr = mockClient(ECRClient);

const accessDenied = (): ECRServiceException =>
  new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'denied' });

describe('registryWarnings (what could recreate the name while it is free)', () => {
  beforeEach(() => {
    ecr.reset();
    ecr.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [] } });
    ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({ repositoryCreationTemplates: [] });
    ecr.on(DescribePullThroughCacheRulesCommand).resolves({ pullThroughCacheRules: [] });
  });

  it('warns about a CREATE_ON_PUSH template, a pull-through cache rule and a replication rule that cover the name', async () => {
    // Prepare
    ecr.on(DescribeRepositoryCreationTemplatesCommand).resolves({
      repositoryCreationTemplates: [
        { prefix: 'team', appliedFor: ['CREATE_ON_PUSH'], encryptionConfiguration: { encryptionType: 'AES256' } },
        { prefix: 'other', appliedFor: ['CREATE_ON_PUSH'] },
        { prefix: 'ROOT', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'arn:aws:kms:eu-west-1:111122223333:key/x' } },
      ],
    });
    ecr.on(DescribePullThroughCacheRulesCommand).resolves({ pullThroughCacheRules: [{ ecrRepositoryPrefix: 'team', upstreamRegistryUrl: 'public.ecr.aws' }, { ecrRepositoryPrefix: 'teams' }] });
    ecr.on(DescribeRegistryCommand).resolves({
      replicationConfiguration: { rules: [{ destinations: [{ region: 'us-east-1', registryId: '111122223333' }], repositoryFilters: [{ filter: 'team/', filterType: 'PREFIX_MATCH' }] }] },
    });

    // Act
    const warnings = (await registryWarnings(fakeContext(), 'team/app'))._unsafeUnwrap();

    // Assess
    expect(warnings.map((w) => w.code).sort()).toEqual(['creationTemplate', 'creationTemplate', 'pullThroughCacheRule', 'replicationRule', 'stagingReplicated']);
    expect(warnings.find((w) => w.message.includes('"team"') && w.code === 'creationTemplate')?.message).toMatch(/a push would create it with that encryption/);
  });

  it('warns when a replication rule covers the staging repository only, naming the rule and its destinations', async () => {
    // Prepare: filters that miss team/app but match some or all of its staging names (team/app-migrating-<12 hex>).
    ecr.on(DescribeRegistryCommand).resolves({
      replicationConfiguration: {
        rules: [
          { destinations: [{ region: 'us-east-1', registryId: '111122223333' }], repositoryFilters: [{ filter: 'team/app-', filterType: 'PREFIX_MATCH' }] },
          { destinations: [{ region: 'eu-west-2', registryId: '444455556666' }], repositoryFilters: [{ filter: 'team/app-migrating-ab', filterType: 'PREFIX_MATCH' }] },
          { destinations: [{ region: 'eu-west-3', registryId: '111122223333' }], repositoryFilters: [{ filter: 'team/app-old', filterType: 'PREFIX_MATCH' }] },
        ],
      },
    });

    // Act: a plan (id unknown), and migrations whose id the second rule matches or not.
    const planned = (await registryWarnings(fakeContext(), 'team/app'))._unsafeUnwrap();
    const matched = (await registryWarnings(fakeContext(), 'team/app', 'ab0123456789'))._unsafeUnwrap();
    const missed = (await registryWarnings(fakeContext(), 'team/app', 'cd0123456789'))._unsafeUnwrap();

    // Assess
    expect(planned.map((w) => w.code)).toEqual(['stagingReplicated', 'stagingReplicated']);
    expect(planned[0]?.message).toContain('replication rule #1 (PREFIX_MATCH "team/app-")');
    expect(planned[0]?.message).toContain('111122223333/us-east-1');
    expect(planned[1]?.message).toContain('replication rule #2');
    expect(planned[1]?.message).toContain('444455556666/eu-west-2');
    expect(matched.map((w) => w.message.slice(0, 22))).toEqual(['replication rule #1 (P', 'replication rule #2 (P']);
    expect(matched[1]?.message).toContain('team/app-migrating-ab0123456789');
    expect(missed).toHaveLength(1);
  });

  it('turns a denied read into a warning instead of failing the plan', async () => {
    // Prepare
    ecr.on(DescribeRepositoryCreationTemplatesCommand).rejects(accessDenied());

    // Act
    const warnings = (await registryWarnings(fakeContext(), 'team/app'))._unsafeUnwrap();

    // Assess
    expect(warnings).toEqual([{ code: 'registryReadDenied', message: expect.stringContaining('AccessDenied') as string }]);
  });
});
