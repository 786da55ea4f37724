/**
 * deleteRepository and the orphaned-grant sweep through real SDK clients against the local
 * emulator, whose ECR retires its grants with the deleter's credentials, as AWS does.
 *
 * The emulator runs on a manual clock set an hour in the past: the sweep leaves alone grants
 * younger than its clock tolerance (a repository may be being created), and tells incarnations of
 * a name apart by creation times, so the tests move time between incarnations.
 */
import { BatchGetImageCommand, CreateRepositoryCommand, ECRClient, GetDownloadUrlForLayerCommand } from '@aws-sdk/client-ecr';
import { CreateGrantCommand, type KMSClient, ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, manualClock, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { createKey, kmsFor, registryFor, userWithout } from '../helpers/local-aws.js';

const clock = manualClock(new Date(Date.now() - 60 * 60 * 1000));
const SHORT_POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 200 };

let aws: LocalAws;
let admin: EncryptedRegistry;
let kms: KMSClient;
let ecr: ECRClient;
/** Deletes, but may not retire grants: ECR leaves them, and so must the library. */
let noRetire: EncryptedRegistry;

beforeAll(async () => {
  aws = await startLocalAws({ clock });
  admin = registryFor(aws);
  kms = kmsFor(aws);
  ecr = new ECRClient(aws.clientConfig());
  noRetire = registryFor(aws, userWithout(aws, 'no-retire', 'kms:RetireGrant'), { poll: SHORT_POLL });
});
afterAll(async () => {
  admin.destroy();
  noRetire.destroy();
  kms.destroy();
  ecr.destroy();
  await aws.stop();
});

/** What ListGrants (over HTTP, as a user sees it) shows for a repository ARN. */
const listedFor = async (keyArn: string, repositoryArn: string): Promise<string[]> => {
  const { Grants = [] } = await kms.send(new ListGrantsCommand({ KeyId: keyArn, Limit: 100 }));
  return Grants.filter((g) => g.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] === repositoryArn).map((g) => g.GrantId ?? '');
};
const liveGrantIds = (keyArn: string, repositoryArn: string): string[] =>
  aws.inspect
    .grants(keyArn)
    .filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn'] === repositoryArn)
    .map((g) => g.grantId);

const create = async (name: string, keyArn: string) =>
  (await admin.createEncryptedRepository({ repositoryName: name, encryption: { type: 'KMS', key: keyArn } }))._unsafeUnwrap();

describe('deleteRepository', () => {
  it('deletes a KMS repository and answers verified: true once ListGrants shows none of its grants', async () => {
    const key = await createKey(kms);
    const made = await create('del/clean', key.arn);
    await pushImage(ecr, 'del/clean', { layers: [randomBytes(1024, 1)], tags: ['v1'] });

    const deleted = (await admin.deleteRepository({ repositoryName: 'del/clean', force: true }))._unsafeUnwrap();

    expect(deleted).toMatchObject({ verified: true, imageCount: 1, encryption: { type: 'KMS', keyArn: key.arn }, grantsRetiredHere: [] });
    expect(new Set(deleted.grantsRetiredByEcr)).toEqual(new Set(made.grants.map((g) => g.grantId)));
    expect(await listedFor(key.arn, made.repository.arn)).toEqual([]);
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'del/clean')).toBe(false);
  });

  it('refuses a non-empty repository without force, deleting nothing', async () => {
    const key = await createKey(kms);
    const made = await create('del/not-empty', key.arn);
    await pushImage(ecr, 'del/not-empty', { layers: [randomBytes(512, 2)], tags: ['v1'] });

    const result = await admin.deleteRepository({ repositoryName: 'del/not-empty' });

    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'RepositoryNotEmpty', repositoryName: 'del/not-empty', imageCount: 1 });
    expect(aws.inspect.calls({ service: 'ecr', operation: 'DeleteRepository' }).filter((c) => c.status === 200)).toHaveLength(1);
    expect(liveGrantIds(key.arn, made.repository.arn)).toHaveLength(2);
  });

  it('answers RepositoryNotFound for a repository that does not exist', async () => {
    expect((await admin.deleteRepository({ repositoryName: 'del/never' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'RepositoryNotFound' });
  });

  it('deletes an AES256 repository with nothing to verify on a key', async () => {
    await admin.createEncryptedRepository({ repositoryName: 'del/aes', encryption: 'AES256' });
    expect((await admin.deleteRepository({ repositoryName: 'del/aes' }))._unsafeUnwrap()).toMatchObject({ verified: true, encryption: { type: 'AES256' } });
  });

  it('retires the grants ECR left and still verifies, when ECR cannot retire them but the library can', async () => {
    // ECR's retirement fails once (its RetireGrant as the caller); the library's own retirement goes through.
    const key = await createKey(kms);
    const made = await create('del/ecr-left-grants', key.arn);
    const user = userWithout(aws, 'retire-outside-ecr', 'kms:RetireGrant');
    // The user may retire, but not through ECR: a forward-access RetireGrant is denied.
    aws.principals.setPolicies(user.arn, [
      {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants', 'kms:RetireGrant'], Resource: '*' },
          { Effect: 'Deny', Action: 'kms:RetireGrant', Resource: '*', Condition: { StringLike: { 'kms:ViaService': 'ecr.*' } } },
        ],
      },
    ]);
    const asUser = registryFor(aws, user, { poll: SHORT_POLL });
    try {
      const deleted = (await asUser.deleteRepository({ repositoryName: 'del/ecr-left-grants' }))._unsafeUnwrap();
      expect(deleted.verified).toBe(true);
      expect(new Set(deleted.grantsRetiredHere)).toEqual(new Set(made.grants.map((g) => g.grantId)));
      expect(deleted.grantsRetiredByEcr).toEqual([]);
      expect(await listedFor(key.arn, made.repository.arn)).toEqual([]);
    } finally {
      asUser.destroy();
    }
  });

  it('never claims verified while one grant of the repository is left on the key', async () => {
    const key = await createKey(kms);
    const made = await create('del/one-left', key.arn);
    // A third grant for this repository, as ECR makes them, which ECR will not retire on deletion.
    const { GrantId: extra } = await kms.send(
      new CreateGrantCommand({
        KeyId: key.arn,
        GranteePrincipal: 'ecr.us-east-1.amazonaws.com',
        RetiringPrincipal: 'ecr.us-east-1.amazonaws.com',
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': made.repository.arn } },
      }),
    );
    // The deleter may retire grants only through ECR: ECR's two go, the extra one cannot be retired here.
    const user = aws.principals.createUser('retire-via-ecr-only', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' },
            { Effect: 'Allow', Action: 'kms:RetireGrant', Resource: '*', Condition: { StringLike: { 'kms:ViaService': 'ecr.*' } } },
          ],
        },
      ],
    });
    const asUser = registryFor(aws, user, { poll: SHORT_POLL });
    try {
      const result = await asUser.deleteRepository({ repositoryName: 'del/one-left' });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'DeletedButGrantsRemain', grantIds: [extra], missingPermission: 'kms:RetireGrant' });
    } finally {
      asUser.destroy();
    }
    expect(await listedFor(key.arn, made.repository.arn)).toEqual([extra]);
    // Whoever may retire it finishes the job; then the same check passes.
    await kms.send(new RetireGrantCommand({ KeyId: key.arn, GrantId: extra }));
    expect(await listedFor(key.arn, made.repository.arn)).toEqual([]);
  });

  it('a deleter without kms:RetireGrant deletes and gets DeletedButGrantsRemain; one who may retire cleans up', async () => {
    const key = await createKey(kms);
    const made = await create('del/grants-remain', key.arn);

    const result = await noRetire.deleteRepository({ repositoryName: 'del/grants-remain' });

    const error = result._unsafeUnwrapErr();
    expect(error).toMatchObject({
      kind: 'DeletedButGrantsRemain',
      repositoryName: 'del/grants-remain',
      repositoryArn: made.repository.arn,
      keyArn: key.arn,
      missingPermission: 'kms:RetireGrant',
    });
    if (error.kind !== 'DeletedButGrantsRemain') throw new Error('unreachable');
    expect(new Set(error.grantIds)).toEqual(new Set(made.grants.map((g) => g.grantId)));
    // The repository is gone; the grants are really there.
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'del/grants-remain')).toBe(false);
    expect(new Set(await listedFor(key.arn, made.repository.arn))).toEqual(new Set(error.grantIds));
    // ECR answered KmsException, as AWS does when its retirement fails.
    expect(aws.inspect.calls({ service: 'ecr', operation: 'DeleteRepository' }).at(-1)?.error).toBe('KmsException');

    // Later (past the sweep's clock tolerance), someone who may retire cleans up.
    clock.advance(2 * 60_000);
    const sweep = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
    expect(new Set(sweep.keys[0]?.retired)).toEqual(new Set(error.grantIds));
    expect(await listedFor(key.arn, made.repository.arn)).toEqual([]);
  });
});

describe('the orphaned-grant sweep', () => {
  it('retires exactly the orphans: a deleted repository\'s and an older incarnation\'s, never a live repository\'s', async () => {
    const key = await createKey(kms);
    const live = await create('sweep/live', key.arn);
    const deleted = await create('sweep/deleted', key.arn);
    const oldIncarnation = await create('sweep/recreated', key.arn);
    expect((await noRetire.deleteRepository({ repositoryName: 'sweep/deleted' }))._unsafeUnwrapErr().kind).toBe('DeletedButGrantsRemain');
    expect((await noRetire.deleteRepository({ repositoryName: 'sweep/recreated' }))._unsafeUnwrapErr().kind).toBe('DeletedButGrantsRemain');
    clock.advance(2 * 60_000);
    const newIncarnation = await create('sweep/recreated', key.arn);
    expect(newIncarnation.repository.arn).toBe(oldIncarnation.repository.arn);
    clock.advance(2 * 60_000);

    const expectedOrphans = new Set([...deleted.grants, ...oldIncarnation.grants].map((g) => g.grantId));
    const liveGrants = new Set([...live.grants, ...newIncarnation.grants].map((g) => g.grantId));

    // Find: the orphans with their reasons.
    const found = (await admin.findOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
    const report = found.keys[0];
    expect(report).toMatchObject({ keyArn: key.arn, keyManager: 'CUSTOMER', ecrGrantCount: 8, grantCount: 8, unverifiable: [] });
    expect(new Set(report?.orphans.map((o) => o.grantId))).toEqual(expectedOrphans);
    expect(report?.orphans.filter((o) => o.reason === 'older-incarnation').map((o) => o.grantId).sort()).toEqual(
      oldIncarnation.grants.map((g) => g.grantId).sort(),
    );
    expect(report?.headroom).toEqual({ quota: 50_000, used: 8, remaining: 49_992 });

    // Dry run (the default): nothing retired.
    const dry = (await admin.retireOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
    expect(dry.keys[0]?.retired).toEqual([]);
    expect(aws.inspect.grants(key.arn).filter((g) => g.retired)).toHaveLength(0);
    expect(aws.inspect.calls({ service: 'kms', operation: 'RetireGrant' }).filter((c) => c.time >= clock.now())).toHaveLength(0);

    // For real: exactly the orphans.
    const swept = (await admin.retireOrphanedGrants({ keys: [key.arn], dryRun: false }))._unsafeUnwrap();
    expect(new Set(swept.keys[0]?.retired)).toEqual(expectedOrphans);
    expect(swept.keys[0]?.failed).toEqual([]);
    const retiredNow = new Set(aws.inspect.grants(key.arn).filter((g) => g.retired).map((g) => g.grantId));
    expect(retiredNow).toEqual(expectedOrphans);
    for (const id of liveGrants) expect(retiredNow.has(id)).toBe(false);

    // The recreated repository still works: push and pull through its (live) grants.
    const image = await pushImage(ecr, 'sweep/recreated', { layers: [randomBytes(2048, 7)], tags: ['after-sweep'] });
    const pulled = await ecr.send(new BatchGetImageCommand({ repositoryName: 'sweep/recreated', imageIds: [{ imageTag: 'after-sweep' }] }));
    expect(pulled.images?.[0]?.imageManifest).toBe(image.manifest);
    const layer = image.blobs[1];
    const url = await ecr.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'sweep/recreated', layerDigest: layer?.digest }));
    const download = await fetch(url.downloadUrl ?? '');
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(randomBytes(2048, 7)))).toBe(true);

    // A second sweep finds nothing left.
    const again = (await admin.findOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
    expect(again.keys[0]?.orphans).toEqual([]);
  });

  it('sweeps every key of the region when none is named, aws/ecr included, without creating aws/ecr', async () => {
    const key = await createKey(kms);
    await create('sweep/all-keys', key.arn);
    (await noRetire.deleteRepository({ repositoryName: 'sweep/all-keys' }))._unsafeUnwrapErr();
    clock.advance(2 * 60_000);
    const hadAwsEcr = aws.inspect.keys().some((k) => k.aliases.includes('alias/aws/ecr'));

    const found = (await admin.findOrphanedGrants())._unsafeUnwrap();

    expect(found.keys.find((k) => k.keyArn === key.arn)?.orphans).toHaveLength(2);
    expect(aws.inspect.keys().some((k) => k.aliases.includes('alias/aws/ecr'))).toBe(hadAwsEcr);
  });

  it('leaves a repository created from outside the library alone, however its grants look', async () => {
    const key = await createKey(kms);
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({ repositoryName: 'sweep/outside', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.id } }),
    );
    clock.advance(2 * 60_000);
    const found = (await admin.findOrphanedGrants({ keys: [key.arn] }))._unsafeUnwrap();
    expect(found.keys[0]?.orphans).toEqual([]);
    expect(liveGrantIds(key.arn, repository?.repositoryArn ?? '')).toHaveLength(2);
  });
});

describe('permissions and failures around the deletion', () => {
  it('a deleter without kms:ListGrants is stopped before anything is deleted', async () => {
    const key = await createKey(kms);
    const made = await create('del/no-list', key.arn);
    const asUser = registryFor(aws, userWithout(aws, 'no-list-grants', 'kms:ListGrants'), { poll: SHORT_POLL });
    try {
      const result = await asUser.deleteRepository({ repositoryName: 'del/no-list' });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', service: 'kms', operation: 'ListGrants' });
    } finally {
      asUser.destroy();
    }
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'del/no-list')).toBe(true);
    expect(liveGrantIds(key.arn, made.repository.arn)).toHaveLength(2);
  });

  it('a dropped connection is a NetworkError, and nothing is deleted', async () => {
    const key = await createKey(kms);
    await create('del/dropped', key.arn);
    const fault = aws.faults.dropConnection({ operation: 'ecr:DescribeRepositories' });
    const impatient = registryFor(aws, undefined, { maxAttempts: 1 });
    try {
      expect((await impatient.deleteRepository({ repositoryName: 'del/dropped' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'NetworkError', service: 'ecr' });
    } finally {
      fault.remove();
      impatient.destroy();
    }
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'del/dropped')).toBe(true);
  });
});

describe('throttling', () => {
  it('is survived through the SDK\'s retries', async () => {
    const key = await createKey(kms);
    await create('throttle/survived', key.arn);
    const fault = aws.faults.throttle({ operation: 'kms:ListGrants', every: 2 });
    try {
      const deleted = await admin.deleteRepository({ repositoryName: 'throttle/survived' });
      expect(deleted._unsafeUnwrap().verified).toBe(true);
    } finally {
      fault.remove();
    }
    expect(aws.inspect.calls({ service: 'kms', operation: 'ListGrants' }).some((c) => c.error === 'ThrottlingException')).toBe(true);
  });

  it('a throttled ListGrants while verifying (no SDK retries) is polled again, not reported as grants that remain', async () => {
    const key = await createKey(kms);
    await create('throttle/verify', key.arn);
    const impatient = registryFor(aws, undefined, { maxAttempts: 1 });
    // Every second ListGrants is throttled: the one before the deletion passes, the first check after it does not.
    const fault = aws.faults.throttle({ operation: 'kms:ListGrants', every: 2 });
    try {
      const deleted = await impatient.deleteRepository({ repositoryName: 'throttle/verify' });
      expect(deleted._unsafeUnwrap()).toMatchObject({ verified: true, grantsRetiredHere: [] });
    } finally {
      fault.remove();
      impatient.destroy();
    }
  });

  it('is reported as Throttled when it does not stop, and nothing is deleted', async () => {
    const key = await createKey(kms);
    await create('throttle/reported', key.arn);
    const fault = aws.faults.throttle({ operation: 'ecr:DescribeRepositories' });
    const impatient = registryFor(aws, undefined, { maxAttempts: 1 });
    try {
      const result = await impatient.deleteRepository({ repositoryName: 'throttle/reported' });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'Throttled', service: 'ecr', operation: 'DescribeRepositories' });
      const created = await impatient.createEncryptedRepository({ repositoryName: 'throttle/other', encryption: { type: 'KMS', key: key.arn } });
      expect(created._unsafeUnwrapErr()).toMatchObject({ kind: 'Throttled', service: 'ecr' });
    } finally {
      fault.remove();
      impatient.destroy();
    }
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'throttle/reported')).toBe(true);
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'throttle/other')).toBe(false);
  });
});
