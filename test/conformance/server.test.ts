import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetPublicKeyCommand,
  KMSClient,
  LimitExceededException,
  ListGrantsCommand,
  ListKeysCommand,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, manualClock, serveLocalAws, startLocalAws, type EmulatorCredentials, type LocalAws } from '../../src/testing/index.js';

let aws: LocalAws;
const kmsClient = (target: LocalAws, options: { credentials?: EmulatorCredentials; region?: string; maxAttempts?: number } = {}): KMSClient =>
  new KMSClient({
    ...target.clientConfig({ ...(options.credentials ? { credentials: options.credentials } : {}), ...(options.region ? { region: options.region } : {}) }),
    maxAttempts: options.maxAttempts ?? 1,
  });
const keyCount = (target: LocalAws): number => target.inspect.keys().length;

beforeAll(async () => {
  aws = await startLocalAws({ regions: ['us-east-1', 'eu-west-1'] });
});
afterAll(() => aws.stop());

describe('protocol and signatures', () => {
  it('refuses a bad signature, an unknown key and an unserved region with the JSON error shapes', async () => {
    const wrong = kmsClient(aws, { credentials: { ...aws.credentials, secretAccessKey: 'x'.repeat(40) } });
    await expect(wrong.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 400 } });
    const unknown = kmsClient(aws, { credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' } });
    await expect(unknown.send(new ListKeysCommand({}))).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
    const elsewhere = kmsClient(aws, { region: 'ap-south-1' });
    await expect(elsewhere.send(new ListKeysCommand({}))).rejects.toThrow(/serves regions us-east-1, eu-west-1, not ap-south-1/);
    expect(aws.inspect.calls({ service: 'kms' }).filter((c) => c.error === 'InvalidSignatureException')).toHaveLength(1);
  });

  it('answers an unsigned call with MissingAuthenticationTokenException', async () => {
    const response = await fetch(aws.endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.ListKeys' },
      body: '{}',
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ __type: 'MissingAuthenticationTokenException' });
  });

  it('names an unknown operation, target or route: never a hang, never an empty 500', async () => {
    const kms = kmsClient(aws);
    const error = await kms.send(new GetPublicKeyCommand({ KeyId: 'alias/x' })).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'UnknownOperationException' });
    expect((error as Error).message).toContain('GetPublicKey');
    const target = await fetch(aws.endpoint, { method: 'POST', headers: { 'x-amz-target': 'Nope_20200101.DoThing' }, body: '{}' });
    expect(target.status).toBe(400);
    expect(await target.text()).toContain('Nope_20200101.DoThing');
    const route = await fetch(`${aws.endpoint}/nope/some/blob`);
    expect(route.status).toBe(404);
    expect(await route.text()).toContain('GET /nope/some/blob');
  });

  it('logs every call with service, operation, principal, region and status', async () => {
    const local = await startLocalAws();
    const user = local.principals.createUser('counted', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }] });
    await kmsClient(local).send(new ListKeysCommand({}));
    await kmsClient(local, { credentials: user.credentials }).send(new ListKeysCommand({}));
    await kmsClient(local, { credentials: user.credentials }).send(new CreateKeyCommand({})).catch(() => undefined);
    const calls = local.inspect.calls();
    expect(calls.countBy('operation')).toEqual({ 'kms:ListKeys': 2, 'kms:CreateKey': 1 });
    expect(calls.countBy('principal')).toEqual({ [local.principals.default.arn]: 1, [user.arn]: 2 });
    expect(calls[2]).toMatchObject({ service: 'kms', operation: 'CreateKey', principal: user.arn, region: 'us-east-1', status: 400, error: 'AccessDeniedException' });
    expect(calls[2]!.time).toBeInstanceOf(Date);
    await local.stop();
  });
});

describe('faults', () => {
  it('throttles every nth matching call with ThrottlingException', async () => {
    const kms = kmsClient(aws);
    const fault = aws.faults.throttle({ operation: 'kms:ListKeys', every: 2 });
    const outcomes: string[] = [];
    for (let i = 0; i < 4; i += 1) outcomes.push(await kms.send(new ListKeysCommand({})).then(() => 'ok', (e: Error) => e.name));
    fault.remove();
    expect(outcomes).toEqual(['ok', 'ThrottlingException', 'ok', 'ThrottlingException']);
    // Other operations are untouched.
    aws.faults.throttle({ operation: 'CreateGrant' });
    await expect(kms.send(new ListKeysCommand({}))).resolves.toBeDefined();
    aws.faults.clear();
  });

  it('throttles a seeded share of calls, the same calls on every run', async () => {
    const kms = kmsClient(aws);
    const run = async (): Promise<string> => {
      aws.faults.throttle({ operation: 'ListKeys', share: 0.5, seed: 7 });
      let pattern = '';
      for (let i = 0; i < 12; i += 1) pattern += await kms.send(new ListKeysCommand({})).then(() => '.', () => 'T');
      aws.faults.clear();
      return pattern;
    };
    const first = await run();
    expect(await run()).toBe(first);
    expect(first).toContain('T');
    expect(first).toContain('.');
  });

  it('answers 5xx, which the SDK retries', async () => {
    aws.faults.serverError({ operation: 'ListKeys', status: 503, times: 1 });
    const once = await kmsClient(aws).send(new ListKeysCommand({})).catch((e: unknown) => e);
    expect(once).toMatchObject({ name: 'ServiceUnavailable', $fault: 'server', $metadata: { httpStatusCode: 503 } });
    aws.faults.clear();
    aws.faults.serverError({ operation: 'ListKeys', times: 1 });
    const retried = await kmsClient(aws, { maxAttempts: 3 }).send(new ListKeysCommand({}));
    expect(retried.$metadata.attempts).toBe(2);
    aws.faults.clear();
  });

  it('fails the nth call with a given error, and adds latency without failing', async () => {
    const kms = kmsClient(aws);
    aws.faults.failNth('kms:CreateKey', 2, new ApiError('LimitExceededException', 'Too many keys'));
    aws.faults.latency(20, { operation: 'CreateKey' });
    await expect(kms.send(new CreateKeyCommand({}))).resolves.toBeDefined();
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toBeInstanceOf(LimitExceededException);
    await expect(kms.send(new CreateKeyCommand({}))).resolves.toBeDefined();
    aws.faults.clear();
  });

  it('drops the connection before the call (no state change) or after it (state changed)', async () => {
    const kms = kmsClient(aws);
    const before = keyCount(aws);
    aws.faults.dropConnection({ operation: 'CreateKey', nth: 1 });
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toThrow();
    expect(keyCount(aws)).toBe(before);
    aws.faults.clear();
    aws.faults.dropConnection({ operation: 'CreateKey', when: 'after' });
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toThrow();
    expect(keyCount(aws)).toBe(before + 1);
    aws.faults.clear();
  });

  it('stops the server during an operation (after its state change), and restart brings it back on the same port with its state', async () => {
    const local = await startLocalAws();
    const kms = kmsClient(local);
    local.faults.stopDuring('CreateKey');
    await expect(kms.send(new CreateKeyCommand({ Description: 'half-done' }))).rejects.toThrow();
    expect(local.running).toBe(false);
    await expect(kms.send(new ListKeysCommand({}))).rejects.toThrow();
    await local.restart();
    expect(local.running).toBe(true);
    const { Keys } = await kms.send(new ListKeysCommand({}));
    expect(Keys).toHaveLength(1);
    local.faults.stopDuring('CreateKey', { when: 'before' });
    await expect(kms.send(new CreateKeyCommand({}))).rejects.toThrow();
    await local.restart();
    expect((await kms.send(new ListKeysCommand({}))).Keys).toHaveLength(1);
    await local.stop();
  });
});

describe('state', () => {
  it('keeps state in dataDir across emulator instances', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emu-state-'));
    try {
      const first = await startLocalAws({ dataDir, regions: ['eu-west-1'] });
      const user = first.principals.createUser('keeper', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }] });
      const kms = kmsClient(first, { credentials: user.credentials });
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
      const sealed = await kms.send(new EncryptCommand({ KeyId: KeyMetadata!.KeyId, Plaintext: Buffer.from('kept'), EncryptionContext: { a: 'b' } }));
      const credentials = first.credentials;
      await first.stop();

      const second = await startLocalAws({ dataDir, regions: ['eu-west-1'] });
      expect(second.credentials).toEqual(credentials);
      const again = kmsClient(second, { credentials: user.credentials });
      const opened = await again.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { a: 'b' } }));
      expect(Buffer.from(opened.Plaintext!).toString()).toBe('kept');
      await second.stop();

      // Fixed credentials win over the saved ones.
      const fixed = { accessKeyId: 'AKIAFIXEDFIXEDFIXED1', secretAccessKey: 'fixed-secret' };
      const third = await startLocalAws({ dataDir, regions: ['eu-west-1'], credentials: fixed });
      expect(third.credentials).toEqual(fixed);
      await expect(kmsClient(third).send(new ListKeysCommand({}))).resolves.toMatchObject({ Keys: [expect.anything()] });
      await third.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('survives SIGKILL of the emulator process: a new instance on the same dataDir has the state', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'emu-kill-'));
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'standalone-child.ts'), dataDir], {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    try {
      const env: Record<string, string> = {};
      const lines = createInterface({ input: child.stdout });
      for await (const line of lines) {
        const match = /^export (\w+)=(.*)$/.exec(line);
        if (match) env[match[1]!] = match[2]!;
        if (Object.keys(env).length === 5) break;
      }
      const credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! };
      const kms = new KMSClient({ endpoint: env.AWS_ENDPOINT_URL!, region: env.AWS_REGION!, credentials, maxAttempts: 1 });
      const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'survivor' }));
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;

      const revived = await startLocalAws({ dataDir });
      const described = await kmsClient(revived, { credentials }).send(new DescribeKeyCommand({ KeyId: KeyMetadata!.Arn }));
      expect(described.KeyMetadata!.Description).toBe('survivor');
      await revived.stop();
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('shows new grants and hides retired ones only after grantConsistencyDelayMs', async () => {
    const clock = manualClock();
    const local = await startLocalAws({ clock, grantConsistencyDelayMs: 60_000 });
    const kms = kmsClient(local);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const keyArn = KeyMetadata!.Arn!;
    const { GrantId } = await kms.send(new CreateGrantCommand({ KeyId: keyArn, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Operations: ['Decrypt'] }));
    const listed = async (): Promise<number> => (await kms.send(new ListGrantsCommand({ KeyId: keyArn }))).Grants!.length;
    expect(await listed()).toBe(0);
    clock.advance(60_000);
    expect(await listed()).toBe(1);
    await kms.send(new RetireGrantCommand({ KeyId: keyArn, GrantId }));
    expect(await listed()).toBe(1);
    expect(local.inspect.grants(keyArn)[0]).toMatchObject({ retired: true, listed: true });
    clock.advance(60_000);
    expect(await listed()).toBe(0);
    await local.stop();
  });

  it('prints the environment from the standalone entry and stops when told', async () => {
    const out: string[] = [];
    let stop!: () => void;
    const until = new Promise<void>((resolve) => (stop = resolve));
    const code = serveLocalAws({ regions: ['eu-central-1'] }, { out: (l) => out.push(l), err: () => undefined, until, onStarted: () => stop() });
    expect(await code).toBe(0);
    expect(out.map((l) => l.split('=')[0])).toEqual([
      'export AWS_ENDPOINT_URL',
      'export AWS_REGION',
      'export AWS_DEFAULT_REGION',
      'export AWS_ACCESS_KEY_ID',
      'export AWS_SECRET_ACCESS_KEY',
    ]);
    expect(out.slice(1, 3)).toEqual(['export AWS_REGION=eu-central-1', 'export AWS_DEFAULT_REGION=eu-central-1']);
  });
});
