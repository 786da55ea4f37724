/**
 * Pull-through cache on the emulator: the first `/v2/` pull of `<prefix>/<name>` creates the
 * repository with the PULL_THROUGH_CACHE template's encryption (AES256 without one) and caches the
 * image from the upstream, here an ECR private registry the emulator serves. Issue 18.
 */
import { CreatePullThroughCacheRuleCommand, CreateRepositoryCommand, CreateRepositoryCreationTemplateCommand, DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient, GetAuthorizationTokenCommand } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { A, ECR_TRUST, HOME, TEMPLATE_ROLE_POLICY } from '../fixtures/registry-rules.js';
import { allow, createKey, kmsFor } from '../helpers/local-aws.js';

const UPSTREAM = `${A}.dkr.ecr.${HOME}.amazonaws.com`;
const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

describe('pull-through cache in the emulator', () => {
  let aws: LocalAws;
  let ecr: ECRClient;

  const pull = async (client: ECRClient, name: string, reference: string): Promise<number> => {
    const token = (await client.send(new GetAuthorizationTokenCommand({}))).authorizationData?.[0]?.authorizationToken ?? '';
    const answer = await fetch(`${aws.endpoint}/v2/${name}/manifests/${reference}`, { headers: { authorization: `Basic ${token}`, accept: MANIFEST_TYPES } });
    await answer.arrayBuffer();
    return answer.status;
  };
  const encryptionOf = async (name: string): Promise<unknown> => (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0]?.encryptionConfiguration;

  beforeAll(async () => {
    aws = await startLocalAws({ regions: [HOME], accounts: [A], minimumLayerPartSize: 1024 });
    ecr = new ECRClient({ ...aws.clientConfig({ region: HOME }), maxAttempts: 1 });
    // The upstream: an ECR repository of the emulator.
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'upstream/base' }));
    await pushImage(ecr, 'upstream/base', { layers: [randomBytes(2048, 9)], tags: ['v1'] });
    await ecr.send(new CreatePullThroughCacheRuleCommand({ ecrRepositoryPrefix: 'cache', upstreamRegistryUrl: UPSTREAM, upstreamRepositoryPrefix: 'upstream' }));
  });
  afterAll(async () => {
    ecr.destroy();
    await aws.stop();
  });

  it('the first pull of <prefix>/<name> creates the repository: AES256 without a PULL_THROUGH_CACHE template, the template\'s KMS key with one', async () => {
    // Act: no template.
    expect(await pull(ecr, 'cache/base', 'v1')).toBe(200);

    // Assess: created with ECR's default, the image cached with its tag.
    expect(await encryptionOf('cache/base')).toEqual({ encryptionType: 'AES256' });
    const images = await ecr.send(new DescribeImagesCommand({ repositoryName: 'cache/base' }));
    expect(images.imageDetails?.map((d) => d.imageTags)).toEqual([['v1']]);

    // Prepare: a KMS template for PULL_THROUGH_CACHE, and another upstream image.
    const kms = kmsFor(aws, undefined, HOME);
    const key = (await createKey(kms)).arn;
    kms.destroy();
    const role = aws.principals.createRole('ptc-template-role', { trust: ECR_TRUST, policies: [TEMPLATE_ROLE_POLICY] }).arn;
    await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'cache', appliedFor: ['PULL_THROUGH_CACHE'], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: key }, customRoleArn: role }));
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'upstream/tool' }));
    await pushImage(ecr, 'upstream/tool', { layers: [randomBytes(2048, 10)], tags: ['latest'] });

    // Act + Assess: the template's key, and the cached objects sealed with it.
    expect(await pull(ecr, 'cache/tool', 'latest')).toBe(200);
    expect(await encryptionOf('cache/tool')).toEqual({ encryptionType: 'KMS', kmsKey: key });
    expect(new Set(aws.inspect.ecr?.storedObjects(HOME, 'cache/tool').map((o) => o.encryptedWith))).toEqual(new Set([key]));
  });

  it('creates nothing for a name outside the prefix, an image the upstream lacks, or a puller without ecr:CreateRepository', async () => {
    expect(await pull(ecr, 'other/base', 'v1')).toBe(404);
    expect(await pull(ecr, 'cache/missing', 'v1')).toBe(404);
    const reader = aws.principals.createUser('ptc-reader', { policies: [allow([['ecr:GetAuthorizationToken', 'ecr:BatchGetImage', 'ecr:BatchImportUpstreamImage']])] });
    const asReader = new ECRClient({ ...aws.clientConfig({ region: HOME, credentials: reader.credentials }), maxAttempts: 1 });
    await ecr.send(new CreateRepositoryCommand({ repositoryName: 'upstream/third' }));
    await pushImage(ecr, 'upstream/third', { layers: [randomBytes(1024, 11)], tags: ['v1'] });
    expect(await pull(asReader, 'cache/third', 'v1')).toBe(403);
    asReader.destroy();
    const names = (aws.inspect.ecr?.repositories(HOME) ?? []).map((r) => r.repositoryName);
    expect(names.filter((n) => ['other/base', 'cache/missing', 'cache/third'].includes(n))).toEqual([]);
    // The same pull by a principal that may create it does.
    expect(await pull(ecr, 'cache/third', 'v1')).toBe(200);
  });
});
