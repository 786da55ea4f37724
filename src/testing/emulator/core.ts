/**
 * The contracts inside the local AWS emulator: how the HTTP server hands a call to a service, how
 * services report errors, how ECR calls KMS on the caller's behalf, and how state is kept.
 *
 * The server (protocols, SigV4, IAM/STS, faults, inspection, persistence) and the services (KMS,
 * ECR) meet only here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessExplanation, ContextValue, PolicyDocument } from '../../policy/types.js';
import type { AwsVariants } from './variants.js';

/**
 * An error answered by an emulated service. The server renders it in the protocol's error shape
 * (JSON 1.1 `__type` + `message` + extra fields, or Query XML `<ErrorResponse>`), so the SDK raises
 * the same exception class as against AWS.
 */
export class ApiError extends Error {
  /** HTTP status; 400 for client faults unless given. */
  readonly status: number;
  /** Extra members of the error shape, e.g. `{ kmsError: 'DisabledException' }` for ECR `KmsException`. */
  readonly fields: Readonly<Record<string, unknown>>;

  constructor(
    /** The exception name, e.g. `RepositoryNotFoundException`. */
    readonly code: string,
    message: string,
    options: { readonly status?: number; readonly fields?: Readonly<Record<string, unknown>> } = {},
  ) {
    super(message);
    this.name = code;
    this.status = options.status ?? 400;
    this.fields = options.fields ?? {};
  }
}

/** A caller, as the emulator's IAM knows it. */
export interface Principal {
  /** The ARN AWS reports for the caller (an assumed-role session ARN for sessions). */
  readonly arn: string;
  readonly account: string;
  /** `aws:userid`: `AIDA…` for users, `AROA…:session` for role sessions, the account for root. */
  readonly userId: string;
  readonly type: 'root' | 'user' | 'role-session';
  /** For a role session: the role's ARN, with its path. */
  readonly roleArn?: string;
  readonly accessKeyId: string;
}

/** One authenticated call. */
export interface CallContext {
  /** The region from the SigV4 credential scope. */
  readonly region: string;
  readonly principal: Principal;
  readonly requestId: string;
  /**
   * Set when a service calls another on the caller's behalf (forward access session): ECR calling
   * KMS sets `ecr.<region>.amazonaws.com`, which becomes `kms:ViaService` in authorization.
   */
  readonly viaService?: string;
  /**
   * The VPC endpoint the call came through (`aws:SourceVpce`), when the client sent it to that
   * endpoint's port. Calls a service makes on the caller's behalf (`viaService`) do not pass
   * through it: the authorizer ignores it for them.
   */
  readonly sourceVpce?: string;
}

/** Extra inputs to one authorization. */
export interface AuthorizeOptions {
  /** Request context keys beyond the global ones (`kms:ViaService`, `kms:GrantOperations`, …). */
  readonly context?: Readonly<Record<string, ContextValue>>;
  /** The resource's policy (ECR repository policy). */
  readonly resourcePolicy?: PolicyDocument;
  /** The KMS key policy, for KMS actions. */
  readonly keyPolicy?: PolicyDocument;
  /** An IAM role's trust policy, for `sts:AssumeRole`. */
  readonly trustPolicy?: PolicyDocument;
  /** The account owning the resource. */
  readonly resourceAccount?: string;
}

/** Authorizes calls with the project's one policy evaluator (`explainAccess`). */
export interface Authorizer {
  /**
   * Throws an {@link ApiError} when the caller may not perform `action` on `resource`; the code is
   * the service's access-denied exception (`AccessDeniedException` for ECR and KMS).
   */
  authorize(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): void;
  /** Like `authorize`, but answers instead of throwing. */
  isAllowed(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): boolean;
  /** The evaluator's full answer (decision, deciding statements, reason), when the authorizer can give it. */
  explain?(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): AccessExplanation;
}

/** What ECR needs to know of a KMS key. */
export interface KmsKeyInfo {
  readonly arn: string;
  readonly keyId: string;
  readonly region: string;
  readonly account: string;
  /** `Enabled`, `Disabled`, `PendingDeletion`, … */
  readonly state: string;
  readonly usage: string;
  readonly spec: string;
  readonly keyManager: 'AWS' | 'CUSTOMER';
}

/** A grant as ECR asks KMS to create it. */
export interface EcrGrantRequest {
  readonly keyArn: string;
  readonly granteePrincipal: string;
  readonly retiringPrincipal: string;
  readonly operations: readonly string[];
  /** Absent: a grant with no constraint (the `no-constraint` second-grant variant). */
  readonly encryptionContextSubset?: Readonly<Record<string, string>>;
}

/** A data key: the plaintext to encrypt with, and the blob to store beside the data. */
export interface DataKey {
  readonly plaintext: Buffer;
  readonly ciphertextBlob: Buffer;
}

/**
 * KMS as ECR uses it, in process. Calls marked "as the caller" are authorized against the caller
 * with `kms:ViaService = ecr.<region>.amazonaws.com` (ctx.viaService), as AWS's forward access
 * sessions are. Calls marked "as ECR" are made by the ECR service principal and succeed only
 * through a grant whose encryption-context constraint the context satisfies. Every method throws
 * {@link ApiError} with KMS exception codes (`NotFoundException`, `DisabledException`,
 * `KMSInvalidStateException`, `AccessDeniedException`, …); ECR wraps them into `KmsException`.
 */
export interface KmsForEcr {
  /** DescribeKey as the caller: key id, key ARN, alias name or alias ARN. `alias/aws/ecr` creates the AWS-managed key on first use. */
  describeKey(ctx: CallContext, keyRef: string): KmsKeyInfo;
  /** CreateGrant as the caller. */
  createGrant(ctx: CallContext, request: EcrGrantRequest): { readonly grantId: string };
  /** RetireGrant as the caller (needs `kms:RetireGrant` in an IAM policy). */
  retireGrant(ctx: CallContext, keyArn: string, grantId: string, options?: { readonly dryRun?: boolean }): void;
  /** GenerateDataKey (AES_256) as ECR, through its grant. */
  generateDataKey(region: string, keyArn: string, encryptionContext: Readonly<Record<string, string>>): DataKey;
  /** Decrypt as ECR, through its grant. */
  decrypt(region: string, keyArn: string, ciphertextBlob: Buffer, encryptionContext: Readonly<Record<string, string>>): Buffer;
}

/** A service spoken over AWS JSON 1.1: the server routes `X-Amz-Target: <targetPrefix>.<Action>` here. */
export interface JsonService {
  /** `AmazonEC2ContainerRegistry_V20150921` or `TrentService`. */
  readonly targetPrefix: string;
  /** The SigV4 signing name: `ecr` or `kms`. */
  readonly signingName: string;
  /** Answers one action; throws {@link ApiError}. An unknown action must throw `UnknownOperationException` naming it. */
  handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown;
}

/** A plain HTTP route outside the AWS protocols, such as a pre-signed layer download URL or the registry API (`/v2/`). */
export interface RawRoute {
  matches(method: string, path: string): boolean;
  /** `through`: the VPC endpoint the call came through, when the server stands for one. */
  handle(req: IncomingMessage, res: ServerResponse, through?: { readonly sourceVpce?: string }): Promise<void>;
}

/** State that survives a restart, and across processes when a data directory is given. */
export interface Persistable {
  /** A JSON-serialisable copy of the state (large data such as blobs stay in files under the data directory). */
  snapshot(): unknown;
  /** Replaces the state with a snapshot. */
  restore(snapshot: unknown): void;
}

/** The emulator's clock, so tests can move time (grant creation dates, URL expiry). */
export interface Clock {
  now(): Date;
}

/** What the ECR service is built from (`createEcrService` in `emulator/ecr/`). */
export interface EcrServiceDeps {
  readonly kms: KmsForEcr;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  /** Where blob files live (encrypted at rest, as ECR keeps them). */
  readonly dataDir: string;
  /** The server's base URL (`http://127.0.0.1:<port>`), for pre-signed-style layer download URLs. */
  readonly baseUrl: () => string;
  /**
   * What DeleteRepository answers when retiring its grants as the caller fails: AWS's behaviour
   * here is undocumented. Deprecated alias of `awsVariants.deleteWhenRetireFails` (`'succeed'` is `'silent'`).
   */
  readonly onGrantRetireFailure?: 'kms-exception' | 'succeed';
  /**
   * Whether SetRepositoryPolicy refuses IAM unique ids (`AROA…`, `AIDA…`, what IAM shows for a
   * deleted role or user) as principals, with `'Principal not found'`. GUESS either way; default `accept`.
   */
  readonly repositoryPolicyUniqueIds?: 'accept' | 'refuse';
  /** The smallest layer part (all but the last) CompleteLayerUpload accepts; ECR's 5 MiB when absent. */
  readonly minimumLayerPartSize?: number;
  /** The open AWS behaviours ECR plays (see `variants.ts`); defaults when absent. */
  readonly awsVariants?: Pick<AwsVariants, 'secondGrant' | 'deleteWhenRetireFails'> &
    Partial<Pick<AwsVariants, 'templateKmsWithoutRole' | 'createOnPushPermission'>>;
  /**
   * A session of a repository creation template's `customRoleArn`, as ECR assumes it (the role's
   * trust policy must allow the service `ecr.amazonaws.com` to `sts:AssumeRole`). Throws
   * {@link ApiError} when the role is missing or does not trust ECR. Without it, templates with a
   * custom role cannot create KMS repositories.
   */
  readonly assumeRoleAsEcr?: (roleArn: string, region: string) => Principal;
}

/** One stored blob or manifest, as `inspect` shows it. */
export interface StoredObjectInfo {
  readonly region: string;
  readonly repositoryName: string;
  readonly digest: string;
  readonly kind: 'blob' | 'manifest';
  readonly size: number;
  /** The KMS key ARN whose data key encrypts it, or `AES256` for the emulator-held key. */
  readonly encryptedWith: string;
}

/** Read-only views of ECR state for tests. */
export interface EcrInspection {
  repositories(region?: string): readonly {
    readonly region: string;
    readonly repositoryName: string;
    readonly repositoryArn: string;
    readonly createdAt: Date;
    readonly encryptionType: string;
    readonly kmsKey: string | undefined;
    readonly imageCount: number;
  }[];
  /** Every stored blob and manifest with the key that encrypts it. */
  storedObjects(region?: string, repositoryName?: string): readonly StoredObjectInfo[];
  /** Every replication ECR attempted after a push, in order, with why it failed (not persisted). */
  replications?(): readonly ReplicationAttemptInfo[];
}

/** One replication of a pushed image to one destination registry. */
export interface ReplicationAttemptInfo {
  /** The source repository's ARN. */
  readonly source: string;
  readonly destination: { readonly region: string; readonly registryId: string };
  readonly digest: string;
  readonly ok: boolean;
  /** `<ExceptionName>: <message>` when it failed. */
  readonly error?: string;
}

/** The emulated ECR. */
export interface EcrService extends JsonService, Persistable {
  readonly routes: readonly RawRoute[];
  readonly inspect: EcrInspection;
}
