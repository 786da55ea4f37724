/**
 * `startLocalAws({ minimumLayerPartSize })`: a test-speed knob (not an AWS behaviour) that lowers
 * the smallest layer part CompleteLayerUpload accepts, announced through InitiateLayerUpload's
 * `partSize`, so multi-part uploads can be tested with kilobytes. Real SDK clients over HTTP.
 */
import {
  CompleteLayerUploadCommand,
  CreateRepositoryCommand,
  ECRClient,
  InitiateLayerUploadCommand,
  LayerPartTooSmallException,
  UploadLayerPartCommand,
} from '@aws-sdk/client-ecr';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { pushImage, randomBytes, startLocalAws, type LocalAws } from '../../../src/testing/index.js';

const MiB = 1024 * 1024;
const sha256 = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

let aws: LocalAws | undefined;
afterEach(async () => {
  await aws?.stop();
  aws = undefined;
});

const start = async (minimumLayerPartSize?: number): Promise<ECRClient> => {
  aws = await startLocalAws(minimumLayerPartSize === undefined ? {} : { minimumLayerPartSize });
  const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  await ecr.send(new CreateRepositoryCommand({ repositoryName: 'app' }));
  return ecr;
};

/** Uploads `parts` as one layer, then completes it: the answer, or the error. */
const upload = async (ecr: ECRClient, parts: readonly Uint8Array[]): Promise<unknown> => {
  const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'app' }));
  let first = 0;
  for (const part of parts) {
    await ecr.send(new UploadLayerPartCommand({ repositoryName: 'app', uploadId, partFirstByte: first, partLastByte: first + part.length - 1, layerPartBlob: part }));
    first += part.length;
  }
  const all = Buffer.concat(parts);
  return ecr.send(new CompleteLayerUploadCommand({ repositoryName: 'app', uploadId, layerDigests: [sha256(all)] })).catch((e: unknown) => e);
};

describe('minimumLayerPartSize', () => {
  it("defaults to ECR's 5 MiB: announces 10 MiB parts and refuses a smaller part that is not the last", async () => {
    const ecr = await start();
    expect((await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'app' }))).partSize).toBe(10 * MiB);
    const refused = await upload(ecr, [randomBytes(4096, 1), randomBytes(10, 2)]);
    expect(refused).toBeInstanceOf(LayerPartTooSmallException);
    expect((refused as Error).message).toContain('5 MiB');
  });

  it('lowered, announces twice the minimum and accepts parts of that minimum; still refuses smaller ones', async () => {
    const ecr = await start(1024);
    expect((await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'app' }))).partSize).toBe(2048);
    expect(await upload(ecr, [randomBytes(1024, 3), randomBytes(1024, 4), randomBytes(7, 5)])).toMatchObject({ layerDigest: expect.stringMatching(/^sha256:/) as string });
    const refused = await upload(ecr, [randomBytes(1023, 6), randomBytes(7, 7)]);
    expect(refused).toBeInstanceOf(LayerPartTooSmallException);
    expect((refused as Error).message).toContain('at least 1024 bytes');
  });

  it('lets pushImage upload a small layer in several parts (kilobytes, not megabytes, over HTTP)', async () => {
    const ecr = await start(1024);
    const image = await pushImage(ecr, 'app', { layers: [randomBytes(5000, 8)], tags: ['v1'] });
    expect(image.tags).toEqual(['v1']);
    // 5000 bytes in parts of 2048: three parts for the layer, one for the small config blob.
    expect(aws?.inspect.calls({ service: 'ecr', operation: 'UploadLayerPart' }).filter((c) => c.status === 200)).toHaveLength(4);
  });

  it.each([0, -1, 1.5, 20_971_521, Number.NaN])('refuses %s before starting anything', async (size) => {
    await expect(startLocalAws({ minimumLayerPartSize: size })).rejects.toThrow(/minimumLayerPartSize must be an integer from 1 to 20971520 bytes/);
  });
});
