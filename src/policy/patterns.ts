/**
 * Wildcards and policy variables, as the IAM policy language defines them. Internal to the
 * evaluator: `explainAccess` is the public entry.
 *
 * @internal
 * @packageDocumentation
 */
import type { ContextValue } from './types.js';

/** One context key's value as the evaluator reads it: always strings, with its arity. @internal */
export interface ContextEntry {
  readonly values: readonly string[];
  /** Whether the key is multivalued (given as an array), which `ForAllValues`/`ForAnyValue` expect. */
  readonly multi: boolean;
}

/** The request context, keys lower-cased (IAM condition keys are case-insensitive). @internal */
export type RequestContext = ReadonlyMap<string, ContextEntry>;

/**
 * One context value as the evaluator reads it.
 *
 * @example
 * ```ts
 * toContextEntry(true); // { values: ['true'], multi: false }
 * ```
 * @internal
 */
export const toContextEntry = (value: ContextValue): ContextEntry =>
  typeof value === 'string'
    ? { values: [value], multi: false }
    : typeof value === 'number' || typeof value === 'boolean'
      ? { values: [String(value)], multi: false }
      : { values: value, multi: true };

type Token =
  | { readonly t: 'lit'; readonly s: string }
  | { readonly t: 'star' }
  | { readonly t: 'any1' }
  | { readonly t: 'var'; readonly key: string; readonly fallback: string | undefined };

/**
 * How `*` and `?` behave:
 * - `glob`: anywhere (actions, `StringLike`);
 * - `arn`: within one of the six colon-separated ARN segments (`ArnLike`, `ArnEquals`);
 * - `resource`: like `arn`, except that a `*` ending a segment may run past colons, as the
 *   `Resource` element allows.
 */
export type WildcardMode = 'glob' | 'arn' | 'resource';

/** A string from a policy that may hold wildcards and `${...}` variables. @internal */
export interface Pattern {
  /** Whether `value` matches, resolving variables from `ctx`. An unresolved variable matches nothing. */
  matches(value: string, ctx: RequestContext): boolean;
  /** The pattern with variables resolved and wildcards kept literal (for `StringEquals`); undefined when a variable is missing. */
  literal(ctx: RequestContext): string | undefined;
}

// `${*}`, `${?}` and `${$}` stand for the literal characters (IAM "special characters").
const ESCAPES: Readonly<Record<string, string>> = { '*': '*', '?': '?', $: '$' };
const VARIABLE = /^\s*([^\s,']+)\s*(?:,\s*'([^']*)'\s*)?$/;

const tokenize = (raw: string, variables: boolean): Token[] => {
  const tokens: Token[] = [];
  let text = '';
  const flush = (): void => {
    if (text !== '') tokens.push({ t: 'lit', s: text });
    text = '';
  };
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charAt(i);
    if (variables && c === '$' && raw.charAt(i + 1) === '{') {
      const end = raw.indexOf('}', i + 2);
      if (end !== -1) {
        const inner = raw.slice(i + 2, end);
        const escaped = ESCAPES[inner];
        const variable = VARIABLE.exec(inner);
        if (escaped !== undefined) {
          text += escaped;
          i = end;
          continue;
        }
        if (variable?.[1] !== undefined) {
          flush();
          tokens.push({ t: 'var', key: variable[1].toLowerCase(), fallback: variable[2] });
          i = end;
          continue;
        }
      }
    }
    if (c === '*' || c === '?') {
      flush();
      tokens.push(c === '*' ? { t: 'star' } : { t: 'any1' });
    } else {
      text += c;
    }
  }
  flush();
  return tokens;
};

/** Replaces variables by their (literal) values; undefined when one has no value and no default. */
const resolve = (tokens: readonly Token[], ctx: RequestContext): Token[] | undefined => {
  const out: Token[] = [];
  for (const token of tokens) {
    if (token.t !== 'var') {
      out.push(token);
      continue;
    }
    const entry = ctx.get(token.key);
    // Multivalued keys cannot be policy variables.
    const value = entry !== undefined && !entry.multi ? entry.values[0] : token.fallback;
    if (value === undefined) return undefined;
    out.push({ t: 'lit', s: value });
  }
  return out;
};

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const toRegex = (tokens: readonly Token[], mode: WildcardMode, ignoreCase: boolean): RegExp => {
  let source = '';
  let colons = 0;
  tokens.forEach((token, i) => {
    const inArnPrefix = mode !== 'glob' && colons < 5;
    if (token.t === 'lit' || token.t === 'var') {
      const s = token.t === 'lit' ? token.s : '';
      for (const ch of s) if (ch === ':') colons++;
      source += escapeRegex(s);
    } else if (token.t === 'any1') {
      source += inArnPrefix ? '[^:]' : '.';
    } else {
      const next = tokens[i + 1];
      const endsSegment = next === undefined || (next.t === 'lit' && next.s.startsWith(':'));
      source += inArnPrefix && !(mode === 'resource' && endsSegment) ? '[^:]*' : '.*';
    }
  });
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's');
};

const render = (tokens: readonly Token[]): string =>
  tokens.map((t) => (t.t === 'lit' ? t.s : t.t === 'star' ? '*' : t.t === 'any1' ? '?' : '')).join('');

/**
 * Compiles a policy string. With `variables` (policy version `2012-10-17`), `${key}` is replaced
 * by the context value; in older policies it is literal text.
 *
 * @example
 * ```ts
 * const pattern = compilePattern('arn:aws:ecr:*:*:repository/${aws:username}/*', { mode: 'resource', ignoreCase: false, variables: true });
 * pattern.matches('arn:aws:ecr:eu-west-1:111122223333:repository/alice/app', ctx);
 * ```
 * @internal
 */
export const compilePattern = (
  raw: string,
  options: { readonly mode: WildcardMode; readonly ignoreCase: boolean; readonly variables: boolean },
): Pattern => {
  const tokens = tokenize(raw, options.variables);
  const hasVariables = tokens.some((t) => t.t === 'var');
  const hasWildcards = tokens.some((t) => t.t === 'star' || t.t === 'any1');
  const normalize = options.ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
  if (!hasVariables) {
    const literal = render(tokens);
    if (!hasWildcards) {
      const expected = normalize(literal);
      return { matches: (value) => normalize(value) === expected, literal: () => literal };
    }
    const regex = toRegex(tokens, options.mode, options.ignoreCase);
    return { matches: (value) => regex.test(value), literal: () => literal };
  }
  return {
    matches: (value, ctx) => {
      const resolved = resolve(tokens, ctx);
      if (resolved === undefined) return false;
      if (!hasWildcards) return normalize(render(resolved)) === normalize(value);
      return toRegex(resolved, options.mode, options.ignoreCase).test(value);
    },
    literal: (ctx) => {
      const resolved = resolve(tokens, ctx);
      return resolved === undefined ? undefined : render(resolved);
    },
  };
};
