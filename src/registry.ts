import { errAsync, ResultAsync } from 'neverthrow';
import type { Aborted, CreateEncryptedRepositoryError, InsecureEndpoint, InvalidInput, PreflightError } from './errors.js';
import { abortedUnlessSettled, type OperationName, type RegistryContext, scopedTo } from './internal/context.js';
import { checkClientEndpoints } from './internal/transport.js';
import { registryContextFor } from './registry-context.js';
import { readOptionalInput, type Schema } from './validate/input.js';
import * as inputs from './registry-inputs.js';
import type { DeleteRepositoryError, FindOrphanedGrantsError, RetireOrphanedGrantsError } from './errors.js';
import { deleteRepository, type DeleteRepositoryInput, type DeletedRepository } from './operations/delete-repository.js';
import { findOrphanedGrants, type FindOrphanedGrantsInput, type OrphanedGrantsReport, type OrphanedGrantsRetirement, retireOrphanedGrants, type RetireOrphanedGrantsInput } from './operations/orphaned-grants.js';
import { type CreatedRepository, createEncryptedRepository } from './operations/create-repository.js';
import { type CreateEncryptedRepositoryInput, preflight, type PreflightInput, type PreflightReport } from './preflight/index.js';
import type { Cancellable } from './types.js';
import type { EncryptedRegistryOptions } from './registry-options.js';

export type { EncryptedRegistryOptions, RegistryClientConfig, RegistryClients } from './registry-options.js';
import { doctor, type DoctorInput, type DoctorReport } from './operations/doctor.js';
import type { AuditError } from './errors.js';
import { audit } from './operations/audit.js';
import type { AuditInput, AuditReport } from './operations/audit-types.js';
import { type CreationTemplateDescription, ensureCreationTemplate, type EnsureCreationTemplateInput, type EnsuredCreationTemplate, listCreationTemplates } from './operations/creation-template.js';
import type { EnsureCreationTemplateError, ListCreationTemplatesError } from './errors.js';
import type { MigrateRepositoriesError, MigrateRepositoryError, PlanMigrationError, ResumeMigrationError } from './errors.js';
import { migrateRepositories } from './fleet-migration/index.js';
import type { MigrateRepositoriesInput, RepositoriesMigrationResult } from './fleet-migration/types.js';
import { migrateRepository, type MigrateRepositoryInput, type MigrationPlan, type MigrationResult, planMigration, type PlanMigrationInput, resumeMigration, type ResumeMigrationInput } from './migration/index.js';

type Destroyable = { destroy(): void };

/**
 * Safe operations on encrypted Amazon ECR repositories. Every operation returns a neverthrow
 * `ResultAsync`: expected failures are {@link RegistryError} values, never exceptions.
 *
 * @example
 * ```ts
 * import { EncryptedRegistry } from 'encrypted-ecr';
 *
 * const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
 * const result = await registry.createEncryptedRepository({
 *   repositoryName: 'team/app',
 *   encryption: { type: 'KMS', key: 'alias/ecr-app' },
 * });
 * result.match(
 *   (repo) => console.log('ready:', repo.repository.uri),
 *   (error) => console.error(error.kind),
 * );
 * registry.destroy();
 * ```
 */
export class EncryptedRegistry {
  /** @internal */
  protected readonly context: RegistryContext;
  readonly #owned: Destroyable[] = [];
  /** What is wrong with the constructor's options: every operation answers it, before any call. */
  readonly #optionsError: InvalidInput | undefined;
  /** The endpoints the four clients will really use, checked once, before the first call. */
  #endpoints: ResultAsync<void, InsecureEndpoint> | undefined;

  /**
   * Creates a registry over the given clients, or over clients it makes from `clientConfig`.
   *
   * Never throws: options that are not what {@link EncryptedRegistryOptions} describes (a `null`,
   * a region that is not a string, a client without `send`) make every operation answer
   * `InvalidInput` naming the option, before any AWS call.
   *
   * @example
   * ```ts
   * const registry = new EncryptedRegistry({ clients: { ecr: myEcrClient, kms: myKmsClient } });
   * ```
   */
  constructor(options: EncryptedRegistryOptions = {}) {
    const read = readOptionalInput(inputs.registryOptions, options);
    this.#optionsError = read.isErr() ? { ...read.error, field: `options.${read.error.field}`.replace(/^options\.input$/, 'options') } : undefined;
    const valid: EncryptedRegistryOptions = read.isOk() ? read.value : {};
    this.context = registryContextFor(valid, (client) => this.#own(client));
  }

  /**
   * Creates an ECR repository encrypted at rest, after checking everything that could make it fail
   * or leave it unusable: the name and settings; the key (exists, `Enabled`, `ENCRYPT_DECRYPT`,
   * `SYMMETRIC_DEFAULT`, same region as the repository, room for ECR's two grants under the
   * 50,000-grants quota); the caller's permissions (IAM policy simulation of `ecr:CreateRepository`,
   * `kms:CreateGrant`, `kms:DescribeKey`, `kms:RetireGrant` in ECR's `kms:ViaService` context). Any
   * error stops it before `CreateRepository` is sent; nothing is created.
   *
   * - The repository is created with the key's canonical ARN, never the alias or id you gave, so
   *   what ECR reports later compares equal (no IaC-style drift).
   * - Idempotent: an existing repository with the same encryption (by canonical key ARN) answers
   *   `created: false`; another encryption is `EncryptionMismatch` (use `migrateRepository`).
   * - The repository and lifecycle policies are applied after creation; if one fails, the new
   *   repository is deleted (grants verified retired): its error, or `RollbackFailed` with both.
   * - Afterwards it verifies ECR reports the requested encryption and, for KMS, waits (`poll`) for
   *   ECR's grants on the key and returns them; if they do not show in time, with a warning.
   * - With the AWS-managed key, `DescribeKey` on `alias/aws/ecr` creates that key on first use
   *   (`awsManagedKeyCreated` says when that most likely happened).
   *
   * Errors: `CreateEncryptedRepositoryError` (`docs/errors.md` says when each kind happens).
   *
   * @example
   * ```ts
   * const result = await registry.createEncryptedRepository({
   *   repositoryName: 'team/app',
   *   encryption: { type: 'KMS', key: 'alias/ecr-app' },
   *   imageTagMutability: 'IMMUTABLE',
   *   tags: [{ Key: 'team', Value: 'platform' }],
   * });
   * result.match(
   *   (repo) => console.log(repo.created ? 'created' : 'already there', repo.repository.uri, repo.encryption.keyArn),
   *   (error) => console.error(error.kind),
   * );
   * ```
   */
  createEncryptedRepository(input: CreateEncryptedRepositoryInput): ResultAsync<CreatedRepository, CreateEncryptedRepositoryError> {
    return this.#run('createEncryptedRepository', inputs.createRepositoryInput, input, createEncryptedRepository);
  }

  /**
   * Runs every check of {@link EncryptedRegistry.createEncryptedRepository} without creating
   * anything, and returns all findings at once (each with a severity, and for failures the typed
   * error `createEncryptedRepository` would return), plus what it resolved: region, account,
   * caller and role ARN, canonical key ARN and key manager, grant counts, an existing repository.
   * The result is an error only when the checks cannot run at all (`InsecureEndpoint`, no region).
   *
   * Not free of side effects: `DescribeKey` on `alias/aws/ecr` (the AWS-managed key, used for
   * `{ type: 'KMS' }` with no key) creates that key in the account on first use; an `info` finding
   * and `facts.awsManagedKeyCreated` say so. The IAM policy simulation does not read KMS key
   * policies for roles, so the key policy (GetKeyPolicy) is also evaluated locally in ECR's context
   * (`kms:ViaService`): an explicit deny there, or no path for the caller, is `MissingPermissions`
   * with `source: 'key-policy'`; a statement naming the caller clears an IAM implicit deny.
   *
   * Errors (`error.kind`): `InsecureEndpoint`, `SdkClientError` (no region), and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const report = await registry.preflight({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/ecr-app' } });
   * if (report.isOk()) {
   *   for (const f of report.value.findings) console.log(f.severity, f.check, f.message);
   *   console.log(report.value.ok ? 'ready to create' : 'fix the errors first');
   * }
   * ```
   */
  preflight(input: PreflightInput): ResultAsync<PreflightReport, PreflightError> {
    return this.#run('preflight', inputs.createRepositoryInput, input, preflight);
  }

  /**
   * Read-only checks of what the library needs, as a checklist (`pass`, `fail`, `unknown`):
   * credentials, region and partition, an optional KMS key, and the caller's permissions for
   * create, delete and migrate (the preflight's own checks). A failed check is a `fail` row with
   * its typed error, not an error; the result is an error only when the checks cannot run at all.
   * What `encrypted-ecr doctor` prints.
   *
   * Not free of side effects with `kmsKey: 'alias/aws/ecr'`: KMS creates the AWS-managed key on first use.
   *
   * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `SdkClientError` (no region), and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const report = await registry.doctor({ kmsKey: 'alias/ecr-app' });
   * if (report.isOk()) for (const c of report.value.checks) console.log(c.status, c.check, c.message);
   * ```
   */
  doctor(input: DoctorInput = {}): ResultAsync<DoctorReport, PreflightError> {
    return this.#run('doctor', inputs.doctorInput, input, doctor);
  }

  /**
   * Destroys the clients this registry created. Clients passed in `clients` are left alone.
   *
   * @example
   * ```ts
   * const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
   * try { await registry.preflight(input); } finally { registry.destroy(); }
   * ```
   */
  destroy(): void {
    for (const client of this.#owned.splice(0)) client.destroy();
  }

  /**
   * The public boundary of every operation: the constructor's options, then the input (read with
   * its schema into a copy, so any JavaScript value is a typed error and never a throw), then the
   * endpoints, all before the operation makes its first call. The operation runs in a context
   * scoped to the input's `signal`: an already-aborted one answers `Aborted` here, before anything.
   */
  #run<I extends Cancellable, T, E>(
    name: OperationName,
    schema: Schema<I>,
    input: unknown,
    operation: (ctx: RegistryContext, input: I) => ResultAsync<T, E>,
  ): ResultAsync<T, E | InvalidInput | InsecureEndpoint | Aborted> {
    if (this.#optionsError !== undefined) return errAsync(this.#optionsError);
    const read = readOptionalInput(schema, input);
    if (read.isErr()) return errAsync(read.error);
    const { signal } = read.value;
    if (signal?.aborted) return errAsync({ kind: 'Aborted', operation: name });
    if (this.context.transportError) return errAsync(this.context.transportError);
    const { ecr, kms, iam, sts } = this.context;
    this.#endpoints ??= checkClientEndpoints([ecr.config, kms.config, iam.config, sts.config], this.context.allowInsecureHttp, this.context.logger);
    const run = this.#endpoints.andThen(() => operation(scopedTo(this.context, signal), read.value));
    if (signal === undefined) return run;
    return new ResultAsync((async () => abortedUnlessSettled(name, signal, await run))());
  }

  #own<C extends Destroyable>(client: C): C {
    this.#owned.push(client);
    return client;
  }

  /**
   * Deletes a repository and proves that the KMS grants ECR made for it are retired.
   *
   * Describes the repository first and refuses a non-empty one unless `force` is given (nothing is
   * deleted). For a `KMS`/`KMS_DSSE` repository it lists the key's grants of *this incarnation*
   * (a recreated name has the same ARN: creation times tell them apart), deletes, waits with
   * bounded backoff while ECR retires its grants, retires what ECR left (never revokes), and
   * answers `verified: true` only once ListGrants shows none of them. Calling it again after a
   * concurrent delete, or ECR answering `KmsException` while deleting anyway, still verifies.
   *
   * Needs `ecr:DescribeRepositories`, `ecr:ListImages`, `ecr:DeleteRepository`, and for KMS
   * repositories `kms:ListGrants` (checked before anything is deleted) and `kms:RetireGrant` in an
   * IAM policy (ECR retires its grants with your credentials).
   *
   * Errors (`error.kind`): `InvalidRepositoryName`, `InsecureEndpoint`, `RepositoryNotFound`,
   * `RepositoryNotEmpty`, `KmsRefused` (the repository still exists), `DeletedButGrantsRemain`
   * (deleted; grants left on the key: `missingPermission`, `grantIds`), and the generic AWS errors.
   *
   * @example
   * ```ts
   * const result = await registry.deleteRepository({ repositoryName: 'team/app', force: true });
   * result.match(
   *   (deleted) => console.log(`deleted; ${deleted.grantsRetiredHere.length} grants retired here`),
   *   (error) => {
   *     if (error.kind === 'DeletedButGrantsRemain') console.error('grants left:', error.grantIds, error.missingPermission);
   *     else console.error(error.kind);
   *   },
   * );
   * ```
   */
  deleteRepository(input: DeleteRepositoryInput): ResultAsync<DeletedRepository, DeleteRepositoryError> {
    return this.#run('deleteRepository', inputs.deleteRepositoryInput, input, deleteRepository);
  }

  /**
   * Finds the KMS grants ECR made for repositories that no longer exist, or for an older
   * incarnation of a name that was deleted and recreated. Reads only.
   *
   * Sweeps the `keys` given (any reference form), or every customer-managed key of the region
   * plus the AWS-managed `aws/ecr` key if it exists (found through ListAliases, so the sweep never
   * creates it). Grants naming a repository of another account or region are reported as
   * `unverifiable`. Repositories are listed once per sweep. Each key's report includes its
   * headroom against the 50,000-grant quota (none for AWS-managed keys).
   *
   * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `KeyNotFound` (a key you named), and
   * the generic AWS errors. Keys found by listing the region that cannot be read are in `skipped`.
   *
   * @example
   * ```ts
   * const report = await registry.findOrphanedGrants();
   * if (report.isOk()) {
   *   for (const key of report.value.keys) console.log(key.keyArn, key.orphans.length, key.headroom.remaining);
   * }
   * ```
   */
  findOrphanedGrants(input?: FindOrphanedGrantsInput): ResultAsync<OrphanedGrantsReport, FindOrphanedGrantsError> {
    return this.#run('findOrphanedGrants', inputs.findOrphanedGrantsInput, input, findOrphanedGrants);
  }

  /**
   * Retires the orphaned grants {@link EncryptedRegistry.findOrphanedGrants} finds. `dryRun`
   * defaults to `true`: pass `dryRun: false` to retire. Never revokes, never touches a live
   * repository's grants; RetireGrant calls are bounded by `concurrency` (default 4). Each key
   * reports `retired`, `alreadyRetired` and `failed` (with the typed error).
   *
   * Needs `kms:RetireGrant` in an IAM policy (it is not effective in a key policy).
   *
   * Errors (`error.kind`): as {@link EncryptedRegistry.findOrphanedGrants}; a RetireGrant that fails
   * is reported in `failed`, not as an error.
   *
   * @example
   * ```ts
   * const result = await registry.retireOrphanedGrants({ keys: ['alias/ecr-app'], dryRun: false });
   * result.match(
   *   (sweep) => sweep.keys.forEach((k) => console.log(k.keyArn, k.retired.length, k.failed.length)),
   *   (error) => console.error(error.kind),
   * );
   * ```
   */
  retireOrphanedGrants(input?: RetireOrphanedGrantsInput): ResultAsync<OrphanedGrantsRetirement, RetireOrphanedGrantsError> {
    return this.#run('retireOrphanedGrants', inputs.retireOrphanedGrantsInput, input, retireOrphanedGrants);
  }

  /**
   * Audits every repository of the region: its encryption (type, canonical key ARN, AWS- or
   * customer-managed, key state), whether it complies with `require` (`'cmk'`, `'kms'` or `'any'`,
   * default `'any'`) and `allowedKeys`, the orphaned grants and grant headroom of each key in use,
   * and the estimated monthly KMS cost ($1 per customer-managed key in use, $0.03 per 10,000
   * requests for the `usage` given). Reads only.
   *
   * A repository whose key is disabled, pending deletion, deleted or cannot be described is never
   * compliant, whatever the rule. Calls are batched: DescribeRepositories pages, one DescribeKey per
   * distinct key (not per repository), and ListGrants pages per key; no STS call. Keys no repository
   * uses are not swept: use {@link EncryptedRegistry.findOrphanedGrants} for the whole region.
   *
   * Cost model: a push makes one GenerateDataKey per blob plus one for the manifest (an upper
   * bound: blobs already stored are not uploaded again), a pull one Decrypt per blob plus one for
   * the manifest; `pushesPerMonth`/`pullsPerMonth` are per KMS-encrypted repository. The free tier
   * (20,000 requests a month) is not deducted.
   *
   * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `KeyNotFound` (a key of
   * `allowedKeys`), and the generic AWS errors. A key in use that cannot be read is reported on
   * the key and makes its repositories non-compliant; it is not an error.
   *
   * @example
   * ```ts
   * const report = await registry.audit({ require: 'cmk', usage: { pushesPerMonth: 100, pullsPerMonth: 5000 } });
   * if (report.isOk()) {
   *   for (const r of report.value.repositories.filter((r) => !r.compliant)) console.log(r.name, r.violations);
   *   console.log(`about $${report.value.cost.total.toFixed(2)} a month`);
   *   process.exitCode = report.value.compliant ? 0 : 1;
   * }
   * ```
   */
  audit(input?: AuditInput): ResultAsync<AuditReport, AuditError> {
    return this.#run('audit', inputs.auditInput, input, audit);
  }

  /**
   * Creates or updates the repository creation template of `prefix`, so that the repositories ECR
   * creates on your behalf under it (create-on-push, pull-through cache, replication, as
   * `appliedFor` says) get this encryption. Templates do not touch existing repositories, and
   * where no template applies ECR creates repositories with AES256 (`audit` reports such places).
   *
   * Checked first, as `createEncryptedRepository` checks them: the key (resolved to its key ARN,
   * which is all a template takes; in this region, enabled, symmetric), and the custom role ECR
   * assumes to create the repositories and their KMS grants (IAM policy simulation of
   * `ecr:CreateRepository`, and in ECR's context `kms:CreateGrant`, `kms:DescribeKey`,
   * `kms:RetireGrant`, plus the key policy). A KMS template needs `customRoleArn`. Idempotent:
   * `action: 'unchanged'` when the template says the same already; the template ECR answers is
   * compared with the one written.
   *
   * Errors (`error.kind`): `InvalidInput`, `InvalidEncryption`, `InsecureEndpoint`, `KeyNotFound`,
   * `KeyNotUsable`, `KeyRegionMismatch`, `KeyGrantQuotaExhausted`, `MissingPermissions`, `Aborted`,
   * and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const result = await registry.ensureCreationTemplate({
   *   prefix: 'ROOT',
   *   appliedFor: ['CREATE_ON_PUSH', 'REPLICATION', 'PULL_THROUGH_CACHE'],
   *   encryption: { type: 'KMS', key: 'alias/ecr-app' },
   *   customRoleArn: 'arn:aws:iam::111122223333:role/ecr-template-role',
   * });
   * if (result.isOk()) console.log(result.value.action, result.value.template.encryption.keyArn);
   * else console.error(result.error.kind);
   * ```
   */
  ensureCreationTemplate(input: EnsureCreationTemplateInput): ResultAsync<EnsuredCreationTemplate, EnsureCreationTemplateError> {
    return this.#run('ensureCreationTemplate', inputs.ensureCreationTemplateInput, input, ensureCreationTemplate);
  }

  /**
   * Every repository creation template of the region: prefix, scenarios (`appliedFor`),
   * encryption (the key by its ARN; `awsManagedKey` for KMS with no key) and custom role.
   *
   * Errors (`error.kind`): `InvalidInput`, `InsecureEndpoint`, `Aborted`, and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const templates = await registry.listCreationTemplates();
   * if (templates.isOk()) for (const t of templates.value) console.log(t.prefix, t.appliedFor.join(','), t.encryption.type);
   * ```
   */
  listCreationTemplates(input: Cancellable = {}): ResultAsync<CreationTemplateDescription[], ListCreationTemplatesError> {
    return this.#run('listCreationTemplates', inputs.listCreationTemplatesInput, input, listCreationTemplates);
  }

  /**
   * Plans changing a repository's encryption, and changes nothing: every image by digest (tagged,
   * untagged, index children, referrers; archived ones too), every tag, the de-duplicated blobs
   * and their bytes, the settings a migration carries (repository and lifecycle policies,
   * scan-on-push, tag mutability with exclusion filters, resource tags except `aws:` ones), the
   * target key checked exactly as `createEncryptedRepository` checks it, an estimate of the API
   * calls per step, and warnings: archived images, replication rules, creation templates and
   * pull-through cache rules that could recreate the name with other encryption while it is free
   * (best effort: a denied read is a warning), and what cannot be kept (push and pull times, scan
   * findings). `nothingToDo` when the repository already has this encryption (compared by
   * canonical key ARN); `ready` when `migrateRepository` would go ahead.
   *
   * Errors (`error.kind`): `InvalidRepositoryName`, `InvalidEncryption`, `InvalidInput`,
   * `InsecureEndpoint`, `RepositoryNotFound`, `ImagesUnavailable`, `Aborted`, and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const plan = await registry.planMigration({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/ecr-app' } });
   * if (plan.isOk()) {
   *   const p = plan.value;
   *   console.log(p.counts.images, 'images,', p.blobs.totalBytes, 'bytes,', p.estimatedApiCalls.total, 'calls');
   *   for (const w of p.warnings) console.warn(w.code, w.message);
   *   if (!p.ready) console.error(p.blockers);
   * }
   * ```
   */
  planMigration(input: PlanMigrationInput): ResultAsync<MigrationPlan, PlanMigrationError> {
    return this.#run('planMigration', inputs.planMigrationInput, input, planMigration);
  }

  /**
   * Changes a repository's encryption by recreating it under the same name, losing nothing: every
   * image by digest with byte-identical manifests, every tag, and the settings.
   *
   * Before changing anything it checks the target key as a creation does, refuses archived images
   * (unless `restoreArchived`), and answers `changed: false` when the encryption is already the
   * requested one. Then it runs the steps of `MIGRATION_STEPS`, each recorded in the `journal`
   * before and after it runs (`docs/migration.md` describes each): `freeze` (a repository-policy
   * statement lets only the calling principal change the repository; the lifecycle policy is
   * paused, its text journaled), `snapshot`, `createStaging` (a name no replication rule matches
   * when there is one), `copyToStaging` (streamed, `concurrency` blobs at once), `verifyStaging`,
   * `deleteOriginal` (its grants verified retired, only once staging is verified in this process),
   * `recreate` (target encryption, tags, scan-on-push, the freeze; checked empty once frozen, else
   * `UnexpectedImages`), `copyBack`, `verifyFinal`, `restoreSettings` (the original policies
   * exactly) and `deleteStaging` (grants verified retired).
   *
   * It never rolls back. Every failure after the first change stops with `MigrationFailed`, naming
   * the step, what holds the images now, and how to go on (`resumeMigration({ journal })`).
   * API calls are retried by the SDK's retry strategy; the library retries only layer uploads that
   * stay throttled and blob downloads that break.
   *
   * Permissions: `generateRepositoryAdminPolicy({ operations: ['migrate'] })` writes them. Errors
   * (`MigrateRepositoryError`): before any change, the input, key, permission, journal and
   * `ImagesArchived` kinds; after it, `MigrationFailed` (with the step's error as `cause`).
   *
   * @example
   * ```ts
   * import { EncryptedRegistry, fileJournal } from 'encrypted-ecr';
   *
   * const journal = fileJournal('./team-app.migration.json');
   * const result = await registry.migrateRepository({
   *   repositoryName: 'team/app',
   *   encryption: { type: 'KMS', key: 'alias/ecr-app' },
   *   journal,
   *   onProgress: (p) => console.log(p.step, p.imagesDone, '/', p.imagesTotal),
   * });
   * result.match(
   *   (done) => console.log(`${done.counts.images} images now under`, done.to.keyArn),
   *   (error) => {
   *     if (error.kind === 'MigrationFailed') console.error(error.step, error.state, error.resume);
   *     else console.error(error.kind); // nothing was changed
   *   },
   * );
   * ```
   */
  migrateRepository(input: MigrateRepositoryInput): ResultAsync<MigrationResult, MigrateRepositoryError> {
    return this.#run('migrateRepository', inputs.migrateRepositoryInput, input, migrateRepository);
  }

  /**
   * Goes on with an interrupted migration from its journal, after a crash, a kill or a failure,
   * from the first unfinished step; repeating a step that had (partly) run is harmless. Before
   * deleting the original or the staging repository it verifies, in this process, the copy that
   * replaces it. Run it as the principal that started the migration (the freeze lets only that
   * principal through). A journal of a finished migration answers its result and is cleared.
   *
   * Errors (`error.kind`): `InvalidInput` (no journal, an empty one, another region),
   * `InsecureEndpoint`, `JournalFailed`, `MigrationFailed`, `Aborted`, and the generic AWS kinds.
   *
   * @example
   * ```ts
   * const result = await registry.resumeMigration({ journal: fileJournal('./team-app.migration.json') });
   * if (result.isErr() && result.error.kind === 'MigrationFailed') console.error(result.error.state);
   * ```
   */
  resumeMigration(input: ResumeMigrationInput): ResultAsync<MigrationResult, ResumeMigrationError> {
    return this.#run('resumeMigration', inputs.resumeMigrationInput, input, resumeMigration);
  }

  /**
   * Migrates many repositories of this account and Region to one encryption: selects them
   * (`where`: encryption types, keys, a name glob; or `repositoryNames`), plans them as one fleet
   * (images, bytes, calls, the least duration at the rate quotas; `planOnly` stops there), then
   * runs `migrateRepository` on each, `concurrency` at once, recording the run in one fleet
   * journal. A repository's failure is its outcome and never stops the others; `resume: true`
   * goes on after a kill (finished ones skipped, the others through their own journals).
   * `docs/migration.md` ("Many repositories") has the details. Errors (`error.kind`): bad input,
   * `KeyNotFound` (a `where` key alias or key id that names no key), `JournalFailed` (also with
   * `operation: 'lock'` when another process runs the same fleet journal), `Aborted`, and the
   * generic AWS kinds of listing the repositories and resolving the filter's keys.
   *
   * @example
   * ```ts
   * const run = await registry.migrateRepositories({ encryption: { type: 'KMS', key: 'alias/ecr' }, where: { encryptionTypes: ['AES256'] } });
   * if (run.isOk()) for (const r of run.value.repositories) console.log(r.repositoryName, r.status, r.error?.kind ?? '');
   * ```
   */
  migrateRepositories(input: MigrateRepositoriesInput): ResultAsync<RepositoriesMigrationResult, MigrateRepositoriesError> {
    return this.#run('migrateRepositories', inputs.migrateRepositoriesInput, input, migrateRepositories);
  }
}
