/** Runs the selected benchmarks one after the other and gathers their figures. */
import { cpus, loadavg, totalmem } from 'node:os';
import { BENCH_NAMES, FULL_SIZES, QUICK_SIZES, type Bench, type BenchName, type Figure } from './lib/types.js';
import { audit } from './audit.js';
import { calls } from './calls.js';
import { concurrency } from './concurrency.js';
import { memory } from './memory.js';
import { policy } from './policy.js';
import { fleet } from './fleet.js';
import { orgAudit } from './org-audit.js';
import { peer } from './skopeo.js';
import { throughput } from './throughput.js';

const BENCHES: Readonly<Record<BenchName, Bench>> = { throughput, concurrency, memory, calls, audit, policy, peer, fleet, orgAudit };

export interface HarnessOptions {
  readonly only?: readonly BenchName[];
  readonly quick?: boolean;
  readonly log?: (line: string) => void;
}

/** The machine the figures come from. */
export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  /** 1-minute load average at the start and at the end: other work on the machine skews timings. */
  readonly loadAverage: { readonly start: number; readonly end: number };
}

export interface BenchResults {
  readonly startedAt: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly benches: readonly BenchName[];
  /** Seconds each benchmark took, setup included. */
  readonly durations: Readonly<Partial<Record<BenchName, number>>>;
  readonly figures: readonly Figure[];
}

export const machineInfo = (loadAtStart: number): MachineInfo => ({
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? 'unknown',
  memoryGiB: Math.round(totalmem() / 1024 ** 3),
  loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
});

export const parseOnly = (value: string): BenchName[] => {
  const names = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const name of names) {
    if (!(BENCH_NAMES as readonly string[]).includes(name)) throw new Error(`unknown benchmark "${name}" (known: ${BENCH_NAMES.join(', ')})`);
  }
  return names as BenchName[];
};

export const runBenchmarks = async (options: HarnessOptions = {}): Promise<BenchResults> => {
  const sizes = options.quick ? QUICK_SIZES : FULL_SIZES;
  const log = options.log ?? (() => undefined);
  const selected = options.only && options.only.length > 0 ? BENCH_NAMES.filter((n) => options.only?.includes(n)) : [...BENCH_NAMES];
  const figures: Figure[] = [];
  const durations: Partial<Record<BenchName, number>> = {};
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? 0;
  for (const name of selected) {
    const bench = BENCHES[name];
    log(`# ${name}`);
    const started = performance.now();
    figures.push(...(await bench(sizes, (line) => log(`  ${name}: ${line}`))));
    durations[name] = (performance.now() - started) / 1000;
    log(`  ${name}: done in ${durations[name].toFixed(1)} s`);
  }
  return { startedAt, quick: sizes.quick, machine: machineInfo(loadAtStart), benches: selected, durations, figures };
};
