/**
 * `audit`: every repository of the region with its encryption and whether it complies with a rule,
 * the grants ECR left on the keys in use, and what the keys cost a month. Reads only.
 *
 * Calls, batched: DescribeRepositories pages (1,000 repositories a page), one DescribeKey per
 * distinct key (never per repository), ListGrants pages per key; for `allowedKeys` given as
 * aliases or key ids, one more DescribeKey each (ListAliases for `alias/aws/ecr`, which
 * DescribeKey would create). No STS call: the account is the repositories' registry id.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import type { KeyMetadata, KeyState } from '@aws-sdk/client-kms';
import { err, errAsync, ok, okAsync, type Result, ResultAsync, safeTry } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS, parseKeyReference } from '../encryption/spec.js';
import type { AuditError, GenericAwsError, InvalidInput, KeyNotFound } from '../errors.js';
import { mapPool } from '../internal/pool.js';
import type { RegistryContext } from '../internal/context.js';
import { listAllRepositories } from '../steps/ecr-repository.js';
import { describeKey, listAllAliases } from '../steps/kms-keys.js';
import type { EncryptionType } from '../types.js';
import { assessKeyPosture, type KeyPosture } from './key-posture.js';
import { auditRegistryRules, type EncryptionJudge, readRegistryRules } from './audit-registry-rules.js';
import { sweepKeys } from './orphaned-grants.js';
import type {
  AuditedEncryption,
  AuditedKey,
  AuditedRepository,
  AuditInput,
  AuditReport,
  AuditRequirement,
  AuditStatus,
  AuditViolation,
  AuditViolationCode,
  AuditWarning,
} from './audit-types.js';

/** Violation codes that make a repository's status `unknown` rather than `fail`. */
const UNKNOWN_CODES: ReadonlySet<AuditViolationCode> = new Set(['key-unreadable']);

// ---------------------------------------------------------------------------------------------
// Prices and the request model
// ---------------------------------------------------------------------------------------------

/** KMS prices (seed 003): $1 per customer-managed key a month, $0.03 per 10,000 requests. */
const KMS_PRICE_PER_KEY_MONTH = 1;
const KMS_PRICE_PER_10K_REQUESTS = 0.03;
const DEFAULT_LAYERS_PER_IMAGE = 5;

/**
 * The request model. ECR stores a KMS repository's layers and manifests in S3 with SSE-KMS through
 * its grant, so each stored object costs one request to write and one to read:
 * - a push: one `GenerateDataKey` per blob (layers and config) plus one for the manifest — an upper
 *   bound, since blobs the repository already holds are not uploaded again;
 * - a pull: one `Decrypt` per blob plus one for the manifest (no client-side cache assumed).
 */
const requestsPerImage = (layersPerImage: number): number => layersPerImage + 1;

const round = (usd: number): number => Math.round(usd * 1e6) / 1e6;

/**
 * The rotation surcharge of a key billed here: "each rotation adds $1/month, for the first and
 * second rotation; later rotations are not billed" (AWS KMS pricing page, since the May 2024
 * change). 0 when the rotations are not known.
 */
const KMS_ROTATION_SURCHARGE = 1;
const BILLED_ROTATIONS = 2;
const rotationSurchargeOf = (posture: KeyPosture | undefined): number => {
  const rotations = posture?.rotation?.rotations;
  return rotations === undefined ? 0 : Math.min(rotations, BILLED_ROTATIONS) * KMS_ROTATION_SURCHARGE;
};

/** Who pays a key's monthly fee, seen from the registry's account. */
const keyFeeOf = (key: DescribedKey, account: string | undefined): AuditedKey['keyFeeBilledTo'] => {
  if (key.keyManager !== 'CUSTOMER' || key.keyState === 'PendingDeletion') return 'none';
  return key.keyAccount !== undefined && account !== undefined && key.keyAccount !== account ? 'owner' : 'this-account';
};

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

interface AuditParams {
  readonly require: AuditRequirement;
  readonly allowedKeys: readonly string[] | undefined;
  readonly pushesPerMonth: number;
  readonly pullsPerMonth: number;
  readonly layersPerImage: number;
}

const invalid = (field: string, reason: string): Result<never, InvalidInput> => err({ kind: 'InvalidInput', field, reason });

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

const validate = (input: AuditInput): Result<AuditParams, InvalidInput> => {
  const { require = 'any', allowedKeys, usage = {} } = input;
  if (require !== 'cmk' && require !== 'kms' && require !== 'any') return invalid('require', `must be cmk, kms or any, not ${JSON.stringify(require)}`);
  if (allowedKeys !== undefined) {
    if (!Array.isArray(allowedKeys) || allowedKeys.length === 0) return invalid('allowedKeys', 'must be a non-empty array of key references');
    for (const [i, key] of (allowedKeys as unknown[]).entries()) {
      if (typeof key !== 'string') return invalid(`allowedKeys[${i}]`, 'must be a string');
      const parsed = parseKeyReference(key);
      if (parsed.isErr()) return invalid(`allowedKeys[${i}]`, parsed.error.reason);
    }
  }
  const { pushesPerMonth = 0, pullsPerMonth = 0, layersPerImage = DEFAULT_LAYERS_PER_IMAGE } = usage;
  if (!isCount(pushesPerMonth)) return invalid('usage.pushesPerMonth', 'must be a number of 0 or more');
  if (!isCount(pullsPerMonth)) return invalid('usage.pullsPerMonth', 'must be a number of 0 or more');
  if (!isCount(layersPerImage) || !Number.isInteger(layersPerImage)) return invalid('usage.layersPerImage', 'must be an integer of 0 or more');
  return ok({ require, allowedKeys, pushesPerMonth, pullsPerMonth, layersPerImage });
};

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** Bounds DescribeKey and ListGrants calls in flight. */
const KEY_CONCURRENCY = 4;

interface DescribedKey {
  readonly keyArn: string;
  readonly keyManager: 'AWS' | 'CUSTOMER' | undefined;
  readonly keyState: KeyState | 'NotFound' | undefined;
  readonly description: string | undefined;
  readonly keyAccount: string | undefined;
  readonly metadata?: KeyMetadata;
  readonly error?: KeyNotFound | GenericAwsError;
}

/**
 * Key states in which ECR can use the key. `Updating` (a multi-Region key whose primary Region is
 * changing): "While the key state is Updating, you can use the keys in cryptographic operations"
 * (KMS Developer Guide, multi-region-update.html).
 */
const USABLE_STATES: ReadonlySet<string> = new Set(['Enabled', 'Updating']);

const describeInUse = (ctx: RegistryContext, keyArn: string): Promise<DescribedKey> =>
  describeKey(ctx, keyArn).match(
    (meta): DescribedKey => ({
      keyArn: meta.Arn,
      keyManager: meta.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER',
      keyState: meta.KeyState,
      description: meta.Description,
      keyAccount: meta.AWSAccountId ?? /^arn:[^:]+:kms:[^:]*:(\d{12}):/.exec(meta.Arn)?.[1],
      metadata: meta,
    }),
    (error): DescribedKey => {
      if (error.kind === 'KeyNotFound') return { keyArn, keyManager: undefined, keyState: 'NotFound', description: undefined, keyAccount: undefined, error };
      // A key ARN ECR reported is well formed: InvalidEncryption here would be a service fault.
      const generic: GenericAwsError =
        error.kind === 'InvalidEncryption'
          ? { kind: 'AwsServiceError', service: 'kms', operation: 'DescribeKey', cause: undefined, name: 'InvalidArnException', message: error.reason, fault: 'server', httpStatusCode: undefined, requestId: undefined }
          : error;
      return { keyArn, keyManager: undefined, keyState: undefined, description: undefined, keyAccount: undefined, error: generic };
    },
  );

/** `allowedKeys` as key ARNs: key ARNs as given, `aws/ecr` through ListAliases, the rest through DescribeKey. */
const resolveAllowedKeys = (
  ctx: RegistryContext,
  keys: readonly string[] | undefined,
  known: ReadonlyMap<string, DescribedKey>,
): ResultAsync<ReadonlySet<string> | undefined, InvalidInput | KeyNotFound | GenericAwsError> => {
  if (keys === undefined) return okAsync(undefined);
  return ResultAsync.combine(
    keys.map((key, i): ResultAsync<string, InvalidInput | KeyNotFound | GenericAwsError> => {
      const ref = parseKeyReference(key);
      if (ref.isOk() && ref.value.form === 'key-arn') return okAsync(key);
      if (key === AWS_MANAGED_ECR_ALIAS || key.endsWith(':alias/aws/ecr')) {
        const awsManaged = [...known.values()].find((k) => k.keyManager === 'AWS');
        if (awsManaged) return okAsync(awsManaged.keyArn);
        return listAllAliases(ctx).andThen((aliases) => {
          const alias = aliases.find((a) => a.AliasName === AWS_MANAGED_ECR_ALIAS && a.TargetKeyId && a.AliasArn);
          return alias?.AliasArn && alias.TargetKeyId
            ? okAsync(alias.AliasArn.replace(/:alias\/.*$/, `:key/${alias.TargetKeyId}`))
            : errAsync<never, KeyNotFound>({ kind: 'KeyNotFound', service: 'kms', operation: 'ListAliases', cause: undefined, key });
        });
      }
      return describeKey(ctx, key)
        .map((meta) => meta.Arn)
        .mapErr((e): InvalidInput | KeyNotFound | GenericAwsError =>
          e.kind === 'InvalidEncryption' ? { kind: 'InvalidInput', field: `allowedKeys[${i}]`, reason: e.reason } : e,
        );
    }),
  ).map((arns) => new Set(arns));
};

// ---------------------------------------------------------------------------------------------
// Compliance
// ---------------------------------------------------------------------------------------------

const encryptionOf = (repository: Repository, keys: ReadonlyMap<string, DescribedKey>): AuditedEncryption => {
  const config = repository.encryptionConfiguration;
  const type: EncryptionType = config?.encryptionType === 'KMS' || config?.encryptionType === 'KMS_DSSE' ? config.encryptionType : 'AES256';
  if (type === 'AES256') return { type };
  // KMS without a key ARN in the answer: ECR's default, the AWS-managed `aws/ecr` key.
  if (!config?.kmsKey) return { type, keyManager: 'AWS' };
  const key = keys.get(config.kmsKey);
  return {
    type,
    keyArn: key?.keyArn ?? config.kmsKey,
    ...(key?.keyManager !== undefined ? { keyManager: key.keyManager } : {}),
    ...(key?.keyState !== undefined ? { keyState: key.keyState } : {}),
    ...(key?.keyAccount !== undefined ? { keyAccount: key.keyAccount } : {}),
  };
};

const warningsOf = (encryption: AuditedEncryption, account: string | undefined): AuditWarning[] =>
  encryption.keyAccount !== undefined && account !== undefined && encryption.keyAccount !== account
    ? [{ code: 'key-cross-account', message: `the key ${encryption.keyArn ?? ''} belongs to account ${encryption.keyAccount}, which controls it and can withdraw it` }]
    : [];

const statusOf = (violations: readonly AuditViolation[]): AuditStatus =>
  violations.some((v) => !UNKNOWN_CODES.has(v.code)) ? 'fail' : violations.length > 0 ? 'unknown' : 'pass';

const violationsOf = (
  encryption: AuditedEncryption,
  key: DescribedKey | undefined,
  rule: AuditRequirement,
  allowed: ReadonlySet<string> | undefined,
): AuditViolation[] => {
  const violations: AuditViolation[] = [];
  if (encryption.type === 'AES256') {
    if (rule !== 'any') violations.push({ code: 'not-kms', message: `encrypted with AES256; the rule requires ${rule === 'cmk' ? 'a customer-managed KMS key' : 'KMS'}` });
    return violations;
  }
  if (encryption.keyArn === undefined) {
    // ECR's default key (no key ARN reported): AWS-managed, and never one of `allowedKeys`' ARNs.
    if (rule === 'cmk') violations.push({ code: 'not-customer-managed', message: 'encrypted with the AWS-managed key aws/ecr; the rule requires a customer-managed key' });
    if (allowed !== undefined) violations.push({ code: 'key-not-allowed', message: 'encrypted with the AWS-managed key aws/ecr, which is not one of the allowed keys' });
    return violations;
  }
  const keyArn = encryption.keyArn;
  if (key?.keyState === 'NotFound') {
    violations.push({ code: 'key-not-found', message: `the key ${keyArn} does not exist: images cannot be pushed or pulled` });
  } else if (key === undefined || key.error !== undefined) {
    const why = key?.error ? `${key.error.kind}${'message' in key.error ? `: ${key.error.message}` : ''}` : 'not described';
    violations.push({ code: 'key-unreadable', message: `the key ${keyArn} cannot be described (${why}): compliance cannot be verified` });
  } else {
    if (rule === 'cmk' && key.keyManager === 'AWS') {
      violations.push({ code: 'not-customer-managed', message: `encrypted with the AWS-managed key aws/ecr; the rule requires a customer-managed key` });
    }
    if (key.keyState === undefined || !USABLE_STATES.has(key.keyState)) {
      violations.push({ code: 'key-not-usable', message: `the key ${keyArn} is ${key.keyState ?? 'in an unknown state'}: images cannot be pushed or pulled` });
    }
  }
  if (allowed !== undefined && !allowed.has(keyArn)) violations.push({ code: 'key-not-allowed', message: `the key ${keyArn} is not one of the allowed keys` });
  return violations;
};

// ---------------------------------------------------------------------------------------------
// The audit
// ---------------------------------------------------------------------------------------------

const ACCOUNT_OF_ARN = /^arn:[a-z0-9-]+:ecr:[a-z0-9-]+:(\d{12}):/;

/**
 * Audits every repository of the region: encryption, compliance, grants of the keys in use, cost.
 *
 * @internal
 */
export const audit = (ctx: RegistryContext, input: AuditInput = {}): ResultAsync<AuditReport, AuditError> => {
  const params = validate(input);
  if (params.isErr()) return errAsync(params.error);
  if (ctx.transportError) return errAsync(ctx.transportError);
  const { require, allowedKeys, pushesPerMonth, pullsPerMonth, layersPerImage } = params.value;
  const progress = input.onProgress ?? (() => undefined);
  const withPosture = input.posture !== false;

  return safeTry(async function* () {
    const region = yield* ctx.region();
    // The registry rules are read alongside the listing (three calls that depend on nothing here).
    const ruleReads = readRegistryRules(ctx);

    progress({ phase: 'repositories', completed: 0, total: undefined });
    const listedAt = ctx.now();
    const repositories = yield* listAllRepositories(ctx);
    progress({ phase: 'repositories', completed: repositories.length, total: repositories.length });
    const account =
      repositories.find((r) => r.registryId)?.registryId ?? ACCOUNT_OF_ARN.exec(repositories[0]?.repositoryArn ?? '')?.[1];

    // One DescribeKey per distinct key, whatever the number of repositories using it.
    const keyArns = [
      ...new Set(
        repositories.flatMap((r) => {
          const c = r.encryptionConfiguration;
          return c && c.encryptionType !== 'AES256' && c.kmsKey ? [c.kmsKey] : [];
        }),
      ),
    ];
    let described = 0;
    progress({ phase: 'keys', completed: 0, total: keyArns.length });
    const keyList = await mapPool(keyArns, KEY_CONCURRENCY, async (keyArn) => {
      const key = await describeInUse(ctx, keyArn);
      progress({ phase: 'keys', completed: ++described, total: keyArns.length });
      return key;
    });
    // By the ARN ECR reported (a key ARN already): DescribeKey's canonical ARN is the same.
    const keys = new Map(keyArns.map((arn, i) => [arn, keyList[i] as DescribedKey]));

    const allowed = yield* resolveAllowedKeys(ctx, allowedKeys, keys);

    // Orphaned grants and headroom of every key that could be described, sharing the listing above.
    const sweepable = keyList.flatMap((k) => (k.error === undefined && k.keyManager !== undefined ? [{ keyArn: k.keyArn, keyManager: k.keyManager }] : []));
    progress({ phase: 'grants', completed: 0, total: sweepable.length });
    const swept =
      account === undefined || sweepable.length === 0
        ? { keys: [], skipped: [] }
        : yield* sweepKeys(ctx, { region, account, strict: false, listed: { repositories, listedAt } }, sweepable);
    progress({ phase: 'grants', completed: sweepable.length, total: sweepable.length });
    // The posture of each distinct key (never per repository).
    const distinct = [...new Map(keyList.map((k) => [k.keyArn, k])).values()];
    const postures = new Map<string, KeyPosture>();
    if (withPosture) {
      let assessed = 0;
      progress({ phase: 'posture', completed: 0, total: distinct.length });
      const list = await mapPool(distinct, KEY_CONCURRENCY, async (key) => {
        const posture = await assessKeyPosture(ctx, {
          keyArn: key.keyArn,
          metadata: key.metadata,
          keyState: key.keyState,
          keyAccount: key.keyAccount,
          account,
          billedHere: keyFeeOf(key, account) === 'this-account',
          error: key.error,
        });
        progress({ phase: 'posture', completed: ++assessed, total: distinct.length });
        return posture;
      });
      distinct.forEach((key, i) => postures.set(key.keyArn, list[i] as KeyPosture));
    }
    const grantsByKey = new Map(swept.keys.map((k) => [k.keyArn, k]));
    const sweepErrors = new Map(swept.skipped.map((s) => [s.keyArn, s.error]));

    const audited = repositories.map((repository): AuditedRepository => {
      const encryption = encryptionOf(repository, keys);
      const key = encryption.keyArn === undefined ? undefined : keys.get(repository.encryptionConfiguration?.kmsKey ?? '');
      const violations = violationsOf(encryption, key, require, allowed);
      const status = statusOf(violations);
      return {
        name: repository.repositoryName ?? '',
        arn: repository.repositoryArn ?? '',
        uri: repository.repositoryUri,
        createdAt: repository.createdAt,
        encryption,
        status,
        compliant: status === 'pass',
        violations,
        warnings: warningsOf(encryption, account),
      };
    });

    const requestsPerPush = requestsPerImage(layersPerImage);
    const requestsPerPull = requestsPerImage(layersPerImage);
    const requestsPerRepository = pushesPerMonth * requestsPerPush + pullsPerMonth * requestsPerPull;
    // Two references to one key (an alias ARN and its key ARN) make one key (`distinct` above).
    const auditedKeys = distinct.map((key): AuditedKey => {
      const users = audited.filter((r) => r.encryption.keyArn === key.keyArn).map((r) => r.name);
      const requests = users.length * requestsPerRepository;
      const keyFeeBilledTo = keyFeeOf(key, account);
      const billedKey = keyFeeBilledTo === 'this-account' ? KMS_PRICE_PER_KEY_MONTH : 0;
      const posture = postures.get(key.keyArn);
      const rotationSurcharge = keyFeeBilledTo === 'this-account' ? rotationSurchargeOf(posture) : 0;
      const grants = grantsByKey.get(key.keyArn);
      const error = key.error ?? sweepErrors.get(key.keyArn);
      return {
        keyArn: key.keyArn,
        keyManager: key.keyManager,
        keyState: key.keyState,
        description: key.description,
        keyAccount: key.keyAccount,
        keyFeeBilledTo,
        repositories: users,
        ...(grants
          ? { grants: { grantCount: grants.grantCount, ecrGrantCount: grants.ecrGrantCount, orphans: grants.orphans, unverifiable: grants.unverifiable, headroom: grants.headroom } }
          : {}),
        ...(error !== undefined ? { error } : {}),
        usedWithDsse: repositories.some((r) => r.encryptionConfiguration?.encryptionType === 'KMS_DSSE' && keys.get(r.encryptionConfiguration.kmsKey ?? '')?.keyArn === key.keyArn),
        ...(posture !== undefined ? { posture } : {}),
        rotationSurcharge,
        estimatedMonthlyRequests: requests,
        estimatedMonthlyCost: round(billedKey + rotationSurcharge + (requests / 10_000) * KMS_PRICE_PER_10K_REQUESTS),
      };
    });

    // Registry rules (issue 18): the templates' keys are judged like the repositories' keys.
    const ruleKeys = new Map(keys);
    const judge: EncryptionJudge = async (type, keyArn) => {
      if (keyArn !== undefined && !ruleKeys.has(keyArn)) ruleKeys.set(keyArn, await describeInUse(ctx, keyArn));
      const encryption = encryptionOf({ encryptionConfiguration: { encryptionType: type, ...(keyArn === undefined ? {} : { kmsKey: keyArn }) } }, ruleKeys);
      return { encryption, violations: violationsOf(encryption, keyArn === undefined ? undefined : ruleKeys.get(keyArn), require, allowed) };
    };
    const registryRules = yield* auditRegistryRules(ctx, { region, require, judge }, ruleReads);

    const requestsPerMonth = auditedKeys.reduce((n, k) => n + k.estimatedMonthlyRequests, 0);
    const keyCost = auditedKeys.filter((k) => k.keyFeeBilledTo === 'this-account').length * KMS_PRICE_PER_KEY_MONTH;
    const requestCost = round((requestsPerMonth / 10_000) * KMS_PRICE_PER_10K_REQUESTS);
    const rotationSurcharges = auditedKeys.reduce((n, k) => n + k.rotationSurcharge, 0);
    const estimatedRotations = auditedKeys.filter((k) => k.keyFeeBilledTo === 'this-account' && k.posture?.rotation?.rotationsEstimated === true).length;
    const uncountedRotations = auditedKeys.filter(
      (k) => k.keyFeeBilledTo === 'this-account' && k.posture?.rotation !== undefined && k.posture.rotation.enabled !== false && k.posture.rotation.rotations === undefined,
    ).length;
    const keyPosture = {
      pass: auditedKeys.filter((k) => k.posture?.status === 'pass').length,
      fail: auditedKeys.filter((k) => k.posture?.status === 'fail').length,
      unknown: auditedKeys.filter((k) => k.posture?.status === 'unknown').length,
    };
    const requestsEstimated = input.usage?.pushesPerMonth !== undefined || input.usage?.pullsPerMonth !== undefined;
    const nonCompliant = audited.filter((r) => r.status === 'fail').length;
    const unknown = audited.filter((r) => r.status === 'unknown').length;
    const caveats = [
      'before the KMS free tier (20,000 requests a month per account)',
      ...(requestsEstimated ? [] : ['request cost not estimated: give usage (pushes and pulls a month) to estimate it']),
      ...(audited.some((r) => r.encryption.type === 'KMS_DSSE') ? ['KMS_DSSE repositories are costed like KMS, an approximation: DSSE-KMS pricing is not modelled'] : []),
      ...(auditedKeys.some((k) => k.keyFeeBilledTo === 'owner') ? ["keys of other accounts are billed to their owners, not here"] : []),
      ...(withPosture
        ? [
            ...(estimatedRotations > 0
              ? [`rotation surcharges of ${estimatedRotations} key(s) are estimates (rotation periods since the key was created; ListKeyRotations could not be read): an upper bound`]
              : []),
            ...(uncountedRotations > 0 ? [`the rotations of ${uncountedRotations} key(s) could not be counted: their rotation surcharge ($1 a month per rotation, for the first two) is not included`] : []),
          ]
        : ['automatic key rotation adds $1 a month per rotation for the first two rotations: not included (posture: false)']),
    ];
    const report: AuditReport = {
      region,
      account,
      rule: { require, allowedKeys: allowed === undefined ? undefined : [...allowed] },
      compliant: nonCompliant === 0 && unknown === 0 && registryRules.status === 'pass',
      status: nonCompliant > 0 || registryRules.status === 'fail' ? 'fail' : unknown > 0 || registryRules.status === 'unknown' ? 'unknown' : 'pass',
      repositories: audited,
      keys: auditedKeys,
      postureStatus: !withPosture || auditedKeys.length === 0 ? undefined : keyPosture.fail > 0 ? 'fail' : keyPosture.unknown > 0 ? 'unknown' : 'pass',
      registryRules,
      cost: {
        currency: 'USD',
        keys: keyCost,
        rotationSurcharges,
        rotationSurchargesEstimated: estimatedRotations > 0,
        requests: requestCost,
        requestsBasis: 'before-free-tier',
        total: round(keyCost + rotationSurcharges + requestCost),
        requestsPerMonth,
        requestsEstimated,
        caveats,
        assumptions: {
          pushesPerMonth,
          pullsPerMonth,
          layersPerImage,
          requestsPerPush,
          requestsPerPull,
          pricePerKeyMonth: KMS_PRICE_PER_KEY_MONTH,
          pricePer10kRequests: KMS_PRICE_PER_10K_REQUESTS,
        },
      },
      summary: {
        repositories: audited.length,
        nonCompliant,
        unknown,
        keys: auditedKeys.length,
        orphanedGrants: auditedKeys.reduce((n, k) => n + (k.grants?.orphans.length ?? 0), 0),
        keyPosture,
      },
    };
    ctx.logger.info('audit', { ...report.summary, compliant: report.compliant });
    return ok(report);
  });
};
