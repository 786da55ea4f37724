import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, KmsException } from '@aws-sdk/client-ecr';
import { DisableKeyCommand, EnableKeyCommand, KMSClient, CreateKeyCommand, ListGrantsCommand, RevokeGrantCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError, type LocalAws, type PrincipalHandle } from '../../../src/testing/index.js';
import type { CallContext, EcrService, EcrServiceDeps } from '../../../src/testing/emulator/core.js';
import { startLocalAwsWith } from '../../../src/testing/emulator/local-aws.js';

/** A stand-in ECR service: captures the deps the emulator wires, answers one action. */
let deps: EcrServiceDeps;
let stored: unknown = { repositories: 0 };
const fakeEcr = (given: EcrServiceDeps): EcrService => {
  deps = given;
  return {
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    signingName: 'ecr',
    handle: (action, _input, ctx) => {
      if (action === 'DescribeRepositories') return { repositories: [{ repositoryName: 'routed', repositoryArn: ctx.principal.arn }] };
      if (action === 'CreateRepository') throw new ApiError('KmsException', 'KMS refused', { fields: { kmsError: 'DisabledException' } });
      throw new ApiError('UnknownOperationException', `no ${action}`);
    },
    routes: [],
    inspect: { repositories: () => [], storedObjects: () => [] },
    snapshot: () => stored,
    restore: (snapshot) => {
      stored = snapshot;
    },
  };
};

const repoArn = 'arn:aws:ecr:us-east-1:111122223333:repository/app';
const context = { 'aws:ecr:arn': repoArn, 'aws:s3:arn': 'arn:aws:s3:::us-east-1-starport-layer-bucket/x/sha256:00' };
let aws: LocalAws;
let kms: KMSClient;
const asCaller = (who: PrincipalHandle): CallContext => ({
  region: 'us-east-1',
  requestId: 'test',
  viaService: 'ecr.us-east-1.amazonaws.com',
  principal: { arn: who.arn, account: who.account, userId: who.userId, type: 'user', accessKeyId: who.credentials.accessKeyId },
});
const ecrGrant = (keyArn: string) => ({
  keyArn,
  granteePrincipal: 'ecr.us-east-1.amazonaws.com',
  retiringPrincipal: 'ecr.us-east-1.amazonaws.com',
  operations: ['GenerateDataKey', 'Decrypt'],
  encryptionContextSubset: { 'aws:ecr:arn': repoArn },
});

beforeAll(async () => {
  aws = await startLocalAwsWith({ ecr: { onGrantRetireFailure: 'succeed' } }, { ecrFactory: fakeEcr });
  kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
});
afterAll(() => aws.stop());

describe('ECR wiring', () => {
  it('routes ECR JSON calls to the service built by the factory, with the deps it needs', async () => {
    expect(deps.onGrantRetireFailure).toBe('succeed');
    // The deprecated option is an alias of the variant.
    expect(deps.awsVariants?.deleteWhenRetireFails).toBe('silent');
    expect(aws.variants.deleteWhenRetireFails).toBe('silent');
    expect(deps.baseUrl()).toBe(aws.endpoint);
    expect(aws.inspect.ecr).toBeDefined();
    const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
    const { repositories } = await ecr.send(new DescribeRepositoriesCommand({}));
    expect(repositories).toEqual([{ repositoryName: 'routed', repositoryArn: aws.principals.default.arn }]);
    // ApiError fields become the modeled exception's members.
    const error = await ecr.send(new CreateRepositoryCommand({ repositoryName: 'app' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KmsException);
    expect(error).toMatchObject({ kmsError: 'DisabledException', message: 'KMS refused' });
  });
});

describe('KmsForEcr', () => {
  it('describes aws/ecr as the caller through ECR, creating it, even for a caller without KMS permissions', () => {
    const pusher = aws.principals.createUser('pusher', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] }] });
    const info = deps.kms.describeKey(asCaller(pusher), 'alias/aws/ecr');
    expect(info).toMatchObject({ keyManager: 'AWS', state: 'Enabled', spec: 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT', region: 'us-east-1' });
    expect(aws.inspect.calls({ operation: 'DescribeKey' }).at(-1)).toMatchObject({ service: 'kms', principal: pusher.arn, viaService: 'ecr.us-east-1.amazonaws.com' });
    // The managed key's policy allows use only through ECR.
    const { viaService: _via, ...direct } = asCaller(pusher);
    expect(() => deps.kms.describeKey(direct, 'alias/aws/ecr')).toThrow(/not authorized/);
  });

  it('creates grants as the caller, and generates and decrypts data keys as ECR only through a live grant', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const keyArn = KeyMetadata!.Arn!;
    const admin = asCaller(aws.principals.default);
    expect(() => deps.kms.generateDataKey('us-east-1', keyArn, context)).toThrow(/no grant allows it/);
    const { grantId } = deps.kms.createGrant(admin, ecrGrant(keyArn));
    const listed = await kms.send(new ListGrantsCommand({ KeyId: keyArn }));
    expect(listed.Grants![0]).toMatchObject({ GrantId: grantId, GranteePrincipal: 'ecr.us-east-1.amazonaws.com', Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repoArn } } });

    const dataKey = deps.kms.generateDataKey('us-east-1', keyArn, context);
    expect(dataKey.plaintext).toHaveLength(32);
    expect(deps.kms.decrypt('us-east-1', keyArn, dataKey.ciphertextBlob, context).equals(dataKey.plaintext)).toBe(true);
    // Another repository's context does not satisfy the grant's constraint.
    expect(() => deps.kms.generateDataKey('us-east-1', keyArn, { 'aws:ecr:arn': `${repoArn}-other` })).toThrow(ApiError);

    await kms.send(new DisableKeyCommand({ KeyId: keyArn }));
    expect(() => deps.kms.decrypt('us-east-1', keyArn, dataKey.ciphertextBlob, context)).toThrow(expect.objectContaining({ code: 'DisabledException' }) as Error);
    await kms.send(new EnableKeyCommand({ KeyId: keyArn }));

    await kms.send(new RevokeGrantCommand({ KeyId: keyArn, GrantId: grantId }));
    expect(() => deps.kms.decrypt('us-east-1', keyArn, dataKey.ciphertextBlob, context)).toThrow(expect.objectContaining({ code: 'AccessDeniedException' }) as Error);
  });

  it('retires grants as the caller only with kms:RetireGrant in an IAM policy', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const keyArn = KeyMetadata!.Arn!;
    const admin = asCaller(aws.principals.default);
    const first = deps.kms.createGrant(admin, ecrGrant(keyArn));
    const deleter = aws.principals.createUser('deleter', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'ecr:DeleteRepository', Resource: '*' }] }] });
    expect(() => deps.kms.retireGrant(asCaller(deleter), keyArn, first.grantId)).toThrow(expect.objectContaining({ code: 'AccessDeniedException' }) as Error);
    aws.principals.setPolicies(deleter.arn, [{ Statement: [{ Effect: 'Allow', Action: ['ecr:DeleteRepository', 'kms:RetireGrant'], Resource: '*' }] }]);
    deps.kms.retireGrant(asCaller(deleter), keyArn, first.grantId);
    expect(aws.inspect.grants(keyArn)[0]).toMatchObject({ retired: true, retiredBy: 'RetireGrant' });
    expect(() => deps.kms.retireGrant(asCaller(deleter), keyArn, first.grantId)).toThrow(expect.objectContaining({ code: 'NotFoundException' }) as Error);
  });
});
