/**
 * Repositories ECR creates on your behalf (create-on-push, replication, pull-through cache) and
 * the replication of a push. One entry point each, so the registry API (`/v2/`) can call them too:
 * {@link createRepositoryOnBehalf}, {@link createOnPush}, {@link replicatePush}, {@link pullThroughCache}.
 *
 * What AWS documents (docs/aws-behaviour.md has the rows):
 * - templates define "the settings to use for repositories created by Amazon ECR on your behalf
 *   during pull through cache, create on push, or replication actions"; "This doesn't have any
 *   effect on any previously created repositories" (repository-creation-templates-create.html);
 * - without a matching template, defaults: "KMS encryption settings are disabled by default on all
 *   repositories created because of a replication action" (replication.md), i.e. AES256;
 * - a template using KMS needs a custom role that ECR assumes (trust `ecr.amazonaws.com`) allowed
 *   `kms:CreateGrant`, `kms:RetireGrant`, `kms:DescribeKey` (repository-creation-templates-custom.html,
 *   repository-creation-templates-create-iam.html): the grants are created as that role;
 * - cross-account replication needs the destination's registry policy to allow `ecr:ReplicateImage`
 *   and, to create the repository, `ecr:CreateRepository`; "By default, you have permission to
 *   configure cross-Region replication within your own registry" (registry-permissions.html);
 * - "If the destination repository's tag mutability is set to immutable and the tag exists, the
 *   image is replicated without its tag" (replication.md, aws-facts §7).
 */
import { randomUUID } from 'node:crypto';
import { ApiError, type CallContext, type Principal } from '../core.js';
import {
  encryptionContext, repositoryArn, repositoryDirectory, type EcrContext, type RegistryRef,
} from './context.js';
import { tagIsImmutable } from './images.js';
import { matchingTemplate, rulesOf } from './registry-rules.js';
import { prepareKms, storeRepository, variantsOf } from './repositories.js';
import type { AppliedFor, ImageRecord, RepositoryRecord } from './state.js';
import { own } from './state.js';
import { EMULATOR_KEY } from './storage.js';

const kmsRefusal = (message: string, kmsError: string): ApiError => new ApiError('KmsException', message, { fields: { kmsError } });

/** ECR's session of a template's custom role; the KMS calls ECR makes with it go through ECR (`kms:ViaService`). */
const roleContext = (ecr: EcrContext, roleArn: string, region: string): CallContext => {
  const assume = ecr.deps.assumeRoleAsEcr;
  if (assume === undefined) throw kmsRefusal(`ECR could not assume ${roleArn}: this emulator has no IAM`, 'AccessDeniedException');
  let principal: Principal;
  try {
    principal = assume(roleArn, region);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    // GUESS: how a role ECR cannot assume surfaces is undocumented; as KMS's refusal, like other creation failures.
    throw kmsRefusal(`ECR could not assume the template's role ${roleArn}: ${error.message}`, 'AccessDeniedException');
  }
  return { region, principal, requestId: randomUUID() };
};

/**
 * Creates `name` in the registry `ref` as ECR does on your behalf for `appliedFor`: with the
 * matching template's encryption, tags, tag mutability, repository and lifecycle policies, or with
 * the defaults (AES256, MUTABLE) when no template matches. A KMS template's grants are created as
 * its custom role. Throws {@link ApiError} (KmsException) when the key or the role refuse; then
 * nothing is created. Returns the existing repository if one appeared meanwhile.
 */
const createRepositoryOnBehalf = (ecr: EcrContext, ref: RegistryRef, name: string, appliedFor: AppliedFor): RepositoryRecord => {
  const existing = ecr.findRepository(ref, name);
  if (existing !== undefined) return existing;
  const template = matchingTemplate(rulesOf(ecr, ref).templates, name, appliedFor);
  const encryptionType = template?.encryptionType ?? 'AES256';
  let kms: { readonly keyArn: string; readonly grantIds: string[] } | undefined;
  if (template !== undefined && encryptionType !== 'AES256') {
    if (template.customRoleArn === undefined) {
      // GUESS (awsVariants.templateKmsWithoutRole = creation-fails): AWS requires a custom role for KMS templates but does not say what happens without one.
      throw kmsRefusal(`The repository creation template '${template.prefix}' uses KMS but has no customRoleArn: ECR cannot create the grants`, 'AccessDeniedException');
    }
    const ctx = roleContext(ecr, template.customRoleArn, ref.region);
    kms = prepareKms(ecr.deps.kms, ctx, repositoryArn(ref.region, ref.account, name), template.kmsKey, variantsOf(ecr).secondGrant);
  }
  return storeRepository(ecr, ref, name, {
    imageTagMutability: template?.imageTagMutability ?? 'MUTABLE',
    imageTagMutabilityExclusionFilters: template?.imageTagMutabilityExclusionFilters,
    scanOnPush: false,
    encryptionType,
    kmsKey: kms?.keyArn,
    grantIds: kms?.grantIds ?? [],
    tags: template?.resourceTags.map((tag) => ({ ...tag })) ?? [],
    policyText: template?.repositoryPolicy,
    lifecyclePolicyText: template?.lifecyclePolicy,
  });
};

/**
 * A push to a missing repository: created when a `CREATE_ON_PUSH` template matches its name (a
 * template is required: reported by classmethod.jp, 2025-12-21), in the caller's own registry
 * (GUESS), and, under `awsVariants.createOnPushPermission = pusher-needs-create` (the default,
 * reported by the same source), when the pusher may `ecr:CreateRepository` it. Returns undefined
 * (the push then fails with RepositoryNotFoundException) when no template matches.
 */
export const createOnPush = (ecr: EcrContext, ref: RegistryRef, name: string, ctx: CallContext): RepositoryRecord | undefined => {
  if (ref.account !== ctx.principal.account) return undefined;
  if (matchingTemplate(rulesOf(ecr, ref).templates, name, 'CREATE_ON_PUSH') === undefined) return undefined;
  if ((ecr.deps.awsVariants?.createOnPushPermission ?? 'pusher-needs-create') === 'pusher-needs-create') {
    ecr.authorize(ctx, 'CreateRepository', repositoryArn(ref.region, ref.account, name), ref);
  }
  return createRepositoryOnBehalf(ecr, ref, name, 'CREATE_ON_PUSH');
};

/** The source registry, as the destination's registry policy sees it (the policy names the source account). */
const sourceAccountContext = (account: string, region: string): CallContext => ({
  region,
  principal: { arn: `arn:aws:iam::${account}:root`, account, userId: account, type: 'root', accessKeyId: '' },
  requestId: randomUUID(),
});

/** Whether the destination registry's policy allows the source account `action` on the destination repository. */
const registryPolicyAllows = (ecr: EcrContext, source: RepositoryRecord, dest: RegistryRef, action: string): boolean => {
  const policyText = rulesOf(ecr, dest).policyText;
  if (policyText === undefined) return false;
  return ecr.deps.authorizer.isAllowed(sourceAccountContext(source.account, dest.region), `ecr:${action}`, repositoryArn(dest.region, dest.account, source.name), {
    resourcePolicy: JSON.parse(policyText) as never,
    resourceAccount: dest.account,
  });
};

/** Copies one blob into the destination, sealed with the destination's encryption. */
const copyBlob = (ecr: EcrContext, source: RepositoryRecord, dest: RepositoryRecord, digest: string): void => {
  if (own(dest.blobs, digest) !== undefined) return;
  const blob = own(source.blobs, digest);
  if (blob === undefined) throw new ApiError('LayersNotFoundException', `Layer ${digest} is missing in ${source.name}`);
  const bytes = ecr.store.openBuffer(blob.sealed, ecr.store.unsealKey(source.region, blob.sealed));
  const key = ecr.store.dataKey(dest.region, dest.kmsKey ?? EMULATOR_KEY, encryptionContext(dest, 'layer', digest));
  const sealed = ecr.store.sealBuffer(bytes, `${repositoryDirectory(dest)}/blobs/${digest.replace(':', '-')}`, key);
  dest.blobs[digest] = { digest, sealed, ...(blob.mediaType === undefined ? {} : { mediaType: blob.mediaType }) };
};

/** Copies one image (children first, then blobs, then the manifest) and its tag. */
const copyImage = (ecr: EcrContext, source: RepositoryRecord, dest: RepositoryRecord, image: ImageRecord, tag: string | undefined): void => {
  for (const child of image.children) {
    const childImage = own(source.images, child);
    if (childImage !== undefined) copyImage(ecr, source, dest, childImage, undefined);
  }
  for (const digest of image.blobs) copyBlob(ecr, source, dest, digest);
  let copied = own(dest.images, image.digest);
  if (copied === undefined) {
    const bytes = ecr.store.openBuffer(image.sealed, ecr.store.unsealKey(source.region, image.sealed));
    const key = ecr.store.dataKey(dest.region, dest.kmsKey ?? EMULATOR_KEY, encryptionContext(dest, 'manifest', image.digest));
    const sealed = ecr.store.sealBuffer(bytes, `${repositoryDirectory(dest)}/manifests/${image.digest.replace(':', '-')}`, key);
    copied = { ...structuredClone(image), sealed, tags: [], pushedAt: ecr.now(), sequence: dest.nextSequence++, status: 'ACTIVE' };
    delete copied.lastPulledAt;
    dest.images[image.digest] = copied;
  }
  if (tag === undefined || copied.tags.includes(tag)) return;
  const holder = Object.values(dest.images).find((i) => i.tags.includes(tag));
  // "the image is replicated without its tag" when the destination's tag is immutable and taken.
  if (holder !== undefined && tagIsImmutable(dest, tag)) return;
  if (holder !== undefined) holder.tags = holder.tags.filter((t) => t !== tag);
  copied.tags.push(tag);
};

/**
 * Whether a replication rule's filters take a repository. `PREFIX_MATCH` is "a repository name
 * prefix" (model doc of RepositoryFilter): GUESS that it is a plain string prefix (`prod` takes
 * `prod-api` as well as `prod/api`), the wider reading, so no replica is overlooked.
 */
const ruleTakes = (filters: readonly { readonly filter: string }[] | undefined, name: string): boolean =>
  filters === undefined || filters.length === 0 || filters.some((f) => name.startsWith(f.filter));

/**
 * Replicates a pushed image to every destination of the source registry's matching rules, as ECR
 * does after a push (AWS: asynchronously; here: at once). A failure is recorded in
 * `ecr.replications`, never fails the push. Replicated images are not replicated again.
 */
export const replicatePush = (ecr: EcrContext, source: RepositoryRecord, image: ImageRecord, tag: string | undefined): void => {
  const rules = rulesOf(ecr, { account: source.account, region: source.region }).replicationRules;
  const destinations = new Map<string, { readonly region: string; readonly registryId: string }>();
  for (const rule of rules) {
    if (!ruleTakes(rule.repositoryFilters, source.name)) continue;
    for (const d of rule.destinations) destinations.set(`${d.registryId}/${d.region}`, d);
  }
  for (const destination of destinations.values()) {
    const dest: RegistryRef = { account: destination.registryId, region: destination.region };
    try {
      const crossAccount = dest.account !== source.account;
      if (crossAccount && !registryPolicyAllows(ecr, source, dest, 'ReplicateImage')) {
        throw new ApiError('AccessDeniedException', `The registry policy of ${dest.account} in ${dest.region} does not allow ${source.account} ecr:ReplicateImage`);
      }
      let target = ecr.findRepository(dest, source.name);
      if (target === undefined) {
        if (crossAccount && !registryPolicyAllows(ecr, source, dest, 'CreateRepository')) {
          throw new ApiError('RepositoryNotFoundException', `${source.name} does not exist in ${dest.account} (${dest.region}) and its registry policy does not allow ${source.account} ecr:CreateRepository`);
        }
        target = createRepositoryOnBehalf(ecr, dest, source.name, 'REPLICATION');
      }
      copyImage(ecr, source, target, image, tag);
      ecr.replications.push({ source: source.arn, destination, digest: image.digest, ok: true });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      ecr.replications.push({ source: source.arn, destination, digest: image.digest, ok: false, error: `${error.code}: ${error.message}` });
    }
  }
};

/** An ECR private registry as a pull-through cache upstream (`<account>.dkr.ecr.<region>.amazonaws.com`). */
const ECR_UPSTREAM = /^(?:https:\/\/)?(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com\/?$/;

/**
 * A pull (`GET /v2/<name>/manifests/<reference>`) of a missing repository whose name starts with a
 * pull-through cache rule's `<ecrRepositoryPrefix>/`: ECR creates the repository with the
 * `PULL_THROUGH_CACHE` template's settings (AES256 without one) and caches the image from the
 * upstream. Only an upstream this emulator serves is modelled: an ECR private registry of the
 * emulator (`upstreamRegistryUrl` `<account>.dkr.ecr.<region>.amazonaws.com`, the image at
 * `<upstreamRepositoryPrefix>/<rest>` or `<rest>`). GUESS: the puller needs
 * `ecr:BatchImportUpstreamImage` and `ecr:CreateRepository` on the new repository (the IAM
 * permissions the ECR User Guide lists for pull through cache); the upstream is read without a
 * check of the rule's custom role; nothing is created when the upstream has no such image (the
 * pull then answers NAME_UNKNOWN). Returns the repository when it created one.
 */
export const pullThroughCache = (ecr: EcrContext, ref: RegistryRef, name: string, reference: string, ctx: CallContext): RepositoryRecord | undefined => {
  if (ref.account !== ctx.principal.account || ecr.findRepository(ref, name) !== undefined) return undefined;
  const rule = rulesOf(ecr, ref).pullThroughCacheRules.find((r) => name.startsWith(`${r.ecrRepositoryPrefix}/`));
  const upstream = rule === undefined ? null : ECR_UPSTREAM.exec(rule.upstreamRegistryUrl);
  if (rule === undefined || upstream === null) return undefined;
  const rest = name.slice(rule.ecrRepositoryPrefix.length + 1);
  const source = ecr.findRepository({ account: upstream[1] ?? '', region: upstream[2] ?? '' }, rule.upstreamRepositoryPrefix === undefined ? rest : `${rule.upstreamRepositoryPrefix}/${rest}`);
  const byDigest = reference.includes(':');
  const image = source === undefined ? undefined : byDigest ? own(source.images, reference) : Object.values(source.images).find((i) => i.tags.includes(reference));
  if (source === undefined || image === undefined) return undefined;
  const arn = repositoryArn(ref.region, ref.account, name);
  ecr.authorize(ctx, 'BatchImportUpstreamImage', arn, ref);
  ecr.authorize(ctx, 'CreateRepository', arn, ref);
  const created = createRepositoryOnBehalf(ecr, ref, name, 'PULL_THROUGH_CACHE');
  copyImage(ecr, source, created, image, byDigest ? undefined : reference);
  return created;
};
