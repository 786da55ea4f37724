/**
 * Shared by the migration tests: a repository with everything a migration must keep, and a
 * comparable picture of a repository (images, manifests, tags, settings).
 */
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { MEDIA_TYPES, pushImage, randomBytes, seedRealisticRepository } from '../../src/testing/index.js';

export const LIFECYCLE_POLICY = JSON.stringify({
  rules: [
    {
      rulePriority: 1,
      description: 'keep the last 50 untagged images',
      selection: { tagStatus: 'untagged', countType: 'imageCountMoreThan', countNumber: 50 },
      action: { type: 'expire' },
    },
  ],
});

export const repositoryPolicy = (account: string): string =>
  JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowPullFromTheAccount',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${account}:root` },
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      },
    ],
  });

/**
 * Creates `name` (AES256, immutable tags, scan on push, tags, a repository and a lifecycle policy)
 * and fills it with an index and its children, a Docker v2 image, untagged images and a referrer.
 */
export const createFullRepository = async (
  ecr: ECRClient,
  account: string,
  name: string,
  options: { readonly layerBytes?: number; readonly seed?: number; readonly extraUntagged?: number } = {},
): Promise<void> => {
  await ecr.send(
    new CreateRepositoryCommand({
      repositoryName: name,
      imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
      imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest' }],
      imageScanningConfiguration: { scanOnPush: true },
      tags: [
        { Key: 'team', Value: 'platform' },
        { Key: 'cost-center', Value: '42' },
      ],
    }),
  );
  const seed = options.seed ?? 1;
  await seedRealisticRepository(ecr, name, { layerBytes: options.layerBytes ?? 48 * 1024, seed });
  for (let i = 0; i < (options.extraUntagged ?? 1); i++) {
    await pushImage(ecr, name, { layers: [randomBytes(8 * 1024, seed * 100 + i)], label: `extra-${i}` });
  }
  await ecr.send(new SetRepositoryPolicyCommand({ repositoryName: name, policyText: repositoryPolicy(account) }));
  await ecr.send(new PutLifecyclePolicyCommand({ repositoryName: name, lifecyclePolicyText: LIFECYCLE_POLICY }));
};

/** Everything that must be identical before and after a migration. */
export interface RepositoryPicture {
  readonly images: Record<string, { readonly tags: readonly string[]; readonly manifest: string | undefined; readonly mediaType: string | undefined }>;
  readonly settings: {
    readonly repositoryPolicy: string | undefined;
    readonly lifecyclePolicy: string | undefined;
    readonly imageTagMutability: string | undefined;
    readonly exclusionFilters: readonly string[];
    readonly scanOnPush: boolean | undefined;
    readonly tags: readonly string[];
  };
  readonly encryption: { readonly type: string | undefined; readonly kmsKey: string | undefined };
  readonly arn: string | undefined;
}

const missing = async <T>(call: Promise<T>): Promise<T | undefined> => {
  try {
    return await call;
  } catch (error) {
    if (error instanceof Error && /NotFoundException$/.test(error.name)) return undefined;
    throw error;
  }
};

/** The repository as the ECR API shows it. */
export const pictureOf = async (ecr: ECRClient, name: string): Promise<RepositoryPicture> => {
  const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
  const details = (await ecr.send(new DescribeImagesCommand({ repositoryName: name, filter: { tagStatus: 'ANY' }, maxResults: 1000 }))).imageDetails ?? [];
  const digests = details.flatMap((d) => (d.imageDigest ? [d.imageDigest] : []));
  const got =
    digests.length === 0
      ? []
      : ((
          await ecr.send(
            new BatchGetImageCommand({
              repositoryName: name,
              imageIds: digests.map((imageDigest) => ({ imageDigest })),
              acceptedMediaTypes: [...Object.values(MEDIA_TYPES)],
            }),
          )
        ).images ?? []);
  const images: Record<string, { tags: string[]; manifest: string | undefined; mediaType: string | undefined }> = {};
  for (const d of details) {
    const image = got.find((i) => i.imageId?.imageDigest === d.imageDigest);
    images[d.imageDigest ?? ''] = { tags: [...(d.imageTags ?? [])].sort(), manifest: image?.imageManifest, mediaType: image?.imageManifestMediaType };
  }
  const policy = await missing(ecr.send(new GetRepositoryPolicyCommand({ repositoryName: name })));
  const lifecycle = await missing(ecr.send(new GetLifecyclePolicyCommand({ repositoryName: name })));
  const tags = (await ecr.send(new ListTagsForResourceCommand({ resourceArn: repo?.repositoryArn }))).tags ?? [];
  return {
    images,
    settings: {
      repositoryPolicy: policy?.policyText,
      lifecyclePolicy: lifecycle?.lifecyclePolicyText,
      imageTagMutability: repo?.imageTagMutability,
      exclusionFilters: (repo?.imageTagMutabilityExclusionFilters ?? []).map((f) => f.filter ?? ''),
      scanOnPush: repo?.imageScanningConfiguration?.scanOnPush,
      tags: tags.map((t) => `${t.Key}=${t.Value}`).sort(),
    },
    encryption: { type: repo?.encryptionConfiguration?.encryptionType, kmsKey: repo?.encryptionConfiguration?.kmsKey },
    arn: repo?.repositoryArn,
  };
};
