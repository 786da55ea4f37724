/**
 * Tables cut to the terminal (issue 15, B9): every line of a table fits `width` columns. A prose
 * column (REASON, MESSAGE, …) wraps at word boundaries within its cell; any other column too wide
 * is shortened in the middle with `…`. Long ids are shortened before they reach a table
 * ({@link shortKeyArn}, {@link shortGrantId}); JSON keeps them whole.
 */

/** Columns whose text wraps at word boundaries within the cell instead of being shortened. */
const PROSE_COLUMNS: ReadonlySet<string> = new Set(['REASON', 'MESSAGE', 'DETAIL', 'OUTCOME', 'DESCRIPTION', 'NEXT']);

/** Two spaces between columns. */
const GAP = 2;

/** The narrowest any column gets (its header may be longer: it is shortened too). */
const MIN_COLUMN = 6;

/** The width tables are cut to when nothing says otherwise: 120, as for output that is not a terminal. */
const DEFAULT_WIDTH = 120;

let currentWidth: number = DEFAULT_WIDTH;

/** Sets the width every table is cut to from now on (the CLI sets it once per command, from the terminal). */
export const setTableWidth = (width: number): void => {
  currentWidth = Math.max(20, Math.floor(width));
};

/** The width tables are cut to. */
export const tableWidth = (): number => currentWidth;

/**
 * The width of stdout: the terminal's columns when stdout is a terminal; else `COLUMNS` when it is
 * a positive whole number; else 120.
 */
export const terminalWidth = (io: {
  readonly stdoutIsTty: boolean;
  readonly columns?: number | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}): number => {
  if (io.stdoutIsTty && io.columns !== undefined && io.columns > 0) return io.columns;
  const env = io.env.COLUMNS?.trim();
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  return DEFAULT_WIDTH;
};

/** `value` shortened to `width` characters with `…` in the middle (start and end kept). */
export const shortenMiddle = (value: string, width: number): string => {
  const chars = [...value];
  if (chars.length <= width) return value;
  if (width <= 1) return '…'.slice(0, width);
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(chars.length - tail).join('') : ''}`;
};

/** `text` in lines of at most `width` characters, broken at spaces; a word longer than `width` is split. */
export const wrapWords = (text: string, width: number): string[] => {
  const lines: string[] = [];
  for (const paragraph of text.split('\n')) {
    let line = '';
    for (const word of paragraph.split(/ +/).filter((w) => w !== '')) {
      let rest = [...word];
      const candidate = line === '' ? rest.join('') : `${line} ${rest.join('')}`;
      if ([...candidate].length <= width) {
        line = candidate;
        continue;
      }
      if (line !== '') lines.push(line);
      line = '';
      while (rest.length > width) {
        // Break after a hyphen when there is one within the width, else at the width.
        const hyphen = rest.slice(0, width).lastIndexOf('-');
        const cut = hyphen > 0 ? hyphen + 1 : width;
        lines.push(rest.slice(0, cut).join(''));
        rest = rest.slice(cut);
      }
      line = rest.join('');
    }
    lines.push(line);
  }
  return lines;
};

/**
 * A KMS key ARN as a table shows it: `arn:…:key/1234abcd…` (the first 8 characters of the key id).
 * Anything that is not a key ARN is returned as is.
 *
 * @example
 * ```ts
 * shortKeyArn('arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'); // 'arn:…:key/1234abcd…'
 * ```
 */
export const shortKeyArn = (arn: string | undefined): string => {
  if (arn === undefined) return '';
  const match = /^arn:[^:]+:kms:[^:]*:[^:]*:key\/(.+)$/.exec(arn);
  if (match === null) return arn;
  const id = match[1] ?? '';
  return `arn:…:key/${id.length > 8 ? `${id.slice(0, 8)}…` : id}`;
};

/**
 * A grant id as a table shows it: its first 12 characters and `…` (grant ids are 64 hex digits).
 *
 * @example
 * ```ts
 * shortGrantId('0c7d9f0e1a2b3c4d5e6f…'); // '0c7d9f0e1a2b…'
 * ```
 */
export const shortGrantId = (grantId: string): string => (grantId.length > 13 ? `${grantId.slice(0, 12)}…` : grantId);

/** Columns of shortened ids (`arn:…:key/1234abcd…`, `0c7d9f0e1a2b…`): shortened further only as a last resort. */
const ID_COLUMNS: ReadonlySet<string> = new Set(['KEY', 'GRANT']);

/** A prose column narrower than this moves below its row instead. */
const MIN_PROSE_IN_ROW = 20;

/** A column of values longer than this is cut to it before any other column is touched. */
const LONG_VALUE = 20;

const length = (text: string): number => [...text].length;

/**
 * The column widths, narrowed until the row fits `width`: prose columns to 20; values longer
 * than 20 to 20; other columns (not ids) to their header or 8; then ids and headers too.
 */
const fitWidths = (headers: readonly string[], rows: readonly (readonly string[])[], width: number): number[] => {
  const widths = headers.map((h, i) => Math.max(length(h), ...rows.map((r) => Math.max(0, ...(r[i] ?? '').split('\n').map(length)))));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP * Math.max(0, widths.length - 1);
  const shrink = (candidates: readonly number[], floor: (i: number) => number): void => {
    while (total() > width) {
      let widest = -1;
      for (const i of candidates) if ((widths[i] ?? 0) > floor(i) && (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0))) widest = i;
      if (widest < 0) return;
      widths[widest] = (widths[widest] ?? 0) - 1;
    }
  };
  const header = (i: number): number => length(headers[i] ?? '');
  const all = headers.map((_, i) => i);
  const prose = all.filter((i) => PROSE_COLUMNS.has(headers[i] ?? ''));
  const plain = all.filter((i) => !PROSE_COLUMNS.has(headers[i] ?? ''));
  const notIds = plain.filter((i) => !ID_COLUMNS.has(headers[i] ?? ''));
  shrink(prose, () => MIN_PROSE_IN_ROW);
  shrink(plain, (i) => Math.max(header(i), LONG_VALUE));
  shrink(notIds, (i) => Math.max(header(i), 8));
  shrink(notIds, () => MIN_COLUMN);
  shrink(all, () => MIN_COLUMN);
  shrink(all, () => 1);
  return widths;
};

/**
 * A plain-text table: a header, a rule, and left-aligned columns, cut to `width` (default: the
 * terminal's, see {@link setTableWidth}). No line is longer than `width`. A prose column (REASON,
 * MESSAGE, …) wraps at word boundaries in its cell; when the other columns leave it less than 20
 * characters, it moves below each row, indented, wrapped to the full width.
 *
 * @example
 * ```ts
 * io.out(renderTable(['NAME', 'REASON'], [['app', 'the key is disabled']], 80));
 * ```
 */
export const renderTable = (headers: readonly string[], rows: readonly (readonly string[])[], width: number = currentWidth): string => {
  const prose = headers.flatMap((h, i) => (PROSE_COLUMNS.has(h) ? [i] : []));
  const inRow = fitWidths(headers, rows, width);
  if (prose.length === 0 || prose.every((i) => (inRow[i] ?? 0) >= Math.min(MIN_PROSE_IN_ROW, naturalWidth(headers, rows, i)))) {
    return layout(headers, rows, inRow, width, []);
  }
  const kept = headers.flatMap((_, i) => (prose.includes(i) ? [] : [i]));
  const pick = (cells: readonly string[]): string[] => kept.map((i) => cells[i] ?? '');
  const below = rows.map((r) => prose.map((i) => r[i] ?? '').filter((t) => t !== '').join('; '));
  return layout(pick(headers), rows.map(pick), fitWidths(pick(headers), rows.map(pick), width), width, below);
};

const naturalWidth = (headers: readonly string[], rows: readonly (readonly string[])[], i: number): number =>
  Math.max(length(headers[i] ?? ''), ...rows.map((r) => Math.max(0, ...(r[i] ?? '').split('\n').map(length))));

/** Lines of the table; `below[row]` is prose printed under that row, indented by four spaces. */
const layout = (headers: readonly string[], rows: readonly (readonly string[])[], widths: readonly number[], width: number, below: readonly string[]): string => {
  const physical = (cells: readonly string[], wrap: boolean): string[] => {
    const columns = cells.map((c, i) => {
      const w = widths[i] ?? 0;
      return wrap && PROSE_COLUMNS.has(headers[i] ?? '') ? wrapWords(c, w) : c.split('\n').map((l) => shortenMiddle(l, w));
    });
    const height = Math.max(1, ...columns.map((c) => c.length));
    const lines: string[] = [];
    for (let row = 0; row < height; row++) {
      const line = columns
        .map((c, i) => {
          const text = c[row] ?? '';
          return i === columns.length - 1 ? text : text + ' '.repeat(Math.max(0, (widths[i] ?? 0) - length(text)));
        })
        .join(' '.repeat(GAP))
        .trimEnd();
      lines.push(shortenEnd(line, width));
    }
    return lines;
  };
  return [
    ...physical(headers, false),
    ...physical(
      widths.map((w) => '-'.repeat(w)),
      false,
    ),
    ...rows.flatMap((r, i) => [...physical(r, true), ...(below[i] ? wrapWords(below[i], width - 4).map((l) => `    ${l}`) : [])]),
  ].join('\n');
};

/** The last resort when not even the narrowest columns fit: the line is cut at `width`. */
const shortenEnd = (line: string, width: number): string => {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
};

/**
 * Text cut to `width`: each line longer than `width` wraps at word boundaries, its continuation
 * lines indented by two spaces. Lines that fit (tables) are left as they are.
 */
export const wrapText = (text: string, width: number = currentWidth): string =>
  text
    .split('\n')
    .flatMap((line) => {
      if ([...line].length <= width) return [line];
      const indent = /^ */.exec(line)?.[0] ?? '';
      const [first = '', ...rest] = wrapWords(line.trimStart(), width - indent.length);
      const more = rest.join(' ');
      return [`${indent}${first}`, ...(more === '' ? [] : wrapWords(more, width - indent.length - 2).map((l) => `${indent}  ${l}`))];
    })
    .join('\n');

const scalar = (value: unknown): string => {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value) ?? '';
};

/**
 * Any JSON value as a table, as the AWS CLI's `--output table` shows the result of a `--query`: a
 * list of objects as rows under their keys, a list of lists as rows, a list of scalars as one
 * column, an object as KEY/VALUE rows, a scalar as itself. Nested values are shown as JSON.
 */
export const genericTable = (value: unknown, width: number = currentWidth): string => {
  if (Array.isArray(value)) {
    if (value.length === 0) return '(no results)';
    if (value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v))) {
      const keys = [...new Set(value.flatMap((v) => Object.keys(v as object)))];
      return renderTable(
        keys.map((k) => k.toUpperCase()),
        value.map((v) => keys.map((k) => scalar((v as Record<string, unknown>)[k]))),
        width,
      );
    }
    if (value.every((v) => Array.isArray(v))) {
      const columns = Math.max(...value.map((v) => (v as unknown[]).length));
      return renderTable(
        Array.from({ length: columns }, (_, i) => `#${i + 1}`),
        value.map((v) => Array.from({ length: columns }, (_, i) => scalar((v as unknown[])[i]))),
        width,
      );
    }
    return renderTable(['VALUE'], value.map((v) => [scalar(v)]), width);
  }
  if (value !== null && typeof value === 'object') {
    return renderTable(['KEY', 'VALUE'], Object.entries(value).map(([k, v]) => [k, scalar(v)]), width);
  }
  return wrapText(scalar(value), width);
};
