/**
 * The real ECR SDK client against the emulated ECR, through a minimal AWS JSON 1.1 harness (no
 * SigV4; the core's server does that). Proves the answers and errors deserialize as the SDK expects.
 */
import {
  BatchGetImageCommand,
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetAuthorizationTokenCommand,
  GetDownloadUrlForLayerCommand,
  ImageNotFoundException,
  InitiateLayerUploadCommand,
  InvalidLayerPartException,
  KmsException,
  ListImageReferrersCommand,
  paginateListImages,
  PutImageCommand,
  RepositoryNotFoundException,
  UpdateImageStorageClassCommand,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { ApiError } from '../../../../src/testing/emulator/core.js';
import { ACCOUNT, createWorld, ctxFor, OCI_MANIFEST, REGION, sha256, type World } from './helpers.js';

describe('ECR answers through the AWS SDK', () => {
  let server: Server;
  let baseUrl = '';
  let world: World;
  let client: ECRClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      const route = world.ecr.routes.find((r) => r.matches(req.method ?? 'GET', path));
      if (route !== undefined) {
        route.handle(req, res).catch(() => res.destroy());
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const action = String(req.headers['x-amz-target']).split('.')[1] ?? '';
        const body = Buffer.concat(chunks).toString('utf8');
        const headers = { 'content-type': 'application/x-amz-json-1.1' };
        try {
          const output = world.ecr.handle(action, JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>, ctxFor());
          res.writeHead(200, headers).end(JSON.stringify(output));
        } catch (error) {
          if (!(error instanceof ApiError)) throw error;
          res.writeHead(error.status, headers).end(JSON.stringify({ __type: error.code, message: error.message, ...error.fields }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => {
    world = createWorld({ baseUrl });
    client = new ECRClient({
      region: REGION,
      endpoint: baseUrl,
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
  });
  afterEach(() => {
    client.destroy();
    world.cleanup();
  });

  const upload = async (repositoryName: string, data: Buffer): Promise<string> => {
    const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName }));
    await client.send(new UploadLayerPartCommand({ repositoryName, uploadId, partFirstByte: 0, partLastByte: data.length - 1, layerPartBlob: data }));
    const done = await client.send(new CompleteLayerUploadCommand({ repositoryName, uploadId, layerDigests: [sha256(data)] }));
    return done.layerDigest ?? '';
  };

  it('round-trips repositories, KMS errors and dates', async () => {
    const key = world.kms.addKey({ alias: 'alias/app' });
    const created = await client.send(
      new CreateRepositoryCommand({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/app' } }),
    );
    expect(created.repository?.createdAt).toEqual(new Date(world.clock.ms));
    expect(created.repository?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: key.arn });
    const described = await client.send(new DescribeRepositoriesCommand({}));
    expect(described.repositories?.map((r) => r.repositoryUri)).toEqual([`${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/app`]);

    world.kms.setState(key.arn, 'Disabled');
    const refused = await client
      .send(new CreateRepositoryCommand({ repositoryName: 'other', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }))
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(KmsException);
    expect((refused as KmsException).kmsError).toBe('DisabledException');

    const missing = await client.send(new DeleteRepositoryCommand({ repositoryName: 'nope' })).catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(RepositoryNotFoundException);
    const token = await client.send(new GetAuthorizationTokenCommand({}));
    expect(token.authorizationData?.[0]?.expiresAt).toBeInstanceOf(Date);
  });

  it('uploads layers, pushes, lists, pulls and downloads', async () => {
    await client.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
    const { uploadId } = await client.send(new InitiateLayerUploadCommand({ repositoryName: 'app' }));
    const outOfOrder = await client
      .send(new UploadLayerPartCommand({ repositoryName: 'app', uploadId, partFirstByte: 5, partLastByte: 5, layerPartBlob: new Uint8Array([1]) }))
      .catch((error: unknown) => error);
    expect(outOfOrder).toBeInstanceOf(InvalidLayerPartException);
    expect((outOfOrder as InvalidLayerPartException).lastValidByteReceived).toBe(-1);

    const config = Buffer.from('{"os":"linux"}');
    const layer = Buffer.from('some layer bytes');
    const configDigest = await upload('app', config);
    const layerDigest = await upload('app', layer);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layerDigest, size: layer.length }],
    });
    const pushed = await client.send(new PutImageCommand({ repositoryName: 'app', imageManifest: manifest, imageTag: 'v1' }));
    const digest = pushed.image?.imageId?.imageDigest ?? '';
    expect(digest).toBe(sha256(manifest));

    const ids = [];
    for await (const pageOut of paginateListImages({ client, pageSize: 1 }, { repositoryName: 'app' })) ids.push(...(pageOut.imageIds ?? []));
    expect(ids).toEqual([{ imageDigest: digest, imageTag: 'v1' }]);

    const details = await client.send(new DescribeImagesCommand({ repositoryName: 'app' }));
    expect(details.imageDetails?.[0]?.imagePushedAt).toEqual(new Date(world.clock.ms));
    expect(details.imageDetails?.[0]?.imageSizeInBytes).toBe(config.length + layer.length);

    const pulled = await client.send(
      new BatchGetImageCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'v1' }, { imageTag: 'nope' }], acceptedMediaTypes: [OCI_MANIFEST] }),
    );
    expect(pulled.images?.[0]?.imageManifest).toBe(manifest);
    expect(pulled.failures?.[0]?.failureCode).toBe('ImageNotFound');

    const { downloadUrl } = await client.send(new GetDownloadUrlForLayerCommand({ repositoryName: 'app', layerDigest }));
    expect(Buffer.from(await (await fetch(downloadUrl ?? '')).arrayBuffer())).toEqual(layer);

    const referrers = await client.send(new ListImageReferrersCommand({ repositoryName: 'app', subjectId: { imageDigest: digest } }));
    expect(referrers.referrers).toEqual([]);
    const archived = await client.send(
      new UpdateImageStorageClassCommand({ repositoryName: 'app', imageId: { imageDigest: digest }, targetStorageClass: 'ARCHIVE' }),
    );
    expect(archived.imageStatus).toBe('ARCHIVED');
    const notFound = await client
      .send(new DescribeImagesCommand({ repositoryName: 'app', imageIds: [{ imageTag: 'ghost' }] }))
      .catch((error: unknown) => error);
    expect(notFound).toBeInstanceOf(ImageNotFoundException);
  });
});
