/**
 * API calls: a repository shaped like real ones (plain images with one or two tags or none, layers
 * shared between images, a few multi-part layers, a multi-arch index with its children, a Docker
 * v2 image and a signature referrer) migrated by `migrateRepository` (AES256 → KMS customer key,
 * in-memory journal), counting every call the emulator served for the caller against the fewest
 * the API's batch and page limits allow for the same work: both copy passes (into staging and
 * back), the listings and verifications, and the repository steps.
 */
import { PART_SIZE } from '../src/testing/emulator/ecr/layers.js';
import { pushImage, seedRealisticRepository, streamedBlob, type PushedImage } from '../src/testing/index.js';
import { createKey, createRepository, inParallel, layerSeed, seedImages, startBenchAws } from './lib/env.js';
import { libraryMigration } from './lib/engine.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

/** ECR's batch and page limits (aws-facts §6). */
const DESCRIBE_IMAGES_PAGE = 1000;
const BATCH_GET_IMAGE = 100;
const BATCH_CHECK_LAYERS = 100;

const PER_IMAGE = ['ecr:DescribeImages', 'ecr:BatchGetImage', 'ecr:PutImage'] as const;
// Layer bytes travel over the registry API (/v2/: POST, one PATCH of the whole blob, PUT ?digest=),
// as docker and skopeo push them, after one GetAuthorizationToken per migration; the JSON API's
// InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload are the fallback and count too.
const PER_BLOB = [
  'ecr:GetAuthorizationToken',
  'ecr:BatchCheckLayerAvailability',
  'ecr:GetDownloadUrlForLayer',
  'http:download',
  'registry:POST',
  'registry:PUT',
  'ecr:InitiateLayerUpload',
  'ecr:CompleteLayerUpload',
] as const;
const PER_PART = ['registry:PATCH', 'ecr:UploadLayerPart'] as const;

const ceil = (n: number, per: number): number => Math.ceil(n / per);

/**
 * The fewest image and blob calls of one migration of these images and blobs. A migration lists
 * the repository five times (before changing anything, for archived images; the snapshot after
 * the freeze; the verification of staging; again just before deleting the original, for images
 * pushed after the snapshot; the verification of the recreated repository) and the recreated
 * repository once more while it is empty (one page), reads every manifest
 * three times (snapshot and both verifications), checks blob availability four times (before
 * each copy and in each verification), and moves every blob and manifest twice.
 */
export const minimumCalls = (images: readonly PushedImage[], blobs: ReadonlyMap<string, number>): Record<string, number> => {
  const n = images.length;
  const b = blobs.size;
  return {
    // …plus one page listing the recreated repository, still empty, once it is frozen: whatever
    // was pushed in the one call before the freeze must be found before copying back.
    'ecr:DescribeImages': 5 * ceil(n, DESCRIBE_IMAGES_PAGE) + 1,
    'ecr:BatchGetImage': 3 * ceil(n, BATCH_GET_IMAGE),
    // One PutImage carries one tag; an untagged image still needs one. Into staging and back.
    'ecr:PutImage': 2 * images.reduce((sum, i) => sum + Math.max(1, i.tags.length), 0),
    'ecr:BatchCheckLayerAvailability': 4 * ceil(b, BATCH_CHECK_LAYERS),
    'ecr:GetDownloadUrlForLayer': 2 * b,
    'http:download': 2 * b,
    'ecr:GetAuthorizationToken': 1,
    'registry:POST': 2 * b,
    'registry:PATCH': 2 * b,
    'registry:PUT': 2 * b,
  };
};

/**
 * The fewest calls of the repository steps of a migration from AES256 (no repository policy, no
 * lifecycle policy, mutable tags) to a KMS customer key, each for what the step must establish:
 * - read the original and the settings to keep: DescribeRepositories, GetRepositoryPolicy,
 *   GetLifecyclePolicy, ListTagsForResource;
 * - registry rules that could recreate the name while it is free: DescribeRegistry,
 *   DescribeRepositoryCreationTemplates, DescribePullThroughCacheRules;
 * - the target key's preflight, once (the same key both times): GetCallerIdentity, DescribeKey,
 *   GetKeyPolicy, ListGrants and SimulatePrincipalPolicy × 3: the ECR actions on the repository;
 *   `kms:CreateGrant` in the context of ECR's CreateGrant; `kms:DescribeKey` and `kms:RetireGrant`
 *   in ECR's forwarded context. A simulation takes one set of context entries for all its actions,
 *   so they cannot share a call: the grant's keys (`kms:GrantIsForAWSResource`,
 *   `kms:GrantOperations`, …) would satisfy conditions on DescribeKey and RetireGrant that a real
 *   request of theirs never carries, and `kms:ViaService` conditions on the ECR actions (was 2);
 * - freeze: SetRepositoryPolicy; create staging: CreateRepository (tags inline);
 * - delete the original: DeleteRepository (AES256: no grant to verify);
 * - recreate: CreateRepository (scan-on-push, mutability, tags inline) and SetRepositoryPolicy
 *   (the freeze again);
 * - settings: the original had no policy, so DeleteRepositoryPolicy lifts the freeze;
 * - delete staging: DeleteRepository and one ListGrants to verify ECR's grants are retired.
 *
 * What a migration makes above it, and why (36 calls against 22; `test/integration/migrate-calls.test.ts`
 * pins them): the freeze's claim reads the policy before writing it and twice after
 * (GetRepositoryPolicy + 3; last writer wins, ECR has no conditional write), and reads the
 * lifecycle policy again once frozen (+ 1); each creation reads the repository back to verify the
 * encryption ECR echoes and waits for ECR's grants (DescribeRepositories + 2, ListGrants + 2);
 * each deletion reads the repository again just before (DescribeRepositories + 2: the original
 * must still be the incarnation snapshotted, staging ours) and checks no other migration froze it
 * (GetRepositoryPolicy + 2); staging's deletion counts its images (ListImages + 1) and lists the
 * key's grants before deleting (ListGrants + 1) to tell its own from a successor's.
 */
export const REPOSITORY_STEPS_MINIMUM: Readonly<Record<string, number>> = {
  'ecr:DescribeRepositories': 1,
  'ecr:GetRepositoryPolicy': 1,
  'ecr:GetLifecyclePolicy': 1,
  'ecr:ListTagsForResource': 1,
  'ecr:DescribeRegistry': 1,
  'ecr:DescribeRepositoryCreationTemplates': 1,
  'ecr:DescribePullThroughCacheRules': 1,
  'sts:GetCallerIdentity': 1,
  'kms:DescribeKey': 1,
  'kms:GetKeyPolicy': 1,
  'kms:ListGrants': 2,
  'iam:SimulatePrincipalPolicy': 3,
  'ecr:SetRepositoryPolicy': 2,
  'ecr:CreateRepository': 2,
  'ecr:DeleteRepository': 2,
  'ecr:DeleteRepositoryPolicy': 1,
};

export const calls: Bench = async (sizes, log) => {
  const { images, multipartLayers } = sizes.calls;
  const env = await startBenchAws();
  try {
    const key = await createKey(env.kms, 'calls target');
    await createRepository(env.ecr, 'bench/source');
    // Plain images: every third untagged, every fifth with a second tag; the first
    // `multipartLayers` carry a 25 MiB layer (3 parts).
    const plan = Array.from({ length: images }, (_, i) => ({
      layers: [i < multipartLayers ? 25 * MiB : 48 * 1024 + i],
      tags: i % 3 === 2 ? [] : i % 5 === 0 ? [`v${i}`, `stable-${i}`] : [`v${i}`],
    }));
    const base = await seedImages(env.seedEcr, 'bench/source', plan, 4);
    // Shared layers: one more image over the layer of every tenth plain image (stored once).
    const sharing = Array.from({ length: Math.ceil(images / 10) }, (_, g) => multipartLayers + g * 10).filter((k) => k < images);
    const shared = await inParallel(sharing, 4, (k) =>
      pushImage(env.seedEcr, 'bench/source', { layers: [streamedBlob(plan[k]?.layers[0] ?? 0, layerSeed(4, k, 0))], tags: [`shared-${k}`], label: `shared-${k}` }),
    );
    const realistic = await seedRealisticRepository(env.seedEcr, 'bench/source', { layerBytes: 32 * 1024, seed: 99 });
    const pushed = [...base.images, ...shared, ...realistic.images];
    const unique = new Map<string, PushedImage>(pushed.map((i) => [i.digest, i]));
    const all = [...unique.values()];
    const blobs = new Map<string, number>();
    for (const image of all) for (const blob of image.blobs) blobs.set(blob.digest, blob.size);
    log(`seeded ${all.length} images, ${blobs.size} unique blobs`);

    const mark = env.aws.inspect.calls().length;
    await libraryMigration(env.registry, 'bench/source', key, 8);
    // The caller's calls and the downloads; ECR's own KMS calls (grants, a data key per stored
    // object, a decrypt per read: made as ECR or through ECR on the caller's behalf) are kept
    // apart: they count against the account's KMS quota, not here.
    const caller = env.aws.principals.default.arn;
    const served = env.aws.inspect.calls().slice(mark);
    const made = served.filter((c) => c.service === 'http' || (c.principal === caller && c.viaService === undefined));
    const onBehalf: Record<string, number> = {};
    for (const call of served.filter((c) => !made.includes(c))) onBehalf[`${call.service}:${call.operation}`] = (onBehalf[`${call.service}:${call.operation}`] ?? 0) + 1;
    const counts: Record<string, number> = {};
    for (const call of made) {
      const method = call.operation.split(' ')[0] ?? '';
      const name = call.service !== 'http' ? `${call.service}:${call.operation}` : call.operation.includes('/blobs/uploads') ? `registry:${method}` : 'http:download';
      counts[name] = (counts[name] ?? 0) + 1;
    }
    const minimum = minimumCalls(all, blobs);
    const partCount = 2 * [...blobs.values()].reduce((sum, size) => sum + Math.max(1, ceil(size, PART_SIZE)), 0);
    // Blob and part counts per migration: every blob and part moves twice.
    const sum = (names: readonly string[], from: Record<string, number>): number => names.reduce((s, n) => s + (from[n] ?? 0), 0);
    const known = new Set<string>([...PER_IMAGE, ...PER_BLOB, ...PER_PART]);
    const other = Object.fromEntries(Object.entries(counts).filter(([name]) => !known.has(name)));
    const parts = minimum['registry:PATCH'] ?? 0;
    const figure = (id: string, label: string, names: readonly string[], per: number, perName: string): Figure => {
      const actual = sum(names, counts);
      const least = sum(names, minimum);
      return {
        id,
        bench: 'calls',
        label,
        value: actual / per,
        unit: `calls/${perName}`,
        target: `1.0× minimum (${(least / per).toFixed(3)})`,
        ratio: actual / least,
        pass: actual <= least,
        detail: { actual: Object.fromEntries(names.map((n) => [n, counts[n] ?? 0])), minimum: Object.fromEntries(names.map((n) => [n, minimum[n] ?? 0])), [`${perName}s`]: per },
      };
    };
    const stepsActual = Object.values(other).reduce((a, b) => a + b, 0);
    const stepsMinimum = Object.values(REPOSITORY_STEPS_MINIMUM).reduce((a, b) => a + b, 0);
    const totalActual = made.length;
    const totalMinimum = Object.values(minimum).reduce((a, b) => a + b, 0) + stepsMinimum;
    return [
      figure('calls.perImage', `DescribeImages + BatchGetImage + PutImage per image (${all.length} images, moved twice)`, PER_IMAGE, all.length, 'image'),
      figure('calls.perBlob', `availability, URL, download, upload start and end per blob (${blobs.size} blobs, moved twice; one registry login)`, PER_BLOB, blobs.size, 'blob'),
      figure('calls.perPart', `requests carrying layer bytes: one PATCH per blob moved (${parts}: ${parts / 2} blobs twice; ${partCount} UploadLayerPart parts of ≤ ${PART_SIZE / MiB} MiB on the fallback path)`, PER_PART, parts, 'part'),
      {
        id: 'calls.repositorySteps',
        bench: 'calls',
        label: `repository steps (freeze, preflight, staging, delete, recreate, settings), minimum ${stepsMinimum}`,
        value: stepsActual,
        unit: 'calls',
        ratio: stepsActual / stepsMinimum,
        detail: { actual: other, minimum: REPOSITORY_STEPS_MINIMUM },
      },
      {
        id: 'calls.total',
        bench: 'calls',
        label: 'every call of migrateRepository (both passes, listings, verifications, repository steps)',
        value: totalActual,
        unit: 'calls',
        // The excess over the minimum is the repository steps' fixed cost (issue 16: ≤ 1.05×).
        target: `≤ 1.05× minimum (${totalMinimum})`,
        ratio: totalActual / totalMinimum,
        pass: totalActual <= 1.05 * totalMinimum,
        detail: { counts, minimum: { ...minimum, ...REPOSITORY_STEPS_MINIMUM }, byEcrOnCallersBehalf: onBehalf },
      },
    ] satisfies Figure[];
  } finally {
    await env.stop();
  }
};
