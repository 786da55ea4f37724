/**
 * Fleet migration's key filters by alias on the emulator (real SDK clients over HTTP): `alias/…`,
 * alias ARNs and key ids resolved with DescribeKey to the key ARN ECR reports, `alias/aws/ecr`
 * through ListAliases, and an alias that names no key refused before any repository is listed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry, type RepositoryFilter } from '../../src/index.js';
import { type LocalAws, startLocalAws } from '../../src/testing/index.js';

describe('migrateRepositories key filters by alias on the local emulator', () => {
  let aws: LocalAws;
  let registry: EncryptedRegistry;
  let dir: string;
  let devKeyId: string;

  beforeAll(async () => {
    aws = await startLocalAws();
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig() });
    const kms = new KMSClient(aws.clientConfig());
    const ecr = new ECRClient(aws.clientConfig());
    const prod = (await kms.send(new CreateKeyCommand({ Description: 'prod' }))).KeyMetadata?.Arn ?? '';
    const dev = (await kms.send(new CreateKeyCommand({ Description: 'dev' }))).KeyMetadata;
    devKeyId = dev?.KeyId ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/ecr-prod', TargetKeyId: prod }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'keys/prod', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: prod } }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'keys/dev', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: dev?.Arn ?? '' } }));
    // KMS without a key: ECR uses (and creates) the AWS-managed aws/ecr key.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'keys/managed', encryptionConfiguration: { encryptionType: 'KMS' } }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'keys/plain' }));
    kms.destroy();
    ecr.destroy();
    dir = mkdtempSync(join(tmpdir(), 'fleet-aliases-'));
  });
  afterAll(async () => {
    registry.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const selected = async (where: RepositoryFilter) =>
    (await registry.migrateRepositories({ encryption: 'AES256', where: { ...where, name: 'keys/*' }, journal: join(dir, 'fleet.json'), planOnly: true })).map((r) =>
      r.plan.repositories.map((p) => p.repositoryName),
    );

  it('selects by alias, alias ARN, key id and alias/aws/ecr; an alias that names no key is KeyNotFound before any repository is listed', async () => {
    // Act
    const notProd = await selected({ notOnKeys: ['alias/ecr-prod'] });
    const prodByAliasArn = await selected({ onKeys: [`arn:aws:kms:${aws.region}:${aws.account}:alias/ecr-prod`] });
    const devById = await selected({ onKeys: [devKeyId] });
    const managed = await selected({ onKeys: ['alias/aws/ecr'] });
    const mark = aws.inspect.calls().length;
    const typo = await selected({ notOnKeys: ['alias/ecr-prdo'] });

    // Assess
    expect(notProd._unsafeUnwrap()).toEqual(['keys/dev', 'keys/managed', 'keys/plain']);
    expect(prodByAliasArn._unsafeUnwrap()).toEqual(['keys/prod']);
    expect(devById._unsafeUnwrap()).toEqual(['keys/dev']);
    expect(managed._unsafeUnwrap()).toEqual(['keys/managed']);
    expect(typo._unsafeUnwrapErr()).toMatchObject({ kind: 'KeyNotFound', key: 'alias/ecr-prdo' });
    expect(aws.inspect.calls().slice(mark).map((c) => c.operation)).toEqual(['DescribeKey']);
  });
});
