import {
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ECRServiceException,
  GetRepositoryPolicyCommand,
  KmsException,
  ListImagesCommand,
  type Repository,
  RepositoryNotEmptyException,
  RepositoryNotFoundException,
  RepositoryPolicyNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  DescribeKeyCommand,
  type GrantListEntry,
  KMSClient,
  KMSServiceException,
  ListGrantsCommand,
  type ListGrantsCommandInput,
  NotFoundException,
  RetireGrantCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { deleteRepository } from '../../src/operations/delete-repository.js';
import { fakeContext } from '../fixtures/create-stubs.js';
import { ACCOUNT, ECR_PRINCIPAL, ecrGrant, FAST_POLL, GrantListing, KEY_ARN, KEY_ID, otherGrant, REGION, repoArn } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);

const NAME = 'team/app';
const ARN = repoArn(NAME);
const CREATED_AT = new Date('2026-06-01T12:00:00Z');
const BEFORE = new Date('2026-01-01T00:00:00Z'); // an older incarnation of the same name
const AFTER = new Date('2026-06-01T12:00:01Z');

const registry = (options: { endpoint?: string } = {}) =>
  new EncryptedRegistry({
    clientConfig: { region: REGION, ...(options.endpoint ? { endpoint: options.endpoint } : {}) },
    poll: FAST_POLL,
  });

const repository = (encryption: Repository['encryptionConfiguration'], createdAt = CREATED_AT): Repository => ({
  repositoryName: NAME,
  repositoryArn: ARN,
  registryId: '111122223333',
  repositoryUri: `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/${NAME}`,
  createdAt,
  encryptionConfiguration: encryption,
});
const kmsRepository = repository({ encryptionType: 'KMS', kmsKey: KEY_ARN });

const notFound = () => new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${NAME}' does not exist` });
const kmsAccessDenied = () =>
  new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized to perform: kms:RetireGrant' });

const retireCalls = () => kms.commandCalls(RetireGrantCommand).map((c) => c.args[0].input.GrantId);

/** A KMS repository with its two grants; `ecrRetires` says whether DeleteRepository retires them. */
const kmsScenario = (options: { ecrRetires: boolean; lag?: number; extra?: Parameters<GrantListing['add']>[0][] }) => {
  const grants = new GrantListing([ecrGrant('g1', ARN, AFTER), ecrGrant('g2', ARN, AFTER), ...(options.extra ?? [])]);
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [kmsRepository] });
  ecr.on(ListImagesCommand).resolves({ imageIds: [] });
  ecr.on(DeleteRepositoryCommand).callsFake(() => {
    if (options.ecrRetires) {
      grants.retire('g1', options.lag ?? 0);
      grants.retire('g2', options.lag ?? 0);
    }
    return { repository: kmsRepository };
  });
  kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } });
  kms.on(ListGrantsCommand).callsFake(grants.list);
  kms.on(RetireGrantCommand).callsFake((input: { GrantId: string }) => {
    if (!grants.retire(input.GrantId, 1)) throw new NotFoundException({ $metadata: {}, message: 'grant not found' });
    return {};
  });
  return grants;
};

describe('EncryptedRegistry.deleteRepository', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    ecr.on(GetRepositoryPolicyCommand).rejects(new RepositoryPolicyNotFoundException({ $metadata: {}, message: 'Repository policy does not exist' }));
  });

  describe('before anything is deleted', () => {
    it('refuses an invalid name without calling AWS', async () => {
      const result = await registry().deleteRepository({ repositoryName: 'Team/App' });

      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidRepositoryName', repositoryName: 'Team/App' });
      const nothing = await registry().deleteRepository(undefined as never);
      expect(nothing._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'repositoryName' });
      expect(ecr.calls()).toHaveLength(0);
    });

    it('refuses an insecure endpoint without calling AWS', async () => {
      const result = await registry({ endpoint: 'http://ecr.example.com' }).deleteRepository({ repositoryName: NAME });

      expect(result._unsafeUnwrapErr()).toEqual({ kind: 'InsecureEndpoint', endpoint: 'http://ecr.example.com' });
      expect(ecr.calls()).toHaveLength(0);
    });

    it('returns RepositoryNotFound for a missing repository', async () => {
      ecr.on(DescribeRepositoriesCommand).rejects(notFound());

      const result = await registry().deleteRepository({ repositoryName: NAME });

      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'RepositoryNotFound', repositoryName: NAME });
      expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    });

    it('refuses a non-empty repository without force, counting every image, and deletes nothing', async () => {
      ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [kmsRepository] });
      ecr
        .on(ListImagesCommand)
        .resolvesOnce({ imageIds: [{ imageDigest: 'sha256:a', imageTag: 'v1' }, { imageDigest: 'sha256:a', imageTag: 'latest' }], nextToken: 't' })
        .resolvesOnce({ imageIds: [{ imageDigest: 'sha256:b' }] });

      const result = await registry().deleteRepository({ repositoryName: NAME });

      expect(result._unsafeUnwrapErr()).toEqual({ kind: 'RepositoryNotEmpty', repositoryName: NAME, imageCount: 2 });
      expect(ecr).toHaveReceivedCommandWith(ListImagesCommand, { filter: { tagStatus: 'ANY', imageStatus: 'ANY' } });
      expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
      expect(kms.calls()).toHaveLength(0);
    });

    it('stops before deleting when the key grants cannot be listed', async () => {
      kmsScenario({ ecrRetires: true });
      kms.on(ListGrantsCommand).rejects(kmsAccessDenied());

      const result = await registry().deleteRepository({ repositoryName: NAME });

      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', service: 'kms', operation: 'ListGrants' });
      expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    });
  });

  it('with what the caller described just now (a migration step): neither describes, counts nor resolves the key again, and still verifies the grants', async () => {
    const grants = kmsScenario({ ecrRetires: true });

    const result = await deleteRepository(
      fakeContext({ now: () => new Date() }),
      { repositoryName: NAME, force: true },
      { described: { repository: kmsRepository, imageCount: 3, encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false } } },
    );

    expect(result._unsafeUnwrap()).toMatchObject({ encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false }, imageCount: 3, grantsIdentified: ['g1', 'g2'], verified: true });
    expect(ecr).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
    expect(ecr).not.toHaveReceivedCommand(ListImagesCommand);
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
    expect(ecr).toHaveReceivedCommand(GetRepositoryPolicyCommand);
    expect(grants.listings).toBeGreaterThanOrEqual(2);
  });

  it('deletes an AES256 repository, with force, and makes no grant call', async () => {
    const aes = repository({ encryptionType: 'AES256' });
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [aes] });
    ecr.on(ListImagesCommand).resolves({ imageIds: [{ imageDigest: 'sha256:a', imageTag: 'v1' }] });
    ecr.on(DeleteRepositoryCommand).resolves({ repository: aes });

    const result = await registry().deleteRepository({ repositoryName: NAME, force: true });

    expect(result._unsafeUnwrap()).toEqual({
      repository: { name: NAME, arn: ARN, createdAt: CREATED_AT },
      encryption: { type: 'AES256' },
      imageCount: 1,
      grantsIdentified: [],
      grantsRetiredByEcr: [],
      grantsRetiredHere: [],
      unattributedGrants: [],
      verified: true,
    });
    expect(ecr).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: NAME, force: true });
    expect(kms.calls()).toHaveLength(0);
  });

  it('waits while ECR retires its grants, still listed for a while, and retires nothing itself', async () => {
    const grants = kmsScenario({ ecrRetires: true, lag: 3, extra: [otherGrant('not-ecr', AFTER)] });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toEqual({
      repository: { name: NAME, arn: ARN, createdAt: CREATED_AT },
      encryption: { type: 'KMS', keyArn: KEY_ARN, awsManagedKey: false },
      imageCount: 0,
      grantsIdentified: ['g1', 'g2'],
      grantsRetiredByEcr: ['g1', 'g2'],
      grantsRetiredHere: [],
      unattributedGrants: [],
      verified: true,
    });
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
    // One listing before deleting, three that still show the retired grants, one that shows none.
    expect(grants.listings).toBe(5);
    expect(grants.isActive('not-ecr')).toBe(true);
  });

  it('retires here the grants ECR could not retire, and verifies they are gone', async () => {
    const grants = kmsScenario({ ecrRetires: false });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredByEcr: [], grantsRetiredHere: ['g1', 'g2'], verified: true });
    expect(kms).toHaveReceivedCommandWith(RetireGrantCommand, { KeyId: KEY_ARN, GrantId: 'g1' });
    expect(kms).toHaveReceivedCommandWith(RetireGrantCommand, { KeyId: KEY_ARN, GrantId: 'g2' });
    expect(grants.isActive('g1') || grants.isActive('g2')).toBe(false);
    // The last call is a listing that shows none of them.
    expect(kms.calls().at(-1)?.args[0]).toBeInstanceOf(ListGrantsCommand);
  });

  it('reports DeletedButGrantsRemain with the missing permission when RetireGrant is denied', async () => {
    kmsScenario({ ecrRetires: false });
    kms.on(RetireGrantCommand).rejects(kmsAccessDenied());

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toMatchObject({
      kind: 'DeletedButGrantsRemain',
      repositoryName: NAME,
      repositoryArn: ARN,
      keyArn: KEY_ARN,
      grantIds: ['g1', 'g2'],
      missingPermission: 'kms:RetireGrant',
      cause: { kind: 'AccessDenied', service: 'kms', operation: 'RetireGrant' },
    });
    expect(ecr).toHaveReceivedCommand(DeleteRepositoryCommand);
    // Each grant is tried once; waiting cannot change a denial.
    expect(retireCalls()).toEqual(['g1', 'g2']);
  });

  it('tries a throttled RetireGrant again within the poll bound', async () => {
    const grants = kmsScenario({ ecrRetires: false });
    let throttled = false;
    kms.on(RetireGrantCommand).callsFake((input: { GrantId: string }) => {
      if (input.GrantId === 'g2' && !throttled) {
        throttled = true;
        throw new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' });
      }
      grants.retire(input.GrantId, 1);
      return {};
    });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(retireCalls()).toEqual(['g1', 'g2', 'g2']);
    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredHere: ['g1', 'g2'], verified: true });
  });

  it('takes a RetireGrant NotFoundException as already retired by ECR', async () => {
    // ECR retired them, but they stay listed through the whole first poll (11 listings).
    kmsScenario({ ecrRetires: true, lag: 12 });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(retireCalls()).toEqual(['g1', 'g2']);
    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredByEcr: ['g1', 'g2'], grantsRetiredHere: [], verified: true });
  });

  it('never claims verified while ListGrants still shows one of the grants', async () => {
    const grants = kmsScenario({ ecrRetires: false });
    // KMS accepts both retirements, but g2 stays listed past every poll.
    kms.on(RetireGrantCommand).callsFake((input: { GrantId: string }) => {
      grants.retire(input.GrantId, input.GrantId === 'g2' ? 1_000 : 1);
      return {};
    });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result.isOk()).toBe(false);
    expect(result._unsafeUnwrapErr()).toMatchObject({
      kind: 'DeletedButGrantsRemain',
      grantIds: ['g2'],
      missingPermission: undefined,
      cause: undefined,
    });
  });

  it('still verifies and retires when ECR raises KmsException but the repository is gone', async () => {
    kmsScenario({ ecrRetires: false });
    ecr.on(DescribeRepositoriesCommand).resolvesOnce({ repositories: [kmsRepository] }).rejects(notFound());
    ecr
      .on(DeleteRepositoryCommand)
      .rejects(new KmsException({ $metadata: {}, message: 'grants failed to be retired', kmsError: 'AccessDeniedException' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredHere: ['g1', 'g2'], verified: true });
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 2);
  });

  it('returns KmsRefused when ECR raises KmsException and the repository still exists', async () => {
    kmsScenario({ ecrRetires: false });
    ecr
      .on(DeleteRepositoryCommand)
      .rejects(new KmsException({ $metadata: {}, message: 'kms refused', kmsError: 'KMSInvalidStateException' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'KmsRefused', operation: 'DeleteRepository', kmsError: 'KMSInvalidStateException' });
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('still verifies when the repository was deleted concurrently (DeleteRepository: not found)', async () => {
    kmsScenario({ ecrRetires: false });
    ecr.on(DeleteRepositoryCommand).rejects(notFound());

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredHere: ['g1', 'g2'], verified: true });
  });

  it('leaves the grants of an older incarnation of the name alone, and does not call the key clean while they are on it', async () => {
    const grants = kmsScenario({ ecrRetires: false, extra: [ecrGrant('old-1', ARN, BEFORE), ecrGrant('old-2', ARN, BEFORE)] });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({
      grantsRetiredHere: ['g1', 'g2'],
      verified: false,
      grantsUnverifiable: { reasons: ['unattributed-grants-remain'] },
      unattributedGrants: [
        { grantId: 'old-1', reason: 'other-incarnation', remaining: true },
        { grantId: 'old-2', reason: 'other-incarnation', remaining: true },
      ],
    });
    expect(retireCalls()).toEqual(['g1', 'g2']);
    expect(grants.isActive('old-1') && grants.isActive('old-2')).toBe(true);
  });

  it('never retires the grants of a repository recreated under the same name meanwhile', async () => {
    const recreatedAt = new Date('2026-06-01T13:00:00Z');
    const grants = kmsScenario({ ecrRetires: false });
    ecr
      .on(DescribeRepositoriesCommand)
      .resolvesOnce({ repositories: [kmsRepository] })
      .resolves({ repositories: [repository({ encryptionType: 'KMS', kmsKey: KEY_ARN }, recreatedAt)] });
    ecr.on(DeleteRepositoryCommand).callsFake(() => {
      // Someone recreates the name right after our delete: ECR grants the new repository.
      grants.add(ecrGrant('new-1', ARN, recreatedAt));
      grants.add(ecrGrant('new-2', ARN, recreatedAt));
      return { repository: kmsRepository };
    });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredHere: ['g1', 'g2'], verified: true });
    expect(retireCalls()).toEqual(['g1', 'g2']);
    expect(grants.isActive('new-1') && grants.isActive('new-2')).toBe(true);
  });

  it('counts again when images were pushed between the count and the delete', async () => {
    kmsScenario({ ecrRetires: true });
    ecr.on(ListImagesCommand).resolvesOnce({ imageIds: [] }).resolves({ imageIds: [{ imageDigest: 'sha256:a' }] });
    ecr.on(DeleteRepositoryCommand).rejects(new RepositoryNotEmptyException({ $metadata: {}, message: 'contains images' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toEqual({ kind: 'RepositoryNotEmpty', repositoryName: NAME, imageCount: 1 });
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('uses the key ARN ECR reports when DescribeKey is not allowed, and treats a deleted key as holding no grants', async () => {
    kmsScenario({ ecrRetires: false });
    kms.on(DescribeKeyCommand).rejects(kmsAccessDenied());
    kms.on(ListGrantsCommand).rejects(new NotFoundException({ $metadata: {}, message: 'key does not exist' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({
      encryption: { type: 'KMS', keyArn: KEY_ARN },
      grantsRetiredByEcr: [],
      grantsRetiredHere: [],
      verified: true,
    });
    expect(result._unsafeUnwrap().encryption).not.toHaveProperty('awsManagedKey');
  });

  it('reports DeletedButGrantsRemain, not a failed delete, when listing fails after the delete', async () => {
    const grants = kmsScenario({ ecrRetires: false });
    kms.on(ListGrantsCommand).callsFakeOnce(grants.list).rejects(kmsAccessDenied());

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toMatchObject({
      kind: 'DeletedButGrantsRemain',
      grantIds: ['g1', 'g2'],
      cause: { kind: 'AccessDenied', operation: 'ListGrants' },
    });
    expect(ecr).toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('lists again after a throttled listing during verification, instead of reporting grants that remain', async () => {
    const grants = kmsScenario({ ecrRetires: true });
    const throttled = () => new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' });
    kms.on(ListGrantsCommand).callsFakeOnce(grants.list).rejectsOnce(throttled()).callsFake(grants.list);

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ grantsRetiredByEcr: ['g1', 'g2'], grantsRetiredHere: [], verified: true });
    expect(kms).toHaveReceivedCommandTimes(ListGrantsCommand, 3);
  });

  it('reports DeletedButGrantsRemain with the throttling as cause when listing stays throttled through the poll', async () => {
    const grants = kmsScenario({ ecrRetires: true });
    kms
      .on(ListGrantsCommand)
      .callsFakeOnce(grants.list)
      .rejects(new KMSServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: {}, message: 'Rate exceeded' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'DeletedButGrantsRemain', cause: { kind: 'Throttled', operation: 'ListGrants' } });
    expect(retireCalls()).toEqual([]);
  });
});

describe('deleteRepository fails closed wherever a grant cannot be proven (issue 11)', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    ecr.on(GetRepositoryPolicyCommand).rejects(new RepositoryPolicyNotFoundException({ $metadata: {}, message: 'Repository policy does not exist' }));
  });

  /** A grant to ECR with no encryption-context constraint (the `no-constraint` second-grant variant). */
  const unconstrainedEcrGrant = (grantId: string, created: Date): GrantListEntry => {
    const { Constraints: _dropped, ...rest } = ecrGrant(grantId, ARN, created);
    return rest;
  };

  /** The repository on `grants`' key; ECR retires nothing (the `silent` variant), RetireGrant works. */
  const wireSilentEcr = (grants: GrantListing) => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [kmsRepository] });
    ecr.on(ListImagesCommand).resolves({ imageIds: [] });
    ecr.on(DeleteRepositoryCommand).resolves({ repository: kmsRepository });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } });
    kms.on(ListGrantsCommand).callsFake(grants.list);
    kms.on(RetireGrantCommand).callsFake((input: { GrantId: string }) => {
      grants.retire(input.GrantId);
      return {};
    });
  };

  it('never says verified when ECR\'s second grant has no aws:ecr:arn constraint: reports it, retires nothing it cannot attribute', async () => {
    // Only g1 carries the documented constraint; ECR's other grant has none. ECR retires neither.
    const grants = new GrantListing([ecrGrant('g1', ARN, AFTER), unconstrainedEcrGrant('ecr-2', AFTER)]);
    wireSilentEcr(grants);

    const result = (await registry().deleteRepository({ repositoryName: NAME }))._unsafeUnwrap();

    expect(result.verified).toBe(false);
    expect(result).toMatchObject({
      grantsIdentified: ['g1'],
      grantsRetiredHere: ['g1'],
      grantsUnverifiable: { reasons: ['fewer-grants-than-documented', 'unattributed-grants-remain'] },
      unattributedGrants: [{ grantId: 'ecr-2', reason: 'no-repository-constraint', remaining: true }],
    });
    expect(retireCalls()).toEqual(['g1']);
    expect(grants.isActive('ecr-2')).toBe(true);
  });

  it('reports fewer identified grants than ECR documents as not verifiable, even when the key ends up clean', async () => {
    const grants = new GrantListing([ecrGrant('g1', ARN, AFTER)]);
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [kmsRepository] });
    ecr.on(ListImagesCommand).resolves({ imageIds: [] });
    ecr.on(DeleteRepositoryCommand).callsFake(() => {
      grants.retire('g1');
      return { repository: kmsRepository };
    });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } });
    kms.on(ListGrantsCommand).callsFake(grants.list);

    const result = (await registry().deleteRepository({ repositoryName: NAME }))._unsafeUnwrap();

    expect(result).toMatchObject({ verified: false, grantsIdentified: ['g1'], grantsRetiredByEcr: ['g1'] });
    expect(result.verified === false && result.grantsUnverifiable.reasons).toEqual(['fewer-grants-than-documented']);
  });

  it('identifies grants by GranteeServicePrincipal and EncryptionContextEquals (key case-insensitive) too, and never by the retiring principal alone', async () => {
    const { GranteePrincipal: _g, ...serviceGrant } = ecrGrant('g-service', ARN, AFTER);
    const grants = new GrantListing([
      { ...serviceGrant, GranteeServicePrincipal: ECR_PRINCIPAL },
      { ...ecrGrant('g-equals', ARN, AFTER), Constraints: { EncryptionContextEquals: { 'AWS:ECR:ARN': ARN } } },
      // Someone's own grant, naming ECR only as the retiring principal: not ECR's, never retired.
      { ...ecrGrant('not-ecr', ARN, AFTER), GranteePrincipal: 'arn:aws:iam::111122223333:role/app' },
    ]);
    wireSilentEcr(grants);

    const result = (await registry().deleteRepository({ repositoryName: NAME }))._unsafeUnwrap();

    expect(new Set(retireCalls())).toEqual(new Set(['g-service', 'g-equals']));
    expect(grants.isActive('not-ecr')).toBe(true);
    // A grant constrained to the ARN is still on the key: not clean.
    expect(result).toMatchObject({ verified: false, unattributedGrants: [{ grantId: 'not-ecr', reason: 'not-granted-to-ecr', remaining: true }] });
  });

  it('waits before deleting a young repository until its grants show, instead of finding none and calling that verified', async () => {
    const createdAt = new Date(Date.now() - 1000);
    const young = repository({ encryptionType: 'KMS', kmsKey: KEY_ARN }, createdAt);
    const grants = new GrantListing();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [young] });
    ecr.on(ListImagesCommand).resolves({ imageIds: [] });
    let listingsBeforeDelete = -1;
    ecr.on(DeleteRepositoryCommand).callsFake(() => {
      listingsBeforeDelete = grants.listings;
      return { repository: young };
    });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } });
    // ECR's grants are eventually consistent: they show from the third listing on, and ECR (silently) retires nothing.
    kms.on(ListGrantsCommand).callsFake((input: ListGrantsCommandInput) => {
      if (grants.listings === 2) {
        grants.add(ecrGrant('late-1', ARN, createdAt));
        grants.add(ecrGrant('late-2', ARN, createdAt));
      }
      return grants.list(input);
    });
    kms.on(RetireGrantCommand).callsFake((input: { GrantId: string }) => {
      grants.retire(input.GrantId);
      return {};
    });

    const result = (await registry().deleteRepository({ repositoryName: NAME }))._unsafeUnwrap();

    expect(result).toMatchObject({ verified: true, grantsIdentified: ['late-1', 'late-2'], grantsRetiredHere: ['late-1', 'late-2'] });
    // Three listings before DeleteRepository was sent.
    expect(listingsBeforeDelete).toBe(3);
  });

  it('checks with DescribeRepositories after DeleteRepository fails for another reason than KMS: gone means deleted, and its grants are verified', async () => {
    const grants = kmsScenario({ ecrRetires: false });
    ecr.on(DeleteRepositoryCommand).callsFake(() => {
      // ECR deleted the repository, but the answer was lost (a 5xx on the way back).
      ecr.on(DescribeRepositoriesCommand).rejects(notFound());
      throw new ECRServiceException({ name: 'ServerException', $fault: 'server', $metadata: { httpStatusCode: 500 }, message: 'internal' });
    });

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrap()).toMatchObject({ verified: true, grantsRetiredHere: ['g1', 'g2'] });
    expect(grants.isActive('g1') || grants.isActive('g2')).toBe(false);
  });

  it('returns the DeleteRepository failure when DescribeRepositories still finds the same repository', async () => {
    kmsScenario({ ecrRetires: false });
    ecr.on(DeleteRepositoryCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'not authorized' }));

    const result = await registry().deleteRepository({ repositoryName: NAME });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'DeleteRepository' });
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 2);
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });
});

describe('deleteRepository refuses a repository a migration has frozen (issue 12 D1)', () => {
  const frozenPolicy = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: 'EncryptedEcrMigrationFreeze0a1b2c', Effect: 'Deny', Principal: '*', Action: ['ecr:DeleteRepository'], Resource: '*' }],
  });

  beforeEach(() => {
    ecr.reset();
    kms.reset();
  });

  it.each([false, true])('returns MigrationInProgress before deleting anything (force: %s)', async (force) => {
    kmsScenario({ ecrRetires: true });
    ecr.on(GetRepositoryPolicyCommand).resolves({ policyText: frozenPolicy, repositoryName: NAME });

    const result = await registry().deleteRepository({ repositoryName: NAME, force });

    expect(result._unsafeUnwrapErr()).toEqual({
      kind: 'MigrationInProgress',
      repositoryName: NAME,
      migrationId: '0a1b2c',
      foundIn: 'repositoryPolicy',
      journal: undefined,
    });
    expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('fails closed when the repository policy cannot be read', async () => {
    kmsScenario({ ecrRetires: true });
    ecr.on(GetRepositoryPolicyCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));

    const result = await registry().deleteRepository({ repositoryName: NAME, force: true });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'GetRepositoryPolicy' });
    expect(ecr).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });
});
