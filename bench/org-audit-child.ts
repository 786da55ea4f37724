/**
 * The library side of the `org.audit` benchmark, in its own process so that neither the emulator's
 * CPU nor its memory (the 12,000 repositories it serves) is counted: reads its job from argv (JSON),
 * runs `EncryptedFleet.audit({ require: 'any' })` over the emulator's HTTP endpoint, and prints one
 * JSON line: wall and CPU seconds of the audit, `process.resourceUsage().maxRSS`, the RSS and heap
 * sampled every 20 ms, the live heap before and after (the report still held), and the report's
 * counts. `mode: 'idle'` loads the same modules and makes one call, for the baseline.
 *
 * `mode: 'audit'` runs the same audit twice: first in the fresh process (`cold`: V8 compiles the
 * SDK's and the library's code on first use, a fixed cost of a few tenths of a second whatever the
 * organization's size), then again with new clients and credentials (the measured one, as any
 * benchmark measures after a warm-up). `startedAt` (epoch ms) lets the parent count the measured
 * audit's calls alone.
 *
 * Started with `--expose-gc` by `org-audit.ts`, so the heap figures hold live objects only.
 */
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { EncryptedFleet } from '../src/index.js';

interface Job {
  readonly mode: 'audit' | 'idle';
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly accounts: readonly string[];
  readonly regions: readonly string[];
  readonly roleName: string;
  readonly concurrency: number;
}

/** What the child prints (bytes and seconds). */
export interface OrgAuditChildResult {
  readonly mode: Job['mode'];
  readonly wallSeconds: number;
  readonly cpuSeconds: number;
  /** `process.resourceUsage().maxRSS` in bytes: the kernel's high-water mark for the whole process. */
  readonly maxRss: number;
  readonly sampledPeakRss: number;
  readonly peakHeap: number;
  /** Live heap (after a full GC) just before the audit. */
  readonly heapBefore: number;
  /** Live heap (after a full GC) after the audit, its report still held. */
  readonly heapAfter: number;
  /** RSS just before the audit (modules loaded, clients not made yet). */
  readonly rssBefore: number;
  readonly repositories: number;
  readonly targets: number;
  readonly failedTargets: number;
  /** When the measured audit started (epoch ms, the machine's clock): its calls are those answered after. */
  readonly startedAt: number;
  /** The first audit, in the fresh process (`mode: 'audit'` only). */
  readonly cold?: { readonly wallSeconds: number; readonly cpuSeconds: number };
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const config = { endpoint: job.endpoint, region: job.region, credentials: job.credentials };
const newFleet = (): EncryptedFleet =>
  new EncryptedFleet({ clientConfig: config, accounts: job.accounts, regions: job.regions, roleName: job.roleName, concurrency: job.concurrency });

let cold: OrgAuditChildResult['cold'];
if (job.mode === 'audit') {
  const coldCpu = process.cpuUsage();
  const coldStarted = performance.now();
  const fleet = newFleet();
  const report = await fleet.audit({ require: 'any' });
  fleet.destroy();
  if (report.isErr()) throw new Error(`the first (cold) fleet audit failed: ${report.error.kind}`);
  const used = process.cpuUsage(coldCpu);
  cold = { wallSeconds: (performance.now() - coldStarted) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}
gc();
const heapBefore = process.memoryUsage().heapUsed;
const rssBefore = process.memoryUsage.rss();
let peakRss = rssBefore;
let peakHeap = heapBefore;
const sample = (): void => {
  const now = process.memoryUsage();
  peakRss = Math.max(peakRss, now.rss);
  peakHeap = Math.max(peakHeap, now.heapUsed);
};
const sampler = setInterval(sample, 20);
const cpu = process.cpuUsage();
const startedAt = Date.now();
const started = performance.now();
let counts = { repositories: 0, targets: 0, failedTargets: 0 };
// The report stays referenced until the heap after is taken: the report is what the caller holds.
let held: unknown;
if (job.mode === 'audit') {
  const fleet = newFleet();
  const report = await fleet.audit({ require: 'any' });
  fleet.destroy();
  if (report.isErr()) throw new Error(`the fleet audit failed: ${report.error.kind}`);
  held = report.value;
  counts = { repositories: report.value.repositories.length, targets: report.value.targets.length, failedTargets: report.value.failedTargets };
} else {
  const ecr = new ECRClient(config);
  held = await ecr.send(new DescribeRepositoriesCommand({}));
  ecr.destroy();
}
const wallSeconds = (performance.now() - started) / 1000;
const used = process.cpuUsage(cpu);
clearInterval(sampler);
sample();
gc();
const heapAfter = process.memoryUsage().heapUsed;
// maxRSS is in KiB: the kernel's high-water mark for this process, whatever the sampling missed.
const maxRss = process.resourceUsage().maxRSS * 1024;
const result: OrgAuditChildResult = {
  mode: job.mode,
  wallSeconds,
  cpuSeconds: (used.user + used.system) / 1e6,
  maxRss,
  sampledPeakRss: peakRss,
  peakHeap,
  heapBefore,
  heapAfter,
  rssBefore,
  ...counts,
  startedAt,
  ...(cold !== undefined ? { cold } : {}),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
if (held === undefined) process.exitCode = 3;
