/**
 * The generated identity policy for `migrate` is enough for a whole migration on the emulator:
 * the registry reads (on `*`, they have no resource type), restoring an archived image
 * (`ecr:UpdateImageStorageClass`), the staging repository under the prefix, and the key.
 */
import { CreateRepositoryCommand, ECRClient, SetRepositoryPolicyCommand, UpdateImageStorageClassCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEcrKeyPolicy, generateRepositoryAdminPolicy, memoryJournal } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});

describe('least-privilege policy for migrate', () => {
  it('a user with only the generated migrate policy migrates AES256 → KMS, restoring an archived image, with no denied read', async () => {
    // Prepare: the repository (as the admin), with a policy and an archived image.
    const admin = new ECRClient(aws.clientConfig());
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'lpm/app' }));
    await pushImage(admin, 'lpm/app', { layers: [randomBytes(2048, 7)], tags: ['v1'] });
    const archived = await pushImage(admin, 'lpm/app', { layers: [randomBytes(2048, 8)], tags: ['old'] });
    await admin.send(new UpdateImageStorageClassCommand({ repositoryName: 'lpm/app', imageId: { imageDigest: archived.digest }, targetStorageClass: 'ARCHIVE' }));
    await admin.send(
      new SetRepositoryPolicyCommand({
        repositoryName: 'lpm/app',
        policyText: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Pull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'ecr:BatchGetImage' }] }),
      }),
    );
    const kms = kmsFor(aws);
    const user = aws.principals.createUser('least-privilege-migrate');
    const keyPolicy = generateEcrKeyPolicy({ region: aws.region, account: aws.account, principals: [user.arn], enableIamPolicies: true })._unsafeUnwrap();
    const key = await createKey(kms, { alias: 'alias/least-migrate', input: { Policy: JSON.stringify(keyPolicy) } });
    const identity = generateRepositoryAdminPolicy({
      region: aws.region,
      account: aws.account,
      repositories: { prefix: 'lpm/' },
      keyArns: [key.arn],
      operations: ['migrate'],
    })._unsafeUnwrap();
    expect(identity.Statement).toContainEqual(
      expect.objectContaining({ Resource: '*', Action: ['ecr:DescribePullThroughCacheRules', 'ecr:DescribeRegistry', 'ecr:DescribeRepositoryCreationTemplates'] }),
    );
    aws.principals.setPolicies(user.arn, [identity]);
    // The emulator restores an archived image after 2 s of its clock.
    const registry = registryFor(aws, user, { poll: { initialDelayMs: 50, maxDelayMs: 500, timeoutMs: 10_000 } });
    try {
      // Act
      const plan = (await registry.planMigration({ repositoryName: 'lpm/app', encryption: { type: 'KMS', key: key.arn }, restoreArchived: true }))._unsafeUnwrap();
      const result = await registry.migrateRepository({
        repositoryName: 'lpm/app',
        encryption: { type: 'KMS', key: key.arn },
        journal: memoryJournal(),
        restoreArchived: true,
      });

      // Assess
      expect(plan.warnings.filter((w) => w.code === 'registryReadDenied')).toEqual([]);
      expect(plan.preflight.findings.filter((f) => f.severity === 'error')).toEqual([]);
      const migrated = result._unsafeUnwrap();
      expect(migrated).toMatchObject({ changed: true, counts: { images: 2 }, to: { type: 'KMS', keyArn: key.arn } });
      expect(migrated.warnings.filter((w) => w.code === 'registryReadDenied')).toEqual([]);
      expect(aws.inspect.calls({ principal: user.arn }).filter((c) => c.error === 'AccessDeniedException')).toEqual([]);
    } finally {
      registry.destroy();
      kms.destroy();
      admin.destroy();
    }
  });
});
