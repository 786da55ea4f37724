/**
 * The terminal side of the CLI: one status line on stderr (only on a terminal, never under `CI`),
 * redrawn in place and cut to the terminal's width, with permanent lines printed above it; and
 * the confirmation destructive commands ask for (or `--yes` off a terminal).
 */
import { createInterface } from 'node:readline';
import type { CliFailure, CliIo } from './output.js';

/** Clears the terminal line the cursor is on and returns to its start. */
const CLEAR_LINE = '\r\x1b[2K';

/** The width assumed when the terminal does not say (as `tput cols` without a terminal). */
const DEFAULT_COLUMNS = 80;
/** Narrower than this, a line is cut anyway: nothing useful fits. */
const MIN_WIDTH = 20;

/**
 * How many columns a line may use: one less than the terminal's (a line exactly as wide as the
 * terminal leaves the cursor at the wrap point, and some terminals wrap there: the next `\r`
 * would then redraw one line down, leaving a trail).
 */
export const lineWidth = (io: Pick<CliIo, 'stderrColumns'>): number => {
  const columns = io.stderrColumns?.();
  return Math.max(MIN_WIDTH, (columns !== undefined && Number.isFinite(columns) && columns > 0 ? Math.floor(columns) : DEFAULT_COLUMNS) - 1);
};

// Terminal escape sequences and control characters are what this matches: they take no column.
// eslint-disable-next-line no-control-regex
const INVISIBLE = /\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x1f\x7f]/g;

/** Columns a string takes: one per code point, escape sequences and control characters none (the CLI writes no wide characters). */
export const visibleLength = (text: string): number => [...text.replace(INVISIBLE, '')].length;

/** `text` in at most `width` columns: cut with `…` when longer. */
export const cutTo = (text: string, width: number): string => {
  const points = [...text];
  if (points.length <= width) return text;
  return width <= 0 ? '' : `${points.slice(0, width - 1).join('')}…`;
};

/** `text` as lines of at most `width` columns, broken at spaces; continuation lines indented by two. */
export const wrapTo = (text: string, width: number): string[] => {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(' ')) {
      const candidate = line === '' ? word : `${line} ${word}`;
      if (visibleLength(candidate) <= width || line.trim() === '') {
        line = candidate;
        continue;
      }
      lines.push(line);
      line = `  ${word}`;
    }
    lines.push(line);
  }
  // A single word wider than the line is cut rather than left to wrap.
  return lines.map((l) => cutTo(l, width));
};

/**
 * One line at the bottom of stderr, redrawn in place with `\r\x1b[2K`, never wider than the
 * terminal less one column; permanent lines go above it (clear, print, redraw).
 */
export interface StatusLine {
  /** Redraws the status line with `text`, cut to the width. */
  draw(text: string): void;
  /** Prints `text` above the status line, wrapped to the width, then redraws the status line. */
  print(text: string): void;
  /** Clears the status line (what was printed above stays). */
  clear(): void;
  /** The columns a line may use now. */
  width(): number;
}

/** The status line of a run: writes to stderr when `enabled`, else nothing at all. */
export const createStatusLine = (io: CliIo, enabled: boolean): StatusLine => {
  if (!enabled) return { draw: () => undefined, print: () => undefined, clear: () => undefined, width: () => lineWidth(io) };
  let current: string | undefined;
  const width = (): number => lineWidth(io);
  return {
    width,
    draw: (text) => {
      current = cutTo(text, width());
      io.errRaw(`${CLEAR_LINE}${current}`);
    },
    print: (text) => {
      const lines = wrapTo(text, width());
      io.errRaw(`${CLEAR_LINE}${lines.join('\n')}\n${current === undefined ? '' : cutTo(current, width())}`);
    },
    clear: () => {
      if (current !== undefined) io.errRaw(CLEAR_LINE);
      current = undefined;
    },
  };
};

/** A progress bar; every method is a no-op when progress is off. */
export interface Progress {
  /** Whether anything is drawn (stderr is a terminal, no `CI`, no `--no-progress`). */
  readonly enabled: boolean;
  /** Shows `completed` of `total` (an unknown total shows a counter) after `label`. */
  update(label: string, completed: number, total: number | undefined): void;
  /** Prints a line above the bar (or nothing when progress is off). */
  log(text: string): void;
  /** Clears the bar. */
  done(): void;
}

const WIDTH = 24;

/** Whether to draw progress: stderr is a terminal, `CI` is unset, and `--no-progress` was not given. */
export const progressEnabled = (io: Pick<CliIo, 'stderrIsTty' | 'env'>, wanted: boolean): boolean =>
  wanted && io.stderrIsTty && (io.env.CI === undefined || io.env.CI === '' || io.env.CI === 'false');

/** `[` filled `#`, empty `-` `]`, `width` columns inside the brackets. */
export const barOf = (ratio: number, width: number): string => {
  const inside = Math.max(0, width);
  const filled = Math.round(Math.min(1, Math.max(0, ratio)) * inside);
  return `[${'#'.repeat(filled)}${'-'.repeat(inside - filled)}]`;
};

/** The bar's text, e.g. `[##########--------------]  5/12 describing keys`. */
export const progressLine = (label: string, completed: number, total: number | undefined): string => {
  if (total === undefined || total <= 0) return `${label}… ${completed}`;
  return `${barOf(completed / total, WIDTH)} ${String(completed).padStart(String(total).length)}/${total} ${label}`;
};

/** A bar drawn on stderr with carriage returns, cut to the terminal's width, or nothing. */
export const createProgress = (io: CliIo, enabled: boolean): Progress => {
  const line = createStatusLine(io, enabled);
  return {
    enabled,
    update: (label, completed, total) => line.draw(progressLine(label, completed, total)),
    log: (text) => line.print(text),
    done: () => line.clear(),
  };
};

/**
 * Asks `question` on the terminal; `--yes` answers it. Off a terminal without `--yes` the answer is
 * `ConfirmationRequired` (exit 2), so a script never hangs on a prompt nor deletes unasked. An
 * answer other than y/yes, or Ctrl-D, is `Declined` (exit 10: nothing was done); Ctrl-C is
 * `Interrupted` (exit 130). Either way the cursor first moves off the prompt's line, so the error
 * line starts a line of its own.
 */
export const confirm = async (io: CliIo, question: string, yes: boolean): Promise<true | CliFailure> => {
  if (yes) return true;
  if (!io.stdinIsTty || !io.stderrIsTty) {
    return { kind: 'ConfirmationRequired', message: `${question.replace(/\?$/, '')}: not confirmed; off a terminal, pass --yes` };
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    // Ctrl-C at the prompt reaches readline (raw mode), not the process: it is an interruption.
    // Ctrl-D closes the input without an answer: a no (without it the process would end, exit 0).
    const answer = await new Promise<{ readonly text: string } | 'interrupted' | 'closed'>((resolve) => {
      rl.once('SIGINT', () => resolve('interrupted'));
      rl.once('close', () => resolve('closed'));
      rl.question(`${question} [y/N] `, (text) => resolve({ text }));
    });
    if (typeof answer === 'string') io.errRaw('\n');
    if (answer === 'interrupted') return { kind: 'Interrupted', message: 'interrupted at the confirmation prompt (Ctrl-C): nothing was done' };
    if (typeof answer !== 'string' && /^y(es)?$/i.test(answer.text.trim())) return true;
    return { kind: 'Declined', message: `${question.replace(/\?$/, '')}: declined, nothing was done` };
  } finally {
    rl.close();
  }
};
