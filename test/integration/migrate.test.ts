import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, fileJournal, type MigrationProgress } from '../../src/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { createFullRepository, pictureOf, type RepositoryPicture } from './migrate-helpers.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

describe('migrateRepository on the local emulator', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let kms: KMSClient;
  let registry: EncryptedRegistry;
  let dir: string;
  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    kms = new KMSClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
    dir = mkdtempSync(join(tmpdir(), 'migrate-test-'));
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    kms.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Every blob and manifest of the repository is encrypted with `expected` (a key ARN, or AES256). */
  const expectEncryptedWith = (name: string, expected: string): void => {
    const objects = aws.inspect.ecr?.storedObjects(undefined, name) ?? [];
    expect(objects.length).toBeGreaterThan(0);
    expect(new Set(objects.map((o) => o.encryptedWith))).toEqual(new Set([expected]));
    expect(new Set(objects.map((o) => o.kind))).toEqual(new Set(['blob', 'manifest']));
  };

  const expectNoLeftovers = async (name: string): Promise<void> => {
    const names = (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName);
    expect(names.filter((n) => n.startsWith(`${name}-migrating-`))).toEqual([]);
    const orphans = await registry.findOrphanedGrants();
    expect(orphans._unsafeUnwrap().keys.flatMap((k) => k.orphans)).toEqual([]);
  };

  it('round-trips AES256 → KMS (customer key) → KMS (aws/ecr) → AES256 keeping digests, tags, manifest bytes and settings', async () => {
    // Prepare
    const name = 'team/roundtrip';
    await createFullRepository(ecr, aws.account, name);
    const before = await pictureOf(ecr, name);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'ecr roundtrip' }));
    const keyArn = KeyMetadata?.Arn ?? '';
    const same = (after: RepositoryPicture): void => {
      expect(after.images).toEqual(before.images);
      expect(after.settings).toEqual(before.settings);
      expect(after.arn).toBe(before.arn);
    };

    // Act + Assess: to the customer-managed key
    const steps: MigrationProgress[] = [];
    const toCmk = await registry.migrateRepository({
      repositoryName: name,
      encryption: { type: 'KMS', key: keyArn },
      journal: fileJournal(join(dir, 'roundtrip.json')),
      onProgress: (p) => steps.push(p),
    });
    const first = toCmk._unsafeUnwrap();
    expect(first).toMatchObject({ changed: true, from: { type: 'AES256' }, to: { type: 'KMS', keyArn }, images: Object.keys(before.images).length });
    expect(Object.keys(first.steps)).toHaveLength(11);
    expect(steps.filter((p) => p.status === 'done').map((p) => p.step)).toEqual([
      'freeze',
      'snapshot',
      'createStaging',
      'copyToStaging',
      'verifyStaging',
      'deleteOriginal',
      'recreate',
      'copyBack',
      'verifyFinal',
      'restoreSettings',
      'deleteStaging',
    ]);
    const afterCmk = await pictureOf(ecr, name);
    same(afterCmk);
    expect(afterCmk.encryption).toEqual({ type: 'KMS', kmsKey: keyArn });
    expectEncryptedWith(name, keyArn);
    await expectNoLeftovers(name);

    // to the AWS-managed key
    const toManaged = (await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: fileJournal(join(dir, 'roundtrip.json')) }))._unsafeUnwrap();
    expect(toManaged.to.awsManagedKey).toBe(true);
    const afterManaged = await pictureOf(ecr, name);
    same(afterManaged);
    expect(afterManaged.encryption.kmsKey).toBe(toManaged.to.keyArn);
    expectEncryptedWith(name, toManaged.to.keyArn ?? '');
    await expectNoLeftovers(name);

    // back to AES256
    const toAes = (await registry.migrateRepository({ repositoryName: name, encryption: 'AES256', journal: fileJournal(join(dir, 'roundtrip.json')) }))._unsafeUnwrap();
    expect(toAes.to).toEqual({ type: 'AES256' });
    const afterAes = await pictureOf(ecr, name);
    same(afterAes);
    expect(afterAes.encryption.type).toBe('AES256');
    expectEncryptedWith(name, 'AES256');
    await expectNoLeftovers(name);
  });
});
