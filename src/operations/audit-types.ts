/**
 * The public types of `audit`: what it takes and what it reports.
 */
import type { KeyState } from '@aws-sdk/client-kms';
import type { FindOrphanedGrantsError, KeyNotFound } from '../errors.js';
import type { GrantHeadroom, OrphanedGrant, UnverifiableGrant } from '../grants/orphans.js';
import type { Cancellable, EncryptionType } from '../types.js';
import type { KeyPosture } from './key-posture.js';

/**
 * The encryption a repository must have:
 * - `'cmk'`: KMS (or KMS_DSSE) with a customer-managed key;
 * - `'kms'`: KMS (or KMS_DSSE) with any key, the AWS-managed `aws/ecr` included;
 * - `'any'`: every encryption passes (AES256 included); only `allowedKeys` and key health are checked.
 */
export type AuditRequirement = 'cmk' | 'kms' | 'any';

/** How many KMS requests images cause, to estimate the monthly cost. */
export interface AuditUsage {
  /** Image pushes a month, per KMS-encrypted repository. Default 0. */
  readonly pushesPerMonth?: number;
  /** Image pulls a month, per KMS-encrypted repository. Default 0. */
  readonly pullsPerMonth?: number;
  /** Blobs per image (layers plus the config blob). Default 5. */
  readonly layersPerImage?: number;
}

/** What {@link audit} takes. Everything is optional. */
export interface AuditInput extends Cancellable {
  /** The rule every repository must meet. Default `'any'`. */
  readonly require?: AuditRequirement;
  /**
   * When given, a KMS-encrypted repository must use one of these keys (key id, key ARN, alias name
   * or alias ARN; resolved to key ARNs). AES256 repositories are not affected (use `require`).
   */
  readonly allowedKeys?: readonly string[];
  readonly usage?: AuditUsage;
  /**
   * Check the posture of each key in use (rotation, deletion, state, owner, imported material,
   * key policy). Default `true`; `false` saves GetKeyRotationStatus, ListKeyRotations and
   * GetKeyPolicy calls (one or two each per key).
   */
  readonly posture?: boolean;
  /** Called as the audit advances, for progress bars. */
  readonly onProgress?: (progress: AuditProgress) => void;
}

/** One step of the audit: `total` is unknown (undefined) while repositories are being listed. */
export interface AuditProgress {
  readonly phase: 'repositories' | 'keys' | 'grants' | 'posture';
  readonly completed: number;
  readonly total: number | undefined;
}

/** Why a repository breaks the rule. */
export type AuditViolationCode =
  /** AES256 where the rule asks for KMS. */
  | 'not-kms'
  /** The AWS-managed `aws/ecr` key where the rule asks for a customer-managed key. */
  | 'not-customer-managed'
  /** A key that is not in `allowedKeys`. */
  | 'key-not-allowed'
  /** The key is disabled, pending deletion or otherwise not `Enabled`: images cannot be pushed or pulled. */
  | 'key-not-usable'
  /** The key no longer exists. */
  | 'key-not-found'
  /** DescribeKey failed (e.g. access denied): compliance is UNKNOWN (neither pass nor fail), never assumed. */
  | 'key-unreadable'
  /** Registry rules: repositories ECR creates on your behalf here get no template, so ECR's default, AES256. */
  | 'no-template'
  /** A KMS creation template names no custom role: ECR has no identity to create the KMS grants with. */
  | 'template-role-missing'
  /** The template's custom role may not do what ECR needs it for (IAM simulation or key policy). */
  | 'template-role-denied'
  /** A template's key is in another region: "The key must exist in the same Region as the repository". */
  | 'key-wrong-region'
  /** Registry rules that could not be read or checked (another registry's templates, a denied read): UNKNOWN. */
  | 'rules-unverified';

/** A result that is not a violation but deserves attention. */
export type AuditWarningCode =
  /** The key belongs to another account: that account controls (and can withdraw) the key, and pays its monthly fee. */
  'key-cross-account';

/** One warning about a repository's encryption. */
export interface AuditWarning {
  readonly code: AuditWarningCode;
  readonly message: string;
}

/**
 * Three-state result: `pass` (every check passed), `fail` (a violation), `unknown` (a check could
 * not be made, e.g. the key could not be described: not counted as compliant, nor as non-compliant).
 */
export type AuditStatus = 'pass' | 'fail' | 'unknown';

/** One reason a repository is not compliant. */
export interface AuditViolation {
  readonly code: AuditViolationCode;
  readonly message: string;
}

/** A repository's encryption, as the audit found it. */
export interface AuditedEncryption {
  readonly type: EncryptionType;
  /** The canonical key ARN (for KMS and KMS_DSSE). */
  readonly keyArn?: string;
  /** Who manages the key; absent for AES256 and when DescribeKey failed. */
  readonly keyManager?: 'AWS' | 'CUSTOMER';
  /** The key's state (`Enabled`, `Disabled`, `PendingDeletion`, …), `NotFound`, or absent when unknown. */
  readonly keyState?: KeyState | 'NotFound';
  /** The account that owns the key, when DescribeKey answered. */
  readonly keyAccount?: string;
}

/** One repository of the region. */
export interface AuditedRepository {
  readonly name: string;
  readonly arn: string;
  readonly uri: string | undefined;
  readonly createdAt: Date | undefined;
  readonly encryption: AuditedEncryption;
  readonly status: AuditStatus;
  /** `status === 'pass'`. */
  readonly compliant: boolean;
  /** Empty when compliant; for `unknown`, the checks that could not be made. */
  readonly violations: readonly AuditViolation[];
  readonly warnings: readonly AuditWarning[];
}

/** The ECR grants of a key in use. */
export interface AuditedGrants {
  /** Every grant on the key, whoever made it. */
  readonly grantCount: number;
  /** Grants ECR made for repositories. */
  readonly ecrGrantCount: number;
  readonly orphans: readonly OrphanedGrant[];
  readonly unverifiable: readonly UnverifiableGrant[];
  readonly headroom: GrantHeadroom;
}

/** A key used by at least one repository. */
export interface AuditedKey {
  readonly keyArn: string;
  readonly keyManager: 'AWS' | 'CUSTOMER' | undefined;
  readonly keyState: KeyState | 'NotFound' | undefined;
  readonly description: string | undefined;
  /** The account that owns the key (undefined when it could not be described). */
  readonly keyAccount: string | undefined;
  /**
   * Who pays the key's $1/month: `this-account`, `owner` (a key of another account: billed there,
   * so 0 here), or `none` (AWS managed keys, keys pending deletion).
   */
  readonly keyFeeBilledTo: 'this-account' | 'owner' | 'none';
  /** Names of the repositories encrypted with it. */
  readonly repositories: readonly string[];
  /** Absent when the grants could not be listed (see `error`). */
  readonly grants?: AuditedGrants;
  /** Why DescribeKey or ListGrants failed, when one did. */
  readonly error?: FindOrphanedGrantsError | KeyNotFound;
  /** Whether a KMS_DSSE repository uses the key (costed like KMS: an approximation). */
  readonly usedWithDsse: boolean;
  /** The key's posture checks; absent when `posture: false`. */
  readonly posture?: KeyPosture;
  /**
   * The monthly rotation surcharge billed here, in USD: $1 for each of the first two rotations of
   * the key material (later rotations are not billed; AWS KMS pricing). 0 when not billed here,
   * or when the rotations could not be counted (see `posture.rotation`).
   */
  readonly rotationSurcharge: number;
  /** This key's share of the estimated monthly cost, in USD (its fee, rotation surcharge and requests). */
  readonly estimatedMonthlyCost: number;
  readonly estimatedMonthlyRequests: number;
}

/** The estimated monthly KMS cost of the region's repositories, in USD. */
export interface AuditCost {
  readonly currency: 'USD';
  /** $1 per customer-managed key of this account in use (keys pending deletion and other accounts' keys are not billed here). */
  readonly keys: number;
  /** Rotation surcharges of those keys: $1 a month per rotation, for the first two rotations of each. */
  readonly rotationSurcharges: number;
  /** Whether a rotation count behind `rotationSurcharges` is an estimate (rotation period and creation date). */
  readonly rotationSurchargesEstimated: boolean;
  /** $0.03 per 10,000 requests, before the free tier (20,000 requests a month per account). 0 when not estimated. */
  readonly requests: number;
  /** What `requests` is: always the price before the KMS free tier. */
  readonly requestsBasis: 'before-free-tier';
  readonly total: number;
  readonly requestsPerMonth: number;
  /**
   * Whether request costs were estimated: only when usage (pushes or pulls a month) was given.
   * When false, `requests` is 0 because it was NOT estimated, not because requests are free.
   */
  readonly requestsEstimated: boolean;
  /** What the figures leave out: shown with them. */
  readonly caveats: readonly string[];
  /** The assumptions behind the numbers. */
  readonly assumptions: {
    readonly pushesPerMonth: number;
    readonly pullsPerMonth: number;
    readonly layersPerImage: number;
    readonly requestsPerPush: number;
    readonly requestsPerPull: number;
    readonly pricePerKeyMonth: number;
    readonly pricePer10kRequests: number;
  };
}

/** Where a registry rule makes ECR create repositories on your behalf. */
export type RegistryRuleKind = 'creation-template' | 'pull-through-cache' | 'replication';

/**
 * One registry rule and the encryption the repositories ECR creates under it get: a creation
 * template (its own encryption, key and custom role), a pull-through cache rule or a replication
 * destination (the template that applies there, or AES256 when none does).
 */
export interface AuditedRegistryRule {
  readonly rule: RegistryRuleKind;
  /** The template's prefix, the pull-through cache rule's ECR prefix, or the replication filter (`ROOT`: every repository). */
  readonly prefix: string;
  /** For templates: the scenarios it applies to. */
  readonly appliedFor?: readonly string[];
  /** For replication: the destination registry. */
  readonly destination?: { readonly region: string; readonly registryId: string };
  /** The prefix of the template that applies (a template names itself); absent when none does. */
  readonly template?: string;
  /** For templates: the role ECR assumes to create repositories and grants. */
  readonly customRoleArn?: string;
  /** What new repositories get; absent when it cannot be known here (another registry's templates). */
  readonly encryption?: AuditedEncryption;
  readonly status: AuditStatus;
  readonly violations: readonly AuditViolation[];
  /** Worth knowing, not failing: e.g. a role that may not retire grants. */
  readonly notes: readonly string[];
}

/** The registry rules of the region, audited. */
export interface AuditedRegistryRules {
  /** `fail` when a rule fails, else `unknown` when one could not be checked, else `pass`. */
  readonly status: AuditStatus;
  readonly rules: readonly AuditedRegistryRule[];
}

/** The answer of {@link audit}. */
export interface AuditReport {
  readonly region: string;
  /** The registry's account, when the region has repositories. */
  readonly account: string | undefined;
  readonly rule: { readonly require: AuditRequirement; readonly allowedKeys: readonly string[] | undefined };
  /** Every repository passes (`status === 'pass'`). */
  readonly compliant: boolean;
  /** `fail` when one repository fails, else `unknown` when one could not be checked, else `pass`. */
  readonly status: AuditStatus;
  readonly repositories: readonly AuditedRepository[];
  readonly keys: readonly AuditedKey[];
  /**
   * Creation templates, pull-through cache rules and replication: what the repositories ECR will
   * create on your behalf get. Counted in `status` and `compliant` like the repositories.
   */
  readonly registryRules: AuditedRegistryRules;
  readonly cost: AuditCost;
  /**
   * The keys' posture: `fail` when a check of a key fails, else `unknown` when one could not be
   * made, else `pass`; undefined when `posture: false` or no key is in use. Separate from `status`
   * (which is the repositories' rule).
   */
  readonly postureStatus: AuditStatus | undefined;
  readonly summary: {
    readonly repositories: number;
    /** Repositories whose status is `fail`. */
    readonly nonCompliant: number;
    /** Repositories whose status is `unknown`. */
    readonly unknown: number;
    readonly keys: number;
    readonly orphanedGrants: number;
    /** Keys by posture status (0 each when `posture: false`). */
    readonly keyPosture: { readonly pass: number; readonly fail: number; readonly unknown: number };
  };
}
