/**
 * The one way the emulated services read request members (ECR and KMS over JSON 1.1, IAM and STS
 * over Query once their flat parameters are structured by `queryInput`). Each service words its
 * refusals its own way ({@link Words}): ECR answers `InvalidParameterException` for a member that
 * breaks its model, KMS `ValidationException` ("1 validation error detected: …") and
 * `SerializationException` for a wrong JSON type, IAM and STS `ValidationError`.
 */
import { ApiError } from './core.js';

/** How one service refuses a member. */
export interface Words {
  /** A member of the wrong type (`expected`: "a string", "an integer", …). */
  wrongType(member: string, expected: string): ApiError;
  /** A member that breaks a model constraint (`constraint`: "Member must not be null", …). */
  constraint(member: string, value: unknown, constraint: string): ApiError;
}

const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
const shown = (value: unknown): string => {
  if (value === undefined || value === null) return 'null';
  return `'${typeof value === 'string' ? value : JSON.stringify(value)}'`;
};

/** `1 validation error detected: …` as AWS words member validation failures (KMS). */
export const validation = (message: string): ApiError => new ApiError('ValidationException', `1 validation error detected: ${message}`);

/** ECR's refusal of a member: "Invalid parameter at '<member>' failed to satisfy constraint: '…'". */
export const invalidParameter = (member: string, constraint: string): ApiError =>
  new ApiError('InvalidParameterException', `Invalid parameter at '${member}' failed to satisfy constraint: '${constraint}'`);

export const ECR_WORDS: Words = {
  wrongType: (member, expected) => invalidParameter(member, `must be ${expected}`),
  constraint: (member, _value, constraint) => invalidParameter(member, constraint),
};

export const KMS_WORDS: Words = {
  wrongType: (member, expected) => new ApiError('SerializationException', `${member} must be ${expected}`),
  constraint: (member, value, constraint) => validation(`Value ${shown(value)} at '${lowerFirst(member)}' failed to satisfy constraint: ${constraint}`),
};

/** IAM and STS (Query): `ValidationError`, KMS's words otherwise. */
export const QUERY_WORDS: Words = {
  wrongType: (member, expected) => new ApiError('ValidationError', `1 validation error detected: Value at '${lowerFirst(member)}' must be ${expected}`),
  constraint: (member, value, constraint) =>
    new ApiError('ValidationError', `1 validation error detected: Value ${shown(value)} at '${lowerFirst(member)}' failed to satisfy constraint: ${constraint}`),
};

/** Bounds and shape of a string member, as the service model states them. */
export interface StringRule {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  readonly oneOf?: readonly string[];
}

const NOT_NULL = 'Member must not be null';
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Typed access to one request object (or a structure inside it). */
export class Input {
  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    private readonly words: Words,
    private readonly prefix = '',
  ) {}

  private name(member: string): string {
    return this.prefix === '' ? member : `${this.prefix}.${member}`;
  }

  private value(member: string): unknown {
    const value = Object.hasOwn(this.raw, member) ? this.raw[member] : undefined;
    return value === null ? undefined : value;
  }

  private missing(member: string): ApiError {
    return this.words.constraint(this.name(member), undefined, NOT_NULL);
  }

  has(member: string): boolean {
    return this.value(member) !== undefined;
  }

  optionalString(member: string, rule: StringRule = {}): string | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.words.wrongType(this.name(member), 'a string');
    this.checkString(this.name(member), value, rule);
    return value;
  }

  string(member: string, rule: StringRule = {}): string {
    const value = this.optionalString(member, rule);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  /** An integer member within `min`..`max`. */
  optionalNumber(member: string, min: number, max: number): number | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw this.words.wrongType(this.name(member), 'an integer');
    if (value < min || value > max) {
      throw this.words.constraint(this.name(member), value, `Member must have value between ${String(min)} and ${String(max)}`);
    }
    return value;
  }

  number(member: string, min: number, max: number): number {
    const value = this.optionalNumber(member, min, max);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  optionalBoolean(member: string): boolean | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw this.words.wrongType(this.name(member), 'a boolean');
    return value;
  }

  optionalObject(member: string): Input | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw this.words.wrongType(this.name(member), 'a structure');
    return new Input(value as Record<string, unknown>, this.words, this.name(member));
  }

  object(member: string): Input {
    const value = this.optionalObject(member);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  /** A list member; `min`/`max` bound its length. */
  optionalList(member: string, min: number, max: number): unknown[] | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.words.wrongType(this.name(member), 'a list');
    if (value.length < min || value.length > max) {
      throw this.words.constraint(this.name(member), `[${value.length > 0 ? '…' : ''}]`, `Member must have length between ${String(min)} and ${String(max)}`);
    }
    return value as unknown[];
  }

  list(member: string, min: number, max: number): unknown[] {
    const value = this.optionalList(member, min, max);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  optionalObjects(member: string, min: number, max: number): Input[] | undefined {
    return this.optionalList(member, min, max)?.map((item, index) => {
      const name = `${this.name(member)}.${String(index + 1)}`;
      if (typeof item !== 'object' || item === null || Array.isArray(item)) throw this.words.wrongType(name, 'a structure');
      return new Input(item as Record<string, unknown>, this.words, name);
    });
  }

  objects(member: string, min: number, max: number): Input[] {
    const value = this.optionalObjects(member, min, max);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  optionalStrings(member: string, min: number, max: number, rule: StringRule = {}): string[] | undefined {
    return this.optionalList(member, min, max)?.map((item, index) => {
      const name = `${this.name(member)}.${String(index + 1)}`;
      if (typeof item !== 'string') throw this.words.wrongType(name, 'a string');
      this.checkString(name, item, rule);
      return item;
    });
  }

  strings(member: string, min: number, max: number, rule: StringRule = {}): string[] {
    const value = this.optionalStrings(member, min, max, rule);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  /** A map of strings to strings (a copy). */
  optionalStringMap(member: string): Record<string, string> | undefined {
    const value = this.value(member);
    if (value === undefined) return undefined;
    if (typeof value !== 'object' || value === null || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
      throw this.words.wrongType(this.name(member), 'a map of strings');
    }
    return { ...(value as Record<string, string>) };
  }

  /** A blob member: base64 text in JSON 1.1. */
  optionalBlob(member: string): Buffer | undefined {
    const value = this.optionalString(member);
    if (value === undefined) return undefined;
    if (!BASE64.test(value)) throw this.words.wrongType(this.name(member), 'valid base64');
    return Buffer.from(value, 'base64');
  }

  blob(member: string): Buffer {
    const value = this.optionalBlob(member);
    if (value === undefined) throw this.missing(member);
    return value;
  }

  private checkString(name: string, value: string, rule: StringRule): void {
    const refuse = (constraint: string): ApiError => this.words.constraint(name, value, constraint);
    if (rule.min !== undefined && value.length < rule.min) throw refuse(`Member must have length greater than or equal to ${String(rule.min)}`);
    if (rule.max !== undefined && value.length > rule.max) throw refuse(`Member must have length less than or equal to ${String(rule.max)}`);
    if (rule.pattern !== undefined && !rule.pattern.test(value)) throw refuse(`Member must satisfy regular expression pattern: ${rule.pattern.source}`);
    if (rule.oneOf !== undefined && !rule.oneOf.includes(value)) throw refuse(`Member must satisfy enum value set: [${rule.oneOf.join(', ')}]`);
  }
}
