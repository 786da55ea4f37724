/**
 * The public boundary's input check: every entry point reads what it was given through a
 * {@link Schema} before anything else, so that ANY JavaScript value (`null`, a number, a string
 * where an object is expected, an object whose getter throws, a Proxy) becomes an `InvalidInput`
 * instead of a `TypeError` somewhere inside.
 *
 * A schema checks JavaScript types only (is it a string, an array of strings, a function…); the
 * operations keep their own rules about values (a repository name's pattern, a key reference's
 * form) and their own error kinds for them. Reading returns a *copy* holding only the declared
 * fields, each read exactly once: a getter or Proxy cannot answer one thing to the check and
 * another to the operation. Functions and class instances the caller hands over (a journal, an
 * `AbortSignal`, an SDK client) are kept by reference.
 */
import { err, ok, type Result } from 'neverthrow';
import type { InvalidInput } from '../errors.js';

/** Reads an unknown value as a `T`, or says which field is wrong and why. */
export interface Schema<T> {
  /** What the value should be, for messages (`a string`, `an array of strings`). */
  readonly expected: string;
  read(value: unknown, field: string): Result<T, InvalidInput>;
}

/** A schema of a field that may be absent (`undefined`). */
export interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

/** How a value looks in a message, without calling anything on it (no `toString` of a Proxy). */
export const describeValue = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'undefined':
      return 'undefined';
    case 'string':
      return 'a string';
    case 'number':
      return Number.isNaN(value) ? 'NaN' : 'a number';
    case 'bigint':
      return 'a bigint';
    case 'boolean':
      return 'a boolean';
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    default:
      return 'an object';
  }
};

const wrong = (field: string, expected: string, value: unknown): InvalidInput =>
  invalid(field, `must be ${expected}, not ${describeValue(value)}`);

const messageOf = (thrown: unknown): string => {
  try {
    return thrown instanceof Error ? thrown.message : describeValue(thrown);
  } catch {
    return 'an exception';
  }
};

/** Reads with `schema`, an exception from the value (a getter, a Proxy trap) being the field's error. */
const guarded = <T>(schema: Schema<T>, value: unknown, field: string): Result<T, InvalidInput> => {
  try {
    return schema.read(value, field);
  } catch (thrown) {
    return err(invalid(field, `could not be read: ${messageOf(thrown)}`));
  }
};

/**
 * Reads `holder[key]` with `schema`; an exception from the getter or from a Proxy trap becomes the
 * field's error. On the hot path of every entry point (explainAccess runs it per call), so no
 * closure is made per field.
 */
const readField = <T>(schema: Schema<T>, holder: object, key: string | number, path: string): Result<T, InvalidInput> => {
  try {
    return schema.read((holder as Record<string | number, unknown>)[key], path);
  } catch (thrown) {
    return err(invalid(path, `could not be read: ${messageOf(thrown)}`));
  }
};

/** A schema from a type test: the value itself is the result. */
const primitive = <T>(expected: string, test: (value: unknown) => value is T): Schema<T> => ({
  expected,
  read: (value, field) => (test(value) ? ok(value) : err(wrong(field, expected, value))),
});

export const string: Schema<string> = primitive('a string', (v): v is string => typeof v === 'string');
export const boolean: Schema<boolean> = primitive('a boolean', (v): v is boolean => typeof v === 'boolean');
/** A finite number (not `NaN`, not `Infinity`). */
export const number: Schema<number> = primitive('a finite number', (v): v is number => typeof v === 'number' && Number.isFinite(v));
// eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- narrowed to the callback type by `fn`
const isFunction = (v: unknown): v is Function => typeof v === 'function';

/** A function, kept by reference; its signature cannot be checked, only that it is callable. */
export const fn = <F>(): Schema<F> => ({
  expected: 'a function',
  read: (value, field) => (isFunction(value) ? ok(value as F) : err(wrong(field, 'a function', value))),
});

/** One of the given strings. */
export const literal = <const L extends string>(...values: readonly L[]): Schema<L> => {
  const expected = `one of ${values.map((v) => `'${v}'`).join(', ')}`;
  const set: ReadonlySet<unknown> = new Set(values);
  return primitive(expected, (v): v is L => set.has(v));
};

/** An object with at least the given methods, kept by reference (a journal, an `AbortSignal`). */
export const withMethods = <T>(expected: string, methods: readonly string[], properties: readonly string[] = []): Schema<T> => ({
  expected,
  read: (value, field) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return err(wrong(field, expected, value));
    const holder = value as Record<string, unknown>;
    for (const name of methods) {
      if (typeof holder[name] !== 'function') return err(invalid(`${field}.${name}`, `must be a function: ${field} must be ${expected}`));
    }
    for (const name of properties) {
      if (!(name in holder)) return err(invalid(`${field}.${name}`, `is missing: ${field} must be ${expected}`));
    }
    return ok(value as T);
  },
});

/** A field that may be left out (`undefined`); any other value must satisfy `schema`. */
export const optional = <T>(schema: Schema<T>): OptionalSchema<T> => ({
  optional: true,
  expected: `${schema.expected} or undefined`,
  read: (value, field) => (value === undefined ? ok(undefined) : schema.read(value, field)),
});

/** An array (a real one, not an array-like), copied element by element. */
export const array = <T>(item: Schema<T>): Schema<readonly T[]> => ({
  expected: `an array of ${item.expected.replace(/^an? /, '')}s`,
  read: (value, field) => {
    if (!Array.isArray(value)) return err(wrong(field, `an array`, value));
    const copy: T[] = [];
    const length: number = value.length;
    for (let i = 0; i < length; i += 1) {
      const read = readField(item, value, i, `${field}[${i}]`);
      if (read.isErr()) return err(read.error);
      copy.push(read.value);
    }
    return ok(copy);
  },
});

/** Either of two schemas, tried in order. */
export const either = <A, B>(a: Schema<A>, b: Schema<B>): Schema<A | B> => {
  const expected = `${a.expected} or ${b.expected}`;
  return {
    expected,
    read: (value, field) => {
      const first = a.read(value, field);
      if (first.isOk()) return ok(first.value);
      const second = b.read(value, field);
      // Both failed: report the one that got further into the value (a nested field), else both.
      if (second.isOk()) return ok(second.value);
      if (first.error.field !== field) return err(first.error);
      if (second.error.field !== field) return err(second.error);
      return err(wrong(field, expected, value));
    },
  };
};

type Fields = Readonly<Record<string, Schema<unknown>>>;
type Value<S> = S extends Schema<infer T> ? T : never;
type OptionalKeys<F extends Fields> = { [K in keyof F]: F[K] extends OptionalSchema<unknown> ? K : never }[keyof F];
type RequiredKeys<F extends Fields> = Exclude<keyof F, OptionalKeys<F>>;
type Flatten<T> = { [K in keyof T]: T[K] };

/** The object a {@link record} schema reads: required fields, and optional ones absent when undefined. */
export type RecordOf<F extends Fields> = Flatten<
  { readonly [K in RequiredKeys<F>]: Value<F[K]> } & { readonly [K in OptionalKeys<F>]?: Exclude<Value<F[K]>, undefined> }
>;

/** An object literal (or `Object.create(null)`): not an array, a `Date`, a `Map` or another class's instance. */
const isPlainObject = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * A plain object with these fields. The result holds only them (each read once); an optional
 * field that is `undefined` is left out, as `exactOptionalPropertyTypes` wants. Fields not
 * declared are ignored.
 */
export const record = <F extends Fields>(fields: F, expected = 'an object'): Schema<RecordOf<F>> => {
  const entries = Object.entries(fields);
  return {
    expected,
    read: (value, field) => {
      if (!isPlainObject(value)) return err(wrong(field, expected, value));
      const copy: Record<string, unknown> = {};
      for (const [name, schema] of entries) {
        const read = readField(schema, value, name, field === 'input' ? name : `${field}.${name}`);
        if (read.isErr()) return err(read.error);
        if (read.value !== undefined) copy[name] = read.value;
      }
      // Each declared field was read once and checked against its schema just above.
      return ok(copy as RecordOf<F>);
    },
  };
};

/** A plain-object dictionary whose values all satisfy `item`, copied. */
export const dictionary = <T>(item: Schema<T>): Schema<Readonly<Record<string, T>>> => ({
  expected: `an object of ${item.expected.replace(/^an? /, '')}s`,
  read: (value, field) => {
    if (!isPlainObject(value)) return err(wrong(field, 'an object', value));
    const copy: Record<string, T> = {};
    for (const [name, entry] of Object.entries(value)) {
      const read = guarded(item, entry, `${field}.${name}`);
      if (read.isErr()) return err(read.error);
      copy[name] = read.value;
    }
    return ok(copy);
  },
});

/**
 * Reads `value` with `schema` and never throws: an exception from the value itself (a getter, a
 * Proxy trap) is an `InvalidInput` for the whole input.
 *
 * @param field the name of the value in messages: `input` for an operation's argument.
 */
export const readInput = <T>(schema: Schema<T>, value: unknown, field = 'input'): Result<T, InvalidInput> => guarded(schema, value, field);

/**
 * Reads the argument of an operation whose input may be left out: `undefined` is `{}`. `null`
 * is not "left out" and must be an object like any other value.
 */
export const readOptionalInput = <T>(schema: Schema<T>, value: unknown): Result<T, InvalidInput> =>
  readInput(schema, value === undefined ? {} : value);
