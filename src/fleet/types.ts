/**
 * The public types of fleet sweeps: which accounts and regions ({@link FleetOptions}), and the one
 * merged report each sweep answers, with a row per target (account, region) that says whether it
 * was swept and, if not, why.
 */
import type { RegistryError } from '../errors.js';
import type { AuditCost, AuditedKey, AuditedRepository, AuditReport, AuditStatus } from '../operations/audit-types.js';
import type { KeyGrantReport, KeyRetirementReport, SkippedKey } from '../operations/orphaned-grants.js';
import type { EncryptedRegistryOptions } from '../registry-options.js';

/** Which accounts and regions a fleet sweep covers, and how it reaches each account. */
export interface FleetOptions extends Omit<EncryptedRegistryOptions, 'clients'> {
  /**
   * The accounts: their 12-digit ids, or `'organization'` for every ACTIVE account of the AWS
   * Organization (Organizations `ListAccounts`, from the management account or a delegated
   * administrator; needs the optional package `@aws-sdk/client-organizations`). Default: the
   * caller's own account only. The caller's own account is swept with the caller's credentials;
   * every other account through `roleName`.
   */
  readonly accounts?: readonly string[] | 'organization';
  /**
   * The regions: a list, or `'enabled'` for the regions each account has enabled (Account
   * `ListRegions`, statuses `ENABLED` and `ENABLED_BY_DEFAULT`, called in that account; needs
   * `account:ListRegions` and the optional package `@aws-sdk/client-account`). Default: the region
   * of `clientConfig` (or the SDK's).
   */
  readonly regions?: readonly string[] | 'enabled';
  /**
   * The role assumed in every account but the caller's (`arn:<partition>:iam::<account>:role/<roleName>`;
   * a path may precede the name: `ops/ecr-auditor`). Required when `accounts` names another account.
   */
  readonly roleName?: string;
  /** Sent as `ExternalId` with every AssumeRole, for trust policies with an `sts:ExternalId` condition. */
  readonly externalId?: string;
  /**
   * The role session name, seen in the accounts' CloudTrail. Default `encrypted-ecr-<caller>`, where
   * `<caller>` is the last part of the caller's ARN (user name or session name), cut to 64 characters.
   */
  readonly sessionName?: string;
  /** Targets (account, region) swept at once. Default 4, at most 32. */
  readonly concurrency?: number;
}

/** Where a fleet sweep failed for one target. */
export type FleetStage =
  /** AssumeRole into the account: role missing, trust policy, external id, SCP. */
  | 'assume-role'
  /** Account ListRegions, for `regions: 'enabled'`. */
  | 'list-regions'
  /** The sweep itself in that account and region. */
  | 'sweep';

/** One account and region of a sweep. */
export interface FleetTarget {
  readonly accountId: string;
  readonly region: string;
}

/** What became of one target. A failure before the regions were known covers every region (`region` absent). */
export interface FleetTargetOutcome {
  readonly accountId: string;
  /** Absent when the account failed before its regions were known (AssumeRole, ListRegions). */
  readonly region?: string;
  readonly status: 'ok' | 'failed';
  /** For a failure: where it failed. */
  readonly stage?: FleetStage;
  /** For a failure: the typed error of that stage. */
  readonly error?: RegistryError;
  /**
   * For a failure, what it most likely means, when the error alone does not say: e.g. an
   * unrecognized token in one region with credentials that work in others is a region the account
   * has not enabled (opt-in regions answer `UnrecognizedClientException` / `InvalidClientTokenId`).
   */
  readonly hint?: string;
}

/** The counts of one account or one region of a fleet report. */
export interface FleetTotals {
  /** Targets (account, region) planned; a failure before the regions were known counts as one. */
  readonly targets: number;
  readonly failed: number;
  readonly repositories: number;
  /** Repositories whose status is `fail` (audit) — 0 for grant sweeps. */
  readonly nonCompliant: number;
  /** Repositories whose status is `unknown` (audit) — 0 for grant sweeps. */
  readonly unknown: number;
  readonly keys: number;
  readonly orphanedGrants: number;
}

/** What every fleet report has: the targets and the totals per account and per region. */
export interface FleetReportBase {
  /** The accounts covered (tried), in order. */
  readonly accounts: readonly string[];
  /** Every region swept in at least one account. */
  readonly regions: readonly string[];
  /** Every target, swept or failed: per-target failures are here, never an error of the sweep. */
  readonly targets: readonly FleetTargetOutcome[];
  /** Accounts the organization lists but that are not ACTIVE (not swept), with their state. */
  readonly skippedAccounts: readonly { readonly accountId: string; readonly state: string }[];
  readonly byAccount: Readonly<Record<string, FleetTotals>>;
  readonly byRegion: Readonly<Record<string, FleetTotals>>;
  /** Targets that failed. */
  readonly failedTargets: number;
}

/** A repository row of a fleet audit: the single-region row, with its account and region. */
export type FleetAuditedRepository = AuditedRepository & FleetTarget;
/** A key row of a fleet audit, with the account and region it was audited in. */
export type FleetAuditedKey = AuditedKey & FleetTarget;

/**
 * The merged audit of every target. Same fields as a single-region {@link AuditReport} where they
 * merge (rule, repositories, keys, summary, cost), plus the targets and totals. `compliant` is true
 * only when every target was audited and every repository passes; `status` is `unknown` when a
 * target failed and nothing failed outright.
 */
export interface FleetAuditReport extends FleetReportBase {
  readonly rule: AuditReport['rule'];
  readonly compliant: boolean;
  readonly status: AuditStatus;
  readonly repositories: readonly FleetAuditedRepository[];
  readonly keys: readonly FleetAuditedKey[];
  /** Summed over the targets audited (`caveats` merged, `assumptions` as each target's); absent when none was. */
  readonly cost: AuditCost | undefined;
  readonly summary: AuditReport['summary'];
}

/** A key of a fleet grant sweep, with its account and region. */
export type FleetKeyGrantReport = KeyGrantReport & FleetTarget;
/** A key a fleet grant sweep skipped, with its account and region. */
export type FleetSkippedKey = SkippedKey & FleetTarget;

/** The merged `findOrphanedGrants` of every target. */
export interface FleetOrphanedGrantsReport extends FleetReportBase {
  readonly keys: readonly FleetKeyGrantReport[];
  readonly skipped: readonly FleetSkippedKey[];
}

/** The merged `retireOrphanedGrants` of every target. */
export interface FleetOrphanedGrantsRetirement extends FleetReportBase {
  readonly dryRun: boolean;
  readonly keys: readonly (KeyRetirementReport & FleetTarget)[];
  readonly skipped: readonly FleetSkippedKey[];
}
