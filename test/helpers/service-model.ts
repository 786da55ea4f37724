/**
 * Checks values against AWS's published service models (botocore `service-2.json`, pinned under
 * `test/data/service-models/`): structure members (required; unknown members), lists and maps
 * (min/max entries), strings (min/max length in code points, `pattern`, `enum`), integers/longs
 * (min/max), booleans, timestamps and blobs in each protocol's wire form.
 *
 * Wire forms (botocore serializers and parsers, `botocore/serialize.py` / `parsers.py`):
 * - JSON 1.1 (ECR, KMS): timestamps are epoch seconds (numbers), blobs base64 text.
 * - Query (IAM, STS): request parameters are flat `Name`, `List.member.N`, `Map.entry.N.key|value`,
 *   `Struct.Member` text; responses are XML `<OpResponse><OpResult>…`, lists as `<member>` items,
 *   timestamps ISO 8601.
 *
 * Patterns: botocore carries the Java regexes of AWS's models. AWS validates a whole value against
 * them (its messages say "Member must satisfy regular expression pattern"), so a pattern is matched
 * anchored (`^(?:p)$`). Java and JS agree on the constructs these models use (`\w`, `\d`, `\uXXXX`
 * with exactly four hex digits, look-ahead); `\p{…}` needs the `u` flag. A pattern JS cannot compile
 * is skipped and counted in {@link ServiceModel.skippedPatterns}, never silently passed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One shape of a botocore model (only the traits this checker reads). */
export interface ModelShape {
  readonly type: 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';
  readonly members?: Readonly<Record<string, { readonly shape: string; readonly locationName?: string }>>;
  readonly required?: readonly string[];
  readonly member?: { readonly shape: string; readonly locationName?: string };
  readonly key?: { readonly shape: string };
  readonly value?: { readonly shape: string };
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly enum?: readonly string[];
  readonly flattened?: boolean;
  readonly union?: boolean;
  readonly exception?: boolean;
}

export interface ModelOperation {
  readonly name: string;
  readonly input?: { readonly shape: string };
  readonly output?: { readonly shape: string; readonly resultWrapper?: string };
  readonly errors?: readonly { readonly shape: string }[];
}

/** A botocore `service-2.json`, as read from disk. */
export interface ModelJson {
  readonly metadata: { readonly protocol: string; readonly endpointPrefix: string; readonly signingName?: string };
  readonly operations: Readonly<Record<string, ModelOperation>>;
  readonly shapes: Readonly<Record<string, ModelShape>>;
}

/** One broken constraint. `path` is the member path from the top of the input or output. */
export interface Violation {
  readonly operation: string;
  readonly direction: 'request' | 'response';
  readonly path: string;
  readonly rule: string;
  readonly detail: string;
}

export type Direction = Violation['direction'];

/** A loaded model with its compiled patterns. */
export class ServiceModel {
  readonly #patterns = new Map<string, RegExp | undefined>();
  /** Patterns JS could not compile (skipped, so that a reader can see what was not checked). */
  readonly skippedPatterns = new Set<string>();

  constructor(readonly json: ModelJson) {}

  get protocol(): 'json' | 'query' {
    const protocol = this.json.metadata.protocol;
    // REST-JSON bodies are JSON documents: checked as JSON (members bound to the URI or headers are not; none of the served operations has one).
    if (protocol === 'rest-json') return 'json';
    if (protocol !== 'json' && protocol !== 'query') throw new Error(`service-model: protocol ${protocol} is not supported`);
    return protocol;
  }

  operation(name: string): ModelOperation | undefined {
    return this.json.operations[name];
  }

  shape(name: string): ModelShape {
    const shape = this.json.shapes[name];
    if (shape === undefined) throw new Error(`service-model: no shape ${name}`);
    return shape;
  }

  /** The anchored JS regex of a model pattern; undefined (and counted) when JS cannot compile it. */
  pattern(source: string): RegExp | undefined {
    if (this.#patterns.has(source)) return this.#patterns.get(source);
    const regex = compileJavaPattern(source);
    if (regex === undefined) this.skippedPatterns.add(source);
    this.#patterns.set(source, regex);
    return regex;
  }

  /**
   * Checks a request (the input shape) or a response (the output shape) of `operation`, already in
   * the JSON-like form {@link queryRequestValue} / {@link queryResponseValue} give for Query services.
   */
  check(operation: string, direction: Direction, value: unknown): Violation[] {
    const op = this.operation(operation);
    const out: Violation[] = [];
    const add = (path: string, rule: string, detail: string): void => {
      out.push({ operation, direction, path, rule, detail });
    };
    if (op === undefined) {
      add('', 'operation', `${operation} is not an operation of the model`);
      return out;
    }
    const ref = direction === 'request' ? op.input : op.output;
    if (ref === undefined) {
      const empty = value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
      if (!empty) add('', 'no shape', `the model has no ${direction} shape, got ${JSON.stringify(value)}`);
      return out;
    }
    this.#check(ref.shape, value ?? {}, '', add);
    return out;
  }

  #check(shapeName: string, value: unknown, path: string, add: (path: string, rule: string, detail: string) => void): void {
    const shape = this.shape(shapeName);
    const where = path === '' ? '(top)' : path;
    const typeError = (expected: string): void => add(where, 'type', `${shapeName} is a ${expected}, got ${describe(value)}`);
    const bounds = (size: number, unit: 'length' | 'value' | 'bytes' | 'items'): void => {
      const suffix = unit === 'items' ? ' items' : '';
      if (shape.min !== undefined && size < shape.min) add(where, `min${suffix}`, `${shapeName}: ${unit} ${String(size)} < min ${String(shape.min)}`);
      if (shape.max !== undefined && size > shape.max) add(where, `max${suffix}`, `${shapeName}: ${unit} ${String(size)} > max ${String(shape.max)}`);
    };
    switch (shape.type) {
      case 'structure': {
        if (!isRecord(value)) return typeError('structure');
        const members = shape.members ?? {};
        for (const name of shape.required ?? []) {
          if (value[name] === undefined) add(join2(path, name), 'required', `${shapeName}.${name} is required`);
        }
        for (const [name, child] of Object.entries(value)) {
          const member = members[name];
          if (member === undefined) {
            add(join2(path, name), 'unknown member', `${shapeName} has no member ${name}`);
            continue;
          }
          if (child === null) {
            add(join2(path, name), 'null', `${shapeName}.${name} is null (absent members are left out, not null)`);
            continue;
          }
          if (child !== undefined) this.#check(member.shape, child, join2(path, name), add);
        }
        if (shape.union === true && Object.values(value).filter((v) => v !== undefined).length !== 1) {
          add(where, 'union', `${shapeName} is a union: exactly one member must be set`);
        }
        return;
      }
      case 'list': {
        if (!Array.isArray(value)) return typeError('list');
        bounds(value.length, 'items');
        const item = shape.member?.shape;
        if (item === undefined) throw new Error(`service-model: list ${shapeName} has no member`);
        value.forEach((element: unknown, index) => this.#check(item, element, `${where === '(top)' ? '' : path}[${String(index)}]`, add));
        return;
      }
      case 'map': {
        if (!isRecord(value)) return typeError('map');
        const entries = Object.entries(value);
        bounds(entries.length, 'items');
        const keyShape = shape.key?.shape;
        const valueShape = shape.value?.shape;
        if (keyShape === undefined || valueShape === undefined) throw new Error(`service-model: map ${shapeName} lacks key or value`);
        for (const [key, child] of entries) {
          this.#check(keyShape, key, `${join2(path, key)}(key)`, add);
          this.#check(valueShape, child, join2(path, key), add);
        }
        return;
      }
      case 'string': {
        if (typeof value !== 'string') return typeError('string');
        bounds([...value].length, 'length');
        if (shape.enum !== undefined && !shape.enum.includes(value)) add(where, 'enum', `${shapeName}: ${JSON.stringify(value)} is not one of ${shape.enum.join(', ')}`);
        if (shape.pattern !== undefined) {
          const regex = this.pattern(shape.pattern);
          if (regex !== undefined && !regex.test(value)) add(where, 'pattern', `${shapeName}: ${JSON.stringify(value)} does not match ${shape.pattern}`);
        }
        return;
      }
      case 'integer':
      case 'long': {
        if (typeof value !== 'number' || !Number.isInteger(value)) return typeError(shape.type);
        if (shape.type === 'integer' && (value < -(2 ** 31) || value >= 2 ** 31)) add(where, 'type', `${shapeName}: ${String(value)} is outside a 32-bit integer`);
        bounds(value, 'value');
        return;
      }
      case 'double':
      case 'float':
        if (typeof value !== 'number' || !Number.isFinite(value)) return typeError(shape.type);
        bounds(value, 'value');
        return;
      case 'boolean':
        if (typeof value !== 'boolean') typeError('boolean');
        return;
      case 'timestamp':
        if (this.protocol === 'json') {
          if (typeof value !== 'number' || !Number.isFinite(value)) typeError('timestamp (JSON: epoch seconds, a number)');
        } else if (typeof value !== 'string' || !ISO_8601.test(value)) {
          typeError('timestamp (Query: ISO 8601 text)');
        }
        return;
      case 'blob': {
        if (typeof value !== 'string' || !BASE64.test(value) || value.length % 4 !== 0) return typeError('blob (base64 text)');
        bounds((value.length / 4) * 3 - (value.endsWith('==') ? 2 : value.endsWith('=') ? 1 : 0), 'bytes');
        return;
      }
    }
  }
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const join2 = (path: string, name: string): string => (path === '' ? name : `${path}.${name}`);

const describe = (value: unknown): string => (Array.isArray(value) ? 'a list' : value === null ? 'null' : `${typeof value} ${JSON.stringify(value)?.slice(0, 60) ?? ''}`);

/**
 * A Java regex of a model as an anchored JS regex: as is when JS reads it the same way, with the `u`
 * flag when it uses `\p{…}` classes; undefined when JS cannot compile it.
 */
export const compileJavaPattern = (source: string): RegExp | undefined => {
  const anchored = `^(?:${source})$`;
  try {
    return new RegExp(anchored, /\\[pP]\{/.test(source) ? 'u' : '');
  } catch {
    return undefined;
  }
};

const MODELS_DIR = join(import.meta.dirname, '..', 'data', 'service-models');
const loaded = new Map<string, ServiceModel>();

/** The pinned model of `ecr`, `kms`, `iam`, `sts`, `organizations` or `account` (read once per process). */
export const loadModel = (service: 'ecr' | 'kms' | 'iam' | 'sts' | 'organizations' | 'account'): ServiceModel => {
  let model = loaded.get(service);
  if (model === undefined) {
    model = new ServiceModel(JSON.parse(readFileSync(join(MODELS_DIR, service, 'service-2.json'), 'utf8')) as ModelJson);
    loaded.set(service, model);
  }
  return model;
};

/** Where a Query request's flat parameters did not fit the input shape. */
export interface QueryDecoding {
  readonly value: Record<string, unknown>;
  /** Parameters no member of the shape accounts for (besides `Action` and `Version`). */
  readonly unknown: readonly string[];
  /** Parameters whose text is not of the member's type (e.g. `MaxItems=ten`). */
  readonly malformed: readonly string[];
}

/**
 * Rebuilds a Query request's input value from its flat parameters, guided by the input shape
 * (botocore `QuerySerializer`): `List.member.N`, `Map.entry.N.key|value`, `Struct.Member`; numbers
 * and booleans are decoded from their text so that {@link ServiceModel.check} can check them.
 */
export const queryRequestValue = (model: ServiceModel, operation: string, params: URLSearchParams): QueryDecoding => {
  const used = new Set<string>(['Action', 'Version']);
  const malformed: string[] = [];
  const all = [...params.keys()];
  const readShape = (shapeName: string, prefix: string): unknown => {
    const shape = model.shape(shapeName);
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        for (const [name, member] of Object.entries(shape.members ?? {})) {
          const key = join2(prefix, member.locationName ?? name);
          if (!params.has(key) && !all.some((p) => p.startsWith(`${key}.`))) continue;
          out[name] = readShape(member.shape, key);
        }
        return out;
      }
      case 'list': {
        if (params.has(prefix) && params.get(prefix) === '') {
          used.add(prefix);
          return [];
        }
        const item = shape.member;
        if (item === undefined) throw new Error(`service-model: list ${shapeName} has no member`);
        const base = shape.flattened === true ? `${prefix}.` : `${prefix}.${item.locationName ?? 'member'}.`;
        const indexes = indexesUnder(all, base);
        return indexes.map((n) => readShape(item.shape, `${base}${String(n)}`));
      }
      case 'map': {
        const base = shape.flattened === true ? `${prefix}.` : `${prefix}.entry.`;
        const out: Record<string, unknown> = {};
        for (const n of indexesUnder(all, base)) {
          const keyName = `${base}${String(n)}.key`;
          used.add(keyName);
          const valueShape = shape.value?.shape;
          if (valueShape === undefined) throw new Error(`service-model: map ${shapeName} has no value`);
          out[params.get(keyName) ?? ''] = readShape(valueShape, `${base}${String(n)}.value`);
        }
        return out;
      }
      default: {
        const text = params.get(prefix);
        if (text === null) return undefined;
        used.add(prefix);
        return decodeScalar(shape.type, text, () => malformed.push(prefix));
      }
    }
  };
  const ref = model.operation(operation)?.input;
  const value = ref === undefined ? {} : (readShape(ref.shape, '') as Record<string, unknown>);
  return { value, unknown: all.filter((p) => !used.has(p)), malformed };
};

const indexesUnder = (keys: readonly string[], base: string): number[] => {
  const found = new Set<number>();
  for (const key of keys) {
    if (!key.startsWith(base)) continue;
    const n = Number(key.slice(base.length).split('.')[0]);
    if (Number.isInteger(n) && n >= 1) found.add(n);
  }
  return [...found].sort((a, b) => a - b);
};

const decodeScalar = (type: ModelShape['type'], text: string, bad: () => void): unknown => {
  switch (type) {
    case 'integer':
    case 'long':
    case 'double':
    case 'float': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) bad();
      return n;
    }
    case 'boolean':
      if (text !== 'true' && text !== 'false') bad();
      return text === 'true';
    default:
      return text;
  }
};

/** A parsed XML element: its name, its child elements and its text. */
export interface XmlElement {
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

/**
 * A small XML reader for the Query answers the emulator writes (elements, text, entities; no
 * attributes other than `xmlns` are kept, CDATA and comments are not expected). Throws on
 * malformed XML: a malformed answer is itself a failure.
 */
export const parseXml = (xml: string): XmlElement => {
  const root: XmlElement = { name: '#document', children: [], text: '' };
  const stack: XmlElement[] = [root];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w:.-]+\s*=\s*"[^"]*")*)\s*(\/?)>|<\?[^?]*\?>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let at = 0;
  while ((match = tag.exec(xml)) !== null) {
    at = tag.lastIndex;
    const [, closing, name, , selfClosing, text] = match;
    const top = stack[stack.length - 1];
    if (top === undefined) throw new Error('parseXml: content after the root element');
    if (text !== undefined) {
      top.text += decodeEntities(text);
    } else if (name === undefined) {
      continue; // the XML declaration
    } else if (closing === '/') {
      if (top.name !== name) throw new Error(`parseXml: </${name}> closes <${top.name}>`);
      stack.pop();
    } else {
      const element: XmlElement = { name, children: [], text: '' };
      top.children.push(element);
      if (selfClosing !== '/') stack.push(element);
    }
  }
  if (at !== xml.length) throw new Error(`parseXml: cannot read from offset ${String(at)}: ${xml.slice(at, at + 40)}`);
  if (stack.length !== 1) throw new Error(`parseXml: <${stack[stack.length - 1]?.name ?? '?'}> is not closed`);
  const element = root.children[0];
  if (element === undefined || root.children.length !== 1) throw new Error('parseXml: not exactly one root element');
  return element;
};

const decodeEntities = (text: string): string =>
  text.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, entity: string) => {
    switch (entity) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : Number(entity.slice(1)));
    }
  });

/**
 * Reads a Query answer's output value guided by the output shape (botocore `QueryParser`): the
 * `<OpResponse>` root must hold `<resultWrapper>` (when the model names one) and
 * `<ResponseMetadata><RequestId>`. Elements no member accounts for are reported in `unknown`.
 */
export const queryResponseValue = (
  model: ServiceModel,
  operation: string,
  xml: string,
): { readonly value: unknown; readonly unknown: readonly string[]; readonly malformed: readonly string[] } => {
  const unknown: string[] = [];
  const malformed: string[] = [];
  const root = parseXml(xml);
  if (root.name !== `${operation}Response`) malformed.push(`root element <${root.name}>, expected <${operation}Response>`);
  const metadata = root.children.find((c) => c.name === 'ResponseMetadata');
  if (metadata?.children.find((c) => c.name === 'RequestId') === undefined) malformed.push('no ResponseMetadata.RequestId');
  const ref = model.operation(operation)?.output;
  if (ref === undefined) {
    const extra = root.children.filter((c) => c.name !== 'ResponseMetadata' && !(c.name === `${operation}Result` && c.children.length === 0));
    for (const c of extra) unknown.push(c.name);
    return { value: {}, unknown, malformed };
  }
  const wrapper = ref.resultWrapper === undefined ? root : root.children.find((c) => c.name === ref.resultWrapper);
  if (wrapper === undefined) {
    malformed.push(`no <${ref.resultWrapper ?? ''}>`);
    return { value: {}, unknown, malformed };
  }
  const read = (shapeName: string, element: XmlElement, path: string): unknown => {
    const shape = model.shape(shapeName);
    switch (shape.type) {
      case 'structure': {
        const out: Record<string, unknown> = {};
        const byWire = new Map(Object.entries(shape.members ?? {}).map(([name, m]) => [m.locationName ?? name, { name, shape: m.shape }]));
        for (const child of element.children) {
          if (element === root && child.name === 'ResponseMetadata') continue;
          const member = byWire.get(child.name);
          if (member === undefined) {
            unknown.push(join2(path, child.name));
            continue;
          }
          if (out[member.name] !== undefined) malformed.push(`${join2(path, child.name)} appears twice`);
          out[member.name] = read(member.shape, child, join2(path, member.name));
        }
        return out;
      }
      case 'list': {
        const itemName = shape.member?.locationName ?? 'member';
        const item = shape.member?.shape;
        if (item === undefined) throw new Error(`service-model: list ${shapeName} has no member`);
        return element.children.map((child, index) => {
          if (child.name !== itemName) malformed.push(`${path}[${String(index)}] is <${child.name}>, expected <${itemName}>`);
          return read(item, child, `${path}[${String(index)}]`);
        });
      }
      case 'map': {
        const out: Record<string, unknown> = {};
        for (const entry of element.children) {
          const key = entry.children.find((c) => c.name === 'key')?.text ?? '';
          const valueElement = entry.children.find((c) => c.name === 'value');
          const valueShape = shape.value?.shape;
          if (entry.name !== 'entry' || valueElement === undefined || valueShape === undefined) {
            malformed.push(`${path}: map entry <${entry.name}> without key/value`);
            continue;
          }
          out[key] = read(valueShape, valueElement, join2(path, key));
        }
        return out;
      }
      default:
        if (element.children.length > 0) malformed.push(`${path}: scalar element with child elements`);
        return decodeScalar(shape.type, element.text, () => malformed.push(`${path}: ${JSON.stringify(element.text)} is not a ${shape.type}`));
    }
  };
  return { value: read(ref.shape, wrapper, ''), unknown, malformed };
};
