import { describe, expect, it } from 'vitest';
import { backoffDelays } from '../../src/internal/wait.js';
import { checkTransport } from '../../src/internal/transport.js';

describe('checkTransport', () => {
  it('accepts https anywhere and http on loopback only', () => {
    expect(checkTransport('https://ecr.eu-west-1.amazonaws.com')).toBeUndefined();
    expect(checkTransport('http://127.0.0.1:4566')).toBeUndefined();
    expect(checkTransport('http://localhost:4566')).toBeUndefined();
    expect(checkTransport('http://[::1]:4566')).toBeUndefined();
  });

  it('refuses plain http to any other host, and what is no URL', () => {
    expect(checkTransport('http://10.0.0.5:4566')).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://10.0.0.5:4566' });
    expect(checkTransport('http://localhost.evil.example')).toMatchObject({ kind: 'InsecureEndpoint' });
    expect(checkTransport('not a url')).toMatchObject({ kind: 'InsecureEndpoint' });
  });
});

describe('checkTransport with allowInsecureHttp', () => {
  it('accepts plain http to any host, and still refuses what is neither http nor https', () => {
    expect(checkTransport('http://localstack:4566', true)).toBeUndefined();
    expect(checkTransport('http://10.0.0.5:4566', true)).toBeUndefined();
    expect(checkTransport('ftp://localstack:21', true)).toMatchObject({ kind: 'InsecureEndpoint' });
    expect(checkTransport('not a url', true)).toMatchObject({ kind: 'InsecureEndpoint' });
  });
});

describe('backoffDelays', () => {
  it('doubles up to the cap and stops within the timeout', () => {
    expect(backoffDelays({ initialDelayMs: 100, maxDelayMs: 400, timeoutMs: 1500 })).toEqual([100, 200, 400, 400, 400]);
  });
});

const warnings = () => {
  const lines: { message: string; fields: Readonly<Record<string, unknown>> | undefined }[] = [];
  const logger = { debug: () => undefined, info: () => undefined, warn: (message: string, fields?: Readonly<Record<string, unknown>>) => void lines.push({ message, fields }) };
  return { lines, logger };
};

describe('EncryptedRegistry allowInsecureHttp', () => {
  it('refuses http://localstack:4566 by default, saying nothing about it in the log', async () => {
    const { EncryptedRegistry } = await import('../../src/index.js');
    const { lines, logger } = warnings();
    const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', endpoint: 'http://localstack:4566' }, logger });
    expect((await registry.deleteRepository({ repositoryName: 'app' }))._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://localstack:4566' });
    expect(lines).toEqual([]);
    registry.destroy();
  });

  /** A registry with the opt-in over `endpoint`, and the warnings it logs. */
  const optedIn = async (endpoint: string) => {
    const { EncryptedRegistry } = await import('../../src/index.js');
    const { lines, logger } = warnings();
    const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', endpoint, credentials, maxAttempts: 1 }, allowInsecureHttp: true, logger });
    return { registry, insecure: () => lines.filter((l) => l.fields?.insecureHttpHosts !== undefined) };
  };

  it('with the opt-in, lets the endpoint through (the call fails only later, on the network) and warns once naming the host', async () => {
    // 0.0.0.0 is not loopback by name, yet connects to this machine (port 9: nothing listens); no request leaves it.
    const { registry, insecure } = await optedIn('http://0.0.0.0:9');
    const first = await registry.deleteRepository({ repositoryName: 'app' });
    await registry.deleteRepository({ repositoryName: 'app' });
    expect(first._unsafeUnwrapErr().kind).toBe('NetworkError');
    expect(insecure().map((l) => l.fields)).toEqual([{ insecureHttpHosts: ['0.0.0.0:9'] }]);
    registry.destroy();
  });

  it('loopback http with the opt-in causes no warning', async () => {
    const { registry, insecure } = await optedIn('http://127.0.0.1:9');
    expect((await registry.deleteRepository({ repositoryName: 'app' }))._unsafeUnwrapErr().kind).toBe('NetworkError');
    expect(insecure()).toEqual([]);
    registry.destroy();
  });

  it('a non-boolean allowInsecureHttp is InvalidInput naming the option', async () => {
    const { EncryptedRegistry } = await import('../../src/index.js');
    const registry = new EncryptedRegistry({ allowInsecureHttp: 'yes' as unknown as boolean });
    expect((await registry.deleteRepository({ repositoryName: 'app' }))._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'options.allowInsecureHttp' });
    registry.destroy();
  });
});

describe('EncryptedRegistry transport', () => {
  it('refuses an insecure endpoint from the environment before any AWS call', async () => {
    const { EncryptedRegistry } = await import('../../src/index.js');
    const saved = process.env.AWS_ENDPOINT_URL_KMS;
    process.env.AWS_ENDPOINT_URL_KMS = 'http://kms.internal.example:8080';
    try {
      const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
      const result = await registry.deleteRepository({ repositoryName: 'app' });
      expect(result._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://kms.internal.example:8080' });
      registry.destroy();
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_KMS;
      else process.env.AWS_ENDPOINT_URL_KMS = saved;
    }
  });
});
