/**
 * Reading ECR request members the way the service model constrains them. ECR reports a member that
 * breaks its model constraint as `InvalidParameterException` ("Invalid parameter at '<member>'
 * failed to satisfy constraint: …"), so every reader throws that.
 */
import { ApiError } from '../core.js';

/** The current model regex for repository names (aws-facts §1), anchored. */
export const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** ECR's `ImageDigest`/`LayerDigest` shape: `<algorithm>:<hex>`. */
export const DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;
/** The digests the emulator computes. */
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
export const REGISTRY_ID = /^[0-9]{12}$/;

export const invalidParameter = (member: string, constraint: string): ApiError =>
  new ApiError('InvalidParameterException', `Invalid parameter at '${member}' failed to satisfy constraint: '${constraint}'`);

interface StringRule {
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: RegExp;
  readonly oneOf?: readonly string[];
}

/** Typed access to one JSON request object. */
export class Input {
  constructor(
    private readonly raw: Readonly<Record<string, unknown>>,
    private readonly prefix = '',
  ) {}

  private name(member: string): string {
    return this.prefix === '' ? member : `${this.prefix}.${member}`;
  }

  has(member: string): boolean {
    return this.raw[member] !== undefined && this.raw[member] !== null;
  }

  optionalString(member: string, rule: StringRule = {}): string | undefined {
    const value = this.raw[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw invalidParameter(this.name(member), 'must be a string');
    checkString(this.name(member), value, rule);
    return value;
  }

  string(member: string, rule: StringRule = {}): string {
    const value = this.optionalString(member, rule);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }

  optionalNumber(member: string, min: number, max: number): number | undefined {
    const value = this.raw[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw invalidParameter(this.name(member), 'must be an integer');
    if (value < min || value > max) {
      throw invalidParameter(this.name(member), `Member must have value between ${String(min)} and ${String(max)}`);
    }
    return value;
  }

  number(member: string, min: number, max: number): number {
    const value = this.optionalNumber(member, min, max);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }

  optionalBoolean(member: string): boolean | undefined {
    const value = this.raw[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw invalidParameter(this.name(member), 'must be a boolean');
    return value;
  }

  optionalObject(member: string): Input | undefined {
    const value = this.raw[member];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) throw invalidParameter(this.name(member), 'must be a structure');
    return new Input(value as Record<string, unknown>, this.name(member));
  }

  object(member: string): Input {
    const value = this.optionalObject(member);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }

  /** A list member; `min`/`max` bound its length. */
  optionalList(member: string, min: number, max: number): unknown[] | undefined {
    const value = this.raw[member];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) throw invalidParameter(this.name(member), 'must be a list');
    if (value.length < min || value.length > max) {
      throw invalidParameter(this.name(member), `Member must have length between ${String(min)} and ${String(max)}`);
    }
    return value as unknown[];
  }

  list(member: string, min: number, max: number): unknown[] {
    const value = this.optionalList(member, min, max);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }

  optionalObjects(member: string, min: number, max: number): Input[] | undefined {
    return this.optionalList(member, min, max)?.map((item, index) => {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        throw invalidParameter(`${this.name(member)}.${String(index + 1)}`, 'must be a structure');
      }
      return new Input(item as Record<string, unknown>, `${this.name(member)}.${String(index + 1)}`);
    });
  }

  objects(member: string, min: number, max: number): Input[] {
    const value = this.optionalObjects(member, min, max);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }

  optionalStrings(member: string, min: number, max: number, rule: StringRule = {}): string[] | undefined {
    return this.optionalList(member, min, max)?.map((item, index) => {
      const name = `${this.name(member)}.${String(index + 1)}`;
      if (typeof item !== 'string') throw invalidParameter(name, 'must be a string');
      checkString(name, item, rule);
      return item;
    });
  }

  strings(member: string, min: number, max: number, rule: StringRule = {}): string[] {
    const value = this.optionalStrings(member, min, max, rule);
    if (value === undefined) throw invalidParameter(this.name(member), 'Member must not be null');
    return value;
  }
}

const checkString = (name: string, value: string, rule: StringRule): void => {
  if (rule.min !== undefined && value.length < rule.min) {
    throw invalidParameter(name, `Member must have length greater than or equal to ${String(rule.min)}`);
  }
  if (rule.max !== undefined && value.length > rule.max) {
    throw invalidParameter(name, `Member must have length less than or equal to ${String(rule.max)}`);
  }
  if (rule.pattern !== undefined && !rule.pattern.test(value)) {
    throw invalidParameter(name, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
  }
  if (rule.oneOf !== undefined && !rule.oneOf.includes(value)) {
    throw invalidParameter(name, `Member must satisfy enum value set: [${rule.oneOf.join(', ')}]`);
  }
};

/** The repository name member, validated against the model (2–256 chars and the regex). */
export const repositoryName = (input: Input, member = 'repositoryName'): string =>
  input.string(member, { min: 2, max: 256, pattern: REPOSITORY_NAME });

/** Opaque paging tokens: an offset into a stable ordering, tagged with the operation. */
export const encodeToken = (operation: string, offset: number): string =>
  Buffer.from(JSON.stringify({ op: operation, offset }), 'utf8').toString('base64');

export const decodeToken = (operation: string, token: string | undefined): number => {
  if (token === undefined) return 0;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const { op, offset } = parsed as { op?: unknown; offset?: unknown };
      if (op === operation && typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
    }
  } catch {
    // fall through, an undecodable token is invalid
  }
  throw new ApiError('InvalidParameterException', 'Invalid parameter at \'nextToken\': the token is not valid for this request');
};

/** One page of `items` starting at the token's offset. */
export const page = <T>(
  operation: string,
  items: readonly T[],
  nextToken: string | undefined,
  maxResults: number,
): { readonly items: T[]; readonly nextToken: string | undefined } => {
  const offset = decodeToken(operation, nextToken);
  const slice = items.slice(offset, offset + maxResults);
  const end = offset + slice.length;
  return { items: slice, nextToken: end < items.length ? encodeToken(operation, end) : undefined };
};

/** JSON 1.1 timestamps are epoch seconds. */
export const epochSeconds = (ms: number): number => ms / 1000;

/** `*` is the only wildcard of ECR tag-mutability exclusion filters. */
export const wildcardMatches = (filter: string, value: string): boolean => {
  const regex = new RegExp(`^${filter.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(value);
};
