/**
 * Who retries (issue 14): the SDK's retry strategy retries API calls (its `maxAttempts`), and the
 * library does not retry them again on top, except ECR layer uploads that stay throttled. Counted
 * in HTTP calls the emulator received, through real SDK clients and its fault injection.
 */
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { okAsync } from 'neverthrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { type RegistryContext, silentLogger } from '../../src/internal/context.js';
import { DEFAULT_RETRY, retriedBeyondSdk, retry } from '../../src/internal/wait.js';
import { describeImages, initiateLayerUpload } from '../../src/steps/ecr-images.js';
import { ApiError, type LocalAws, startLocalAws } from '../../src/testing/index.js';
import { TEST_POLL } from '../helpers/local-aws.js';

let aws: LocalAws;

/** The library's context over real clients of the emulator, with `maxAttempts` SDK attempts per call. */
const contextWith = (maxAttempts: number): RegistryContext => {
  const config = { ...aws.clientConfig(), maxAttempts };
  return {
    ecr: new ECRClient(config),
    kms: new KMSClient(config),
    iam: new IAMClient(config),
    sts: new STSClient(config),
    logger: silentLogger,
    region: () => okAsync(config.region),
    transportError: undefined,
    poll: TEST_POLL,
    sleep: () => Promise.resolve(),
    now: () => new Date(),
  };
};

const callsTo = (operation: string): number => aws.inspect.calls({ service: 'ecr', operation }).length;

beforeAll(async () => {
  aws = await startLocalAws();
  await new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 }).send(new CreateRepositoryCommand({ repositoryName: 'team/retries' }));
});

afterAll(async () => {
  await aws.stop();
});

describe('retries', () => {
  it('a call failing with a 5xx is sent maxAttempts times by the SDK, and not retried again by the library', async () => {
    // Prepare
    const ctx = contextWith(3);
    const before = callsTo('DescribeImages');
    const fault = aws.faults.serverError({ operation: 'ecr:DescribeImages', status: 503 });

    // Act
    const result = await retry(ctx, DEFAULT_RETRY, 'DescribeImages', () => describeImages(ctx, 'team/retries'), { retryable: retriedBeyondSdk('DescribeImages') });
    fault.remove();

    // Assess: 3 HTTP calls, not 3 × 6.
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AwsServiceError', fault: 'server', httpStatusCode: 503 });
    expect(callsTo('DescribeImages') - before).toBe(3);
  });

  it('throttling the SDK gave up on is returned, except for layer uploads, which the library tries again', async () => {
    // Prepare: no SDK retries, so every extra HTTP call is the library's.
    const ctx = contextWith(1);
    const throttled = () => new ApiError('ThrottlingException', 'Rate exceeded', { status: 400 });
    const describedBefore = callsTo('DescribeImages');
    const initiatedBefore = callsTo('InitiateLayerUpload');
    const faults = [aws.faults.failNth('ecr:DescribeImages', 1, throttled()), aws.faults.failNth('ecr:InitiateLayerUpload', 1, throttled())];

    // Act
    const described = await retry(ctx, DEFAULT_RETRY, 'DescribeImages', () => describeImages(ctx, 'team/retries'), { retryable: retriedBeyondSdk('DescribeImages') });
    const initiated = await retry(ctx, DEFAULT_RETRY, 'InitiateLayerUpload', () => initiateLayerUpload(ctx, 'team/retries'), { retryable: retriedBeyondSdk('InitiateLayerUpload') });
    for (const f of faults) f.remove();

    // Assess
    expect(described._unsafeUnwrapErr()).toMatchObject({ kind: 'Throttled', operation: 'DescribeImages' });
    expect(callsTo('DescribeImages') - describedBefore).toBe(1);
    expect(initiated.isOk()).toBe(true);
    expect(callsTo('InitiateLayerUpload') - initiatedBefore).toBe(2);
  });

  it('the registry gives the clients it creates the retryMode and maxAttempts it was given', async () => {
    // Prepare
    const registry = new EncryptedRegistry({ clientConfig: { ...aws.clientConfig(), retryMode: 'adaptive', maxAttempts: 2 } });
    const before = aws.inspect.calls({ service: 'ecr', operation: 'DescribeRepositories' }).length;
    const fault = aws.faults.serverError({ operation: 'ecr:DescribeRepositories' });

    // Act
    const result = await registry.deleteRepository({ repositoryName: 'team/retries' });
    fault.remove();
    const { context } = registry as unknown as { readonly context: RegistryContext };
    const strategies = await Promise.all([context.ecr, context.kms, context.iam, context.sts].map((c) => c.config.retryStrategy()));
    registry.destroy();

    // Assess: two HTTP attempts of the first call, and the repository is still there.
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AwsServiceError', operation: 'DescribeRepositories' });
    expect(aws.inspect.calls({ service: 'ecr', operation: 'DescribeRepositories' }).length - before).toBe(2);
    for (const strategy of strategies) expect(strategy).toMatchObject({ mode: 'adaptive' });
  });
});
