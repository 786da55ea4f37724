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
import type { EncryptionDescription, EncryptionSpec, Severity } from '../types.js';

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
export interface CreateEncryptedRepositoryInput {
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

/** A key ARN or alias ARN names its region: compare it with the repository's before any call. */
const checkKeyReferenceRegion = (encryption: ParsedEncryption | undefined, region: string): Finding[] => {
  const key = encryption?.key;
  if (key === undefined || (key.form !== 'key-arn' && key.form !== 'alias-arn')) return [];
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

const checkKey = (ctx: RegistryContext, encryption: ParsedEncryption, region: string): ResultAsync<KeyOutcome, never> => {
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
    .orElse((error) =>
      okAsync<KeyOutcome, never>({
        findings: [
          errorFinding(
            error.kind === 'InvalidEncryption' ? 'encryption' : 'keyExists',
            error.kind === 'KeyNotFound' ? `no KMS key ${reference} in ${region}` : `cannot describe the key ${reference}: ${error.kind}`,
            error,
          ),
        ],
      }),
    );
};

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

/** The decision for one action on one resource; per-resource results first (IAM's 2026 answer shape). */
const decisionFor = (results: readonly EvaluationResult[], action: string, resource: string): AccessDecision => {
  const decisions = results
    .filter((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())
    .map((r): string | undefined => {
      const specific = r.ResourceSpecificResults?.find((s) => s.EvalResourceName === resource) ?? r.ResourceSpecificResults?.[0];
      return specific?.EvalResourceDecision ?? r.EvalDecision;
    });
  if (decisions.length === 0) return 'implicitDeny';
  if (decisions.includes('explicitDeny')) return 'explicitDeny';
  return decisions.every((d) => d === 'allowed') ? 'allowed' : 'implicitDeny';
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
}

/** Who asks, and what, of the key policy. */
export interface KeyPolicyQuestion {
  /** The user or role ARN (a session's role, with its path). */
  readonly principalArn: string;
  /** `GetCallerIdentity`'s ARN: the assumed-role session ARN for roles. */
  readonly callerArn: string;
  readonly account: string;
  readonly keyArn: string;
  readonly actions: readonly string[];
  /** ECR's forwarded context (`kms:ViaService`, `kms:CallerAccount`, `kms:GrantIsForAWSResource`, …). */
  readonly context: readonly ContextEntry[];
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

const noOpinion = (finding: Finding): KeyPolicyEvaluation => ({ verdicts: new Map(), findings: [finding] });

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
      noOpinion(note('keyPolicy', 'info', `the key belongs to account ${keyAccount}: GetKeyPolicy works within the key's account only, so its key policy was not evaluated`)),
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
      const context = contextOfEntries(question.context);
      const verdicts = new Map<string, { readonly verdict: KeyPolicyVerdict; readonly reason: string }>();
      try {
        for (const action of question.actions) verdicts.set(action, keyPolicyVerdict(policy, { principal, action, resource: keyArn, context }));
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

type Decision = { readonly action: string; readonly decision: AccessDecision };

/**
 * Who is denied what, and by what: a key policy's explicit deny, or a key policy that neither names
 * the caller nor delegates to IAM, denies whatever IAM says; a key policy that allows the caller
 * directly clears an IAM implicit deny; one that delegates leaves the decision to the simulation.
 */
const combineDecisions = (
  simulated: readonly Decision[] | undefined,
  keyPolicy: KeyPolicyEvaluation,
): { readonly byKeyPolicy: string[]; readonly byIam: string[] } => {
  const byKeyPolicy: string[] = [];
  const byIam: string[] = [];
  const actions = simulated?.map((d) => d.action) ?? [...keyPolicy.verdicts.keys()];
  for (const action of actions) {
    const verdict = keyPolicy.verdicts.get(action)?.verdict;
    const decision = simulated?.find((d) => d.action === action)?.decision;
    if (verdict === 'explicitDeny' || verdict === 'notAllowed') byKeyPolicy.push(action);
    else if (decision === undefined || decision === 'allowed') continue;
    // KMS: a key policy that allows the principal is enough on its own, unless IAM denies explicitly.
    else if (verdict === 'allowed' && decision === 'implicitDeny') continue;
    else byIam.push(action);
  }
  return { byKeyPolicy, byIam };
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
      }).map((results) => batch.actions.map((action): Decision => ({ action, decision: decisionFor(results, action, batch.resource) }))),
    ),
  )
    .map((perBatch) => ({ decisions: perBatch.flat() }))
    .orElse((error) => okAsync({ error }));
  const kmsBatch = batches.find((b) => b.resource === keyArn);
  const keyPolicy: ResultAsync<KeyPolicyEvaluation, never> =
    keyArn !== undefined && kmsBatch !== undefined
      ? evaluateKeyPolicyForCaller(ctx, { principalArn, callerArn, account, keyArn, actions: kmsBatch.actions, context: kmsBatch.contextEntries })
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
    const { byKeyPolicy, byIam } = combineDecisions(decisions, key);
    findings.push(...permissionFindings(principalArn, byIam, 'iam-simulation', key));
    if (decisions !== undefined && byIam.length === 0 && byKeyPolicy.length === 0) {
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
    const keyCheck =
      encryption !== undefined && encryption.type !== 'AES256' && !keyRegionWrong
        ? checkKey(ctx, encryption, region)
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

    return ResultAsync.combine([keyCheck, checkCaller(ctx), repositoryCheck] as const).andThen(([key, caller, repo]) => {
      if (key.key) {
        facts.keyArn = key.key.arn;
        facts.keyManager = key.key.manager;
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

/** What to ask IAM: ECR actions on the repository, KMS actions on the key in ECR's forwarded context. */
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
  const batches: SimulationBatch[] = [{ actions: ecrActions, resource: repositoryArn, contextEntries: [] }];
  if (encryption !== undefined && encryption.type !== 'AES256' && key !== undefined) {
    // The AWS-managed key's policy allows CreateGrant and DescribeKey through ECR to the whole
    // account; only RetireGrant must come from IAM (AWS says so for aws/ecr too).
    const kmsActions = key.manager === 'AWS' ? ['kms:RetireGrant'] : ['kms:CreateGrant', 'kms:DescribeKey', 'kms:RetireGrant'];
    batches.push({
      actions: kmsActions,
      resource: key.arn,
      // ECR calls KMS with the caller's credentials on its behalf (forward access session).
      contextEntries: [
        { ContextKeyName: 'kms:ViaService', ContextKeyValues: [`ecr.${region}.amazonaws.com`], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:CallerAccount', ContextKeyValues: [account], ContextKeyType: 'string' },
        { ContextKeyName: 'kms:GrantIsForAWSResource', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
        { ContextKeyName: 'aws:ViaAWSService', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
      ],
    });
  }
  return batches;
};
