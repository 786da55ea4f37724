/**
 * `--query <expression>`: JMESPath, as the AWS CLI applies it: checked before any AWS call (a
 * malformed expression is a usage error, exit 2), then applied to the JSON result before it is
 * printed. With `--output table` the result of the query is printed as a table of whatever it is
 * (the AWS CLI's formatters, `awscli/formatter.py`, apply the query first and then format).
 */
import * as jmespath from 'jmespath';

/** A checked JMESPath expression. */
export interface Query {
  readonly expression: string;
  /** The expression applied to a JSON value (plain data: what `toPlain` makes). */
  readonly apply: (data: unknown) => unknown;
}

/** The parser jmespath.js exports next to `search` (its typings leave it out). */
const compile = (jmespath as unknown as { readonly compile: (expression: string) => unknown }).compile;

/**
 * Checks `expression`; answers the query, or the parser's message when it is not JMESPath.
 *
 * @example
 * ```ts
 * const q = parseQuery("repositories[?status=='fail'].name");
 * if (typeof q !== 'string') q.apply(report); // ['legacy']
 * ```
 */
export const parseQuery = (expression: string): Query | string => {
  try {
    compile(expression);
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return { expression, apply: (data) => jmespath.search(data, expression) as unknown };
};
