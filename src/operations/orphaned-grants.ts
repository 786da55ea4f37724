/**
 * The orphaned-grant sweep: for each key, the grants ECR made for repositories that no longer
 * exist, or for an older incarnation of a name that was deleted and recreated. A repository name
 * is reusable and so is its ARN: only the creation times tell an old incarnation's grants from the
 * live repository's, and a live repository's grants are never retired (nor ever revoked).
 */
import type { Cancellable } from '../types.js';
import type { Repository } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { err, errAsync, ok, okAsync, type Result, ResultAsync, safeTry } from 'neverthrow';
import type {
  FindOrphanedGrantsError,
  GenericAwsError,
  InvalidInput,
  KeyNotFound,
  RetireOrphanedGrantsError,
} from '../errors.js';
import { mapPool } from '../internal/pool.js';
import { waitForDeadlines } from '../internal/wait.js';
import type { RegistryContext } from '../internal/context.js';
import { AWS_MANAGED_ECR_ALIAS, parseKeyReference } from '../encryption/spec.js';
import {
  classify,
  ecrGrantsOf,
  type GrantHeadroom,
  headroomOf,
  decidableBy,
  type DecidableWait,
  isStillOrphaned,
  localityOf,
  nameOfRepositoryArn,
  type OrphanedGrant,
  type UnverifiableGrant,
} from '../grants/orphans.js';
import { describeRepositoriesByName, listAllRepositories } from '../steps/ecr-repository.js';
import { listAllGrants, retireGrant } from '../steps/kms-grants.js';

export type { GrantHeadroom, OrphanedGrant, OrphanReason, UnverifiableGrant, UnverifiableReason } from '../grants/orphans.js';
import { describeKey, findAwsEcrKeyArn, isAwsEcrAlias, listAllAliases, listAllKeys } from '../steps/kms-keys.js';
import { getCallerIdentity } from '../steps/sts.js';

/** What {@link findOrphanedGrants} takes. */
export interface FindOrphanedGrantsInput extends Cancellable {
  /**
   * The keys to sweep, by key id, key ARN, alias name or alias ARN. Default: every
   * customer-managed key of the region, plus the AWS-managed `aws/ecr` key if the account has one.
   */
  readonly keys?: readonly string[];
  /**
   * Wait up to this many milliseconds (0 to 3,600,000; default 0, no waiting) for grants too recent
   * to decide (`too-recent`, whose `decidableAfter` falls within the bound), then sweep again, and
   * again while new ones appear within the bound. The pause goes through the registry's `clock`,
   * and `signal` cuts it short. Grants unverifiable for another reason are not waited for.
   */
  readonly waitForDecidableMs?: number;
  /** Called before each such pause: how many grants it waits for, until when, and for how long. */
  readonly onWait?: (wait: { readonly grants: number; readonly until: Date; readonly waitMs: number }) => void;
}

/** What {@link retireOrphanedGrants} takes. */
export interface RetireOrphanedGrantsInput extends FindOrphanedGrantsInput {
  /** Report what would be retired and retire nothing. Default `true`: retiring is opt-in. */
  readonly dryRun?: boolean;
  /** RetireGrant calls in flight at once, 1–30 (KMS allows 30 a second per account and region). Default 4. */
  readonly concurrency?: number;
}

/** The ECR grants of one key. */
export interface KeyGrantReport {
  readonly keyArn: string;
  readonly keyManager: 'AWS' | 'CUSTOMER';
  /** Every grant on the key, whoever made it. */
  readonly grantCount: number;
  /** Grants ECR made for a repository (`aws:ecr:arn` constraint, ECR service principal). */
  readonly ecrGrantCount: number;
  readonly orphans: readonly OrphanedGrant[];
  readonly unverifiable: readonly UnverifiableGrant[];
  readonly headroom: GrantHeadroom;
}

/** A key found by listing the region that could not be swept (keys you name fail the call instead). */
export interface SkippedKey {
  readonly keyArn: string;
  readonly error: FindOrphanedGrantsError;
}

/** The answer of {@link findOrphanedGrants}. */
export interface OrphanedGrantsReport {
  readonly region: string;
  readonly account: string;
  readonly keys: readonly KeyGrantReport[];
  readonly skipped: readonly SkippedKey[];
}

/** A RetireGrant that failed. */
export interface FailedRetirement {
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly error: GenericAwsError;
}

/**
 * An orphan the sweep found but did not retire, because the check made right before retiring did
 * not confirm it: `repository-exists` (a repository of that name exists now, and the grant may be
 * its), or `check-failed` (DescribeRepositories failed; `error` says why).
 */
export interface KeptOrphan {
  readonly grantId: string;
  readonly repositoryArn: string;
  readonly reason: 'repository-exists' | 'check-failed';
  readonly error?: GenericAwsError;
}

/** One key's report, with what became of its orphans. */
export interface KeyRetirementReport extends KeyGrantReport {
  readonly retired: readonly string[];
  /** Listed as orphans, but KMS had already retired them (eventual consistency). */
  readonly alreadyRetired: readonly string[];
  readonly failed: readonly FailedRetirement[];
  /** Orphans left alone because their repository's absence was not confirmed right before retiring. */
  readonly kept: readonly KeptOrphan[];
}

/** The answer of {@link retireOrphanedGrants}. */
export interface OrphanedGrantsRetirement {
  readonly dryRun: boolean;
  readonly region: string;
  readonly account: string;
  readonly keys: readonly KeyRetirementReport[];
  readonly skipped: readonly SkippedKey[];
}

/** Bounds the DescribeKey and ListGrants calls of a whole-region sweep. */
/** A key's classification as the report names it: a count is `…Count`, an array is plural. */
const counted = (c: ReturnType<typeof classify>): Pick<KeyGrantReport, 'ecrGrantCount' | 'orphans' | 'unverifiable'> => ({
  ecrGrantCount: c.ecrGrants,
  orphans: c.orphans,
  unverifiable: c.unverifiable,
});

const KEY_CONCURRENCY = 4;
const DEFAULT_RETIRE_CONCURRENCY = 4;
/** The longest `waitForDecidableMs`: an hour (a too-recent grant is decidable a minute after it was made). */
const MAX_WAIT_MS = 3_600_000;
const MAX_RETIRE_CONCURRENCY = 30;

type SweptKey = KeyToSweep;

interface KeyGrants extends SweptKey {
  readonly grants: readonly GrantListEntry[];
}

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

const invalid = (field: string, reason: string): Result<never, InvalidInput> => err({ kind: 'InvalidInput', field, reason });

const validateKeys = (keys: unknown): Result<readonly string[] | undefined, InvalidInput> => {
  if (keys === undefined) return ok(undefined);
  if (!Array.isArray(keys)) return invalid('keys', 'must be an array of key ids, key ARNs, alias names or alias ARNs');
  for (const [i, key] of (keys as unknown[]).entries()) {
    if (typeof key !== 'string') return invalid(`keys[${i}]`, 'must be a string');
    const parsed = parseKeyReference(key);
    if (parsed.isErr()) return invalid(`keys[${i}]`, parsed.error.reason);
  }
  return ok(keys as string[]);
};

/** How a sweep waits for too-recent grants (`waitForDecidableMs`, `onWait`). */
interface SweepWait {
  readonly ms: number;
  readonly onWait: FindOrphanedGrantsInput['onWait'];
}

const validateWait = (input: FindOrphanedGrantsInput): Result<SweepWait, InvalidInput> => {
  const { waitForDecidableMs: ms = 0, onWait } = input;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > MAX_WAIT_MS) {
    return invalid('waitForDecidableMs', `must be a number of milliseconds from 0 to ${MAX_WAIT_MS}`);
  }
  return ok({ ms, onWait });
};

const validateRetireInput = (input: RetireOrphanedGrantsInput): Result<{ dryRun: boolean; concurrency: number }, InvalidInput> => {
  const { dryRun = true, concurrency = DEFAULT_RETIRE_CONCURRENCY } = input;
  if (typeof dryRun !== 'boolean') return invalid('dryRun', 'must be a boolean');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_RETIRE_CONCURRENCY) {
    return invalid('concurrency', `must be an integer from 1 to ${MAX_RETIRE_CONCURRENCY}`);
  }
  return ok({ dryRun, concurrency });
};

// ---------------------------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------------------------

/** The `aws/ecr` key, found through ListAliases: DescribeKey('alias/aws/ecr') would create it. */
const findAwsEcrKey = (ctx: RegistryContext): ResultAsync<SweptKey | undefined, GenericAwsError> =>
  findAwsEcrKeyArn(ctx).map((keyArn) => (keyArn === undefined ? undefined : { keyArn, keyManager: 'AWS' as const }));

/** The keys the caller named, each resolved to its ARN. */
const resolveNamedKeys = (
  ctx: RegistryContext,
  keys: readonly string[],
): ResultAsync<SweptKey[], KeyNotFound | InvalidInput | GenericAwsError> =>
  ResultAsync.combine(
    keys.map((key, i): ResultAsync<SweptKey, KeyNotFound | InvalidInput | GenericAwsError> =>
      isAwsEcrAlias(key)
        ? findAwsEcrKey(ctx).andThen((found) =>
            found
              ? okAsync(found)
              : errAsync<never, KeyNotFound>({ kind: 'KeyNotFound', service: 'kms', operation: 'ListAliases', cause: undefined, key }),
          )
        : describeKey(ctx, key)
            .mapErr((e): KeyNotFound | InvalidInput | GenericAwsError =>
              e.kind === 'InvalidEncryption' ? { kind: 'InvalidInput', field: `keys[${i}]`, reason: e.reason } : e,
            )
            .map((meta): SweptKey => ({ keyArn: meta.Arn, keyManager: meta.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER' })),
    ),
  ).map((found) => [...new Map(found.map((k) => [k.keyArn, k])).values()]);

/** Every customer-managed key of the region, plus `aws/ecr`; keys that cannot be described are skipped. */
const discoverKeys = (ctx: RegistryContext): ResultAsync<{ keys: SweptKey[]; skipped: SkippedKey[] }, GenericAwsError> =>
  ResultAsync.combine([listAllKeys(ctx), listAllAliases(ctx)]).andThen(([keys, aliases]) => {
    const awsEcr = aliases.find((a) => a.AliasName === AWS_MANAGED_ECR_ALIAS)?.TargetKeyId;
    // Keys behind an `alias/aws/…` are AWS-managed: no DescribeKey needed to leave them out.
    const awsManaged = new Set(aliases.filter((a) => a.AliasName?.startsWith('alias/aws/')).flatMap((a) => (a.TargetKeyId ? [a.TargetKeyId] : [])));
    const candidates = keys.filter((k) => k.KeyArn && k.KeyId && (k.KeyId === awsEcr || !awsManaged.has(k.KeyId)));
    return ResultAsync.fromSafePromise(
      mapPool(candidates, KEY_CONCURRENCY, (k) =>
        k.KeyId === awsEcr
          ? Promise.resolve(ok<SweptKey | undefined, SkippedKey>({ keyArn: k.KeyArn ?? '', keyManager: 'AWS' }))
          : describeKey(ctx, k.KeyArn ?? '')
              .map((meta): SweptKey | undefined => (meta.KeyManager === 'CUSTOMER' ? { keyArn: meta.Arn, keyManager: 'CUSTOMER' } : undefined))
              .mapErr((e): SkippedKey => ({
                keyArn: k.KeyArn ?? '',
                error: e.kind === 'InvalidEncryption' ? { kind: 'InvalidInput', field: 'keys', reason: e.reason } : e,
              })),
      ),
    ).map((results) => ({
      keys: results.flatMap((r) => (r.isOk() && r.value ? [r.value] : [])),
      skipped: results.flatMap((r) => (r.isErr() ? [r.error] : [])),
    }));
  });

// ---------------------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------------------

/** The registry's repositories as a caller listed them, and when: shared so they are not listed twice. */
export interface ListedRepositories {
  readonly repositories: readonly Repository[];
  /** When the listing started: a grant created after it (less the clock tolerance) may belong to a repository the listing missed. */
  readonly listedAt: Date;
}

/** A key to sweep, already resolved to its canonical ARN. */
export interface KeyToSweep {
  readonly keyArn: string;
  readonly keyManager: 'AWS' | 'CUSTOMER';
}

/**
 * Lists the grants of each key and sorts them. With `strict`, a key whose grants cannot be listed
 * fails the sweep; otherwise it is reported in `skipped`. Without `listed`, the registry is listed
 * here, after the grants (and only when a grant names a repository of this registry).
 *
 * @internal
 */
export const sweepKeys = (
  ctx: RegistryContext,
  scope: { readonly region: string; readonly account: string; readonly strict: boolean; readonly listed?: ListedRepositories },
  swept: readonly KeyToSweep[],
): ResultAsync<{ keys: KeyGrantReport[]; skipped: SkippedKey[] }, FindOrphanedGrantsError> =>
  safeTry(async function* () {
    const { region, account, strict, listed } = scope;
    const skipped: SkippedKey[] = [];
    // Grants first, repositories after: a grant listed before its repository was created cannot
    // then be missing its repository, so a new repository is never taken for a deleted one. With a
    // listing shared by the caller, grants younger than that listing are `too-recent` instead.
    const lists = await mapPool(swept, KEY_CONCURRENCY, (key) =>
      listAllGrants(ctx, key.keyArn).map((grants): KeyGrants => ({ ...key, grants })),
    );
    const withGrants: KeyGrants[] = [];
    for (const [i, result] of lists.entries()) {
      if (result.isOk()) withGrants.push(result.value);
      else if (!strict) skipped.push({ keyArn: swept[i]?.keyArn ?? '', error: result.error });
      else return err(result.error);
    }

    // One listing of the registry for the whole sweep, and none when no grant names a repository here.
    const needsRepositories = withGrants.some((k) =>
      ecrGrantsOf(k.grants).some(({ repositoryArn }) => localityOf(repositoryArn, region, account).local),
    );
    const repositories = new Map<string, Date | undefined>();
    if (needsRepositories) {
      for (const repository of listed?.repositories ?? (yield* listAllRepositories(ctx))) {
        if (repository.repositoryArn) repositories.set(repository.repositoryArn, repository.createdAt);
      }
    }

    const now = listed?.listedAt ?? ctx.now();
    const reports = withGrants.map((key): KeyGrantReport => ({
      keyArn: key.keyArn,
      keyManager: key.keyManager,
      grantCount: key.grants.length,
      ...counted(classify(key.grants, repositories, region, account, now)),
      headroom: headroomOf(key.keyManager, key.grants.length),
    }));
    return ok({ keys: reports, skipped });
  });

/**
 * Sweeps the keys; with `wait.ms`, pauses (through the registry's clock) until the too-recent
 * grants that the bound reaches are decidable, and sweeps again, while that moves the wait on: a
 * clock that does not move (an instant test clock) waits once.
 */
const sweep = (ctx: RegistryContext, keys: readonly string[] | undefined, wait: SweepWait): ResultAsync<OrphanedGrantsReport, FindOrphanedGrantsError> =>
  safeTry(async function* () {
    const region = yield* ctx.region();
    const { account } = yield* getCallerIdentity(ctx);
    const { keys: swept, skipped } =
      keys === undefined ? yield* discoverKeys(ctx) : { keys: yield* resolveNamedKeys(ctx, keys), skipped: [] as SkippedKey[] };
    const scope = { region, account, strict: keys !== undefined };
    const deadline = new Date(ctx.now().getTime() + wait.ms);
    const first = yield* sweepKeys(ctx, scope, swept);
    const nextDecidable = (sweep: { readonly keys: readonly KeyGrantReport[] }): DecidableWait | undefined =>
      wait.ms > 0 ? decidableBy(sweep.keys.flatMap((k) => k.unverifiable), deadline) : undefined;
    // Aborted: the registry answers `Aborted`, no need to sweep again.
    const result = yield* waitForDeadlines(ctx, first, (r) => nextDecidable(r)?.until, () => sweepKeys(ctx, scope, swept), {
      signal: ctx.signal,
      onWait: (r, until, waitMs) => {
        const grants = nextDecidable(r)?.grants ?? 0;
        wait.onWait?.({ until, grants, waitMs });
        ctx.logger.info('waiting for too-recent grants to become decidable', { grants, until: until.toISOString() });
      },
    });
    const reports = result.keys;
    skipped.push(...result.skipped);
    ctx.logger.info('orphaned grant sweep', {
      keys: reports.length,
      orphans: reports.reduce((n, r) => n + r.orphans.length, 0),
      skipped: skipped.length,
    });
    return ok({ region, account, keys: reports, skipped });
  });

/**
 * Right before retiring: DescribeRepositories by name (batched) for every orphan's repository, so
 * that a listing taken earlier in the sweep is not the only proof. An orphan stays retirable when
 * its repository is absent now, or exists but was created after the grant (less the clock
 * tolerance): an older incarnation's. Anything else is kept, and so is every orphan whose check
 * failed.
 */
const confirmOrphans = (
  ctx: RegistryContext,
  orphans: readonly OrphanedGrant[],
): ResultAsync<{ confirmed: Set<string>; kept: Map<string, KeptOrphan> }, never> => {
  const confirmed = new Set<string>();
  const kept = new Map<string, KeptOrphan>();
  if (orphans.length === 0) return okAsync({ confirmed, kept });
  const names = orphans.flatMap((o) => nameOfRepositoryArn(o.repositoryArn) ?? []);
  return describeRepositoriesByName(ctx, names)
    .map((now) => {
      for (const orphan of orphans) {
        const name = nameOfRepositoryArn(orphan.repositoryArn);
        // Only a name DescribeRepositories answered for is checked; anything else is kept.
        if (name !== undefined && now.has(name) && isStillOrphaned(orphan, now.get(name))) confirmed.add(orphan.grantId);
        else kept.set(orphan.grantId, { grantId: orphan.grantId, repositoryArn: orphan.repositoryArn, reason: 'repository-exists' });
      }
      return { confirmed, kept };
    })
    .orElse((error) => {
      ctx.logger.warn('could not confirm that the orphans\' repositories are gone: retiring none', { error: error.kind });
      for (const orphan of orphans) kept.set(orphan.grantId, { grantId: orphan.grantId, repositoryArn: orphan.repositoryArn, reason: 'check-failed', error });
      return okAsync<{ confirmed: Set<string>; kept: Map<string, KeptOrphan> }, never>({ confirmed, kept });
    });
};

/**
 * Finds the KMS grants ECR made for repositories that no longer exist, or for an older incarnation
 * of a recreated name. Reads only: nothing is retired.
 *
 * @internal
 */
export const findOrphanedGrants = (
  ctx: RegistryContext,
  input: FindOrphanedGrantsInput = {},
): ResultAsync<OrphanedGrantsReport, FindOrphanedGrantsError> => {
  const keys = validateKeys(input.keys);
  if (keys.isErr()) return errAsync(keys.error);
  const wait = validateWait(input);
  if (wait.isErr()) return errAsync(wait.error);
  if (ctx.transportError) return errAsync(ctx.transportError);
  return sweep(ctx, keys.value, wait.value);
};

/**
 * Finds the orphaned grants as {@link findOrphanedGrants} does and, unless `dryRun` (the default),
 * retires them with bounded concurrency. Never revokes, never touches a live repository's grants.
 *
 * @internal
 */
export const retireOrphanedGrants = (
  ctx: RegistryContext,
  input: RetireOrphanedGrantsInput = {},
): ResultAsync<OrphanedGrantsRetirement, RetireOrphanedGrantsError> => {
  const keys = validateKeys(input.keys);
  if (keys.isErr()) return errAsync(keys.error);
  const wait = validateWait(input);
  if (wait.isErr()) return errAsync(wait.error);
  const options = validateRetireInput(input);
  if (options.isErr()) return errAsync(options.error);
  if (ctx.transportError) return errAsync(ctx.transportError);
  const { dryRun, concurrency } = options.value;

  return sweep(ctx, keys.value, wait.value).andThen((report) => {
    const untouched = (key: KeyGrantReport): KeyRetirementReport => ({ ...key, retired: [], alreadyRetired: [], failed: [], kept: [] });
    if (dryRun) return okAsync({ ...report, dryRun, keys: report.keys.map(untouched) });

    const candidates = report.keys.flatMap((key) => key.orphans.map((orphan) => ({ key, orphan })));
    return confirmOrphans(ctx, candidates.map((c) => c.orphan)).andThen((confirmation) => {
      const work = candidates.filter(({ orphan }) => confirmation.confirmed.has(orphan.grantId));
      return ResultAsync.fromSafePromise(
        mapPool(work, concurrency, ({ key, orphan }) => retireGrant(ctx, key.keyArn, orphan.grantId)),
      ).map((outcomes): OrphanedGrantsRetirement => {
        const byKey = new Map(
          report.keys.map((key) => [
            key,
            {
              retired: [] as string[],
              alreadyRetired: [] as string[],
              failed: [] as FailedRetirement[],
              kept: key.orphans.flatMap((o) => confirmation.kept.get(o.grantId) ?? []),
            },
          ]),
        );
        for (const [i, outcome] of outcomes.entries()) {
          const item = work[i];
          const entry = item && byKey.get(item.key);
          if (!item || !entry) continue;
          if (outcome.isErr()) entry.failed.push({ grantId: item.orphan.grantId, repositoryArn: item.orphan.repositoryArn, error: outcome.error });
          else if (outcome.value === 'retired') entry.retired.push(item.orphan.grantId);
          else entry.alreadyRetired.push(item.orphan.grantId);
        }
        ctx.logger.info('orphaned grants retired', {
          retired: [...byKey.values()].reduce((n, e) => n + e.retired.length, 0),
          failed: [...byKey.values()].reduce((n, e) => n + e.failed.length, 0),
          kept: [...byKey.values()].reduce((n, e) => n + e.kept.length, 0),
        });
        return { ...report, dryRun, keys: report.keys.map((key) => ({ ...key, ...(byKey.get(key) ?? untouched(key)) })) };
      });
    });
  });
};
