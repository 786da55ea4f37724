/**
 * Issue 13, part 5: every public operation takes `signal` and stops at its next AWS call with
 * `Aborted`. An already-aborted signal sends nothing; an abort while the operation runs stops it
 * before the next call, and its waits end early.
 */
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { DescribeKeyCommand } from '@aws-sdk/client-kms';
import type { ResultAsync } from 'neverthrow';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal, type PollSettings, type RegistryError } from '../../src/index.js';
import { enabledKey, FAST_POLL, installFakes, KEY_ARN, REGION, type Stubs } from '../fixtures/create-stubs.js';

let ecr: Stubs['ecr'];
let kms: Stubs['kms'];
let iam: Stubs['iam'];
let sts: Stubs['sts'];
let state: Stubs['state'];

const calls = (): number => ecr.calls().length + kms.calls().length + iam.calls().length + sts.calls().length;

const registry = (poll: Partial<PollSettings> = FAST_POLL): EncryptedRegistry => new EncryptedRegistry({ clientConfig: { region: REGION }, poll });

const KMS_APP = { type: 'KMS', key: 'alias/app' } as const;
const CREATED = {
  repositoryName: 'team/app',
  repositoryArn: `arn:aws:ecr:${REGION}:111122223333:repository/team/app`,
  repositoryUri: `111122223333.dkr.ecr.${REGION}.amazonaws.com/team/app`,
  registryId: '111122223333',
  createdAt: new Date(),
  encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KEY_ARN },
} as const;

/** Every public operation, each given `signal`. */
const OPERATIONS: readonly (readonly [string, (r: EncryptedRegistry, signal: AbortSignal) => ResultAsync<unknown, RegistryError>])[] = [
  ['preflight', (r, signal) => r.preflight({ repositoryName: 'team/app', encryption: KMS_APP, signal })],
  ['createEncryptedRepository', (r, signal) => r.createEncryptedRepository({ repositoryName: 'team/app', encryption: KMS_APP, signal })],
  ['deleteRepository', (r, signal) => r.deleteRepository({ repositoryName: 'team/app', force: true, signal })],
  ['findOrphanedGrants', (r, signal) => r.findOrphanedGrants({ signal })],
  ['retireOrphanedGrants', (r, signal) => r.retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false, signal })],
  ['audit', (r, signal) => r.audit({ signal })],
  ['planMigration', (r, signal) => r.planMigration({ repositoryName: 'team/app', encryption: KMS_APP, signal })],
  ['migrateRepository', (r, signal) => r.migrateRepository({ repositoryName: 'team/app', encryption: KMS_APP, journal: memoryJournal(), signal })],
  ['resumeMigration', (r, signal) => r.resumeMigration({ journal: memoryJournal(), signal })],
];

beforeEach(() => {
  ({ ecr, kms, iam, sts, state } = installFakes());
});

describe('an already-aborted signal', () => {
  for (const [name, run] of OPERATIONS) {
    it(`${name}: Aborted, and no AWS call sent`, async () => {
      const controller = new AbortController();
      controller.abort();
      const result = await run(registry(), controller.signal);
      expect(result._unsafeUnwrapErr()).toEqual({ kind: 'Aborted', operation: name });
      expect(calls()).toBe(0);
    });
  }

  it('a signal that is no AbortSignal is InvalidInput naming the field, before any call', async () => {
    const result = await registry().deleteRepository({ repositoryName: 'team/app', signal: 'stop' as unknown as AbortSignal });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'signal' });
    expect(calls()).toBe(0);
  });
});

describe('an abort while the operation runs', () => {
  it('createEncryptedRepository: aborted from inside the DescribeKey stub, it answers Aborted and sends nothing more', async () => {
    const controller = new AbortController();
    let sentWhenAborted = -1;
    kms.on(DescribeKeyCommand).callsFake(() => {
      controller.abort();
      sentWhenAborted = calls();
      return { KeyMetadata: enabledKey() };
    });

    const result = await registry().createEncryptedRepository({ repositoryName: 'team/app', encryption: KMS_APP, signal: controller.signal });

    // The Aborted of the first call not sent, or of the operation.
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'Aborted' });
    expect(sentWhenAborted).toBeGreaterThan(0);
    expect(calls(), 'a call was sent after the abort').toBe(sentWhenAborted);
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
    expect(iam).not.toHaveReceivedCommand(SimulatePrincipalPolicyCommand);
  });

  it('createEncryptedRepository: aborted from inside the CreateRepository stub, it neither verifies nor polls the grants', async () => {
    const controller = new AbortController();
    let sentWhenAborted = -1;
    ecr.on(CreateRepositoryCommand).callsFake(() => {
      controller.abort();
      sentWhenAborted = calls();
      return { repository: CREATED };
    });

    const result = await registry().createEncryptedRepository({ repositoryName: 'team/app', encryption: KMS_APP, signal: controller.signal });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'Aborted' });
    expect(calls(), 'a call was sent after the abort').toBe(sentWhenAborted);
    // Neither the read-back (DescribeRepositories) nor the grant poll (ListGrants) came after CreateRepository.
    expect(ecr.calls().at(-1)?.args[0]).toBeInstanceOf(CreateRepositoryCommand);
  });

  it('a wait ends as soon as the signal fires: a create polling for grants with minute-long pauses stops at once', async () => {
    // ECR's grants stay invisible, so the create would poll ListGrants for ten minutes.
    state.grantsVisibleAfterListings = 1_000;
    const controller = new AbortController();
    let abortedAt = Number.NaN;
    ecr.on(CreateRepositoryCommand).callsFake(() => {
      setTimeout(() => {
        abortedAt = performance.now();
        controller.abort();
      }, 50);
      return { repository: CREATED };
    });
    const result = await registry({ initialDelayMs: 60_000, maxDelayMs: 60_000, timeoutMs: 600_000 }).createEncryptedRepository({
      repositoryName: 'team/app',
      encryption: KMS_APP,
      signal: controller.signal,
    });
    // Ended by the abort, not by a minute-long pause: counted from the abort (not from the start, which
    // a loaded machine stretches), with 40 s to spare for the load.
    expect(performance.now() - abortedAt).toBeLessThan(20_000);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'Aborted' });
  });
});
