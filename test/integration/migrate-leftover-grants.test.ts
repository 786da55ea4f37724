/**
 * A migration's leftover-grant path (`settleIncarnationGrants` in `src/migration/steps/delete.ts`):
 * the original repository was deleted by a principal without `kms:RetireGrant` (ECR deletes it and
 * leaves its grants, `KmsException`), and the process stopped before the journal recorded the
 * deletion. The resume finds the repository gone (`deleteOriginal` → `leftoversOfOriginal`) and must still retire the
 * deleted incarnation's grants, and only those: the recreated repository (same name, same ARN) keeps
 * its own.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { errAsync } from 'neverthrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationJournal, memoryJournal, serializeMigrationJournalRecord } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { ADMIN_ACTIONS, allow, createKey, kmsFor, registryFor, userWithout } from '../helpers/local-aws.js';

let aws: LocalAws;

beforeAll(async () => {
  aws = await startLocalAws();
});
afterAll(async () => {
  await aws.stop();
});

/** Whether a journal record says `step` is done. */
const stepDone = (record: Parameters<MigrationJournal['save']>[0], step: string): boolean =>
  (JSON.parse(serializeMigrationJournalRecord(record)) as { steps?: Record<string, { status?: string }> }).steps?.[step]?.status === 'done';

/** A memory journal whose first save with `step` done fails: the "crash" right after that step. */
const journalFailingOnceAfter = (step: string): ReturnType<typeof memoryJournal> => {
  const inner = memoryJournal();
  let failed = false;
  return {
    ...inner,
    save: (record) => {
      if (failed || !stepDone(record, step)) return inner.save(record);
      failed = true;
      return errAsync({ kind: 'JournalFailed', operation: 'save', journal: 'test', reason: 'the disk went away' } as const);
    },
  };
};

describe('a resumed migration whose original repository is already gone', () => {
  it('retires the deleted incarnation’s leftover grants, and never the recreated repository’s', async () => {
    // Arrange: a KMS repository with an image, and a migrating principal without kms:RetireGrant.
    const admin = new ECRClient(aws.clientConfig());
    const kms = kmsFor(aws);
    const from = await createKey(kms, { alias: 'alias/leftover-from' });
    const to = await createKey(kms, { alias: 'alias/leftover-to' });
    await admin.send(new CreateRepositoryCommand({ repositoryName: 'leftover/app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: from.arn } }));
    await pushImage(admin, 'leftover/app', { layers: [randomBytes(2048, 11)], tags: ['v1'] });
    const original = aws.inspect.grants(from.arn).filter((g) => !g.retired).map((g) => g.grantId);
    expect(original).toHaveLength(2);

    const migrator = userWithout(aws, 'leftover-migrator', 'kms:RetireGrant');
    const registry = registryFor(aws, migrator);
    const journal = journalFailingOnceAfter('deleteOriginal');
    try {
      // Act 1: the run stops when it cannot record the deletion.
      const stopped = await registry.migrateRepository({ repositoryName: 'leftover/app', encryption: { type: 'KMS', key: to.arn }, journal });
      expect(stopped._unsafeUnwrapErr()).toMatchObject({ kind: 'MigrationFailed', step: 'deleteOriginal', cause: { kind: 'JournalFailed' }, observed: { repository: 'absent' } });
      const left = aws.inspect.grants(from.arn).filter((g) => original.includes(g.grantId) && !g.retired);
      expect(left.map((g) => g.grantId).sort()).toEqual([...original].sort());

      // Act 2: the cause fixed (kms:RetireGrant granted), the same principal resumes (the freeze lets
      // only it through) from the last record, which does not say deleteOriginal is done.
      aws.principals.setPolicies(migrator.arn, [allow([ADMIN_ACTIONS])]);
      const resumedResult = await registry.resumeMigration({ journal });
      const resumed = resumedResult._unsafeUnwrap();

      // Assess: the leftovers are retired; the recreated repository (on `to`) keeps its grants.
      expect(resumed).toMatchObject({ changed: true, to: { type: 'KMS', keyArn: to.arn } });
      expect(aws.inspect.grants(from.arn).filter((g) => original.includes(g.grantId) && !g.retired)).toEqual([]);
      const recreated = aws.inspect.grants(to.arn).filter((g) => !g.retired && JSON.stringify(g).includes('leftover/app"'));
      expect(recreated.length).toBeGreaterThanOrEqual(2);
      expect(resumed.warnings.filter((w) => w.code === 'grantsRemain' && w.message.includes(from.arn))).toEqual([]);
    } finally {
      registry.destroy();
      kms.destroy();
      admin.destroy();
    }
  });
});
