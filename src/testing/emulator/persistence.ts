/** Saving the emulator's state to a data directory: whole-file writes, atomically renamed into place. */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FILE = 'state.json';
const VERSION = 1;

/** The persisted state, one part per component. */
export interface StateFile {
  readonly version: number;
  readonly parts: Readonly<Record<string, unknown>>;
}

/** Reads and writes `state.json` under a directory; skips writes when nothing changed. */
export class StateStore {
  readonly #dir: string;
  #last = '';

  constructor(dir: string) {
    this.#dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** The saved parts, or undefined for a fresh directory. */
  load(): Readonly<Record<string, unknown>> | undefined {
    const path = join(this.#dir, FILE);
    if (!existsSync(path)) return undefined;
    const text = readFileSync(path, 'utf8');
    const parsed = JSON.parse(text) as StateFile;
    if (parsed.version !== VERSION) throw new Error(`${path}: unsupported emulator state version ${parsed.version}`);
    this.#last = text;
    return parsed.parts;
  }

  /** Writes the parts if they changed: a temporary file renamed over the old one, so a kill never leaves half a file. */
  save(parts: Readonly<Record<string, unknown>>): void {
    const text = JSON.stringify({ version: VERSION, parts } satisfies StateFile);
    if (text === this.#last) return;
    const path = join(this.#dir, FILE);
    const temporary = `${path}.${process.pid}.tmp`;
    writeFileSync(temporary, text);
    renameSync(temporary, path);
    this.#last = text;
  }
}
