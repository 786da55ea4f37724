/**
 * The schemas every public operation reads its argument with (see `./validate/input.ts`). The rule: a field
 * of the wrong JavaScript type (a number for a name, `null` for a journal, a string where an
 * array goes) is `InvalidInput` naming the field, before any AWS call, in every operation. The
 * *values* of well-typed fields (a name's pattern, a key reference's form, a mutability, a
 * concurrency's range) are the operation's to check, with its own kinds (`InvalidRepositoryName`,
 * `InvalidEncryption`, preflight findings) as before.
 */
import type { ECRClient, ECRClientConfig } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { STSClient } from '@aws-sdk/client-sts';
import { err, ok } from 'neverthrow';
import type { InvalidInput } from './errors.js';
import { RateGovernor } from './internal/rate-governor.js';
import type { MigrationJournal, MigrationProgress } from './migration/types.js';
import type { RepositoriesMigrationProgress } from './fleet-migration/types.js';
import type { TemplateScenario } from './encryption/templates.js';
import type { AuditProgress, AuditRequirement } from './operations/audit-types.js';
import type { FindOrphanedGrantsInput } from './operations/orphaned-grants.js';
import { policyDocument, type PolicyDocument } from './policy/index.js';
import type { Clock } from './internal/wait.js';
import type { EncryptedRegistryOptions, RateQuotaOverrides } from './registry-options.js';
import { RATE_QUOTA_KEY } from './internal/rate-quotas.js';
import type { EncryptionSpec, ImageTagMutability, RegistryLogger } from './types.js';
import {
  array,
  boolean,
  describeValue,
  dictionary,
  either,
  fn,
  literal,
  number,
  optional,
  record,
  type Schema,
  string,
  withMethods,
} from './validate/input.js';

const MAX_DEPTH = 32;

const copy = (value: unknown, field: string, depth: number): InvalidInput | { value: unknown } => {
  if (typeof value === 'bigint') return { kind: 'InvalidInput', field, reason: 'must not be a bigint' };
  if (typeof value !== 'object' || value === null) return { value };
  if (depth > MAX_DEPTH) return { kind: 'InvalidInput', field, reason: `is nested deeper than ${MAX_DEPTH} levels` };
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    const length: number = value.length;
    for (let i = 0; i < length; i += 1) {
      const item = copy(value[i], `${field}[${i}]`, depth + 1);
      if ('kind' in item) return item;
      items.push(item.value);
    }
    return { value: items };
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  // Class instances (a Date, a Map) are not data the operations read field by field: the
  // operation's own check rejects them. Only plain objects are copied.
  if (prototype !== Object.prototype && prototype !== null) return { value };
  const fields: Record<string, unknown> = {};
  for (const [name, entry] of Object.entries(value)) {
    const item = copy(entry, `${field}.${name}`, depth + 1);
    if ('kind' in item) return item;
    fields[name] = item.value;
  }
  return { value: fields };
};

/**
 * Any value, deep-copied (plain objects and arrays; each property read once), for the operation to
 * check itself. The type parameter is what the operation's own runtime check accepts: it takes
 * any value and answers its own typed error for the wrong ones. Only a `bigint` (which
 * `JSON.stringify` cannot print) and cycles are refused here.
 */
const copied = <T>(): Schema<T> => ({
  expected: 'a value the operation checks',
  read: (value, field) => {
    const result = copy(value, field, 0);
    // The operation checks this value at run time, whatever it is (see the doc comment).
    return 'kind' in result ? err(result) : ok(result.value as T);
  },
});

const abortSignal = withMethods<AbortSignal>('an AbortSignal', ['addEventListener', 'removeEventListener'], ['aborted']);
const journal = withMethods<MigrationJournal>('a MigrationJournal (e.g. fileJournal("./app.migration.json"))', ['load', 'save', 'clear'], ['description']);

/**
 * An encryption spec's JavaScript shape: a string (`'AES256'`) or `{ type, key? }` with strings.
 * Which strings are right (`KMS`, a key reference's form) is `parseEncryption`'s to say.
 */
const encryption: Schema<EncryptionSpec> = {
  expected: "'AES256' or { type, key? }",
  read: (value, field) =>
    // `parseEncryption` checks the values (type AES256, KMS or KMS_DSSE; the key's form).
    either(string, record({ type: string, key: optional(string) }, '{ type, key? }'))
      .read(value, field)
      .map((spec) => spec as EncryptionSpec),
};

/**
 * A policy document given as an object: deep-copied as given (the preflight sends that text), and
 * the copy checked against the policy grammar's types.
 */
const policyDocumentObject: Schema<PolicyDocument> = {
  expected: 'a policy document object',
  read: (value, field) =>
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? copied<PolicyDocument>()
          .read(value, field)
          .andThen((copy) => policyDocument.read(copy, field).map(() => copy))
      : err({ kind: 'InvalidInput', field, reason: `must be JSON text or a policy document object, not ${describeValue(value)}` }),
};

/** `createEncryptedRepository` and `preflight`. */
export const createRepositoryInput = record({
  repositoryName: string,
  encryption,
  tags: optional(array(record({ Key: string, Value: string }, '{ Key, Value }'))),
  // The preflight says which strings are mutabilities.
  imageTagMutability: optional(string as Schema<ImageTagMutability>),
  imageTagMutabilityExclusionFilters: optional(array(string)),
  scanOnPush: optional(boolean),
  repositoryPolicy: optional(either(string, policyDocumentObject)),
  lifecyclePolicy: optional(string),
  signal: optional(abortSignal),
});

/** `doctor`. */
export const doctorInput = record({
  kmsKey: optional(string),
  repositoryName: optional(string),
  signal: optional(abortSignal),
});

export const deleteRepositoryInput = record({
  repositoryName: string,
  force: optional(boolean),
  signal: optional(abortSignal),
});

export const findOrphanedGrantsInput = record({
  keys: optional(array(string)),
  waitForDecidableMs: optional(number),
  onWait: optional(fn<NonNullable<FindOrphanedGrantsInput['onWait']>>()),
  signal: optional(abortSignal),
});

export const retireOrphanedGrantsInput = record({
  keys: optional(array(string)),
  waitForDecidableMs: optional(number),
  onWait: optional(fn<NonNullable<FindOrphanedGrantsInput['onWait']>>()),
  dryRun: optional(boolean),
  concurrency: optional(number),
  signal: optional(abortSignal),
});

export const auditInput = record({
  // The operation says which strings are rules (`cmk`, `kms`, `any`).
  require: optional(string as Schema<AuditRequirement>),
  allowedKeys: optional(array(string)),
  usage: optional(
    record({
      pushesPerMonth: optional(number),
      pullsPerMonth: optional(number),
      layersPerImage: optional(number),
    }),
  ),
  posture: optional(boolean),
  onProgress: optional(fn<(progress: AuditProgress) => void>()),
  signal: optional(abortSignal),
});

/** `ensureCreationTemplate`: the operation says which strings are prefixes, scenarios and role ARNs. */
export const ensureCreationTemplateInput = record({
  prefix: string,
  appliedFor: array(string as Schema<TemplateScenario>),
  encryption,
  customRoleArn: optional(string),
  description: optional(string),
  signal: optional(abortSignal),
});

export const listCreationTemplatesInput = record({ signal: optional(abortSignal) });

export const planMigrationInput = record({
  repositoryName: string,
  encryption,
  restoreArchived: optional(boolean),
  replicaClients: optional(dictionary(withMethods<ECRClient>('an ECR client', ['send']))),
  signal: optional(abortSignal),
});

export const migrateRepositoryInput = record({
  repositoryName: string,
  encryption,
  journal: optional(journal),
  concurrency: optional(number),
  onProgress: optional(fn<(progress: MigrationProgress) => void>()),
  replicaClients: optional(dictionary(withMethods<ECRClient>('an ECR client', ['send']))),
  replicaKmsClients: optional(dictionary(withMethods<KMSClient>('a KMS client', ['send']))),
  signal: optional(abortSignal),
  restoreArchived: optional(boolean),
});

export const resumeMigrationInput = record({
  journal,
  concurrency: optional(number),
  onProgress: optional(fn<(progress: MigrationProgress) => void>()),
  replicaClients: optional(dictionary(withMethods<ECRClient>('an ECR client', ['send']))),
  replicaKmsClients: optional(dictionary(withMethods<KMSClient>('a KMS client', ['send']))),
  signal: optional(abortSignal),
});

const repositoryFilter = record({
  encryptionTypes: optional(array(literal('AES256', 'KMS', 'KMS_DSSE'))),
  onKeys: optional(array(string)),
  notOnKeys: optional(array(string)),
  name: optional(string),
});

export const migrateRepositoriesInput = record({
  encryption: optional(encryption),
  where: optional(repositoryFilter),
  repositoryNames: optional(array(string)),
  journal: optional(string),
  resume: optional(boolean),
  planOnly: optional(boolean),
  concurrency: optional(number),
  blobConcurrency: optional(number),
  restoreArchived: optional(boolean),
  onProgress: optional(fn<(progress: RepositoriesMigrationProgress) => void>()),
  signal: optional(abortSignal),
});

// ---------------------------------------------------------------------------------------------
// The EncryptedRegistry constructor
// ---------------------------------------------------------------------------------------------

/** An SDK client: something with `send` and `config`, kept by reference. */
const client = <C>(service: string): Schema<C> => withMethods<C>(`an SDK ${service} client`, ['send', 'destroy'], ['config']);

const nonNegative: Schema<number> = {
  expected: 'a number of 0 or more',
  read: (value, field) =>
    number.read(value, field).andThen((n) => (n >= 0 ? ok(n) : err<never, InvalidInput>({ kind: 'InvalidInput', field, reason: 'must be 0 or more' }))),
};

/** A quota: requests per second, more than 0 (fractions allowed: KMS has 0.25/s quotas), or `false`. */
const quotaValue: Schema<number | false> = {
  expected: 'a number of requests per second above 0, or false',
  read: (value, field) =>
    value === false
      ? ok(false)
      : number.read(value, field).andThen((n) => (n > 0 ? ok(n) : err<never, InvalidInput>({ kind: 'InvalidInput', field, reason: 'must be above 0 (or false to leave the API unpaced)' }))),
};

/** `rateQuotas`: `'aws'`, `false`, a shared governor, or quotas keyed `'<service>:<Operation>'` (a typo would silently pace nothing). */
const rateQuotas: Schema<'aws' | RateQuotaOverrides | false | RateGovernor> = {
  expected: "'aws', false, a governor from createRateGovernor, or an object of quotas keyed '<service>:<Operation>'",
  read: (value, field) => {
    if (value === false) return ok(false);
    if (value instanceof RateGovernor) return ok(value);
    if (value === 'aws') return ok('aws' as const);
    return dictionary(quotaValue)
      .read(value, field)
      .andThen((quotas) => {
        const bad = Object.keys(quotas).find((api) => !RATE_QUOTA_KEY.test(api));
        return bad === undefined
          ? ok(quotas)
          : err<never, InvalidInput>({ kind: 'InvalidInput', field: `${field}.${bad}`, reason: "must be keyed '<service>:<Operation>' with service ecr, kms, iam or sts, e.g. 'ecr:PutImage'" });
      });
  },
};

export const registryOptions: Schema<EncryptedRegistryOptions> = record({
  clients: optional(
    record({
      ecr: optional(client<ECRClient>('ECR')),
      kms: optional(client<KMSClient>('KMS')),
      iam: optional(client<IAMClient>('IAM')),
      sts: optional(client<STSClient>('STS')),
    }),
  ),
  clientConfig: optional(
    record({
      region: optional(string),
      // Credentials: an object of keys, or a provider function; the SDK checks the rest.
      credentials: optional(
        either(
          fn<ECRClientConfig['credentials']>(),
          withMethods<ECRClientConfig['credentials']>('credentials { accessKeyId, secretAccessKey }', [], ['accessKeyId', 'secretAccessKey']),
        ),
      ),
      endpoint: optional(string),
      maxAttempts: optional(nonNegative),
      retryMode: optional(literal('standard', 'adaptive')),
      // A handler instance or its options; kept by reference, the SDK reads it.
      requestHandler: optional(withMethods<ECRClientConfig['requestHandler']>('a request handler or its options', [])),
    }),
  ),
  logger: optional(withMethods<RegistryLogger>('a logger { debug, info, warn }', ['debug', 'info', 'warn'])),
  clock: optional(withMethods<Clock>('a clock { sleep, now }', ['sleep', 'now'])),
  allowInsecureHttp: optional(boolean),
  rateQuotas: optional(rateQuotas),
  poll: optional(
    record({
      initialDelayMs: optional(nonNegative),
      maxDelayMs: optional(nonNegative),
      timeoutMs: optional(nonNegative),
    }),
  ),
});
