/**
 * Issue 12, D10 and D11: plain `http://` to a host that is not loopback is refused wherever the
 * endpoint comes from (the registry's `clientConfig`, `AWS_ENDPOINT_URL*`, a client the caller
 * passes in, the shared config file's `endpoint_url` or `[services]` section, a custom
 * `endpointProvider`), before the first AWS call; and no error echoes `user:password@`.
 *
 * The config-file cases write a temporary `AWS_CONFIG_FILE`, as the SDK reads it
 * (`@smithy/core` `getEndpointFromConfig`: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
 * profile's `services` section, then its `endpoint_url`; `ignore_configured_endpoint_urls` turns
 * them off).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type RegistryError } from '../../src/index.js';
import { checkTransport, redactUrl } from '../../src/internal/transport.js';
import { describeError } from '../../src/cli/output.js';
import { REGION } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const awsCalls = (): number => ecr.calls().length + kms.calls().length + iam.calls().length + sts.calls().length;

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

// The environment the SDK reads endpoints and profiles from; each test sets its own.
const ENV = ['AWS_CONFIG_FILE', 'AWS_PROFILE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_ECR', 'AWS_ENDPOINT_URL_KMS', 'AWS_ENDPOINT_URL_IAM', 'AWS_ENDPOINT_URL_STS', 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS'] as const;
const saved = new Map(ENV.map((name) => [name, process.env[name]]));
let dir = '';
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-endpoints-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  for (const mock of [ecr, kms, iam, sts]) mock.reset();
  for (const name of ENV) Reflect.deleteProperty(process.env, name);
  // A config file with nothing in it, so the developer's own ~/.aws/config plays no part.
  process.env.AWS_CONFIG_FILE = configFile('[default]\nregion = eu-west-1\n');
});
afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) Reflect.deleteProperty(process.env, name);
    else process.env[name] = value;
  }
});

/** A new config file (a new path each time: the SDK caches files by path). */
function configFile(text: string): string {
  files += 1;
  const path = join(dir, `config-${files}`);
  writeFileSync(path, text);
  return path;
}

/** Past the endpoint check the mocks answer every call with an empty response. */
const answerEverything = (): void => {
  ecr.onAnyCommand().resolves({});
  kms.onAnyCommand().resolves({});
  iam.onAnyCommand().resolves({});
  sts.onAnyCommand().resolves({});
};

/** Runs a read-only operation and answers its error (or undefined when it got past the endpoint check). */
const firstError = async (registry: EncryptedRegistry): Promise<RegistryError | undefined> => {
  const result = await registry.findOrphanedGrants({ keys: ['alias/app'] });
  registry.destroy();
  return result.isErr() ? result.error : undefined;
};

describe('the endpoint each client will really use is checked before the first call', () => {
  it('a client passed in with a plain http:// endpoint to another host', async () => {
    const kmsClient = new KMSClient({ region: REGION, credentials, endpoint: 'http://kms.example.com' });

    const error = await firstError(new EncryptedRegistry({ clients: { kms: kmsClient }, clientConfig: { region: REGION, credentials } }));

    expect(error).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://kms.example.com/' });
    expect(awsCalls()).toBe(0);
  });

  it('a client passed in whose endpointProvider answers plain http://', async () => {
    const ecrClient = new ECRClient({
      region: REGION,
      credentials,
      endpointProvider: () => ({ url: new URL('http://ecr.internal.example:8080/') }),
    });

    const error = await firstError(new EncryptedRegistry({ clients: { ecr: ecrClient }, clientConfig: { region: REGION, credentials } }));

    expect(error).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://ecr.internal.example:8080/' });
    expect(awsCalls()).toBe(0);
  });

  it("the shared config file's endpoint_url", async () => {
    process.env.AWS_CONFIG_FILE = configFile('[default]\nregion = eu-west-1\nendpoint_url = http://proxy.example.com\n');

    const error = await firstError(new EncryptedRegistry({ clientConfig: { region: REGION, credentials } }));

    expect(error).toMatchObject({ kind: 'InsecureEndpoint', endpoint: 'http://proxy.example.com' });
    expect(awsCalls()).toBe(0);
  });

  it("a profile's [services] section, for one service only", async () => {
    process.env.AWS_CONFIG_FILE = configFile(
      ['[profile team]', 'region = eu-west-1', 'services = team-endpoints', '', '[services team-endpoints]', 'kms =', '  endpoint_url = http://kms.proxy.example.com', ''].join('\n'),
    );
    process.env.AWS_PROFILE = 'team';

    const error = await firstError(new EncryptedRegistry({ clientConfig: { region: REGION, credentials } }));

    expect(error).toMatchObject({ kind: 'InsecureEndpoint', endpoint: 'http://kms.proxy.example.com' });
    expect(awsCalls()).toBe(0);
  });

  it('AWS_ENDPOINT_URL_<SERVICE> for a client passed in', async () => {
    process.env.AWS_ENDPOINT_URL_STS = 'http://sts.example.com';
    const stsClient = new STSClient({ region: REGION, credentials });

    const error = await firstError(new EncryptedRegistry({ clients: { sts: stsClient }, clientConfig: { region: REGION, credentials } }));

    expect(error).toMatchObject({ kind: 'InsecureEndpoint', endpoint: 'http://sts.example.com' });
    expect(awsCalls()).toBe(0);
  });

  it('loopback http:// from the config file is allowed (the local emulator)', async () => {
    process.env.AWS_CONFIG_FILE = configFile('[default]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:4566\n');
    answerEverything();

    const error = await firstError(new EncryptedRegistry({ clientConfig: { region: REGION, credentials } }));

    expect(error?.kind).not.toBe('InsecureEndpoint');
    expect(awsCalls()).toBeGreaterThan(0);
  });

  it('ignore_configured_endpoint_urls: the SDK ignores the file, so do we', async () => {
    process.env.AWS_CONFIG_FILE = configFile('[default]\nregion = eu-west-1\nendpoint_url = http://proxy.example.com\nignore_configured_endpoint_urls = true\n');
    answerEverything();

    const error = await firstError(new EncryptedRegistry({ clientConfig: { region: REGION, credentials } }));

    expect(error?.kind).not.toBe('InsecureEndpoint');
  });

  it('a client passed in with its own https endpoint wins over the config file, as in the SDK', async () => {
    process.env.AWS_CONFIG_FILE = configFile('[default]\nregion = eu-west-1\nendpoint_url = http://proxy.example.com\n');
    const clients = {
      ecr: new ECRClient({ region: REGION, credentials, endpoint: 'https://ecr.example.com' }),
      kms: new KMSClient({ region: REGION, credentials, endpoint: 'https://kms.example.com' }),
      iam: new IAMClient({ region: REGION, credentials, endpoint: 'https://iam.example.com' }),
      sts: new STSClient({ region: REGION, credentials, endpoint: 'https://sts.example.com' }),
    };
    answerEverything();

    const error = await firstError(new EncryptedRegistry({ clients }));

    expect(error?.kind).not.toBe('InsecureEndpoint');
  });
});

describe('no error or message echoes user:password@ (D11)', () => {
  const SECRET = 'hunter2';

  it.each([
    ['clientConfig.endpoint', (): EncryptedRegistry => new EncryptedRegistry({ clientConfig: { region: REGION, credentials, endpoint: `http://admin:${SECRET}@ecr.example.com` } })],
    [
      'a client passed in',
      (): EncryptedRegistry =>
        new EncryptedRegistry({ clients: { ecr: new ECRClient({ region: REGION, credentials, endpoint: `http://admin:${SECRET}@ecr.example.com/` }) }, clientConfig: { region: REGION, credentials } }),
    ],
    [
      'the config file',
      (): EncryptedRegistry => {
        process.env.AWS_CONFIG_FILE = configFile(`[default]\nendpoint_url = http://admin:${SECRET}@proxy.example.com\n`);
        return new EncryptedRegistry({ clientConfig: { region: REGION, credentials } });
      },
    ],
    [
      'AWS_ENDPOINT_URL',
      (): EncryptedRegistry => {
        process.env.AWS_ENDPOINT_URL = `http://admin:${SECRET}@proxy.example.com`;
        return new EncryptedRegistry({ clientConfig: { region: REGION, credentials } });
      },
    ],
  ])('%s', async (_, make) => {
    const error = await firstError(make());

    expect(error?.kind).toBe('InsecureEndpoint');
    expect(JSON.stringify(error)).not.toContain(SECRET);
    expect(describeError(error as RegistryError)).not.toContain(SECRET);
    expect(awsCalls()).toBe(0);
  });

  it.each([
    ['http://admin:hunter2@ecr.example.com/', 'http://***@ecr.example.com/'],
    ['http://admin@ecr.example.com', 'http://***@ecr.example.com'],
    ['ftp://a:hunter2@[::1]:21/x', 'ftp://***@[::1]:21/x'],
    // Text that is no URL at all is redacted too (the URL parser would refuse it).
    ['http://admin:hunter2@exa mple.com/', 'http://***@exa mple.com/'],
    ['https://bucket.s3.amazonaws.com/l?X-Amz-Credential=AKID%2F1&X-Amz-Signature=abc&X-Amz-Security-Token=tok', 'https://bucket.s3.amazonaws.com/l?X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***'],
    ['https://ecr.eu-west-1.amazonaws.com/', 'https://ecr.eu-west-1.amazonaws.com/'],
  ])('redactUrl(%s)', (url, redacted) => {
    expect(redactUrl(url)).toBe(redacted);
  });

  it('checkTransport never echoes userinfo, parseable or not', () => {
    expect(checkTransport('http://admin:hunter2@ecr.example.com')).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://***@ecr.example.com' });
    expect(checkTransport('http://admin:hunter2@exa mple.com')).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://***@exa mple.com' });
  });
});
