/**
 * What every ECR handler shares: the state, the object store, authorization and repository lookup.
 */
import type { Hash } from 'node:crypto';
import type { PolicyDocument } from '../../../policy/types.js';
import { ApiError, type AuthorizeOptions, type CallContext, type EcrServiceDeps, type ReplicationAttemptInfo } from '../core.js';
import { REGISTRY_ID, repositoryName, type Input } from './input.js';
import { emptyState, own, registryKey, type EcrState, type ImageRecord, type RepositoryRecord } from './state.js';
import { RegistryTokens } from './registry-token.js';
import { ObjectStore } from './storage.js';

/**
 * "Layer parts must be at least 5 MiB in size" (all but the last): the model's documentation of
 * `LayerPartTooSmallException`, which only CompleteLayerUpload lists. The emulator's default;
 * `startLocalAws({ minimumLayerPartSize })` lowers it for fast tests (not an AWS behaviour).
 */
const MIN_PART_BYTES = 5 * 1024 * 1024;

/** Extra knobs for the emulated ECR, beyond the contract in core.ts. */
export interface EcrServiceOptions {
  /** Emulator-clock milliseconds an image stays ACTIVATING after a restore from ARCHIVE. Default 2000. */
  readonly imageRestoreMs?: number;
  /** Lifetime of layer download URLs in emulator-clock milliseconds. Default 10 minutes. */
  readonly downloadUrlTtlMs?: number;
}

/** One ECR action: reads its input, answers JSON or throws {@link ApiError}. */
export type Handler = (ecr: EcrContext, input: Input, ctx: CallContext) => unknown;

export const repositoryArn = (region: string, account: string, name: string): string =>
  `arn:aws:ecr:${region}:${account}:repository/${name}`;

export const repositoryUri = (region: string, account: string, name: string): string =>
  `${account}.dkr.ecr.${region}.amazonaws.com/${name}`;

export const ecrServicePrincipal = (region: string): string => `ecr.${region}.amazonaws.com`;

/** Which registry a call addresses. */
export interface RegistryRef {
  readonly account: string;
  readonly region: string;
}

/**
 * The push actions of the ECR API that create a missing repository through a `CREATE_ON_PUSH`
 * template. GUESS: AWS announces create-on-push for image pushes (the registry API a `docker push`
 * uses); that the JSON API's InitiateLayerUpload and PutImage do the same is not documented.
 */
const CREATING_PUSH_ACTIONS: ReadonlySet<string> = new Set(['InitiateLayerUpload', 'PutImage']);

export class EcrContext {
  state: EcrState = emptyState();
  /** Set by the service: creates a missing repository for a push when a CREATE_ON_PUSH template allows it. */
  createOnPush: ((ref: RegistryRef, name: string, ctx: CallContext) => RepositoryRecord | undefined) | undefined;
  /** Set by the service: replicates a pushed image as the registry's replication rules say. */
  afterPush: ((repository: RepositoryRecord, image: ImageRecord, tag: string | undefined) => void) | undefined;
  /** Replications attempted after pushes, for tests (not persisted). */
  readonly replications: ReplicationAttemptInfo[] = [];
  readonly store: ObjectStore;
  readonly imageRestoreMs: number;
  readonly downloadUrlTtlMs: number;
  /** The smallest layer part (all but the last) CompleteLayerUpload accepts. */
  readonly minimumLayerPartSize: number;
  /** Running sha256 of each upload; lost on restore, then recomputed from the part file. */
  readonly uploadHashes = new Map<string, { readonly hash: Hash; bytes: number }>();
  /** Registry passwords (GetAuthorizationToken issues them, the `/v2/` API verifies them). */
  readonly registryTokens: RegistryTokens;

  constructor(
    readonly deps: EcrServiceDeps,
    options: EcrServiceOptions,
  ) {
    this.store = new ObjectStore(deps.dataDir, deps.kms);
    this.registryTokens = new RegistryTokens(() => this.store.path('ecr/registry-token.key'));
    this.imageRestoreMs = options.imageRestoreMs ?? 2000;
    this.downloadUrlTtlMs = options.downloadUrlTtlMs ?? 10 * 60 * 1000;
    this.minimumLayerPartSize = deps.minimumLayerPartSize ?? MIN_PART_BYTES;
  }

  now(): number {
    return this.deps.clock.now().getTime();
  }

  /** `registryId` if given (must be 12 digits), else the caller's account; the region of the call. */
  registry(input: Input, ctx: CallContext): RegistryRef {
    const registryId = input.optionalString('registryId', { pattern: REGISTRY_ID });
    return { account: registryId ?? ctx.principal.account, region: ctx.region };
  }

  repositories(ref: RegistryRef): Record<string, RepositoryRecord> {
    const key = registryKey(ref.account, ref.region);
    const existing = own(this.state.registries, key);
    if (existing !== undefined) return existing;
    const created: Record<string, RepositoryRecord> = {};
    this.state.registries[key] = created;
    return created;
  }

  findRepository(ref: RegistryRef, name: string): RepositoryRecord | undefined {
    const registry = own(this.state.registries, registryKey(ref.account, ref.region));
    return registry === undefined ? undefined : own(registry, name);
  }

  /** Repositories of a registry in creation order. */
  listRepositories(ref: RegistryRef): RepositoryRecord[] {
    const registry = own(this.state.registries, registryKey(ref.account, ref.region));
    return registry === undefined ? [] : Object.values(registry).sort((a, b) => a.sequence - b.sequence);
  }

  authorize(ctx: CallContext, action: string, resource: string, ref: RegistryRef, repository?: RepositoryRecord): void {
    const policy = repository === undefined ? undefined : parsePolicy(repository.policyText);
    const options: AuthorizeOptions = {
      ...(policy === undefined ? {} : { resourcePolicy: policy }),
      ...(ref.account === ctx.principal.account ? {} : { resourceAccount: ref.account }),
    };
    this.deps.authorizer.authorize(ctx, `ecr:${action}`, resource, options);
  }

  /**
   * The common prologue: read `repositoryName`, authorize `ecr:<action>` on its ARN (with its
   * policy), then require the repository to exist. Authorizing first means an unauthorized caller
   * learns nothing about which repositories exist.
   */
  repositoryFor(input: Input, ctx: CallContext, action: string): RepositoryRecord {
    const ref = this.registry(input, ctx);
    const name = repositoryName(input);
    const repository = this.findRepository(ref, name);
    this.authorize(ctx, action, repositoryArn(ref.region, ref.account, name), ref, repository);
    if (repository === undefined) {
      const created = CREATING_PUSH_ACTIONS.has(action) ? this.createOnPush?.(ref, name, ctx) : undefined;
      if (created === undefined) throw repositoryNotFound(name, ref.account);
      return created;
    }
    return repository;
  }

  /** Images in push order. */
  images(repository: RepositoryRecord): ImageRecord[] {
    const images = Object.values(repository.images);
    for (const image of images) this.settle(image);
    return images.sort((a, b) => a.sequence - b.sequence);
  }

  /** Moves a restored image from ACTIVATING to ACTIVE once its time has come. */
  settle(image: ImageRecord): ImageRecord {
    if (image.status === 'ACTIVATING' && image.activeAt !== undefined && this.now() >= image.activeAt) {
      image.status = 'ACTIVE';
      image.lastActivatedAt = image.activeAt;
      delete image.activeAt;
    }
    return image;
  }
}

export const repositoryNotFound = (name: string, account: string): ApiError =>
  new ApiError(
    'RepositoryNotFoundException',
    `The repository with name '${name}' does not exist in the registry with id '${account}'`,
  );

const parsePolicy = (text: string | undefined): PolicyDocument | undefined => {
  if (text === undefined) return undefined;
  // Stored policies were validated as JSON with a Statement on SetRepositoryPolicy.
  return JSON.parse(text) as PolicyDocument;
};

/** The encryption context of one stored object (aws-facts §9): the repository and an S3-style object ARN. */
export const encryptionContext = (
  repository: RepositoryRecord,
  bucket: 'layer' | 'manifest',
  digest: string,
): Record<string, string> => ({
  'aws:ecr:arn': repository.arn,
  'aws:s3:arn': `arn:aws:s3:::${repository.region}-starport-${bucket}-bucket/${repository.uuid}/${digest}`,
});

/** Where a repository's files live, relative to the data directory. */
export const repositoryDirectory = (repository: RepositoryRecord): string =>
  `ecr/${repository.account}/${repository.region}/${repository.uuid}`;

/** The images of a repository whose manifest needs `digest` (config or layer). */
export const imagesUsingBlob = (ecr: EcrContext, repository: RepositoryRecord, digest: string): ImageRecord[] =>
  ecr.images(repository).filter((image) => image.blobs.includes(digest));
