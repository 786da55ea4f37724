/**
 * D3 at the copy engine: a hook that rejects or throws (a broken journal store) must not leave
 * the manifest chain waiting for blobs that will never arrive. The migration guards its journal
 * (no hook of its own rejects); this pins the engine for any other caller.
 */
import { ResultAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { copyImages } from '../../src/migration/copy.js';
import { snapshotImages } from '../../src/migration/snapshot.js';
import { buildApp, ensureRepository } from '../fixtures/app-repository.js';
import { useEmulatedEcr } from '../fixtures/emulated-ecr.js';
import { settlesWithin } from '../helpers/settle.js';

const world = useEmulatedEcr();

describe('copyImages with a broken hook', () => {
  for (const how of ['rejects', 'throws'] as const) {
    it(`settles (rejects) instead of hanging when the blob hook ${how}`, async () => {
      // Prepare
      await buildApp(world.target, 'app');
      await ensureRepository(world.target, 'app-staging');
      const graph = (await snapshotImages(world.context(), 'app'))._unsafeUnwrap();
      let calls = 0;
      let brokeAt: number | undefined;
      const onBlobCopied = (): ResultAsync<void, never> => {
        calls++;
        brokeAt ??= Date.now();
        if (how === 'throws') throw new Error('the store is gone');
        return new ResultAsync(Promise.reject(new Error('the store is gone')));
      };

      // Act
      const copied = copyImages(world.context(), { source: 'app', target: 'app-staging', graph, concurrency: 2, onBlobCopied });

      // Assess: settled within 20 s of the hook's first break (a hang never settles; the set-up above
      // takes what a loaded machine makes it take, so the bound starts at the break, not at the test's start).
      await expect(settlesWithin(copied, () => brokeAt, 20_000)).rejects.toThrow('the store is gone');
      expect(calls).toBeGreaterThan(0);
    });
  }
});
