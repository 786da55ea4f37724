/**
 * Concurrency: two identical repositories (same layer sizes, different bytes) migrated by
 * `migrateRepository` (AES256 → KMS customer key, in-memory journal) at concurrency 1 and 8 with
 * 20 ms of latency injected into every call (downloads included), as a remote registry would add.
 * The speed-up is what concurrency buys when calls, not bytes, are the cost; the repository steps
 * (freeze, preflight, create, delete with grant checks, settings) are serial and count in both.
 */
import { createKey, createRepository, seedImages, startBenchAws } from './lib/env.js';
import { libraryMigration, type Migrated } from './lib/engine.js';
import type { Bench, Figure } from './lib/types.js';

export const concurrency: Bench = async (sizes, log) => {
  const { images, layersPerImage, layerBytes, latencyMs } = sizes.concurrency;
  const env = await startBenchAws();
  try {
    const key = await createKey(env.kms, 'concurrency target');
    const plan = Array.from({ length: images }, (_, i) => ({ layers: Array.from({ length: layersPerImage }, () => layerBytes), tags: [`v${i}`] }));
    let seeded: { readonly blobs: ReadonlyMap<string, number> } = { blobs: new Map() };
    for (const c of [1, 8]) {
      await createRepository(env.ecr, `bench/c${c}`);
      seeded = await seedImages(env.seedEcr, `bench/c${c}`, plan, 2 + c);
    }
    log(`seeded 2 × ${images} images, ${seeded.blobs.size} blobs each`);
    const latency = env.aws.faults.latency(latencyMs);
    const runs: Record<number, Migrated> = {};
    try {
      for (const c of [1, 8]) {
        runs[c] = await libraryMigration(env.registry, `bench/c${c}`, key, c);
        log(`concurrency ${c}: ${runs[c].seconds.toFixed(2)} s`);
      }
    } finally {
      latency.remove();
    }
    const one = runs[1];
    const eight = runs[8];
    if (one === undefined || eight === undefined) throw new Error('a run is missing');
    const speedup = one.seconds / eight.seconds;
    const detail = { images, blobs: seeded.blobs.size, layerBytes, latencyMs, stepsC1: one.steps, stepsC8: eight.steps };
    return [
      { id: 'concurrency.c1', bench: 'concurrency', label: `migrateRepository of ${images} images / ${seeded.blobs.size} blobs, concurrency 1, +${latencyMs} ms a call`, value: one.seconds, unit: 's', detail },
      { id: 'concurrency.c8', bench: 'concurrency', label: `same, concurrency 8`, value: eight.seconds, unit: 's', detail },
      {
        id: 'concurrency.speedup',
        bench: 'concurrency',
        label: 'speed-up of concurrency 8 over 1',
        value: speedup,
        unit: '×',
        target: '≥ 4×',
        ratio: speedup / 4,
        pass: speedup >= 4,
        detail,
      },
    ] satisfies Figure[];
  } finally {
    await env.stop();
  }
};
