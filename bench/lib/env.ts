/**
 * The bench's view of the local emulator: a running emulator, the library's internal context over
 * it (through a subclass of `EncryptedRegistry`, the way operations see it), SDK clients, and
 * helpers to create keys and repositories and to seed images quickly.
 */
import { randomUUID } from 'node:crypto';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { EncryptedRegistry } from '../../src/registry.js';
import type { RegistryContext } from '../../src/internal/context.js';
import { createEcrService } from '../../src/testing/emulator/ecr/index.js';
import type { CallContext, EcrService, EcrServiceDeps } from '../../src/testing/emulator/core.js';
import { startLocalAwsWith } from '../../src/testing/emulator/local-aws.js';
import { pushImage, streamedBlob, type LocalAws, type LocalAwsOptions, type PushedImage } from '../../src/testing/index.js';

/** `EncryptedRegistry` with its internal context in reach (operations take the context). */
export class BenchRegistry extends EncryptedRegistry {
  get ctx(): RegistryContext {
    return this.context;
  }
}

/** A running emulator, with the ECR service object itself (for bulk setup in process). */
export interface BenchAws {
  readonly aws: LocalAws;
  readonly ecrService: EcrService;
  readonly ecr: ECRClient;
  /**
   * An `ECRClient` stand-in for seeding: each command goes straight to the emulated ECR's `handle`
   * in process, as the default principal (the same handlers and stored bytes, without HTTP, JSON
   * and SigV4). Only `send` works; only for setup, never for what is measured.
   */
  readonly seedEcr: ECRClient;
  readonly kms: KMSClient;
  readonly registry: BenchRegistry;
  stop(): Promise<void>;
}

export const startBenchAws = async (options: LocalAwsOptions = {}): Promise<BenchAws> => {
  let ecrService: EcrService | undefined;
  const aws = await startLocalAwsWith(options, { ecrFactory: (deps: EcrServiceDeps) => (ecrService = createEcrService(deps)) });
  if (ecrService === undefined) throw new Error('the emulator did not build its ECR service');
  const config = aws.clientConfig();
  const ecr = new ECRClient(config);
  const kms = new KMSClient(config);
  const registry = new BenchRegistry({ clientConfig: config, ...(options.rateQuotas === 'aws' ? { rateQuotas: 'aws' as const } : {}) });
  return {
    aws,
    ecrService,
    ecr,
    seedEcr: inProcessEcr(aws, ecrService),
    kms,
    registry,
    stop: async () => {
      registry.destroy();
      ecr.destroy();
      kms.destroy();
      await aws.stop();
    },
  };
};

/** The default principal's context for calls made in process. */
export const callContext = (aws: LocalAws): CallContext => {
  const principal = aws.principals.default;
  return {
    region: aws.region,
    principal: { arn: principal.arn, account: principal.account, userId: principal.userId, type: 'user', accessKeyId: principal.credentials.accessKeyId },
    requestId: randomUUID(),
  };
};

const inProcessEcr = (aws: LocalAws, ecrService: EcrService): ECRClient => {
  const send = (command: { readonly input: Record<string, unknown> }): Promise<unknown> => {
    const action = command.constructor.name.replace(/Command$/, '');
    const input = { ...command.input };
    // JSON 1.1 carries blobs as base64, as the handler expects.
    if (input.layerPartBlob instanceof Uint8Array) input.layerPartBlob = Buffer.from(input.layerPartBlob).toString('base64');
    try {
      return Promise.resolve(ecrService.handle(action, input, callContext(aws)));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
  return { send } as unknown as ECRClient;
};

export const createKey = async (kms: KMSClient, description = 'bench'): Promise<string> => {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: description }));
  if (!KeyMetadata?.Arn) throw new Error('CreateKey returned no ARN');
  return KeyMetadata.Arn;
};

export const createRepository = async (ecr: ECRClient, repositoryName: string, kmsKey?: string): Promise<void> => {
  await ecr.send(
    new CreateRepositoryCommand({
      repositoryName,
      encryptionConfiguration: kmsKey === undefined ? { encryptionType: 'AES256' } : { encryptionType: 'KMS', kmsKey },
    }),
  );
};

/** Runs `task` over `items`, `limit` at a time; rejects on the first failure. */
export const inParallel = async <T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> => {
  const out = new Array<R>(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  return out;
};

/** One image to seed: its layer sizes and tags. Every layer is unique (its own seed). */
export interface SeedImage {
  readonly layers: readonly number[];
  readonly tags: readonly string[];
}

/** What was seeded: the images, and the unique blobs (layers and configs) with their sizes. */
export interface Seeded {
  readonly images: readonly PushedImage[];
  readonly blobs: ReadonlyMap<string, number>;
  readonly bytes: number;
  readonly seconds: number;
}

/** The seed of layer `j` of image `i` in a plan seeded with `seed`: the same seed and size give the same blob. */
export const layerSeed = (seed: number, i: number, j: number): number => seed * 100_003 + i * 101 + j + 1;

/**
 * Pushes `plan` through the ECR API, `concurrency` images at a time, layers streamed in 1 MiB
 * chunks (nothing layer-sized in memory). Seeds are derived from `seed` so runs are repeatable.
 */
export const seedImages = async (ecr: ECRClient, repositoryName: string, plan: readonly SeedImage[], seed: number, concurrency = 4): Promise<Seeded> => {
  const started = performance.now();
  const images = await inParallel(plan, concurrency, (spec, i) =>
    pushImage(ecr, repositoryName, {
      layers: spec.layers.map((size, j) => streamedBlob(size, layerSeed(seed, i, j))),
      tags: spec.tags,
      label: `bench-${seed}-${i}`,
    }),
  );
  const blobs = new Map<string, number>();
  for (const image of images) for (const blob of image.blobs) blobs.set(blob.digest, blob.size);
  return { images, blobs, bytes: [...blobs.values()].reduce((a, b) => a + b, 0), seconds: (performance.now() - started) / 1000 };
};

/**
 * `images` images whose unique layers add up to `bytes`: a mix of small layers and a few large
 * multi-part ones (every tenth image carries a layer six times the typical size), one or two
 * layers per image, tagged `v<i>`.
 */
export const planImages = (images: number, bytes: number): SeedImage[] => {
  const weights = Array.from({ length: images }, (_, i) => (i % 10 === 0 ? [6, 0.5] : i % 3 === 0 ? [1, 0.25] : [1]));
  const total = weights.flat().reduce((a, b) => a + b, 0);
  const plan = weights.map((w, i) => ({ layers: w.map((x) => Math.max(1024, Math.floor((x / total) * bytes))), tags: [`v${i}`] }));
  // Put the rounding remainder on the first layer, so the layers add up to exactly `bytes`.
  const sum = plan.flatMap((p) => p.layers).reduce((a, b) => a + b, 0);
  const first = plan[0];
  if (first !== undefined && first.layers[0] !== undefined) first.layers[0] += bytes - sum;
  return plan;
};

export const seconds = (startedMs: number): number => (performance.now() - startedMs) / 1000;
