import {
  DescribeRepositoriesCommand,
  type DescribeRepositoriesCommandInput,
  ECRClient,
  ECRServiceException,
  type Repository,
  RepositoryNotFoundException,
} from '@aws-sdk/client-ecr';
import {
  DescribeKeyCommand,
  type DescribeKeyCommandInput,
  KMSClient,
  KMSServiceException,
  ListAliasesCommand,
  ListGrantsCommand,
  type ListGrantsCommandInput,
  ListKeysCommand,
  NotFoundException,
  RetireGrantCommand,
  type RetireGrantCommandInput,
} from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { ACCOUNT, ecrGrant, FAST_POLL, GrantListing, KEY_ARN, KEY_ID, keyArn, otherGrant, REGION, repoArn } from '../fixtures/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const sts = mockClient(STSClient);

const registry = () =>
  new EncryptedRegistry({ clientConfig: { region: REGION }, poll: FAST_POLL });

const JAN = new Date('2026-01-01T00:00:00Z');
const JUNE = new Date('2026-06-01T12:00:00Z');
const JUNE_GRANT = new Date('2026-06-01T12:00:01Z');

const ECR_KEY_ID = '0000aaaa-12ab-34cd-56ef-1234567890ab';
const ECR_KEY_ARN = keyArn(ECR_KEY_ID);
const S3_KEY_ID = '1111bbbb-12ab-34cd-56ef-1234567890ab';
const DENIED_KEY_ID = '2222cccc-12ab-34cd-56ef-1234567890ab';
const keyArnOf = keyArn;

const repo = (name: string, createdAt: Date): Repository => ({ repositoryName: name, repositoryArn: repoArn(name), createdAt });

/** The live repositories: `app` was deleted in January and recreated in June; `gone` was deleted. */
const LIVE = [repo('app', JUNE), repo('live', JAN)];

/** One key holding grants of a deleted, a recreated (both incarnations) and a live repository. */
const mixedKey = () =>
  new GrantListing([
    ecrGrant('gone-1', repoArn('gone'), JAN),
    ecrGrant('gone-2', repoArn('gone'), JAN),
    ecrGrant('app-old-1', repoArn('app'), JAN),
    ecrGrant('app-old-2', repoArn('app'), JAN),
    ecrGrant('app-new-1', repoArn('app'), JUNE_GRANT),
    ecrGrant('app-new-2', repoArn('app'), JUNE_GRANT),
    ecrGrant('live-1', repoArn('live'), JAN),
    ecrGrant('live-2', repoArn('live'), JAN),
    ecrGrant('elsewhere', repoArn('gone', 'us-east-1'), JAN),
    ecrGrant('foreign', repoArn('gone', REGION, '999988887777'), JAN),
    otherGrant('lambda', JAN),
  ]);

const ORPHANS = ['gone-1', 'gone-2', 'app-old-1', 'app-old-2'];
const LIVE_GRANTS = ['app-new-1', 'app-new-2', 'live-1', 'live-2', 'elsewhere', 'foreign', 'lambda'];

/** Wires KMS to one GrantListing per key ARN; RetireGrant answers NotFound for a grant already gone. */
const wireKeys = (keys: Record<string, GrantListing>) => {
  kms.on(ListGrantsCommand).callsFake((input: ListGrantsCommandInput) => {
    const grants = keys[input.KeyId ?? ''];
    if (!grants) throw new NotFoundException({ $metadata: {}, message: 'no such key' });
    return grants.list(input);
  });
  kms.on(RetireGrantCommand).callsFake((input: RetireGrantCommandInput) => {
    if (!keys[input.KeyId ?? '']?.retire(input.GrantId ?? '')) throw new NotFoundException({ $metadata: {}, message: 'grant not found' });
    return {};
  });
};

/** Fresh stubs: the caller's account, and one customer-managed key, `KEY_ARN`, for any reference. */
const resetToOneKey = () => {
    ecr.reset();
    kms.reset();
    sts.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops`, UserId: 'AIDA' });
    kms.on(DescribeKeyCommand).resolves({ KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } });
};

const retired = () => kms.commandCalls(RetireGrantCommand).map((c) => c.args[0].input.GrantId).sort();

describe('EncryptedRegistry.findOrphanedGrants / retireOrphanedGrants', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    sts.reset();
    sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/ops`, UserId: 'AIDA' });
    // As ECR answers: a whole listing, or by names, failing whole on one missing name.
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      const missing = input.repositoryNames?.find((n) => !LIVE.some((r) => r.repositoryName === n));
      if (missing !== undefined) throw new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${missing}' does not exist` });
      return { repositories: input.repositoryNames === undefined ? LIVE : LIVE.filter((r) => input.repositoryNames?.includes(r.repositoryName ?? '')) };
    });
    kms.on(DescribeKeyCommand).callsFake((input: DescribeKeyCommandInput) => {
      if (input.KeyId === 'alias/app' || input.KeyId === KEY_ARN || input.KeyId === KEY_ID) {
        return { KeyMetadata: { KeyId: KEY_ID, Arn: KEY_ARN, KeyManager: 'CUSTOMER' } };
      }
      if (input.KeyId === keyArnOf(DENIED_KEY_ID)) {
        throw new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' });
      }
      throw new NotFoundException({ $metadata: {}, message: `${input.KeyId} not found` });
    });
  });

  it('finds exactly the grants of a deleted repository and of an older incarnation', async () => {
    wireKeys({ [KEY_ARN]: mixedKey() });

    const result = await registry().findOrphanedGrants({ keys: ['alias/app'] });

    const report = result._unsafeUnwrap();
    expect(report).toMatchObject({ region: REGION, account: ACCOUNT, skipped: [] });
    expect(report.keys).toHaveLength(1);
    const [key] = report.keys;
    expect(key).toMatchObject({
      keyArn: KEY_ARN,
      keyManager: 'CUSTOMER',
      grantCount: 11,
      ecrGrantCount: 10,
      headroom: { quota: 50_000, used: 11, remaining: 49_989 },
    });
    expect(key?.orphans).toEqual([
      { grantId: 'gone-1', repositoryArn: repoArn('gone'), creationDate: JAN, reason: 'repository-deleted' },
      { grantId: 'gone-2', repositoryArn: repoArn('gone'), creationDate: JAN, reason: 'repository-deleted' },
      { grantId: 'app-old-1', repositoryArn: repoArn('app'), creationDate: JAN, reason: 'older-incarnation' },
      { grantId: 'app-old-2', repositoryArn: repoArn('app'), creationDate: JAN, reason: 'older-incarnation' },
    ]);
    expect(key?.unverifiable.map((u) => [u.grantId, u.reason])).toEqual([
      ['elsewhere', 'other-region'],
      ['foreign', 'other-account'],
    ]);
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('retires nothing by default (dryRun), and reports what it would retire', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN] });

    const sweep = result._unsafeUnwrap();
    expect(sweep.dryRun).toBe(true);
    expect(sweep.keys[0]?.orphans.map((o) => o.grantId)).toEqual(ORPHANS);
    expect(sweep.keys[0]).toMatchObject({ retired: [], alreadyRetired: [], failed: [] });
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
    for (const id of ORPHANS) expect(grants.isActive(id)).toBe(true);
  });

  it('retires exactly the orphans, never a live repository\u2019s grants, and never revokes', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    const [key] = result._unsafeUnwrap().keys;
    expect([...(key?.retired ?? [])].sort()).toEqual([...ORPHANS].sort());
    expect(retired()).toEqual([...ORPHANS].sort());
    for (const id of LIVE_GRANTS) expect(grants.isActive(id), id).toBe(true);
    for (const id of ORPHANS) expect(grants.isActive(id), id).toBe(false);
    expect(kms).toHaveReceivedCommandWith(RetireGrantCommand, { KeyId: KEY_ARN, GrantId: 'gone-1' });
    expect(kms.calls().map((c) => c.args[0].constructor.name)).not.toContain('RevokeGrantCommand');
  });

  it('reports already-retired and failed retirements per grant, with typed errors', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });
    kms
      .on(RetireGrantCommand, { GrantId: 'gone-1' })
      .rejects(new NotFoundException({ $metadata: {}, message: 'grant not found' }))
      .on(RetireGrantCommand, { GrantId: 'gone-2' })
      .rejects(new KMSServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' }));

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    const [key] = result._unsafeUnwrap().keys;
    expect(key?.alreadyRetired).toEqual(['gone-1']);
    expect(key?.failed).toEqual([
      { grantId: 'gone-2', repositoryArn: repoArn('gone'), error: expect.objectContaining({ kind: 'AccessDenied', operation: 'RetireGrant' }) as unknown },
    ]);
    expect([...(key?.retired ?? [])].sort()).toEqual(['app-old-1', 'app-old-2']);
  });

  it('pages ListGrants on Truncated, 100 at a time', async () => {
    const grants = mixedKey();
    for (let i = 0; i < 250; i++) grants.add(otherGrant(`other-${i}`, JAN));
    wireKeys({ [KEY_ARN]: grants });

    const result = await registry().findOrphanedGrants({ keys: [KEY_ARN] });

    expect(result._unsafeUnwrap().keys[0]).toMatchObject({ grantCount: 261, ecrGrantCount: 10 });
    const pages = kms.commandCalls(ListGrantsCommand).map((c) => c.args[0].input);
    expect(pages).toEqual([
      { KeyId: KEY_ARN, Limit: 100 },
      { KeyId: KEY_ARN, Limit: 100, Marker: '100' },
      { KeyId: KEY_ARN, Limit: 100, Marker: '200' },
    ]);
  });

  it('lists the repositories once per sweep, whatever the number of grants and keys', async () => {
    const many = new GrantListing();
    for (let i = 0; i < 300; i++) many.add(ecrGrant(`g-${i}`, repoArn(`repo-${i}`), JAN, ECR_KEY_ARN));
    wireKeys({ [KEY_ARN]: mixedKey(), [ECR_KEY_ARN]: many });
    kms.on(ListAliasesCommand).resolves({ Aliases: [{ AliasName: 'alias/aws/ecr', AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/ecr`, TargetKeyId: ECR_KEY_ID }] });

    const result = await registry().findOrphanedGrants({ keys: [KEY_ARN, 'alias/aws/ecr'] });

    expect(result._unsafeUnwrap().keys.map((k) => k.orphans.length)).toEqual([4, 300]);
    expect(ecr).toHaveReceivedCommandTimes(DescribeRepositoriesCommand, 1);
    expect(ecr).toHaveReceivedCommandWith(DescribeRepositoriesCommand, { maxResults: 1000 });
  });

  it('does not list repositories when no grant names one of this registry', async () => {
    wireKeys({ [KEY_ARN]: new GrantListing([otherGrant('lambda', JAN), ecrGrant('elsewhere', repoArn('x', 'us-east-1'), JAN)]) });

    const result = await registry().findOrphanedGrants({ keys: [KEY_ARN] });

    expect(result._unsafeUnwrap().keys[0]).toMatchObject({ ecrGrantCount: 1, orphans: [] });
    expect(ecr).not.toHaveReceivedCommand(DescribeRepositoriesCommand);
  });

  it('sweeps every customer-managed key plus aws/ecr, found through ListAliases, never DescribeKey(alias/aws/ecr)', async () => {
    const awsEcr = new GrantListing([ecrGrant('ecr-gone', repoArn('gone'), JAN, ECR_KEY_ARN)]);
    wireKeys({ [KEY_ARN]: mixedKey(), [ECR_KEY_ARN]: awsEcr });
    kms.on(ListKeysCommand).resolves({
      Keys: [KEY_ID, ECR_KEY_ID, S3_KEY_ID, DENIED_KEY_ID].map((id) => ({ KeyId: id, KeyArn: keyArnOf(id) })),
    });
    kms.on(ListAliasesCommand).resolves({
      Aliases: [
        { AliasName: 'alias/app', TargetKeyId: KEY_ID },
        { AliasName: 'alias/aws/ecr', AliasArn: `arn:aws:kms:${REGION}:${ACCOUNT}:alias/aws/ecr`, TargetKeyId: ECR_KEY_ID },
        { AliasName: 'alias/aws/s3', TargetKeyId: S3_KEY_ID },
      ],
    });

    const result = await registry().findOrphanedGrants();

    const report = result._unsafeUnwrap();
    expect(report.keys.map((k) => [k.keyArn, k.keyManager, k.orphans.length])).toEqual([
      [KEY_ARN, 'CUSTOMER', 4],
      [ECR_KEY_ARN, 'AWS', 1],
    ]);
    expect(report.keys[1]?.headroom).toEqual({ quota: undefined, used: 1, remaining: undefined });
    expect(report.skipped).toEqual([{ keyArn: keyArnOf(DENIED_KEY_ID), error: expect.objectContaining({ kind: 'AccessDenied' }) as unknown }]);
    const described = kms.commandCalls(DescribeKeyCommand).map((c) => c.args[0].input.KeyId);
    expect(described).not.toContain('alias/aws/ecr');
    expect(described).not.toContain(keyArnOf(S3_KEY_ID));
    expect(described).not.toContain(keyArnOf(ECR_KEY_ID));
  });

  it('returns KeyNotFound for a named aws/ecr key the account does not have, without creating it', async () => {
    kms.on(ListAliasesCommand).resolves({ Aliases: [] });

    const result = await registry().findOrphanedGrants({ keys: ['alias/aws/ecr'] });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound', key: 'alias/aws/ecr' });
    expect(kms).not.toHaveReceivedCommand(DescribeKeyCommand);
  });

  it('returns KeyNotFound for a named key that does not exist', async () => {
    const result = await registry().findOrphanedGrants({ keys: ['alias/missing'] });

    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound', operation: 'DescribeKey', key: 'alias/missing' });
  });

  it('leaves alone a grant younger than the clock tolerance whose repository is not listed yet', async () => {
    const fresh = new Date(Date.now() - 5_000);
    wireKeys({ [KEY_ARN]: new GrantListing([ecrGrant('creating', repoArn('new-repo'), fresh)]) });

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    expect(result._unsafeUnwrap().keys[0]).toMatchObject({ orphans: [], unverifiable: [{ grantId: 'creating', reason: 'too-recent' }] });
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('refuses invalid input before any AWS call', async () => {
    const badKey = await registry().findOrphanedGrants({ keys: ['not a key'] });
    const badConcurrency = await registry().retireOrphanedGrants({ dryRun: false, concurrency: 0 });

    expect(badKey._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'keys[0]' });
    expect(badConcurrency._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'concurrency' });
    expect(kms.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
  });
});

describe('retireOrphanedGrants confirms each repository is gone right before retiring (issue 11)', () => {
  const notFound = (name: string) => new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${name}' does not exist` });

  /** DescribeRepositories as ECR answers it: a whole listing, or by names (failing whole on one missing name). */
  const wireEcr = (listed: readonly Repository[], byName: readonly Repository[]) => {
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      if (input.repositoryNames === undefined) return { repositories: listed };
      const found = input.repositoryNames.map((n) => byName.find((r) => r.repositoryName === n));
      const missing = input.repositoryNames.find((_, i) => found[i] === undefined);
      if (missing !== undefined) throw notFound(missing);
      return { repositories: found };
    });
  };

  beforeEach(() => {
    resetToOneKey();
  });

  it('keeps a "repository-deleted" orphan whose repository exists when checked by name (the listing missed it)', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });
    // The registry listing does not show `gone`, but asked by name ECR has it, created with its grants.
    wireEcr(LIVE, [...LIVE, repo('gone', JAN)]);

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    const [key] = result._unsafeUnwrap().keys;
    expect([...(key?.retired ?? [])].sort()).toEqual(['app-old-1', 'app-old-2']);
    expect(key?.kept).toEqual([
      { grantId: 'gone-1', repositoryArn: repoArn('gone'), reason: 'repository-exists' },
      { grantId: 'gone-2', repositoryArn: repoArn('gone'), reason: 'repository-exists' },
    ]);
    expect(grants.isActive('gone-1') && grants.isActive('gone-2')).toBe(true);
    // Asked in one batch first (failing on the missing name is how ECR answers), then narrowed down.
    expect(ecr.commandCalls(DescribeRepositoriesCommand).some((c) => c.args[0].input.repositoryNames?.length === 2)).toBe(true);
  });

  it('retires nothing when the names cannot be checked', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      if (input.repositoryNames === undefined) return { repositories: LIVE };
      throw new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: {}, message: 'denied' });
    });

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    const [key] = result._unsafeUnwrap().keys;
    expect(key?.retired).toEqual([]);
    expect(key?.kept.map((k) => [k.grantId, k.reason, k.error?.kind])).toEqual(ORPHANS.map((id) => [id, 'check-failed', 'AccessDenied']));
    expect(kms).not.toHaveReceivedCommand(RetireGrantCommand);
  });

  it('still retires an older incarnation\u2019s grants when checked by name, and the grants of a name that is gone', async () => {
    const grants = mixedKey();
    wireKeys({ [KEY_ARN]: grants });
    wireEcr(LIVE, LIVE);

    const result = await registry().retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false });

    const [key] = result._unsafeUnwrap().keys;
    expect([...(key?.retired ?? [])].sort()).toEqual([...ORPHANS].sort());
    expect(key?.kept).toEqual([]);
  });
});

describe('waitForDecidableMs: the sweep waits, through the registry clock, for too-recent grants', () => {
  const NOW = new Date('2026-06-01T12:00:00Z');
  /** A clock whose pauses move its time on at once; `frozen` keeps its time still. */
  const testClock = (frozen = false) => {
    let time = NOW.getTime();
    const pauses: number[] = [];
    return {
      pauses,
      clock: {
        now: () => new Date(time),
        sleep: (ms: number) => {
          pauses.push(ms);
          // A sweep that keeps waiting fails here rather than hanging the test.
          if (pauses.length > 5) return Promise.reject(new Error('the sweep keeps waiting'));
          if (!frozen) time += ms;
          return Promise.resolve();
        },
      },
    };
  };
  const registryWith = (clock: ReturnType<typeof testClock>['clock']) =>
    new EncryptedRegistry({ clientConfig: { region: REGION }, poll: FAST_POLL, clock });

  /** Two grants of `new-repo` 30 s old, which no listing shows: too recent for 30 more seconds. */
  const young = new Date(NOW.getTime() - 30_000);
  const youngGrants = () => new GrantListing([ecrGrant('young-1', repoArn('new-repo'), young), ecrGrant('young-2', repoArn('new-repo'), young)]);

  beforeEach(() => {
    resetToOneKey();
    ecr.on(DescribeRepositoriesCommand).callsFake((input: DescribeRepositoriesCommandInput) => {
      if (input.repositoryNames === undefined) return { repositories: LIVE };
      throw new RepositoryNotFoundException({ $metadata: {}, message: `The repository with name '${input.repositoryNames[0] ?? ''}' does not exist` });
    });
  });

  it('pauses until they are decidable (plus a margin), says so, sweeps again and decides them', async () => {
    wireKeys({ [KEY_ARN]: youngGrants() });
    const { clock, pauses } = testClock();
    const waits: unknown[] = [];

    const result = await registryWith(clock).findOrphanedGrants({ keys: [KEY_ARN], waitForDecidableMs: 60_000, onWait: (w) => waits.push(w) });

    const decidable = new Date(young.getTime() + 60_000 + 1_000);
    expect(waits).toEqual([{ grants: 2, until: decidable, waitMs: 31_000 }]);
    expect(pauses).toEqual([31_000]);
    const [key] = result._unsafeUnwrap().keys;
    expect(key?.unverifiable).toEqual([]);
    expect(key?.orphans.map((o) => [o.grantId, o.reason])).toEqual([
      ['young-1', 'repository-deleted'],
      ['young-2', 'repository-deleted'],
    ]);
    expect(kms.commandCalls(ListGrantsCommand)).toHaveLength(2);
  });

  it('retires them after the wait (retireOrphanedGrants takes the same option)', async () => {
    const grants = youngGrants();
    wireKeys({ [KEY_ARN]: grants });
    const { clock } = testClock();

    const result = await registryWith(clock).retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false, waitForDecidableMs: 60_000 });

    expect([...(result._unsafeUnwrap().keys[0]?.retired ?? [])].sort()).toEqual(['young-1', 'young-2']);
    expect(grants.isActive('young-1') || grants.isActive('young-2')).toBe(false);
  });

  it('does not wait when the bound ends before they are decidable, nor by default', async () => {
    wireKeys({ [KEY_ARN]: youngGrants() });
    const { clock, pauses } = testClock();
    const onWait = () => {
      throw new Error('no wait expected');
    };

    const short = await registryWith(clock).findOrphanedGrants({ keys: [KEY_ARN], waitForDecidableMs: 30_000, onWait });
    const none = await registryWith(clock).findOrphanedGrants({ keys: [KEY_ARN], onWait });

    for (const result of [short, none]) {
      expect(result._unsafeUnwrap().keys[0]?.unverifiable.map((u) => u.reason)).toEqual(['too-recent', 'too-recent']);
    }
    expect(pauses).toEqual([]);
  });

  it('waits once with a clock that does not move (never loops)', async () => {
    wireKeys({ [KEY_ARN]: youngGrants() });
    const { clock, pauses } = testClock(true);

    const result = await registryWith(clock).findOrphanedGrants({ keys: [KEY_ARN], waitForDecidableMs: 60_000 });

    expect(pauses).toEqual([31_000]);
    expect(result._unsafeUnwrap().keys[0]?.unverifiable.map((u) => u.reason)).toEqual(['too-recent', 'too-recent']);
  });

  it('refuses a wait that is not 0 to an hour before any AWS call', async () => {
    for (const waitForDecidableMs of [-1, 3_600_001, Number.NaN, Number.POSITIVE_INFINITY]) {
      const find = await registry().findOrphanedGrants({ waitForDecidableMs });
      const retire = await registry().retireOrphanedGrants({ waitForDecidableMs });
      expect(find._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'waitForDecidableMs' });
      expect(retire._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'waitForDecidableMs' });
    }
    const wrongType = await registry().findOrphanedGrants({ waitForDecidableMs: '60' as unknown as number });
    expect(wrongType._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'waitForDecidableMs' });
    expect(kms.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
  });
});
