/**
 * Issue 15 B2: the progress display's renderer on a fake clock: rate, estimate, width,
 * monotonicity; and the migration display (steps, warnings above the bar, one summary line).
 */
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import type { MigrationProgress, MigrationResult, MigrationWarning } from '../../src/index.js';
import { createMigrationDisplay } from '../../src/cli/migration-progress.js';
import type { CliIo } from '../../src/cli/output.js';
import { buildProgram } from '../../src/cli/program.js';
import { ETA_MAX_SECONDS, formatBytes, formatDuration, TransferMeter, transferLine } from '../../src/cli/progress.js';
import { createStatusLine, cutTo, lineWidth, wrapTo } from '../../src/cli/terminal.js';
import { manualClock } from '../../src/testing/index.js';

const MiB = 1024 * 1024;

const terminal = (columns: number | undefined, over: Partial<CliIo> = {}) => {
  const err: string[] = [];
  const out: string[] = [];
  const io: CliIo = {
    out: (t) => out.push(t),
    err: (t) => err.push(`${t}\n`),
    errRaw: (t) => err.push(t),
    stdoutIsTty: true,
    stderrIsTty: true,
    stdinIsTty: true,
    stderrColumns: () => columns,
    env: {},
    ...over,
  };
  return { io, err, out };
};

/** What the terminal shows, frame by frame (between `\r`, `\n` and erase-line). */
const frames = (written: readonly string[]): string[] =>
  written
    .join('')
    // eslint-disable-next-line no-control-regex
    .split(/\r|\n|\x1b\[2K/)
    .filter((f) => f !== '');

describe('TransferMeter (fake clock)', () => {
  it('smooths the rate over about a second and a half: one fast burst does not make it', () => {
    const clock = manualClock();
    const meter = new TransferMeter(clock, 1000 * MiB);
    expect(meter.rate).toBeUndefined();
    // 10 MiB/s steadily for 3 s, in samples of 0.5 s.
    let copied = 0;
    for (let i = 0; i < 6; i++) {
      clock.advance(500);
      copied += 5 * MiB;
      meter.update({ bytesDone: copied, bytesTotal: 1000 * MiB, bytesCopied: copied });
    }
    expect(meter.rate).toBeCloseTo(10 * MiB, -3);
    // One burst of 100 MiB in 0.5 s (200 MiB/s instantly): the smoothed rate rises, far from 200.
    clock.advance(500);
    copied += 100 * MiB;
    meter.update({ bytesDone: copied, bytesTotal: 1000 * MiB, bytesCopied: copied });
    expect(meter.rate ?? 0).toBeGreaterThan(10 * MiB);
    expect(meter.rate ?? 0).toBeLessThan(100 * MiB);
  });

  it('merges samples closer than a quarter second (no rate from a 1 ms gap)', () => {
    const clock = manualClock();
    const meter = new TransferMeter(clock, 100 * MiB);
    clock.advance(1);
    meter.update({ bytesDone: 5 * MiB, bytesTotal: 100 * MiB, bytesCopied: 5 * MiB });
    expect(meter.rate).toBeUndefined();
    clock.advance(299);
    meter.update({ bytesDone: 5 * MiB, bytesTotal: 100 * MiB, bytesCopied: 5 * MiB });
    expect(meter.rate).toBeCloseTo((5 * MiB * 1000) / 300, 0);
  });

  it('gives no estimate before 2 s, nor before 1%; then a sane one, clamped to a day', () => {
    const clock = manualClock();
    const meter = new TransferMeter(clock, 344 * MiB);
    clock.advance(500);
    meter.update({ bytesDone: 100 * MiB, bytesTotal: 344 * MiB, bytesCopied: 100 * MiB });
    expect(meter.rate).toBeGreaterThan(0);
    expect(meter.etaSeconds).toBeUndefined(); // 0.5 s: too early, whatever the rate
    clock.advance(1600);
    meter.update({ bytesDone: 172 * MiB, bytesTotal: 344 * MiB, bytesCopied: 172 * MiB });
    const eta = meter.etaSeconds ?? -1;
    expect(eta).toBeGreaterThan(0);
    expect(eta).toBeLessThan(10); // 172 MiB left at ~50-200 MiB/s, not 1769 s

    // A transfer that has not moved 1% after 2 s gives none either.
    const slow = new TransferMeter(clock, 1000 * MiB);
    clock.advance(3000);
    slow.update({ bytesDone: 5 * MiB, bytesTotal: 1000 * MiB, bytesCopied: 5 * MiB });
    expect(slow.etaSeconds).toBeUndefined();
    // …and a crawling one is clamped to a day.
    const crawl = new TransferMeter(clock, 1e15);
    clock.advance(2500);
    crawl.update({ bytesDone: 1e13, bytesTotal: 1e15, bytesCopied: 1 });
    expect(crawl.etaSeconds).toBe(ETA_MAX_SECONDS);
  });

  it('never draws less than it drew: a blob that starts over gives bytes back, the fill stays', () => {
    const clock = manualClock();
    const meter = new TransferMeter(clock, 100 * MiB);
    clock.advance(500);
    meter.update({ bytesDone: 60 * MiB, bytesTotal: 100 * MiB, bytesCopied: 60 * MiB });
    clock.advance(500);
    meter.update({ bytesDone: 20 * MiB, bytesTotal: 100 * MiB, bytesCopied: 20 * MiB });
    expect(meter.shown).toBe(60 * MiB);
    expect(meter.fraction).toBeCloseTo(0.6);
    expect(meter.rate ?? -1).toBeGreaterThanOrEqual(0);
    // More than the total (a blob larger than its descriptor said) is drawn as full, not beyond.
    meter.update({ bytesDone: 120 * MiB, bytesTotal: 100 * MiB, bytesCopied: 120 * MiB });
    expect(meter.fraction).toBe(1);
  });
});

describe('transferLine and the status line (width)', () => {
  it('fits any width from 20 to 200 columns, dropping the estimate, then the rate, then the bytes', () => {
    const clock = manualClock();
    const meter = new TransferMeter(clock, 344 * MiB);
    clock.advance(2500);
    meter.update({ bytesDone: 180 * MiB, bytesTotal: 344 * MiB, bytesCopied: 180 * MiB });
    const wide = transferLine('4/11 copyToStaging', meter, 120);
    expect(wide).toMatch(/^4\/11 copyToStaging \[#+-+\] {2}52% {2}180\.0\/344\.0 MiB {2}72\.0 MiB\/s {2}ETA 3 s$/);
    for (let width = 19; width <= 200; width++) expect([...transferLine('4/11 copyToStaging', meter, width)].length).toBeLessThanOrEqual(width);
    expect(transferLine('4/11 copyToStaging', meter, 40)).toMatch(/^4\/11 copyToStaging \[#+-*\] {2}52%$/);
  });

  it('measures stderr at each redraw, keeps one column spare, and assumes 80 when it cannot tell', () => {
    expect(lineWidth({ stderrColumns: () => 80 })).toBe(79);
    expect(lineWidth({ stderrColumns: () => undefined })).toBe(79);
    expect(lineWidth({})).toBe(79);
    expect(lineWidth({ stderrColumns: () => 5 })).toBe(20);
    let columns = 100;
    const t = terminal(undefined, { stderrColumns: () => columns });
    const line = createStatusLine(t.io, true);
    line.draw('x'.repeat(300));
    columns = 40;
    line.draw('y'.repeat(300));
    expect(frames(t.err).map((f) => f.length)).toEqual([99, 39]);
  });

  it('prints above the status line: clear, print (wrapped), redraw', () => {
    const t = terminal(30);
    const line = createStatusLine(t.io, true);
    line.draw('bar');
    line.print('warning: freezeWindow: pushes by anyone but the migrating principal are denied');
    expect(t.err.at(-1)).toBe('\r\x1b[2Kwarning: freezeWindow: pushes\n  by anyone but the migrating\n  principal are denied\nbar');
    expect(wrapTo('a '.repeat(40).trim(), 29).every((l) => l.length <= 29)).toBe(true);
    expect(cutTo('abcdef', 4)).toBe('abc…');
  });

  it('formats bytes and durations', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(344 * MiB)).toBe('344.0 MiB');
    expect(formatBytes(3 * 1024 * MiB)).toBe('3.0 GiB');
    expect(formatDuration(1.6)).toBe('1.6 s');
    expect(formatDuration(125)).toBe('2m05s');
    expect(formatDuration(3720)).toBe('1h02m');
  });
});

const event = (over: Partial<MigrationProgress>): MigrationProgress => ({
  migrationId: 'm',
  step: 'freeze',
  stepNumber: 1,
  stepCount: 11,
  status: 'started',
  imagesDone: 0,
  imagesTotal: 8,
  bytesDone: 0,
  bytesTotal: 344 * MiB,
  bytesCopied: 0,
  ratePerSecond: 0,
  etaSeconds: undefined,
  warnings: [],
  ...over,
});

const freezeWindow: MigrationWarning = { code: 'freezeWindow', message: 'while migrating, pushes are denied' };
const result = (warnings: readonly MigrationWarning[]): MigrationResult =>
  ({ changed: true, counts: { images: 8, tags: 3, blobs: 12, bytes: 344 * MiB }, warnings }) as unknown as MigrationResult;

describe('the migration display', () => {
  it('lists each step as it completes, draws one bar per copy that only fills, warns above it, and ends with one summary line', () => {
    const clock = manualClock();
    const t = terminal(80);
    const display = createMigrationDisplay(t.io, true, clock);
    display.onProgress(event({ warnings: [freezeWindow] }));
    clock.advance(100);
    display.onProgress(event({ status: 'done', warnings: [freezeWindow] }));
    const copy = { step: 'copyToStaging', stepNumber: 4 } as const;
    display.onProgress(event({ ...copy }));
    for (const [i, done] of [50, 120, 90, 200, 344].entries()) {
      clock.advance(400);
      display.onProgress(event({ ...copy, status: 'running', bytesDone: done * MiB, bytesCopied: done * MiB, warnings: i === 2 ? [freezeWindow] : [] }));
    }
    display.onProgress(event({ ...copy, status: 'done' }));
    const journalNotCleared: MigrationWarning = { code: 'journalNotCleared', message: 'the finished journal could not be cleared' };
    clock.advance(1000);
    display.end(result([freezeWindow, journalNotCleared]));

    const shown = frames(t.err);
    expect(shown.every((f) => f.length <= 79)).toBe(true);
    const percents = shown.filter((f) => f.startsWith('4/11 copyToStaging [')).map((f) => Number(/(\d+)%/.exec(f)?.[1]));
    // The 90 MiB report after 120 MiB (a blob restarted) leaves the bar where it was; the end redraws it full.
    expect(percents).toEqual([0, 14, 34, 34, 58, 100, 100]);
    expect(shown.filter((f) => f.startsWith('warning: freezeWindow'))).toHaveLength(1);
    expect(shown.filter((f) => f.startsWith('✓ '))).toEqual(['✓ 1/11 freeze (0.1 s)', '✓ 4/11 copyToStaging: 344.0 MiB in 2.0 s, 172.0 MiB/s']);
    // The warning raised at the very end is printed before the summary, never after it.
    expect(shown.slice(-2)).toEqual([
      'warning: journalNotCleared: the finished journal could not be cleared',
      'migrated 8 images, 344.0 MiB, in 3.1 s: copied 344.0 MiB at 172.0 MiB/s',
    ]);
    expect(t.err.join('').endsWith('MiB/s\n')).toBe(true);
    expect(display.shown(freezeWindow) && display.shown(journalNotCleared)).toBe(true);
  });

  it('draws nothing when progress is off; log goes to stderr as a plain line', () => {
    const t = terminal(80, { stderrIsTty: false });
    const display = createMigrationDisplay(t.io, false, manualClock());
    display.onProgress(event({ warnings: [freezeWindow] }));
    display.end(result([freezeWindow]));
    expect(t.err).toEqual([]);
    expect(display.shown(freezeWindow)).toBe(false);
    display.log('stopping');
    expect(t.err).toEqual(['stopping\n']);
  });
});

describe('--no-progress (issue 15 B11)', () => {
  /** Every command (by path) that takes `--no-progress`. */
  const withFlag = (command: Command, path: readonly string[] = []): string[] =>
    command.commands.flatMap((c) => {
      const here = [...path, c.name()];
      return [...(c.options.some((o) => o.long === '--no-progress') ? [here.join(' ')] : []), ...withFlag(c, here)];
    });

  it('is offered only by the commands that draw progress', () => {
    const program = buildProgram(terminal(80).io, '0.0.0', () => undefined);
    expect(withFlag(program).sort()).toEqual(['audit', 'doctor', 'migrate', 'migrate resume', 'migrate start']);
  });
});
