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

describe('backoffDelays', () => {
  it('doubles up to the cap and stops within the timeout', () => {
    expect(backoffDelays({ initialDelayMs: 100, maxDelayMs: 400, timeoutMs: 1500 })).toEqual([100, 200, 400, 400, 400]);
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
