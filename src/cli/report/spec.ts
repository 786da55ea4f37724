/**
 * The output layer's table of formats: every command prints `json` and `table`; a report command
 * adds its own (`sarif`, `junit`, `csv`, …). A renderer may be async, so a format that a library
 * function renders (loaded lazily, e.g. an ASFF formatter) takes its place in the same table.
 */

/** What a renderer may need besides the value. */
export interface ReportContext {
  /** The CLI's version (SARIF's `tool.driver.semanticVersion`). */
  readonly version: string;
  /** When the report was made (JUnit's `timestamp`). */
  readonly now: Date;
}

/** Text renderers by format name (lower case), besides `json` and `table`. */
export type ReportFormats<T> = Readonly<Record<string, (value: T, context: ReportContext) => string | Promise<string>>>;

let version = '0.0.0';

/** Records the CLI's version for the reports (the program does, once). */
export const setCliVersion = (value: string): void => {
  version = value;
};

/** The CLI's version, as {@link setCliVersion} recorded it. */
export const cliVersion = (): string => version;

/** The tool, as SARIF names it. */
export const TOOL = { name: 'encrypted-ecr', informationUri: 'https://www.npmjs.com/package/encrypted-ecr' } as const;

/** How a command's value is shown: its table, its JSON document, and its other formats. */
export interface View<T> {
  readonly table: (value: T) => string;
  /** The JSON document (default: the value itself). */
  readonly document?: (value: T) => unknown;
  readonly formats?: ReportFormats<T>;
}

/**
 * Parses a `--fail-on` value: one of `choices`, or a comma-separated list of them when `list`;
 * answers the values, or the usage error's message.
 */
export const parseFailOn = <C extends string>(
  given: string | undefined,
  choices: readonly C[],
  fallback: readonly C[],
  list: boolean,
): readonly C[] | string => {
  if (given === undefined) return fallback;
  const values = given
    .toLowerCase()
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
  const bad = values.filter((v) => !(choices as readonly string[]).includes(v));
  if (values.length === 0 || bad.length > 0 || (!list && values.length > 1) || (values.includes('none') && values.length > 1)) {
    return `--fail-on must be ${list ? 'a comma-separated list of' : 'one of'} ${choices.join(', ')}${list ? ' (none alone)' : ''}, not "${given}"`;
  }
  return values as C[];
};
