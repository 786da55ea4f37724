import { RepositoryNotFoundException } from '@aws-sdk/client-ecr';
import { KMSServiceException, NotFoundException } from '@aws-sdk/client-kms';
import { STSServiceException } from '@aws-sdk/client-sts';
import { CredentialsProviderError } from '@smithy/core/config';
import { describe, expect, it } from 'vitest';
import { awsCall, toGenericAwsError } from '../../src/internal/aws.js';

const throttling = () =>
  new KMSServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, requestId: 'req-1' },
    message: 'Rate exceeded',
  });

describe('awsCall', () => {
  it('returns the value of a call that succeeds', async () => {
    const result = await awsCall({}, 'ecr', 'DescribeRepositories', () => Promise.resolve({ repositories: [] }));
    expect(result._unsafeUnwrap()).toEqual({ repositories: [] });
  });

  it('maps a modeled exception by name at the call site and keeps it as cause', async () => {
    const cause = new RepositoryNotFoundException({ $metadata: {}, message: 'no such repository' });
    const result = await awsCall(
      {},
      'ecr',
      'DeleteRepository',
      () => Promise.reject(cause),
      (e) => (e.name === 'RepositoryNotFoundException' ? { kind: 'RepositoryNotFound' as const, repositoryName: 'app', cause: e } : undefined),
    );
    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'RepositoryNotFound', repositoryName: 'app', cause });
  });

  it('falls back to the generic mapping when the call site does not model the exception', async () => {
    const cause = new NotFoundException({ $metadata: { httpStatusCode: 400, requestId: 'r-2' }, message: 'gone' });
    const result = await awsCall({}, 'kms', 'DescribeKey', () => Promise.reject(cause), () => undefined);
    expect(result._unsafeUnwrapErr()).toMatchObject({
      kind: 'AwsServiceError',
      service: 'kms',
      operation: 'DescribeKey',
      name: 'NotFoundException',
      fault: 'client',
      httpStatusCode: 400,
      requestId: 'r-2',
      cause,
    });
  });

  it('catches a synchronous throw from the call', async () => {
    const result = await awsCall({}, 'ecr', 'ListImages', () => {
      throw new Error('Region is missing');
    });
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'SdkClientError', message: 'Region is missing' });
  });
});

describe('toGenericAwsError', () => {
  it('classifies an unmodeled ThrottlingException as Throttled', () => {
    expect(toGenericAwsError('kms', 'ListGrants', throttling())).toMatchObject({ kind: 'Throttled', service: 'kms' });
  });

  it('classifies AccessDeniedException as AccessDenied with its message', () => {
    const cause = new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized' });
    expect(toGenericAwsError('kms', 'CreateGrant', cause)).toMatchObject({ kind: 'AccessDenied', message: 'not authorized' });
  });

  it('classifies expired credentials as CredentialsError', () => {
    const cause = new KMSServiceException({ name: 'ExpiredTokenException', $fault: 'client', $metadata: {}, message: 'expired' });
    expect(toGenericAwsError('kms', 'DescribeKey', cause)).toMatchObject({ kind: 'CredentialsError', reason: 'expired' });
  });

  it('tells credentials the SDK could not find from credentials AWS rejected', () => {
    // What the SDK's default chain throws when no provider has any (aws-sdk-js-v3 PR #2408).
    const none = new CredentialsProviderError('Could not load credentials from any providers', { tryNextLink: false });
    expect(toGenericAwsError('ecr', 'DescribeRepositories', none)).toMatchObject({ kind: 'CredentialsError', reason: 'missing' });
    const unknownKey = new KMSServiceException({ name: 'UnrecognizedClientException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'The security token included in the request is invalid.' });
    expect(toGenericAwsError('kms', 'DescribeKey', unknownKey)).toMatchObject({ kind: 'CredentialsError', reason: 'rejected' });
    const badKeyId = new STSServiceException({ name: 'InvalidClientTokenId', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'The security token included in the request is invalid.' });
    expect(toGenericAwsError('sts', 'GetCallerIdentity', badKeyId)).toMatchObject({ kind: 'CredentialsError', reason: 'rejected' });
    const badSecret = new KMSServiceException({ name: 'InvalidSignatureException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'The request signature we calculated does not match the signature you provided.' });
    expect(toGenericAwsError('kms', 'ListGrants', badSecret)).toMatchObject({ kind: 'CredentialsError', reason: 'rejected' });
    const expiredSts = new STSServiceException({ name: 'ExpiredToken', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'The security token included in the request is expired' });
    expect(toGenericAwsError('sts', 'GetCallerIdentity', expiredSts)).toMatchObject({ kind: 'CredentialsError', reason: 'expired' });
  });

  it('classifies a refused connection as NetworkError', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    expect(toGenericAwsError('ecr', 'ListImages', cause)).toMatchObject({ kind: 'NetworkError' });
  });
});

describe('allPages', () => {
  it('follows tokens page by page and stops at the first error', async () => {
    const { allPages } = await import('../../src/internal/aws.js');
    const { errAsync, okAsync } = await import('neverthrow');
    const pages: Record<string, { items: number[]; nextToken: string | undefined }> = {
      start: { items: [1, 2], nextToken: 'b' },
      b: { items: [3], nextToken: 'c' },
      c: { items: [], nextToken: '' },
    };
    const seen: (string | undefined)[] = [];
    const all = await allPages((token: string | undefined) => {
      seen.push(token);
      return okAsync(pages[token ?? 'start']!);
    });
    expect(all._unsafeUnwrap()).toEqual([1, 2, 3]);
    expect(seen).toEqual([undefined, 'b', 'c']);

    const failing = await allPages((token: string | undefined) =>
      token === undefined ? okAsync({ items: [1], nextToken: 'x' }) : errAsync('boom' as const),
    );
    expect(failing._unsafeUnwrapErr()).toBe('boom');
  });
});
