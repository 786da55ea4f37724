/**
 * A byte transfer as the terminal shows it: what was drawn never shrinks, the rate is smoothed
 * (an exponential moving average over about 1.5 s, sampled every quarter second or more), and the
 * estimate of what is left waits for 2 s and 1% before it says anything, then stays under a day.
 * Pure: time comes from a {@link Clock}, so tests drive it with a fake one.
 */
import type { Clock } from '../index.js';
import { barOf, cutTo, visibleLength } from './terminal.js';

/** The time constant of the rate's moving average. */
const RATE_TAU_MS = 1500;
/** Samples closer together than this are merged (a 1 ms sample says nothing about a rate). */
const RATE_SAMPLE_MS = 250;
/** No estimate before the transfer has run this long… */
const ETA_AFTER_MS = 2000;
/** …and moved this fraction. */
const ETA_AFTER_FRACTION = 0.01;
/** Longer estimates are shown as `>1d`. */
export const ETA_MAX_SECONDS = 86_400;
/** The narrowest bar worth drawing; parts of the line are left out before the bar gets narrower. */
const MIN_BAR = 10;

/** What a transfer reports: bytes in place (also those found there), of a total, and bytes it moved itself. */
export interface TransferSample {
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** Bytes this transfer uploaded (the rate counts these only); may step back when a blob restarts. */
  readonly bytesCopied: number;
}

/** Rate, estimate and a monotonic fill for one transfer. */
export class TransferMeter {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #startedAt: number;
  #total: number;
  #shown = 0;
  #copied = 0;
  #sampleAt: number;
  #sampleBytes = 0;
  #rate: number | undefined;

  constructor(clock: Pick<Clock, 'now'>, total: number) {
    this.#clock = clock;
    this.#startedAt = clock.now().getTime();
    this.#sampleAt = this.#startedAt;
    this.#total = Math.max(0, total);
  }

  /** Takes a report; what is shown never goes back, whatever the report says. */
  update(sample: TransferSample): void {
    const now = this.#clock.now().getTime();
    if (sample.bytesTotal > this.#total) this.#total = sample.bytesTotal;
    this.#shown = Math.min(this.#total, Math.max(this.#shown, sample.bytesDone));
    this.#copied = Math.max(this.#copied, sample.bytesCopied);
    if (sample.bytesCopied < this.#sampleBytes) {
      // A blob started over and gave its bytes back: measure from here.
      this.#sampleBytes = sample.bytesCopied;
      return;
    }
    const elapsed = now - this.#sampleAt;
    if (elapsed < RATE_SAMPLE_MS) return;
    const instant = ((sample.bytesCopied - this.#sampleBytes) * 1000) / elapsed;
    // Seeded with the first sample (not 0): an average that starts at 0 gives absurd first estimates.
    this.#rate = this.#rate === undefined ? instant : this.#rate + (1 - Math.exp(-elapsed / RATE_TAU_MS)) * (instant - this.#rate);
    this.#sampleAt = now;
    this.#sampleBytes = sample.bytesCopied;
  }

  /** The transfer ended: everything is in place. */
  complete(): void {
    this.#shown = this.#total;
  }

  get total(): number {
    return this.#total;
  }

  /** Bytes drawn as done: the most any report said, never more than the total. */
  get shown(): number {
    return this.#shown;
  }

  /** The fill, 0 to 1 (an empty transfer is full). */
  get fraction(): number {
    return this.#total > 0 ? this.#shown / this.#total : 1;
  }

  /** Bytes this transfer moved itself (the most reported). */
  get copied(): number {
    return this.#copied;
  }

  get elapsedMs(): number {
    return this.#clock.now().getTime() - this.#startedAt;
  }

  /** Bytes a second, smoothed; `undefined` before the first sample. */
  get rate(): number | undefined {
    return this.#rate;
  }

  /** Bytes a second over the whole transfer (what the summary says). */
  get averageRate(): number | undefined {
    const elapsed = this.elapsedMs;
    return elapsed > 0 ? (this.#copied * 1000) / elapsed : undefined;
  }

  /** Seconds left: none before 2 s and 1%, nor without a rate; at most {@link ETA_MAX_SECONDS}. */
  get etaSeconds(): number | undefined {
    if (this.#shown >= this.#total) return 0;
    const rate = this.#rate;
    if (rate === undefined || rate <= 0 || this.elapsedMs < ETA_AFTER_MS || this.fraction < ETA_AFTER_FRACTION) return undefined;
    return Math.min(ETA_MAX_SECONDS, (this.#total - this.#shown) / rate);
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

const unitOf = (bytes: number): number => Math.min(UNITS.length - 1, Math.max(0, Math.floor(Math.log(Math.max(1, bytes)) / Math.log(1024))));

/** `344.0 MiB`, `512 B`. */
export const formatBytes = (bytes: number): string => {
  const unit = unitOf(bytes);
  return unit === 0 ? `${Math.round(bytes)} B` : `${(bytes / 1024 ** unit).toFixed(1)} ${UNITS[unit] ?? 'B'}`;
};

/** `180.0/344.0 MiB`: both in the total's unit. */
const formatBytesOf = (done: number, total: number): string => {
  const unit = unitOf(total);
  if (unit === 0) return `${Math.round(done)}/${Math.round(total)} B`;
  const scale = 1024 ** unit;
  return `${(done / scale).toFixed(1)}/${(total / scale).toFixed(1)} ${UNITS[unit] ?? 'B'}`;
};

/** `1.6 s`, `42 s`, `2m05s`, `1h02m`. */
export const formatDuration = (seconds: number): string => {
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)} s`;
  if (s < 60) return `${Math.round(s)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
};

/** `ETA 2m05s`, `ETA >1d`, or nothing. */
const etaText = (eta: number | undefined): string | undefined =>
  eta === undefined ? undefined : eta >= ETA_MAX_SECONDS ? 'ETA >1d' : `ETA ${eta < 10 ? `${Math.ceil(eta)} s` : formatDuration(eta)}`;

/**
 * One line for a transfer, at most `width` columns:
 * `label [#####-----]  52%  180.0/344.0 MiB  215.0 MiB/s  ETA 1 s`. When it does not fit, the
 * estimate goes first, then the rate, then the byte counts, before the bar gets narrower than 10.
 */
export const transferLine = (label: string, meter: TransferMeter, width: number): string => {
  const percent = `${String(Math.floor(meter.fraction * 100)).padStart(3)}%`;
  const rate = meter.rate;
  const optional = [
    formatBytesOf(meter.shown, meter.total),
    rate === undefined ? undefined : `${formatBytes(rate)}/s`,
    etaText(meter.etaSeconds),
  ].filter((part): part is string => part !== undefined);
  for (let kept = optional.length; kept >= 0; kept--) {
    const tail = [percent, ...optional.slice(0, kept)].join('  ');
    const room = width - visibleLength(label) - visibleLength(tail) - 4;
    if (room >= MIN_BAR || kept === 0) return cutTo(`${label} ${barOf(meter.fraction, Math.max(MIN_BAR, room))} ${tail}`, width);
  }
  return cutTo(label, width);
};
