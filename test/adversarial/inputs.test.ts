/**
 * Issue 12, D12/D19: every public entry point answers ANY JavaScript value with a typed error,
 * never a throw, never an unhandled rejection, quickly, and without one AWS call.
 *
 * Property style: each entry point is called with each hostile value as its whole input, and with
 * a valid input whose fields are replaced, one at a time, by each value of the wrong JavaScript
 * type. The clients are aws-sdk-client-mock mocks with no behaviour: any call would be counted.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { Result, ResultAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EncryptedRegistry,
  explainAccess,
  fileJournal,
  generateEcrKeyPolicy,
  generateEndpointPolicy,
  generateRepositoryAdminPolicy,
  isRegistryError,
  isRetryable,
  memoryJournal,
} from '../../src/index.js';
import { KEY_ARN, REGION } from '../fixtures/index.js';
import { collectUnhandledRejections } from '../fixtures/unhandled.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const awsCalls = (): number => ecr.calls().length + kms.calls().length + iam.calls().length + sts.calls().length;

const unhandled = collectUnhandledRejections();
beforeEach(() => {
  for (const mock of [ecr, kms, iam, sts]) mock.reset();
});
afterEach(() => {
  expect(awsCalls()).toBe(0);
  expect(unhandled).toEqual([]);
});

/** A Proxy whose every trap throws: reading it in any way is an exception. */
const throwingProxy = (): object => {
  const boom = (): never => {
    throw new Error('trap');
  };
  return new Proxy({}, { get: boom, has: boom, ownKeys: boom, getPrototypeOf: boom, getOwnPropertyDescriptor: boom });
};

/** Every kind of JavaScript value, by name. */
const HOSTILE: readonly (readonly [string, () => unknown])[] = [
  ['null', () => null],
  ['undefined', () => undefined],
  ['0', () => 0],
  ['-1', () => -1],
  ['NaN', () => NaN],
  ['Infinity', () => Infinity],
  ['a bigint', () => 10n],
  ['true', () => true],
  ['an empty string', () => ''],
  ['a string', () => 'x.json'],
  ['an empty array', () => []],
  ['an array of numbers', () => [1, 2]],
  ['a function', () => () => 1],
  ['a symbol', () => Symbol('s')],
  ['an empty object', () => ({})],
  ['a Date', () => new Date(0)],
  ['an object with a throwing getter', () => ({ get repositoryName(): string { throw new Error('getter'); } })],
  ['a Proxy that throws on get', throwingProxy],
];

type Kind = 'docs' | 'tags' | 'string' | 'boolean' | 'number' | 'strings' | 'function' | 'object' | 'journal' | 'signal' | 'encryption' | 'policy';

/** Whether a hostile value is of the JavaScript type a field takes (then it is not wrong-typed). */
const fits = (kind: Kind, value: unknown): boolean => {
  try {
    return fitsUnsafe(kind, value);
  } catch {
    return false; // the throwing Proxy fits nothing
  }
};

const fitsUnsafe = (kind: Kind, value: unknown): boolean => {
  switch (kind) {
    case 'tags':
    case 'docs':
      return Array.isArray(value) && value.length === 0;
    case 'string':
      return typeof value === 'string';
    case 'encryption':
      return typeof value === 'string';
    case 'policy':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'strings':
      return Array.isArray(value) && value.every((v) => typeof v === 'string');
    case 'function':
      return typeof value === 'function';
    case 'object':
      // A plain object; fields it does not declare (the throwing getter's) are ignored.
      return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
    case 'journal':
    case 'signal':
      return false;
  }
};

interface Field {
  readonly kind: Kind;
  readonly optional?: boolean;
}

/** One public entry point: how to call it, a valid input, and its fields' types. */
interface Entry {
  readonly name: string;
  /** `undefined` is a valid whole input (every field optional). */
  readonly optionalInput?: boolean;
  readonly valid: Readonly<Record<string, unknown>>;
  readonly fields: Readonly<Record<string, Field>>;
  /** Calls it; answers the typed error (or fails the test). */
  readonly call: (input: unknown) => Promise<Answer>;
}

/** A typed error as the tests look at it. */
interface Answer {
  readonly kind: string;
  readonly field?: string;
}

const registry = new EncryptedRegistry({ clientConfig: { region: REGION, credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } } });

/** Awaits an operation's ResultAsync (failing on a throw) and answers its error. */
const errorOf = async (run: () => ResultAsync<unknown, unknown> | Result<unknown, unknown>): Promise<Answer> => {
  const result = await run();
  expect(result.isErr()).toBe(true);
  const error: unknown = result.isErr() ? result.error : undefined;
  expect(isRegistryError(error)).toBe(true);
  return error as Answer;
};

const journal = { kind: 'journal', optional: true } as const;
const signal = { kind: 'signal', optional: true } as const;
const name = { kind: 'string' } as const;
const encryption = { kind: 'encryption' } as const;

const REGISTRY_ENTRIES: readonly Entry[] = [
  ...(['createEncryptedRepository', 'preflight'] as const).map(
    (method): Entry => ({
      name: `registry.${method}`,
      valid: { repositoryName: 'team/app', encryption: { type: 'KMS', key: KEY_ARN } },
      fields: {
        repositoryName: name,
        encryption,
        tags: { kind: 'tags', optional: true },
        imageTagMutability: { kind: 'string', optional: true },
        imageTagMutabilityExclusionFilters: { kind: 'strings', optional: true },
        scanOnPush: { kind: 'boolean', optional: true },
        repositoryPolicy: { kind: 'policy', optional: true },
        lifecyclePolicy: { kind: 'string', optional: true },
      },
      call: (input) => errorOf(() => registry[method](input as never)),
    }),
  ),
  {
    name: 'registry.deleteRepository',
    valid: { repositoryName: 'team/app' },
    fields: { repositoryName: name, force: { kind: 'boolean', optional: true } },
    call: (input) => errorOf(() => registry.deleteRepository(input as never)),
  },
  {
    name: 'registry.findOrphanedGrants',
    optionalInput: true,
    valid: {},
    fields: { keys: { kind: 'strings', optional: true } },
    call: (input) => errorOf(() => registry.findOrphanedGrants(input as never)),
  },
  {
    name: 'registry.retireOrphanedGrants',
    optionalInput: true,
    valid: {},
    fields: { keys: { kind: 'strings', optional: true }, dryRun: { kind: 'boolean', optional: true }, concurrency: { kind: 'number', optional: true } },
    call: (input) => errorOf(() => registry.retireOrphanedGrants(input as never)),
  },
  {
    name: 'registry.audit',
    optionalInput: true,
    valid: {},
    fields: {
      require: { kind: 'string', optional: true },
      allowedKeys: { kind: 'strings', optional: true },
      usage: { kind: 'object', optional: true },
      onProgress: { kind: 'function', optional: true },
    },
    call: (input) => errorOf(() => registry.audit(input as never)),
  },
  {
    name: 'registry.planMigration',
    valid: { repositoryName: 'team/app', encryption: 'AES256' },
    fields: { repositoryName: name, encryption, restoreArchived: { kind: 'boolean', optional: true }, signal },
    call: (input) => errorOf(() => registry.planMigration(input as never)),
  },
  {
    name: 'registry.migrateRepository',
    valid: { repositoryName: 'team/app', encryption: 'AES256' },
    fields: {
      repositoryName: name,
      encryption,
      journal,
      concurrency: { kind: 'number', optional: true },
      onProgress: { kind: 'function', optional: true },
      signal,
      restoreArchived: { kind: 'boolean', optional: true },
    },
    call: (input) => errorOf(() => registry.migrateRepository(input as never)),
  },
  {
    name: 'registry.resumeMigration',
    valid: { journal: memoryJournal() },
    fields: {
      journal: { kind: 'journal' },
      concurrency: { kind: 'number', optional: true },
      onProgress: { kind: 'function', optional: true },
      signal,
    },
    call: (input) => errorOf(() => registry.resumeMigration(input as never)),
  },
];

const GENERATOR_ENTRIES: readonly Entry[] = [
  {
    name: 'generateRepositoryAdminPolicy',
    valid: { region: REGION, account: '111122223333', repositories: { prefix: 'team/' }, keyArns: [KEY_ARN], operations: ['create'] },
    fields: {
      region: name,
      account: name,
      repositories: { kind: 'journal' }, // no hostile value is a { names } or { prefix } object
      keyArns: { kind: 'strings' },
      operations: { kind: 'strings' },
      preflight: { kind: 'boolean', optional: true },
      rollback: { kind: 'boolean', optional: true },
    },
    call: (input) => errorOf(() => generateRepositoryAdminPolicy(input as never)),
  },
  {
    name: 'generateEcrKeyPolicy',
    valid: { region: REGION, account: '111122223333' },
    fields: {
      region: name,
      account: name,
      principals: { kind: 'strings', optional: true },
      enableIamPolicies: { kind: 'boolean', optional: true },
      allowVerification: { kind: 'boolean', optional: true },
    },
    call: (input) => errorOf(() => generateEcrKeyPolicy(input as never)),
  },
  {
    name: 'generateEndpointPolicy (ecr.api)',
    valid: { service: 'ecr.api', region: REGION },
    fields: {
      service: { kind: 'journal' }, // only 'ecr.api', 'ecr.dkr' and 's3' are services
      region: name,
      registryAccounts: { kind: 'strings', optional: true },
      organizationId: { kind: 'string', optional: true },
      protectedRepositoryArns: { kind: 'strings', optional: true },
    },
    call: (input) => errorOf(() => generateEndpointPolicy(input as never)),
  },
  {
    name: 'generateEndpointPolicy (s3)',
    valid: { service: 's3', region: REGION },
    fields: { region: name },
    call: (input) => errorOf(() => generateEndpointPolicy(input as never)),
  },
];

/** explainAccess has no error channel: it answers implicitDeny (fail closed) with `invalidInput`. */
const explained = (request: unknown, policies: unknown): Answer => {
  const answer = explainAccess(request as never, policies as never);
  expect(answer.decision).toBe('implicitDeny');
  expect(answer.statements).toEqual([]);
  expect(answer.invalidInput?.kind).toBe('InvalidInput');
  return answer.invalidInput ?? { kind: 'none' };
};

const PRINCIPAL = { arn: 'arn:aws:iam::111122223333:user/dev', account: '111122223333' };
const EXPLAIN_ENTRIES: readonly Entry[] = [
  {
    name: 'explainAccess (request)',
    valid: { principal: PRINCIPAL, action: 'ecr:PutImage', resource: '*' },
    fields: { principal: { kind: 'journal' }, action: name, resource: name, resourceAccount: { kind: 'string', optional: true }, context: { kind: 'object', optional: true } },
    call: (input) => Promise.resolve(explained(input, {})),
  },
  {
    name: 'explainAccess (policies)',
    optionalInput: true,
    valid: {},
    fields: Object.fromEntries([
      ...['identityPolicies', 'sessionPolicies'].map((f): [string, Field] => [f, { kind: 'docs', optional: true }]),
      ...['permissionsBoundary', 'keyPolicy', 'trustPolicy', 'repositoryPolicy', 'endpointPolicy'].map((f): [string, Field] => [f, { kind: 'journal', optional: true }]),
    ]),
    call: (input) => Promise.resolve(explained({ principal: PRINCIPAL, action: 'ecr:PutImage', resource: '*' }, input)),
  },
];

/**
 * Calls an entry point, failing on a synchronous throw, and on an answer that never comes: within
 * 10 s (it takes milliseconds; the bound catches a hang, and leaves a loaded machine, where a first
 * call loads modules and the garbage collector pauses, room).
 */
const settle = async (entry: Entry, input: unknown): Promise<Answer> => {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${entry.name} did not settle within 10 s`)), 10_000);
  });
  try {
    return await Promise.race([entry.call(input), timeout]);
  } finally {
    clearTimeout(timer);
  }
};

describe.each([...REGISTRY_ENTRIES, ...GENERATOR_ENTRIES, ...EXPLAIN_ENTRIES])('$name', (entry) => {
  const wholeInputs = HOSTILE.filter(([label, make]) => {
    const value = make();
    // With every field optional, nothing and an object of other fields are valid (undeclared fields are ignored).
    if (entry.optionalInput === true && (value === undefined || label === 'an empty object' || label === 'an object with a throwing getter')) return false;
    return true;
  });

  it.each(wholeInputs)('answers %s as its whole input with a typed error', async (_, make) => {
    const error = await settle(entry, make());
    expect(['InvalidInput', 'InvalidRepositoryName', 'InvalidEncryption']).toContain(error.kind);
  });

  const fieldCases = Object.entries(entry.fields).flatMap(([field, type]) =>
    HOSTILE.filter(([, make]) => {
      const value = make();
      if (value === undefined && type.optional === true) return false;
      return !fits(type.kind, value);
    }).map(([label, make]) => [field, label, make] as const),
  );

  it.each(fieldCases)('answers %s = %s with InvalidInput naming the field', async (field, _, make) => {
    const error = await settle(entry, { ...entry.valid, [field]: make() });
    expect(error).toMatchObject({ kind: 'InvalidInput' });
    expect(error.field).toContain(field);
  });
});

describe('nested fields', () => {
  it.each([
    ['tags[0].Key', { tags: [{ Key: 5, Value: 'x' }] }],
    ['tags[1]', { tags: [{ Key: 'a', Value: 'b' }, null] }],
    ['encryption.key', { encryption: { type: 'KMS', key: 42 } }],
    ['encryption.type', { encryption: { type: Symbol('KMS') } }],
    ['repositoryPolicy', { repositoryPolicy: { Statement: [{ Effect: 'Allow', Action: 10n }] } }],
  ])('%s', async (field, patch) => {
    for (const method of ['preflight', 'createEncryptedRepository'] as const) {
      const error = await settle(
        { name: method, valid: {}, fields: {}, call: (input) => errorOf(() => registry[method](input as never)) },
        { repositoryName: 'team/app', encryption: 'AES256', ...patch },
      );
      expect(error).toMatchObject({ kind: 'InvalidInput' });
      expect(error.field).toContain(field.replace(/\[\d+\]$/, ''));
    }
  });

  it('audit: usage with a wrong-typed count', async () => {
    const error = await errorOf(() => registry.audit({ usage: { pushesPerMonth: '100' as never } }));
    expect(error).toMatchObject({ kind: 'InvalidInput', field: 'usage.pushesPerMonth' });
  });

  it('explainAccess: a statement whose Action is a number is not evaluated (fail closed)', () => {
    const error = explained({ principal: PRINCIPAL, action: 'ecr:PutImage', resource: '*' }, {
      identityPolicies: [{ Statement: { Effect: 'Allow', Action: 7, Resource: '*' } }],
    });
    expect(error.field).toBe('policies.identityPolicies[0].Statement.Action');
  });

  it('a getter answers once: the operation sees what was checked', async () => {
    let reads = 0;
    const input = {
      get repositoryName(): unknown {
        reads += 1;
        return reads === 1 ? 'Invalid Name' : 42;
      },
      encryption: 'AES256',
    };
    const error = await errorOf(() => registry.deleteRepository(input as never));
    expect(error).toMatchObject({ kind: 'InvalidRepositoryName', repositoryName: 'Invalid Name' });
    expect(reads).toBe(1);
  });
});

describe('the EncryptedRegistry constructor', () => {
    // Valid as options: nothing, and an object of other fields (undeclared fields are ignored).
  const notOptions = HOSTILE.filter(([label]) => !['undefined', 'an empty object', 'an object with a throwing getter'].includes(label));
  const OPTIONS_FIELDS: readonly (readonly [string, Readonly<Record<string, unknown>>])[] = [
    ['options', {}],
    ...notOptions.flatMap(([label, make]): (readonly [string, Readonly<Record<string, unknown>>])[] => [
      [`clients = ${label}`, { clients: make() }],
      [`clients.ecr = ${label}`, { clients: { ecr: make() } }],
      [`clientConfig = ${label}`, { clientConfig: make() }],
      [`logger = ${label}`, { logger: make() }],
      [`poll = ${label}`, { poll: make() }],
    ]),
    ['clientConfig.region = 5', { clientConfig: { region: 5 } }],
    ['clientConfig.endpoint = {}', { clientConfig: { endpoint: {} } }],
    ['clientConfig.maxAttempts = NaN', { clientConfig: { maxAttempts: NaN } }],
    ['clientConfig.credentials = "key"', { clientConfig: { credentials: 'AKID' } }],
    ['poll.timeoutMs = -1', { poll: { timeoutMs: -1 } }],
    ['logger without warn', { logger: { debug: () => undefined, info: () => undefined } }],
  ];

  it.each(notOptions)('never throws for %s as its options; every operation answers InvalidInput', async (_, make) => {
    const made = (): EncryptedRegistry => new EncryptedRegistry(make() as never);
    expect(made).not.toThrow();
    const hostile = made();
    const error = await errorOf(() => hostile.audit());
    expect(error).toMatchObject({ kind: 'InvalidInput' });
    expect(error.field).toMatch(/^options/);
    hostile.destroy();
  });

  it.each(OPTIONS_FIELDS.slice(1))('%s: InvalidInput naming the option, before any call', async (label, options) => {
    const hostile = new EncryptedRegistry(options);
    for (const run of [() => hostile.audit(), () => hostile.findOrphanedGrants(), () => hostile.deleteRepository({ repositoryName: 'team/app' })]) {
      const error = await errorOf(run);
      expect(error).toMatchObject({ kind: 'InvalidInput' });
      expect(error.field).toMatch(new RegExp(`^options\\.${label.split(/[ =]/)[0]?.split('.')[0] ?? ''}`));
    }
    hostile.destroy();
  });
});

describe('helpers without an error channel', () => {
  it.each(HOSTILE)('isRegistryError(%s) answers false and never throws', (_, make) => {
    expect(isRegistryError(make())).toBe(false);
  });

  it.each(HOSTILE)('isRetryable(%s) answers false and never throws', (_, make) => {
    expect(isRetryable(make() as never)).toBe(false);
  });

  it.each(HOSTILE.filter(([label]) => label !== 'a string'))('fileJournal(%s) never throws; using it answers JournalFailed', async (_, make) => {
    const journal = fileJournal(make() as never);
    expect((await journal.load())._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load' });
    expect((await journal.save({} as never))._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'save' });
    expect(typeof journal.description).toBe('string');
  });

  it.each(HOSTILE.filter(([label]) => label !== 'undefined'))('memoryJournal(%s) never throws; loading it answers JournalFailed', async (_, make) => {
    const journal = memoryJournal(make() as never);
    expect((await journal.load())._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load' });
  });

  it('a migration with a journal that cannot load stops before any AWS call', async () => {
    const error = await errorOf(() => registry.resumeMigration({ journal: fileJournal(null as never) }));
    expect(error).toMatchObject({ kind: 'JournalFailed' });
  });
});
