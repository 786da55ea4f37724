/** The public types of the preflight: its input, its checks, its findings and its report. */
import type {
  EncryptionMismatch,
  GenericAwsError,
  InvalidEncryption,
  InvalidInput,
  InvalidRepositoryName,
  KeyError,
  MissingPermissions,
} from '../errors.js';
import type { PolicyDocument } from '../policy/types.js';
import type { Cancellable, EncryptionDescription, EncryptionSpec, ExistingRepository, ImageTagMutability, RepositoryTag, Severity } from '../types.js';

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

/** A finding of severity `error`: it stops `createEncryptedRepository`, and carries the typed error it would return. */
export interface BlockingFinding<E extends PreflightFindingError = PreflightFindingError> {
  readonly check: PreflightCheck;
  readonly severity: 'error';
  readonly message: string;
  /** The typed error the failing check produces. */
  readonly error: E;
}

/** A finding of severity `warning` or `info`: worth knowing, it stops nothing. */
export interface AdvisoryFinding {
  readonly check: PreflightCheck;
  readonly severity: Exclude<Severity, 'error'>;
  readonly message: string;
  /** The typed error behind a warning, when there is one (e.g. a permission only deletion needs). */
  readonly error?: PreflightFindingError;
}

/** One result of one check. `error` stops `createEncryptedRepository`; `warning` and `info` do not. */
export type Finding = BlockingFinding | AdvisoryFinding;

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
  /**
   * The encryption the repository would be created with: the key by its canonical ARN, as
   * DescribeKey resolved the reference (or as given, when only a key ARN or id was allowed).
   */
  readonly encryption?: EncryptionDescription;
  /** Set when the repository exists already. */
  readonly existingRepository?: ExistingRepository;
  /**
   * `DescribeKey("alias/aws/ecr")` creates the AWS-managed key on first use: `true` when the key's
   * creation date is within a minute of this preflight, i.e. most likely this call created it.
   */
  readonly awsManagedKeyCreated?: boolean;
}

/** The facts that every preflight with no blocking finding has resolved. */
export interface PreflightReadyFacts extends PreflightFacts {
  readonly region: string;
  readonly account: string;
  readonly callerArn: string;
  readonly repositoryArn: string;
  readonly encryption: EncryptionDescription;
}

/** @internal What an earlier preflight of the same target established: the key by its canonical ARN, the caller. */
export interface EstablishedTarget {
  readonly region: string;
  readonly account: string;
  readonly callerArn: string;
  readonly encryption: EncryptionDescription;
}

/** No finding of severity `error`: `createEncryptedRepository` would go ahead, with these facts. */
export interface PreflightReady {
  readonly ok: true;
  readonly findings: readonly Finding[];
  readonly facts: PreflightReadyFacts;
}

/** At least one finding of severity `error`: `createEncryptedRepository` would return the first one's error. */
export interface PreflightBlocked<E extends PreflightFindingError = PreflightFindingError> {
  readonly ok: false;
  readonly findings: readonly Finding[];
  /** The facts the checks that could run resolved. */
  readonly facts: PreflightFacts;
  /** The findings of severity `error`, in the order of `findings`; never empty. */
  readonly blocking: readonly [BlockingFinding<E>, ...BlockingFinding<E>[]];
}

/**
 * Every finding of a preflight, and the facts it resolved: with `ok: true` the facts a creation
 * needs are all there; with `ok: false`, `blocking` lists what stops it.
 */
export type PreflightReport<E extends PreflightFindingError = PreflightFindingError> = PreflightReady | PreflightBlocked<E>;
