/**
 * The terminal side of the CLI: a progress bar on stderr (only on a terminal, never under `CI`),
 * and the confirmation destructive commands ask for (or `--yes` off a terminal).
 */
import { createInterface } from 'node:readline';
import type { CliFailure, CliIo } from './output.js';

/** A progress bar; every method is a no-op when progress is off. */
export interface Progress {
  /** Shows `completed` of `total` (an unknown total shows a counter) after `label`. */
  update(label: string, completed: number, total: number | undefined): void;
  /** Clears the bar. */
  done(): void;
}

const WIDTH = 24;

/** Whether to draw progress: stderr is a terminal, `CI` is unset, and `--no-progress` was not given. */
export const progressEnabled = (io: Pick<CliIo, 'stderrIsTty' | 'env'>, wanted: boolean): boolean =>
  wanted && io.stderrIsTty && (io.env.CI === undefined || io.env.CI === '' || io.env.CI === 'false');

/** The bar's text, e.g. `[##########--------------]  5/12 describing keys`. */
export const progressLine = (label: string, completed: number, total: number | undefined): string => {
  if (total === undefined || total <= 0) return `${label}… ${completed}`;
  const ratio = Math.min(1, Math.max(0, completed / total));
  const filled = Math.round(ratio * WIDTH);
  return `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}] ${String(completed).padStart(String(total).length)}/${total} ${label}`;
};

/** A bar drawn on stderr with carriage returns, or nothing. */
export const createProgress = (io: CliIo, enabled: boolean): Progress => {
  if (!enabled) return { update: () => undefined, done: () => undefined };
  let shown = false;
  return {
    update: (label, completed, total) => {
      io.errRaw(`\r\x1b[2K${progressLine(label, completed, total)}`);
      shown = true;
    },
    done: () => {
      if (shown) io.errRaw('\r\x1b[2K');
      shown = false;
    },
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
