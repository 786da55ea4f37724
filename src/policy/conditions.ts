/**
 * IAM condition operators. Internal to the evaluator: `explainAccess` is the public entry.
 *
 * @internal
 * @packageDocumentation
 */
import { compilePattern, type Pattern, type RequestContext } from './patterns.js';
import type { PolicyAssumption } from './types.js';

/** One `Operator: { key: values }` pair of a statement's `Condition` block, ready to evaluate. @internal */
export interface CompiledCondition {
  /** The operator as written, e.g. `ForAnyValue:StringLikeIfExists`. */
  readonly operator: string;
  /** The condition key, lower-cased. */
  readonly key: string;
  /** Whether the condition holds; `assume` is told when the answer rests on an undocumented choice. */
  evaluate(ctx: RequestContext, assume?: (assumption: PolicyAssumption) => void): boolean;
}

type ConditionValue = string | number | boolean;

/** Tells whether one request value matches at least one of the policy's values. */
type Test = (requestValue: string, ctx: RequestContext) => boolean;

interface OperatorSpec {
  readonly negated: boolean;
  readonly compile: (values: readonly string[], variables: boolean) => Test;
}

const patternTest =
  (mode: 'glob' | 'arn', ignoreCase: boolean, wildcards: boolean) =>
  (values: readonly string[], variables: boolean): Test => {
    if (!wildcards) {
      // StringEquals: `*` is literal, but variables still apply.
      const patterns = values.map((v) => compilePattern(v, { mode, ignoreCase, variables }));
      const normalize = ignoreCase ? (s: string): string => s.toLowerCase() : (s: string): string => s;
      return (value, ctx) =>
        patterns.some((p) => {
          const literal = p.literal(ctx);
          return literal !== undefined && normalize(literal) === normalize(value);
        });
    }
    const patterns: Pattern[] = values.map((v) => compilePattern(v, { mode, ignoreCase, variables }));
    return (value, ctx) => patterns.some((p) => p.matches(value, ctx));
  };

const parseNumber = (s: string): number | undefined => {
  if (s.trim() === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};

/** ISO 8601 or epoch seconds, as IAM accepts both. */
const parseDate = (s: string): number | undefined => {
  if (/^-?\d+(\.\d+)?$/.test(s.trim())) return Number(s) * 1000;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
};

const compareTest =
  (parse: (s: string) => number | undefined, compare: (request: number, policy: number) => boolean) =>
  (values: readonly string[]): Test => {
    const parsed = values.map(parse).filter((n): n is number => n !== undefined);
    return (value) => {
      const n = parse(value);
      return n !== undefined && parsed.some((p) => compare(n, p));
    };
  };

// ---------------------------------------------------------------------------------------------
// IP addresses (IPv4 and IPv6, CIDR or single address)
// ---------------------------------------------------------------------------------------------

interface Ip {
  readonly v6: boolean;
  readonly value: bigint;
}

const parseIpv4 = (s: string): bigint | undefined => {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
};

const parseIpv6 = (s: string): bigint | undefined => {
  let text = s;
  // An embedded IPv4 address in the last 32 bits (`::ffff:10.0.0.1`) becomes two groups.
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = groups(halves[0] ?? '');
  const tail = halves.length === 2 ? groups(halves[1] ?? '') : [];
  if (head === undefined || tail === undefined) return undefined;
  const known = head.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  return [...head, ...Array<bigint>(8 - known).fill(0n), ...tail].reduce((acc, g) => (acc << 16n) | g, 0n);
};

const parseIp = (s: string): Ip | undefined => {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { v6: false, value: v4 };
  const v6 = s.includes(':') ? parseIpv6(s) : undefined;
  return v6 === undefined ? undefined : { v6: true, value: v6 };
};

interface Cidr extends Ip {
  readonly mask: bigint;
}

const parseCidr = (s: string): Cidr | undefined => {
  const [address = '', prefix] = s.trim().split('/');
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const bits = ip.v6 ? 128 : 32;
  const length = prefix === undefined ? bits : Number(prefix);
  if (!Number.isInteger(length) || length < 0 || length > bits) return undefined;
  const all = (1n << BigInt(bits)) - 1n;
  const mask = all ^ ((1n << BigInt(bits - length)) - 1n);
  return { ...ip, mask, value: ip.value & mask };
};

const ipTest = (values: readonly string[]): Test => {
  const ranges = values.map(parseCidr).filter((c): c is Cidr => c !== undefined);
  return (value) => {
    const ip = parseIp(value.trim());
    return ip !== undefined && ranges.some((r) => r.v6 === ip.v6 && (ip.value & r.mask) === r.value);
  };
};

// ---------------------------------------------------------------------------------------------
// The operator table
// ---------------------------------------------------------------------------------------------

const equalsTest = (values: readonly string[]): Test => {
  const set = new Set(values);
  return (value) => set.has(value);
};
const boolTest = (values: readonly string[]): Test => {
  const set = new Set(values.map((v) => v.toLowerCase()));
  return (value) => set.has(value.toLowerCase());
};

const num = (compare: (a: number, b: number) => boolean) => compareTest(parseNumber, compare);
const date = (compare: (a: number, b: number) => boolean) => compareTest(parseDate, compare);
const eq = (a: number, b: number): boolean => a === b;
const lt = (a: number, b: number): boolean => a < b;
const le = (a: number, b: number): boolean => a <= b;
const gt = (a: number, b: number): boolean => a > b;
const ge = (a: number, b: number): boolean => a >= b;

const positive = (compile: OperatorSpec['compile']): OperatorSpec => ({ negated: false, compile });
const negative = (compile: OperatorSpec['compile']): OperatorSpec => ({ negated: true, compile });

/** Keyed by lower-cased operator name, without `ForAnyValue:`/`ForAllValues:` and `IfExists`. */
const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map([
  ['stringequals', positive(patternTest('glob', false, false))],
  ['stringnotequals', negative(patternTest('glob', false, false))],
  ['stringequalsignorecase', positive(patternTest('glob', true, false))],
  ['stringnotequalsignorecase', negative(patternTest('glob', true, false))],
  ['stringlike', positive(patternTest('glob', false, true))],
  ['stringnotlike', negative(patternTest('glob', false, true))],
  ['numericequals', positive(num(eq))],
  ['numericnotequals', negative(num(eq))],
  ['numericlessthan', positive(num(lt))],
  ['numericlessthanequals', positive(num(le))],
  ['numericgreaterthan', positive(num(gt))],
  ['numericgreaterthanequals', positive(num(ge))],
  ['dateequals', positive(date(eq))],
  ['datenotequals', negative(date(eq))],
  ['datelessthan', positive(date(lt))],
  ['datelessthanequals', positive(date(le))],
  ['dategreaterthan', positive(date(gt))],
  ['dategreaterthanequals', positive(date(ge))],
  ['bool', positive(boolTest)],
  ['binaryequals', positive(equalsTest)],
  ['ipaddress', positive(ipTest)],
  ['notipaddress', negative(ipTest)],
  // ArnEquals and ArnLike are the same test: both take wildcards, segment by segment.
  ['arnequals', positive(patternTest('arn', false, true))],
  ['arnlike', positive(patternTest('arn', false, true))],
  ['arnnotequals', negative(patternTest('arn', false, true))],
  ['arnnotlike', negative(patternTest('arn', false, true))],
]);

const OPERATOR_NAME = /^(?:(forallvalues|foranyvalue):)?(.+?)(ifexists)?$/i;

const toStrings = (value: ConditionValue | readonly ConditionValue[]): string[] =>
  (Array.isArray(value) ? (value as readonly ConditionValue[]) : [value as ConditionValue])
    .filter((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
    .map(String);

const never: CompiledCondition['evaluate'] = () => false;

/**
 * Compiles one operator/key pair. An operator IAM does not know makes the condition false, so the
 * statement never applies (AWS would have refused the policy).
 *
 * @example
 * ```ts
 * const condition = compileCondition('StringEqualsIfExists', 'kms:ViaService', 'ecr.eu-west-1.amazonaws.com', true);
 * condition.evaluate(new Map()); // true: the key is absent
 * ```
 * @internal
 */
export const compileCondition = (
  operator: string,
  key: string,
  value: ConditionValue | readonly ConditionValue[],
  variables: boolean,
): CompiledCondition => {
  const lowerKey = key.toLowerCase();
  const values = toStrings(value);
  const parts = OPERATOR_NAME.exec(operator);
  const setOperator = parts?.[1]?.toLowerCase();
  const base = parts?.[2]?.toLowerCase() ?? '';
  const ifExists = parts?.[3] !== undefined;

  if (base === 'null' && setOperator === undefined && !ifExists) {
    const wanted = new Set(values.map((v) => v.toLowerCase()));
    return {
      operator,
      key: lowerKey,
      evaluate: (ctx) => {
        const entry = ctx.get(lowerKey);
        const absent = entry === undefined || entry.values.length === 0;
        return wanted.has(absent ? 'true' : 'false');
      },
    };
  }

  const spec = OPERATORS.get(base);
  if (spec === undefined) return { operator, key: lowerKey, evaluate: never };
  const matchesAny = spec.compile(values, variables);
  const { negated } = spec;
  const check = negated
    ? (v: string, ctx: RequestContext): boolean => !matchesAny(v, ctx)
    : matchesAny;

  return {
    operator,
    key: lowerKey,
    evaluate: (ctx, assume) => {
      const entry = ctx.get(lowerKey);
      if (entry === undefined || entry.values.length === 0) {
        if (ifExists) return true;
        // ForAllValues is vacuously true on an empty set; ForAnyValue is false.
        if (setOperator === 'forallvalues') return true;
        if (setOperator === 'foranyvalue') return false;
        // A missing key matches no value, so a negated operator holds.
        return negated;
      }
      if (setOperator === 'forallvalues') return entry.values.every((v) => check(v, ctx));
      if (setOperator === 'foranyvalue') return entry.values.some((v) => check(v, ctx));
      // Without a set operator: a negated operator needs no value to match, a positive one any.
      // AWS says to use a set operator with multivalued keys, not what happens without one.
      if (entry.multi) {
        assume?.({
          id: 'multivalued-key-without-set-operator',
          detail: `${operator} on the multivalued key ${key} has no ForAnyValue:/ForAllValues: prefix; read as ${negated ? 'no value may match' : 'any value matches'}`,
        });
      }
      return negated ? entry.values.every((v) => check(v, ctx)) : entry.values.some((v) => check(v, ctx));
    },
  };
};
