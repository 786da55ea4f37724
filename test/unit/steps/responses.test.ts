/**
 * Answers that lack what a step needs are `UnexpectedResponse`, never read as "empty" or "absent":
 * those readings decide what is deleted or retired.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { RegistryContext } from '../../../src/internal/context.js';
import { describeRepositoriesByName } from '../../../src/steps/ecr-repository.js';
import { listAllGrants } from '../../../src/steps/kms-grants.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const ctx = { ecr: new ECRClient({ region: 'eu-west-1' }), kms: new KMSClient({ region: 'eu-west-1' }) } as unknown as RegistryContext;

beforeEach(() => {
  ecr.reset();
  kms.reset();
});

describe('partial answers', () => {
  it('DescribeRepositories by names that leaves a name out without failing is no proof the repository is gone', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ repositoryName: 'app' }] });
    const result = await describeRepositoriesByName(ctx, ['app', 'gone']);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'UnexpectedResponse', service: 'ecr', operation: 'DescribeRepositories', missing: 'repositories[gone]' });
  });

  it('ListGrants without Grants is not an empty key', async () => {
    kms.on(ListGrantsCommand).resolves({ Truncated: false });
    const result = await listAllGrants(ctx, 'arn:aws:kms:eu-west-1:111122223333:key/k');
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'UnexpectedResponse', service: 'kms', operation: 'ListGrants', missing: 'Grants' });
  });
});
