/**
 * Crash safety: the migrating process is SIGKILLed (in a child process) at the start and end of
 * every step, right after the lifecycle pause, in the middle of both copies, and in the middle of
 * AWS calls (the emulator stops after applying a call and before answering, then restarts); each
 * time a NEW process resumes from the journal. The end state must be the same as an
 * uninterrupted migration's.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type EncryptionSpec, MIGRATION_STEPS } from '../../src/index.js';
import { runChild, useCrashWorld } from '../fixtures/crash-world.js';
import type { ChildConfig, KillPoint } from './migrate-child.js';
import { createFullRepository, pictureOf } from './migrate-helpers.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'migrate-child.ts');

type ChildLine = { readonly ok: boolean; readonly error?: { readonly kind: string; readonly step?: string; readonly cause?: string } };

// Each test starts 12 to 30 new node processes (tsx): 139 s for the 29 points with two CPU hogs on
// 2 cores, against a 180 s budget that left a loaded CI machine too little; 360 s each.
describe('migrateRepository survives SIGKILL at any point and resumes in a new process', () => {
  const world = useCrashWorld('migrate-crash-');

  /** Runs one child; `whileRunning` may kill it. */
  const runMigrateChild = (config: ChildConfig, whileRunning?: (kill: () => void, exited: () => boolean) => Promise<void>) =>
    runChild<ChildLine>(CHILD, config, whileRunning);

  const configFor = (repositoryName: string, encryption: EncryptionSpec, journalPath: string, mode: 'migrate' | 'resume', killAt?: KillPoint): ChildConfig => ({
    ...world.childTarget(),
    journalPath,
    mode,
    repositoryName,
    encryption,
    ...(killAt ? { killAt } : {}),
  });

  /** The end state of an uninterrupted migration: same images, tags, bytes and settings; nothing left over. */
  const expectMigrated = async (name: string, before: Awaited<ReturnType<typeof pictureOf>>, journalPath: string): Promise<void> => {
    const after = await pictureOf(world.ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual(before.settings);
    expect(after.encryption).toEqual({ type: 'KMS', kmsKey: world.keyArn });
    const objects = world.aws.inspect.ecr?.storedObjects(undefined, name) ?? [];
    expect(new Set(objects.map((o) => o.encryptedWith))).toEqual(new Set([world.keyArn]));
    const names = (world.aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName);
    expect(names.filter((n) => n.startsWith(`${name}-migrating-`))).toEqual([]);
    const orphans = (await world.registry.findOrphanedGrants())._unsafeUnwrap();
    expect(orphans.keys.flatMap((k) => k.orphans)).toEqual([]);
    expect(existsSync(journalPath)).toBe(false);
  };

  it('is killed right after the journal records the start and the end of every step, after the lifecycle pause, and mid-copy (29 points)', async () => {
    // Prepare
    const name = 'crash/journal';
    await createFullRepository(world.ecr, world.aws.account, name, { seed: 7 });
    const before = await pictureOf(world.ecr, name);
    const journalPath = join(world.dir, 'journal-points.json');
    const points: KillPoint[] = MIGRATION_STEPS.flatMap((step): KillPoint[] => {
      const start: KillPoint = { step, status: 'started' };
      const end: KillPoint = { step, status: 'done' };
      // Right after the lifecycle policy is deleted: the resumed freeze finds it gone, and it still comes back at the end.
      if (step === 'freeze') return [start, { lifecyclePaused: true }, end];
      if (step === 'copyToStaging' || step === 'copyBack') {
        const into = step === 'copyToStaging' ? 'staging' : 'final';
        return [
          start,
          { copied: 'blobs', into, count: 1 },
          { copied: 'blobs', into, count: 4 },
          { copied: 'manifests', into, count: 3 },
          end,
        ];
      }
      return [start, end];
    });
    expect(points).toHaveLength(29);

    // Act: each point kills a new process; the next one resumes from the journal.
    for (const [i, killAt] of points.entries()) {
      const outcome = await runMigrateChild(configFor(name, { type: 'KMS', key: world.keyArn }, journalPath, i === 0 ? 'migrate' : 'resume', killAt));
      expect({ killAt, signal: outcome.signal, stderr: outcome.signal === 'SIGKILL' ? '' : outcome.stderr }).toEqual({ killAt, signal: 'SIGKILL', stderr: '' });
    }
    const last = await runMigrateChild(configFor(name, { type: 'KMS', key: world.keyArn }, journalPath, 'resume'));

    // Assess
    expect(last.line).toMatchObject({ ok: true });
    await expectMigrated(name, before, journalPath);
  }, 360_000);

  it('is killed while AWS calls are in flight (applied, unanswered), with the emulator restarted each time (11 points)', async () => {
    // Prepare
    const name = 'crash/calls';
    await createFullRepository(world.ecr, world.aws.account, name, { seed: 11 });
    const before = await pictureOf(world.ecr, name);
    const journalPath = join(world.dir, 'call-points.json');
    // Counted from when each fault is set, i.e. from where the previous process died.
    const stops: { readonly operation: string; readonly nth: number }[] = [
      { operation: 'SetRepositoryPolicy', nth: 1 }, // the freeze
      { operation: 'DeleteLifecyclePolicy', nth: 1 }, // the lifecycle pause, deleted but unrecorded
      { operation: 'CreateRepository', nth: 1 }, // staging
      // Copy to staging, between blobs: layer bytes go over the registry API (`/v2/`), so the JSON
      // API's CompleteLayerUpload is no longer called; the second blob's download URL is.
      { operation: 'GetDownloadUrlForLayer', nth: 2 },
      { operation: 'PutImage', nth: 2 },
      { operation: 'DeleteRepository', nth: 1 }, // the original
      { operation: 'CreateRepository', nth: 1 }, // the final repository
      { operation: 'PutImage', nth: 3 }, // copy back
      { operation: 'PutLifecyclePolicy', nth: 1 }, // settings
      { operation: 'SetRepositoryPolicy', nth: 1 }, // the original policy, restored
      { operation: 'DeleteRepository', nth: 1 }, // staging
    ];

    // Act
    for (const [i, stop] of stops.entries()) {
      const fault = world.aws.faults.stopDuring(stop.operation, { nth: stop.nth, when: 'after' });
      const outcome = await runMigrateChild(configFor(name, { type: 'KMS', key: world.keyArn }, journalPath, i === 0 ? 'migrate' : 'resume'), async (kill, exited) => {
        while (world.aws.running && !exited()) await new Promise((r) => setTimeout(r, 10));
        if (!exited()) kill();
      });
      fault.remove();
      expect({ stop, signal: outcome.signal, running: world.aws.running }).toEqual({ stop, signal: 'SIGKILL', running: false });
      await world.aws.restart();
    }
    const last = await runMigrateChild(configFor(name, { type: 'KMS', key: world.keyArn }, journalPath, 'resume'));

    // Assess
    expect(last.line).toMatchObject({ ok: true });
    await expectMigrated(name, before, journalPath);
  }, 360_000);
});
