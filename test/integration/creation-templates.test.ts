/**
 * Issue 18's done-when, on the emulator: a region whose ROOT template makes AES256 repositories
 * fails `audit --require cmk` with a finding naming the template; `ensureCreationTemplate` fixes
 * it and the audit passes; a repository created on push then gets the template's key and ECR's
 * grants. Also: a pull-through cache rule with no template, a KMS template without a role, a role
 * that may not create grants, and idempotency.
 */
import { CreatePullThroughCacheRuleCommand, CreateRepositoryCreationTemplateCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import type { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { allow, createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

const ECR_TRUST = {
  Version: '2012-10-17' as const,
  Statement: [{ Effect: 'Allow' as const, Principal: { Service: 'ecr.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

describe('creation templates: audit and ensureCreationTemplate', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let kms: KMSClient;
  let registry: EncryptedRegistry;
  let key: { readonly arn: string };
  let roleArn: string;

  beforeAll(async () => {
    aws = await startLocalAws({ regions: ['eu-west-1'], minimumLayerPartSize: 1024 });
    ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
    kms = kmsFor(aws);
    registry = registryFor(aws);
    key = await createKey(kms, { alias: 'alias/ecr-templates' });
    roleArn = aws.principals.createRole('ecr-template-role', {
      trust: ECR_TRUST,
      policies: [allow([['ecr:CreateRepository', 'ecr:ReplicateImage', 'ecr:TagResource']], [['kms:CreateGrant', 'kms:RetireGrant', 'kms:DescribeKey']])],
    }).arn;
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    kms.destroy();
    await aws.stop();
  });

  it('a ROOT template making AES256 fails audit --require cmk, naming the template; ensureCreationTemplate fixes it; a pushed repository gets the key and the grants', async () => {
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'] }));
    const before = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(before.status).toBe('fail');
    expect(before.compliant).toBe(false);
    const root = before.registryRules.rules.find((r) => r.rule === 'creation-template' && r.prefix === 'ROOT');
    expect(root).toMatchObject({ template: 'ROOT', status: 'fail', encryption: { type: 'AES256' } });
    expect(root?.violations[0]).toMatchObject({ code: 'not-kms' });
    expect(root?.violations[0]?.message).toContain("template 'ROOT'");
    // Under `any`, AES256 passes.
    expect((await registry.audit({ require: 'any' }))._unsafeUnwrap().status).toBe('pass');

    const ensured = (
      await registry.ensureCreationTemplate({ prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'], encryption: { type: 'KMS', key: 'alias/ecr-templates' }, customRoleArn: roleArn })
    )._unsafeUnwrap();
    expect(ensured).toMatchObject({ action: 'updated', template: { prefix: 'ROOT', encryption: { type: 'KMS', keyArn: key.arn }, customRoleArn: roleArn } });
    const again = (
      await registry.ensureCreationTemplate({ prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'], encryption: { type: 'KMS', key: key.arn }, customRoleArn: roleArn })
    )._unsafeUnwrap();
    expect(again.action).toBe('unchanged');

    const after = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(after.registryRules.rules.find((r) => r.prefix === 'ROOT')).toMatchObject({ status: 'pass', encryption: { type: 'KMS', keyArn: key.arn, keyManager: 'CUSTOMER' } });
    expect(after.status).toBe('pass');

    await pushImage(ecr, 'pushed/app', { layers: [randomBytes(2048, 1)], tags: ['v1'] });
    const { repositories = [] } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['pushed/app'] }));
    expect(repositories[0]?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: key.arn });
    const arn = repositories[0]?.repositoryArn ?? '';
    const grants = aws.inspect.grants(key.arn).filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn'] === arn);
    expect(grants.length).toBeGreaterThanOrEqual(1);
    expect(grants.every((g) => g.granteePrincipal === 'ecr.eu-west-1.amazonaws.com')).toBe(true);
    // And the audit still passes with the new repository in it.
    expect((await registry.audit({ require: 'cmk' }))._unsafeUnwrap().status).toBe('pass');
  });

  it('a pull-through cache rule no template covers: "new repositories here will be AES256"', async () => {
    await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'hub', upstreamRegistryUrl: 'registry-1.docker.io' }));
    const report = (await registry.audit({ require: 'kms' }))._unsafeUnwrap();
    const hub = report.registryRules.rules.find((r) => r.rule === 'pull-through-cache' && r.prefix === 'hub');
    expect(hub).toMatchObject({ status: 'fail', encryption: { type: 'AES256' }, violations: [{ code: 'no-template' }] });
    expect(hub?.violations[0]?.message).toContain('new repositories here will be AES256');
    expect(report.status).toBe('fail');
    (await registry.ensureCreationTemplate({ prefix: 'hub', appliedFor: ['PULL_THROUGH_CACHE'], encryption: { type: 'KMS', key: key.arn }, customRoleArn: roleArn }))._unsafeUnwrap();
    const fixed = (await registry.audit({ require: 'kms' }))._unsafeUnwrap();
    expect(fixed.registryRules.rules.find((r) => r.rule === 'pull-through-cache')).toMatchObject({ template: 'hub', status: 'pass' });
    expect(fixed.status).toBe('pass');
  });

  it('refuses a KMS template without a role, or with a role that may not create grants, before writing anything', async () => {
    const noRole = await registry.ensureCreationTemplate({ prefix: 'norole', appliedFor: ['REPLICATION'], encryption: { type: 'KMS', key: key.arn } });
    expect(noRole._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'customRoleArn' });
    const weak = aws.principals.createRole('ecr-weak-role', { trust: ECR_TRUST, policies: [allow([['ecr:CreateRepository']])] }).arn;
    const denied = await registry.ensureCreationTemplate({ prefix: 'weak', appliedFor: ['REPLICATION'], encryption: { type: 'KMS', key: key.arn }, customRoleArn: weak });
    expect(denied._unsafeUnwrapErr()).toMatchObject({ kind: 'MissingPermissions', principalArn: weak });
    expect((await registry.ensureCreationTemplate({ prefix: 'Bad Prefix', appliedFor: ['REPLICATION'], encryption: 'AES256' }))._unsafeUnwrapErr()).toMatchObject({
      kind: 'InvalidInput',
      field: 'prefix',
    });
    const bad = await registry.ensureCreationTemplate({ prefix: 'disabled', appliedFor: ['REPLICATION'], encryption: { type: 'KMS', key: 'alias/missing' }, customRoleArn: roleArn });
    expect(bad._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound' });
    const report = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(report.registryRules.rules.map((r) => r.prefix)).not.toContain('weak');

    // A KMS template written behind the library's back, with the weak role: the audit says so.
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'weak', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn }, customRoleArn: weak }),
    );
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'norole', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }));
    const flagged = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(flagged.registryRules.rules.find((r) => r.prefix === 'weak')?.violations.map((v) => v.code)).toContain('template-role-denied');
    expect(flagged.registryRules.rules.find((r) => r.prefix === 'norole')?.violations.map((v) => v.code)).toContain('template-role-missing');
    expect(flagged.status).toBe('fail');
  });
});
