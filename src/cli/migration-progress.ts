/**
 * What `migrate` shows on a terminal while it runs: each step on its own line as it completes,
 * each warning once as it arises, and below them one status line: a byte bar during the two
 * copies (each its own bar, which only fills), the step's name otherwise. At the end, one summary
 * line with the byte total and the rate. Nothing at all when progress is off.
 */
import type { Clock, MigrationProgress, MigrationResult, MigrationWarning } from '../index.js';
import type { CliIo } from './output.js';
import { formatBytes, formatDuration, TransferMeter, transferLine } from './progress.js';
import { createStatusLine } from './terminal.js';

/** Redraws closer together than this are skipped (a step's start and end are always drawn). */
const REDRAW_MS = 50;

const systemNow: Pick<Clock, 'now'> = { now: () => new Date() };

/** The migration's display. */
export interface MigrationDisplay {
  /** The library's `onProgress`. */
  readonly onProgress: (progress: MigrationProgress) => void;
  /** Prints a line above the status line (on stderr as a plain line when progress is off). */
  log(text: string): void;
  /** The migration finished: the warnings not shown yet, then the summary line. */
  end(result: MigrationResult): void;
  /** The migration stopped: clears the status line (the steps done stay listed). */
  stop(): void;
  /** Whether this warning was printed while the migration ran (a result table need not repeat it). */
  readonly shown: (warning: MigrationWarning) => boolean;
}

const isCopy = (step: MigrationProgress['step']): boolean => step === 'copyToStaging' || step === 'copyBack';
const warningKey = (w: MigrationWarning): string => `${w.code}\u0000${w.message}`;
const warningLine = (w: MigrationWarning): string => `warning: ${w.code}: ${w.message}`;
const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The line of a completed step, e.g. `✓ 4/11 copyToStaging: 344.0 MiB in 1.6 s, 215.0 MiB/s`. */
const stepLine = (p: MigrationProgress, seconds: number, meter: TransferMeter | undefined): string => {
  const head = `✓ ${p.stepNumber}/${p.stepCount} ${p.step}`;
  if (meter === undefined) return `${head} (${formatDuration(seconds)})`;
  if (meter.copied === 0) return `${head}: ${formatBytes(meter.total)} already there (${formatDuration(seconds)})`;
  const rate = meter.averageRate;
  return `${head}: ${formatBytes(meter.copied)} in ${formatDuration(seconds)}${rate === undefined ? '' : `, ${formatBytes(rate)}/s`}`;
};

/**
 * The display of one migration on stderr; `enabled` as `progressEnabled` decides. `clock` is
 * for tests.
 */
export const createMigrationDisplay = (io: CliIo, enabled: boolean, clock: Pick<Clock, 'now'> = systemNow): MigrationDisplay => {
  const line = createStatusLine(io, enabled);
  const shown = new Set<string>();
  const startedAt = clock.now().getTime();
  let stepStartedAt = startedAt;
  let meter: TransferMeter | undefined;
  let lastDraw = Number.NEGATIVE_INFINITY;
  /** Bytes the copies moved, and the time they took, for the summary. */
  let copiedBytes = 0;
  let copyMs = 0;

  const warn = (warnings: readonly MigrationWarning[]): void => {
    for (const w of warnings) {
      if (shown.has(warningKey(w))) continue;
      shown.add(warningKey(w));
      line.print(warningLine(w));
    }
  };
  const label = (p: MigrationProgress): string => `${p.stepNumber}/${p.stepCount} ${p.step}`;
  const draw = (p: MigrationProgress, force: boolean): void => {
    const now = clock.now().getTime();
    if (!force && now - lastDraw < REDRAW_MS) return;
    lastDraw = now;
    line.draw(meter === undefined ? `${label(p)}…` : transferLine(label(p), meter, line.width()));
  };

  const onProgress = (p: MigrationProgress): void => {
    if (!enabled) return;
    warn(p.warnings);
    if (p.status === 'started') {
      stepStartedAt = clock.now().getTime();
      meter = isCopy(p.step) ? new TransferMeter(clock, p.bytesTotal) : undefined;
      draw(p, true);
    } else if (p.status === 'running') {
      meter?.update(p);
      draw(p, false);
    } else {
      meter?.complete();
      const seconds = (clock.now().getTime() - stepStartedAt) / 1000;
      if (meter !== undefined) {
        draw(p, true);
        copiedBytes += meter.copied;
        copyMs += meter.elapsedMs;
      }
      line.clear();
      line.print(stepLine(p, seconds, meter));
      meter = undefined;
    }
  };

  return {
    onProgress,
    log: (text) => (enabled ? line.print(text) : io.err(text)),
    end: (result) => {
      if (!enabled) return;
      line.clear();
      warn(result.warnings);
      if (!result.changed) return;
      const seconds = (clock.now().getTime() - startedAt) / 1000;
      const { images, bytes } = result.counts;
      const head = `migrated ${plural(images, 'image')}, ${formatBytes(bytes)}, in ${formatDuration(seconds)}`;
      line.print(
        copiedBytes > 0 && copyMs > 0
          ? `${head}: copied ${formatBytes(copiedBytes)} at ${formatBytes((copiedBytes * 1000) / copyMs)}/s`
          : `${head} (nothing left to copy)`,
      );
    },
    stop: () => line.clear(),
    shown: (w) => enabled && shown.has(warningKey(w)),
  };
};
