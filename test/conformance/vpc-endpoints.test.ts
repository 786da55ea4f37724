import { CreateRepositoryCommand, DeleteRepositoryCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/policy/types.js';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const API = 'vpce-ecr-api';
const KMS = 'vpce-kms';

/** Only ECR actions on this account's repositories, as an `ecr.api` endpoint policy might say. */
const ECR_ONLY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: '*', Action: 'ecr:*', Resource: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/*` },
    { Effect: 'Allow', Principal: '*', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
  ],
};

describe('emulated VPC endpoints', () => {
  let aws: LocalAws;
  const clients: { destroy(): void }[] = [];
  const track = <C extends { destroy(): void }>(client: C): C => {
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    aws = await startLocalAws({
      regions: [REGION],
      vpcEndpoints: { [API]: { service: 'ecr.api', policy: ECR_ONLY, vpcId: 'vpc-0a1b2c3d' }, [KMS]: { service: 'kms' } },
    });
  });
  afterAll(async () => {
    for (const client of clients) client.destroy();
    await aws.stop();
  });

  it('listens on a port of its own per endpoint, and lists them', () => {
    // Act
    const endpoints = aws.network.endpoints();

    // Assess
    expect(endpoints.map((e) => [e.id, e.service, e.vpcId])).toEqual([
      [API, 'ecr.api', 'vpc-0a1b2c3d'],
      [KMS, 'kms', undefined],
    ]);
    const urls = [aws.endpoint, ...endpoints.map((e) => e.url)];
    expect(new Set(urls).size).toBe(3);
    for (const url of urls) expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(aws.clientConfig({ vpcEndpoint: API }).endpoint).toBe(aws.network.endpointFor(API));
  });

  it('authorizes calls through an endpoint with its policy; the same calls sent directly are not', async () => {
    // Prepare
    const kmsDirect = track(new KMSClient(aws.clientConfig()));
    const kmsThrough = track(new KMSClient(aws.clientConfig({ vpcEndpoint: KMS })));
    aws.network.setEndpointPolicy(KMS, { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: '*', Action: 'kms:CreateKey', Resource: '*' }, { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] });

    // Act
    const through = await kmsThrough.send(new CreateKeyCommand({})).catch((e: unknown) => e);
    const direct = await kmsDirect.send(new CreateKeyCommand({}));
    aws.network.setEndpointPolicy(KMS, undefined);
    const afterReset = await kmsThrough.send(new CreateKeyCommand({}));

    // Assess
    expect(through).toMatchObject({ name: 'AccessDeniedException' });
    expect((through as Error).message).toContain('with an explicit deny');
    expect(direct.KeyMetadata?.KeyId).toBeDefined();
    expect(afterReset.KeyMetadata?.KeyId).toBeDefined();
  });

  it('sets aws:SourceVpce and aws:SourceVpc for policies to test', async () => {
    // Prepare: a user allowed ECR only from the endpoint's VPC.
    const user = aws.principals.createUser('vpc-only', {
      policies: [
        {
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'ecr:DescribeRepositories', Resource: '*', Condition: { StringEquals: { 'aws:SourceVpce': API, 'aws:SourceVpc': 'vpc-0a1b2c3d' } } }],
        },
      ],
    });
    const through = track(new ECRClient({ ...aws.clientConfig({ credentials: user.credentials, vpcEndpoint: API }), maxAttempts: 1 }));
    const direct = track(new ECRClient({ ...aws.clientConfig({ credentials: user.credentials }), maxAttempts: 1 }));

    // Act
    const allowed = await through.send(new DescribeRepositoriesCommand({}));
    const denied = await direct.send(new DescribeRepositoriesCommand({})).catch((e: unknown) => e);

    // Assess
    expect(allowed.repositories).toBeDefined();
    expect(denied).toMatchObject({ name: 'AccessDeniedException' });
  });

  it('does not apply the ECR endpoint\'s policy to the KMS calls ECR makes on the caller\'s behalf', async () => {
    // Prepare: ECR_ONLY allows no kms:* action, nor any key ARN.
    const kms = track(new KMSClient(aws.clientConfig()));
    const key = await kms.send(new CreateKeyCommand({}));
    const keyArn = key.KeyMetadata?.Arn ?? '';
    const ecr = track(new ECRClient({ ...aws.clientConfig({ vpcEndpoint: API }), maxAttempts: 1 }));

    // Act
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'through/kms', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyArn } }));
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'through/kms' }));

    // Assess: the grants were created, then retired, as the caller through ECR.
    const grants = aws.inspect.grants(keyArn);
    expect(grants).toHaveLength(2);
    expect(grants.every((g) => g.retiredAt !== undefined)).toBe(true);
    const kmsCalls = aws.inspect.calls({ service: 'kms' }).filter((c) => c.viaService !== undefined);
    expect(kmsCalls.map((c) => c.operation)).toEqual(expect.arrayContaining(['CreateGrant', 'RetireGrant']));
    expect(kmsCalls.every((c) => c.status === 200)).toBe(true);
    expect(kmsCalls.some((c) => c.sourceVpce !== undefined)).toBe(false);
    const ecrCalls = aws.inspect.calls({ service: 'ecr' }).filter((c) => c.operation === 'CreateRepository' || c.operation === 'DeleteRepository');
    expect(ecrCalls.map((c) => c.sourceVpce)).toEqual([API, API]);
  });

  it('answers only its own service', async () => {
    // Prepare
    const kmsAtEcrEndpoint = track(new KMSClient({ ...aws.clientConfig({ vpcEndpoint: API }), maxAttempts: 1 }));
    const stsAtEcrEndpoint = track(new STSClient({ ...aws.clientConfig({ vpcEndpoint: API }), maxAttempts: 1 }));

    // Act
    const kmsError = await kmsAtEcrEndpoint.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ecr' })).catch((e: unknown) => e);
    const stsError = await stsAtEcrEndpoint.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);

    // Assess
    expect(kmsError).toMatchObject({ name: 'UnknownOperationException' });
    expect((kmsError as Error).message).toContain(`VPC endpoint ${API} serves ecr, not kms`);
    expect((stsError as Error).message).toContain(`VPC endpoint ${API} serves ecr, not sts`);
  });

  it('keeps its port across restart', async () => {
    // Prepare
    const before = aws.network.endpointFor(API);

    // Act
    await aws.restart();
    const ecr = track(new ECRClient({ ...aws.clientConfig({ vpcEndpoint: API }), maxAttempts: 1 }));

    // Assess
    expect(aws.network.endpointFor(API)).toBe(before);
    await expect(ecr.send(new DescribeRepositoriesCommand({}))).resolves.toBeDefined();
  });

  it('refuses an unknown endpoint id, and a malformed one at start', async () => {
    // Act / Assess
    expect(() => aws.network.endpointFor('vpce-nope')).toThrow(/no VPC endpoint vpce-nope/);
    expect(() => aws.clientConfig({ vpcEndpoint: 'vpce-nope' })).toThrow(/no VPC endpoint vpce-nope/);
    await expect(startLocalAws({ vpcEndpoints: { 'endpoint-1': { service: 'ecr.api' } } })).rejects.toThrow(/not a VPC endpoint id/);
  });
});
