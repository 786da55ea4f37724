/**
 * Memory: the peak RSS of the process running `migrateRepository` (AES256 → KMS customer key,
 * in-memory journal) over a repository of one layer of growing size. The library runs in a child
 * process; the emulator (and the seeding, which streams the layer in 1 MiB chunks) stays in this
 * one. Each size gets a fresh emulator, whose blob directory is removed afterwards (a 2 GiB layer
 * is stored in the source, in staging and in the recreated repository, plus the upload's part
 * file while it is in flight; the source is deleted before the copy back).
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { pushImage, streamedBlob } from '../src/testing/index.js';
import { createKey, createRepository, seconds, startBenchAws } from './lib/env.js';
import { GiB, MiB, type Bench, type Figure } from './lib/types.js';

const run = promisify(execFile);
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'memory-child.ts');
const TARGET_MIB = 300;
/** The 2 GiB run may use at most this much more than the 256 MiB run to count as flat. */
const FLAT_SLACK = 1.1;

export interface ChildResult {
  readonly maxRss: number;
  readonly sampledPeakRss: number;
  readonly bytes: number;
  readonly seconds: number;
}

/** Runs `memory-child.ts` with `job`: the library in a process of its own, and its peak RSS. */
export const child = async (job: Record<string, unknown>): Promise<ChildResult> => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(job)], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 1024 * 1024,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as ChildResult;
};

const sizeLabel = (bytes: number): string => (bytes >= GiB ? `${bytes / GiB} GiB` : `${Math.round(bytes / MiB)} MiB`);

export const memory: Bench = async (sizes, log) => {
  const figures: Figure[] = [];
  const peaks: number[] = [];
  let baseline: ChildResult | undefined;
  for (const size of sizes.memory.layerSizes) {
    const env = await startBenchAws();
    try {
      const key = await createKey(env.kms, 'memory target');
      await createRepository(env.ecr, 'bench/source');
      const seedStarted = performance.now();
      await pushImage(env.seedEcr, 'bench/source', { layers: [streamedBlob(size, 3)], tags: ['big'] });
      log(`seeded one ${sizeLabel(size)} layer in ${seconds(seedStarted).toFixed(1)} s`);
      const { endpoint, region, credentials } = env.aws.clientConfig();
      const job = { endpoint, region, credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey }, repositoryName: 'bench/source', key, concurrency: 4 };
      baseline ??= await child({ ...job, mode: 'idle' });
      const result = await child({ ...job, mode: 'migrate' });
      if (result.bytes < 2 * size) throw new Error(`the child moved ${result.bytes} bytes, not twice ${size}`);
      const peak = Math.max(result.maxRss, result.sampledPeakRss);
      peaks.push(peak);
      log(`migrated ${sizeLabel(size)} (${(result.bytes / MiB).toFixed(0)} MiB moved) in ${result.seconds.toFixed(1)} s, peak RSS ${(peak / MiB).toFixed(0)} MiB`);
      figures.push({
        id: `memory.peak.${sizeLabel(size).replace(' ', '')}`,
        bench: 'memory',
        label: `peak RSS of the process running migrateRepository, one ${sizeLabel(size)} layer`,
        value: peak / MiB,
        unit: 'MiB',
        target: `< ${TARGET_MIB} MiB`,
        ratio: peak / MiB / TARGET_MIB,
        pass: peak / MiB < TARGET_MIB,
        detail: { layerBytes: size, bytesMoved: result.bytes, seconds: result.seconds, maxRss: result.maxRss, sampledPeakRss: result.sampledPeakRss, baselineRss: baseline.maxRss },
      });
    } finally {
      await env.stop();
    }
  }
  const first = peaks[0];
  const last = peaks.length > 0 ? Math.max(...peaks) : undefined;
  const smallest = sizes.memory.layerSizes[0] ?? 0;
  const largest = sizes.memory.layerSizes[sizes.memory.layerSizes.length - 1] ?? 0;
  if (baseline !== undefined) {
    figures.unshift({
      id: 'memory.baseline',
      bench: 'memory',
      label: 'RSS of the same process that only loads the modules and makes one call',
      value: baseline.maxRss / MiB,
      unit: 'MiB',
    });
  }
  if (first !== undefined && last !== undefined) {
    const growth = last / first;
    figures.push({
      id: 'memory.flatness',
      bench: 'memory',
      label: `highest peak RSS (up to ${sizeLabel(largest)}) / peak at ${sizeLabel(smallest)}`,
      value: growth,
      unit: '×',
      target: `≤ ${FLAT_SLACK}×`,
      ratio: growth,
      pass: growth <= FLAT_SLACK,
      detail: { peaksMiB: peaks.map((p) => p / MiB), layerSizes: sizes.memory.layerSizes },
    });
  }
  return figures;
};
