/**
 * The migration engine's progress saves: every save writes the whole state, which grows with the
 * repository, so saving after every blob and manifest would cost the square of its size. Small
 * repositories save every item; large ones save once 2% of the progress is unsaved, and the gap a
 * crash could lose (copied again on resume) never exceeds that.
 */
import { okAsync } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import type { RegistryContext } from '../../../src/internal/context.js';
import { MigrationEngine } from '../../../src/migration/engine.js';
import type { StateJournal } from '../../../src/migration/journal.js';
import type { JournalState } from '../../../src/migration/state.js';
import type { RunOptions } from '../../../src/migration/steps/run.js';

/** An engine over a state whose `copied` list stands for the blobs copied; the journal records how many each save held. */
const engineWithCountingJournal = () => {
  const state = { copied: [] as string[] } as unknown as JournalState & { copied: string[] };
  const savedCounts: number[] = [];
  const journal = {
    description: 'counting journal',
    save: (saved: JournalState & { copied: string[] }) => {
      savedCounts.push(saved.copied.length);
      return okAsync(undefined);
    },
  } as unknown as StateJournal;
  const ctx = { now: () => new Date('2026-12-02T00:00:00Z') } as unknown as RegistryContext;
  const engine = new MigrationEngine(ctx, journal, state, {} as RunOptions);
  return { engine, state, savedCounts };
};

describe('progress saves', () => {
  it('saves after every item of a small repository (up to 50)', async () => {
    const { engine, state, savedCounts } = engineWithCountingJournal();
    for (let i = 1; i <= 50; i++) {
      state.copied.push(`sha256:${i}`);
      expect((await engine.saveProgress()).isOk()).toBe(true);
    }
    expect(savedCounts).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });

  it('saves a 10,000-item copy a few hundred times, never leaving more than 2% of the progress unsaved', async () => {
    const { engine, state, savedCounts } = engineWithCountingJournal();
    let widestGap = 0;
    for (let i = 1; i <= 10_000; i++) {
      state.copied.push(`sha256:${i}`);
      await engine.saveProgress();
      const unsaved = i - (savedCounts[savedCounts.length - 1] ?? 0);
      widestGap = Math.max(widestGap, unsaved / Math.max(50, i));
    }
    expect(savedCounts.length).toBeGreaterThan(50);
    expect(savedCounts.length).toBeLessThan(400);
    expect(widestGap).toBeLessThan(0.02);
    // The step's closing save records everything.
    await engine.save();
    expect(savedCounts[savedCounts.length - 1]).toBe(10_000);
  });

  it('progress reported while a save waits joins that save, which writes it', async () => {
    const { engine, state, savedCounts } = engineWithCountingJournal();
    const pending = Array.from({ length: 4 }, (_, i) => {
      state.copied.push(`sha256:${i}`);
      return engine.saveProgress();
    });
    await Promise.all(pending);
    expect(savedCounts[savedCounts.length - 1]).toBe(4);
  });
});
