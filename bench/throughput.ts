/**
 * Throughput: a repository of many images with ~1 GiB of unique layers, migrated by the library
 * (`migrateRepository` to a KMS customer key) and by the floor (the same bytes moved the same
 * number of times, into a staging repository and back, over the library's default data path, the
 * registry API, with only the repository steps a migration cannot do without), at the same
 * concurrency. The JSON API floor (base64 UploadLayerPart parts, the library's fallback path) runs
 * too, as an informative figure without a target: the floor of earlier rounds, so their figures
 * stay readable.
 *
 * Each side runs in a child process of its own (`throughput-child.ts`), served over HTTP by the
 * emulator that stays in this process, as ECR is not in a client's process: the client's CPU
 * (the library's hashing of every byte, verification and journal; the floor's plain loop) does not
 * compete with the emulator for one event loop. Each child migrates a small warm-up repository
 * first (JIT, sockets; not counted), then the measured one; it reports its wall and CPU seconds,
 * and this process its own CPU seconds meanwhile (the emulator's).
 *
 * The repository is seeded once (AES256). Each migration moves it to the customer key it is not
 * under (two keys, A and B, taken in turn), so the library's first run is AES256 → A, the floor's
 * A → B, and so on: the emulator stores both encryptions the same way (an envelope data key per
 * object; AES256 under a key it holds, KMS under one from its KMS), so reading either costs the
 * same. The warm-up repository turns the same way. One round by default (the run must fit in 10
 * minutes on 2 cores); `BENCH_ROUNDS=3` runs more, alternating who goes first, and the fastest run
 * of each counts. CPU seconds are reported beside wall time: on a shared machine they say whether
 * a slow run was the code or the neighbours.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { PushedImage } from '../src/testing/index.js';
import { createKey, createRepository, planImages, seedImages, startBenchAws } from './lib/env.js';
import { runJsonChild } from './lib/child.js';
import type { ThroughputChildResult, ThroughputJob, ThroughputMove, ThroughputSide } from './throughput-child.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

/** Rounds of floor and library each; the faster of each counts. `BENCH_ROUNDS` overrides. */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1) || 1);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'throughput-child.ts');

/**
 * Before each side: a full GC of this process (the emulator's garbage so far, the seeding's 1 GiB
 * of buffers included, is collected now, not during whichever side runs next) and `sync` (the page
 * cache's dirty blob files are written back now, not under the next side's run). The same for
 * every side, so none pays for what came before it.
 */
const settle = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return (): void => {
    gc();
    execFileSync('sync');
  };
})();

/** One side's measured migration, and the emulator's CPU seconds meanwhile. */
interface Migrated extends ThroughputChildResult {
  readonly emulatorCpuSeconds: number;
}

/** This process's CPU seconds, sampled every 100 ms, to tell the emulator's share of a child's run. */
const cpuSampler = (): { readonly between: (from: number, to: number) => number; readonly stop: () => void } => {
  const samples: { readonly at: number; readonly cpu: number }[] = [];
  const take = (): void => {
    const used = process.cpuUsage();
    samples.push({ at: Date.now(), cpu: (used.user + used.system) / 1e6 });
  };
  take();
  const timer = setInterval(take, 100);
  /** The CPU seconds at `at`, linear between the two samples around it. */
  const at = (time: number): number => {
    let before = samples[0];
    for (const s of samples) {
      if (s.at > time) {
        if (before === undefined || s.at === before.at) return s.cpu;
        return before.cpu + ((s.cpu - before.cpu) * (time - before.at)) / (s.at - before.at);
      }
      before = s;
    }
    return before?.cpu ?? 0;
  };
  return {
    between: (from, to) => {
      take();
      return at(to) - at(from);
    },
    stop: () => clearInterval(timer),
  };
};

export const throughput: Bench = async (sizes, log) => {
  const { images, bytes, concurrency } = sizes.throughput;
  const env = await startBenchAws();
  const dir = mkdtempSync(join(tmpdir(), 'bench-throughput-'));
  const sampler = cpuSampler();
  try {
    const keys = [await createKey(env.kms, 'throughput key A'), await createKey(env.kms, 'throughput key B')] as const;
    const repository = 'bench/app';
    await createRepository(env.ecr, repository);
    const plan = planImages(images, bytes);
    const seeded = await seedImages(env.seedEcr, repository, plan, 1);
    log(`seeded ${images} images, ${(seeded.bytes / MiB).toFixed(0)} MiB in ${seeded.seconds.toFixed(1)} s`);
    const imagesFile = (name: string, list: readonly PushedImage[]): string => {
      const file = join(dir, `${name}.json`);
      writeFileSync(file, JSON.stringify(list));
      return file;
    };
    const repositoryImages = imagesFile('app', seeded.images);

    // Warm-up: every child migrates a small repository first (JIT, sockets), not counted.
    await createRepository(env.ecr, 'bench/warmup');
    const warm = await seedImages(env.seedEcr, 'bench/warmup', planImages(8, Math.min(64 * MiB, bytes)), 9);
    const warmImages = imagesFile('warmup', warm.images);

    const { endpoint, region, credentials } = env.aws.clientConfig();
    let moves = 0;
    let warmMoves = 0;
    const runSide = async (side: ThroughputSide): Promise<Migrated> => {
      const warmup: ThroughputMove = { repositoryName: 'bench/warmup', key: keys[warmMoves++ % 2] ?? keys[0], imagesFile: warmImages };
      const run: ThroughputMove = { repositoryName: repository, key: keys[moves++ % 2] ?? keys[0], imagesFile: repositoryImages };
      const job: ThroughputJob = {
        side,
        endpoint,
        region,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
        concurrency,
        warmup,
        run,
      };
      settle();
      const result = await runJsonChild<ThroughputChildResult>(CHILD, { ...job });
      return { ...result, emulatorCpuSeconds: sampler.between(result.startedAt, result.endedAt) };
    };

    const floors: Migrated[] = [];
    const library: Migrated[] = [];
    const jsonFloors: Migrated[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate who goes first, so neither always runs on a colder (or more loaded) machine; the
      // JSON API floor (informative, ≈ 3× slower) last.
      const order = round % 2 === 0 ? (['library', 'floor', 'jsonFloor'] as const) : (['floor', 'library', 'jsonFloor'] as const);
      for (const who of order) {
        const moved = await runSide(who);
        ({ library, floor: floors, jsonFloor: jsonFloors })[who].push(moved);
        const load = loadavg()[0] ?? 0;
        log(
          `${who} round ${round + 1}: ${(moved.bytes / MiB).toFixed(0)} MiB moved in ${moved.seconds.toFixed(2)} s ` +
            `(client ${moved.cpuSeconds.toFixed(2)} s of CPU, emulator ${moved.emulatorCpuSeconds.toFixed(2)} s; load ${load.toFixed(2)})`,
        );
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
    /** Client CPU (the child's), the emulator's meanwhile (this process's), and the child's peak RSS. */
    const cpu = (m: Migrated): Record<string, number> => ({
      cpuSeconds: m.cpuSeconds,
      emulatorCpuSeconds: m.emulatorCpuSeconds,
      warmupSeconds: m.warmupSeconds,
      clientMaxRssMiB: m.maxRss / MiB,
    });
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
        detail: { ...common, bytesMoved: floor.bytes, blobUploads: floor.blobs, seconds: floor.seconds, ...cpu(floor), runs: floors.map((m) => m.seconds), cpuRuns: floors.map((m) => m.cpuSeconds) },
      },
      {
        id: 'throughput.library',
        bench: 'throughput',
        label: `migrateRepository (AES256/KMS → KMS customer key), bytes moved ÷ wall time, concurrency ${concurrency}`,
        value: rate(lib),
        unit: 'MiB/s',
        detail: { ...common, seconds: lib.seconds, ...cpu(lib), steps: lib.steps, runs: library.map((m) => m.seconds), cpuRuns: library.map((m) => m.cpuSeconds) },
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
          ...cpu(jsonFloor),
          mibPerSecond: rate(jsonFloor),
          runs: jsonFloors.map((m) => m.seconds),
          cpuRuns: jsonFloors.map((m) => m.cpuSeconds),
        },
      },
      {
        id: 'throughput.cpuRatio',
        bench: 'throughput',
        label: 'client CPU seconds (each side in its own process): library / floor',
        value: lib.cpuSeconds,
        unit: 's',
        ratio: lib.cpuSeconds / floor.cpuSeconds,
        detail: {
          libraryCpuSeconds: lib.cpuSeconds,
          floorCpuSeconds: floor.cpuSeconds,
          jsonFloorCpuSeconds: jsonFloor.cpuSeconds,
          emulatorCpuSeconds: { library: lib.emulatorCpuSeconds, floor: floor.emulatorCpuSeconds, jsonFloor: jsonFloor.emulatorCpuSeconds },
        },
      },
    ] satisfies Figure[];
  } finally {
    sampler.stop();
    rmSync(dir, { recursive: true, force: true });
    await env.stop();
  }
};
