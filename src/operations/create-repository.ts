/**
 * `createEncryptedRepository`: preflight, create with the canonical key ARN, apply the settings
 * (undoing the creation if one fails), then verify what ECR and KMS report.
 */
import type { GrantListEntry } from '@aws-sdk/client-kms';
import type { CreateRepositoryCommandInput, Repository } from '@aws-sdk/client-ecr';
import { err, errAsync, ok, okAsync, type ResultAsync, safeTry } from 'neverthrow';
import { type CreateEncryptedRepositoryError, type EncryptionMismatch, isRetryable, type RegistryError, type RollbackFailed } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { awaitIncarnationGrants, settleIncarnationGrants } from '../grants/settle.js';
import {
  createRepository,
  deleteRepository,
  describeRepository,
  putLifecyclePolicy,
  setRepositoryPolicy,
} from '../steps/ecr-repository.js';
import { listAllGrants } from '../steps/kms-grants.js';
import { grantsOf } from '../grants/incarnation.js';
import { ECR_DOCUMENTED_GRANTS } from '../grants/rules.js';
import { encryptionOfRepository, existingOf, sameEncryption } from '../encryption/compare.js';
import {
  type CreateEncryptedRepositoryInput,
  type Finding,
  preflight,
  type PreflightFacts,
  type PreflightOptions,
  repositoryPolicyText,
} from '../preflight/index.js';
import type { EncryptionDescription, ExistingRepository } from '../types.js';

/** A KMS grant ECR made for the repository. */
export interface RepositoryGrant {
  readonly grantId: string;
  readonly operations: readonly string[];
  readonly creationDate: Date | undefined;
}

/** The repository as created (or as found, with `created: false`). */
export interface CreatedRepository {
  /** `false` when a repository of that name already existed with the same encryption: nothing was changed. */
  readonly created: boolean;
  readonly repository: {
    readonly name: string;
    readonly arn: string;
    readonly uri: string;
    readonly createdAt: Date;
    readonly registryId: string;
  };
  /** The encryption, with the key by its canonical ARN. */
  readonly encryption: EncryptionDescription;
  /** ECR's grants for this repository on the key (empty for AES256, or when they could not be listed). */
  readonly grants: readonly RepositoryGrant[];
  /**
   * `true` when the AWS-managed key `aws/ecr` was (most likely) created by this call:
   * DescribeKey on `alias/aws/ecr` creates it on first use. Absent for customer-managed keys and AES256.
   */
  readonly awsManagedKeyCreated?: boolean;
  /** Everything worth knowing that did not stop the operation. */
  readonly warnings: readonly Finding[];
}

/** ECR creates two grants per KMS-encrypted repository. */
const EXPECTED_GRANTS = ECR_DOCUMENTED_GRANTS;

const warning = (check: Finding['check'], message: string): Finding => ({ check, severity: 'warning', message });

const toGrant = (g: GrantListEntry): RepositoryGrant => ({
  grantId: g.GrantId ?? '',
  operations: g.Operations ?? [],
  creationDate: g.CreationDate,
});

/** The repository's identity, with what ECR leaves optional filled in. */
interface MadeRepository {
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  readonly createdAt: Date;
  readonly registryId: string;
}

const madeRepository = (ctx: RegistryContext, repository: Repository, repositoryName: string): MadeRepository => ({
  name: repository.repositoryName ?? repositoryName,
  arn: repository.repositoryArn ?? '',
  uri: repository.repositoryUri ?? '',
  createdAt: repository.createdAt ?? ctx.now(),
  registryId: repository.registryId ?? '',
});

/**
 * Undoes a creation: deletes the repository (never with `force`: if someone pushed meanwhile, their
 * images are kept and the rollback fails), then settles ECR's grants for it (waits while ECR
 * retires them, retires what it left, verifies none is listed).
 */
const undoCreate = (ctx: RegistryContext, made: MadeRepository, keyArn: string | undefined): ResultAsync<void, RegistryError[]> =>
  deleteRepository(ctx, made.name, false)
    .map(() => undefined)
    .orElse((e) => (e.kind === 'RepositoryNotFound' ? okAsync(undefined) : errAsync(e)))
    .mapErr((e): RegistryError[] => [e])
    .andThen(() => {
      if (keyArn === undefined) return okAsync<void, RegistryError[]>(undefined);
      return settleIncarnationGrants(ctx, { keyArn, incarnation: made }).andThen((settled) => {
        if (settled.listError !== undefined) return errAsync([settled.listError]);
        if (settled.failures.length > 0) return errAsync(settled.failures.map((f) => f.error));
        if (settled.remaining.length === 0) return okAsync(undefined);
        return errAsync<void, RegistryError[]>([
          {
            kind: 'DeletedButGrantsRemain',
            repositoryName: made.name,
            repositoryArn: made.arn,
            keyArn,
            grantIds: settled.remaining,
            missingPermission: undefined,
            cause: undefined,
          },
        ]);
      });
    });

/** Fails with `original` after undoing the creation, or with both when undoing fails too. */
const rollback = <E extends RegistryError>(
  ctx: RegistryContext,
  original: E,
  made: MadeRepository,
  keyArn: string | undefined,
): ResultAsync<never, E | RollbackFailed> => {
  ctx.logger.warn('rolling back the new repository', { repositoryName: made.name, error: original.kind });
  return undoCreate(ctx, made, keyArn)
    .mapErr((rollbackErrors): RollbackFailed => ({ kind: 'RollbackFailed', original, rollbackErrors }))
    .andThen(() => errAsync(original));
};

/** ECR's grants for the new repository, polled until both appear (grants are eventually consistent). */
const awaitGrants = (
  ctx: RegistryContext,
  made: MadeRepository,
  keyArn: string,
): ResultAsync<{ grants: RepositoryGrant[]; warnings: Finding[] }, never> =>
  awaitIncarnationGrants(ctx, keyArn, made, { tolerate: isRetryable })
    .map(({ grants, complete }) => {
      const found = grants === 'key-gone' ? [] : grants;
      return {
        grants: found.map(toGrant),
        warnings:
          complete && grants !== 'key-gone'
            ? []
            : [
                warning(
                  'grants',
                  `${found.length} of the ${EXPECTED_GRANTS} grants ECR creates for ${made.arn} appeared on ${keyArn} within ` +
                    `${ctx.poll.timeoutMs} ms; KMS grants are eventually consistent (usually under five minutes): check again later`,
                ),
              ],
      };
    })
    .orElse((e) =>
      okAsync({
        grants: [] as RepositoryGrant[],
        warnings: [warning('grants', `could not list the key's grants to verify ECR's grants (${e.kind})`)],
      }),
    );

/** The existing repository returned as is, for an idempotent create. */
const existingResult = (
  ctx: RegistryContext,
  existing: ExistingRepository,
  encryption: EncryptionDescription,
  facts: PreflightFacts,
  warnings: readonly Finding[],
  input: CreateEncryptedRepositoryInput,
): ResultAsync<CreatedRepository, never> => {
  // ECR always answers createdAt; without it, every grant for the ARN counts as this repository's.
  const made: MadeRepository = { ...existing, createdAt: existing.createdAt ?? new Date(0) };
  const notApplied = (['tags', 'imageTagMutability', 'scanOnPush', 'repositoryPolicy', 'lifecyclePolicy'] as const).filter(
    (field) => input[field] !== undefined,
  );
  const all = [
    ...warnings,
    ...(notApplied.length > 0
      ? [warning('settings', `the repository existed already and is returned as is: ${notApplied.join(', ')} were neither compared nor applied`)]
      : []),
  ];
  const grants =
    encryption.keyArn === undefined
      ? okAsync<RepositoryGrant[], never>([])
      : listAllGrants(ctx, encryption.keyArn)
          .map((g) => grantsOf(g, made).map(toGrant))
          .orElse((e) => {
            all.push(warning('grants', `could not list the key's grants (${e.kind})`));
            return okAsync<RepositoryGrant[], never>([]);
          });
  return grants.map((g) => ({
    created: false,
    repository: { name: made.name, arn: made.arn, uri: made.uri, createdAt: made.createdAt, registryId: made.registryId },
    encryption,
    grants: g,
    ...(facts.awsManagedKeyCreated !== undefined ? { awsManagedKeyCreated: facts.awsManagedKeyCreated } : {}),
    warnings: all,
  }));
};

/** An existing repository (found by the preflight or by a lost race) against what was asked. */
const resolveExisting = (
  ctx: RegistryContext,
  existing: ExistingRepository,
  input: CreateEncryptedRepositoryInput,
  requested: EncryptionDescription,
  facts: PreflightFacts,
  warnings: readonly Finding[],
): ResultAsync<CreatedRepository, EncryptionMismatch> =>
  sameEncryption(existing.encryption, requested)
    ? existingResult(ctx, existing, requested, facts, warnings, input)
    : errAsync({
        kind: 'EncryptionMismatch',
        repositoryName: input.repositoryName,
        existing: existing.encryption,
        requested,
        remedy: 'migrateRepository',
      });

/**
 * Creates an encrypted repository after a full preflight; idempotent for the same encryption.
 * `options.established` (a migration's own preflight of the same key, earlier in the run): the
 * preflight checks the input only, and an existing repository is found by CreateRepository.
 *
 * @internal Use {@link EncryptedRegistry.createEncryptedRepository}.
 */
export const createEncryptedRepository = (
  ctx: RegistryContext,
  input: CreateEncryptedRepositoryInput,
  options: Pick<PreflightOptions, 'established'> = {},
): ResultAsync<CreatedRepository, CreateEncryptedRepositoryError> =>
  safeTry(async function* () {
    const report = yield* preflight(ctx, input, { ...options, stopOnInputErrors: true });
    const warnings = report.findings.filter((f) => f.severity === 'warning');
    if (!report.ok) {
      const { facts, blocking } = report;
      const inputError = blocking.find((f) => ['InvalidRepositoryName', 'InvalidEncryption', 'InvalidInput', 'KeyRegionMismatch'].includes(f.error.kind));
      // Input is wrong: nothing to compare or create.
      if (inputError) return err(inputError.error);
      const mismatch = blocking.find((f) => f.error.kind === 'EncryptionMismatch');
      if (mismatch) return err(mismatch.error);
      const existing = facts.existingRepository;
      const requested = facts.encryption;
      if (existing !== undefined && requested !== undefined && sameEncryption(existing.encryption, requested)) {
        // The repository is there as asked: what would have stopped a creation is only worth a warning now.
        const demoted = blocking.map((f): Finding => ({ ...f, severity: 'warning' }));
        return ok(yield* existingResult(ctx, existing, requested, facts, [...warnings, ...demoted], input));
      }
      return err(blocking[0].error);
    }
    const { facts } = report;
    const existing = facts.existingRepository;
    const requested = facts.encryption;
    if (existing !== undefined && sameEncryption(existing.encryption, requested)) {
      return ok(yield* existingResult(ctx, existing, requested, facts, warnings, input));
    }

    // Create with the canonical key ARN, never the alias or id given: what ECR echoes then compares equal.
    const encryptionConfiguration =
      requested.type === 'AES256'
        ? { encryptionType: 'AES256' as const }
        : { encryptionType: requested.type, kmsKey: requested.keyArn };
    const createInput: CreateRepositoryCommandInput & { repositoryName: string } = {
      repositoryName: input.repositoryName,
      encryptionConfiguration,
      ...(input.tags !== undefined && input.tags.length > 0 ? { tags: input.tags.map((t) => ({ Key: t.Key, Value: t.Value })) } : {}),
      ...(input.imageTagMutability !== undefined ? { imageTagMutability: input.imageTagMutability } : {}),
      ...(input.imageTagMutabilityExclusionFilters !== undefined
        ? { imageTagMutabilityExclusionFilters: input.imageTagMutabilityExclusionFilters.map((filter) => ({ filterType: 'WILDCARD' as const, filter })) }
        : {}),
      ...(input.scanOnPush !== undefined ? { imageScanningConfiguration: { scanOnPush: input.scanOnPush } } : {}),
    };
    ctx.logger.info('creating repository', { repositoryName: input.repositoryName, encryption: requested });
    const created = yield* createRepository(ctx, createInput)
      .map((repository) => ({ repository, raced: false }))
      .orElse((e) =>
        e.kind === 'RepositoryAlreadyExists'
          ? // Someone created it between our preflight and our call: it is theirs, never ours to roll back.
            describeRepository(ctx, input.repositoryName)
              .map((repository) => ({ repository, raced: true }))
              // Gone again before we could look: report the conflict as ECR did.
              .orElse((again) => (again.kind === 'RepositoryNotFound' ? errAsync(e) : errAsync(again)))
          : errAsync(e),
      );
    if (created.raced) {
      return ok(yield* resolveExisting(ctx, existingOf(created.repository, input.repositoryName), input, requested, facts, warnings));
    }

    const made = madeRepository(ctx, created.repository, input.repositoryName);
    const keyArn = requested.keyArn;

    // Settings that CreateRepository cannot take; any failure undoes the creation.
    if (input.repositoryPolicy !== undefined) {
      yield* setRepositoryPolicy(ctx, made.name, repositoryPolicyText(input.repositoryPolicy)).orElse((e) => rollback(ctx, e, made, keyArn));
    }
    if (input.lifecyclePolicy !== undefined) {
      yield* putLifecyclePolicy(ctx, made.name, input.lifecyclePolicy).orElse((e) => rollback(ctx, e, made, keyArn));
    }

    // Verify: ECR echoes the encryption we asked for (type and canonical key ARN).
    const postWarnings: Finding[] = [];
    const echoed = yield* describeRepository(ctx, made.name)
      .map((repository): EncryptionDescription | undefined => encryptionOfRepository(repository))
      .orElse((e) => {
        postWarnings.push(warning('encryptionEcho', `could not read the repository back to verify its encryption (${e.kind})`));
        return okAsync<EncryptionDescription | undefined, never>(encryptionOfRepository(created.repository));
      });
    if (echoed !== undefined && !sameEncryption(echoed, requested)) {
      const wrong: EncryptionMismatch = { kind: 'EncryptionMismatch', repositoryName: made.name, existing: echoed, requested, remedy: 'migrateRepository' };
      // A repository that is not encrypted as asked is worse than none: undo it.
      return err(yield* rollback(ctx, wrong, made, keyArn ?? echoed.keyArn));
    }

    const verified = keyArn === undefined ? { grants: [], warnings: [] } : yield* awaitGrants(ctx, made, keyArn);
    return ok({
      created: true,
      repository: made,
      encryption: requested,
      grants: verified.grants,
      ...(facts.awsManagedKeyCreated !== undefined ? { awsManagedKeyCreated: facts.awsManagedKeyCreated } : {}),
      warnings: [...warnings, ...postWarnings, ...verified.warnings],
    });
  });
