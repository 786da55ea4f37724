/**
 * The fleet migration's done-when test (issue 16): a fleet migration in a child process is
 * SIGKILLed once one repository is finished and another is in the middle of a copy; a new process
 * resumes from the fleet journal. No image is lost, every repository has the target encryption, no
 * staging repository and no orphan grant is left, and no journal remains.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { pushImage, randomBytes } from '../../src/testing/index.js';
import { runChild, useCrashWorld } from '../fixtures/crash-world.js';
import type { FleetChildConfig } from './migrate-fleet-child.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'migrate-fleet-child.ts');

type ChildLine = { readonly ok: boolean; readonly totals?: Record<string, number> };

describe('migrateRepositories survives SIGKILL mid-run and resumes in a new process', () => {
  const world = useCrashWorld('fleet-crash-');

  const digestsOf = async (name: string): Promise<string[]> =>
    ((await world.ecr.send(new DescribeImagesCommand({ repositoryName: name, maxResults: 1000 }))).imageDetails ?? []).map((d) => d.imageDigest ?? '').sort();

  it('is killed after one repository finished and another is mid-copy; the resumed run loses no image and leaves no staging repository or orphan grant', async () => {
    // Prepare: four AES256 repositories with a few images each.
    const names = ['crashfleet/one', 'crashfleet/two', 'crashfleet/three', 'crashfleet/four'];
    for (const [i, name] of names.entries()) {
      await world.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
      for (let image = 0; image < 3; image++) {
        const seed = 1000 * (i + 1) + 10 * image;
        await pushImage(world.ecr, name, { layers: [randomBytes(40 * 1024, seed), randomBytes(20 * 1024, seed + 1)], tags: [`v${image}`], label: `${name}-${image}` });
      }
    }
    const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await digestsOf(n)] as const)));
    const journal = join(world.dir, 'fleet.json');
    const config = (mode: 'migrate' | 'resume', killMidCopy: boolean): FleetChildConfig => ({
      ...world.childTarget(),
      journal,
      mode,
      encryption: { type: 'KMS', key: world.keyArn },
      namePattern: 'crashfleet/*',
      killMidCopy,
    });

    // Act: the first process dies mid-run; a second one resumes.
    const killed = await runChild<ChildLine>(CHILD, config('migrate', true));
    const atKill = JSON.parse(readFileSync(journal, 'utf8')) as { repositories: { repositoryName: string; status: string }[] };
    const inFlight = readdirSync(world.dir).filter((f) => f.startsWith('.encrypted-ecr-migration-') && f.endsWith('.json'));
    const stagingAtKill = (world.aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.includes('-migrating-'));
    const resumed = await runChild<ChildLine>(CHILD, config('resume', false));

    // Assess: killed where intended (one finished, one mid-copy with its staging repository and journal).
    expect({ signal: killed.signal, line: killed.line }).toEqual({ signal: 'SIGKILL', line: undefined });
    expect(atKill.repositories.filter((r) => r.status === 'migrated').length).toBeGreaterThanOrEqual(1);
    expect(atKill.repositories.filter((r) => r.status === 'running').length).toBeGreaterThanOrEqual(1);
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    expect(stagingAtKill.length).toBeGreaterThanOrEqual(1);
    // The resumed run finished everything.
    expect({ line: resumed.line, stderr: resumed.stderr }).toMatchObject({ line: { ok: true, totals: { migrated: expect.any(Number) as number, failed: 0, pending: 0 } }, stderr: '' });
    for (const name of names) {
      const repo = (await world.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
      expect({ name, digests: await digestsOf(name), type: repo?.encryptionConfiguration?.encryptionType, key: repo?.encryptionConfiguration?.kmsKey }).toEqual({
        name,
        digests: before[name],
        type: 'KMS',
        key: world.keyArn,
      });
      const objects = world.aws.inspect.ecr?.storedObjects(undefined, name) ?? [];
      expect(new Set(objects.map((o) => o.encryptedWith))).toEqual(new Set([world.keyArn]));
    }
    const repositories = (world.aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName);
    expect(repositories.filter((n) => n.includes('-migrating-'))).toEqual([]);
    expect((await world.registry.findOrphanedGrants())._unsafeUnwrap().keys.flatMap((k) => k.orphans)).toEqual([]);
    expect(existsSync(journal)).toBe(false);
    expect(readdirSync(world.dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 240_000);
});
