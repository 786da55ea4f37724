/**
 * Issue 12, grants: D1 (deleting a repository a migration has frozen) and D16 (grants of an older
 * incarnation of a name recreated within the clock tolerance), on the emulator over HTTP.
 */
import { ECRClient, SetRepositoryPolicyCommand } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { freezeStatement } from '../../src/policy/freeze.js';
import { type LocalAws, manualClock, startLocalAws } from '../../src/testing/index.js';
import { createKey, registryFor, userWithout } from '../helpers/local-aws.js';

const POLL = { initialDelayMs: 1, maxDelayMs: 5, timeoutMs: 100 } as const;

let aws: LocalAws;
let admin: EncryptedRegistry;
let kms: KMSClient;
let ecr: ECRClient;
// Long before the library's own clock: no grant is "too recent" to decide.
const clock = manualClock(new Date('2026-01-01T00:00:00Z'));

beforeAll(async () => {
  aws = await startLocalAws({ clock, awsVariants: { deleteWhenRetireFails: 'silent' } });
  admin = registryFor(aws, undefined, { poll: POLL });
  kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
});
afterAll(async () => {
  admin.destroy();
  kms.destroy();
  ecr.destroy();
  await aws.stop();
});

describe('D1: deleteRepository refuses a repository carrying a migration freeze', () => {
  it.each([false, true])('returns MigrationInProgress and deletes nothing, force: %s, even for the exempt (migrating) principal', async (force) => {
    const key = await createKey(kms);
    const name = `d1/app-${String(force)}`;
    (await admin.createEncryptedRepository({ repositoryName: name, encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    // The freeze exempts the admin: the one principal the repository policy does not stop.
    const policy = { Version: '2012-10-17', Statement: [freezeStatement('c0ffee', [aws.principals.default.arn])] };
    await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText: JSON.stringify(policy), force: true }));

    const result = await admin.deleteRepository({ repositoryName: name, force });

    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'MigrationInProgress', repositoryName: name, migrationId: 'c0ffee', foundIn: 'repositoryPolicy', journal: undefined });
    expect(aws.inspect.ecr?.repositories().map((r) => r.repositoryName)).toContain(name);
    expect(aws.inspect.calls({ service: 'ecr', operation: 'DeleteRepository' }).length).toBe(0);
    expect(aws.inspect.grants(key.arn).filter((g) => !g.retired)).toHaveLength(2);
  });
});

describe('D16: grants of an older incarnation when the name was recreated within 60 s', () => {
  it('are reported as unverifiable (ambiguous-incarnation), never taken for the live repository\'s silently, and never retired', async () => {
    const key = await createKey(kms);
    const deleter = registryFor(aws, userWithout(aws, 'd16-no-retire', 'kms:RetireGrant'), { poll: POLL });
    try {
      const old = (await admin.createEncryptedRepository({ repositoryName: 'd16/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      clock.advance(10_000);
      // ECR (silently) cannot retire them with this caller: the old incarnation's grants stay.
      expect((await deleter.deleteRepository({ repositoryName: 'd16/app' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'DeletedButGrantsRemain' });
      clock.advance(20_000);
      const live = (await admin.createEncryptedRepository({ repositoryName: 'd16/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();

      const found = (await admin.findOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
      const report = found.keys[0];
      expect(report?.orphans).toEqual([]);
      expect(report?.unverifiable.map((u) => [u.grantId, u.reason, u.decidableAfter])).toEqual(
        old.grants.map((g) => [g.grantId, 'ambiguous-incarnation', undefined]),
      );
      // The live repository's own grants (made with it, 30 s later) are neither orphans nor unverifiable.
      const flagged = new Set(report?.unverifiable.map((u) => u.grantId));
      const liveGrants = aws.inspect.grants(key.arn).filter((g) => g.createdAt.getTime() >= live.repository.createdAt.getTime());
      expect(liveGrants).toHaveLength(2);
      expect(liveGrants.every((g) => !flagged.has(g.grantId))).toBe(true);

      const swept = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
      expect(swept.keys[0]?.retired).toEqual([]);
      expect(aws.inspect.grants(key.arn).filter((g) => !g.retired)).toHaveLength(4);
    } finally {
      deleter.destroy();
    }
  });

  it('a grant whose repository is not listed yet is "too-recent", with the time after which a sweep can decide it', async () => {
    const key = await createKey(kms);
    const deleter = registryFor(aws, userWithout(aws, 'd16-recent', 'kms:RetireGrant'), { poll: POLL });
    try {
      (await admin.createEncryptedRepository({ repositoryName: 'd16/recent', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
      await deleter.deleteRepository({ repositoryName: 'd16/recent' });
    } finally {
      deleter.destroy();
    }
    // The library's clock is the real one: set the emulator's to "now", so the grants are fresh.
    const fresh = await createKey(kms);
    clock.set(new Date());
    const made = (await admin.createEncryptedRepository({ repositoryName: 'd16/fresh', encryption: { type: 'KMS', key: fresh.arn } }))._unsafeUnwrap();
    const sneaky = registryFor(aws, userWithout(aws, 'd16-fresh', 'kms:RetireGrant'), { poll: POLL });
    try {
      await sneaky.deleteRepository({ repositoryName: 'd16/fresh' });
    } finally {
      sneaky.destroy();
    }

    const found = (await admin.findOrphanedGrants({ keys: [fresh.arn] }))._unsafeUnwrap();

    const unverifiable = found.keys[0]?.unverifiable ?? [];
    expect(unverifiable.map((u) => u.reason)).toEqual(['too-recent', 'too-recent']);
    for (const u of unverifiable) expect(u.decidableAfter?.getTime()).toBe((u.creationDate?.getTime() ?? 0) + 60_000);
    expect(made.grants).toHaveLength(2);
  });
});
