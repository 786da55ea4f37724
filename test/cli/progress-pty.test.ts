/**
 * Issue 15 B2, its Done-when: the BUILT CLI in a pseudo-terminal of 80 columns (util-linux
 * `script`), migrating a repository with a 200 MiB layer on the emulator. stdout goes to a file
 * (JSON), so the pty carries stderr only: the progress display. Parsed frame by frame (a frame is
 * what lies between `\r`, `\n` and `\x1b[2K`): every frame fits in 80 columns, each bar only
 * fills, and the last line has the byte total and a rate.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushImage, randomBytes, startLocalAws, streamedBlob, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, CLI, emulatorEnv } from './helpers.js';

const MiB = 1024 * 1024;
const COLUMNS = 80;
const hasScript = spawnSync('script', ['--version']).status === 0;

let aws: LocalAws;
const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-pty-'));

beforeAll(async () => {
  assertBuilt();
  // 600 MiB go through the emulator's blob files (seeded, then copied twice): in memory when the machine has /dev/shm.
  const tmp = process.env.TMPDIR;
  if (existsSync('/dev/shm')) process.env.TMPDIR = '/dev/shm';
  try {
    aws = await startLocalAws({ regions: ['eu-west-1'] });
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const key = (await kms.send(new CreateKeyCommand({ Description: 'pty target' }))).KeyMetadata?.Arn ?? '';
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/pty', TargetKeyId: key }));
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'pty/big' }));
  await pushImage(ecr, 'pty/big', { layers: [streamedBlob(200 * MiB, 1)], tags: ['big'] });
  await pushImage(ecr, 'pty/big', { layers: [randomBytes(64 * 1024, 2)], tags: ['small'] });
  ecr.destroy();
  kms.destroy();
}, 300_000);
afterAll(async () => {
  await aws.stop();
});

const quote = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;

/** Runs the CLI in a pty of `columns` columns; answers what the terminal received and the exit code. */
const inPty = (args: readonly string[], stdoutFile: string, env: Record<string, string>): Promise<{ code: number; screen: string }> =>
  new Promise((resolve, reject) => {
    const command = `stty cols ${COLUMNS} rows 24; exec ${[process.execPath, CLI, ...args].map(quote).join(' ')} > ${quote(stdoutFile)}`;
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, screen: Buffer.concat(chunks).toString('utf8') }));
  });

/** The frames: what lies between carriage returns, line feeds and erase-line sequences, without other escapes. */
const framesOf = (screen: string): string[] =>
  screen
    // eslint-disable-next-line no-control-regex
    .split(/\r|\n|\x1b\[2K/)
    // eslint-disable-next-line no-control-regex
    .map((frame) => frame.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''))
    .filter((frame) => frame !== '');

describe.runIf(hasScript)('migrate in a pseudo-terminal of 80 columns (issue 15, Done-when)', () => {
  it('draws byte bars that fit, only fill, list the steps, print warnings above the bar, and end with the total and the rate', async () => {
    const out = join(dir, 'result.json');
    const { code, screen } = await inPty(
      ['migrate', 'pty/big', '--kms-key', 'alias/pty', '--yes', '--journal', join(dir, 'journal.json'), ...at(aws)],
      out,
      { ...emulatorEnv(aws), TERM: 'xterm' },
    );
    expect(code, screen).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ changed: true, counts: { images: 2 } });

    const frames = framesOf(screen);
    // Every frame fits: never wider than the terminal (the display keeps one column spare).
    for (const frame of frames) expect([...frame].length, frame).toBeLessThanOrEqual(COLUMNS - 1);

    // Each copy has its own bar, drawn several times as the 200 MiB move, and it never empties.
    const bars = new Map<string, number[]>();
    for (const frame of frames) {
      const bar = /^\d+\/11 (\w+) \[([#-]+)\]\s+(\d+)%/.exec(frame);
      if (bar === null) continue;
      const [, step = '', fill = '', percent = ''] = bar;
      const fraction = fill.split('').filter((c) => c === '#').length / fill.length;
      expect(Number(percent) / 100).toBeLessThanOrEqual(fraction + 0.1);
      bars.set(step, [...(bars.get(step) ?? []), Number(percent)]);
    }
    expect([...bars.keys()]).toEqual(['copyToStaging', 'copyBack']);
    for (const [step, percents] of bars) {
      for (let i = 1; i < percents.length; i++) expect(percents[i], `${step}: ${percents.join(',')}`).toBeGreaterThanOrEqual(percents[i - 1] ?? 0);
      // Bytes, not images: values between 0 and 100 show up while the one big layer moves.
      expect(percents.filter((p) => p > 0 && p < 100).length, `${step}: ${percents.join(',')}`).toBeGreaterThanOrEqual(2);
      expect(percents.at(-1)).toBe(100);
    }

    // The steps as they complete, in order, one line each.
    const steps = frames.filter((f) => f.startsWith('✓ ')).map((f) => /^✓ \d+\/11 (\w+)/.exec(f)?.[1]);
    expect(steps).toEqual(['freeze', 'snapshot', 'createStaging', 'copyToStaging', 'verifyStaging', 'deleteOriginal', 'recreate', 'copyBack', 'verifyFinal', 'restoreSettings', 'deleteStaging']);

    // Warnings come before the end, never after it; the last line has the byte total and a rate.
    const last = frames.at(-1) ?? '';
    expect(last).toMatch(/^migrated 2 images, 200\.\d MiB, in [\dhms. ]+: copied 400\.\d MiB at [\d.]+ [KMG]iB\/s$/);
    const freeze = frames.findIndex((f) => f.startsWith('warning: freezeWindow'));
    expect(freeze).toBeGreaterThanOrEqual(0);
    expect(freeze).toBeLessThan(frames.indexOf(last));
    expect(frames.findIndex((f) => f.startsWith('✓ 1/11 freeze'))).toBeGreaterThan(freeze);
  }, 300_000);
});
