/**
 * Throughput: a repository of many images with ~1 GiB of unique layers, moved by the library
 * (snapshot, copy into a repository under another key, verify) and by the floor loop, at the same
 * concurrency, into fresh targets, after a small warm-up of both. One round by default (the run
 * must fit in 10 minutes on 2 cores); `BENCH_ROUNDS=3` runs more, alternating who goes first,
 * and the fastest run of each counts. CPU seconds are reported beside wall time: on a shared
 * machine they say whether a slow run was the code or the neighbours.
 */
import { DeleteRepositoryCommand } from '@aws-sdk/client-ecr';
import { createKey, createRepository, planImages, seedImages, startBenchAws } from './lib/env.js';
import { floorMove, libraryMove, type Moved } from './lib/engine.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

/** Rounds of floor and library each; the faster of each counts. `BENCH_ROUNDS` overrides. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1) || 1);

export const throughput: Bench = async (sizes, log) => {
  const { images, bytes, concurrency } = sizes.throughput;
  const env = await startBenchAws();
  try {
    const key = await createKey(env.kms, 'throughput target');
    await createRepository(env.ecr, 'bench/source');
    const plan = planImages(images, bytes);
    const seeded = await seedImages(env.seedEcr, 'bench/source', plan, 1);
    log(`seeded ${images} images, ${(seeded.bytes / MiB).toFixed(0)} MiB in ${seeded.seconds.toFixed(1)} s`);

    // Warm-up: both paths once over a small repository (JIT, sockets, page cache), not counted.
    await createRepository(env.ecr, 'bench/warmup');
    const warm = await seedImages(env.seedEcr, 'bench/warmup', planImages(8, Math.min(64 * MiB, bytes)), 9);
    for (const who of ['floor', 'library'] as const) {
      await createRepository(env.ecr, `bench/warmup-${who}`, key);
      if (who === 'floor') await floorMove(env.ecr, 'bench/warmup', 'bench/warmup-floor', warm.images, concurrency);
      else await libraryMove(env.registry.ctx, 'bench/warmup', 'bench/warmup-library', concurrency);
    }

    const floors: Moved[] = [];
    const library: Moved[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so neither always runs on a colder (or more loaded) machine.
      for (const who of round % 2 === 0 ? (['floor', 'library'] as const) : (['library', 'floor'] as const)) {
        const target = `bench/${who}-${round}`;
        await createRepository(env.ecr, target, key);
        const moved =
          who === 'floor'
            ? await floorMove(env.ecr, 'bench/source', target, seeded.images, concurrency)
            : await libraryMove(env.registry.ctx, 'bench/source', target, concurrency);
        (who === 'floor' ? floors : library).push(moved);
        log(`${who} round ${round + 1}: ${(moved.bytes / MiB).toFixed(0)} MiB in ${moved.seconds.toFixed(2)} s (${moved.cpuSeconds.toFixed(2)} s of CPU)`);
        // Free the disk (the copy is stored encrypted again) before the next round.
        await env.ecr.send(new DeleteRepositoryCommand({ repositoryName: target, force: true }));
      }
    }
    const best = (runs: Moved[]): Moved => runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const floor = best(floors);
    const lib = best(library);
    if (lib.bytes !== floor.bytes) throw new Error(`the library moved ${lib.bytes} bytes, the floor ${floor.bytes}`);
    const rate = (m: Moved): number => m.bytes / MiB / m.seconds;
    const ratio = lib.seconds / floor.seconds;
    const common = { images, blobs: lib.blobs, bytes: lib.bytes, concurrency, rounds: ROUNDS };
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
        label: `floor loop, concurrency ${concurrency}`,
        value: rate(floor),
        unit: 'MiB/s',
        detail: { ...common, seconds: floor.seconds, cpuSeconds: floor.cpuSeconds, runs: floors.map((m) => m.seconds), cpuRuns: floors.map((m) => m.cpuSeconds) },
      },
      {
        id: 'throughput.library',
        bench: 'throughput',
        label: `snapshot + copyImages + verify, concurrency ${concurrency}`,
        value: rate(lib),
        unit: 'MiB/s',
        detail: { ...common, seconds: lib.seconds, cpuSeconds: lib.cpuSeconds, runs: library.map((m) => m.seconds), cpuRuns: library.map((m) => m.cpuSeconds) },
      },
      {
        id: 'throughput.ratio',
        bench: 'throughput',
        label: 'library wall time / floor wall time',
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
