/**
 * A small in-memory ECR behind aws-sdk-client-mock, with a real HTTP server on 127.0.0.1 serving
 * layer downloads. Just enough of ECR's image and layer API to copy and verify repositories, with
 * ECR's own checks (batch limits, consecutive parts, digests, missing layers and children) so a
 * wrong copy engine fails here as it would against AWS. Failures are real SDK exception instances.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  BatchCheckLayerAvailabilityCommand,
  type BatchCheckLayerAvailabilityCommandInput,
  BatchGetImageCommand,
  type BatchGetImageCommandInput,
  CompleteLayerUploadCommand,
  type CompleteLayerUploadCommandInput,
  DescribeImagesCommand,
  type DescribeImagesCommandInput,
  ECRClient,
  ECRServiceException,
  EmptyUploadException,
  GetDownloadUrlForLayerCommand,
  type GetDownloadUrlForLayerCommandInput,
  ImageAlreadyExistsException,
  ImageDigestDoesNotMatchException,
  InitiateLayerUploadCommand,
  type InitiateLayerUploadCommandInput,
  InvalidLayerException,
  InvalidLayerPartException,
  InvalidParameterException,
  LayerAlreadyExistsException,
  LayerPartTooSmallException,
  LayersNotFoundException,
  ListImagesCommand,
  type ListImagesCommandInput,
  PutImageCommand,
  type PutImageCommandInput,
  ReferencedImagesNotFoundException,
  RepositoryNotFoundException,
  UploadLayerPartCommand,
  type UploadLayerPartCommandInput,
  UploadNotFoundException,
  type ImageDetail,
} from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { okAsync } from 'neverthrow';
import { type RegistryContext, silentLogger } from '../../../src/internal/context.js';
import { DEFAULT_POLL } from '../../../src/internal/poll.js';

export const MiB = 1024 * 1024;

export const sha256 = (bytes: string | Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** Deterministic bytes (xorshift32), fast enough for tens of MiB. */
export const bytesFor = (seed: number, length: number): Buffer => {
  const out = Buffer.allocUnsafe(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, i);
  }
  for (; i < length; i++) out[i] = (seed + i) & 0xff;
  return out;
};

export interface FakeImage {
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  tags: string[];
  readonly pushedAt: Date;
  status: 'ACTIVE' | 'ARCHIVED' | 'ACTIVATING';
  readonly artifactMediaType?: string;
  readonly subject?: string;
}

export interface FakeRepo {
  readonly images: Map<string, FakeImage>;
  readonly blobs: Map<string, Buffer>;
}

interface Upload {
  readonly repositoryName: string;
  readonly parts: { first: number; last: number; size: number; sha: string }[];
  readonly chunks: Buffer[];
  readonly partSize: number;
}

type Operation =
  | 'DescribeImages'
  | 'BatchGetImage'
  | 'BatchCheckLayerAvailability'
  | 'GetDownloadUrlForLayer'
  | 'InitiateLayerUpload'
  | 'UploadLayerPart'
  | 'CompleteLayerUpload'
  | 'PutImage';

export const throttling = (): ECRServiceException =>
  new ECRServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

const refs = (manifest: string): { blobs: string[]; manifests: string[] } => {
  const doc = JSON.parse(manifest) as {
    config?: { digest: string };
    layers?: { digest: string }[];
    manifests?: { digest: string }[];
  };
  return {
    blobs: [...(doc.config ? [doc.config.digest] : []), ...(doc.layers ?? []).map((l) => l.digest)],
    manifests: (doc.manifests ?? []).map((m) => m.digest),
  };
};

/** The SDK's send always returns a promise: a throw in a handler becomes a rejection. */
const answer =
  <I, O>(handler: (input: I) => O) =>
  (input: I): Promise<O> =>
    new Promise((resolve) => resolve(handler(input)));

export class FakeEcr {
  readonly repos = new Map<string, FakeRepo>();
  readonly uploads = new Map<string, Upload>();
  /** Every PutImage that stored something, in order. */
  readonly pushes: { repositoryName: string; digest: string; tag: string | undefined }[] = [];
  /** Completed uploads, with their parts. */
  readonly completed: { repositoryName: string; digest: string; parts: Upload['parts'] }[] = [];
  /** Download requests the HTTP server answered, by path. */
  readonly downloads: string[] = [];
  partSize: number | undefined = 5 * MiB;
  /** DescribeImages page size, to exercise pagination. */
  pageSize = 1000;
  /** Blobs between GetDownloadUrlForLayer and CompleteLayerUpload, and the most seen at once. */
  readonly blobsInFlight = new Set<string>();
  maxBlobsInFlight = 0;
  /** HTTP statuses to answer the next downloads of a digest with. */
  readonly downloadFailures = new Map<string, number[]>();
  /** Digests whose next download is redirected to this location (relative or absolute). */
  readonly redirects = new Map<string, string>();
  /** Digests whose next download breaks off after this many bytes (the connection is reset). */
  readonly cutOffs = new Map<string, number>();
  /** Digests whose download serves other bytes. */
  readonly corrupt = new Set<string>();
  /** Host to put in download URLs (for transport tests). */
  urlBase: string | undefined;
  readonly #failures = new Map<Operation, (() => Error)[]>();
  /** UploadLayerPart calls whose part is stored but whose answer is lost (a reset connection). */
  lostPartAnswers = 0;
  #server: Server | undefined;
  #port = 0;
  #uploadCounter = 0;
  #clock = Date.parse('2026-01-01T00:00:00Z');

  repo(name: string): FakeRepo {
    let repo = this.repos.get(name);
    if (!repo) {
      repo = { images: new Map(), blobs: new Map() };
      this.repos.set(name, repo);
    }
    return repo;
  }

  /** The next call of `operation` fails with `error()` (queue several for several calls). */
  failNext(operation: Operation, error: () => Error, times = 1): void {
    const queue = this.#failures.get(operation) ?? [];
    for (let i = 0; i < times; i++) queue.push(error);
    this.#failures.set(operation, queue);
  }

  #maybeFail(operation: Operation): void {
    const next = this.#failures.get(operation)?.shift();
    if (next) throw next();
  }

  #existing(name: string | undefined): FakeRepo {
    const repo = name === undefined ? undefined : this.repos.get(name);
    if (!repo) throw new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${name}' does not exist` });
    return repo;
  }

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      this.downloads.push(url.pathname);
      const [, repositoryName, digest] = url.pathname.split('/').map(decodeURIComponent);
      const failures = digest === undefined ? undefined : this.downloadFailures.get(digest);
      const redirect = digest === undefined ? undefined : this.redirects.get(digest);
      if (redirect !== undefined && digest !== undefined) {
        this.redirects.delete(digest);
        res.writeHead(307, { location: redirect }).end();
        return;
      }
      const status = failures?.shift();
      if (status !== undefined) {
        res.writeHead(status).end('<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>');
        return;
      }
      const blob = repositoryName && digest ? this.repos.get(repositoryName)?.blobs.get(digest) : undefined;
      if (!blob) {
        res.writeHead(404).end();
        return;
      }
      const body = digest !== undefined && this.corrupt.has(digest) ? bytesFor(999, blob.length) : blob;
      res.writeHead(200, { 'content-length': String(body.length) });
      const cutOff = digest === undefined ? undefined : this.cutOffs.get(digest);
      if (cutOff !== undefined && digest !== undefined) {
        this.cutOffs.delete(digest);
        res.write(body.subarray(0, cutOff), () => res.destroy());
        return;
      }
      // Odd-sized writes, so chunks never line up with part boundaries.
      const step = 64 * 1024 + 7;
      let offset = 0;
      const pump = (): void => {
        while (offset < body.length) {
          const slice = body.subarray(offset, offset + step);
          offset += slice.length;
          if (!res.write(slice)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  addBlob(repositoryName: string, bytes: Buffer): string {
    const digest = sha256(bytes);
    this.repo(repositoryName).blobs.set(digest, bytes);
    return digest;
  }

  addImage(repositoryName: string, image: Omit<FakeImage, 'digest'> & { digest?: string }): string {
    const digest = image.digest ?? sha256(image.manifest);
    this.repo(repositoryName).images.set(digest, { ...image, digest });
    return digest;
  }

  #detail(repositoryName: string, i: FakeImage): ImageDetail {
    return {
      repositoryName,
      imageDigest: i.digest,
      ...(i.tags.length > 0 ? { imageTags: [...i.tags] } : {}),
      imagePushedAt: i.pushedAt,
      imageManifestMediaType: i.mediaType,
      ...(i.artifactMediaType ? { artifactMediaType: i.artifactMediaType } : {}),
      ...(i.subject ? { subjectManifestDigest: i.subject } : {}),
      imageStatus: i.status,
      imageSizeInBytes: i.manifest.length,
    };
  }

  install(ecr: AwsClientStub<ECRClient>): void {
    ecr.on(ListImagesCommand).callsFake(answer((input: ListImagesCommandInput) => {
      const repo = this.#existing(input.repositoryName);
      return {
        imageIds: [...repo.images.values()].flatMap((i) =>
          i.tags.length === 0 ? [{ imageDigest: i.digest }] : i.tags.map((imageTag) => ({ imageDigest: i.digest, imageTag })),
        ),
      };
    }));

    ecr.on(DescribeImagesCommand).callsFake(answer((input: DescribeImagesCommandInput) => {
      this.#maybeFail('DescribeImages');
      const repo = this.#existing(input.repositoryName);
      const any = input.filter?.imageStatus === 'ANY';
      const all = [...repo.images.values()].filter((i) => any || i.status === 'ACTIVE');
      if (input.imageIds) {
        if (input.imageIds.length > 100) throw new InvalidParameterException({ $metadata: {}, message: 'too many imageIds' });
        return { imageDetails: all.filter((i) => input.imageIds?.some((id) => id.imageDigest === i.digest)).map((i) => this.#detail(input.repositoryName ?? '', i)) };
      }
      const start = Number(input.nextToken ?? '0');
      const size = Math.min(input.maxResults ?? 100, this.pageSize);
      const page = all.slice(start, start + size);
      return {
        imageDetails: page.map((i) => this.#detail(input.repositoryName ?? '', i)),
        ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
      };
    }));

    ecr.on(BatchGetImageCommand).callsFake(answer((input: BatchGetImageCommandInput) => {
      this.#maybeFail('BatchGetImage');
      const repo = this.#existing(input.repositoryName);
      const ids = input.imageIds ?? [];
      if (ids.length < 1 || ids.length > 100) throw new InvalidParameterException({ $metadata: {}, message: 'imageIds must hold 1 to 100 ids' });
      const images = [];
      const failures = [];
      for (const id of ids) {
        const image = id.imageDigest ? repo.images.get(id.imageDigest) : undefined;
        if (!image || image.status !== 'ACTIVE') {
          failures.push({ imageId: id, failureCode: 'ImageNotFound' as const, failureReason: 'Requested image not found' });
          continue;
        }
        if (!input.acceptedMediaTypes?.includes(image.mediaType)) throw new Error(`test: ${image.mediaType} not accepted, ECR would translate`);
        images.push({ repositoryName: input.repositoryName, imageId: { imageDigest: image.digest }, imageManifest: image.manifest, imageManifestMediaType: image.mediaType });
      }
      return { images, failures };
    }));

    ecr.on(BatchCheckLayerAvailabilityCommand).callsFake(answer((input: BatchCheckLayerAvailabilityCommandInput) => {
      this.#maybeFail('BatchCheckLayerAvailability');
      const repo = this.#existing(input.repositoryName);
      const digests = input.layerDigests ?? [];
      if (digests.length < 1 || digests.length > 100) throw new InvalidParameterException({ $metadata: {}, message: 'layerDigests must hold 1 to 100 digests' });
      return {
        layers: digests.map((layerDigest) => {
          const blob = repo.blobs.get(layerDigest);
          return blob
            ? { layerDigest, layerAvailability: 'AVAILABLE' as const, layerSize: blob.length }
            : { layerDigest, layerAvailability: 'UNAVAILABLE' as const };
        }),
        failures: [],
      };
    }));

    ecr.on(GetDownloadUrlForLayerCommand).callsFake(answer((input: GetDownloadUrlForLayerCommandInput) => {
      this.#maybeFail('GetDownloadUrlForLayer');
      const repo = this.#existing(input.repositoryName);
      const digest = input.layerDigest ?? '';
      if (!repo.blobs.has(digest)) throw new LayersNotFoundException({ $metadata: {}, message: 'The image layer does not exist' });
      this.blobsInFlight.add(digest);
      this.maxBlobsInFlight = Math.max(this.maxBlobsInFlight, this.blobsInFlight.size);
      const base = this.urlBase ?? `http://127.0.0.1:${this.#port}`;
      return { layerDigest: digest, downloadUrl: `${base}/${encodeURIComponent(input.repositoryName ?? '')}/${encodeURIComponent(digest)}?X-Amz-Expires=600` };
    }));

    ecr.on(InitiateLayerUploadCommand).callsFake(answer((input: InitiateLayerUploadCommandInput) => {
      this.#maybeFail('InitiateLayerUpload');
      this.#existing(input.repositoryName);
      const uploadId = `upload-${++this.#uploadCounter}`;
      const partSize = this.partSize ?? 5 * MiB;
      this.uploads.set(uploadId, { repositoryName: input.repositoryName ?? '', parts: [], chunks: [], partSize });
      return { uploadId, ...(this.partSize === undefined ? {} : { partSize: this.partSize }) };
    }));

    ecr.on(UploadLayerPartCommand).callsFake(answer((input: UploadLayerPartCommandInput) => {
      this.#maybeFail('UploadLayerPart');
      this.#existing(input.repositoryName);
      const upload = this.uploads.get(input.uploadId ?? '');
      if (!upload) throw new UploadNotFoundException({ $metadata: {}, message: 'upload not found' });
      const received = upload.chunks.reduce((sum, c) => sum + c.length, 0);
      const blob = input.layerPartBlob ?? new Uint8Array();
      if (input.partFirstByte !== received || input.partLastByte !== received + blob.length - 1) {
        throw new InvalidLayerPartException({ $metadata: {}, message: 'The layer part is not consecutive', lastValidByteReceived: received - 1 });
      }
      // Copy: the caller reuses its part buffer.
      const copy = Buffer.from(blob);
      upload.chunks.push(copy);
      upload.parts.push({ first: input.partFirstByte, last: input.partLastByte, size: copy.length, sha: sha256(copy) });
      if (this.lostPartAnswers > 0) {
        this.lostPartAnswers--;
        throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      }
      return { uploadId: input.uploadId, lastByteReceived: input.partLastByte };
    }));

    ecr.on(CompleteLayerUploadCommand).callsFake(answer((input: CompleteLayerUploadCommandInput) => {
      this.#maybeFail('CompleteLayerUpload');
      const repo = this.#existing(input.repositoryName);
      const upload = this.uploads.get(input.uploadId ?? '');
      if (!upload) throw new UploadNotFoundException({ $metadata: {}, message: 'upload not found' });
      const digest = input.layerDigests?.[0] ?? '';
      this.uploads.delete(input.uploadId ?? '');
      this.blobsInFlight.delete(digest);
      if (upload.chunks.length === 0) throw new EmptyUploadException({ $metadata: {}, message: 'empty upload' });
      if (upload.parts.slice(0, -1).some((p) => p.size < 5 * MiB)) {
        throw new LayerPartTooSmallException({ $metadata: {}, message: 'Layer parts must be at least 5 MiB in size' });
      }
      const bytes = Buffer.concat(upload.chunks);
      if (sha256(bytes) !== digest) throw new InvalidLayerException({ $metadata: {}, message: 'digest does not match' });
      if (repo.blobs.has(digest)) throw new LayerAlreadyExistsException({ $metadata: {}, message: 'layer exists' });
      repo.blobs.set(digest, bytes);
      this.completed.push({ repositoryName: upload.repositoryName, digest, parts: upload.parts });
      return { uploadId: input.uploadId, layerDigest: digest };
    }));

    ecr.on(PutImageCommand).callsFake(answer((input: PutImageCommandInput) => {
      this.#maybeFail('PutImage');
      const repositoryName = input.repositoryName ?? '';
      const repo = this.#existing(repositoryName);
      const manifest = input.imageManifest ?? '';
      const digest = sha256(manifest);
      if (input.imageDigest !== undefined && input.imageDigest !== digest) {
        throw new ImageDigestDoesNotMatchException({ $metadata: {}, message: 'digest does not match' });
      }
      const { blobs, manifests } = refs(manifest);
      if (blobs.some((b) => !repo.blobs.has(b))) throw new LayersNotFoundException({ $metadata: {}, message: 'layers not found' });
      if (manifests.some((m) => !repo.images.has(m))) {
        throw new ReferencedImagesNotFoundException({ $metadata: {}, message: 'manifest list references an image that does not exist' });
      }
      const tag = input.imageTag;
      const existing = repo.images.get(digest);
      if (existing && (tag === undefined || existing.tags.includes(tag))) {
        throw new ImageAlreadyExistsException({ $metadata: {}, message: 'Image already exists' });
      }
      if (tag !== undefined) for (const other of repo.images.values()) other.tags = other.tags.filter((t) => t !== tag);
      if (existing) existing.tags.push(...(tag === undefined ? [] : [tag]));
      else {
        const subject = (JSON.parse(manifest) as { subject?: { digest: string } }).subject?.digest;
        repo.images.set(digest, {
          digest,
          manifest,
          mediaType: input.imageManifestMediaType ?? '',
          tags: tag === undefined ? [] : [tag],
          pushedAt: new Date((this.#clock += 1000)),
          status: 'ACTIVE',
          ...(subject ? { subject } : {}),
        });
      }
      this.pushes.push({ repositoryName, digest, tag });
      return { image: { repositoryName, imageId: { imageDigest: digest, ...(tag ? { imageTag: tag } : {}) }, imageManifest: manifest } };
    }));
  }
}

/** A context over the (mocked) clients: no sleeping, a fixed clock that moves a second per read. */
export const testContext = (): RegistryContext => {
  let now = Date.parse('2026-03-01T00:00:00Z');
  const config = { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } };
  return {
    ecr: new ECRClient(config),
    kms: new KMSClient(config),
    iam: new IAMClient(config),
    sts: new STSClient(config),
    logger: silentLogger,
    region: () => okAsync('eu-west-1'),
    transportError: undefined,
    poll: DEFAULT_POLL,
    sleep: () => Promise.resolve(),
    now: () => new Date((now += 1000)),
  };
};
