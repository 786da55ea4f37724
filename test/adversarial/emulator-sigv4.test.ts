/**
 * The emulator's SigV4 check as an attacker meets it (issue 12, D6 and D7): tampered bodies,
 * unsigned payloads, unsigned host / x-amz-target, skewed and replayed requests, and huge bodies.
 */
import { createHash } from 'node:crypto';
import { CreateRepositoryCommand, ECRClient, InitiateLayerUploadCommand, UploadLayerPartCommand } from '@aws-sdk/client-ecr';
import { GetUserCommand, IAMClient } from '@aws-sdk/client-iam';
import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startLocalAws, type LocalAws, type ManualClock } from '../../src/testing/index.js';
import { errorCode, type RawAnswer, send, sendHuge, signRequest } from './emulator-helpers.js';

let aws: LocalAws;
let clock: ManualClock;
const MINUTE = 60_000;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

beforeAll(async () => {
  // Requests are checked against this clock (at system time here); tests move it to replay requests later.
  clock = manualClock(new Date());
  aws = await startLocalAws({ requestClock: clock });
});
afterAll(() => aws.stop());

const keyCount = (): number => aws.inspect.keys().length;

describe('tampered and unsigned payloads', () => {
  it('refuses a body that is not the one signed, even when x-amz-content-sha256 names the signed one', async () => {
    // Arrange: the signature covers {"Description":"signed"}, and says so in x-amz-content-sha256.
    const signedBody = '{"Description":"signed"}';
    const raw = await signRequest(aws, {
      service: 'kms',
      target: 'TrentService.CreateKey',
      body: signedBody,
      extraHeaders: { 'x-amz-content-sha256': sha256(signedBody) },
    });
    const before = keyCount();
    // Act: another body of the same length goes on the wire.
    const answer = await send(aws, { ...raw, body: '{"Description":"forged"}' });
    // Assert
    expect(answer.status).toBe(400);
    expect(errorCode(answer)).toBe('InvalidSignatureException');
    expect(keyCount()).toBe(before);
    // The untampered request is accepted.
    expect((await send(aws, raw)).status).toBe(200);
    expect(keyCount()).toBe(before + 1);
  });

  it('refuses UNSIGNED-PAYLOAD on the JSON and Query APIs', async () => {
    const before = keyCount();
    const kms = await signRequest(aws, {
      service: 'kms',
      target: 'TrentService.CreateKey',
      body: '{"Description":"unsigned-payload"}',
      extraHeaders: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const kmsAnswer = await send(aws, kms);
    expect([kmsAnswer.status, errorCode(kmsAnswer)]).toEqual([400, 'InvalidSignatureException']);
    expect(keyCount()).toBe(before);
    const sts = await signRequest(aws, {
      service: 'sts',
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
      extraHeaders: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    const stsAnswer = await send(aws, sts);
    expect([stsAnswer.status, errorCode(stsAnswer)]).toEqual([403, 'SignatureDoesNotMatch']);
  });

  it('refuses a signature that leaves out host or x-amz-target', async () => {
    const noHost = await send(aws, await signRequest(aws, { service: 'kms', target: 'TrentService.ListKeys', body: '{}', unsigned: ['host'] }));
    expect([noHost.status, errorCode(noHost)]).toEqual([400, 'InvalidSignatureException']);
    expect(noHost.body).toContain("'Host' or ':authority' must be a 'SignedHeader'");
    // Unsigned, the action could be swapped under a captured signature.
    const signed = await signRequest(aws, { service: 'kms', target: 'TrentService.ListKeys', body: '{}', unsigned: ['x-amz-target'] });
    const swapped = await send(aws, { ...signed, headers: { ...signed.headers, 'x-amz-target': 'TrentService.CreateKey' } });
    expect([swapped.status, errorCode(swapped)]).toEqual([400, 'InvalidSignatureException']);
    const noHostQuery = await send(aws, await signRequest(aws, { service: 'sts', body: 'Action=GetCallerIdentity&Version=2011-06-15', unsigned: ['host'] }));
    expect([noHostQuery.status, errorCode(noHostQuery)]).toEqual([403, 'SignatureDoesNotMatch']);
  });
});

describe('request time and replays', () => {
  it('refuses a request signed more than 15 minutes before or after its clock, in each protocol’s words', async () => {
    const old = new Date(clock.now().getTime() - 16 * MINUTE);
    const late = await send(aws, await signRequest(aws, { service: 'ecr', target: 'AmazonEC2ContainerRegistry_V20150921.DescribeRepositories', body: '{}', signingDate: old }));
    expect([late.status, errorCode(late)]).toEqual([400, 'InvalidSignatureException']);
    expect(late.body).toMatch(/Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)/);
    const future = new Date(clock.now().getTime() + 16 * MINUTE);
    const early = await send(aws, await signRequest(aws, { service: 'kms', target: 'TrentService.ListKeys', body: '{}', signingDate: future }));
    expect([early.status, errorCode(early)]).toEqual([400, 'InvalidSignatureException']);
    expect(early.body).toMatch(/Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z \(\d{8}T\d{6}Z \+ 15 min\.\)/);
    const sts = await send(aws, await signRequest(aws, { service: 'sts', body: 'Action=GetCallerIdentity&Version=2011-06-15', signingDate: old }));
    expect([sts.status, errorCode(sts)]).toEqual([403, 'SignatureDoesNotMatch']);
    expect(sts.body).toContain('Signature expired');
    // Inside the window either way: accepted.
    const near = await send(aws, await signRequest(aws, { service: 'kms', target: 'TrentService.ListKeys', body: '{}', signingDate: new Date(clock.now().getTime() - 14 * MINUTE) }));
    expect(near.status).toBe(200);
  });

  it('accepts a replay inside the window, as AWS does (SigV4 has no nonce), and refuses it once the window has passed', async () => {
    const raw = await signRequest(aws, { service: 'kms', target: 'TrentService.CreateKey', body: '{"Description":"replayed"}', signingDate: clock.now() });
    const before = keyCount();
    expect((await send(aws, raw)).status).toBe(200);
    expect((await send(aws, raw)).status).toBe(200);
    expect(keyCount()).toBe(before + 2);
    clock.advance(15 * MINUTE + 1_000);
    try {
      const replay = await send(aws, raw);
      expect([replay.status, errorCode(replay)]).toEqual([400, 'InvalidSignatureException']);
      expect(keyCount()).toBe(before + 2);
    } finally {
      clock.set(new Date());
    }
  });

  it('keeps the real SDK clients working, and they correct their clock from the Date header as against AWS', async () => {
    // Arrange: the emulator's request clock is a day behind the machine's.
    const behind = manualClock(new Date(Date.now() - 24 * 60 * MINUTE));
    const skewed = await startLocalAws({ requestClock: behind });
    try {
      // clientConfig() carries the offset: no retry needed.
      const config = { ...skewed.clientConfig(), maxAttempts: 1 };
      await expect(new KMSClient(config).send(new ListKeysCommand({}))).resolves.toBeDefined();
      await expect(new ECRClient(config).send(new CreateRepositoryCommand({ repositoryName: 'skew/ok' }))).resolves.toBeDefined();
      await expect(new STSClient(config).send(new GetCallerIdentityCommand({}))).resolves.toBeDefined();
      await expect(new IAMClient(config).send(new GetUserCommand({}))).resolves.toBeDefined();
      // A client that knows nothing of the offset is refused once, reads the Date header, and its retry passes.
      const { systemClockOffset: _offset, ...plain } = skewed.clientConfig();
      const naive = new KMSClient(plain);
      await expect(naive.send(new ListKeysCommand({}))).resolves.toBeDefined();
      expect(skewed.inspect.calls({ service: 'kms', operation: 'ListKeys' }).map((c) => c.error)).toContain('InvalidSignatureException');
    } finally {
      await skewed.stop();
    }
  });

  it('checks requests against system time by default, so moving a manual state clock never voids signatures', async () => {
    const state = manualClock(new Date('2026-01-01T00:00:00Z'));
    const local = await startLocalAws({ clock: state });
    try {
      const kms = new KMSClient({ endpoint: local.endpoint, region: local.region, credentials: local.credentials, maxAttempts: 1 });
      await expect(kms.send(new ListKeysCommand({}))).resolves.toBeDefined();
      state.advance(24 * 60 * MINUTE);
      await expect(kms.send(new ListKeysCommand({}))).resolves.toBeDefined();
      // A request signed a day ago is still refused.
      const old = await send(local, await signRequest(local, { service: 'kms', target: 'TrentService.ListKeys', body: '{}', signingDate: new Date(Date.now() - 24 * 60 * MINUTE) }));
      expect(errorCode(old)).toBe('InvalidSignatureException');
    } finally {
      await local.stop();
    }
  });
});

describe('bodies are capped before they are read', () => {
  const MIB = 1024 * 1024;
  const rssGrowthWhile = async <T>(run: () => Promise<T>): Promise<{ result: T; growth: number }> => {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 5);
    try {
      const result = await run();
      peak = Math.max(peak, process.memoryUsage().rss);
      return { result, growth: peak - before };
    } finally {
      clearInterval(sampler);
    }
  };

  it('answers a 300 MiB body from an unknown key without reading it', async () => {
    const raw = await signRequest(aws, {
      service: 'kms',
      target: 'TrentService.ListKeys',
      body: '{}',
      credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x'.repeat(40) },
    });
    const { result, growth } = await rssGrowthWhile(() => sendHuge(aws, raw.headers, 300 * MIB, false));
    expect([result.status, errorCode(result)]).toEqual([400, 'UnrecognizedClientException']);
    expect(growth).toBeLessThan(100 * MIB);
  });

  it('answers 413 to a signed call whose content-length is over its cap, before reading the body', async () => {
    const raw = await signRequest(aws, { service: 'kms', target: 'TrentService.CreateKey', body: '{}' });
    const { result, growth } = await rssGrowthWhile(() => sendHuge(aws, raw.headers, 300 * MIB, false));
    expect([result.status, errorCode(result)]).toEqual([413, 'RequestEntityTooLargeException']);
    expect(growth).toBeLessThan(100 * MIB);
  });

  it('stops reading a chunked body once it passes the cap', async () => {
    // What the emulator answered: from the wire, or from its call log when the connection was cut
    // under a client still sending (the answer then never reaches the client).
    const answered = (result: RawAnswer, service: string): [number, string | undefined] => {
      if (result.status !== 0) return [result.status, errorCode(result)];
      const last = aws.inspect.calls({ service }).at(-1);
      return [last?.status ?? 0, last?.error];
    };
    const raw = await signRequest(aws, { service: 'ecr', target: 'AmazonEC2ContainerRegistry_V20150921.PutImage', body: '{}' });
    const { result, growth } = await rssGrowthWhile(() => sendHuge(aws, raw.headers, 300 * MIB, true));
    expect(answered(result, 'ecr')).toEqual([413, 'RequestEntityTooLargeException']);
    expect(growth).toBeLessThan(100 * MIB);
    const query = await signRequest(aws, { service: 'sts', body: 'Action=GetCallerIdentity&Version=2011-06-15' });
    const queryAnswer = await sendHuge(aws, query.headers, 300 * MIB, true);
    expect(answered(queryAnswer, 'sts')).toEqual([413, 'RequestEntityTooLarge']);
  });

  it('still takes a 20 MiB layer part (the model maximum) through the real SDK client', async () => {
    const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'caps/layer' }));
    const { uploadId } = await ecr.send(new InitiateLayerUploadCommand({ repositoryName: 'caps/layer' }));
    const part = Buffer.alloc(20 * MIB, 7);
    const answer = await ecr.send(
      new UploadLayerPartCommand({ repositoryName: 'caps/layer', uploadId, partFirstByte: 0, partLastByte: part.length - 1, layerPartBlob: part }),
    );
    expect(answer.lastByteReceived).toBe(part.length - 1);
  });
});
