/**
 * One side of the `throughput` benchmark, in a process of its own: the library
 * (`migrateRepository`) or a floor loop (`floorMigration` over the registry API or the JSON API).
 * The emulator stays in the bench process and serves this one over HTTP, as ECR is not in a
 * client's process: the client's CPU (hashing, verification, journal; or the floor's plain loop)
 * does not compete with the emulator's for one event loop, and each side's CPU seconds are its own.
 *
 * Reads its job from argv (JSON), migrates the warm-up repository first when the job names one
 * (JIT, sockets; not counted), then the measured one, and prints one JSON line: wall and CPU seconds of the measured
 * migration, bytes and blobs moved, and when it started and ended (epoch milliseconds, so the
 * bench process can tell its own CPU seconds meanwhile: the emulator's). The floors' images
 * (digests and manifests) come in a JSON file named by the job: 200 manifests do not fit in one
 * argument.
 */
import { readFileSync } from 'node:fs';
import { ECRClient } from '@aws-sdk/client-ecr';
import type { PushedImage } from '../src/testing/index.js';
import { BenchRegistry } from './lib/env.js';
import { floorMigration, libraryMigration, type FloorPath, type Migrated } from './lib/engine.js';

/** Which side runs. */
export type ThroughputSide = 'library' | 'floor' | 'jsonFloor';

/** One migration: the repository, the key it moves to, and (floors) the file of its images. */
export interface ThroughputMove {
  readonly repositoryName: string;
  readonly key: string;
  readonly imagesFile: string;
}

export interface ThroughputJob {
  readonly side: ThroughputSide;
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly concurrency: number;
  /** Migrated first, not counted (JIT, sockets); none when absent (the peer benchmark: skopeo starts cold too). */
  readonly warmup?: ThroughputMove | undefined;
  readonly run: ThroughputMove;
}

/** What the child prints. */
export interface ThroughputChildResult extends Migrated {
  /** Epoch milliseconds at the start and end of the measured migration. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Seconds of the warm-up migration; 0 without one. */
  readonly warmupSeconds: number;
  /** `process.resourceUsage().maxRSS` in bytes. */
  readonly maxRss: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ThroughputJob;
const config = { endpoint: job.endpoint, region: job.region, credentials: job.credentials };
const registry = new BenchRegistry({ clientConfig: config });
const ecr = new ECRClient(config);

const migrate = (move: ThroughputMove): Promise<Migrated> => {
  if (job.side === 'library') return libraryMigration(registry, move.repositoryName, move.key, job.concurrency);
  const images = JSON.parse(readFileSync(move.imagesFile, 'utf8')) as PushedImage[];
  const path: FloorPath = job.side === 'floor' ? { kind: 'registry', origin: job.endpoint } : { kind: 'api' };
  return floorMigration(ecr, move.repositoryName, images, move.key, job.concurrency, path);
};

try {
  const warmup = job.warmup === undefined ? undefined : await migrate(job.warmup);
  const startedAt = Date.now();
  const moved = await migrate(job.run);
  const endedAt = Date.now();
  const result: ThroughputChildResult = { ...moved, startedAt, endedAt, warmupSeconds: warmup?.seconds ?? 0, maxRss: process.resourceUsage().maxRSS * 1024 };
  process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  registry.destroy();
  ecr.destroy();
}
