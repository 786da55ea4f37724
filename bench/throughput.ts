/**
 * Throughput: a repository of many images with ~1 GiB of unique layers, migrated by the library
 * (`migrateRepository` to a KMS customer key) and by the floor (the same bytes moved the same
 * number of times, into a staging repository and back, with only the repository steps a migration
 * cannot do without), at the same concurrency, after a small warm-up of both.
 *
 * The repository is seeded once (AES256). Each migration moves it to the customer key it is not
 * under (two keys, A and B, taken in turn), so the library's first run is AES256 → A, the floor's
 * A → B, and so on: the emulator stores both encryptions the same way (an envelope data key per
 * object; AES256 under a key it holds, KMS under one from its KMS), so reading either costs the
 * same. One round by default (the run must fit in 10 minutes on 2 cores); `BENCH_ROUNDS=3` runs
 * more, alternating who goes first, and the fastest run of each counts. CPU seconds are reported
 * beside wall time: on a shared machine they say whether a slow run was the code or the neighbours.
 */
import { createKey, createRepository, planImages, seedImages, startBenchAws } from './lib/env.js';
import { floorMigration, libraryMigration, type Migrated } from './lib/engine.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

/** Rounds of floor and library each; the faster of each counts. `BENCH_ROUNDS` overrides. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1) || 1);

export const throughput: Bench = async (sizes, log) => {
  const { images, bytes, concurrency } = sizes.throughput;
  const env = await startBenchAws();
  try {
    const keys = [await createKey(env.kms, 'throughput key A'), await createKey(env.kms, 'throughput key B')] as const;
    const repository = 'bench/app';
    await createRepository(env.ecr, repository);
    const plan = planImages(images, bytes);
    const seeded = await seedImages(env.seedEcr, repository, plan, 1);
    log(`seeded ${images} images, ${(seeded.bytes / MiB).toFixed(0)} MiB in ${seeded.seconds.toFixed(1)} s`);

    // Warm-up: both paths once over a small repository (JIT, sockets, page cache), not counted.
    await createRepository(env.ecr, 'bench/warmup');
    const warm = await seedImages(env.seedEcr, 'bench/warmup', planImages(8, Math.min(64 * MiB, bytes)), 9);
    await libraryMigration(env.registry, 'bench/warmup', keys[0], concurrency);
    await floorMigration(env.ecr, 'bench/warmup', warm.images, keys[1], concurrency);

    const floors: Migrated[] = [];
    const library: Migrated[] = [];
    let moves = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so neither always runs on a colder (or more loaded) machine.
      for (const who of round % 2 === 0 ? (['library', 'floor'] as const) : (['floor', 'library'] as const)) {
        const key = keys[moves++ % 2] ?? keys[0];
        const moved =
          who === 'floor'
            ? await floorMigration(env.ecr, repository, seeded.images, key, concurrency)
            : await libraryMigration(env.registry, repository, key, concurrency);
        (who === 'floor' ? floors : library).push(moved);
        log(`${who} round ${round + 1}: ${(moved.bytes / MiB).toFixed(0)} MiB moved in ${moved.seconds.toFixed(2)} s (${moved.cpuSeconds.toFixed(2)} s of CPU)`);
      }
    }
    const best = (runs: Migrated[]): Migrated => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const floor = best(floors);
    const lib = best(library);
    if (lib.bytes !== floor.bytes) throw new Error(`the library moved ${lib.bytes} bytes, the floor ${floor.bytes}`);
    const rate = (m: Migrated): number => m.bytes / MiB / m.seconds;
    const ratio = lib.seconds / floor.seconds;
    const common = { images, blobUploads: lib.blobs, bytesMoved: lib.bytes, repositoryBytes: seeded.bytes, concurrency, rounds: ROUNDS };
    return [
      {
        id: 'throughput.seed',
        bench: 'throughput',
        label: `seed ${images} images / ${(seeded.bytes / MiB).toFixed(0)} MiB`,
        value: seeded.bytes / MiB / seeded.seconds,
        unit: 'MiB/s',
        detail: { seconds: seeded.seconds, bytes: seeded.bytes },
      },
      {
        id: 'throughput.floor',
        bench: 'throughput',
        label: `floor: ${(lib.bytes / MiB).toFixed(0)} MiB moved (to staging and back) by a minimal loop, concurrency ${concurrency}`,
        value: rate(floor),
        unit: 'MiB/s',
        detail: { ...common, bytesMoved: floor.bytes, blobUploads: floor.blobs, seconds: floor.seconds, cpuSeconds: floor.cpuSeconds, runs: floors.map((m) => m.seconds), cpuRuns: floors.map((m) => m.cpuSeconds) },
      },
      {
        id: 'throughput.library',
        bench: 'throughput',
        label: `migrateRepository (AES256/KMS → KMS customer key), bytes moved ÷ wall time, concurrency ${concurrency}`,
        value: rate(lib),
        unit: 'MiB/s',
        detail: { ...common, seconds: lib.seconds, cpuSeconds: lib.cpuSeconds, steps: lib.steps, runs: library.map((m) => m.seconds), cpuRuns: library.map((m) => m.cpuSeconds) },
      },
      {
        id: 'throughput.ratio',
        bench: 'throughput',
        label: 'migration wall time / floor wall time',
        value: lib.seconds,
        unit: 's',
        target: '≤ 1.25× floor',
        ratio,
        pass: ratio <= 1.25,
        detail: { librarySeconds: lib.seconds, floorSeconds: floor.seconds },
      },
      {
        id: 'throughput.cpuRatio',
        bench: 'throughput',
        label: 'CPU seconds (emulator + client, one process): library / floor',
        value: lib.cpuSeconds,
        unit: 's',
        ratio: lib.cpuSeconds / floor.cpuSeconds,
        detail: { libraryCpuSeconds: lib.cpuSeconds, floorCpuSeconds: floor.cpuSeconds },
      },
    ] satisfies Figure[];
  } finally {
    await env.stop();
  }
};
