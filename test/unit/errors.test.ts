import { describe, expect, it } from 'vitest';
import { isRegistryError, isRetryable, type RegistryError } from '../../src/index.js';

describe('isRegistryError', () => {
  it('accepts the library errors and rejects everything else', () => {
    expect(isRegistryError({ kind: 'RepositoryNotFound', repositoryName: 'app' })).toBe(true);
    expect(isRegistryError({ kind: 'SomethingElse' })).toBe(false);
    expect(isRegistryError(new Error('boom'))).toBe(false);
    expect(isRegistryError(null)).toBe(false);
  });
});

describe('isRetryable', () => {
  const base = { service: 'ecr', operation: 'ListImages', cause: undefined } as const;
  it('retries throttling, network and server faults only', () => {
    const cases: [RegistryError, boolean][] = [
      [{ kind: 'Throttled', ...base }, true],
      [{ kind: 'NetworkError', ...base, message: 'reset' }, true],
      [{ kind: 'AwsServiceError', ...base, name: 'ServerException', message: '', fault: 'server', httpStatusCode: 500, requestId: undefined }, true],
      [{ kind: 'AwsServiceError', ...base, name: 'ValidationException', message: '', fault: 'client', httpStatusCode: 400, requestId: undefined }, false],
      [{ kind: 'RepositoryNotFound', repositoryName: 'app' }, false],
    ];
    for (const [error, retryable] of cases) expect(isRetryable(error), error.kind).toBe(retryable);
  });
});
