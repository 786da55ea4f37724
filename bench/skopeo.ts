/**
 * Peer: the same repository (~1 GiB of unique layers over many images; `--quick` a few MiB) moved
 * by `migrateRepository` (AES256 → a KMS customer key: into a staging repository and back, with
 * the journal, verification and grant hygiene) and by `skopeo sync --all` — the tool a user would
 * pick instead — over the emulator's registry API (`/v2/`) into a KMS-encrypted repository and
 * from there into another one, so both move every byte twice. `peer.skopeoRatio` = our time ÷
 * skopeo's (target ≤ 1.0), and the peak RSS of each: the library in a child process of its own
 * (`throughput-child.ts`, no warm-up: skopeo starts cold too; its `maxRSS`), skopeo as the largest
 * `ru_maxrss` of its processes; and the CPU seconds of each (`detail.cpu`).
 *
 * Both move layer bytes the same way: `migrateRepository`'s default layer transport is ECR's
 * registry API too (one streamed PATCH per blob, `src/migration/registry-transport.ts`); with the
 * JSON API's UploadLayerPart (base64 in JSON, SigV4-hashed 10 MiB parts) the ratio was ≈ 3–5×.
 *
 * Like for like in parallel transfers: `skopeo sync` (1.9.3, containers/image v5.22.1) copies the
 * images of a repository one after the other (`cmd/skopeo/sync.go`: a loop calling `copy.Image`
 * per image reference) and, within one image, its layers at once, at most 6
 * (`copy/copy.go`: `maxParallelDownloads`), then its config. On this repository (1–2 layers an
 * image) it never has more than 2 blobs in flight, mostly 1. So the library runs at
 * {@link skopeoParallelism} (2 here), not at its default of 4: never more blobs in flight than
 * skopeo's most. The library at its default concurrency is measured too (`detail.atDefaultConcurrency`,
 * informative), after it, to a second key.
 *
 * skopeo runs first (it only reads the source), then the library migrates the source. Skipped
 * with a message when `/usr/bin/skopeo` is missing (`.ci/run` installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { runJsonChild } from './lib/child.js';
import type { ThroughputChildResult, ThroughputJob } from './throughput-child.js';
import { createKey, createRepository, planImages, seedImages, startBenchAws, type SeedImage } from './lib/env.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

const run = promisify(execFile);

/** containers/image's `maxParallelDownloads`: the most layers of one image `skopeo sync` copies at once. */
const SKOPEO_MAX_PARALLEL_LAYERS = 6;

/** The most blobs `skopeo sync` has in flight on images of `plan`: the layers of its largest image, at most 6. */
const skopeoParallelism = (plan: readonly SeedImage[]): number =>
  Math.min(SKOPEO_MAX_PARALLEL_LAYERS, Math.max(1, ...plan.map((image) => image.layers.length)));
const SKOPEO = '/usr/bin/skopeo';
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'throughput-child.ts');
const PYTHON = '/usr/bin/python3';

/** Runs a command under python3 and answers its wall time and the largest RSS of its processes (`RUSAGE_CHILDREN`). */
const MEASURE = [
  'import resource, subprocess, sys, time',
  'start = time.monotonic()',
  'code = subprocess.run(sys.argv[1:]).returncode',
  'elapsed = time.monotonic() - start',
  'usage = resource.getrusage(resource.RUSAGE_CHILDREN)',
  'print(f"{code} {elapsed} {usage.ru_maxrss * 1024} {usage.ru_utime + usage.ru_stime}")',
].join('\n');

/** What one skopeo run took: wall seconds, the largest RSS of its processes, and their CPU seconds (user + system). */
interface Measured {
  readonly seconds: number;
  readonly maxRss: number;
  readonly cpuSeconds: number;
}

const measured = async (args: readonly string[], home: string): Promise<Measured> => {
  const { stdout } = await run(PYTHON, ['-c', MEASURE, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, CONTAINERS_REGISTRIES_CONF: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [code, seconds, maxRss, cpuSeconds] = (stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${String(code)}`);
  return { seconds: seconds ?? 0, maxRss: maxRss ?? 0, cpuSeconds: cpuSeconds ?? 0 };
};

export const peer: Bench = async (sizes, log) => {
  if (!existsSync(SKOPEO) || !existsSync(PYTHON)) {
    log(`skipped: ${SKOPEO} (or ${PYTHON}) not found; apt-get install --no-install-recommends skopeo`);
    return [];
  }
  const { images, bytes, concurrency: defaultConcurrency } = sizes.peer;
  const env = await startBenchAws();
  const home = mkdtempSync(join(tmpdir(), 'bench-skopeo-'));
  try {
    const target = await createKey(env.kms, 'peer: migrateRepository target');
    const skopeoKey = await createKey(env.kms, 'peer: skopeo target');
    const secondTarget = await createKey(env.kms, 'peer: migrateRepository at its default concurrency');
    await createRepository(env.ecr, 'src/app');
    const plan = planImages(images, bytes);
    const seeded = await seedImages(env.seedEcr, 'src/app', plan, 7);
    const concurrency = Math.min(defaultConcurrency, skopeoParallelism(plan));
    log(`seeded ${images} images, ${(seeded.bytes / MiB).toFixed(0)} MiB in ${seeded.seconds.toFixed(1)} s`);
    // skopeo sync puts src/app under the destination as <destination>/app.
    await createRepository(env.ecr, 'peer/app', skopeoKey);
    await createRepository(env.ecr, 'back/app', skopeoKey);

    const token = (await env.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
    const creds = Buffer.from(token, 'base64').toString('utf8');
    const host = env.aws.endpoint.replace('http://', '');
    const sync = (from: string, to: string): Promise<Measured> =>
      measured(
        [SKOPEO, '--insecure-policy', 'sync', '--all', '--preserve-digests', '--src', 'docker', '--dest', 'docker',
          '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `${host}/${from}`, `${host}/${to}`],
        home,
      );
    const there = await sync('src/app', 'peer');
    const back = await sync('peer/app', 'back');
    const skopeoSeconds = there.seconds + back.seconds;
    const skopeoRss = Math.max(there.maxRss, back.maxRss);
    const skopeoCpu = there.cpuSeconds + back.cpuSeconds;
    const copied = env.aws.inspect.ecr?.repositories(env.aws.region).find((r) => r.repositoryName === 'back/app')?.imageCount ?? 0;
    if (copied !== seeded.images.length) throw new Error(`skopeo left ${copied} images in back/app, not ${seeded.images.length}`);
    log(`skopeo sync there and back: ${skopeoSeconds.toFixed(2)} s (${skopeoCpu.toFixed(2)} s of CPU), peak RSS ${(skopeoRss / MiB).toFixed(0)} MiB; load ${(loadavg()[0] ?? 0).toFixed(2)}`);

    const { endpoint, region, credentials } = env.aws.clientConfig();
    const migrate = async (key: string, at: number): Promise<ThroughputChildResult> => {
      // The library in a process of its own, cold as skopeo is (no warm-up): wall and CPU seconds of the migration, its peak RSS.
      const migrated = await runJsonChild<ThroughputChildResult>(CHILD, {
        side: 'library',
        endpoint,
        region,
        credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
        concurrency: at,
        run: { repositoryName: 'src/app', key, imagesFile: '' },
      } satisfies ThroughputJob);
      if (migrated.bytes < 2 * seeded.bytes) throw new Error(`migrateRepository moved ${migrated.bytes} bytes, not twice ${seeded.bytes}`);
      return migrated;
    };
    const lib = await migrate(target, concurrency);
    const libRss = lib.maxRss;
    log(
      `migrateRepository at concurrency ${concurrency} (skopeo's most blobs in flight here): ${lib.seconds.toFixed(2)} s (${lib.cpuSeconds.toFixed(2)} s of CPU), ` +
        `peak RSS ${(libRss / MiB).toFixed(0)} MiB; load ${(loadavg()[0] ?? 0).toFixed(2)}`,
    );
    const atDefault = await migrate(secondTarget, defaultConcurrency);
    log(
      `migrateRepository at its default concurrency ${defaultConcurrency} (informative): ${atDefault.seconds.toFixed(2)} s (${atDefault.cpuSeconds.toFixed(2)} s of CPU); ` +
        `load ${(loadavg()[0] ?? 0).toFixed(2)}`,
    );

    const ratio = lib.seconds / skopeoSeconds;
    const detail = {
      images,
      repositoryBytes: seeded.bytes,
      bytesMoved: lib.bytes,
      concurrency,
      skopeoParallelism: { mostBlobsInFlight: skopeoParallelism(plan), maxParallelLayersPerImage: SKOPEO_MAX_PARALLEL_LAYERS, imagesAtOnce: 1 },
      atDefaultConcurrency: { concurrency: defaultConcurrency, seconds: atDefault.seconds, ratio: atDefault.seconds / skopeoSeconds, cpuSeconds: atDefault.cpuSeconds },
      // Client CPU seconds (user + system): the library child's during the migration; skopeo's processes' (both syncs).
      cpu: { library: lib.cpuSeconds, skopeo: skopeoCpu, ratio: lib.cpuSeconds / skopeoCpu },
      skopeo: { there, back },
    };
    const figures: Figure[] = [
      {
        id: 'peer.skopeoRatio',
        bench: 'peer',
        label: `migrateRepository time (concurrency ${concurrency}, skopeo's most blobs in flight) / skopeo sync --all time (into a KMS repository and back), same repository`,
        value: ratio,
        unit: '×',
        target: '≤ 1.0×',
        ratio,
        pass: ratio <= 1,
        detail: { ...detail, librarySeconds: lib.seconds, skopeoSeconds },
      },
      { id: 'peer.libraryPeakRss', bench: 'peer', label: 'peak RSS of the process running migrateRepository (its maxRSS)', value: libRss / MiB, unit: 'MiB' },
      { id: 'peer.skopeoPeakRss', bench: 'peer', label: 'peak RSS of skopeo sync', value: skopeoRss / MiB, unit: 'MiB' },
    ];
    return figures;
  } finally {
    rmSync(home, { recursive: true, force: true });
    await env.stop();
  }
};
