import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BatchDeleteImageCommand, ECRClient, GetLifecyclePolicyCommand, PutLifecyclePolicyCommand, UpdateImageStorageClassCommand } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errAsync, okAsync } from 'neverthrow';
import { EncryptedRegistry, fileJournal, memoryJournal, type MigrationJournal, type MigrationProgress } from '../../src/index.js';
import { stateOf } from '../../src/migration/state.js';
import { ApiError, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { createFullRepository, LIFECYCLE_POLICY, pictureOf, type RepositoryPicture } from './migrate-helpers.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };

// Each test runs one to three whole migrations over HTTP: two took the whole default 30 s on a
// loaded 2-core machine (two CPU hogs), others 17 to 23 s.
describe('migrateRepository on the local emulator', { timeout: 120_000 }, () => {
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
    expect(first).toMatchObject({ changed: true, from: { type: 'AES256' }, to: { type: 'KMS', keyArn }, counts: { images: Object.keys(before.images).length } });
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
  it('refuses pushes and deletes by anyone else while migrating, and lets them push again afterwards', async () => {
    // Prepare: a user allowed everything on ECR by its identity policy.
    const name = 'team/frozen';
    await createFullRepository(ecr, aws.account, name, { seed: 3 });
    const pusher = aws.principals.createUser('pusher', {
      policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] }],
    });
    const pusherEcr = new ECRClient(aws.clientConfig({ credentials: pusher.credentials }));
    const attempts: { push?: string; remove?: string } = {};
    const inner = memoryJournal();
    const journal: MigrationJournal = {
      ...inner,
      // While the copy to staging starts, someone else tries to push and to delete.
      save: (record) => {
        const state = stateOf(record);
        if (state.steps.copyToStaging?.status === 'started' && attempts.push === undefined) {
          return inner.save(record).andThen(() =>
            okAsync(undefined).map(async () => {
              attempts.push = await pushImage(pusherEcr, name, { layers: [randomBytes(1024, 99)], tags: ['sneaky'] }).then(
                () => 'pushed',
                (e: Error) => e.name,
              );
              attempts.remove = await pusherEcr.send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageTag: 'legacy' }] })).then(
                () => 'deleted',
                (e: Error) => e.name,
              );
            }),
          );
        }
        return inner.save(record);
      },
    };
    const before = await pictureOf(ecr, name);

    // Act
    const result = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });

    // Assess
    expect(result.isOk()).toBe(true);
    expect(attempts).toEqual({ push: 'AccessDeniedException', remove: 'AccessDeniedException' });
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings.repositoryPolicy).toBe(before.settings.repositoryPolicy);
    await expect(pushImage(pusherEcr, name, { layers: [randomBytes(1024, 98)], tags: ['after'] })).resolves.toMatchObject({ tags: ['after'] });
    pusherEcr.destroy();
  });

  it('plans without changing anything: graph, blobs, settings, preflight, call estimate and warnings', async () => {
    // Prepare
    const name = 'team/planned';
    await createFullRepository(ecr, aws.account, name, { seed: 5, extraUntagged: 2 });
    const before = await pictureOf(ecr, name);
    const callsBefore = aws.inspect.calls().length;

    // Act
    const plan = (await registry.planMigration({ repositoryName: name, encryption: { type: 'KMS' } }))._unsafeUnwrap();

    // Assess
    expect(plan).toMatchObject({ repositoryName: name, from: { type: 'AES256' }, to: { type: 'KMS', awsManagedKey: true }, nothingToDo: false, ready: true });
    expect(plan.counts).toMatchObject({ images: 8, indexes: 1, indexChildren: 2, referrers: 1, archived: 0, tags: 3 });
    expect(plan.counts.untagged).toBeGreaterThanOrEqual(3);
    expect(plan.images.map((i) => i.digest).sort()).toEqual(Object.keys(before.images).sort());
    expect(plan.blobs.count).toBeGreaterThan(0);
    expect(plan.blobs.totalBytes).toBeGreaterThan(0);
    expect(plan.settings).toMatchObject({
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: ['latest'],
      scanOnPush: true,
      tags: [
        { Key: 'team', Value: 'platform' },
        { Key: 'cost-center', Value: '42' },
      ],
    });
    expect(plan.settings.repositoryPolicy).toBe(before.settings.repositoryPolicy);
    expect(plan.settings.lifecyclePolicy).toBe(before.settings.lifecyclePolicy);
    expect(plan.preflight.ok).toBe(true);
    expect(plan.estimatedApiCalls.total).toBeGreaterThan(plan.images.length * 2);
    expect(plan.estimatedApiCalls.byStep.copyToStaging).toBeGreaterThan(plan.blobs.count * 3);
    expect(plan.warnings.map((w) => w.code)).toEqual(expect.arrayContaining(['notPreserved', 'rescanOnPush', 'lifecyclePolicy']));
    // Reads only: no call changed the repository.
    const writes = aws.inspect.calls().slice(callsBefore).filter((c) => /^(Put|Set|Create|Delete|Tag|Untag|Update|Initiate|Upload|Complete)/.test(c.operation));
    expect(writes.map((c) => c.operation)).toEqual([]);
    expect(await pictureOf(ecr, name)).toEqual(before);
  });

  it('answers nothing to do for the same encryption, and refuses archived images before changing anything', async () => {
    // Prepare
    const name = 'team/archived';
    await createFullRepository(ecr, aws.account, name, { seed: 9 });
    const before = await pictureOf(ecr, name);

    // Act + Assess: the same encryption
    const same = (await registry.migrateRepository({ repositoryName: name, encryption: 'AES256', journal: memoryJournal() }))._unsafeUnwrap();
    expect(same).toMatchObject({ changed: false, warnings: [{ code: 'sameEncryption' }] });
    expect((await registry.planMigration({ repositoryName: name, encryption: { type: 'AES256' } }))._unsafeUnwrap()).toMatchObject({ nothingToDo: true, ready: false });

    // an archived image
    const untagged = Object.entries(before.images).find(([, i]) => i.tags.length === 0 && i.mediaType?.includes('manifest.v1'))?.[0] ?? '';
    await ecr.send(new UpdateImageStorageClassCommand({ repositoryName: name, imageId: { imageDigest: untagged }, targetStorageClass: 'ARCHIVE' }));
    const plan = (await registry.planMigration({ repositoryName: name, encryption: { type: 'KMS' } }))._unsafeUnwrap();
    expect(plan).toMatchObject({ ready: false, counts: { archived: 1 } });
    expect(plan.warnings.map((w) => w.code)).toContain('archivedImages');
    const refused = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: memoryJournal() });
    expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'ImagesArchived', images: [{ imageDigest: untagged, status: 'ARCHIVED' }] });
    expect((await pictureOf(ecr, name)).settings).toEqual(before.settings);

    // restoreArchived restores it first (the emulator takes 2 s of its clock), then migrates.
    const patient = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: { initialDelayMs: 50, maxDelayMs: 500, timeoutMs: 10_000 } });
    const migrated = await patient.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: memoryJournal(), restoreArchived: true });
    patient.destroy();
    expect(migrated._unsafeUnwrap()).toMatchObject({ changed: true, counts: { images: Object.keys(before.images).length } });
    expect((await pictureOf(ecr, name)).images).toEqual(before.images);
  });

  it('retries dropped connections, throttling and 5xx answers without stopping', async () => {
    // Prepare
    const name = 'team/flaky';
    await createFullRepository(ecr, aws.account, name, { seed: 13 });
    const before = await pictureOf(ecr, name);
    const faults = [
      aws.faults.dropConnection({ operation: 'PutImage', nth: 2, when: 'after' }),
      aws.faults.dropConnection({ operation: 'UploadLayerPart', nth: 3 }),
      aws.faults.dropConnection({ operation: 'SetRepositoryPolicy', nth: 1, when: 'after' }),
      aws.faults.throttle({ operation: 'BatchCheckLayerAvailability', every: 2 }),
      aws.faults.failNth('CreateRepository', 1),
      aws.faults.serverError({ operation: 'DeleteRepository', times: 1 }),
      aws.faults.failNth('BatchGetImage', 2),
    ];

    // Act
    const result = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: memoryJournal() });
    for (const f of faults) f.remove();

    // Assess
    expect(result._unsafeUnwrap()).toMatchObject({ changed: true });
    expect((await pictureOf(ecr, name)).images).toEqual(before.images);
    await expectNoLeftovers(name);
  });

  it('stops with MigrationFailed naming the step, the state and how to resume, then resumes from the journal', async () => {
    // Prepare
    const name = 'team/denied';
    await createFullRepository(ecr, aws.account, name, { seed: 17 });
    const before = await pictureOf(ecr, name);
    const journal = fileJournal(join(dir, 'denied.json'));
    // The 4th PutImage (copy to staging) is refused for good.
    const fault = aws.faults.failNth('PutImage', 4, new ApiError('AccessDeniedException', 'not today', { status: 400 }));

    // Act
    const failed = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });
    fault.remove();

    // Assess
    const error = failed._unsafeUnwrapErr();
    expect(error).toMatchObject({
      kind: 'MigrationFailed',
      step: 'copyToStaging',
      repositoryName: name,
      journal: join(dir, 'denied.json'),
      cause: { kind: 'AccessDenied' },
    });
    if (error.kind !== 'MigrationFailed') throw new Error('unreachable');
    expect(error.state).toContain('intact and frozen');
    expect(error.state).toContain('lifecycle policy is paused');
    expect(error.resume).toContain('resumeMigration');
    // A second migration of the same repository, or with the same journal, is refused.
    expect((await registry.migrateRepository({ repositoryName: name, encryption: 'AES256', journal: memoryJournal() }))._unsafeUnwrapErr()).toMatchObject({
      kind: 'MigrationInProgress',
      foundIn: 'repositoryPolicy',
      migrationId: error.migrationId,
    });
    expect((await registry.migrateRepository({ repositoryName: 'team/other', encryption: 'AES256', journal }))._unsafeUnwrapErr()).toMatchObject({
      kind: 'MigrationInProgress',
      foundIn: 'journal',
    });

    const resumed = await new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL }).resumeMigration({ journal: fileJournal(join(dir, 'denied.json')) });
    expect(resumed._unsafeUnwrap()).toMatchObject({ changed: true, resumed: true, migrationId: error.migrationId });
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual(before.settings);
    await expectNoLeftovers(name);
    expect((await registry.resumeMigration({ journal }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'journal' });
  });
  it('never deletes the original on a journal record alone: staging is verified again in the resuming process, and repaired', async () => {
    // Prepare: the first process records staging verified, then dies before deleting the original.
    const name = 'team/tampered';
    await createFullRepository(ecr, aws.account, name, { seed: 19 });
    const before = await pictureOf(ecr, name);
    const inner = memoryJournal();
    const dying: MigrationJournal = {
      ...inner,
      save: (record) =>
        inner.save(record).andThen(() =>
          stateOf(record).steps.verifyStaging?.status === 'done'
            ? errAsync({ kind: 'JournalFailed' as const, operation: 'save' as const, journal: 'dying', reason: 'the process dies here' })
            : okAsync(undefined),
        ),
    };
    const first = (await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: dying }))._unsafeUnwrapErr();
    expect(first).toMatchObject({ kind: 'MigrationFailed', step: 'verifyStaging' });
    // Meanwhile an image disappears from staging (which is not frozen).
    const recorded = inner.snapshot();
    const staging = recorded === undefined ? '' : stateOf(recorded).stagingRepositoryName;
    const legacy = Object.entries(before.images).find(([, i]) => i.tags.includes('legacy'))?.[0] ?? '';
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: staging, imageIds: [{ imageDigest: legacy }] }));
    const mark = aws.inspect.calls().length;

    // Act
    const resumed = await registry.resumeMigration({ journal: inner });

    // Assess: verified (and repaired) before the original was deleted; nothing lost.
    expect(resumed._unsafeUnwrap()).toMatchObject({ changed: true, resumed: true });
    const calls = aws.inspect.calls().slice(mark).map((c) => c.operation);
    const firstDelete = calls.indexOf('DeleteRepository');
    expect(firstDelete).toBeGreaterThan(0);
    expect(calls.slice(0, firstDelete)).toEqual(expect.arrayContaining(['BatchGetImage', 'PutImage']));
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    await expectNoLeftovers(name);
  });
  /** A registry whose ECR client runs `hook` around every call (after ECR answered, before the library sees the answer). */
  const hookedRegistry = (
    hook: (command: string, input: Record<string, unknown>) => Promise<void>,
  ): { readonly registry: EncryptedRegistry; readonly destroy: () => void } => {
    const client = new ECRClient(aws.clientConfig());
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context as { commandName?: string }).commandName ?? '';
        const input = args.input as Record<string, unknown>;
        await hook(`before:${command}`, input);
        const output = await next(args);
        await hook(`after:${command}`, input);
        return output;
      },
      { step: 'initialize', name: 'testHook' },
    );
    const hooked = new EncryptedRegistry({ clients: { ecr: client }, clientConfig: aws.clientConfig(), poll: POLL });
    return {
      registry: hooked,
      destroy: () => {
        hooked.destroy();
        client.destroy();
      },
    };
  };

  const lifecycleOf = (name: string): Promise<string | undefined> =>
    ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name })).then(
      (out) => out.lifecyclePolicyText,
      (e: Error) => {
        if (e.name === 'LifecyclePolicyNotFoundException') return undefined;
        throw e;
      },
    );

  it('pauses the lifecycle policy from the freeze to the end (journal first), never gives staging one, and restores it byte-exact', async () => {
    // Prepare: the lifecycle policy changes after the migration read it, before the freeze.
    const name = 'team/lifecycle';
    await createFullRepository(ecr, aws.account, name, { seed: 23 });
    const changed = LIFECYCLE_POLICY.replace('"countNumber":50', '"countNumber":40');
    expect(changed).not.toBe(LIFECYCLE_POLICY);
    const before = await pictureOf(ecr, name);
    const inner = memoryJournal();
    const seen: { step: string; original: string | undefined; staging: string | undefined; final: string | undefined }[] = [];
    const journal: MigrationJournal = {
      ...inner,
      save: (record) =>
        inner.save(record).map(async () => {
          const state = stateOf(record);
          if (state.steps.freeze?.status === 'started' && state.steps.freeze.attempts === 1 && seen.length === 0) {
            seen.push({ step: 'before freeze', original: await lifecycleOf(name), staging: undefined, final: undefined });
            await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: changed }));
          }
          for (const step of ['copyToStaging', 'copyBack', 'restoreSettings'] as const) {
            if (state.steps[step]?.status === 'started' && !seen.some((x) => x.step === step)) {
              const exists = (n: string) => (aws.inspect.ecr?.repositories() ?? []).some((r) => r.repositoryName === n);
              seen.push({
                step,
                original: step === 'copyToStaging' ? await lifecycleOf(name) : undefined,
                staging: exists(state.stagingRepositoryName) ? await lifecycleOf(state.stagingRepositoryName) : 'absent',
                final: step === 'copyToStaging' ? undefined : await lifecycleOf(name),
              });
            }
          }
        }),
    };
    // What the journal holds at the moment the policy is deleted.
    const atDelete: (string | undefined)[] = [];
    const { registry: hooked, destroy } = hookedRegistry((command) => {
      if (command === 'before:DeleteLifecyclePolicyCommand') atDelete.push(((r) => (r === undefined ? undefined : stateOf(r).original.settings.lifecyclePolicy))(inner.snapshot()));
      return Promise.resolve();
    });
    const mark = aws.inspect.calls().length;

    // Act
    const result = await hooked.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });
    destroy();

    // Assess
    expect(result._unsafeUnwrap()).toMatchObject({ changed: true });
    expect(atDelete).toEqual([changed]);
    expect(seen).toEqual([
      { step: 'before freeze', original: LIFECYCLE_POLICY, staging: undefined, final: undefined },
      { step: 'copyToStaging', original: undefined, staging: undefined, final: undefined },
      { step: 'copyBack', original: undefined, staging: undefined, final: undefined },
      { step: 'restoreSettings', original: undefined, staging: undefined, final: undefined },
    ]);
    const calls = aws.inspect.calls().slice(mark).map((c) => c.operation);
    const freeze = calls.indexOf('SetRepositoryPolicy');
    const pause = calls.indexOf('DeleteLifecyclePolicy');
    expect(freeze).toBeGreaterThanOrEqual(0);
    expect(pause).toBeGreaterThan(freeze);
    expect(pause, 'paused before the snapshot').toBeLessThan(calls.indexOf('DescribeImages', freeze));
    expect(calls.filter((c) => c === 'DeleteLifecyclePolicy')).toHaveLength(1);
    expect(calls.filter((c) => c === 'PutLifecyclePolicy'), 'the change above, and the restore').toHaveLength(2);
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual({ ...before.settings, lifecyclePolicy: changed });
    await expectNoLeftovers(name);
  });

  it('stops with UnexpectedImages when someone pushes into the recreated repository before its freeze, then resumes once they are removed', async () => {
    // Prepare: another principal pushes right after CreateRepository answers, before the freeze is set.
    const name = 'team/intruded';
    await createFullRepository(ecr, aws.account, name, { seed: 29 });
    const before = await pictureOf(ecr, name);
    const intruder = aws.principals.createUser('intruder', {
      policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] }],
    });
    const intruderEcr = new ECRClient(aws.clientConfig({ credentials: intruder.credentials }));
    let sneaky: string | undefined;
    const { registry: hooked, destroy } = hookedRegistry(async (command, input) => {
      if (command === 'after:CreateRepositoryCommand' && input.repositoryName === name && sneaky === undefined) {
        sneaky = (await pushImage(intruderEcr, name, { layers: [randomBytes(2048, 2929)], tags: ['sneaky'] })).digest;
      }
    });
    const journal = fileJournal(join(dir, 'intruded.json'));

    // Act
    const failed = await hooked.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });
    destroy();

    // Assess: stopped before copying back; nothing kept or dropped silently.
    const error = failed._unsafeUnwrapErr();
    expect(sneaky).toBeDefined();
    expect(error).toMatchObject({
      kind: 'MigrationFailed',
      step: 'recreate',
      cause: { kind: 'UnexpectedImages', repositoryName: name, images: [{ imageDigest: sneaky, imageTags: ['sneaky'] }] },
    });
    if (error.kind !== 'MigrationFailed') throw new Error('unreachable');
    expect(error.state).toContain('did not copy');
    expect(error.state).toContain(sneaky);
    expect(error.state).toContain('lifecycle policy is paused');
    const stopped = await pictureOf(ecr, name);
    expect(Object.keys(stopped.images)).toEqual([sneaky]);
    expect(stopped.settings.lifecyclePolicy).toBeUndefined();
    // Frozen now: the intruder can neither push nor delete any more.
    const denied = await intruderEcr.send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: sneaky ?? '' }] })).then(
      () => 'deleted',
      (e: Error) => e.name,
    );
    expect(denied).toBe('AccessDeniedException');
    // A resume alone stops again.
    const again = await registry.resumeMigration({ journal });
    expect(again._unsafeUnwrapErr()).toMatchObject({ kind: 'MigrationFailed', step: 'recreate', cause: { kind: 'UnexpectedImages' } });

    // The migrating principal removes it, as the state says, and resumes.
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: name, imageIds: [{ imageDigest: sneaky ?? '' }] }));
    const resumed = await registry.resumeMigration({ journal });
    expect(resumed._unsafeUnwrap()).toMatchObject({ changed: true, resumed: true });
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual(before.settings);
    await expectNoLeftovers(name);
    intruderEcr.destroy();
  });
});
