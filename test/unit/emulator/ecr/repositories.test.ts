import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EcrGrantRequest } from '../../../../src/testing/emulator/core.js';
import { ECR_GRANT_OPERATIONS } from '../../../../src/testing/emulator/ecr/index.js';
import { ACCOUNT, apiError, createWorld, ctxFor, imageManifest, putImage, REGION, type World } from './helpers.js';

const arnOf = (name: string): string => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${name}`;

interface RepositoryShape {
  repositoryArn: string;
  registryId: string;
  repositoryName: string;
  repositoryUri: string;
  createdAt: number;
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters?: unknown[];
  imageScanningConfiguration: { scanOnPush: boolean };
  encryptionConfiguration: { encryptionType: string; kmsKey?: string };
}

describe('ECR repositories', () => {
  let world: World;
  beforeEach(() => {
    world = createWorld();
  });
  afterEach(() => world.cleanup());

  const create = (input: Record<string, unknown>): RepositoryShape =>
    (world.call('CreateRepository', input) as { repository: RepositoryShape }).repository;

  describe('CreateRepository', () => {
    it('creates an AES256 repository with the documented shape', () => {
      const repository = create({ repositoryName: 'team/app' });
      expect(repository).toEqual({
        repositoryArn: arnOf('team/app'),
        registryId: ACCOUNT,
        repositoryName: 'team/app',
        repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/team/app`,
        createdAt: world.clock.ms / 1000,
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: false },
        encryptionConfiguration: { encryptionType: 'AES256' },
      });
      expect(world.kms.calls).toEqual([]);
    });

    it('validates names against the model pattern and length', () => {
      for (const name of ['a', 'App', 'app--', '-app', 'a//b', 'a/', `${'a'.repeat(257)}`]) {
        apiError(() => create({ repositoryName: name }), 'InvalidParameterException');
      }
      for (const name of ['ab', '1app', 'a.b_c__d---e/f', 'x'.repeat(256)]) {
        expect(create({ repositoryName: name }).repositoryName).toBe(name);
      }
      apiError(() => create({}), 'InvalidParameterException');
    });

    it('refuses a duplicate name', () => {
      create({ repositoryName: 'app' });
      const error = apiError(() => create({ repositoryName: 'app' }), 'RepositoryAlreadyExistsException');
      expect(error.message).toContain("'app'");
    });

    it('keeps repositories of each region and account apart', () => {
      create({ repositoryName: 'app' });
      const other = ctxFor({ region: 'us-east-1' });
      expect(() => world.call('CreateRepository', { repositoryName: 'app' }, other)).not.toThrow();
      expect(world.ecr.inspect.repositories().map((r) => r.region)).toEqual([REGION, 'us-east-1']);
      expect(world.ecr.inspect.repositories('us-east-1')).toHaveLength(1);
    });

    it('checks tags: limit, reserved prefix, lengths; authorizes TagResource too', () => {
      const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${String(i)}`, Value: 'v' }));
      apiError(() => create({ repositoryName: 'app', tags }), 'TooManyTagsException');
      apiError(() => create({ repositoryName: 'app', tags: [{ Key: 'aws:x', Value: 'v' }] }), 'InvalidTagParameterException');
      apiError(() => create({ repositoryName: 'app', tags: [{ Key: 'k'.repeat(129), Value: 'v' }] }), 'InvalidTagParameterException');
      expect(world.ecr.inspect.repositories()).toEqual([]);
      create({ repositoryName: 'app', tags: [{ Key: 'team', Value: 'a' }] });
      expect(world.authorizer.calls.map((c) => c.action)).toContain('ecr:TagResource');
      expect(world.call('ListTagsForResource', { resourceArn: arnOf('app') })).toEqual({ tags: [{ Key: 'team', Value: 'a' }] });
    });

    it('enforces the exclusion-filter compatibility rule', () => {
      const filters = [{ filterType: 'WILDCARD', filter: 'latest*' }];
      apiError(() => create({ repositoryName: 'a1', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION' }), 'InvalidParameterException');
      apiError(
        () => create({ repositoryName: 'a1', imageTagMutability: 'IMMUTABLE', imageTagMutabilityExclusionFilters: filters }),
        'InvalidParameterException',
      );
      apiError(
        () => create({ repositoryName: 'a1', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: Array(6).fill(filters[0]) }),
        'InvalidParameterException',
      );
      apiError(
        () => create({ repositoryName: 'a1', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'a b' }] }),
        'InvalidParameterException',
      );
      apiError(() => create({ repositoryName: 'a1', imageTagMutability: 'FROZEN' }), 'InvalidParameterException');
      const repository = create({
        repositoryName: 'a1',
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: filters,
        imageScanningConfiguration: { scanOnPush: true },
      });
      expect(repository).toMatchObject({
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: filters,
        imageScanningConfiguration: { scanOnPush: true },
      });
    });

    it('refuses kmsKey with AES256', () => {
      const key = world.kms.addKey();
      apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'AES256', kmsKey: key.arn } }), 'InvalidParameterException');
    });
  });

  describe('CreateRepository with KMS', () => {
    it.each([
      ['key id', (key: { keyId: string }) => key.keyId],
      ['key ARN', (key: { arn: string }) => key.arn],
      ['alias name', () => 'alias/app'],
      ['alias ARN', () => `arn:aws:kms:${REGION}:${ACCOUNT}:alias/app`],
    ])('resolves the key given as %s and echoes its ARN', (_label, ref) => {
      const key = world.kms.addKey({ alias: 'alias/app' });
      const repository = create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: ref(key) } });
      expect(repository.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: key.arn });
    });

    it('describes the key and creates two grants as the caller via ECR', () => {
      const key = world.kms.addKey();
      const caller = ctxFor();
      world.call('CreateRepository', { repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }, caller);
      expect(world.kms.calls.map((c) => c.operation)).toEqual(['describeKey', 'createGrant', 'createGrant']);
      for (const call of world.kms.calls) {
        expect(call.ctx?.principal).toEqual(caller.principal);
        expect(call.ctx?.viaService).toBe(`ecr.${REGION}.amazonaws.com`);
      }
      const requests = world.kms.callsOf('createGrant').map((c) => c.args[0] as EcrGrantRequest);
      expect(requests[0]).toEqual({
        keyArn: key.arn,
        granteePrincipal: `ecr.${REGION}.amazonaws.com`,
        retiringPrincipal: `ecr.${REGION}.amazonaws.com`,
        operations: ['GenerateDataKey', 'Decrypt'],
        encryptionContextSubset: { 'aws:ecr:arn': arnOf('app') },
      });
      expect(requests[1]).toMatchObject({ operations: ECR_GRANT_OPERATIONS[1], encryptionContextSubset: { 'aws:ecr:arn': arnOf('app') } });
      expect(world.ecr.inspect.repositories()[0]).toMatchObject({ encryptionType: 'KMS', kmsKey: key.arn, imageCount: 0 });
    });

    it.each(['KMS', 'KMS_DSSE'])('uses alias/aws/ecr for %s without a key, creating it on first use', (encryptionType) => {
      const repository = create({ repositoryName: 'app', encryptionConfiguration: { encryptionType } });
      expect(world.kms.callsOf('describeKey')[0]?.args).toEqual(['alias/aws/ecr']);
      const managed = [...world.kms.keys.values()].find((k) => k.keyManager === 'AWS');
      expect(repository.encryptionConfiguration).toEqual({ encryptionType, kmsKey: managed?.arn });
    });

    it.each([
      ['Disabled', 'DisabledException'],
      ['PendingDeletion', 'KMSInvalidStateException'],
      ['PendingImport', 'KMSInvalidStateException'],
    ])('refuses a %s key with KmsException(%s) and creates nothing', (state, kmsError) => {
      const key = world.kms.addKey({ state });
      const error = apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }), 'KmsException');
      expect(error.fields).toEqual({ kmsError });
      expect(world.kms.callsOf('createGrant')).toEqual([]);
      expect(world.ecr.inspect.repositories()).toEqual([]);
    });

    it('refuses a key of another region, an asymmetric key and an unknown key', () => {
      const elsewhere = world.kms.addKey({ region: 'us-east-1' });
      expect(apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: elsewhere.arn } }), 'KmsException').fields)
        .toEqual({ kmsError: 'NotFoundException' });
      const rsa = world.kms.addKey({ spec: 'RSA_2048', usage: 'SIGN_VERIFY' });
      expect(apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: rsa.arn } }), 'KmsException').fields)
        .toEqual({ kmsError: 'InvalidKeyUsageException' });
      expect(apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/none' } }), 'KmsException').fields)
        .toEqual({ kmsError: 'NotFoundException' });
      expect(world.ecr.inspect.repositories()).toEqual([]);
    });

    it('wraps a refused DescribeKey', () => {
      const key = world.kms.addKey();
      world.kms.fail('describeKey', 'AccessDeniedException');
      const error = apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }), 'KmsException');
      expect(error.fields).toEqual({ kmsError: 'AccessDeniedException' });
    });

    it('retires the first grant when the second cannot be created', () => {
      const key = world.kms.addKey();
      world.kms.fail('createGrant', 'LimitExceededException', 1);
      const error = apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }), 'KmsException');
      expect(error.fields).toEqual({ kmsError: 'LimitExceededException' });
      expect(world.kms.grants).toHaveLength(1);
      expect(world.kms.grants[0]?.retired).toBe(true);
      expect(world.kms.callsOf('retireGrant')[0]?.ctx?.viaService).toBe(`ecr.${REGION}.amazonaws.com`);
      expect(world.ecr.inspect.repositories()).toEqual([]);
    });
  });

  describe('DescribeRepositories', () => {
    it('describes by name, pages through all, and reports unknown names', () => {
      for (const name of ['r1', 'r2', 'r3', '12']) create({ repositoryName: name });
      const byName = world.call('DescribeRepositories', { repositoryNames: ['r2'] }) as { repositories: RepositoryShape[] };
      expect(byName.repositories.map((r) => r.repositoryName)).toEqual(['r2']);
      apiError(() => world.call('DescribeRepositories', { repositoryNames: ['r2', 'nope'] }), 'RepositoryNotFoundException');
      apiError(() => world.call('DescribeRepositories', { repositoryNames: ['r2'], maxResults: 1 }), 'InvalidParameterException');
      apiError(() => world.call('DescribeRepositories', { maxResults: 0 }), 'InvalidParameterException');
      apiError(() => world.call('DescribeRepositories', { maxResults: 1001 }), 'InvalidParameterException');

      const names: string[] = [];
      let nextToken: string | undefined;
      let pages = 0;
      do {
        const result = world.call('DescribeRepositories', { maxResults: 3, ...(nextToken === undefined ? {} : { nextToken }) }) as {
          repositories: RepositoryShape[];
          nextToken?: string;
        };
        names.push(...result.repositories.map((r) => r.repositoryName));
        nextToken = result.nextToken;
        pages += 1;
      } while (nextToken !== undefined);
      expect(names).toEqual(['r1', 'r2', 'r3', '12']);
      expect(pages).toBe(2);
      apiError(() => world.call('DescribeRepositories', { nextToken: 'garbage' }), 'InvalidParameterException');
    });
  });

  describe('DeleteRepository', () => {
    it('refuses a repository with images unless forced, and reports unknown ones', () => {
      create({ repositoryName: 'app' });
      putImage(world, 'app', imageManifest(world, 'app', 'one'), 'v1');
      apiError(() => world.call('DeleteRepository', { repositoryName: 'app' }), 'RepositoryNotEmptyException');
      const result = world.call('DeleteRepository', { repositoryName: 'app', force: true }) as { repository: RepositoryShape };
      expect(result.repository.repositoryName).toBe('app');
      expect(world.ecr.inspect.repositories()).toEqual([]);
      expect(world.ecr.inspect.storedObjects()).toEqual([]);
      apiError(() => world.call('DeleteRepository', { repositoryName: 'app' }), 'RepositoryNotFoundException');
    });

    it('retires both grants as the caller', () => {
      const key = world.kms.addKey();
      create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } });
      const deleter = ctxFor({ principal: { ...ctxFor().principal, arn: `arn:aws:iam::${ACCOUNT}:user/ops` } });
      world.call('DeleteRepository', { repositoryName: 'app' }, deleter);
      const retires = world.kms.callsOf('retireGrant');
      expect(retires).toHaveLength(2);
      for (const call of retires) {
        expect(call.ctx?.principal.arn).toBe(`arn:aws:iam::${ACCOUNT}:user/ops`);
        expect(call.ctx?.viaService).toBe(`ecr.${REGION}.amazonaws.com`);
      }
      expect(world.kms.grants.every((g) => g.retired)).toBe(true);
    });

    it('deletes but answers KmsException when the grants cannot be retired (default)', () => {
      const key = world.kms.addKey();
      create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } });
      world.kms.fail('retireGrant', 'AccessDeniedException');
      const error = apiError(() => world.call('DeleteRepository', { repositoryName: 'app' }), 'KmsException');
      expect(error.fields).toEqual({ kmsError: 'AccessDeniedException' });
      expect(error.message).toBe(
        `The repository [app] has been deleted successfully but the grants created by the kmsKey [${key.arn}] failed to be retired`,
      );
      expect(world.ecr.inspect.repositories()).toEqual([]);
      expect(world.kms.grants.filter((g) => !g.retired)).toHaveLength(2);
    });

    it("succeeds when told to, leaving the grants", () => {
      const quiet = createWorld({ onGrantRetireFailure: 'succeed' });
      try {
        const key = quiet.kms.addKey();
        quiet.call('CreateRepository', { repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } });
        quiet.kms.fail('retireGrant', 'AccessDeniedException');
        expect(() => quiet.call('DeleteRepository', { repositoryName: 'app' })).not.toThrow();
        expect(quiet.ecr.inspect.repositories()).toEqual([]);
        expect(quiet.kms.grants.filter((g) => !g.retired)).toHaveLength(2);
      } finally {
        quiet.cleanup();
      }
    });

    it('lets a new repository of the same name start empty', () => {
      create({ repositoryName: 'app' });
      putImage(world, 'app', imageManifest(world, 'app', 'one'), 'v1');
      world.call('DeleteRepository', { repositoryName: 'app', force: true });
      create({ repositoryName: 'app' });
      expect(world.call('ListImages', { repositoryName: 'app' })).toEqual({ imageIds: [] });
      expect(world.ecr.inspect.storedObjects()).toEqual([]);
    });
  });

  describe('policies and settings', () => {
    beforeEach(() => {
      create({ repositoryName: 'app' });
    });
    const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }] });

    it('sets, gets and deletes the repository policy', () => {
      apiError(() => world.call('GetRepositoryPolicy', { repositoryName: 'app' }), 'RepositoryPolicyNotFoundException');
      apiError(() => world.call('DeleteRepositoryPolicy', { repositoryName: 'app' }), 'RepositoryPolicyNotFoundException');
      apiError(() => world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: '{nope' }), 'InvalidParameterException');
      apiError(() => world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: 'x'.repeat(10241) }), 'InvalidParameterException');
      const expected = { registryId: ACCOUNT, repositoryName: 'app', policyText: policy };
      expect(world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: policy })).toEqual(expected);
      expect(world.call('GetRepositoryPolicy', { repositoryName: 'app' })).toEqual(expected);
      expect(world.call('DeleteRepositoryPolicy', { repositoryName: 'app' })).toEqual(expected);
      apiError(() => world.call('GetRepositoryPolicy', { repositoryName: 'app' }), 'RepositoryPolicyNotFoundException');
    });

    it('passes the repository policy to the authorizer', () => {
      world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: policy });
      world.authorizer.calls.length = 0;
      world.call('ListImages', { repositoryName: 'app' });
      expect(world.authorizer.calls).toEqual([
        expect.objectContaining({ action: 'ecr:ListImages', resource: arnOf('app'), options: { resourcePolicy: JSON.parse(policy) as unknown } }),
      ]);
    });

    it('needs force for a policy that would lock the caller out', () => {
      world.authorizer.deny = (call) => call.action === 'ecr:SetRepositoryPolicy' && call.options?.resourcePolicy !== undefined;
      apiError(() => world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: policy }), 'InvalidParameterException');
      expect(() => world.call('SetRepositoryPolicy', { repositoryName: 'app', policyText: policy, force: true })).not.toThrow();
    });

    it('puts, gets and deletes the lifecycle policy', () => {
      const text = JSON.stringify({
        rules: [{ rulePriority: 1, description: 'expire old', selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }],
      });
      apiError(() => world.call('GetLifecyclePolicy', { repositoryName: 'app' }), 'LifecyclePolicyNotFoundException');
      apiError(() => world.call('PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: '{"rules":[]}' }), 'InvalidParameterException');
      apiError(() => world.call('PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: `{"x":"${'a'.repeat(120)}"}` }), 'InvalidParameterException');
      const expected = { registryId: ACCOUNT, repositoryName: 'app', lifecyclePolicyText: text };
      expect(world.call('PutLifecyclePolicy', { repositoryName: 'app', lifecyclePolicyText: text })).toEqual(expected);
      expect(world.call('GetLifecyclePolicy', { repositoryName: 'app' })).toEqual(expected);
      expect(world.call('DeleteLifecyclePolicy', { repositoryName: 'app' })).toEqual(expected);
      apiError(() => world.call('DeleteLifecyclePolicy', { repositoryName: 'app' }), 'LifecyclePolicyNotFoundException');
    });

    it('changes tag mutability and scan-on-push', () => {
      const filters = [{ filterType: 'WILDCARD', filter: 'dev-*' }];
      expect(world.call('PutImageTagMutability', { repositoryName: 'app', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters }))
        .toEqual({ registryId: ACCOUNT, repositoryName: 'app', imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters });
      apiError(() => world.call('PutImageTagMutability', { repositoryName: 'app', imageTagMutability: 'MUTABLE', imageTagMutabilityExclusionFilters: filters }), 'InvalidParameterException');
      apiError(() => world.call('PutImageTagMutability', { repositoryName: 'app' }), 'InvalidParameterException');
      expect(world.call('PutImageScanningConfiguration', { repositoryName: 'app', imageScanningConfiguration: { scanOnPush: true } }))
        .toEqual({ registryId: ACCOUNT, repositoryName: 'app', imageScanningConfiguration: { scanOnPush: true } });
      const [described] = (world.call('DescribeRepositories', { repositoryNames: ['app'] }) as { repositories: RepositoryShape[] }).repositories;
      expect(described).toMatchObject({ imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION', imageTagMutabilityExclusionFilters: filters, imageScanningConfiguration: { scanOnPush: true } });
      expect(world.call('BatchGetRepositoryScanningConfiguration', { repositoryNames: ['app', 'nope'] })).toEqual({
        scanningConfigurations: [{ repositoryArn: arnOf('app'), repositoryName: 'app', scanOnPush: true, scanFrequency: 'SCAN_ON_PUSH', appliedScanFilters: [] }],
        failures: [{ repositoryName: 'nope', failureCode: 'REPOSITORY_NOT_FOUND', failureReason: 'REPOSITORY_NOT_FOUND' }],
      });
    });

    it('tags and untags by ARN', () => {
      world.call('TagResource', { resourceArn: arnOf('app'), tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] });
      world.call('TagResource', { resourceArn: arnOf('app'), tags: [{ Key: 'a', Value: '3' }] });
      world.call('UntagResource', { resourceArn: arnOf('app'), tagKeys: ['b'] });
      expect(world.call('ListTagsForResource', { resourceArn: arnOf('app') })).toEqual({ tags: [{ Key: 'a', Value: '3' }] });
      const many = Array.from({ length: 50 }, (_, i) => ({ Key: `k${String(i)}`, Value: '' }));
      apiError(() => world.call('TagResource', { resourceArn: arnOf('app'), tags: many }), 'TooManyTagsException');
      apiError(() => world.call('TagResource', { resourceArn: arnOf('nope'), tags: [] }), 'RepositoryNotFoundException');
      apiError(() => world.call('TagResource', { resourceArn: 'arn:aws:s3:::bucket', tags: [] }), 'InvalidParameterException');
      apiError(() => world.call('ListTagsForResource', { resourceArn: `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app` }), 'InvalidParameterException');
    });
  });

  describe('registry-level actions', () => {
    it('answers GetAuthorizationToken and the empty registry reads', () => {
      const token = world.call('GetAuthorizationToken', {}) as { authorizationData: { authorizationToken: string; expiresAt: number; proxyEndpoint: string }[] };
      expect(token.authorizationData).toHaveLength(1);
      const data = token.authorizationData[0]!;
      expect(Buffer.from(data.authorizationToken, 'base64').toString('utf8')).toMatch(/^AWS:.+/);
      expect(data.expiresAt).toBe(world.clock.ms / 1000 + 12 * 3600);
      expect(data.proxyEndpoint).toBe(`https://${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`);
      expect(world.call('DescribeRegistry', {})).toEqual({ registryId: ACCOUNT, replicationConfiguration: { rules: [] } });
      expect(world.call('DescribeRepositoryCreationTemplates', {})).toEqual({ registryId: ACCOUNT, repositoryCreationTemplates: [] });
      expect(world.call('DescribePullThroughCacheRules', {})).toEqual({ pullThroughCacheRules: [] });
      apiError(() => world.call('GetRegistryPolicy', {}), 'RegistryPolicyNotFoundException');
      expect(world.authorizer.calls.every((c) => c.resource === '*')).toBe(true);
    });

    it('names an unsupported action', () => {
      const error = apiError(() => world.call('StartImageScan', {}), 'UnknownOperationException');
      expect(error.message).toBe('The emulator does not support ECR StartImageScan');
      apiError(() => world.call('constructor', {}), 'UnknownOperationException');
    });
  });

  describe('authorization', () => {
    it('authorizes every action on the repository ARN before revealing whether it exists', () => {
      world.authorizer.deny = (call) => call.action === 'ecr:DescribeImages';
      apiError(() => world.call('DescribeImages', { repositoryName: 'ghost' }), 'AccessDeniedException');
      apiError(() => world.call('ListImages', { repositoryName: 'ghost' }), 'RepositoryNotFoundException');
      expect(world.authorizer.calls.map((c) => [c.action, c.resource])).toEqual([
        ['ecr:DescribeImages', arnOf('ghost')],
        ['ecr:ListImages', arnOf('ghost')],
      ]);
    });

    it('authorizes listing the whole registry on the wildcard repository ARN', () => {
      world.call('DescribeRepositories', {});
      expect(world.authorizer.calls.at(-1)).toMatchObject({ action: 'ecr:DescribeRepositories', resource: arnOf('*') });
    });

    it('answers wrongly typed members and prototype names as ordinary misses', () => {
      apiError(() => world.call('CreateRepository', { repositoryName: 42 }), 'InvalidParameterException');
      apiError(() => world.call('DescribeRepositories', { maxResults: '5' }), 'InvalidParameterException');
      apiError(() => world.call('DescribeRepositories', { repositoryNames: 'app' }), 'InvalidParameterException');
      apiError(() => world.call('CreateRepository', { repositoryName: 'app', imageScanningConfiguration: { scanOnPush: 'yes' } }), 'InvalidParameterException');
      apiError(() => world.call('DescribeRepositories', { repositoryNames: ['constructor'] }), 'RepositoryNotFoundException');
      create({ repositoryName: 'constructor' });
      expect(world.ecr.inspect.repositories().map((r) => r.repositoryName)).toEqual(['constructor']);
    });

    it('denied creation leaves no repository and makes no KMS call', () => {
      world.authorizer.deny = (call) => call.action === 'ecr:CreateRepository';
      apiError(() => create({ repositoryName: 'app', encryptionConfiguration: { encryptionType: 'KMS' } }), 'AccessDeniedException');
      expect(world.kms.calls).toEqual([]);
      expect(world.ecr.inspect.repositories()).toEqual([]);
    });

    it('addresses another registry with registryId and passes its account', () => {
      apiError(() => world.call('ListImages', { repositoryName: 'app', registryId: '999988887777' }), 'RepositoryNotFoundException');
      expect(world.authorizer.calls.at(-1)).toMatchObject({
        resource: 'arn:aws:ecr:eu-west-1:999988887777:repository/app',
        options: { resourceAccount: '999988887777' },
      });
      apiError(() => world.call('ListImages', { repositoryName: 'app', registryId: '12' }), 'InvalidParameterException');
    });
  });
});
