/**
 * The library side of the memory benchmark, in its own process so that the emulator's memory is
 * not counted: reads its job from argv (JSON), migrates the repository (`migrateRepository` to the
 * KMS key `key`, in-memory journal), and prints one JSON line with its peak RSS. `mode: 'idle'` loads the same modules and makes one
 * call, for the baseline.
 */
import { ECRClient, DescribeRepositoriesCommand } from '@aws-sdk/client-ecr';
import { BenchRegistry } from './lib/env.js';
import { libraryMigration } from './lib/engine.js';

interface Job {
  readonly mode: 'migrate' | 'idle';
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly repositoryName: string;
  readonly key: string;
  readonly concurrency: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
let sampled = process.memoryUsage.rss();
const sampler = setInterval(() => {
  sampled = Math.max(sampled, process.memoryUsage.rss());
}, 20);

const config = { endpoint: job.endpoint, region: job.region, credentials: job.credentials };
const started = performance.now();
let bytes = 0;
if (job.mode === 'migrate') {
  const registry = new BenchRegistry({ clientConfig: config });
  bytes = (await libraryMigration(registry, job.repositoryName, job.key, job.concurrency)).bytes;
  registry.destroy();
} else {
  const ecr = new ECRClient(config);
  await ecr.send(new DescribeRepositoriesCommand({}));
  ecr.destroy();
}
clearInterval(sampler);
sampled = Math.max(sampled, process.memoryUsage.rss());
// maxRSS is in KiB: the kernel's high-water mark for this process, whatever the sampling missed.
const maxRss = process.resourceUsage().maxRSS * 1024;
process.stdout.write(`${JSON.stringify({ maxRss, sampledPeakRss: sampled, bytes, seconds: (performance.now() - started) / 1000 })}\n`);
