import { describe, expect, it } from 'vitest';
import { backoffDelays } from '../../src/internal/poll.js';
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
