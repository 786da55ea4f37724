/**
 * Prints a command's value in the format asked for, applies `--query`, and writes `--report-file`.
 */
import { type CliIo, toPlain } from '../output.js';
import { writeFileAtomic } from './file.js';
import type { Query } from './query.js';
import type { ReportContext, View } from './spec.js';
import { genericTable, tableWidth, wrapText } from './table.js';

/** What {@link emit} needs of a run. */
export interface EmitRun {
  readonly io: CliIo;
  /** The format asked for (`--output`, or the default: table on a terminal, json when piped). */
  readonly output: string;
  readonly query?: Query;
  readonly reportFile?: string;
  readonly context: ReportContext;
}

const json = (value: unknown): string => JSON.stringify(value, null, 2);

/** The value in `format`, for stdout (`--query` applied to json and table) or for a file (whole). */
const render = async <T>(run: EmitRun, value: T, view: View<T>, format: string, query: Query | undefined): Promise<string> => {
  const document = (): unknown => toPlain(view.document !== undefined ? view.document(value) : value);
  if (format === 'json') return json(query !== undefined ? query.apply(document()) : document());
  if (format === 'table') return query !== undefined ? genericTable(query.apply(document())) : wrapText(view.table(value), tableWidth());
  const renderer = view.formats?.[format];
  // startRun accepts only the formats the command registered: a missing one is a bug.
  if (renderer === undefined) throw new Error(`no renderer for --output ${format}`);
  return renderer(value, run.context);
};

/**
 * Prints `value`: in `run.output` on stdout; with `--report-file`, that format goes to the file
 * (whole, atomically: `--query` never filters it) and stdout gets the table. Answers the message
 * of a report file that could not be written, else `undefined`.
 */
export const emit = async <T>(run: EmitRun, value: T, view: View<T>): Promise<string | undefined> => {
  if (run.reportFile !== undefined) {
    const text = await render(run, value, view, run.output, undefined);
    const failed = writeFileAtomic(run.reportFile, text.endsWith('\n') ? text : `${text}\n`);
    if (failed !== undefined) return `--report-file: cannot write ${run.reportFile}: ${failed}`;
    run.io.out(await render(run, value, view, 'table', run.query));
    return undefined;
  }
  const text = await render(run, value, view, run.output, run.query);
  run.io.out(text.endsWith('\n') ? text.slice(0, -1) : text);
  return undefined;
};
