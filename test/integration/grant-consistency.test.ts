/**
 * Grants that are eventually consistent (new ones appear, and retired ones disappear, only after a
 * delay), and an ECR that answers success to DeleteRepository even when it could not retire its
 * grants (AWS's answer there is undocumented: the emulator can do both).
 *
 * The emulator's clock runs in real time (the consistency delay must pass while the library polls)
 * but an hour behind, and tests jump it forward: the sweep leaves alone grants younger than its
 * clock tolerance.
 */
import { DeleteRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { type KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { type Clock, type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { createKey, kmsFor, registryFor, userWithout } from '../helpers/local-aws.js';

const CONSISTENCY_DELAY_MS = 500;
let behindMs = 60 * 60 * 1000;
const clock: Clock = { now: () => new Date(Date.now() - behindMs) };
const POLL = { initialDelayMs: 10, maxDelayMs: 100, timeoutMs: 5000 };

let aws: LocalAws;
let admin: EncryptedRegistry;
let kms: KMSClient;
let ecr: ECRClient;

beforeAll(async () => {
  aws = await startLocalAws({ clock, grantConsistencyDelayMs: CONSISTENCY_DELAY_MS, ecr: { onGrantRetireFailure: 'succeed' } });
  admin = registryFor(aws, undefined, { poll: POLL });
  kms = kmsFor(aws);
  ecr = new ECRClient(aws.clientConfig());
});
afterAll(async () => {
  admin.destroy();
  kms.destroy();
  ecr.destroy();
  await aws.stop();
});

const listedFor = async (keyArn: string, repositoryArn: string): Promise<string[]> => {
  const { Grants = [] } = await kms.send(new ListGrantsCommand({ KeyId: keyArn }));
  return Grants.filter((g) => g.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] === repositoryArn).map((g) => g.GrantId ?? '');
};

describe('eventually consistent grants', () => {
  it('create waits for ECR\'s grants to appear, and returns both', async () => {
    const key = await createKey(kms);
    const created = (await admin.createEncryptedRepository({ repositoryName: 'ec/create', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    expect(created.grants).toHaveLength(2);
    expect(created.warnings.filter((w) => w.check === 'grants')).toEqual([]);
  });

  it('delete waits while retired grants are still listed: no false alarm, and nothing retired twice', async () => {
    const key = await createKey(kms);
    // The emulator really lags: retired grants of a deleted repository are still listed right after.
    const probe = (await admin.createEncryptedRepository({ repositoryName: 'ec/probe', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'ec/probe' }));
    expect(await listedFor(key.arn, probe.repository.arn)).toHaveLength(2);

    const made = (await admin.createEncryptedRepository({ repositoryName: 'ec/delete', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    const deleted = (await admin.deleteRepository({ repositoryName: 'ec/delete' }))._unsafeUnwrap();

    expect(deleted.verified).toBe(true);
    expect(deleted.grantsRetiredHere).toEqual([]);
    expect(new Set(deleted.grantsRetiredByEcr)).toEqual(new Set(made.grants.map((g) => g.grantId)));
    expect(await listedFor(key.arn, made.repository.arn)).toEqual([]);
    // ECR retired each grant once; the library did not retire anything.
    expect(aws.inspect.grants(key.arn).filter((g) => g.encryptionContextSubset?.['aws:ecr:arn'] === made.repository.arn && g.retiredBy === 'RetireGrant')).toHaveLength(2);
  });
});

describe('an ECR that answers success while its grants stay', () => {
  it('still gives DeletedButGrantsRemain to a deleter without kms:RetireGrant; an admin sweep cleans up', async () => {
    const key = await createKey(kms);
    const made = (await admin.createEncryptedRepository({ repositoryName: 'silent/grants', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    const deleter = registryFor(aws, userWithout(aws, 'silent-no-retire', 'kms:RetireGrant'), { poll: { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 300 } });
    try {
      const result = await deleter.deleteRepository({ repositoryName: 'silent/grants' });

      expect(aws.inspect.calls({ service: 'ecr', operation: 'DeleteRepository' }).at(-1)).toMatchObject({ status: 200 });
      expect(aws.inspect.calls({ service: 'ecr', operation: 'DeleteRepository' }).at(-1)?.error).toBeUndefined();
      expect(result._unsafeUnwrapErr()).toMatchObject({
        kind: 'DeletedButGrantsRemain',
        keyArn: key.arn,
        missingPermission: 'kms:RetireGrant',
      });
    } finally {
      deleter.destroy();
    }

    behindMs -= 2 * 60_000;
    const swept = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
    expect(new Set(swept.keys[0]?.retired)).toEqual(new Set(made.grants.map((g) => g.grantId)));
    expect(aws.inspect.grants(key.arn).every((g) => g.retired)).toBe(true);
  });
});
