/**
 * Waiting is injectable (issue 13): a user's test hands the registry mocked clients and an instant
 * clock, and no operation spends minutes polling for grants that mocks never change. ListGrants
 * never shows ECR's grants here, so every grant wait runs to its bound: with the default clock
 * that bound is two minutes of real time per wait.
 */
import {
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  GetRepositoryPolicyCommand,
  ListImagesCommand,
  type Repository,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
} from '@aws-sdk/client-ecr';
import { IAMClient, SimulatePrincipalPolicyCommand, type SimulatePrincipalPolicyCommandInput } from '@aws-sdk/client-iam';
import { DescribeKeyCommand, GetKeyPolicyCommand, KMSClient, ListGrantsCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';

const REGION = 'eu-west-1';
const ACCOUNT = '111122223333';
const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const NAME = 'team/app';

/** Four mocked clients on the happy path, except that ListGrants never shows a grant. */
const mockedClients = () => {
  const clients = {
    ecr: new ECRClient({ region: REGION }),
    kms: new KMSClient({ region: REGION }),
    iam: new IAMClient({ region: REGION }),
    sts: new STSClient({ region: REGION }),
  };
  const ecr = mockClient(clients.ecr);
  const kms = mockClient(clients.kms);
  const iam = mockClient(clients.iam);
  const sts = mockClient(clients.sts);
  let repository: Repository | undefined;
  const notFound = () => new RepositoryNotFoundException({ message: `The repository with name '${NAME}' does not exist`, $metadata: {} });
  ecr.on(DescribeRepositoriesCommand).callsFake(() => (repository ? { repositories: [repository] } : Promise.reject(notFound())));
  ecr.on(CreateRepositoryCommand).callsFake(() => {
    repository = {
      repositoryName: NAME,
      repositoryArn: `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${NAME}`,
      repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${NAME}`,
      registryId: ACCOUNT,
      createdAt: new Date(),
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: KEY_ARN },
    };
    return { repository };
  });
  ecr.on(DeleteRepositoryCommand).callsFake(() => {
    const deleted = repository;
    repository = undefined;
    return deleted ? { repository: deleted } : Promise.reject(notFound());
  });
  ecr.on(ListImagesCommand).resolves({ imageIds: [] });
  ecr.on(GetRepositoryPolicyCommand).rejects(new RepositoryPolicyNotFoundException({ message: 'no policy', $metadata: {} }));
  kms.on(DescribeKeyCommand).resolves({
    KeyMetadata: {
      KeyId: '1234abcd-12ab-34cd-56ef-1234567890ab',
      Arn: KEY_ARN,
      AWSAccountId: ACCOUNT,
      KeyState: 'Enabled',
      Enabled: true,
      KeyUsage: 'ENCRYPT_DECRYPT',
      KeySpec: 'SYMMETRIC_DEFAULT',
      KeyManager: 'CUSTOMER',
    },
  });
  kms.on(GetKeyPolicyCommand).resolves({
    PolicyName: 'default',
    Policy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
    }),
  });
  kms.on(ListGrantsCommand).resolves({ Grants: [], Truncated: false });
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/dev`, UserId: 'AIDAEXAMPLE' });
  iam.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
    EvaluationResults: (input.ActionNames ?? []).map((action) => ({ EvalActionName: action, EvalResourceName: '*', EvalDecision: 'allowed' })),
    IsTruncated: false,
  }));
  return { clients, kms };
};

/** The clock of the TSDoc example: every wait is instant. */
const instant = { sleep: () => Promise.resolve(), now: () => new Date() };

describe('an instant clock', () => {
  it('lets create and delete reach their bounds at once against mocks whose ListGrants never shows the grants', async () => {
    // Prepare
    const { clients, kms } = mockedClients();
    const registry = new EncryptedRegistry({ clients, clock: instant });

    // Act
    const created = await registry.createEncryptedRepository({ repositoryName: NAME, encryption: { type: 'KMS', key: KEY_ARN } });
    const deleted = await registry.deleteRepository({ repositoryName: NAME });

    // Assess: the documented outcomes of grants that never show, reached at once (a wait bounded by
    // real time instead of the pauses it took would spin until the test's timeout).
    const repository = created._unsafeUnwrap();
    expect(repository).toMatchObject({ created: true, grants: [] });
    expect(repository.warnings).toEqual(expect.arrayContaining([expect.objectContaining({ check: 'grants', severity: 'warning' })]));
    expect(deleted._unsafeUnwrap()).toMatchObject({
      verified: false,
      grantsIdentified: [],
      grantsUnverifiable: { reasons: ['fewer-grants-than-documented'] },
    });
    // Every wait ran to its bound, its pauses counted as time passed: ListGrants was polled many
    // times, not once, and about as often as the default poll's pauses allow within two minutes
    // (500 ms doubling to 15 s: 13 pauses per wait), not in a spin.
    expect(kms.commandCalls(ListGrantsCommand).length).toBeGreaterThan(10);
    expect(kms.commandCalls(ListGrantsCommand).length).toBeLessThan(100);
  });

  it('is what every pause goes through: the poll\'s pauses are handed to clock.sleep', async () => {
    // Prepare
    const { clients } = mockedClients();
    const slept: number[] = [];
    const recording = { sleep: (ms: number) => Promise.resolve(void slept.push(ms)), now: () => new Date() };
    const registry = new EncryptedRegistry({ clients, clock: recording, poll: { initialDelayMs: 100, maxDelayMs: 400, timeoutMs: 1000 } });

    // Act
    await registry.createEncryptedRepository({ repositoryName: NAME, encryption: { type: 'KMS', key: KEY_ARN } });

    // Assess: the poll's pauses, and nothing slept outside the clock.
    expect(slept).toEqual([100, 200, 400]);
  });
});
