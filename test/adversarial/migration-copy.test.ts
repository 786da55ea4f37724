/**
 * D3 at the copy engine: a hook that rejects or throws (a broken journal store) must not leave
 * the manifest chain waiting for blobs that will never arrive. The migration guards its journal
 * (no hook of its own rejects); this pins the engine for any other caller.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { ResultAsync } from 'neverthrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyImages } from '../../src/migration/copy.js';
import { snapshotImages } from '../../src/migration/snapshot.js';
import { FakeEcr, testContext } from '../unit/migrate/fake-ecr.js';
import { buildApp } from '../unit/migrate/fixtures.js';

const ecr = mockClient(ECRClient);
let fake: FakeEcr;

beforeAll(async () => {
  fake = new FakeEcr();
  await fake.start();
  fake.install(ecr);
});
afterAll(() => fake.stop());

describe('copyImages with a broken hook', () => {
  for (const how of ['rejects', 'throws'] as const) {
    it(`settles (rejects) instead of hanging when the blob hook ${how}`, { timeout: 5000 }, async () => {
      // Prepare
      fake.repos.clear();
      buildApp(fake, 'app');
      fake.repo('app-staging');
      const graph = (await snapshotImages(testContext(), 'app'))._unsafeUnwrap();
      let calls = 0;
      const onBlobCopied = (): ResultAsync<void, never> => {
        calls++;
        if (how === 'throws') throw new Error('the store is gone');
        return new ResultAsync(Promise.reject(new Error('the store is gone')));
      };

      // Act
      const copied = copyImages(testContext(), { source: 'app', target: 'app-staging', graph, concurrency: 2, onBlobCopied });

      // Assess
      await expect(Promise.resolve(copied)).rejects.toThrow('the store is gone');
      expect(calls).toBeGreaterThan(0);
    });
  }
});
