/**
 * The policy toolkit's generated policies, installed on the local emulator, are enough for the
 * library's create and delete (preflight, grant verification and retirement included), and no more.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEcrKeyPolicy, generateRepositoryAdminPolicy } from '../../src/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});

describe('least-privilege policies from the policy toolkit', () => {
  it('a user with only the generated identity policy, on a key with the generated key policy, creates and deletes cleanly', async () => {
    const kms = kmsFor(aws);
    const other = await createKey(kms);
    // The key policy needs the user's ARN, the identity policy the key's: make the user first, policy after.
    const user = aws.principals.createUser('least-privilege');
    const keyPolicy = generateEcrKeyPolicy({ region: aws.region, account: aws.account, principals: [user.arn], enableIamPolicies: true })._unsafeUnwrap();
    const key = await createKey(kms, { alias: 'alias/least', input: { Policy: JSON.stringify(keyPolicy) } });
    const identity = generateRepositoryAdminPolicy({
      region: aws.region,
      account: aws.account,
      repositories: { prefix: 'lp/' },
      keyArns: [key.arn],
      operations: ['create', 'delete'],
    })._unsafeUnwrap();
    aws.principals.setPolicies(user.arn, [identity]);
    const registry = registryFor(aws, user);
    try {
      const report = (await registry.preflight({ repositoryName: 'lp/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);

      const created = (await registry.createEncryptedRepository({ repositoryName: 'lp/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      expect(created.grants).toHaveLength(2);
      expect(created.warnings).toEqual([]);

      const deleted = (await registry.deleteRepository({ repositoryName: 'lp/app' }))._unsafeUnwrap();
      expect(deleted).toMatchObject({ verified: true, grantsRetiredHere: [] });
      expect(deleted.grantsRetiredByEcr).toHaveLength(2);

      // Outside the policy's scope: another prefix, another key.
      const outside = await registry.createEncryptedRepository({ repositoryName: 'other/app', encryption: { type: 'KMS', key: key.arn } });
      expect(outside._unsafeUnwrapErr()).toMatchObject({ kind: 'MissingPermissions', actions: expect.arrayContaining(['ecr:CreateRepository']) as unknown });
      const otherKey = await registry.createEncryptedRepository({ repositoryName: 'lp/other-key', encryption: { type: 'KMS', key: other.arn } });
      // Neither the key nor its policy is readable to the preflight, which then does not block; ECR refuses.
      expect(otherKey._unsafeUnwrapErr()).toMatchObject({ kind: 'KmsRefused', service: 'ecr', operation: 'CreateRepository' });
      expect(aws.inspect.ecr?.repositories().map((r) => r.repositoryName)).toEqual([]);
    } finally {
      registry.destroy();
      kms.destroy();
    }
  });
});
