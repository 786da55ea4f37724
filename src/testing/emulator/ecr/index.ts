/**
 * The emulated Amazon ECR: AWS JSON 1.1 actions over the state in {@link EcrContext}, a raw route
 * for layer downloads, read-only inspection for tests, and JSON snapshots for persistence.
 */
import { ApiError, type CallContext, type EcrService, type EcrServiceDeps, type StoredObjectInfo } from '../core.js';
import { EcrContext, type EcrServiceOptions, type Handler } from './context.js';
import { imageHandlers } from './images.js';
import { ECR_WORDS, Input } from './input.js';
import { downloadRoute, layerHandlers } from './layers.js';
import { createOnPush, replicatePush } from './on-behalf.js';
import { registryRuleHandlers } from './registry-rules.js';
import { repositoryHandlers } from './repositories.js';
import { registryRoute } from '../registry/index.js';
import { settingsHandlers } from './settings.js';
import { assertSafeEcrState } from './storage.js';
import { cloneState, own, SNAPSHOT_VERSION, type EcrState, type RepositoryRecord } from './state.js';

export type { EcrServiceOptions } from './context.js';
export { ECR_GRANT_OPERATIONS } from './repositories.js';

const HANDLERS: Readonly<Record<string, Handler>> = {
  ...repositoryHandlers,
  ...settingsHandlers,
  ...registryRuleHandlers,
  ...layerHandlers,
  ...imageHandlers,
};

/** The actions the emulated ECR answers. */
export const ECR_ACTIONS: readonly string[] = Object.keys(HANDLERS).sort();

interface EcrSnapshot {
  readonly version: number;
  readonly state: EcrState;
}

const isSnapshot = (value: unknown): value is EcrSnapshot =>
  typeof value === 'object' &&
  value !== null &&
  (value as { version?: unknown }).version === SNAPSHOT_VERSION &&
  typeof (value as { state?: unknown }).state === 'object';

/**
 * Builds the emulated ECR. Every action is authorized with `ecr:<Action>` on the repository ARN
 * (or `*` for registry-level actions) and the repository's policy; KMS is used as the seeds
 * describe (DescribeKey + two CreateGrant as the caller on create, GenerateDataKey/Decrypt as ECR
 * per object, two RetireGrant as the caller on delete).
 */
export const createEcrService = (deps: EcrServiceDeps, options: EcrServiceOptions = {}): EcrService => {
  const ecr = new EcrContext(deps, options);
  ecr.createOnPush = (ref, name, ctx) => createOnPush(ecr, ref, name, ctx);
  ecr.afterPush = (repository, image, tag) => replicatePush(ecr, repository, image, tag);

  const allRepositories = (region?: string, name?: string): RepositoryRecord[] =>
    Object.values(ecr.state.registries)
      .flatMap((registry) => Object.values(registry))
      .filter((repository) => (region === undefined || repository.region === region) && (name === undefined || repository.name === name))
      .sort((a, b) => a.sequence - b.sequence);

  return {
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    signingName: 'ecr',
    handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
      const handler = own(HANDLERS, action);
      if (handler === undefined) throw new ApiError('UnknownOperationException', `The emulator does not support ECR ${action}`);
      return handler(ecr, new Input(input, ECR_WORDS), ctx);
    },
    routes: [downloadRoute(ecr), registryRoute(ecr)],
    inspect: {
      repositories: (region) =>
        allRepositories(region).map((repository) => ({
          region: repository.region,
          repositoryName: repository.name,
          repositoryArn: repository.arn,
          createdAt: new Date(repository.createdAt),
          encryptionType: repository.encryptionType,
          kmsKey: repository.kmsKey,
          imageCount: Object.keys(repository.images).length,
        })),
      storedObjects: (region, repositoryName) =>
        allRepositories(region, repositoryName).flatMap((repository): StoredObjectInfo[] => [
          ...Object.values(repository.blobs).map((blob) => ({
            region: repository.region,
            repositoryName: repository.name,
            digest: blob.digest,
            kind: 'blob' as const,
            size: blob.sealed.size,
            encryptedWith: blob.sealed.encryptedWith,
          })),
          ...ecr.images(repository).map((image) => ({
            region: repository.region,
            repositoryName: repository.name,
            digest: image.digest,
            kind: 'manifest' as const,
            size: image.sealed.size,
            encryptedWith: image.sealed.encryptedWith,
          })),
        ]),
      replications: () => [...ecr.replications],
    },
    snapshot: (): EcrSnapshot => ({ version: SNAPSHOT_VERSION, state: cloneState(ecr.state) }),
    restore(snapshot: unknown): void {
      if (!isSnapshot(snapshot)) throw new Error(`Not an ECR snapshot (version ${String(SNAPSHOT_VERSION)} expected)`);
      assertSafeEcrState(snapshot.state);
      ecr.state = cloneState(snapshot.state);
      // Running upload hashes cannot be persisted; CompleteLayerUpload rehashes the part file.
      ecr.uploadHashes.clear();
    },
  };
};
