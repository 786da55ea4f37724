/**
 * The fixed cost of one migration: the calls of its repository steps (everything but the image
 * and blob calls, which `npm run bench -- --only calls` holds at the API's minimum), counted from
 * what the emulator served for the caller. A fresh run preflights the key once; a resumed run
 * preflights its creations in full again.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { errAsync, okAsync } from 'neverthrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal, type MigrationJournal } from '../../src/index.js';
import { stateOf } from '../../src/migration/state.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

/** The image and blob calls: both copy passes, the listings and the verifications. */
const IMAGE_AND_BLOB = new Set([
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:PutImage',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
]);

describe('the repository steps of one migration, on the emulator', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let kms: KMSClient;
  let registry: EncryptedRegistry;
  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    kms = new KMSClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    kms.destroy();
    await aws.stop();
  });

  /** The caller's own calls since `mark` (not ECR's on its behalf), in order, as `service:Operation`. */
  const callsSince = (mark: number): string[] => {
    const caller = aws.principals.default.arn;
    return aws.inspect
      .calls()
      .slice(mark)
      .filter((c) => c.service !== 'http' && c.principal === caller && c.viaService === undefined)
      .map((c) => `${c.service}:${c.operation}`);
  };
  const counted = (calls: readonly string[]): Record<string, number> => {
    const counts: Record<string, number> = {};
    for (const call of calls.filter((c) => !IMAGE_AND_BLOB.has(c))) counts[call] = (counts[call] ?? 0) + 1;
    return counts;
  };
  const seeded = async (name: string): Promise<string> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(4096, 1)], tags: ['v1'] });
    await pushImage(ecr, name, { layers: [randomBytes(4096, 2)], label: 'untagged' });
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: `calls ${name}` }));
    return KeyMetadata?.Arn ?? '';
  };

  it('AES256 → customer key: the key is preflighted once, each repository described once per step, nothing re-applied', async () => {
    // Prepare
    const name = 'calls/fresh';
    const key = await seeded(name);
    const mark = aws.inspect.calls().length;

    // Act
    const result = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS', key }, journal: memoryJournal() });

    // Assess
    expect(result._unsafeUnwrap()).toMatchObject({ changed: true, resumed: false });
    expect(counted(callsSince(mark))).toEqual({
      // The original (start), staging and the recreated repository read back (encryption echo),
      // the original again just before deleting it, staging just before deleting it.
      'ecr:DescribeRepositories': 5,
      // Settings; the claim (read, then read back twice); the freeze checks of both deletions.
      'ecr:GetRepositoryPolicy': 6,
      'ecr:GetLifecyclePolicy': 2,
      'ecr:ListTagsForResource': 1,
      'ecr:DescribeRegistry': 1,
      'ecr:DescribeRepositoryCreationTemplates': 1,
      'ecr:DescribePullThroughCacheRules': 1,
      // The registry API's login, once per client: layer bytes travel over /v2/.
      'ecr:GetAuthorizationToken': 1,
      // The key's preflight, once.
      'sts:GetCallerIdentity': 1,
      'kms:DescribeKey': 1,
      'kms:GetKeyPolicy': 1,
      'iam:SimulatePrincipalPolicy': 3,
      // Preflight; ECR's grants of staging and of the recreated repository; staging's deletion (before, after).
      'kms:ListGrants': 5,
      'ecr:SetRepositoryPolicy': 2,
      'ecr:CreateRepository': 2,
      'ecr:ListImages': 1,
      'ecr:DeleteRepository': 2,
      'ecr:DeleteRepositoryPolicy': 1,
    });
  });

  /** Migrates `name` in a process that dies once `step` is done; answers the journal and the mark after the death. */
  const diesAfter = async (name: string, step: 'verifyStaging' | 'recreate'): Promise<{ journal: MigrationJournal; mark: number }> => {
    const key = await seeded(name);
    const inner = memoryJournal();
    const dying: MigrationJournal = {
      ...inner,
      save: (record) =>
        inner.save(record).andThen(() =>
          stateOf(record).steps[step]?.status === 'done'
            ? errAsync({ kind: 'JournalFailed' as const, operation: 'save' as const, journal: 'dying', reason: 'the process dies here' })
            : okAsync(undefined),
        ),
    };
    const first = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS', key }, journal: dying });
    expect(first._unsafeUnwrapErr()).toMatchObject({ kind: 'MigrationFailed', step });
    return { journal: inner, mark: aws.inspect.calls().length };
  };

  it('a migration resumed after verifyStaging preflights the recreation in full (key, caller, permissions) before CreateRepository', async () => {
    // Prepare
    const { journal, mark } = await diesAfter('calls/resumed-create', 'verifyStaging');

    // Act
    const resumed = await registry.resumeMigration({ journal });

    // Assess
    expect(resumed._unsafeUnwrap()).toMatchObject({ changed: true, resumed: true });
    const calls = callsSince(mark);
    const create = calls.indexOf('ecr:CreateRepository');
    expect(create).toBeGreaterThan(0);
    expect(calls.slice(0, create)).toEqual(expect.arrayContaining(['sts:GetCallerIdentity', 'kms:DescribeKey', 'kms:GetKeyPolicy', 'iam:SimulatePrincipalPolicy']));
    // Created by this process with the settings: not applied a second time.
    expect(calls).not.toContain('ecr:PutImageScanningConfiguration');
  });

  it('a migration resumed after recreate applies tag mutability and scanning again (the journal does not say what the creation took)', async () => {
    // Prepare
    const { journal, mark } = await diesAfter('calls/resumed-settings', 'recreate');

    // Act
    const resumed = await registry.resumeMigration({ journal });

    // Assess
    expect(resumed._unsafeUnwrap()).toMatchObject({ changed: true, resumed: true });
    expect(callsSince(mark)).toEqual(expect.arrayContaining(['ecr:PutImageTagMutability', 'ecr:PutImageScanningConfiguration']));
  });
});
