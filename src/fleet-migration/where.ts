/**
 * The fleet migration's selection: `where` expressions (`encryption=AES256`, `key!=alias/…,arn:…`,
 * `name=team/*`) read into a {@link RepositoryFilter}, the filter's checks, and whether a
 * repository matches it (once its key references are resolved to key ARNs, `keys.ts`).
 */
import type { Repository } from '@aws-sdk/client-ecr';
import { err, ok, type Result } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS, parseKeyReference } from '../encryption/spec.js';
import type { InvalidInput } from '../errors.js';
import { compilePattern } from '../policy/index.js';
import type { EncryptionType } from '../types.js';
import type { RepositoryFilter } from './types.js';

const TYPES: readonly EncryptionType[] = ['AES256', 'KMS', 'KMS_DSSE'];
/** A migration's staging repository (`staging-name.ts`): never selected. */
const STAGING = /(^encrypted-ecr-migrating-|-migrating-)[0-9a-f]{12}$/;

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

const listOf = (value: string): string[] => value.split(',').map((v) => v.trim()).filter((v) => v !== '');

/** Checks a filter's values (types, key references, the glob); `undefined` when it is fine. */
export const checkFilter = (filter: RepositoryFilter, field = 'where'): InvalidInput | undefined => {
  for (const type of filter.encryptionTypes ?? []) {
    if (!TYPES.includes(type)) return invalid(`${field}.encryptionTypes`, `${String(type)} is not one of ${TYPES.join(', ')}`);
  }
  for (const name of ['onKeys', 'notOnKeys'] as const) {
    for (const key of filter[name] ?? []) {
      const reference = parseKeyReference(key);
      if (reference.isErr()) return invalid(`${field}.${name}`, `${key}: ${reference.error.reason}`);
    }
  }
  if (filter.name !== undefined && filter.name.trim() === '') return invalid(`${field}.name`, 'the name pattern is empty');
  return undefined;
};

/**
 * Reads `where` expressions (all must hold): `encryption=AES256[,KMS…]` or `encryption!=…`,
 * `key=<key>[,…]` or `key!=<key>[,…]` (a key ARN, `alias/<name>`, an alias ARN or a key id; the
 * migration resolves aliases and key ids with DescribeKey before it selects), `name=<glob>` (`*`
 * any run, `?` one character).
 *
 * @example
 * ```ts
 * parseRepositoryFilter(['encryption=AES256', 'name=team/*']);
 * // ok({ encryptionTypes: ['AES256'], name: 'team/*' })
 * ```
 */
export const parseRepositoryFilter = (expressions: readonly string[]): Result<RepositoryFilter, InvalidInput> => {
  const filter: { encryptionTypes?: EncryptionType[]; onKeys?: string[]; notOnKeys?: string[]; name?: string } = {};
  for (const expression of expressions) {
    const match = /^\s*([a-z]+)\s*(!=|=)\s*(.*?)\s*$/.exec(expression);
    if (match === null) return err(invalid('where', `"${expression}" is not <field>=<value> or <field>!=<value> (fields: encryption, key, name)`));
    const [, field = '', operator, value = ''] = match;
    const values = listOf(value);
    if (values.length === 0) return err(invalid('where', `"${expression}" has no value`));
    if (field === 'encryption') {
      const upper = values.map((v) => v.toUpperCase());
      const unknown = upper.find((v) => !TYPES.includes(v as EncryptionType));
      if (unknown !== undefined) return err(invalid('where', `"${expression}": ${unknown} is not one of ${TYPES.join(', ')}`));
      const chosen = operator === '=' ? TYPES.filter((t) => upper.includes(t)) : TYPES.filter((t) => !upper.includes(t));
      filter.encryptionTypes = filter.encryptionTypes === undefined ? chosen : filter.encryptionTypes.filter((t) => chosen.includes(t));
    } else if (field === 'key') {
      if (operator === '=') filter.onKeys = [...(filter.onKeys ?? []), ...values];
      else filter.notOnKeys = [...(filter.notOnKeys ?? []), ...values];
    } else if (field === 'name') {
      if (operator !== '=' || values.length !== 1 || filter.name !== undefined) return err(invalid('where', `"${expression}": name takes one glob, with =, once`));
      filter.name = value;
    } else {
      return err(invalid('where', `"${expression}": unknown field ${field} (fields: encryption, key, name)`));
    }
  }
  const bad = checkFilter(filter);
  return bad === undefined ? ok(filter) : err({ ...bad, field: 'where' });
};

/**
 * The name glob, compiled by the policy evaluator's one compiler (`StringLike` semantics: `*` any
 * run, `/` included, `?` one character, everything else literal, case-sensitive).
 */
export const nameGlob = (pattern: string): ((name: string) => boolean) => {
  const compiled = compilePattern(pattern, { mode: 'glob', ignoreCase: false, variables: false });
  // No policy variables here: the request context is never read.
  const noContext = new Map<string, never>();
  return (name) => compiled.matches(name, noContext);
};

/** Whether a repository is a migration's staging repository (never selected). */
export const isStagingName = (name: string): boolean => STAGING.test(name);

/**
 * Whether the repository matches the filter (and is not a staging repository). The filter's keys
 * are key ARNs here (`keys.ts` resolved the rest); a `KMS` repository whose `kmsKey` ECR leaves
 * out is on `aws/ecr` (`ecr.kms-default-aws-managed`), which `alias/aws/ecr` in the filter stands for.
 */
export const matchesFilter = (filter: RepositoryFilter): ((repository: Repository) => boolean) => {
  const glob = filter.name === undefined ? undefined : nameGlob(filter.name);
  return (repository) => {
    const name = repository.repositoryName ?? '';
    if (name === '' || isStagingName(name)) return false;
    const type = repository.encryptionConfiguration?.encryptionType ?? 'AES256';
    const key = type === 'AES256' ? undefined : (repository.encryptionConfiguration?.kmsKey ?? AWS_MANAGED_ECR_ALIAS);
    if (filter.encryptionTypes !== undefined && !filter.encryptionTypes.includes(type)) return false;
    if (filter.onKeys !== undefined && (key === undefined || !filter.onKeys.includes(key))) return false;
    if (filter.notOnKeys !== undefined && key !== undefined && filter.notOnKeys.includes(key)) return false;
    return glob === undefined || glob(name);
  };
};
