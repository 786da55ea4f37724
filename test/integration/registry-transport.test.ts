/**
 * Layer bytes over the registry API (`/v2/`, raw bytes, as docker and skopeo push) against the
 * emulator: byte-exact copies, a refreshed login, a blob restarted after a 5xx mid-upload, and the
 * JSON API when the registry API is out of reach.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegistryContext } from '../../src/internal/context.js';
import { copyImages } from '../../src/migration/copy.js';
import { snapshotImages } from '../../src/migration/snapshot.js';
import { ApiError, type LocalAws, manualClock, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { ecrOnlyContext } from '../fixtures/index.js';
import { ADMIN_ACTIONS } from '../helpers/local-aws.js';

const MiB = 1024 * 1024;

describe('layer uploads over the registry API (/v2/)', () => {
  const clock = manualClock(new Date());
  let aws: LocalAws;
  let ecr: ECRClient;

  beforeAll(async () => {
    aws = await startLocalAws({ clock });
    ecr = new ECRClient(aws.clientConfig());
  });
  afterAll(async () => {
    ecr.destroy();
    await aws.stop();
  });

  /** The library's context over an ECR client of its own (the registry login is kept per client). */
  const contextFor = (client: ECRClient): RegistryContext => ecrOnlyContext(aws, client);

  const seed = async (name: string, seedValue: number): Promise<void> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(12 * MiB + 17, seedValue), randomBytes(3000, seedValue + 1)], tags: ['v1'] });
    await pushImage(ecr, name, { layers: [randomBytes(700 * 1024, seedValue + 2)], tags: ['v2'] });
  };

  const copy = async (ctx: RegistryContext, source: string, target: string, transport?: 'auto' | 'registry' | 'api') => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: target }));
    const graph = (await snapshotImages(ctx, source))._unsafeUnwrap();
    return copyImages(ctx, { source, target, graph, concurrency: 2, ...(transport === undefined ? {} : { transport }) });
  };

  const blobsOf = (name: string): Map<string, number> =>
    new Map((aws.inspect.ecr?.storedObjects(undefined, name) ?? []).filter((o) => o.kind === 'blob').map((o) => [o.digest ?? '', o.size ?? 0]));

  it('copies every blob over /v2/ (POST, one PATCH, PUT ?digest=) byte-exact, with no UploadLayerPart call', async () => {
    await seed('xfer/src', 1);
    const since = aws.inspect.calls().length;
    const copied = await copy(contextFor(ecr), 'xfer/src', 'xfer/dst');
    expect(copied._unsafeUnwrap()).toMatchObject({ blobsCopied: 5, manifestsCreated: 2 });
    expect(blobsOf('xfer/dst')).toEqual(blobsOf('xfer/src'));
    const calls = aws.inspect.calls().slice(since);
    expect(calls.filter((c) => c.operation === 'UploadLayerPart')).toEqual([]);
    expect(calls.filter((c) => c.operation.startsWith('PATCH /v2/xfer/dst/blobs/uploads/'))).toHaveLength(5);
    expect(calls.filter((c) => c.operation === 'GetAuthorizationToken')).toHaveLength(1);
  });

  it('logs in again once when the registry says the login expired, and carries on', async () => {
    const client = new ECRClient(aws.clientConfig());
    const ctx = contextFor(client);
    await seed('xfer/expire', 3);
    expect((await copy(ctx, 'xfer/expire', 'xfer/expire-a'))._unsafeUnwrap().blobsCopied).toBe(5);
    // The login is 12 hours old: ECR answers 403 "Your authorization token has expired".
    clock.advance(13 * 60 * 60 * 1000);
    const since = aws.inspect.calls().length;
    expect((await copy(ctx, 'xfer/expire', 'xfer/expire-b'))._unsafeUnwrap().blobsCopied).toBe(5);
    const calls = aws.inspect.calls().slice(since);
    expect(calls.filter((c) => c.operation === 'GetAuthorizationToken')).toHaveLength(1);
    // Two blobs in flight may both meet the expired login; they share the one new login.
    const refused = calls.filter((c) => c.operation.startsWith('POST /v2/') && c.status === 403);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeLessThanOrEqual(2);
    expect(blobsOf('xfer/expire-b')).toEqual(blobsOf('xfer/expire'));
    client.destroy();
  });

  it('starts a blob over when the registry answers 5xx in the middle of its upload, and completes it byte-exact', async () => {
    await seed('xfer/fault', 5);
    const client = new ECRClient(aws.clientConfig());
    const ctx = contextFor(client);
    // Raw calls per blob: the download, POST, PATCH, PUT; with one login the first PATCH is the 3rd raw call.
    const fault = aws.faults.failNth('http:*', 3, new ApiError('InternalFailure', 'injected', { status: 503 }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'xfer/fault-dst' }));
    const graph = (await snapshotImages(ctx, 'xfer/fault'))._unsafeUnwrap();
    const since = aws.inspect.calls().length;
    const copied = await copyImages(ctx, { source: 'xfer/fault', target: 'xfer/fault-dst', graph, concurrency: 1, retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 1 } });
    fault.remove();
    expect(copied._unsafeUnwrap()).toMatchObject({ blobsCopied: 5 });
    const calls = aws.inspect.calls().slice(since);
    expect(calls.filter((c) => c.operation.startsWith('PATCH /v2/') && c.status === 503)).toHaveLength(1);
    expect(blobsOf('xfer/fault-dst')).toEqual(blobsOf('xfer/fault'));
    client.destroy();
  });

  it('uses UploadLayerPart when the caller may not call ecr:GetAuthorizationToken (auto), and fails with registry', async () => {
    await seed('xfer/nologin', 7);
    const user = aws.principals.createUser('no-login', {
      policies: [{ Version: '2012-10-17', Statement: [
        { Effect: 'Allow', Action: [...ADMIN_ACTIONS], Resource: '*' },
        { Effect: 'Deny', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      ] }],
    });
    const client = new ECRClient(aws.clientConfig({ credentials: user.credentials }));
    const ctx = contextFor(client);
    const since = aws.inspect.calls().length;
    expect((await copy(ctx, 'xfer/nologin', 'xfer/nologin-a'))._unsafeUnwrap().blobsCopied).toBe(5);
    const calls = aws.inspect.calls().slice(since);
    expect(calls.filter((c) => c.operation === 'UploadLayerPart').length).toBeGreaterThanOrEqual(5);
    expect(calls.filter((c) => c.operation.startsWith('PATCH /v2/'))).toEqual([]);
    expect(blobsOf('xfer/nologin-a')).toEqual(blobsOf('xfer/nologin'));
    const forced = await copy(contextFor(new ECRClient(aws.clientConfig({ credentials: user.credentials }))), 'xfer/nologin', 'xfer/nologin-b', 'registry');
    expect(forced._unsafeUnwrapErr().kind).toBe('AccessDenied');
    client.destroy();
  });
});
