/**
 * Refuses requests that break AWS's service models before any service sees them, as AWS's own
 * front ends do (a member missing, a length or value out of bounds, a value outside an enum or its
 * pattern), with each service's validation error:
 * - KMS: `ValidationException` "1 validation error detected: Value 'x' at 'keyId' failed to satisfy
 *   constraint: Member must have length less than or equal to 2048";
 * - IAM and STS (Query): `ValidationError`, same words;
 * - ECR: `InvalidParameterException` "Invalid parameter at 'repositoryName' failed to satisfy
 *   constraint: '…'", the form ECR answers (docs/aws-behaviour.md).
 * The constraints are generated from the pinned models (`model-constraints.ts`). Types are left to
 * the services' own readers (a string where a number belongs is their `SerializationException`).
 */
import { ApiError } from './core.js';
import { MODEL_CONSTRAINTS } from './model-constraints.js';
import type { Ref, ServiceConstraints } from './model-shapes.js';


const shapeOf = (ref: Ref): string => (typeof ref === 'string' ? ref : ref.shape);
const wireName = (name: string, ref: Ref): string => (typeof ref === 'string' ? name : (ref.locationName ?? name));

const patterns = new Map<string, RegExp | undefined>();
/** A model's Java regex, matched whole; undefined (not enforced) when JS cannot compile it. */
const compiled = (source: string): RegExp | undefined => {
  if (!patterns.has(source)) {
    let regex: RegExp | undefined;
    try {
      regex = new RegExp(`^(?:${source})$`, /\\[pP]\{/.test(source) ? 'u' : '');
    } catch {
      regex = undefined;
    }
    patterns.set(source, regex);
  }
  return patterns.get(source);
};

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
const at = (path: string, name: string): string => (path === '' ? lowerFirst(name) : `${path}.${lowerFirst(name)}`);
const quote = (value: unknown): string => (typeof value === 'string' ? `'${value.length > 100 ? `${value.slice(0, 100)}…` : value}'` : Array.isArray(value) ? `'[${value.length > 0 ? '…' : ''}]'` : `'${String(value)}'`);

interface Problem {
  readonly path: string;
  readonly value: string;
  readonly constraint: string;
}

const check = (table: ServiceConstraints, shapeName: string, value: unknown, path: string, out: Problem[]): void => {
  const shape = table.shapes[shapeName];
  if (shape === undefined || value === undefined || value === null) return;
  const bound = (size: number, what: 'length' | 'value'): void => {
    if (shape.min !== undefined && size < shape.min) out.push({ path, value: quote(value), constraint: `Member must have ${what} greater than or equal to ${String(shape.min)}` });
    if (shape.max !== undefined && size > shape.max) out.push({ path, value: quote(value), constraint: `Member must have ${what} less than or equal to ${String(shape.max)}` });
  };
  switch (shape.type) {
    case 'structure': {
      if (typeof value !== 'object' || Array.isArray(value)) return;
      const record = value as Record<string, unknown>;
      for (const name of shape.required ?? []) {
        if (record[name] === undefined || record[name] === null) out.push({ path: at(path, name), value: 'null', constraint: 'Member must not be null' });
      }
      for (const [name, ref] of Object.entries(shape.members ?? {})) check(table, shapeOf(ref), record[name], at(path, name), out);
      return;
    }
    case 'list': {
      if (!Array.isArray(value)) return;
      bound(value.length, 'length');
      const item = shape.member;
      if (item !== undefined) value.forEach((element: unknown, index) => check(table, shapeOf(item), element, `${path}.${String(index + 1)}.member`, out));
      return;
    }
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) return;
      const entries = Object.entries(value as Record<string, unknown>);
      bound(entries.length, 'length');
      const { key, value: valueRef } = shape;
      for (const [name, child] of entries) {
        if (key !== undefined) check(table, shapeOf(key), name, `${path}.${name}.key`, out);
        if (valueRef !== undefined) check(table, shapeOf(valueRef), child, `${path}.${name}.value`, out);
      }
      return;
    }
    case 'string': {
      if (typeof value !== 'string') return;
      bound([...value].length, 'length');
      if (shape.enum !== undefined && !shape.enum.includes(value)) {
        out.push({ path, value: quote(value), constraint: `Member must satisfy enum value set: [${shape.enum.join(', ')}]` });
      }
      const regex = shape.pattern === undefined ? undefined : compiled(shape.pattern);
      if (shape.pattern !== undefined && regex !== undefined && !regex.test(value)) {
        out.push({ path, value: quote(value), constraint: `Member must satisfy regular expression pattern: ${shape.pattern}` });
      }
      return;
    }
    case 'integer':
    case 'long':
    case 'double':
    case 'float':
      if (typeof value === 'number') bound(value, 'value');
      return;
    case 'blob':
      // The decoded size, without decoding (layer parts run to megabytes).
      if (typeof value === 'string') bound(Math.floor((value.length * 3) / 4) - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0), 'length');
      return;
    default:
      return;
  }
};

/**
 * A Query request's flat parameters (`List.member.N`, `Map.entry.N.key|value`, `Struct.Member`) as
 * the input value, numbers and booleans read from their text (left as text when they are not).
 */
const fromQuery = (table: ServiceConstraints, shapeName: string, params: URLSearchParams): unknown => {
  const keys = [...params.keys()];
  const indexes = (base: string): number[] =>
    [...new Set(keys.filter((k) => k.startsWith(base)).map((k) => Number(k.slice(base.length).split('.')[0])))].filter((n) => Number.isInteger(n) && n >= 1).sort((a, b) => a - b);
  const read = (name: string, prefix: string): unknown => {
    const shape = table.shapes[name];
    if (shape === undefined) return undefined;
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        for (const [member, ref] of Object.entries(shape.members ?? {})) {
          const key = prefix === '' ? wireName(member, ref) : `${prefix}.${wireName(member, ref)}`;
          if (params.has(key) || keys.some((k) => k.startsWith(`${key}.`))) out[member] = read(shapeOf(ref), key);
        }
        return out;
      }
      case 'list': {
        if (params.get(prefix) === '') return [];
        const item = shape.member;
        if (item === undefined) return [];
        const base = shape.flattened === true ? `${prefix}.` : `${prefix}.${wireName('member', item)}.`;
        return indexes(base).map((n) => read(shapeOf(item), `${base}${String(n)}`));
      }
      case 'map': {
        const base = shape.flattened === true ? `${prefix}.` : `${prefix}.entry.`;
        const out: Record<string, unknown> = {};
        const valueRef = shape.value;
        for (const n of indexes(base)) out[params.get(`${base}${String(n)}.key`) ?? ''] = valueRef === undefined ? undefined : read(shapeOf(valueRef), `${base}${String(n)}.value`);
        return out;
      }
      case 'integer':
      case 'long':
      case 'double':
      case 'float': {
        const text = params.get(prefix);
        if (text === null) return undefined;
        const number = Number(text);
        return text.trim() !== '' && Number.isFinite(number) ? number : text;
      }
      default:
        return params.get(prefix) ?? undefined;
    }
  };
  return read(shapeName, '');
};

/**
 * A Query request's parameters as the structured input its model describes (`{}` for an operation
 * the models do not list), for the services' {@link Input} readers.
 */
export const queryInput = (service: string, operation: string, params: URLSearchParams): Readonly<Record<string, unknown>> => {
  const table = MODEL_CONSTRAINTS[service];
  const shapeName = table?.operations[operation];
  if (table === undefined || shapeName === undefined || shapeName === null) return {};
  const value = fromQuery(table, shapeName, params);
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
};

const problemsOf = (service: string, operation: string, input: Readonly<Record<string, unknown>> | URLSearchParams): Problem[] => {
  const table = MODEL_CONSTRAINTS[service];
  const shapeName = table?.operations[operation];
  if (table === undefined || shapeName === undefined || shapeName === null) return [];
  const problems: Problem[] = [];
  check(table, shapeName, input instanceof URLSearchParams ? fromQuery(table, shapeName, input) : input, '', problems);
  return problems;
};

/**
 * Throws the service's validation error when a request breaks its model; returns otherwise.
 * Operations the emulator does not model pass (their services answer for themselves).
 */
export const rejectInvalidRequest = (service: string, operation: string, input: Readonly<Record<string, unknown>> | URLSearchParams): void => {
  const problems = problemsOf(service, operation, input);
  const first = problems[0];
  if (first === undefined) return;
  if (service === 'ecr') {
    // ECR's words, e.g. "failed to satisfy constraint: 'must have length greater than or equal to 2'"
    // (aws/aws-dotnet-deploy#549) and "'must satisfy regular expression '<pattern>''" (jenkins-x/jx#1344).
    const words = first.constraint.replace(/^Member /, '').replace(/^must satisfy regular expression pattern: (.*)$/, "must satisfy regular expression '$1'");
    throw new ApiError('InvalidParameterException', `Invalid parameter at '${first.path}' failed to satisfy constraint: '${words}'`);
  }
  const words = problems.map((p) => `${p.value === 'null' ? 'Value null' : `Value ${p.value}`} at '${p.path}' failed to satisfy constraint: ${p.constraint}`);
  const message = `${String(problems.length)} validation error${problems.length === 1 ? '' : 's'} detected: ${words.join('; ')}`;
  throw new ApiError(service === 'iam' || service === 'sts' ? 'ValidationError' : 'ValidationException', message);
};
