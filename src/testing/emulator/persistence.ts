/**
 * Saving the emulator's state to a data directory: whole-file writes, atomically renamed into place.
 *
 * `state.json` holds every principal's secret access keys: it is written owner-only (0600) in a
 * directory created owner-only (0700), and a file found with a wider mode is narrowed on load and
 * replaced by a 0600 file on every save.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'state.json';
const VERSION = 1;
/** Owner read/write only: the file holds secret access keys. */
const STATE_FILE_MODE = 0o600;
/** Owner only, for the directories the emulator creates. */
export const DATA_DIR_MODE = 0o700;

/** The persisted state, one part per component. */
interface StateFile {
  readonly version: number;
  readonly parts: Readonly<Record<string, unknown>>;
}

/** Whether the emulator's state reaches its data directory, as `aws.inspect.persistence()` shows it. */
export interface PersistenceStatus {
  /** The data directory's `state.json`. */
  readonly file: string;
  /** False while the last save failed: the running emulator's state is newer than the file. */
  readonly ok: boolean;
  /** Saves that failed since the start. */
  readonly failedSaves: number;
  /** The last failure's message, kept after a later save succeeds. */
  readonly lastError?: string;
  readonly lastFailureAt?: Date;
  readonly lastSavedAt?: Date;
}

/**
 * Reads and writes `state.json` under a directory; skips writes when nothing changed.
 *
 * A failed save does not fail the call that caused it ({@link StateStore.save}): the change is
 * applied and answered, the failure is reported once on `report` (stderr by default) and kept in
 * {@link StateStore.status}, and every later call tries the save again (recovery is reported too).
 * Why: the call did succeed in the running emulator, which every client sees; answering 500 for it
 * makes the client retry a change already made (and then fail on "already exists"), and rolling back
 * cannot undo blob files already written. A user of a local emulator wants the run to go on and to
 * be told, once and loudly, that a restart would lose what came after the failure.
 */
export class StateStore {
  readonly #path: string;
  readonly #report: (line: string) => void;
  readonly #now: () => Date;
  #last = '';
  #failing = false;
  #failedSaves = 0;
  #lastError: string | undefined;
  #lastFailureAt: Date | undefined;
  #lastSavedAt: Date | undefined;

  constructor(dir: string, options: { readonly report?: (line: string) => void; readonly now?: () => Date } = {}) {
    this.#path = join(dir, FILE);
    this.#report = options.report ?? ((line) => void process.stderr.write(`${line}\n`));
    this.#now = options.now ?? (() => new Date());
    // The mode applies to the directories created here (an existing directory is the user's and kept).
    mkdirSync(dir, { recursive: true, mode: DATA_DIR_MODE });
  }

  /** The saved parts, or undefined for a fresh directory. */
  load(): Readonly<Record<string, unknown>> | undefined {
    const path = this.#path;
    if (!existsSync(path)) return undefined;
    if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, STATE_FILE_MODE);
    const text = readFileSync(path, 'utf8');
    const parsed = JSON.parse(text) as StateFile;
    if (parsed.version !== VERSION) throw new Error(`${path}: unsupported emulator state version ${parsed.version}`);
    this.#last = text;
    return parsed.parts;
  }

  /**
   * Writes the parts if they changed: a fresh 0600 temporary file renamed over the old one, so a
   * kill never leaves half a file. Throws when the write fails (used at start, where failing is
   * right: nothing has been answered yet).
   */
  saveOrThrow(parts: Readonly<Record<string, unknown>>): void {
    const text = JSON.stringify({ version: VERSION, parts } satisfies StateFile);
    if (text === this.#last) return;
    const temporary = `${this.#path}.${process.pid}.tmp`;
    // A leftover temporary file would keep its old mode: start from none.
    rmSync(temporary, { force: true });
    writeFileSync(temporary, text, { mode: STATE_FILE_MODE, flag: 'wx' });
    renameSync(temporary, this.#path);
    this.#last = text;
    this.#lastSavedAt = this.#now();
  }

  /** Like {@link saveOrThrow}, but a failure is reported and recorded instead of thrown (see the class). */
  save(parts: Readonly<Record<string, unknown>>): void {
    try {
      this.saveOrThrow(parts);
    } catch (error) {
      if (!(error instanceof Error) || !('code' in error)) throw error;
      this.#failedSaves += 1;
      this.#lastError = error.message;
      this.#lastFailureAt = this.#now();
      if (!this.#failing) {
        this.#report(
          `encrypted-ecr local AWS emulator: cannot save its state to ${this.#path} (${error.message}). ` +
            'Calls still succeed in memory, but a restart would lose every change from now on; saving is retried after every call.',
        );
      }
      this.#failing = true;
      return;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#report(`encrypted-ecr local AWS emulator: saving its state to ${this.#path} works again.`);
    }
  }

  /** Whether the last save reached the file, and the last failure. */
  status(): PersistenceStatus {
    return {
      file: this.#path,
      ok: !this.#failing,
      failedSaves: this.#failedSaves,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
      ...(this.#lastFailureAt !== undefined ? { lastFailureAt: this.#lastFailureAt } : {}),
      ...(this.#lastSavedAt !== undefined ? { lastSavedAt: this.#lastSavedAt } : {}),
    };
  }
}
