/**
 * ECR's state: plain JSON-shaped records (so `snapshot` is a deep copy), keyed by registry
 * (account + region), then repository name. Blob and manifest bytes stay in files.
 */

/** How one stored object is sealed; kept in the (JSON) state beside the file. */
export interface SealedObject {
  /** Path relative to the data directory. */
  readonly file: string;
  /** Plaintext bytes. */
  readonly size: number;
  readonly iv: string;
  readonly authTag: string;
  /** The data key encrypted by KMS (or wrapped by the emulator key), base64. */
  readonly encryptedKey: string;
  /** KMS key ARN, or `EMULATOR_KEY` (storage.ts). */
  readonly encryptedWith: string;
  readonly encryptionContext: Readonly<Record<string, string>>;
}

export interface ExclusionFilter {
  readonly filterType: string;
  readonly filter: string;
}

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

export type ImageStatus = 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';

interface BlobRecord {
  readonly digest: string;
  readonly sealed: SealedObject;
  /** Learnt from the first manifest that references the blob. */
  mediaType?: string;
}

export interface UploadRecord {
  readonly uploadId: string;
  /** Plaintext parts, appended in order (relative to the data directory). */
  readonly tempFile: string;
  /** Bytes received so far; the next part must start here. */
  received: number;
  readonly partSizes: number[];
}

export interface ImageRecord {
  readonly digest: string;
  readonly sealed: SealedObject;
  readonly mediaType: string;
  readonly artifactMediaType: string | undefined;
  /** OCI `artifactType`, or the config media type, as the referrers API reports. */
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  readonly annotations: Readonly<Record<string, string>> | undefined;
  /** Config and layer digests this manifest needs. */
  readonly blobs: readonly string[];
  /** Child manifests (index / manifest list). */
  readonly children: readonly string[];
  readonly sizeInBytes: number;
  /** Tags in the order they were added. */
  tags: string[];
  pushedAt: number;
  /** Push order, kept because several pushes can share one millisecond. */
  readonly sequence: number;
  status: ImageStatus;
  lastArchivedAt?: number;
  lastActivatedAt?: number;
  lastPulledAt?: number;
  /** While ACTIVATING: when the image becomes ACTIVE. */
  activeAt?: number;
}

export interface RepositoryRecord {
  readonly account: string;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  /** Distinguishes a repository from an earlier one of the same name (file paths, S3-style ARNs). */
  readonly uuid: string;
  readonly createdAt: number;
  /** Creation order (names may be integer-like, which object key order would not keep). */
  readonly sequence: number;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters: ExclusionFilter[] | undefined;
  scanOnPush: boolean;
  readonly encryptionType: string;
  /** The resolved key ARN for KMS repositories. */
  readonly kmsKey: string | undefined;
  /** The two grants ECR created (KMS repositories). */
  readonly grantIds: readonly string[];
  tags: Tag[];
  policyText: string | undefined;
  lifecyclePolicyText: string | undefined;
  blobs: Record<string, BlobRecord>;
  uploads: Record<string, UploadRecord>;
  images: Record<string, ImageRecord>;
  nextSequence: number;
}

/** A pre-signed-style download link. */
interface DownloadToken {
  readonly account: string;
  readonly region: string;
  readonly repositoryName: string;
  readonly repositoryUuid: string;
  readonly digest: string;
  readonly expiresAt: number;
}

/** Why ECR creates a repository on your behalf: a template's `appliedFor` value. */
export type AppliedFor = 'REPLICATION' | 'PULL_THROUGH_CACHE' | 'CREATE_ON_PUSH';

/** A repository creation template, as CreateRepositoryCreationTemplate stored it. */
export interface TemplateRecord {
  /** As given: `ROOT`, or a namespace prefix (a trailing `/` is implied). */
  readonly prefix: string;
  description: string | undefined;
  encryptionType: string;
  /** A full key ARN (the model allows nothing else), or absent for `aws/ecr`. */
  kmsKey: string | undefined;
  resourceTags: Tag[];
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters: ExclusionFilter[] | undefined;
  repositoryPolicy: string | undefined;
  lifecyclePolicy: string | undefined;
  appliedFor: AppliedFor[];
  customRoleArn: string | undefined;
  readonly createdAt: number;
  updatedAt: number;
}

export interface PullThroughCacheRuleRecord {
  readonly ecrRepositoryPrefix: string;
  readonly upstreamRegistryUrl: string;
  readonly upstreamRegistry: string | undefined;
  readonly upstreamRepositoryPrefix: string | undefined;
  readonly credentialArn: string | undefined;
  readonly customRoleArn: string | undefined;
  readonly createdAt: number;
}

export interface ReplicationRuleRecord {
  readonly destinations: readonly { readonly region: string; readonly registryId: string }[];
  readonly repositoryFilters: readonly { readonly filter: string; readonly filterType: string }[] | undefined;
}

/** The registry-level settings of one registry (account + region). */
export interface RegistryRules {
  templates: TemplateRecord[];
  pullThroughCacheRules: PullThroughCacheRuleRecord[];
  replicationRules: ReplicationRuleRecord[];
  policyText: string | undefined;
}

export interface EcrState {
  /** `<account>/<region>` → repository name → repository; insertion order is creation order. */
  registries: Record<string, Record<string, RepositoryRecord>>;
  /** `<account>/<region>` → templates, pull-through cache rules, replication, registry policy (absent in older snapshots). */
  rules?: Record<string, RegistryRules>;
  downloads: Record<string, DownloadToken>;
  nextRepositorySequence: number;
}

export const SNAPSHOT_VERSION = 1;

export const emptyState = (): EcrState => ({ registries: {}, downloads: {}, nextRepositorySequence: 1 });

export const registryKey = (account: string, region: string): string => `${account}/${region}`;

/** A deep copy: every record is JSON data. */
export const cloneState = (state: EcrState): EcrState => structuredClone(state);

/** A record's own entry: request values such as `constructor` must not reach the prototype. */
export const own = <T>(record: Readonly<Record<string, T>>, key: string): T | undefined =>
  Object.hasOwn(record, key) ? record[key] : undefined;
