/**
 * The emulator's registry rules over real SDK clients: repository creation templates (CRUD,
 * prefix precedence, the custom role), create-on-push, replication (cross-region, cross-account
 * with the registry policy, filters) and pull-through cache rules. Issue 18.
 */
import {
  CreatePullThroughCacheRuleCommand,
  CreateRepositoryCreationTemplateCommand,
  DeletePullThroughCacheRuleCommand,
  DeleteRepositoryCreationTemplateCommand,
  DescribeImagesCommand,
  DescribePullThroughCacheRulesCommand,
  DescribeRegistryCommand,
  DescribeRepositoriesCommand,
  DescribeRepositoryCreationTemplatesCommand,
  ECRClient,
  GetRegistryPolicyCommand,
  KmsException,
  PullThroughCacheRuleAlreadyExistsException,
  PutRegistryPolicyCommand,
  PutReplicationConfigurationCommand,
  RegistryPolicyNotFoundException,
  RepositoryNotFoundException,
  TemplateAlreadyExistsException,
  TemplateNotFoundException,
  UpdateRepositoryCreationTemplateCommand,
  InvalidParameterException,
} from '@aws-sdk/client-ecr';
import type { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { A, B, ECR_TRUST, HOME, OTHER, TEMPLATE_ROLE_POLICY } from '../fixtures/registry-rules.js';
import { allow, createKey, kmsFor } from '../helpers/local-aws.js';

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
};

describe('registry rules in the emulator', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let kms: KMSClient;
  let key: { readonly arn: string };
  let roleArn: string;

  const ecrAs = (region: string, account = A): ECRClient =>
    new ECRClient({ ...aws.clientConfig({ region, ...(account === A ? {} : { credentials: aws.principals.root(account).credentials }) }), maxAttempts: 1 });

  beforeAll(async () => {
    aws = await startLocalAws({ regions: [HOME, OTHER], accounts: [A, B], minimumLayerPartSize: 1024 });
    ecr = ecrAs(HOME);
    kms = kmsFor(aws, undefined, HOME);
    key = await createKey(kms);
    roleArn = aws.principals.createRole('ecr-template-role', { trust: ECR_TRUST, policies: [TEMPLATE_ROLE_POLICY] }).arn;
  });
  afterAll(async () => {
    ecr.destroy();
    kms.destroy();
    await aws.stop();
  });

  it('creates, describes, updates and deletes templates, with the model\'s errors', async () => {
    const created = await ecr.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'crud', appliedFor: ['REPLICATION'], description: 'first' }),
    );
    expect(created.repositoryCreationTemplate).toMatchObject({ prefix: 'crud', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'AES256' } });
    expect(await rejection(ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'crud', appliedFor: ['REPLICATION'] })))).toBeInstanceOf(
      TemplateAlreadyExistsException,
    );
    // The model allows only a full key ARN in a template.
    expect(
      await rejection(
        ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'alias', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/app' } })),
      ),
    ).toBeInstanceOf(InvalidParameterException);
    // "This role must be in the same account as the registry."
    expect(
      await rejection(
        ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'role', appliedFor: ['REPLICATION'], customRoleArn: `arn:aws:iam::${B}:role/x` })),
      ),
    ).toBeInstanceOf(InvalidParameterException);
    const updated = await ecr.send(
      new UpdateRepositoryCreationTemplateCommand({ prefix: 'crud', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn }, customRoleArn: roleArn }),
    );
    expect(updated.repositoryCreationTemplate).toMatchObject({ description: 'first', encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn }, customRoleArn: roleArn });
    const listed = await ecr.send(new DescribeRepositoryCreationTemplatesCommand({ prefixes: ['crud'] }));
    expect(listed.repositoryCreationTemplates?.map((t) => t.prefix)).toEqual(['crud']);
    await ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'crud' }));
    expect(await rejection(ecr.send(new DeleteRepositoryCreationTemplateCommand({ prefix: 'crud' })))).toBeInstanceOf(TemplateNotFoundException);
  });

  it('create-on-push: no CREATE_ON_PUSH template, no repository; ROOT makes AES256; the most specific prefix wins with its KMS key and ECR\'s grants', async () => {
    const push = (name: string) => pushImage(ecr, name, { layers: [randomBytes(2048, name.length)], tags: ['v1'] });
    expect(await rejection(push('nothing/app'))).toBeInstanceOf(RepositoryNotFoundException);

    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'] }));
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({
        prefix: 'team',
        appliedFor: ['CREATE_ON_PUSH'],
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn },
        customRoleArn: roleArn,
        resourceTags: [{ Key: 'owner', Value: 'team' }],
      }),
    );
    await push('plain/app');
    await push('team/app');
    const { repositories = [] } = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['plain/app', 'team/app'] }));
    expect(repositories.map((r) => r.encryptionConfiguration)).toEqual([{ encryptionType: 'AES256' }, { encryptionType: 'KMS', kmsKey: key.arn }]);
    const teamArn = repositories[1]?.repositoryArn ?? '';
    const grants = aws.inspect.grants(key.arn).filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn'] === teamArn);
    expect(grants.length).toBeGreaterThanOrEqual(1);
    expect(grants.every((g) => g.granteePrincipal === `ecr.${HOME}.amazonaws.com`)).toBe(true);
    // ECR made them as the template's role, through ECR.
    const creates = aws.inspect.calls({ service: 'kms', operation: 'CreateGrant' }).filter((c) => c.principal?.includes(':assumed-role/ecr-template-role/') === true);
    expect(creates.length).toBe(2);
    expect(creates.every((c) => c.viaService === `ecr.${HOME}.amazonaws.com`)).toBe(true);
    // `teams/x` is not under `team/`: ROOT applies.
    await push('teams/x');
    const teams = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['teams/x'] }));
    expect(teams.repositories?.[0]?.encryptionConfiguration).toEqual({ encryptionType: 'AES256' });
  });

  it('create-on-push with a KMS template the role cannot use, or with no role, creates nothing', async () => {
    const weak = aws.principals.createRole('ecr-weak-role', { trust: ECR_TRUST, policies: [allow([['ecr:CreateRepository']])] }).arn;
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'weak', appliedFor: ['CREATE_ON_PUSH'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn }, customRoleArn: weak }),
    );
    await ecr.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'norole', appliedFor: ['CREATE_ON_PUSH'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key.arn } }),
    );
    for (const name of ['weak/app', 'norole/app']) {
      expect(await rejection(pushImage(ecr, name, { layers: [randomBytes(1024, 3)] }))).toBeInstanceOf(KmsException);
      expect(await rejection(ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] })))).toBeInstanceOf(RepositoryNotFoundException);
    }
  });

  it('create-on-push needs ecr:CreateRepository on the pusher (the default variant)', async () => {
    const pusher = aws.principals.createUser('pusher', {
      policies: [allow([['ecr:InitiateLayerUpload', 'ecr:UploadLayerPart', 'ecr:CompleteLayerUpload', 'ecr:PutImage', 'ecr:BatchCheckLayerAvailability']])],
    });
    const asPusher = new ECRClient({ ...aws.clientConfig({ region: HOME, credentials: pusher.credentials }), maxAttempts: 1 });
    const error = await rejection(pushImage(asPusher, 'denied/app', { layers: [randomBytes(1024, 4)] }));
    expect((error as Error).name).toBe('AccessDeniedException');
    asPusher.destroy();
  });

  it('replicates a push cross-region (AES256 without a template) and cross-account once the registry policy allows it, with that registry\'s template', async () => {
    await ecr.send(
      new PutReplicationConfigurationCommand({
        replicationConfiguration: {
          rules: [{ destinations: [{ region: OTHER, registryId: A }, { region: HOME, registryId: B }], repositoryFilters: [{ filter: 'rep', filterType: 'PREFIX_MATCH' }] }],
        },
      }),
    );
    const registry = await ecr.send(new DescribeRegistryCommand({}));
    expect(registry.replicationConfiguration?.rules?.[0]?.destinations).toHaveLength(2);
    const image = await pushImage(ecr, 'rep/app', { layers: [randomBytes(2048, 5)], tags: ['v1'] });

    const other = ecrAs(OTHER);
    const replica = await other.send(new DescribeRepositoriesCommand({ repositoryNames: ['rep/app'] }));
    expect(replica.repositories?.[0]?.encryptionConfiguration).toEqual({ encryptionType: 'AES256' });
    const images = await other.send(new DescribeImagesCommand({ repositoryName: 'rep/app' }));
    expect(images.imageDetails?.map((d) => [d.imageDigest, d.imageTags])).toEqual([[image.digest, ['v1']]]);

    // Account B has no registry policy: nothing reaches it.
    const b = ecrAs(HOME, B);
    expect(await rejection(b.send(new DescribeRepositoriesCommand({ repositoryNames: ['rep/app'] })))).toBeInstanceOf(RepositoryNotFoundException);
    expect(aws.inspect.ecr?.replications?.().some((r) => r.destination.registryId === B && !r.ok)).toBe(true);
    expect(await rejection(b.send(new GetRegistryPolicyCommand({})))).toBeInstanceOf(RegistryPolicyNotFoundException);

    const bKms = kmsFor(aws, aws.principals.root(B), HOME);
    const bKey = await createKey(bKms);
    const bRole = aws.principals.createRole('ecr-template-role', { account: B, trust: ECR_TRUST, policies: [TEMPLATE_ROLE_POLICY] }).arn;
    await b.send(
      new PutRegistryPolicyCommand({
        policyText: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${A}:root` }, Action: ['ecr:CreateRepository', 'ecr:ReplicateImage'], Resource: `arn:aws:ecr:${HOME}:${B}:repository/*` }],
        }),
      }),
    );
    await b.send(
      new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['REPLICATION'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: bKey.arn }, customRoleArn: bRole }),
    );
    await pushImage(ecr, 'rep/app', { layers: [randomBytes(2048, 6)], tags: ['v2'] });
    const inB = await b.send(new DescribeRepositoriesCommand({ repositoryNames: ['rep/app'] }));
    expect(inB.repositories?.[0]?.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: bKey.arn });
    expect(aws.inspect.ecr?.storedObjects(HOME, 'rep/app').filter((o) => o.encryptedWith === bKey.arn).length).toBeGreaterThan(0);

    // The filter: `other/x` is not replicated.
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'other', appliedFor: ['CREATE_ON_PUSH'] }));
    await pushImage(ecr, 'other/x', { layers: [randomBytes(1024, 7)] });
    expect(await rejection(other.send(new DescribeRepositoriesCommand({ repositoryNames: ['other/x'] })))).toBeInstanceOf(RepositoryNotFoundException);
    other.destroy();
    b.destroy();
    bKms.destroy();
  });

  it('stores pull-through cache rules', async () => {
    await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' }));
    expect(await rejection(ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ecr-public', upstreamRegistryUrl: 'public.ecr.aws' })))).toBeInstanceOf(
      PullThroughCacheRuleAlreadyExistsException,
    );
    const rules = await ecr.send(new DescribePullThroughCacheRulesCommand({}));
    expect(rules.pullThroughCacheRules?.map((r) => [r.ecrRepositoryPrefix, r.upstreamRegistryUrl, r.registryId])).toEqual([['ecr-public', 'public.ecr.aws', A]]);
    await ecr.send(new DeletePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'ecr-public' }));
    expect((await ecr.send(new DescribePullThroughCacheRulesCommand({}))).pullThroughCacheRules).toEqual([]);
  });
});
