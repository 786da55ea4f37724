/** The emulated KMS's state, its records and what it is built from. */
import { ApiError, type Authorizer, type Clock, type KmsKeyInfo } from '../core.js';

/** A KMS call made in process (by ECR), for the call log. */
interface InternalKmsCall {
  readonly operation: string;
  readonly principalArn: string;
  readonly region: string;
  readonly status: number;
  readonly errorCode?: string;
  readonly viaService?: string;
}

/** What the KMS service is built from. */
export interface KmsServiceDeps {
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  /** Regions the emulator serves: ReplicateKey targets must be one of them. */
  readonly regions: readonly string[];
  /** How long retired grants keep showing in ListGrants, and new ones stay hidden. */
  readonly grantConsistencyDelayMs?: number;
  /** Records calls ECR makes in process. */
  readonly onInternalCall?: (call: InternalKmsCall) => void;
}

/** A grant, as `inspect.grants` shows it (retired grants included). */
export interface GrantInfo {
  readonly grantId: string;
  readonly keyArn: string;
  readonly name: string | undefined;
  readonly granteePrincipal: string;
  readonly retiringPrincipal: string | undefined;
  readonly operations: readonly string[];
  readonly encryptionContextSubset: Readonly<Record<string, string>> | undefined;
  readonly encryptionContextEquals: Readonly<Record<string, string>> | undefined;
  readonly issuingAccount: string;
  readonly createdAt: Date;
  readonly retired: boolean;
  readonly retiredAt: Date | undefined;
  /** `RetireGrant` or `RevokeGrant`. */
  readonly retiredBy: string | undefined;
  /** Whether ListGrants shows it now (grants are eventually consistent). */
  readonly listed: boolean;
}

/** A key, as `inspect.keys` shows it. */
export interface KeyInfo extends KmsKeyInfo {
  readonly enabled: boolean;
  readonly multiRegion: boolean;
  readonly aliases: readonly string[];
  readonly createdAt: Date;
  readonly deletionDate: Date | undefined;
}

export interface KeyRecord {
  keyId: string;
  arn: string;
  region: string;
  account: string;
  description: string;
  keyUsage: string;
  keySpec: string;
  origin: string;
  keyManager: 'AWS' | 'CUSTOMER';
  state: string;
  creationDate: string;
  deletionDate?: string | undefined;
  policy: string;
  tags: KeyTag[];
  multiRegion: boolean;
  primaryArn?: string | undefined;
  rotationEnabled?: boolean | undefined;
  /** base64 AES-256 key material; absent for asymmetric and HMAC keys (no crypto emulated for them). */
  material?: string | undefined;
}

export interface KeyTag {
  TagKey: string;
  TagValue: string;
}

export interface GrantRecord {
  grantId: string;
  grantToken: string;
  keyArn: string;
  name?: string | undefined;
  granteePrincipal: string;
  retiringPrincipal?: string | undefined;
  operations: string[];
  subset?: Record<string, string> | undefined;
  equals?: Record<string, string> | undefined;
  issuingAccount: string;
  creationDate: string;
  retiredAt?: string | undefined;
  retiredBy?: string | undefined;
}

export interface AliasRecord {
  name: string;
  region: string;
  account: string;
  targetKeyId: string;
  creationDate: string;
}

export interface KmsState {
  keys: KeyRecord[];
  grants: GrantRecord[];
  aliases: AliasRecord[];
}

/** The partition of every ARN the emulator makes (`arn:aws:…`). */
export const EMULATOR_PARTITION = 'aws';

const STATUS: Readonly<Record<string, number>> = {
  NotFoundException: 404,
  DisabledException: 409,
  KMSInvalidStateException: 409,
  AlreadyExistsException: 409,
  DryRunOperationException: 412,
  KMSInternalException: 500,
  DependencyTimeoutException: 503,
};

/** A KMS error with the status AWS answers it with. */
export const kmsError = (code: string, message: string): ApiError => new ApiError(code, message, { status: STATUS[code] ?? 400 });

export const dryRunError = (): ApiError => kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');

/** KMS JSON timestamps are epoch seconds. */
export const epoch = (iso: string): number => Date.parse(iso) / 1000;

export const keyArn = (region: string, account: string, keyId: string): string => `arn:aws:kms:${region}:${account}:key/${keyId}`;

export const aliasArn = (region: string, account: string, name: string): string => `arn:aws:kms:${region}:${account}:${name}`;
