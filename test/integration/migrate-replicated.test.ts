/**
 * Issue 18, done when: "A migration of a replicated repository to a CMK leaves no `-migrating-`
 * repository in any destination, and the plan listed the destination replicas and their
 * encryption beforehand." Replication to another region (same account) and to another account
 * (whose registry policy allows it, with a KMS template for REPLICATION), over real SDK clients.
 */
import { CreateRepositoryCommand, DescribeRepositoriesCommand, ECRClient, PutRegistryPolicyCommand, PutReplicationConfigurationCommand, CreateRepositoryCreationTemplateCommand, type ReplicationRule } from '@aws-sdk/client-ecr';
import type { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EncryptedRegistry, memoryJournal } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { A, B, ECR_TRUST, HOME, OTHER, TEMPLATE_ROLE_POLICY } from '../fixtures/registry-rules.js';
import { createKey, kmsFor, registryFor } from '../helpers/local-aws.js';

const DESTINATIONS = [{ region: OTHER, registryId: A }, { region: HOME, registryId: B }];

describe('migrating a replicated repository', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let otherEcr: ECRClient;
  let bEcr: ECRClient;
  let bKms: KMSClient;
  let registry: EncryptedRegistry;
  let cmk: string;
  let bKey: string;

  const ecrAs = (region: string, account = A): ECRClient =>
    new ECRClient({ ...aws.clientConfig({ region, ...(account === A ? {} : { credentials: aws.principals.root(account).credentials }) }), maxAttempts: 1 });

  /** Every repository of every registry whose name has `-migrating-`, as `<account>/<region>/<name>`. */
  const migratingAnywhere = (): string[] =>
    [HOME, OTHER].flatMap((region) =>
      (aws.inspect.ecr?.repositories(region) ?? []).filter((r) => r.repositoryName.includes('-migrating-')).map((r) => `${r.repositoryArn.split(':')[4] ?? '?'}/${region}/${r.repositoryName}`),
    );
  const encryptionIn = async (client: ECRClient, name: string): Promise<unknown> =>
    (await client.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.encryptionConfiguration;
  const replicate = (rules: ReplicationRule[]): Promise<unknown> => ecr.send(new PutReplicationConfigurationCommand({ replicationConfiguration: { rules } }));

  beforeAll(async () => {
    aws = await startLocalAws({ regions: [HOME, OTHER], accounts: [A, B], minimumLayerPartSize: 1024 });
    ecr = ecrAs(HOME);
    otherEcr = ecrAs(OTHER);
    bEcr = ecrAs(HOME, B);
    bKms = kmsFor(aws, aws.principals.root(B), HOME);
    registry = registryFor(aws, undefined, { region: HOME });
    const kms = kmsFor(aws, undefined, HOME);
    cmk = (await createKey(kms)).arn;
    kms.destroy();
    // Account B lets A replicate into it and create repositories there, with its own KMS template.
    bKey = (await createKey(bKms)).arn;
    const bRole = aws.principals.createRole('ecr-template-role', { account: B, trust: ECR_TRUST, policies: [TEMPLATE_ROLE_POLICY] }).arn;
    await bEcr.send(
      new PutRegistryPolicyCommand({
        policyText: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:${HOME}:${B}:repository/*` }],
        }),
      }),
    );
    await bEcr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: bKey }, customRoleArn: bRole }));
  });
  afterAll(async () => {
    registry.destroy();
    for (const c of [ecr, otherEcr, bEcr, bKms]) c.destroy();
    await aws.stop();
  });

  it('A migration of a replicated repository to a CMK leaves no `-migrating-` repository in any destination, and the plan listed the destination replicas and their encryption beforehand', async () => {
    // Prepare: a rule replicating `team` to another region and another account; the repository and its replicas.
    await replicate([{ destinations: DESTINATIONS, repositoryFilters: [{ filter: 'team', filterType: 'PREFIX_MATCH' }] }]);
    const name = 'team/replicated';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(2048, 1)], tags: ['v1'] });
    expect(await encryptionIn(otherEcr, name)).toEqual({ encryptionType: 'AES256' });
    expect(await encryptionIn(bEcr, name)).toEqual({ encryptionType: 'KMS', kmsKey: bKey });

    // Act: plan, then migrate.
    const plan = (await registry.planMigration({ repositoryName: name, encryption: { type: 'KMS', key: cmk }, replicaClients: { [OTHER]: otherEcr, [`${B}/${HOME}`]: bEcr } }))._unsafeUnwrap();
    const result = (await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS', key: cmk }, journal: memoryJournal() }))._unsafeUnwrap();

    // Assess: the plan listed both replicas with their encryption, said they keep it, and how to migrate each.
    expect(plan.replication.stagingName).toBe('encrypted-ecr-migrating-<id>');
    expect(plan.replication.stagingReplicatedTo).toEqual([]);
    expect(plan.replication.replicas).toEqual([
      expect.objectContaining({ region: OTHER, registryId: A, status: 'exists', encryption: { type: 'AES256' }, matchesTarget: false, migrateCommand: `encrypted-ecr migrate ${name} --region ${OTHER} --kms-key <a key of ${A} in ${OTHER}> --plan` }),
      expect.objectContaining({ region: HOME, registryId: B, status: 'exists', encryption: { type: 'KMS', kmsKey: bKey }, matchesTarget: false }),
    ]);
    expect(plan.replication.replicas[1]?.migrateCommand).toContain(`--profile <a profile of ${B}>`);
    expect(plan.warnings.filter((w) => w.code === 'replicaWeaker').map((w) => w.message)).toEqual([
      expect.stringContaining(`${A}/${OTHER} has AES256`),
      expect.stringContaining(`${B}/${HOME} has KMS with ${bKey}`),
    ]);
    expect(result.stagingRepositoryName).toMatch(/^encrypted-ecr-migrating-[0-9a-f]{12}$/);
    expect(await encryptionIn(ecr, name)).toEqual({ encryptionType: 'KMS', kmsKey: cmk });
    expect(migratingAnywhere()).toEqual([]);
    expect(aws.inspect.ecr?.replications?.().filter((r) => r.source.includes('-migrating-'))).toEqual([]);
  });

  it('when a rule without filters covers every staging name, the plan names the destinations and the migration deletes the staging replicas there', async () => {
    // Prepare: every repository is replicated.
    await replicate([{ destinations: DESTINATIONS }]);
    const name = 'all/replicated';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(2048, 2)], tags: ['v1'] });
    const clients = { replicaClients: { [OTHER]: otherEcr, [`${B}/${HOME}`]: bEcr }, replicaKmsClients: { [`${B}/${HOME}`]: bKms } };

    // Act
    const plan = (await registry.planMigration({ repositoryName: name, encryption: { type: 'KMS', key: cmk }, ...clients }))._unsafeUnwrap();
    const result = (await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS', key: cmk }, journal: memoryJournal(), ...clients }))._unsafeUnwrap();

    // Assess: the plan said where staging copies appear; replication made them; the migration removed them, grants verified.
    expect(plan.replication.stagingName).toBe(`${name}-migrating-<id>`);
    expect(plan.replication.stagingReplicatedTo).toEqual(DESTINATIONS);
    expect(plan.warnings.map((w) => w.code)).toContain('stagingReplicated');
    const staging = result.stagingRepositoryName ?? '';
    expect(aws.inspect.ecr?.replications?.().filter((r) => r.source.endsWith(`/${staging}`) && r.ok).map((r) => `${r.destination.registryId}/${r.destination.region}`)).toEqual(
      expect.arrayContaining([`${A}/${OTHER}`, `${B}/${HOME}`]),
    );
    expect(migratingAnywhere()).toEqual([]);
    expect(result.warnings.filter((w) => w.code === 'stagingReplicas' || w.code === 'grantsRemain')).toEqual([]);
    const inB = registryFor(aws, aws.principals.root(B), { region: HOME });
    const orphans = (await inB.findOrphanedGrants({ keys: [bKey] }))._unsafeUnwrap();
    inB.destroy();
    expect(orphans.keys.map((k) => k.orphans)).toEqual([[]]);
  });

  it('without a client for a destination, the staging replica there is named in a warning, never left silently; another region of the same account needs none', async () => {
    // Prepare
    await replicate([{ destinations: DESTINATIONS }]);
    const name = 'all/unreachable';
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(2048, 3)], tags: ['v1'] });

    // Act: no client given: the registry reaches the other region of its own account with its own credentials.
    const result = (await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS', key: cmk }, journal: memoryJournal() }))._unsafeUnwrap();

    // Assess: deleted where it could be (A's other region), named where it could not (account B).
    const staging = result.stagingRepositoryName ?? '';
    expect(migratingAnywhere()).toEqual([`${B}/${HOME}/${staging}`]);
    const left = result.warnings.filter((w) => w.code === 'stagingReplicas');
    expect(left).toHaveLength(1);
    expect(left[0]?.message).toContain(`${staging} in ${B}/${HOME} was left: no ECR client for ${B}/${HOME}`);
  });
});
