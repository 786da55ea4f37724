/**
 * Throughput: a repository of many images with ~1 GiB of unique layers, migrated by the library
 * (`migrateRepository` to a KMS customer key) and by the floor (the same bytes moved the same
 * number of times, into a staging repository and back, over the library's default data path, the
 * registry API, with only the repository steps a migration cannot do without), at the same
 * concurrency, after a small warm-up of both. The JSON API floor (base64 UploadLayerPart parts,
 * the library's fallback path) runs too, as an informative figure without a target: the floor of
 * earlier rounds, so their figures stay readable.
 *
 * The repository is seeded once (AES256). Each migration moves it to the customer key it is not
 * under (two keys, A and B, taken in turn), so the library's first run is AES256 → A, the floor's
 * A → B, and so on: the emulator stores both encryptions the same way (an envelope data key per
 * object; AES256 under a key it holds, KMS under one from its KMS), so reading either costs the
 * same. One round by default (the run must fit in 10 minutes on 2 cores); `BENCH_ROUNDS=3` runs
 * more, alternating who goes first, and the fastest run of each counts. CPU seconds are reported
 * beside wall time: on a shared machine they say whether a slow run was the code or the neighbours.
 */
import { loadavg } from 'node:os';
import { createKey, createRepository, planImages, seedImages, startBenchAws } from './lib/env.js';
import { floorMigration, libraryMigration, type FloorPath, type Migrated } from './lib/engine.js';
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
    const registryPath: FloorPath = { kind: 'registry', origin: env.aws.clientConfig().endpoint };
    const apiPath: FloorPath = { kind: 'api' };
    await floorMigration(env.ecr, 'bench/warmup', warm.images, keys[1], concurrency, registryPath);
    await floorMigration(env.ecr, 'bench/warmup', warm.images, keys[0], concurrency, apiPath);

    const floors: Migrated[] = [];
    const library: Migrated[] = [];
    const jsonFloors: Migrated[] = [];
    let moves = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so neither always runs on a colder (or more loaded) machine; the
      // JSON API floor (informative, ≈ 3× slower) last.
      const order = round % 2 === 0 ? (['library', 'floor', 'jsonFloor'] as const) : (['floor', 'library', 'jsonFloor'] as const);
      for (const who of order) {
        const key = keys[moves++ % 2] ?? keys[0];
        const moved =
          who === 'library'
            ? await libraryMigration(env.registry, repository, key, concurrency)
            : await floorMigration(env.ecr, repository, seeded.images, key, concurrency, who === 'floor' ? registryPath : apiPath);
        ({ library, floor: floors, jsonFloor: jsonFloors })[who].push(moved);
        const load = loadavg()[0] ?? 0;
        log(`${who} round ${round + 1}: ${(moved.bytes / MiB).toFixed(0)} MiB moved in ${moved.seconds.toFixed(2)} s (${moved.cpuSeconds.toFixed(2)} s of CPU; load ${load.toFixed(2)})`);
      }
    }
    const best = (runs: Migrated[]): Migrated => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const floor = best(floors);
    const lib = best(library);
    const jsonFloor = best(jsonFloors);
    for (const other of [floor, jsonFloor]) {
      if (lib.bytes !== other.bytes) throw new Error(`the library moved ${lib.bytes} bytes, a floor ${other.bytes}`);
    }
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
        label: `floor: ${(lib.bytes / MiB).toFixed(0)} MiB moved (to staging and back) by a minimal loop over the registry API, concurrency ${concurrency}`,
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
        id: 'throughput.jsonFloorRatio',
        bench: 'throughput',
        label: 'migration wall time / JSON API floor wall time (UploadLayerPart parts, the fallback path)',
        value: jsonFloor.seconds,
        unit: 's',
        ratio: lib.seconds / jsonFloor.seconds,
        detail: {
          ...common,
          bytesMoved: jsonFloor.bytes,
          blobUploads: jsonFloor.blobs,
          floorSeconds: jsonFloor.seconds,
          floorCpuSeconds: jsonFloor.cpuSeconds,
          mibPerSecond: rate(jsonFloor),
          runs: jsonFloors.map((m) => m.seconds),
          cpuRuns: jsonFloors.map((m) => m.cpuSeconds),
        },
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
