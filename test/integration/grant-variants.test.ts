/**
 * The library under every variant of what AWS leaves undocumented about ECR's grants (issue 11):
 * the shape of ECR's second grant (`secondGrant`), what DeleteRepository answers when ECR cannot
 * retire the grants with the caller's credentials (`deleteWhenRetireFails`), and grants that show
 * in ListGrants only minutes late (`grantConsistencyDelayMs`, on a manual clock).
 *
 * Each case either succeeds or says honestly what it could not verify, and two invariants hold in
 * every variant: `deleteRepository` never answers `verified: true` while a grant constrained to
 * the repository's ARN is still listed on the key, and a caller allowed `kms:RetireGrant` ends
 * with none of the repository's constrained grants left.
 */
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import type { RegistryContext } from '../../src/internal/context.js';
import { memoryJournal } from '../../src/migration/journal.js';
import { deleteRepository } from '../../src/operations/delete-repository.js';
import { findOrphanedGrants } from '../../src/operations/orphaned-grants.js';
import { AWS_VARIANT_VALUES, type LocalAws, manualClock, startLocalAws } from '../../src/testing/index.js';
import { createKey, registryFor, userWithout } from '../helpers/local-aws.js';

const POLL = { initialDelayMs: 1, maxDelayMs: 5, timeoutMs: 100 } as const;

/** Grants of the key still listed whose `aws:ecr:arn` constraint (any case) names the repository. */
const listedConstrainedTo = (aws: LocalAws, keyArn: string, repositoryArn: string) =>
  aws.inspect
    .grants(keyArn)
    .filter((g) => g.listed && Object.entries(g.encryptionContextSubset ?? g.encryptionContextEquals ?? {}).some(([k, v]) => k.toLowerCase() === 'aws:ecr:arn' && v === repositoryArn));

const liveConstrainedTo = (aws: LocalAws, keyArn: string, repositoryArn: string) =>
  aws.inspect.grants(keyArn).filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn'] === repositoryArn);

const combos = AWS_VARIANT_VALUES.secondGrant.flatMap((secondGrant) =>
  AWS_VARIANT_VALUES.deleteWhenRetireFails.map((deleteWhenRetireFails) => ({ secondGrant, deleteWhenRetireFails })),
);

describe.each(combos)('secondGrant=$secondGrant, deleteWhenRetireFails=$deleteWhenRetireFails', (variants) => {
  let aws: LocalAws;
  let admin: EncryptedRegistry;
  let kms: KMSClient;
  let key: { readonly arn: string; readonly id: string };
  // Long ago for the library's own clock: nothing is "too recent" to sweep.
  const clock = manualClock(new Date('2026-01-01T00:00:00Z'));

  beforeAll(async () => {
    aws = await startLocalAws({ clock, awsVariants: variants });
    admin = registryFor(aws, undefined, { poll: POLL });
    kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
    key = await createKey(kms);
  });
  afterAll(async () => {
    admin.destroy();
    kms.destroy();
    await aws.stop();
  });

  it('create succeeds, and says so when fewer grants than ECR documents can be recognised', async () => {
    const created = (await admin.createEncryptedRepository({ repositoryName: 'v/create', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    expect(aws.variants).toMatchObject(variants);
    if (variants.secondGrant === 'no-constraint') {
      expect(created.grants).toHaveLength(1);
      expect(created.warnings.map((w) => w.check)).toContain('grants');
    } else {
      expect(created.grants).toHaveLength(2);
    }
  });

  it('delete by a caller allowed kms:RetireGrant: none of its grants left; verified only when everything was identified', async () => {
    const earlier = new Set(aws.inspect.grants(key.arn).map((g) => g.grantId));
    const made = (await admin.createEncryptedRepository({ repositoryName: 'v/allowed', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    clock.advance(1000);

    const deleted = (await admin.deleteRepository({ repositoryName: 'v/allowed' }))._unsafeUnwrap();

    expect(liveConstrainedTo(aws, key.arn, made.repository.arn)).toEqual([]);
    if (deleted.verified) expect(listedConstrainedTo(aws, key.arn, made.repository.arn)).toEqual([]);
    if (variants.secondGrant === 'no-constraint') {
      expect(deleted.verified).toBe(false);
      expect(deleted.verified === false && deleted.grantsUnverifiable.reasons).toContain('fewer-grants-than-documented');
      // ECR retired its unconstrained grant itself; the library never touched it.
      expect(aws.inspect.grants(key.arn).filter((g) => !earlier.has(g.grantId)).every((g) => g.retired)).toBe(true);
    } else {
      expect(deleted).toMatchObject({ verified: true, grantsRetiredHere: [] });
      expect(deleted.grantsIdentified).toHaveLength(2);
    }
  });

  it('delete by a caller without kms:RetireGrant: deleted-but-grants-remain or refused, never verified; an admin sweep then cleans what it can prove', async () => {
    const made = (await admin.createEncryptedRepository({ repositoryName: 'v/denied', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    clock.advance(1000);
    const deleter = registryFor(aws, userWithout(aws, `no-retire-${variants.secondGrant}-${variants.deleteWhenRetireFails}`, 'kms:RetireGrant'), { poll: POLL });
    try {
      const result = await deleter.deleteRepository({ repositoryName: 'v/denied' });

      if (result.isOk()) expect(result.value.verified).toBe(false);
      if (variants.deleteWhenRetireFails === 'access-denied') {
        expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'DeleteRepository' });
        expect(aws.inspect.ecr?.repositories().map((r) => r.repositoryName)).toContain('v/denied');
        // Nothing was deleted: the grants are the live repository's, and the sweep leaves them alone.
        const swept = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
        expect(swept.keys[0]?.retired).toEqual([]);
        expect(liveConstrainedTo(aws, key.arn, made.repository.arn)).toHaveLength(variants.secondGrant === 'no-constraint' ? 1 : 2);
        return;
      }
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'DeletedButGrantsRemain', missingPermission: 'kms:RetireGrant', repositoryArn: made.repository.arn });
    } finally {
      deleter.destroy();
    }

    const found = (await admin.findOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
    expect(found.keys[0]?.orphans.every((o) => o.repositoryArn === made.repository.arn && o.reason === 'repository-deleted')).toBe(true);
    const swept = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
    expect(swept.keys[0]?.kept).toEqual([]);
    // An allowed caller ends with none of the repository's constrained grants left.
    expect(liveConstrainedTo(aws, key.arn, made.repository.arn)).toEqual([]);
  });

  it('migrate into a KMS key succeeds, and warns when the staging repository\'s grants could not be verified', async () => {
    (await admin.createEncryptedRepository({ repositoryName: 'v/migrate', encryption: 'AES256' }))._unsafeUnwrap();

    const migrated = (await admin.migrateRepository({ repositoryName: 'v/migrate', encryption: { type: 'KMS', key: key.arn }, journal: memoryJournal() }))._unsafeUnwrap();

    expect(migrated.to).toMatchObject({ type: 'KMS', keyArn: key.arn });
    const unverifiedWarning = migrated.warnings.some((w) => w.code === 'grantsRemain' && w.message.includes('could not be verified'));
    expect(unverifiedWarning).toBe(variants.secondGrant === 'no-constraint');
    const staging = aws.inspect.grants(key.arn).filter((g) => g.encryptionContextSubset?.['aws:ecr:arn']?.includes('v/migrate-'));
    expect(staging.every((g) => g.retired)).toBe(true);
  });
});

describe('grants that show in ListGrants only minutes late (grantConsistencyDelayMs on the emulator\'s clock)', () => {
  const DELAY_MS = 4 * 60_000;
  let aws: LocalAws;
  let admin: EncryptedRegistry;
  let kms: KMSClient;
  const clock = manualClock(new Date());

  beforeAll(async () => {
    aws = await startLocalAws({ clock, awsVariants: { grantConsistencyDelayMs: DELAY_MS, deleteWhenRetireFails: 'silent' } });
    admin = registryFor(aws, undefined, { poll: POLL });
    kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  });
  afterAll(async () => {
    admin.destroy();
    kms.destroy();
    await aws.stop();
  });

  /** The library's context, on the emulator's clock: every pause moves the clock instead of waiting. */
  const onEmulatorClock = (poll: RegistryContext['poll'], registry: EncryptedRegistry = admin): RegistryContext => ({
    ...(registry as unknown as { context: RegistryContext }).context,
    poll,
    now: () => clock.now(),
    sleep: (ms) => {
      clock.advance(ms);
      return Promise.resolve();
    },
  });

  it('deleting right after creating waits for the grants to show, then verifies them retired', async () => {
    const key = await createKey(kms);
    const made = (await admin.createEncryptedRepository({ repositoryName: 'late/app', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();
    // Not listed yet: the create could not see them.
    expect(made.grants).toEqual([]);

    const deleted = (await deleteRepository(onEmulatorClock({ initialDelayMs: 1000, maxDelayMs: 60_000, timeoutMs: 10 * 60_000 }), { repositoryName: 'late/app' }))._unsafeUnwrap();

    expect(deleted).toMatchObject({ verified: true });
    expect(deleted.grantsIdentified).toHaveLength(2);
    expect(liveConstrainedTo(aws, key.arn, made.repository.arn)).toEqual([]);
  });

  it('a poll bound shorter than the delay ends in "not verifiable", never in verified', async () => {
    const key = await createKey(kms);
    const made = (await admin.createEncryptedRepository({ repositoryName: 'late/short', encryption: { type: 'KMS', key: key.arn } }))._unsafeUnwrap();

    // A deleter ECR cannot retire the grants for, and ECR says nothing (`silent`).
    const deleter = registryFor(aws, userWithout(aws, 'late-no-retire', 'kms:RetireGrant'), { poll: POLL });
    const result = await deleteRepository(onEmulatorClock({ initialDelayMs: 1000, maxDelayMs: 1000, timeoutMs: 5000 }, deleter), { repositoryName: 'late/short' });
    deleter.destroy();

    // The grants were never seen, so none was retired here either, and nothing is claimed.
    const deleted = result._unsafeUnwrap();
    expect(deleted.verified).toBe(false);
    expect(deleted.verified === false && deleted.grantsUnverifiable.reasons).toEqual(['fewer-grants-than-documented']);
    expect(liveConstrainedTo(aws, key.arn, made.repository.arn)).toHaveLength(2);
    // Once they show, a sweep finds them as the deleted repository's.
    clock.advance(DELAY_MS);
    const found = (await findOrphanedGrants(onEmulatorClock(POLL), { keys: [key.arn] }))._unsafeUnwrap();
    expect(found.keys[0]?.unverifiable).toEqual([]);
    expect(found.keys[0]?.orphans.map((o) => o.reason)).toEqual(['repository-deleted', 'repository-deleted']);
  });
});
