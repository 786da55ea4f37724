/**
 * Peer: the same repository (~1 GiB of unique layers over many images; `--quick` a few MiB) moved
 * by `migrateRepository` (AES256 → a KMS customer key: into a staging repository and back, with
 * the journal, verification and grant hygiene) and by `skopeo sync --all` — the tool a user would
 * pick instead — over the emulator's registry API (`/v2/`) into a KMS-encrypted repository and
 * from there into another one, so both move every byte twice. `peer.skopeoRatio` = our time ÷
 * skopeo's (target ≤ 1.0), and the peak RSS of each: the library in a child process of its own
 * (`memory-child.ts`), skopeo as the largest `ru_maxrss` of its processes.
 *
 * Both move layer bytes the same way: `migrateRepository`'s default layer transport is ECR's
 * registry API too (one streamed PATCH per blob, `src/migration/registry-transport.ts`); with the
 * JSON API's UploadLayerPart (base64 in JSON, SigV4-hashed 10 MiB parts) the ratio was ≈ 3–5×.
 *
 * skopeo runs first (it only reads the source), then the library migrates the source. Skipped
 * with a message when `/usr/bin/skopeo` is missing (`.ci/run` installs it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { child } from './memory.js';
import { createKey, createRepository, planImages, seedImages, startBenchAws } from './lib/env.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

const run = promisify(execFile);
const SKOPEO = '/usr/bin/skopeo';
const PYTHON = '/usr/bin/python3';

/** Runs a command under python3 and answers its wall time and the largest RSS of its processes (`RUSAGE_CHILDREN`). */
const MEASURE = [
  'import resource, subprocess, sys, time',
  'start = time.monotonic()',
  'code = subprocess.run(sys.argv[1:]).returncode',
  'elapsed = time.monotonic() - start',
  'print(f"{code} {elapsed} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}")',
].join('\n');

const measured = async (args: readonly string[], home: string): Promise<{ readonly seconds: number; readonly maxRss: number }> => {
  const { stdout } = await run(PYTHON, ['-c', MEASURE, ...args], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_RUNTIME_DIR: home, CONTAINERS_REGISTRIES_CONF: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [code, seconds, maxRss] = (stdout.trim().split('\n').pop() ?? '').split(' ').map(Number);
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${String(code)}`);
  return { seconds: seconds ?? 0, maxRss: maxRss ?? 0 };
};

export const peer: Bench = async (sizes, log) => {
  if (!existsSync(SKOPEO) || !existsSync(PYTHON)) {
    log(`skipped: ${SKOPEO} (or ${PYTHON}) not found; apt-get install --no-install-recommends skopeo`);
    return [];
  }
  const { images, bytes, concurrency } = sizes.peer;
  const env = await startBenchAws();
  const home = mkdtempSync(join(tmpdir(), 'bench-skopeo-'));
  try {
    const target = await createKey(env.kms, 'peer: migrateRepository target');
    const skopeoKey = await createKey(env.kms, 'peer: skopeo target');
    await createRepository(env.ecr, 'src/app');
    const seeded = await seedImages(env.seedEcr, 'src/app', planImages(images, bytes), 7);
    log(`seeded ${images} images, ${(seeded.bytes / MiB).toFixed(0)} MiB in ${seeded.seconds.toFixed(1)} s`);
    // skopeo sync puts src/app under the destination as <destination>/app.
    await createRepository(env.ecr, 'peer/app', skopeoKey);
    await createRepository(env.ecr, 'back/app', skopeoKey);

    const token = (await env.ecr.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
    const creds = Buffer.from(token, 'base64').toString('utf8');
    const host = env.aws.endpoint.replace('http://', '');
    const sync = (from: string, to: string): Promise<{ readonly seconds: number; readonly maxRss: number }> =>
      measured(
        [SKOPEO, '--insecure-policy', 'sync', '--all', '--preserve-digests', '--src', 'docker', '--dest', 'docker',
          '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', creds, '--dest-creds', creds, `${host}/${from}`, `${host}/${to}`],
        home,
      );
    const there = await sync('src/app', 'peer');
    const back = await sync('peer/app', 'back');
    const skopeoSeconds = there.seconds + back.seconds;
    const skopeoRss = Math.max(there.maxRss, back.maxRss);
    const copied = env.aws.inspect.ecr?.repositories(env.aws.region).find((r) => r.repositoryName === 'back/app')?.imageCount ?? 0;
    if (copied !== seeded.images.length) throw new Error(`skopeo left ${copied} images in back/app, not ${seeded.images.length}`);
    log(`skopeo sync there and back: ${skopeoSeconds.toFixed(2)} s, peak RSS ${(skopeoRss / MiB).toFixed(0)} MiB`);

    const { endpoint, region, credentials } = env.aws.clientConfig();
    const lib = await child({
      mode: 'migrate',
      endpoint,
      region,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      repositoryName: 'src/app',
      key: target,
      concurrency,
    });
    if (lib.bytes < 2 * seeded.bytes) throw new Error(`migrateRepository moved ${lib.bytes} bytes, not twice ${seeded.bytes}`);
    const libRss = Math.max(lib.maxRss, lib.sampledPeakRss);
    log(`migrateRepository: ${lib.seconds.toFixed(2)} s, peak RSS ${(libRss / MiB).toFixed(0)} MiB`);

    const ratio = lib.seconds / skopeoSeconds;
    const detail = { images, repositoryBytes: seeded.bytes, bytesMoved: lib.bytes, concurrency, skopeo: { there, back } };
    const figures: Figure[] = [
      {
        id: 'peer.skopeoRatio',
        bench: 'peer',
        label: 'migrateRepository time / skopeo sync --all time (into a KMS repository and back), same repository',
        value: ratio,
        unit: '×',
        target: '≤ 1.0×',
        ratio,
        pass: ratio <= 1,
        detail: { ...detail, librarySeconds: lib.seconds, skopeoSeconds },
      },
      { id: 'peer.libraryPeakRss', bench: 'peer', label: 'peak RSS of the process running migrateRepository', value: libRss / MiB, unit: 'MiB' },
      { id: 'peer.skopeoPeakRss', bench: 'peer', label: 'peak RSS of skopeo sync', value: skopeoRss / MiB, unit: 'MiB' },
    ];
    return figures;
  } finally {
    rmSync(home, { recursive: true, force: true });
    await env.stop();
  }
};
