/**
 * SetRepositoryPolicy refuses what ECR refuses (a real `@aws-sdk/client-ecr` client over HTTP
 * against the emulator), and a migration goes through with what ECR accepts: the freeze without
 * `Resource`, a saved policy naming deleted principals, and a replication rule covering staging.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateRepositoryCommand,
  DescribeRegistryCommand,
  type DescribeRegistryCommandOutput,
  ECRClient,
  GetRepositoryPolicyCommand,
  InvalidParameterException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal } from '../../src/index.js';
import { FREEZE_SID } from '../../src/policy/freeze.js';
import { ApiError, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';

const POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 };
const DELETED_ROLE = 'AROAEXAMPLEDELETED0001';
const CREDENTIALS = { accessKeyId: 'AKIAPOLICYRULES00001', secretAccessKey: 'policy-rules-secret-key-0000000000000000' };

const policy = (...statements: Record<string, unknown>[]): string => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const pull = (principal: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  Sid: 'Pull',
  Effect: 'Allow',
  Principal: principal,
  Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
  ...extra,
});

const refusal = async (ecr: ECRClient, repositoryName: string, policyText: string): Promise<unknown> =>
  ecr.send(new SetRepositoryPolicyCommand({ repositoryName, policyText })).then(
    () => 'accepted',
    (e: unknown) => e,
  );

describe('SetRepositoryPolicy on the emulator refuses what ECR refuses', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'rules/app' }));
  });
  afterAll(async () => {
    ecr.destroy();
    await aws.stop();
  });

  it.each([
    ['a statement with Resource', policy(pull({ AWS: '*' }, { Resource: '*' }))],
    ['a statement with NotResource', policy(pull({ AWS: '*' }, { NotResource: 'arn:aws:ecr:us-east-1:111122223333:repository/other' }))],
    ['a statement without Principal', policy({ Sid: 'NoPrincipal', Effect: 'Allow', Action: 'ecr:BatchGetImage' })],
    ['NotPrincipal with Allow', policy({ Sid: 'NotAllow', Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'ecr:*' })],
    ['text that is not JSON', '{"Version": "2012-10-17", "Statement": ['],
  ])('refuses %s with InvalidParameterException (Invalid repository policy provided)', async (_what, text) => {
    const error = await refusal(ecr, 'rules/app', text);
    expect(error).toBeInstanceOf(InvalidParameterException);
    expect((error as Error).message).toBe("Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
  });

  it('refuses a policy text over 10,240 characters (the model maximum)', async () => {
    const long = policy(pull({ AWS: '*' }, { Sid: `Pull${'x'.repeat(10_240)}` }));
    expect(await refusal(ecr, 'rules/app', long)).toBeInstanceOf(InvalidParameterException);
  });

  it('accepts the same statement without Resource, NotPrincipal with Deny, and (by default) a unique-id principal', async () => {
    expect(await refusal(ecr, 'rules/app', policy(pull({ AWS: '*' })))).toBe('accepted');
    expect(await refusal(ecr, 'rules/app', policy({ Sid: 'DenyOthers', Effect: 'Deny', NotPrincipal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'ecr:DeleteRepository' }))).toBe('accepted');
    expect(await refusal(ecr, 'rules/app', policy(pull({ AWS: DELETED_ROLE })))).toBe('accepted');
    const stored = await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'rules/app' }));
    expect(stored.policyText).toBe(policy(pull({ AWS: DELETED_ROLE })));
  });
});

describe('migrations on an emulator that refuses what ECR refuses', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'policy-rules-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates AES256 → KMS (customer key): the freeze carries no Resource and the saved policy comes back exactly', async () => {
    const aws = await startLocalAws();
    const ecr = new ECRClient(aws.clientConfig());
    const kms = new KMSClient(aws.clientConfig());
    const registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fid/app' }));
      await pushImage(ecr, 'fid/app', { layers: [randomBytes(4096, 1)], tags: ['v1'] });
      const saved = policy(pull({ AWS: `arn:aws:iam::${aws.account}:root` }));
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fid/app', policyText: saved }));
      const keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';

      const result = await registry.migrateRepository({ repositoryName: 'fid/app', encryption: { type: 'KMS', key: keyArn }, journal: memoryJournal() });

      expect(result._unsafeUnwrap()).toMatchObject({ changed: true, to: { type: 'KMS', keyArn } });
      expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'fid/app' }))).policyText).toBe(saved);
      // Every SetRepositoryPolicy of the migration was accepted (none answered 400).
      expect(aws.inspect.calls({ service: 'ecr', operation: 'SetRepositoryPolicy' }).filter((c) => c.status !== 200)).toEqual([]);
    } finally {
      registry.destroy();
      ecr.destroy();
      kms.destroy();
      await aws.stop();
    }
  });

  it('restores a saved policy naming a deleted role without it when ECR refuses it (GUESS variant), keeping the Deny that applies', async () => {
    // Prepare: the policy is set while ECR (the emulator) accepts the unique id, as it was written
    // before IAM replaced the deleted role's ARN; the emulator then restarts refusing unique ids.
    const dataDir = join(dir, 'unique-ids');
    const saved = policy(
      pull({ AWS: [DELETED_ROLE, 'arn:aws:iam::111122223333:root'] }),
      { Sid: 'OnlyDeleted', Effect: 'Allow', Principal: { AWS: 'AIDAEXAMPLEDELETED0002' }, Action: 'ecr:ListImages' },
      { Sid: 'DenyScans', Effect: 'Deny', Principal: '*', Action: 'ecr:StartImageScan' },
    );
    const first = await startLocalAws({ dataDir, credentials: CREDENTIALS });
    const seedEcr = new ECRClient(first.clientConfig());
    await seedEcr.send(new CreateRepositoryCommand({ repositoryName: 'fid/deleted' }));
    await pushImage(seedEcr, 'fid/deleted', { layers: [randomBytes(2048, 2)], tags: ['v1'] });
    await seedEcr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fid/deleted', policyText: saved }));
    seedEcr.destroy();
    await first.stop();

    const aws = await startLocalAws({ dataDir, credentials: CREDENTIALS, ecr: { repositoryPolicyUniqueIds: 'refuse' } });
    const ecr = new ECRClient(aws.clientConfig());
    const registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
    try {
      expect(await refusal(ecr, 'fid/deleted', saved)).toBeInstanceOf(InvalidParameterException);

      // Act
      const planned = await registry.planMigration({ repositoryName: 'fid/deleted', encryption: { type: 'KMS' } });
      const plan = planned._unsafeUnwrap();
      const result = await registry.migrateRepository({ repositoryName: 'fid/deleted', encryption: { type: 'KMS' }, journal: memoryJournal() });

      // Assess
      expect(plan.warnings.map((w) => w.code)).toContain('deletedPrincipals');
      const migrated = result._unsafeUnwrap();
      const cleaned = migrated.warnings.find((w) => w.code === 'repositoryPolicyCleaned');
      expect(cleaned?.message).toContain(DELETED_ROLE);
      expect(cleaned?.message).toContain('OnlyDeleted');
      const restored = JSON.parse((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'fid/deleted' }))).policyText ?? '{}') as { Statement: unknown[] };
      expect(restored.Statement).toEqual([
        pull({ AWS: 'arn:aws:iam::111122223333:root' }),
        { Sid: 'DenyScans', Effect: 'Deny', Principal: '*', Action: 'ecr:StartImageScan' },
      ]);
    } finally {
      registry.destroy();
      ecr.destroy();
      await aws.stop();
    }
  });

  it('stops typed and still frozen when ECR refuses the saved policy both ways, and a resume keeps the policy set since', async () => {
    // Prepare
    const aws = await startLocalAws();
    const ecr = new ECRClient(aws.clientConfig());
    const registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
    const refused = (): ApiError =>
      new ApiError('InvalidParameterException', "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'");
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'fid/refused' }));
      await pushImage(ecr, 'fid/refused', { layers: [randomBytes(2048, 4)], tags: ['v1'] });
      const saved = policy(pull({ AWS: [DELETED_ROLE, `arn:aws:iam::${aws.account}:root`] }));
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fid/refused', policyText: saved }));
      const journal = memoryJournal();
      const faults: { remove(): void }[] = [];

      // Act: ECR refuses the two SetRepositoryPolicy calls of the restore (saved, then cleaned).
      const result = await registry.migrateRepository({
        repositoryName: 'fid/refused',
        encryption: { type: 'KMS' },
        journal,
        onProgress: (p) => {
          if (p.step === 'restoreSettings' && p.status === 'started' && faults.length === 0) {
            faults.push(aws.faults.failNth('ecr:SetRepositoryPolicy', 1, refused()), aws.faults.failNth('ecr:SetRepositoryPolicy', 2, refused()));
          }
        },
      });

      // Assess: typed, resumable, and the repository still carries the freeze.
      const failed = result._unsafeUnwrapErr();
      expect(failed).toMatchObject({
        kind: 'MigrationFailed',
        step: 'restoreSettings',
        cause: { kind: 'RepositoryPolicyRefused', repositoryName: 'fid/refused', savedPolicy: saved, stillFrozen: true, reason: expect.stringContaining('Principal not found') as string },
      });
      expect(failed.kind === 'MigrationFailed' ? failed.state : '').toContain('and frozen (pushes, deletes and settings changes by others denied)');
      const live = (await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'fid/refused' }))).policyText ?? '';
      expect(live).toContain(FREEZE_SID);

      // The migrating principal sets the policy it wants (the freeze goes with it), ECR still refuses the saved text, and a resume finishes.
      for (const f of faults) f.remove();
      const chosen = policy(pull({ AWS: `arn:aws:iam::${aws.account}:root` }));
      await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: 'fid/refused', policyText: chosen, force: true }));
      aws.faults.failNth('ecr:SetRepositoryPolicy', 1, refused());
      const resumed = (await registry.resumeMigration({ journal }))._unsafeUnwrap();
      expect(resumed.warnings.map((w) => w.code)).toContain('repositoryPolicyKept');
      expect((await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'fid/refused' }))).policyText).toBe(chosen);
      expect((aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.startsWith('fid/refused-migrating-'))).toEqual([]);
    } finally {
      aws.faults.clear();
      registry.destroy();
      ecr.destroy();
      await aws.stop();
    }
  });

  it('names the staging repository so that a replication rule covering <name>-migrating-<id> does not cover it, and so does not warn', async () => {
    const aws = await startLocalAws();
    const ecr = new ECRClient(aws.clientConfig());
    // The emulator has no replication: the registry's client answers DescribeRegistry with a rule.
    const registryEcr = new ECRClient(aws.clientConfig());
    registryEcr.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'DescribeRegistryCommand') return next(args);
        const output: DescribeRegistryCommandOutput = {
          $metadata: {},
          registryId: aws.account,
          replicationConfiguration: {
            rules: [{ destinations: [{ region: 'eu-west-1', registryId: aws.account }], repositoryFilters: [{ filter: 'rep/app-mig', filterType: 'PREFIX_MATCH' }] }],
          },
        };
        return { output, response: {} };
      },
      { step: 'initialize', name: 'fakeReplication' },
    );
    const registry = new EncryptedRegistry({ clients: { ecr: registryEcr }, clientConfig: aws.clientConfig(), poll: POLL });
    try {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: 'rep/app' }));
      await pushImage(ecr, 'rep/app', { layers: [randomBytes(1024, 3)], tags: ['v1'] });
      expect((await registryEcr.send(new DescribeRegistryCommand({}))).replicationConfiguration?.rules).toHaveLength(1);

      const plan = (await registry.planMigration({ repositoryName: 'rep/app', encryption: { type: 'KMS' } }))._unsafeUnwrap();
      const result = (await registry.migrateRepository({ repositoryName: 'rep/app', encryption: { type: 'KMS' }, journal: memoryJournal() }))._unsafeUnwrap();

      // The rule does not cover rep/app itself, only its staging copy.
      for (const warnings of [plan.warnings, result.warnings]) {
        expect(warnings.filter((w) => w.code === 'replicationRule')).toEqual([]);
        expect(warnings.filter((w) => w.code === 'stagingReplicated')).toEqual([]);
      }
      expect(plan.replication.rulesRead).toBe(true);
      expect(plan.replication.stagingName.startsWith('rep/app-mig')).toBe(false);
      expect(result.stagingRepositoryName?.startsWith('rep/app-mig')).toBe(false);
    } finally {
      registry.destroy();
      registryEcr.destroy();
      ecr.destroy();
      await aws.stop();
    }
  });
});
