/**
 * `preflight`: every check `createEncryptedRepository` makes, without creating anything. Each check
 * that fails becomes a {@link Finding} carrying the typed error it would make `create` return, so a
 * caller sees every problem at once instead of one per attempt.
 */
import type { ContextEntry, EvaluationResult } from '@aws-sdk/client-iam';
import type { KeyMetadata } from '@aws-sdk/client-kms';
import type { Repository } from '@aws-sdk/client-ecr';
import { errAsync, okAsync, ResultAsync } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS, type ParsedEncryption, parseEncryption } from '../encryption/spec.js';
import type {
  EncryptionMismatch,
  GenericAwsError,
  InvalidEncryption,
  InvalidInput,
  InvalidRepositoryName,
  KeyError,
  KeyNotUsable,
  KeyNotUsableReason,
  MissingPermissions,
  PreflightError,
} from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { explainAccess } from '../policy/evaluate.js';
import type { AccessDecision, AccessRequest, ContextValue, PolicyDocument, RequestPrincipal } from '../policy/types.js';
import { findRepository } from '../steps/ecr-repository.js';
import { getRoleArn, type IamUnavailable, simulatePrincipalPolicy } from '../steps/iam.js';
import { ecrRepositoryArnOf, GRANTS_PER_KEY_QUOTA, isEcrServiceGrant, listAllGrants } from '../steps/kms-grants.js';
import { describeKey, getKeyPolicy } from '../steps/kms-keys.js';
import { getCallerIdentity } from '../steps/sts.js';
import { validateRepositoryName } from '../validate/repository-name.js';
import type { Cancellable, EncryptionDescription, EncryptionSpec, Severity } from '../types.js';

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/** ECR's tag mutability settings. `*_WITH_EXCLUSION` needs exclusion filters, and only it takes them. */
export type ImageTagMutability = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION';

/** A resource tag, as ECR's API writes it. */
export interface RepositoryTag {
  readonly Key: string;
  readonly Value: string;
}

/** What to create: the input of `createEncryptedRepository` and `preflight`. */
export interface CreateEncryptedRepositoryInput extends Cancellable {
  /** 2–256 characters: lowercase letters and digits in parts separated by `.`, `_`, `__`, `-` or `/`. */
  readonly repositoryName: string;
  readonly encryption: EncryptionSpec;
  /** At most 50; keys 1–128 characters, values up to 256, no `aws:` prefix. */
  readonly tags?: readonly RepositoryTag[];
  /** Defaults to ECR's `MUTABLE`. */
  readonly imageTagMutability?: ImageTagMutability;
  /** 1–5 wildcard filters (`[0-9a-zA-Z._*-]`, up to 128 characters); only with `*_WITH_EXCLUSION`. */
  readonly imageTagMutabilityExclusionFilters?: readonly string[];
  /** Basic scanning on push (ECR deprecates this in favour of registry-level scanning but honours it). */
  readonly scanOnPush?: boolean;
  /** The repository policy, as JSON text (up to 10,240 characters) or as a document. */
  readonly repositoryPolicy?: string | PolicyDocument;
  /** The lifecycle policy as JSON text (100–30,720 characters). */
  readonly lifecyclePolicy?: string;
}

/** Input of `preflight`: the same as for `createEncryptedRepository`. */
export type PreflightInput = CreateEncryptedRepositoryInput;

/** The checks a preflight runs, in the order they run. */
export type PreflightCheck =
  | 'repositoryName'
  | 'encryption'
  | 'tags'
  | 'imageTagMutability'
  | 'scanOnPush'
  | 'repositoryPolicy'
  | 'lifecyclePolicy'
  | 'keyRegion'
  | 'keyExists'
  | 'awsManagedKey'
  | 'keyState'
  | 'keyUsage'
  | 'keySpec'
  | 'dsseRegion'
  | 'grantHeadroom'
  | 'callerIdentity'
  | 'permissions'
  | 'keyPolicy'
  | 'repository'
  // Only in `createEncryptedRepository` results: what was verified after creation.
  | 'encryptionEcho'
  | 'grants'
  | 'settings';

/** The typed errors a preflight finding can carry: what `createEncryptedRepository` would return. */
export type PreflightFindingError =
  | InvalidRepositoryName
  | InvalidEncryption
  | InvalidInput
  | KeyError
  | MissingPermissions
  | EncryptionMismatch
  | GenericAwsError;

/** One result of one check. */
export interface Finding {
  readonly check: PreflightCheck;
  /** `error` stops `createEncryptedRepository`; `warning` and `info` do not. */
  readonly severity: Severity;
  readonly message: string;
  /** The typed error the failing check would produce. */
  readonly error?: PreflightFindingError;
}

/** A repository that exists already, as the preflight found it. */
export interface ExistingRepository {
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  readonly createdAt: Date | undefined;
  readonly registryId: string;
  readonly encryption: EncryptionDescription;
}

/** What the preflight learned on the way (each fact only when its check could run). */
export interface PreflightFacts {
  readonly region?: string;
  readonly account?: string;
  /** `GetCallerIdentity`'s ARN (an assumed-role session ARN for roles). */
  readonly callerArn?: string;
  /** The role behind an assumed-role session, with its path (from `iam:GetRole`). */
  readonly roleArn?: string;
  /** The ARN the repository will have. */
  readonly repositoryArn?: string;
  /** The key's canonical ARN, as DescribeKey resolved the reference. */
  readonly keyArn?: string;
  readonly keyManager?: 'AWS' | 'CUSTOMER';
  /** All grants on a customer-managed key (the 50,000 quota counts them all). */
  readonly grantCount?: number;
  /** Of those, the grants ECR made for repositories. */
  readonly ecrGrantCount?: number;
  /** Set when the repository exists already. */
  readonly existingRepository?: ExistingRepository;
  /**
   * `DescribeKey("alias/aws/ecr")` creates the AWS-managed key on first use: `true` when the key's
   * creation date is within a minute of this preflight, i.e. most likely this call created it.
   */
  readonly awsManagedKeyCreated?: boolean;
}

/** Every finding of a preflight, and the facts it resolved. */
export interface PreflightReport {
  /** No finding of severity `error`: `createEncryptedRepository` would go ahead. */
  readonly ok: boolean;
  readonly findings: readonly Finding[];
  readonly facts: PreflightFacts;
}

// ---------------------------------------------------------------------------------------------
// Input checks (pure, before any AWS call)
// ---------------------------------------------------------------------------------------------

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

/** Two grants per repository (ECR's documented count). */
const GRANTS_PER_REPOSITORY = 2;
/** Warn from 90% of the grant quota. */
const GRANT_WARNING_RATIO = 0.9;
/** How close to "now" a key's CreationDate must be for us to say DescribeKey just created it. */
const JUST_CREATED_MS = 60_000;

const errorFinding = (check: PreflightCheck, message: string, error: PreflightFindingError): Finding => ({
  check,
  severity: 'error',
  message,
  error,
});
const note = (check: PreflightCheck, severity: Severity, message: string): Finding => ({ check, severity, message });
const invalidInput = (field: string, reason: string): Finding => {
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

/**
 * The partition of a region, as the AWS SDK's endpoint rules read region names
 * (`@aws-sdk/core` `util-endpoints/lib/aws/partitions.json`, `regionRegex` of each partition).
 * `undefined` for a name no partition claims (a local emulator's region, a region not yet known):
 * then nothing is compared.
 *
 * @example
 * ```ts
 * partitionOfRegion('cn-north-1'); // 'aws-cn'
 * partitionOfRegion('eu-west-1'); // 'aws'
 * ```
 */
export const partitionOfRegion = (region: string): string | undefined => PARTITIONS.find(([pattern]) => pattern.test(region))?.[1];

// The specific partitions first: `aws`'s pattern is the loosest.
const PARTITIONS: readonly (readonly [RegExp, string])[] = [
  [/^cn-\w+-\d+$/, 'aws-cn'],
  [/^us-gov-\w+-\d+$/, 'aws-us-gov'],
  [/^us-iso-\w+-\d+$/, 'aws-iso'],
  [/^us-isob-\w+-\d+$/, 'aws-iso-b'],
  [/^eu-isoe-\w+-\d+$/, 'aws-iso-e'],
  [/^us-isof-\w+-\d+$/, 'aws-iso-f'],
  [/^eusc-de-\w+-\d+$/, 'aws-eusc'],
  [/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, 'aws'],
];

/** A key ARN of another partition than the repository's region: no key there can be the repository's. */
const partitionFinding = (keyArn: string, keyPartition: string, region: string): Finding[] => {
  const expected = partitionOfRegion(region);
  if (expected === undefined || expected === keyPartition) return [];
  return [
    errorFinding(
      'keyRegion',
      `the key ${keyArn} is in partition ${keyPartition}, the repository's region ${region} is in partition ${expected}: ECR needs a key of the same region`,
      {
        kind: 'InvalidEncryption',
        reason: `the key ARN's partition ${keyPartition} is not the partition ${expected} of the region ${region}`,
        key: keyArn,
      },
    ),
  ];
};

/** A key ARN or alias ARN names its partition and region: compare them with the repository's before any call. */
const checkKeyReferenceRegion = (encryption: ParsedEncryption | undefined, region: string): Finding[] => {
  const key = encryption?.key;
  if (key === undefined || (key.form !== 'key-arn' && key.form !== 'alias-arn')) return [];
  const partition = partitionFinding(key.value, key.partition, region);
  if (partition.length > 0) return partition;
  if (key.region === region) return [];
  return [
    errorFinding(
      'keyRegion',
      `the key ${key.value} is in ${key.region}, the repository would be in ${region}: ECR needs a key in the same region` +
        ' (for a multi-Region key, use its replica in this region)',
      { kind: 'KeyRegionMismatch', keyArn: key.value, keyRegion: key.region, repositoryRegion: region },
    ),
  ];
};

// ---------------------------------------------------------------------------------------------
// Key checks
// ---------------------------------------------------------------------------------------------

/** The key as DescribeKey resolved it. */
export interface ResolvedKey {
  readonly arn: string;
  readonly manager: 'AWS' | 'CUSTOMER';
  readonly usable: boolean;
  /** `false` when DescribeKey was denied and the ARN comes from the reference itself (state, usage, spec unverified). */
  readonly described?: boolean;
}

interface KeyOutcome {
  readonly findings: Finding[];
  readonly key?: ResolvedKey;
  readonly grantCount?: number;
  readonly ecrGrantCount?: number;
  readonly awsManagedKeyCreated?: boolean;
}

const STATE_REASONS: Readonly<Record<string, KeyNotUsableReason>> = {
  Disabled: 'Disabled',
  PendingDeletion: 'PendingDeletion',
  PendingReplicaDeletion: 'PendingDeletion',
  PendingImport: 'PendingImport',
  Unavailable: 'Unavailable',
  Creating: 'Creating',
  Updating: 'Updating',
};

const regionOfArn = (arn: string): string | undefined => arn.split(':')[3];

const stateDetail = (metadata: KeyMetadata): string => {
  const state = metadata.KeyState ?? 'unknown';
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') {
    const when = metadata.DeletionDate
      ? ` on ${metadata.DeletionDate.toISOString()}`
      : metadata.PendingDeletionWindowInDays !== undefined
        ? ` ${metadata.PendingDeletionWindowInDays} days after its last replica is deleted`
        : '';
    return `key is ${state === 'PendingReplicaDeletion' ? 'pending deletion (waiting for its replicas)' : 'pending deletion'}${when}; cancel the deletion to use it`;
  }
  if (state === 'Unavailable') return 'key is unavailable (its custom key store is disconnected): ECR could not encrypt or decrypt';
  return `key state is ${state}, ECR needs Enabled`;
};

/** Checks state, usage, spec and region of a resolved key. */
const checkKeyMetadata = (metadata: KeyMetadata & { readonly Arn: string }, region: string, type: string): Finding[] => {
  const findings: Finding[] = [];
  const notUsable = (check: PreflightCheck, reason: KeyNotUsableReason, detail: string): void => {
    const error: KeyNotUsable = { kind: 'KeyNotUsable', keyArn: metadata.Arn, reason, detail };
    findings.push(errorFinding(check, `${metadata.Arn}: ${detail}`, error));
  };
  const state = metadata.KeyState;
  if (state !== 'Enabled' || metadata.Enabled === false) {
    notUsable('keyState', (state && STATE_REASONS[state]) ?? 'Disabled', stateDetail(metadata));
  }
  if (metadata.KeyUsage !== undefined && metadata.KeyUsage !== 'ENCRYPT_DECRYPT') {
    notUsable('keyUsage', 'WrongKeyUsage', `key usage is ${metadata.KeyUsage}, ECR needs ENCRYPT_DECRYPT`);
  }
  // CustomerMasterKeySpec is the deprecated name of the same field; older keys may report only it.
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  if (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') {
    notUsable('keySpec', 'WrongKeySpec', `key spec is ${spec}, ECR needs a symmetric encryption key (SYMMETRIC_DEFAULT)`);
  }
  const keyPartition = metadata.Arn.split(':')[1];
  if (keyPartition !== undefined) findings.push(...partitionFinding(metadata.Arn, keyPartition, region));
  const keyRegion = regionOfArn(metadata.Arn);
  if (keyRegion !== undefined && keyRegion !== region) {
    findings.push(
      errorFinding('keyRegion', `the key ${metadata.Arn} is in ${keyRegion}, the repository would be in ${region}`, {
        kind: 'KeyRegionMismatch',
        keyArn: metadata.Arn,
        keyRegion,
        repositoryRegion: region,
      }),
    );
  }
  if (type === 'KMS_DSSE' && !region.startsWith('us-gov-')) {
    findings.push(note('dsseRegion', 'warning', `AWS documents KMS_DSSE for the AWS GovCloud (US) regions only; ${region} may refuse it`));
  }
  return findings;
};

/** Grant headroom of a customer-managed key: every grant counts against its 50,000 quota, not just ECR's. */
const checkGrantHeadroom = (ctx: RegistryContext, keyArn: string): ResultAsync<KeyOutcome, never> =>
  listAllGrants(ctx, keyArn)
    .map((grants): KeyOutcome => {
      const grantCount = grants.length;
      const ecrGrantCount = grants.filter((g) => ecrRepositoryArnOf(g) !== undefined && isEcrServiceGrant(g)).length;
      const room = GRANTS_PER_KEY_QUOTA - grantCount;
      const counts = `${grantCount} grants on the key (${ecrGrantCount} of them ECR's) of ${GRANTS_PER_KEY_QUOTA}`;
      const finding =
        room < GRANTS_PER_REPOSITORY
          ? errorFinding('grantHeadroom', `${counts}: no room for the ${GRANTS_PER_REPOSITORY} grants ECR creates; retire orphaned grants or raise the quota`, {
              kind: 'KeyGrantQuotaExhausted',
              keyArn,
              grantCount,
              quota: GRANTS_PER_KEY_QUOTA,
            })
          : grantCount >= GRANTS_PER_KEY_QUOTA * GRANT_WARNING_RATIO
            ? note('grantHeadroom', 'warning', `${counts}: over 90% of the quota; look for orphaned ECR grants`)
            : note('grantHeadroom', 'info', counts);
      return { findings: [finding], grantCount, ecrGrantCount };
    })
    // Not being allowed to list grants does not stop creation; it only blinds the headroom check.
    .orElse((error) =>
      okAsync<KeyOutcome, never>({
        findings: [
          error.kind === 'AccessDenied'
            ? note('grantHeadroom', 'warning', `cannot count the key's grants (kms:ListGrants denied): headroom unchecked, and grants will not be verified after creation`)
            : errorFinding('grantHeadroom', `cannot count the key's grants: ${error.kind}`, error),
        ],
      }),
    );

/**
 * What can be said of a key the caller may not describe directly. A key policy may allow
 * DescribeKey only through ECR (`kms:ViaService`, as `generateEcrKeyPolicy({ allowVerification:
 * false })` writes it, and as the AWS-managed keys' policies do): ECR's own DescribeKey then
 * succeeds, ours cannot. A key ARN is canonical already and names its partition and region (checked
 * before any call); a key id names a key of the caller's account in this region. Its state, usage
 * and spec stay unverified: ECR checks them itself when it creates the repository.
 */
const undescribedKey = (
  ctx: RegistryContext,
  keyArn: string,
  reference: string,
): ResultAsync<KeyOutcome, never> => {
  const unverified = (check: PreflightCheck, what: string): Finding =>
    note(check, 'warning', `the key's ${what} could not be verified (DescribeKey on ${reference} was denied to the caller directly); ECR checks it when it creates the repository`);
  const findings: Finding[] = [
    note(
      'keyExists',
      'warning',
      `DescribeKey on ${reference} was denied to the caller directly; a key policy that allows it only through ECR (kms:ViaService) does this, ` +
        `and ECR's own DescribeKey would then succeed: going on with ${keyArn}, unverified`,
    ),
    unverified('keyState', 'state (ECR needs Enabled)'),
    unverified('keyUsage', 'usage (ECR needs ENCRYPT_DECRYPT)'),
    unverified('keySpec', 'spec (ECR needs SYMMETRIC_DEFAULT)'),
  ];
  const key: ResolvedKey = { arn: keyArn, manager: 'CUSTOMER', usable: true, described: false };
  return checkGrantHeadroom(ctx, keyArn).map((headroom) => ({ ...headroom, findings: [...findings, ...headroom.findings], key }));
};

const checkKey = (
  ctx: RegistryContext,
  encryption: ParsedEncryption,
  region: string,
  caller: ResultAsync<CallerOutcome, never>,
): ResultAsync<KeyOutcome, never> => {
  const reference = encryption.key?.value ?? AWS_MANAGED_ECR_ALIAS;
  const startedAt = ctx.now();
  return describeKey(ctx, reference)
    .andThen((metadata): ResultAsync<KeyOutcome, never> => {
      const manager = metadata.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER';
      const findings = checkKeyMetadata(metadata, region, encryption.type);
      const key: ResolvedKey = { arn: metadata.Arn, manager, usable: !findings.some((f) => f.severity === 'error') };
      let awsManagedKeyCreated: boolean | undefined;
      if (manager === 'AWS') {
        awsManagedKeyCreated =
          metadata.CreationDate !== undefined && metadata.CreationDate.getTime() >= startedAt.getTime() - JUST_CREATED_MS;
        findings.unshift(
          note(
            'awsManagedKey',
            'info',
            awsManagedKeyCreated
              ? `the AWS-managed key aws/ecr (${metadata.Arn}) was just created: DescribeKey on alias/aws/ecr creates it on first use`
              : `the AWS-managed key aws/ecr is ${metadata.Arn} (DescribeKey on alias/aws/ecr creates it on first use; it existed already)`,
          ),
        );
        findings.push(note('grantHeadroom', 'info', 'the 50,000 grants quota does not apply to AWS-managed keys'));
        return okAsync({ findings, key, awsManagedKeyCreated });
      }
      return checkGrantHeadroom(ctx, metadata.Arn).map((headroom) => ({
        ...headroom,
        findings: [...findings, ...headroom.findings],
        key,
      }));
    })
    .orElse((error): ResultAsync<KeyOutcome, never> => {
      const given = encryption.key;
      if (error.kind === 'AccessDenied' && given?.form === 'key-arn') return undescribedKey(ctx, given.value, reference);
      if (error.kind === 'AccessDenied' && given?.form === 'key-id') {
        // A bare key id names a key of the caller's account, in the region of the request.
        return caller.andThen((c) => {
          const partition = partitionOfRegion(region) ?? c.partition;
          return c.account !== undefined && partition !== undefined
            ? undescribedKey(ctx, `arn:${partition}:kms:${region}:${c.account}:key/${given.value}`, reference)
            : okAsync<KeyOutcome, never>({ findings: [deniedKeyFinding(error, reference, region)] });
        });
      }
      return okAsync<KeyOutcome, never>({
        findings: [
          error.kind === 'AccessDenied'
            ? deniedKeyFinding(error, reference, region)
            : errorFinding(
                error.kind === 'InvalidEncryption' ? 'encryption' : 'keyExists',
                error.kind === 'KeyNotFound' ? `no KMS key ${reference} in ${region}` : `cannot describe the key ${reference}: ${error.kind}`,
                error,
              ),
        ],
      });
    });
};

/** An alias (or the AWS-managed key) the caller may not describe: it cannot be resolved to the key ARN `create` needs. */
const deniedKeyFinding = (error: PreflightFindingError, reference: string, region: string): Finding =>
  errorFinding(
    'keyExists',
    `DescribeKey on ${reference} in ${region} was denied to the caller directly, so the key could not be resolved to its ARN: its existence, ` +
      'region, state, usage and spec are unchecked, and the repository cannot be created with the canonical key ARN. A key policy that ' +
      'allows DescribeKey only through ECR (kms:ViaService) does this: give the key ARN (or key id) instead, which needs no DescribeKey',
    error,
  );

// ---------------------------------------------------------------------------------------------
// Caller checks
// ---------------------------------------------------------------------------------------------

export interface CallerOutcome {
  readonly findings: Finding[];
  readonly account?: string;
  readonly partition?: string;
  readonly callerArn?: string;
  readonly roleArn?: string;
  /** The ARN IAM can simulate (user or role), when there is one. */
  readonly principalArn?: string;
}

const ARN = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/;

const iamUnavailableMessage = (e: IamUnavailable | GenericAwsError): string => ('kind' in e ? e.kind : e.reason);

export const checkCaller = (ctx: RegistryContext): ResultAsync<CallerOutcome, never> =>
  getCallerIdentity(ctx)
    .andThen((identity): ResultAsync<CallerOutcome, never> => {
      const parsed = ARN.exec(identity.arn);
      const base = { account: identity.account, callerArn: identity.arn, ...(parsed?.[1] ? { partition: parsed[1] } : {}) };
      const resource = parsed?.[4] ?? '';
      if (parsed?.[2] === 'iam' && resource === 'root') {
        return okAsync({
          ...base,
          findings: [note('permissions', 'info', 'the caller is the account root user: it has every permission, nothing to simulate')],
        });
      }
      if (parsed?.[2] === 'iam' && resource.startsWith('user/')) return okAsync({ ...base, principalArn: identity.arn, findings: [] });
      const assumed = parsed?.[2] === 'sts' ? /^assumed-role\/([^/]+)\//.exec(resource) : null;
      const roleName = assumed?.[1];
      if (roleName !== undefined) {
        // The session ARN drops the role's path: only GetRole knows the real role ARN.
        return getRoleArn(ctx, roleName)
          .map((roleArn): CallerOutcome => ({ ...base, roleArn, principalArn: roleArn, findings: [] }))
          .orElse((e) =>
            okAsync<CallerOutcome, never>({
              ...base,
              findings: [
                note(
                  'permissions',
                  'warning',
                  `cannot look up role ${roleName} (${iamUnavailableMessage(e)}): permissions were not simulated`,
                ),
              ],
            }),
          );
      }
      return okAsync({
        ...base,
        findings: [note('permissions', 'warning', `IAM cannot simulate ${identity.arn} (only users and roles): permissions were not checked`)],
      });
    })
    .orElse((error) =>
      okAsync<CallerOutcome, never>({
        findings: [errorFinding('callerIdentity', `cannot tell who the caller is: ${error.kind}`, error)],
      }),
    );

/** A question the simulator answers: these actions, on this resource, in this context. */
export interface SimulationBatch {
  readonly actions: readonly string[];
  readonly resource: string;
  readonly contextEntries: readonly ContextEntry[];
}

/** IAM's decision on one action, and the condition keys its policies used that the simulation lacked. */
interface SimulatedDecision {
  readonly decision: AccessDecision;
  /** `MissingContextValues`: with an `implicitDeny`, the answer is "unknown", not "denied". */
  readonly missing: readonly string[];
}

/** The decision for one action on one resource; per-resource results first (IAM's 2026 answer shape). */
const decisionFor = (results: readonly EvaluationResult[], action: string, resource: string): SimulatedDecision => {
  const missing = new Set<string>();
  const decisions = results
    .filter((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())
    .map((r): string | undefined => {
      const specific = r.ResourceSpecificResults?.find((s) => s.EvalResourceName === resource) ?? r.ResourceSpecificResults?.[0];
      // IAM lists missing keys per resource when resources are given, at the top otherwise: read both.
      for (const key of [...(r.MissingContextValues ?? []), ...(specific?.MissingContextValues ?? [])]) missing.add(key);
      return specific?.EvalResourceDecision ?? r.EvalDecision;
    });
  const keys = [...missing];
  if (decisions.length === 0) return { decision: 'implicitDeny', missing: keys };
  if (decisions.includes('explicitDeny')) return { decision: 'explicitDeny', missing: keys };
  return { decision: decisions.every((d) => d === 'allowed') ? 'allowed' : 'implicitDeny', missing: keys };
};

/**
 * What a key policy alone says about one action for the caller (its identity policies unknown):
 * - `allowed`: it names the caller, or the role behind its session: enough on its own;
 * - `delegated`: it allows the account (`arn:aws:iam::<account>:root`): IAM policies decide;
 * - `notAllowed`: neither: no IAM policy can make up for it;
 * - `explicitDeny`: a `Deny` statement applies: nothing can make up for it.
 */
export type KeyPolicyVerdict = 'allowed' | 'delegated' | 'notAllowed' | 'explicitDeny';

/** The key policy's verdict per action, and what is worth reporting about the evaluation. */
export interface KeyPolicyEvaluation {
  /** Empty when the key policy could not be evaluated (no opinion: the IAM simulation stands). */
  readonly verdicts: ReadonlyMap<string, { readonly verdict: KeyPolicyVerdict; readonly reason: string }>;
  readonly findings: readonly Finding[];
  /**
   * The key is the caller's account's, but its policy could not be read: it may allow the caller
   * directly, and KMS then needs no IAM policy, so IAM's implicit deny decides nothing.
   */
  readonly unread?: boolean;
}

/** Who asks, and what, of the key policy. */
export interface KeyPolicyQuestion {
  /** The user or role ARN (a session's role, with its path). */
  readonly principalArn: string;
  /** `GetCallerIdentity`'s ARN: the assumed-role session ARN for roles. */
  readonly callerArn: string;
  readonly account: string;
  readonly keyArn: string;
  /**
   * The actions, each with the context ECR's request carries: `kms:ViaService`, `kms:CallerAccount`,
   * and for `kms:CreateGrant` the grant's own keys (`kms:GranteePrincipal`, `kms:GrantOperations`, …).
   */
  readonly requests: readonly { readonly actions: readonly string[]; readonly context: readonly ContextEntry[] }[];
}

/** An identity policy that allows everything: it tells "the key policy delegates to IAM" from "it does not allow". */
const ANY_IDENTITY_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** IAM simulator context entries as the policy evaluator's request context. */
export const contextOfEntries = (entries: readonly ContextEntry[]): Record<string, ContextValue> => {
  const context: Record<string, ContextValue> = {};
  for (const entry of entries) {
    const name = entry.ContextKeyName;
    const values = entry.ContextKeyValues ?? [];
    if (name === undefined) continue;
    const type = entry.ContextKeyType ?? 'string';
    if (type.endsWith('List')) context[name] = values;
    else if (type === 'boolean') context[name] = values[0] === 'true';
    else if (type === 'numeric') context[name] = Number(values[0]);
    else if (values[0] !== undefined) context[name] = values[0];
  }
  return context;
};

const parseKeyPolicy = (text: string): PolicyDocument | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && 'Statement' in parsed ? (parsed as PolicyDocument) : undefined;
  } catch {
    return undefined;
  }
};

/** The verdict of a key policy on one action (see {@link KeyPolicyVerdict}). */
export const keyPolicyVerdict = (
  keyPolicy: PolicyDocument,
  request: AccessRequest,
): { readonly verdict: KeyPolicyVerdict; readonly reason: string } => {
  const alone = explainAccess(request, { keyPolicy });
  if (alone.decision === 'explicitDeny') return { verdict: 'explicitDeny', reason: alone.reason };
  if (alone.decision === 'allowed') return { verdict: 'allowed', reason: alone.reason };
  const withIam = explainAccess(request, { keyPolicy, identityPolicies: [ANY_IDENTITY_POLICY] });
  return withIam.decision === 'allowed'
    ? { verdict: 'delegated', reason: `the key policy lets IAM policies decide ${request.action}` }
    : { verdict: 'notAllowed', reason: alone.reason };
};

const noOpinion = (finding: Finding, unread = true): KeyPolicyEvaluation => ({ verdicts: new Map(), findings: [finding], unread });

/**
 * The key policy's say on the caller using the key through ECR. The IAM simulator does not read
 * KMS key policies for roles (and cannot know the key policy's conditions on `kms:ViaService`),
 * so a key policy that grants `kms:CreateGrant` to the caller directly looks like a denial there,
 * and a key policy that denies looks allowed. Reads the policy with GetKeyPolicy (keys of the
 * caller's account only: KMS does not answer GetKeyPolicy across accounts) and evaluates it alone
 * with `explainAccess`, in ECR's forwarded context. Never fails: when the policy cannot be read,
 * a finding says so and the simulation's answer stands.
 */
export const evaluateKeyPolicyForCaller = (ctx: RegistryContext, question: KeyPolicyQuestion): ResultAsync<KeyPolicyEvaluation, never> => {
  const { keyArn, account } = question;
  const keyAccount = keyArn.split(':')[4];
  if (keyAccount !== undefined && keyAccount !== account) {
    return okAsync(
      // Across accounts both the key policy and IAM policies must allow: IAM's answer stands.
      noOpinion(note('keyPolicy', 'info', `the key belongs to account ${keyAccount}: GetKeyPolicy works within the key's account only, so its key policy was not evaluated`), false),
    );
  }
  return getKeyPolicy(ctx, keyArn)
    .map((text): KeyPolicyEvaluation => {
      const policy = text === undefined ? undefined : parseKeyPolicy(text);
      if (policy === undefined) {
        return noOpinion(note('keyPolicy', 'warning', `GetKeyPolicy returned no readable policy for ${keyArn}: the key policy was not evaluated`));
      }
      const isSession = question.callerArn !== question.principalArn && /:assumed-role\//.test(question.callerArn);
      const principal: RequestPrincipal = isSession
        ? { arn: question.callerArn, account, roleArn: question.principalArn }
        : { arn: question.principalArn, account };
      const verdicts = new Map<string, { readonly verdict: KeyPolicyVerdict; readonly reason: string }>();
      try {
        for (const request of question.requests) {
          const context = contextOfEntries(request.context);
          for (const action of request.actions) verdicts.set(action, keyPolicyVerdict(policy, { principal, action, resource: keyArn, context }));
        }
      } catch (cause) {
        return noOpinion(
          note('keyPolicy', 'warning', `the key policy of ${keyArn} could not be evaluated (${cause instanceof Error ? cause.message : String(cause)})`),
        );
      }
      const by = (verdict: KeyPolicyVerdict): string[] => [...verdicts].filter(([, v]) => v.verdict === verdict).map(([a]) => a);
      const parts = [
        by('allowed').length > 0 ? `allows ${by('allowed').join(', ')} to the caller directly` : '',
        by('delegated').length > 0 ? `lets IAM policies decide ${by('delegated').join(', ')}` : '',
      ].filter((p) => p !== '');
      const findings = parts.length > 0 ? [note('keyPolicy', 'info', `through ECR, the key policy ${parts.join(' and ')}`)] : [];
      if (/"kms:GrantOperations"/i.test(text ?? '') && verdicts.get('kms:CreateGrant')?.verdict !== 'explicitDeny') {
        findings.push(
          note(
            'keyPolicy',
            'warning',
            'the key policy conditions on kms:GrantOperations: checked with the operations of the grant AWS documents (GenerateDataKey, Decrypt); ' +
              "ECR's second grant is undocumented, so whether the policy lets it through cannot be known before creating",
          ),
        );
      }
      return { verdicts, findings };
    })
    .orElse((error) =>
      okAsync<KeyPolicyEvaluation, never>(
        noOpinion(
          note(
            'keyPolicy',
            'warning',
            error.kind === 'AccessDenied'
              ? `cannot read the key policy (kms:GetKeyPolicy denied): only the IAM simulation was consulted, and it does not see the key policy`
              : `cannot read the key policy (${error.kind}): only the IAM simulation was consulted, and it does not see the key policy`,
          ),
        ),
      ),
    );
};

/** Actions whose absence does not stop creation: only the later, clean deletion needs them. */
const NEEDED_FOR_DELETION = new Set(['kms:RetireGrant']);

type Decision = { readonly action: string } & SimulatedDecision;

/** An action nothing decided: IAM's implicit deny with condition keys it lacked, or beside an unread key policy. */
interface Undecided {
  readonly action: string;
  readonly why: string;
}

/**
 * Who is denied what, and by what: a key policy's explicit deny, or a key policy that neither names
 * the caller nor delegates to IAM, denies whatever IAM says; a key policy that allows the caller
 * directly clears an IAM implicit deny; one that delegates leaves the decision to the simulation.
 * An implicit deny with missing context keys is undecided, not denied (IAM's `MissingContextValues`:
 * a policy conditioned on a key the simulation could not supply), unless the key policy denies.
 */
const combineDecisions = (
  simulated: readonly Decision[] | undefined,
  keyPolicy: KeyPolicyEvaluation,
): { readonly byKeyPolicy: string[]; readonly byIam: string[]; readonly undecided: Undecided[] } => {
  const byKeyPolicy: string[] = [];
  const byIam: string[] = [];
  const undecided: Undecided[] = [];
  const actions = simulated?.map((d) => d.action) ?? [...keyPolicy.verdicts.keys()];
  for (const action of actions) {
    const verdict = keyPolicy.verdicts.get(action)?.verdict;
    const simulation = simulated?.find((d) => d.action === action);
    const decision = simulation?.decision;
    if (verdict === 'explicitDeny' || verdict === 'notAllowed') byKeyPolicy.push(action);
    else if (decision === undefined || decision === 'allowed') continue;
    // KMS: a key policy that allows the principal is enough on its own, unless IAM denies explicitly.
    else if (verdict === 'allowed' && decision === 'implicitDeny') continue;
    else if (decision === 'implicitDeny' && simulation !== undefined && simulation.missing.length > 0) {
      undecided.push({
        action,
        why: `its policies use ${simulation.missing.join(', ')}, which the simulation lacked (MissingContextValues)`,
      });
    } else if (decision === 'implicitDeny' && keyPolicy.unread === true && action.startsWith('kms:') && !NEEDED_FOR_DELETION.has(action)) {
      undecided.push({ action, why: 'no IAM policy allows it, and the key policy, which can allow it on its own, could not be read' });
    } else byIam.push(action);
  }
  return { byKeyPolicy, byIam, undecided };
};

const permissionFindings = (
  principalArn: string,
  denied: readonly string[],
  source: 'iam-simulation' | 'key-policy',
  keyPolicy: KeyPolicyEvaluation,
): Finding[] => {
  const check: PreflightCheck = source === 'key-policy' ? 'keyPolicy' : 'permissions';
  const why = (actions: readonly string[]): string =>
    source === 'key-policy'
      ? ` (key policy: ${actions.map((a) => keyPolicy.verdicts.get(a)?.reason ?? a).join('; ')})`
      : ' (IAM policy simulation)';
  const blocking = denied.filter((a) => !NEEDED_FOR_DELETION.has(a));
  const later = denied.filter((a) => NEEDED_FOR_DELETION.has(a));
  const findings: Finding[] = [];
  if (blocking.length > 0) {
    findings.push(
      errorFinding(check, `${principalArn} is not allowed ${blocking.join(', ')}${why(blocking)}`, {
        kind: 'MissingPermissions',
        principalArn,
        actions: blocking,
        source,
      }),
    );
  }
  if (later.length > 0) {
    findings.push({
      check,
      severity: 'warning',
      message:
        `${principalArn} is not allowed ${later.join(', ')}${source === 'key-policy' ? why(later) : ' in its IAM policies'}: creation works, but deleting the repository ` +
        'will leave its two KMS grants on the key (ECR retires them with the deleter\'s credentials)',
      error: { kind: 'MissingPermissions', principalArn, actions: later, source },
    });
  }
  return findings;
};

export const simulate = (
  ctx: RegistryContext,
  caller: { readonly principalArn: string; readonly callerArn: string; readonly account: string },
  batches: readonly SimulationBatch[],
  keyArn: string | undefined,
): ResultAsync<Finding[], never> => {
  const { principalArn, callerArn, account } = caller;
  const simulation = ResultAsync.combine(
    batches.map((batch) =>
      simulatePrincipalPolicy(ctx, {
        policySourceArn: principalArn,
        actionNames: batch.actions,
        resourceArns: [batch.resource],
        contextEntries: batch.contextEntries,
      }).map((results) => batch.actions.map((action): Decision => ({ action, ...decisionFor(results, action, batch.resource) }))),
    ),
  )
    .map((perBatch) => ({ decisions: perBatch.flat() }))
    .orElse((error) => okAsync({ error }));
  const kmsBatches = batches.filter((b) => b.resource === keyArn);
  const keyPolicy: ResultAsync<KeyPolicyEvaluation, never> =
    keyArn !== undefined && kmsBatches.length > 0
      ? evaluateKeyPolicyForCaller(ctx, {
          principalArn,
          callerArn,
          account,
          keyArn,
          requests: kmsBatches.map((b) => ({ actions: b.actions, context: b.contextEntries })),
        })
      : okAsync({ verdicts: new Map(), findings: [] });

  return ResultAsync.combine([simulation, keyPolicy] as const).map(([simulated, key]): Finding[] => {
    const findings: Finding[] = [];
    if ('error' in simulated) {
      const { error } = simulated;
      // Not being able to simulate (denied, unknown principal, bad input) is no reason to refuse creation.
      if ('reason' in error || error.kind === 'AccessDenied') {
        findings.push(note('permissions', 'warning', `the IAM policy simulation could not run (${iamUnavailableMessage(error)}): permissions were not checked`));
      } else {
        findings.push(errorFinding('permissions', `the IAM policy simulation failed: ${error.kind}`, error));
      }
    }
    const decisions = 'decisions' in simulated ? simulated.decisions : undefined;
    const { byKeyPolicy, byIam, undecided } = combineDecisions(decisions, key);
    findings.push(...permissionFindings(principalArn, byIam, 'iam-simulation', key));
    for (const { action, why } of undecided) {
      findings.push(
        note('permissions', 'warning', `${action} for ${principalArn} could not be decided: ${why}; not blocking: ECR's own request decides`),
      );
    }
    if (decisions !== undefined && byIam.length === 0 && byKeyPolicy.length === 0 && undecided.length === 0) {
      // Actions IAM would not allow but the key policy grants directly: say where the permission comes from.
      const viaKeyPolicy = decisions.filter((d) => d.decision !== 'allowed').map((d) => d.action);
      findings.push(
        note(
          'permissions',
          'info',
          `${principalArn} is allowed ${decisions.map((d) => d.action).join(', ')}` +
            (viaKeyPolicy.length > 0 ? ` (${viaKeyPolicy.join(', ')} by the key policy, not by IAM policies)` : ''),
        ),
      );
    }
    findings.push(...key.findings, ...permissionFindings(principalArn, byKeyPolicy, 'key-policy', key));
    return findings;
  });
};

// ---------------------------------------------------------------------------------------------
// The repository
// ---------------------------------------------------------------------------------------------

/** How a repository is encrypted, from DescribeRepositories. ECR answers the key as its ARN. */
export const encryptionOfRepository = (repository: Repository): EncryptionDescription => {
  const type = repository.encryptionConfiguration?.encryptionType ?? 'AES256';
  const keyArn = repository.encryptionConfiguration?.kmsKey;
  return type === 'AES256' || keyArn === undefined ? { type } : { type, keyArn };
};

/** Same encryption: same type, and for KMS the same canonical key ARN. */
export const sameEncryption = (a: EncryptionDescription, b: EncryptionDescription): boolean =>
  a.type === b.type && (a.type === 'AES256' || a.keyArn === b.keyArn);

const describeEncryption = (e: EncryptionDescription): string => (e.keyArn ? `${e.type} with ${e.keyArn}` : e.type);

/** The requested encryption with the key resolved; `undefined` when the key could not be. */
const requestedEncryption = (encryption: ParsedEncryption, key: ResolvedKey | undefined): EncryptionDescription | undefined => {
  if (encryption.type === 'AES256') return { type: 'AES256' };
  if (key === undefined) return undefined;
  return { type: encryption.type, keyArn: key.arn, awsManagedKey: key.manager === 'AWS' };
};

/** The existing repository's identity and encryption. */
export const existingOf = (repository: Repository, repositoryName: string): ExistingRepository => ({
  name: repository.repositoryName ?? repositoryName,
  arn: repository.repositoryArn ?? '',
  uri: repository.repositoryUri ?? '',
  createdAt: repository.createdAt,
  registryId: repository.registryId ?? '',
  encryption: encryptionOfRepository(repository),
});

/** Compares an existing repository with what is asked for. */
export const compareExisting = (
  repositoryName: string,
  existing: EncryptionDescription,
  encryption: ParsedEncryption,
  key: ResolvedKey | undefined,
): Finding => {
  const requested = requestedEncryption(encryption, key);
  if (requested === undefined) {
    if (existing.type !== encryption.type) {
      const partial: EncryptionDescription = { type: encryption.type };
      return mismatchFinding(repositoryName, existing, partial);
    }
    return note('repository', 'warning', `the repository exists with ${describeEncryption(existing)}; the requested key could not be resolved to compare`);
  }
  if (sameEncryption(existing, requested)) {
    return note('repository', 'info', `the repository exists with the same encryption (${describeEncryption(existing)}): create returns it with created: false`);
  }
  return mismatchFinding(repositoryName, existing, requested);
};

const mismatchFinding = (repositoryName: string, existing: EncryptionDescription, requested: EncryptionDescription): Finding =>
  errorFinding(
    'repository',
    `${repositoryName} exists with ${describeEncryption(existing)}, not ${describeEncryption(requested)}; ECR cannot change ` +
      'encryption in place: use migrateRepository to recreate it under the same name without losing an image',
    { kind: 'EncryptionMismatch', repositoryName, existing, requested, remedy: 'migrateRepository' },
  );

// ---------------------------------------------------------------------------------------------
// The preflight
// ---------------------------------------------------------------------------------------------

/** @internal How far the preflight goes. `create` stops before any AWS call when the input is wrong. */
export interface PreflightOptions {
  readonly stopOnInputErrors?: boolean;
}

const hasError = (findings: readonly Finding[]): boolean => findings.some((f) => f.severity === 'error');

/**
 * Runs every check of `createEncryptedRepository` and reports all findings at once. Fails only
 * when it cannot run at all (an unsafe endpoint, no region).
 *
 * @internal Use {@link EncryptedRegistry.preflight}.
 */
export const preflight = (
  ctx: RegistryContext,
  input: PreflightInput,
  options: PreflightOptions = {},
): ResultAsync<PreflightReport, PreflightError> => {
  if (ctx.transportError) return errAsync(ctx.transportError);
  const checked = checkInput(input);
  // Wrong input is reported even when no region is configured.
  if (options.stopOnInputErrors && hasError(checked.findings)) return okAsync({ ok: false, findings: checked.findings, facts: {} });
  return ctx.region().andThen((region): ResultAsync<PreflightReport, never> => {
    const findings = [...checked.findings, ...checkKeyReferenceRegion(checked.encryption, region)];
    const facts: { -readonly [K in keyof PreflightFacts]: PreflightFacts[K] } = { region };
    if (options.stopOnInputErrors && hasError(findings)) return okAsync({ ok: false, findings, facts });

    const { encryption, repositoryName } = checked;
    const keyRegionWrong = findings.some((f) => f.check === 'keyRegion');
    // One GetCallerIdentity, shared: a key id that cannot be described resolves in the caller's account.
    const callerCheck = checkCaller(ctx);
    const keyCheck =
      encryption !== undefined && encryption.type !== 'AES256' && !keyRegionWrong
        ? checkKey(ctx, encryption, region, callerCheck)
        : okAsync<KeyOutcome, never>({ findings: [] });
    const repositoryCheck =
      repositoryName !== undefined
        ? findRepository(ctx, repositoryName)
            .map((repository) => ({ repository, findings: [] as Finding[] }))
            .orElse((error) =>
              okAsync<{ repository: Repository | undefined; findings: Finding[] }, never>({
                repository: undefined,
                findings: [errorFinding('repository', `cannot tell whether ${repositoryName} exists: ${error.kind}`, error)],
              }),
            )
        : okAsync({ repository: undefined, findings: [] as Finding[] });

    return ResultAsync.combine([keyCheck, callerCheck, repositoryCheck] as const).andThen(([key, caller, repo]) => {
      if (key.key) {
        facts.keyArn = key.key.arn;
        if (key.key.described !== false) facts.keyManager = key.key.manager;
      }
      if (key.grantCount !== undefined) facts.grantCount = key.grantCount;
      if (key.ecrGrantCount !== undefined) facts.ecrGrantCount = key.ecrGrantCount;
      if (key.awsManagedKeyCreated !== undefined) facts.awsManagedKeyCreated = key.awsManagedKeyCreated;
      if (caller.account !== undefined) facts.account = caller.account;
      if (caller.callerArn !== undefined) facts.callerArn = caller.callerArn;
      if (caller.roleArn !== undefined) facts.roleArn = caller.roleArn;
      const repositoryArn =
        repo.repository?.repositoryArn ??
        (repositoryName !== undefined && caller.account !== undefined
          ? `arn:${caller.partition ?? 'aws'}:ecr:${region}:${caller.account}:repository/${repositoryName}`
          : undefined);
      if (repositoryArn !== undefined) facts.repositoryArn = repositoryArn;

      const repositoryFindings = [...repo.findings];
      if (repo.repository !== undefined && repositoryName !== undefined) {
        facts.existingRepository = existingOf(repo.repository, repositoryName);
        if (encryption !== undefined) {
          repositoryFindings.push(compareExisting(repositoryName, facts.existingRepository.encryption, encryption, key.key));
        }
      }

      const simulation =
        caller.principalArn !== undefined && caller.account !== undefined && repositoryArn !== undefined
          ? simulate(
              ctx,
              { principalArn: caller.principalArn, callerArn: caller.callerArn ?? caller.principalArn, account: caller.account },
              simulationBatches(input, region, caller.account, repositoryArn, encryption, key.key),
              key.key?.arn,
            )
          : okAsync<Finding[], never>([]);
      return simulation.map(
        (permissionFindings): PreflightReport => {
          const all = [...findings, ...key.findings, ...caller.findings, ...permissionFindings, ...repositoryFindings];
          return { ok: !hasError(all), findings: all, facts };
        },
      );
    });
  });
};

/** The operations of the one grant AWS documents ECR creating (the second grant is undocumented). */
export const ECR_DOCUMENTED_GRANT_OPERATIONS = ['GenerateDataKey', 'Decrypt'] as const;

/** `aws:RequestedRegion`: every request carries it. */
const requestedRegion = (region: string): ContextEntry => ({ ContextKeyName: 'aws:RequestedRegion', ContextKeyValues: [region], ContextKeyType: 'string' });

/**
 * The context of a KMS request ECR makes with the caller's credentials (a forward access session):
 * `aws:RequestedRegion`, `kms:ViaService`, `kms:CallerAccount`, `aws:ViaAWSService`.
 */
export const ecrForwardedContext = (region: string, account: string): ContextEntry[] => [
  requestedRegion(region),
  { ContextKeyName: 'kms:ViaService', ContextKeyValues: [`ecr.${region}.amazonaws.com`], ContextKeyType: 'string' },
  { ContextKeyName: 'kms:CallerAccount', ContextKeyValues: [account], ContextKeyType: 'string' },
  { ContextKeyName: 'aws:ViaAWSService', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
];

/**
 * The context of the CreateGrant ECR forwards for a repository, as AWS documents the request
 * (ECR user guide, CloudTrail example): grantee and retiring principal `ecr.<region>.amazonaws.com`,
 * operations GenerateDataKey and Decrypt, an `EncryptionContextSubset` constraint on `aws:ecr:arn`
 * = the repository ARN; plus the forwarded-call keys and `kms:GrantIsForAWSResource`.
 */
export const ecrCreateGrantContext = (region: string, account: string, repositoryArn: string): ContextEntry[] => {
  const ecr = `ecr.${region}.amazonaws.com`;
  return [
    ...ecrForwardedContext(region, account),
    { ContextKeyName: 'kms:GrantIsForAWSResource', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
    { ContextKeyName: 'kms:GranteePrincipal', ContextKeyValues: [ecr], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:RetiringPrincipal', ContextKeyValues: [ecr], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:GrantOperations', ContextKeyValues: [...ECR_DOCUMENTED_GRANT_OPERATIONS], ContextKeyType: 'stringList' },
    { ContextKeyName: 'kms:GrantConstraintType', ContextKeyValues: ['EncryptionContextSubset'], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:EncryptionContext:aws:ecr:arn', ContextKeyValues: [repositoryArn], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:EncryptionContextKeys', ContextKeyValues: ['aws:ecr:arn'], ContextKeyType: 'stringList' },
  ];
};

/**
 * What to ask IAM: ECR actions on the repository; `kms:CreateGrant` on the key in the context of
 * ECR's CreateGrant; `kms:DescribeKey` and `kms:RetireGrant` in ECR's forwarded context.
 */
export const simulationBatches = (
  input: PreflightInput,
  region: string,
  account: string,
  repositoryArn: string,
  encryption: ParsedEncryption | undefined,
  key: ResolvedKey | undefined,
): SimulationBatch[] => {
  const ecrActions = ['ecr:CreateRepository'];
  if (input.tags !== undefined && input.tags.length > 0) ecrActions.push('ecr:TagResource');
  if (input.repositoryPolicy !== undefined) ecrActions.push('ecr:SetRepositoryPolicy');
  if (input.lifecyclePolicy !== undefined) ecrActions.push('ecr:PutLifecyclePolicy');
  const batches: SimulationBatch[] = [{ actions: ecrActions, resource: repositoryArn, contextEntries: [requestedRegion(region)] }];
  if (encryption !== undefined && encryption.type !== 'AES256' && key !== undefined) {
    // The AWS-managed key's policy allows CreateGrant and DescribeKey through ECR to the whole
    // account; only RetireGrant must come from IAM (AWS says so for aws/ecr too).
    if (key.manager !== 'AWS') {
      batches.push({ actions: ['kms:CreateGrant'], resource: key.arn, contextEntries: ecrCreateGrantContext(region, account, repositoryArn) });
    }
    batches.push({
      actions: key.manager === 'AWS' ? ['kms:RetireGrant'] : ['kms:DescribeKey', 'kms:RetireGrant'],
      resource: key.arn,
      contextEntries: ecrForwardedContext(region, account),
    });
  }
  return batches;
};
