/**
 * Not a bench: a loop to hunt failures of the fleet bench's scenario (`fleet.ts`: one
 * `migrateRepositories` of 50 repositories × 4 images, `rateQuotas: 'aws'`, 16 at once, 4 blobs at
 * once), run `RUNS` times on fresh emulators. Logs each run's outcome, every failed repository's
 * whole error (SDK errors as name, message and metadata) and journal, the fleet's resumes after a
 * transient failure, the library's retry and restart messages, paged ListGrants calls and refused
 * markers, and the emulator's error answers.
 *
 * `RUNS=5 REPOS=50 LAT=20 LISTLAT=0 THROTTLE=0 npx tsx bench/fleet-repro.ts`: `LAT` ms on every
 * call, `LISTLAT` ms more on ListGrants (a longer window between two pages), `THROTTLE` a seeded
 * share (0–1) of the API calls in `OPS` (comma-separated operation names) answered
 * ThrottlingException.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchRegistry, createKey, createRepository, inParallel, seedImages, startBenchAws } from './lib/env.js';

const RUNS = Number(process.env.RUNS ?? 5);
const REPOS = Number(process.env.REPOS ?? 50);
const LATENCY_MS = Number(process.env.LAT ?? 20);
const LIST_LATENCY_MS = Number(process.env.LISTLAT ?? 0);
const THROTTLE_SHARE = Number(process.env.THROTTLE ?? 0);
const OPS = (
  process.env.OPS ??
  'DescribeRepositories,CreateRepository,DeleteRepository,GetRepositoryPolicy,SetRepositoryPolicy,DeleteRepositoryPolicy,GetLifecyclePolicy,DescribeImages,BatchGetImage,PutImage,BatchCheckLayerAvailability,GetDownloadUrlForLayer,ListTagsForResource,TagResource,GetAuthorizationToken,DescribeKey,ListGrants,RetireGrant,GetKeyPolicy,ListAliases'
).split(',');

const whole = (error: unknown): string =>
  JSON.stringify(error, (_key, value: unknown) => (value instanceof Error ? { name: value.name, message: value.message, metadata: (value as { $metadata?: unknown }).$metadata } : value), 1);

for (let run = 0; run < RUNS; run++) {
  const env = await startBenchAws({ rateQuotas: 'aws' });
  const dir = mkdtempSync(join(tmpdir(), 'fleet-repro-'));
  try {
    const key = await createKey(env.kms, 'fleet target');
    const names = Array.from({ length: REPOS }, (_, r) => `fleet/app-${r}`);
    await inParallel(names, 4, async (name, r) => {
      await createRepository(env.ecr, name);
      await seedImages(env.seedEcr, name, Array.from({ length: 4 }, (_, i) => ({ layers: [8 * 1024 + i], tags: [`v${i}`] })), 1_000 + r, 2);
    });
    const faults = [
      env.aws.faults.latency(LATENCY_MS),
      ...(LIST_LATENCY_MS > 0 ? [env.aws.faults.latency(LIST_LATENCY_MS, { operation: 'kms:ListGrants' })] : []),
      ...(THROTTLE_SHARE > 0 ? OPS.map((operation, i) => env.aws.faults.throttle({ operation, share: THROTTLE_SHARE, seed: run * 100 + i + 1 })) : []),
    ];
    const events = new Map<string, number>();
    const note =
      (level: string) =>
      (message: string, fields?: Readonly<Record<string, unknown>>): void => {
        const key = `${level} ${message}${fields?.reason === undefined ? '' : ` ${JSON.stringify(fields.reason)}`}${fields?.operation === undefined ? '' : ` ${JSON.stringify(fields.operation)}`}`;
        events.set(key, (events.get(key) ?? 0) + 1);
        if (message.includes('fleet failed on a transient')) console.log(`RESUME ${JSON.stringify(fields)}`);
      };
    const registry = new BenchRegistry({ clientConfig: env.aws.clientConfig(), rateQuotas: 'aws', logger: { debug: note('debug'), info: () => undefined, warn: note('warn') } });
    let paged = 0;
    let markersRefused = 0;
    registry.ctx.kms.middlewareStack.add(
      (next) => async (args) => {
        if ((args as { input?: { Marker?: string } }).input?.Marker !== undefined) paged += 1;
        try {
          return await next(args);
        } catch (error) {
          if (error instanceof Error && error.name === 'InvalidMarkerException') markersRefused += 1;
          throw error;
        }
      },
      { step: 'initialize', name: 'fleetReproCount' },
    );
    const started = performance.now();
    const result = await registry.migrateRepositories({ encryption: { type: 'KMS', key }, repositoryNames: names, journal: join(dir, 'fleet-migration.json'), concurrency: 16, blobConcurrency: 4 });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    for (const fault of faults) fault.remove();
    registry.destroy();
    const errors: Record<string, number> = {};
    for (const call of env.aws.inspect.calls()) if (call.error !== undefined) errors[`${call.operation}:${call.error}`] = (errors[`${call.operation}:${call.error}`] ?? 0) + 1;
    console.log(`run ${run}: library ${JSON.stringify([...events])}; paged ListGrants ${paged}, markers refused ${markersRefused}; emulator errors ${JSON.stringify(errors)}`);
    if (result.isErr()) {
      console.log(`run ${run}: the fleet migration failed: ${whole(result.error)}`);
      continue;
    }
    const failed = result.value.repositories.filter((o) => o.status !== 'migrated');
    console.log(`run ${run}: ${REPOS - failed.length}/${REPOS} migrated in ${seconds} s`);
    for (const outcome of failed) {
      console.log(`FAILED ${outcome.repositoryName} ${outcome.status} after ${String(outcome.attempts)} run(s): ${whole(outcome.error)}`);
      try {
        console.log(`JOURNAL ${readFileSync(outcome.journal, 'utf8').slice(0, 4_000)}`);
      } catch (error) {
        console.log(`no journal: ${String(error)}`);
      }
    }
  } finally {
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
