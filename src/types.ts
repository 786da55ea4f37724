/**
 * Public types shared by several operations. Operation-specific inputs and results live beside
 * their operation and are re-exported from `index.ts`.
 */

/**
 * How a repository is encrypted at rest, as the caller asks for it.
 *
 * - `'AES256'`: S3-managed keys (ECR's default).
 * - `{ type: 'KMS' }`: the AWS-managed key `aws/ecr` (created in the account on first use).
 * - `{ type: 'KMS', key }`: a customer-managed key given by key id (UUID or `mrk-…`), key ARN,
 *   alias name (`alias/app`) or alias ARN.
 * - `{ type: 'KMS_DSSE', key? }`: dual-layer encryption (only in the AWS GovCloud (US) regions).
 */
export type EncryptionSpec =
  | 'AES256'
  | { readonly type: 'AES256' }
  | { readonly type: 'KMS'; readonly key?: string }
  | { readonly type: 'KMS_DSSE'; readonly key?: string };

/** ECR's encryption types. */
export type EncryptionType = 'AES256' | 'KMS' | 'KMS_DSSE';

/**
 * An encryption configuration as it is (or will be) on a repository: the key always by its
 * canonical key ARN, never by alias or id, so two descriptions compare with `===` on each field.
 */
export interface EncryptionDescription {
  readonly type: EncryptionType;
  /** The key ARN for `KMS` and `KMS_DSSE`; absent for `AES256`. */
  readonly keyArn?: string;
  /** Whether the key is the AWS-managed `aws/ecr` key. */
  readonly awsManagedKey?: boolean;
}

/** ECR's tag mutability settings. `*_WITH_EXCLUSION` needs exclusion filters, and only it takes them. */
export type ImageTagMutability = 'MUTABLE' | 'IMMUTABLE' | 'MUTABLE_WITH_EXCLUSION' | 'IMMUTABLE_WITH_EXCLUSION';

/** A resource tag, as ECR's API writes it. */
export interface RepositoryTag {
  readonly Key: string;
  readonly Value: string;
}

/** A repository that exists already, as it was found. */
export interface ExistingRepository {
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  readonly createdAt: Date | undefined;
  readonly registryId: string;
  readonly encryption: EncryptionDescription;
}

/**
 * What every operation's input accepts: an `AbortSignal`. Once it fires, the operation stops at its
 * next AWS call (or pause) and answers `Aborted`; an already-aborted signal sends nothing.
 */
export interface Cancellable {
  readonly signal?: AbortSignal;
}

/** A finding's weight: `error` stops the operation, `warning` does not. */
export type Severity = 'error' | 'warning' | 'info';

/** A structured log line; pass `logger` to see what the registry is doing. */
export interface RegistryLogger {
  debug(message: string, fields?: Readonly<Record<string, unknown>>): void;
  info(message: string, fields?: Readonly<Record<string, unknown>>): void;
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
}
