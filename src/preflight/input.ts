/** The input checks of the preflight: pure, before any AWS call. */
import { parseEncryption, type ParsedEncryption } from '../encryption/spec.js';
import type { PolicyDocument } from '../policy/types.js';
import type { ImageTagMutability, RepositoryTag } from '../types.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import { errorFinding } from './finding.js';
import type { BlockingFinding, Finding, PreflightCheck, PreflightInput } from './types.js';

const MAX_TAGS = 50;
const MAX_POLICY = 10_240;
const LIFECYCLE_MIN = 100;
const LIFECYCLE_MAX = 30_720;
const EXCLUSION_FILTER = /^[0-9a-zA-Z._*-]{1,128}$/;
const MUTABILITIES: ReadonlySet<string> = new Set<ImageTagMutability>([
  'MUTABLE',
  'IMMUTABLE',
  'MUTABLE_WITH_EXCLUSION',
  'IMMUTABLE_WITH_EXCLUSION',
]);

const invalidInput = (field: string, reason: string): BlockingFinding => {
  const check: PreflightCheck = field.startsWith('tags')
    ? 'tags'
    : field.startsWith('imageTagMutability')
      ? 'imageTagMutability'
      : field === 'repositoryPolicy' || field === 'lifecyclePolicy' || field === 'scanOnPush'
        ? field
        : 'encryption';
  return errorFinding(check, `${field}: ${reason}`, { kind: 'InvalidInput', field, reason });
};

const checkTags = (tags: readonly RepositoryTag[] | undefined): Finding[] => {
  if (tags === undefined) return [];
  if (!Array.isArray(tags)) return [invalidInput('tags', 'must be an array of { Key, Value }')];
  const findings: Finding[] = [];
  if (tags.length > MAX_TAGS) findings.push(invalidInput('tags', `at most ${MAX_TAGS} tags per repository (got ${tags.length})`));
  const seen = new Set<string>();
  tags.forEach((tag: RepositoryTag, i) => {
    const key: unknown = tag?.Key;
    const value: unknown = tag?.Value;
    if (typeof key !== 'string' || key.length < 1 || key.length > 128) {
      findings.push(invalidInput(`tags[${i}].Key`, 'must be 1 to 128 characters long'));
    } else if (key.toLowerCase().startsWith('aws:')) {
      findings.push(invalidInput(`tags[${i}].Key`, 'the aws: prefix is reserved for AWS'));
    } else if (seen.has(key)) {
      findings.push(invalidInput(`tags[${i}].Key`, `duplicate tag key "${key}"`));
    } else {
      seen.add(key);
    }
    if (typeof value !== 'string' || value.length > 256) {
      findings.push(invalidInput(`tags[${i}].Value`, 'must be a string of at most 256 characters'));
    }
  });
  return findings;
};

const checkMutability = (input: PreflightInput): Finding[] => {
  const { imageTagMutability: mutability, imageTagMutabilityExclusionFilters: filters } = input;
  const findings: Finding[] = [];
  if (mutability !== undefined && !MUTABILITIES.has(mutability)) {
    findings.push(invalidInput('imageTagMutability', `must be one of ${[...MUTABILITIES].join(', ')}`));
  }
  const withExclusion = mutability?.endsWith('_WITH_EXCLUSION') ?? false;
  if (filters === undefined) {
    if (withExclusion) findings.push(invalidInput('imageTagMutabilityExclusionFilters', `${mutability} needs 1 to 5 exclusion filters`));
    return findings;
  }
  if (!withExclusion) {
    findings.push(
      invalidInput('imageTagMutabilityExclusionFilters', 'exclusion filters need imageTagMutability MUTABLE_WITH_EXCLUSION or IMMUTABLE_WITH_EXCLUSION'),
    );
  }
  if (!Array.isArray(filters) || filters.length < 1 || filters.length > 5) {
    findings.push(invalidInput('imageTagMutabilityExclusionFilters', 'must be 1 to 5 filters'));
    return findings;
  }
  filters.forEach((filter: unknown, i) => {
    if (typeof filter !== 'string' || !EXCLUSION_FILTER.test(filter)) {
      findings.push(invalidInput(`imageTagMutabilityExclusionFilters[${i}]`, 'must match ^[0-9a-zA-Z._*-]{1,128}$'));
    }
  });
  return findings;
};

/** The repository policy as the text to send, or why it cannot be sent. */
export const repositoryPolicyText = (policy: string | PolicyDocument): string => (typeof policy === 'string' ? policy : JSON.stringify(policy));

const checkJsonDocument = (field: 'repositoryPolicy' | 'lifecyclePolicy', text: unknown, min: number, max: number): Finding[] => {
  if (typeof text !== 'string') return [invalidInput(field, 'must be JSON text')];
  if (text.length < min || text.length > max) {
    return [invalidInput(field, `must be ${min} to ${max} characters long (is ${text.length})`)];
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return [invalidInput(field, 'must be a JSON object')];
  } catch (cause) {
    return [invalidInput(field, `is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}`)];
  }
  return [];
};

/** What the input checks found, and the parsed values the AWS checks need. */
interface CheckedInput {
  readonly findings: Finding[];
  readonly repositoryName: string | undefined;
  readonly encryption: ParsedEncryption | undefined;
}

/** Every input check, in one pass: nothing here calls AWS. */
export const checkInput = (input: PreflightInput): CheckedInput => {
  const findings: Finding[] = [];
  const name = validateRepositoryName(input.repositoryName);
  if (name.isErr()) findings.push(errorFinding('repositoryName', `repository name "${name.error.repositoryName}" ${name.error.reason}`, name.error));
  const encryption = parseEncryption(input.encryption);
  if (encryption.isErr()) findings.push(errorFinding('encryption', encryption.error.reason, encryption.error));
  findings.push(...checkTags(input.tags));
  findings.push(...checkMutability(input));
  if (input.scanOnPush !== undefined && typeof input.scanOnPush !== 'boolean') findings.push(invalidInput('scanOnPush', 'must be a boolean'));
  if (input.repositoryPolicy !== undefined) {
    findings.push(...checkJsonDocument('repositoryPolicy', repositoryPolicyText(input.repositoryPolicy), 1, MAX_POLICY));
  }
  if (input.lifecyclePolicy !== undefined) {
    findings.push(...checkJsonDocument('lifecyclePolicy', input.lifecyclePolicy, LIFECYCLE_MIN, LIFECYCLE_MAX));
  }
  return {
    findings,
    repositoryName: name.isOk() ? name.value : undefined,
    encryption: encryption.isOk() ? encryption.value : undefined,
  };
};

