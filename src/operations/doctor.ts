/**
 * `doctor`: read-only checks of what the library needs before it touches anything: credentials
 * (GetCallerIdentity), region and partition, an optional KMS key (DescribeKey: state, usage, spec,
 * region, partition), and the caller's permissions for create, delete and migrate. Every check is
 * the preflight's own: create is `preflight`; delete and migrate run the same IAM simulation and
 * key-policy evaluation over the actions `generateRepositoryAdminPolicy` grants for them.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { okAsync, ResultAsync } from 'neverthrow';
import { parseEncryption } from '../encryption/spec.js';
import type { GenericAwsError, PreflightError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { generateRepositoryAdminPolicy, type RepositoryOperation } from '../policy/index.js';
import { describeKey } from '../steps/kms-keys.js';
import type { Cancellable } from '../types.js';
import { type CallerOutcome, checkCaller, type Finding, preflight, type PreflightFindingError, simulate, type SimulationBatch, simulationBatches } from '../preflight/index.js';

/** A check's outcome: `pass` ✓, `fail` ✗, `unknown` ? (could not be told, e.g. IAM cannot simulate the caller). */
export type DoctorStatus = 'pass' | 'fail' | 'unknown';

/** The checks `doctor` runs, in order. */
export type DoctorCheckName = 'region' | 'credentials' | 'kmsKey' | 'permissions:create' | 'permissions:delete' | 'permissions:migrate';

/** One line of the checklist. */
export interface DoctorCheck {
  readonly check: DoctorCheckName;
  readonly status: DoctorStatus;
  readonly message: string;
  /** Warnings and notes that do not change the status. */
  readonly notes?: readonly string[];
  /** For a failed check, the typed error the operation would return. */
  readonly error?: PreflightFindingError | GenericAwsError;
}

/** What `doctor` found. */
export interface DoctorReport {
  /** No check failed (unknown ones do not count). */
  readonly ok: boolean;
  readonly region: string;
  readonly partition?: string;
  readonly account?: string;
  readonly callerArn?: string;
  readonly principalArn?: string;
  /** The repository name the permissions were simulated for. */
  readonly repositoryName: string;
  readonly key?: {
    readonly arn: string;
    readonly state?: string;
    readonly usage?: string;
    readonly spec?: string;
    readonly manager?: string;
    readonly region?: string;
    readonly partition?: string;
  };
  readonly checks: readonly DoctorCheck[];
}

/** Input of {@link doctor}. */
export interface DoctorInput extends Cancellable {
  /** A KMS key to check (id, ARN, alias or alias ARN). `alias/aws/ecr` makes KMS create the AWS-managed key on first use. */
  readonly kmsKey?: string;
  /** The repository name permissions are simulated for (policies are often scoped by name). Default `encrypted-ecr-doctor-check`. */
  readonly repositoryName?: string;
}

const DOCTOR_REPOSITORY = 'encrypted-ecr-doctor-check';

const KEY_CHECKS: ReadonlySet<string> = new Set(['keyRegion', 'keyExists', 'awsManagedKey', 'keyState', 'keyUsage', 'keySpec', 'dsseRegion', 'grantHeadroom']);
const PERMISSION_CHECKS: ReadonlySet<string> = new Set(['permissions', 'keyPolicy']);

const partitionOfRegion = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : region.startsWith('us-iso') ? 'aws-iso' : 'aws';
const partitionOfArn = (arn: string | undefined): string | undefined => arn?.split(':')[1];

/**
 * A permission row from the findings of one simulation: an error finding fails it; a missing
 * permission fails it unless `tolerated` (create works without kms:RetireGrant; only the later
 * deletion needs it); a simulation that could not run leaves it unknown.
 */
const permissionStatus = (check: DoctorCheckName, findings: readonly Finding[], tolerateMissing: boolean): DoctorCheck => {
  const failing = findings.filter((f) => f.severity === 'error' || (!tolerateMissing && f.error?.kind === 'MissingPermissions'));
  const notes = findings.filter((f) => !failing.includes(f)).map((f) => f.message);
  const withNotes = notes.length > 0 ? { notes } : {};
  const first = failing[0];
  if (first !== undefined) {
    return { check, status: 'fail', message: failing.map((f) => f.message).join('; '), ...(first.error ? { error: first.error } : {}), ...withNotes };
  }
  // The finding that gives the row its message is not repeated as a note.
  const headline = findings.find((f) => f.severity === 'warning' && f.error === undefined) ?? findings.find((f) => f.severity === 'info');
  const rest = notes.filter((n) => n !== headline?.message);
  const restNotes = rest.length > 0 ? { notes: rest } : {};
  if (headline?.severity === 'warning') return { check, status: 'unknown', message: headline.message, ...restNotes };
  return { check, status: 'pass', message: headline?.message ?? 'allowed', ...restNotes };
};

/** The simulation batches of one operation: the actions the generated least-privilege policy grants for it. */
const batchesFor = (
  operation: RepositoryOperation,
  region: string,
  account: string,
  repositoryName: string,
  repositoryArn: string,
  key: { readonly arn: string; readonly manager: 'AWS' | 'CUSTOMER' } | undefined,
): SimulationBatch[] => {
  const policy = generateRepositoryAdminPolicy({
    region,
    account,
    repositories: { names: [repositoryName] },
    keyArns: key ? [key.arn] : [],
    operations: [operation],
    // The doctor checks the operation, not the preflight's own reads.
    preflight: false,
  });
  if (policy.isErr()) return [];
  const ecrActions: string[] = [];
  const kmsActions: string[] = [];
  for (const statement of policy.value.Statement) {
    const actions = typeof statement.Action === 'string' ? [statement.Action] : [...(statement.Action ?? [])];
    for (const action of actions) {
      if (action === 'ecr:GetAuthorizationToken') continue; // no resource; the token alone grants nothing
      if (action.startsWith('ecr:')) ecrActions.push(action);
      else if (action.startsWith('kms:')) kmsActions.push(action);
    }
  }
  const batches: SimulationBatch[] = [{ actions: ecrActions, resource: repositoryArn, contextEntries: [] }];
  if (key !== undefined) {
    // ECR's forwarded context, exactly as the preflight builds it.
    const parsed = parseEncryption({ type: 'KMS', key: key.arn });
    const forwarded = parsed.isOk()
      ? simulationBatches({ repositoryName, encryption: { type: 'KMS', key: key.arn } }, region, account, repositoryArn, parsed.value, { ...key, usable: true }).find(
          (b) => b.resource === key.arn,
        )?.contextEntries
      : undefined;
    // The AWS-managed key's policy allows CreateGrant and DescribeKey through ECR to the whole account.
    const actions = key.manager === 'AWS' ? kmsActions.filter((a) => a !== 'kms:CreateGrant' && a !== 'kms:DescribeKey') : kmsActions;
    if (actions.length > 0) batches.push({ actions: [...new Set(actions)], resource: key.arn, contextEntries: forwarded ?? [] });
  }
  return batches;
};

/**
 * Runs every read-only check and answers the checklist. Fails only when the checks cannot run at
 * all (an unsafe endpoint, no region); a failed check is a `fail` row, not an error.
 *
 * @internal Reached through the CLI's `encrypted-ecr doctor`.
 */
export const doctor = (ctx: RegistryContext, input: DoctorInput = {}): ResultAsync<DoctorReport, PreflightError> => {
  const repositoryName = input.repositoryName ?? DOCTOR_REPOSITORY;
  // Without a key, AES256: a KMS preflight without a key would describe alias/aws/ecr, which creates it.
  const encryption = input.kmsKey !== undefined ? { type: 'KMS' as const, key: input.kmsKey } : ('AES256' as const);
  return preflight(ctx, { repositoryName, encryption }).andThen((report) => {
    const { facts } = report;
    const region = facts.region ?? '';
    const checks: DoctorCheck[] = [];
    const regionPartition = partitionOfRegion(region);
    const callerPartition = partitionOfArn(facts.callerArn);

    checks.push(
      callerPartition !== undefined && callerPartition !== regionPartition
        ? { check: 'region', status: 'fail', message: `${region} is in partition ${regionPartition}, but the credentials are of partition ${callerPartition}` }
        : { check: 'region', status: 'pass', message: `${region} (partition ${callerPartition ?? regionPartition})` },
    );

    const identity = report.findings.find((f) => f.check === 'callerIdentity');
    checks.push(
      identity !== undefined || facts.callerArn === undefined
        ? { check: 'credentials', status: 'fail', message: identity?.message ?? 'GetCallerIdentity answered no identity', ...(identity?.error ? { error: identity.error } : {}) }
        : { check: 'credentials', status: 'pass', message: `${facts.callerArn} (account ${facts.account ?? '?'})` },
    );

    const keyDetails: ResultAsync<KeyMetadata | undefined, never> =
      input.kmsKey !== undefined && facts.keyArn !== undefined
        ? describeKey(ctx, facts.keyArn)
            .map((m): KeyMetadata | undefined => m)
            .orElse(() => okAsync(undefined))
        : okAsync(undefined);

    return keyDetails.andThen((metadata) => {
      const keyPartition = partitionOfArn(facts.keyArn);
      const keyRegion = facts.keyArn?.split(':')[3];
      const key =
        facts.keyArn !== undefined
          ? {
              arn: facts.keyArn,
              ...(metadata?.KeyState ? { state: metadata.KeyState } : {}),
              ...(metadata?.KeyUsage ? { usage: metadata.KeyUsage } : {}),
              ...(metadata?.KeySpec ? { spec: metadata.KeySpec } : {}),
              ...(facts.keyManager ? { manager: facts.keyManager } : {}),
              ...(keyRegion ? { region: keyRegion } : {}),
              ...(keyPartition ? { partition: keyPartition } : {}),
            }
          : undefined;
      if (input.kmsKey !== undefined) {
        const keyFindings = report.findings.filter((f) => KEY_CHECKS.has(f.check) || (f.check === 'encryption' && f.severity === 'error'));
        const errors = keyFindings.filter((f) => f.severity === 'error');
        const partitionWrong = key?.partition !== undefined && callerPartition !== undefined && key.partition !== callerPartition;
        const detail = key ? `${key.arn}: ${key.state ?? '?'}, ${key.usage ?? '?'}, ${key.spec ?? '?'}, ${key.manager ?? '?'}-managed, ${key.region ?? '?'}` : input.kmsKey;
        const notes = keyFindings.filter((f) => f.severity !== 'error').map((f) => f.message);
        const firstError = errors[0];
        checks.push(
          firstError !== undefined
            ? { check: 'kmsKey', status: 'fail', message: errors.map((f) => f.message).join('; '), ...(firstError.error ? { error: firstError.error } : {}), ...(notes.length ? { notes } : {}) }
            : partitionWrong
              ? { check: 'kmsKey', status: 'fail', message: `${detail}: partition ${key.partition ?? ''}, the credentials' is ${callerPartition}` }
              : { check: 'kmsKey', status: 'pass', message: detail, ...(notes.length ? { notes } : {}) },
        );
      }

      const createFindings = report.findings.filter((f) => PERMISSION_CHECKS.has(f.check));
      checks.push(permissionStatus('permissions:create', createFindings, true));

      const caller: ResultAsync<CallerOutcome, never> = facts.account !== undefined ? checkCaller(ctx) : okAsync({ findings: [] });
      return caller.andThen((who) => {
        const { principalArn } = who;
        const account = facts.account;
        const later = (['delete', 'migrate'] as const).map((operation) => {
          const check: DoctorCheckName = `permissions:${operation}`;
          if (account === undefined || facts.repositoryArn === undefined) {
            return okAsync<DoctorCheck, never>({ check, status: 'unknown', message: 'the caller is unknown: permissions were not simulated' });
          }
          if (principalArn === undefined) return okAsync<DoctorCheck, never>(permissionStatus(check, who.findings, false));
          const batches = batchesFor(operation, region, account, repositoryName, facts.repositoryArn, key && facts.keyManager ? { arn: key.arn, manager: facts.keyManager } : undefined);
          return simulate(ctx, { principalArn, callerArn: facts.callerArn ?? principalArn, account }, batches, key?.arn).map((findings) => {
            const row = permissionStatus(check, findings, false);
            return key === undefined && row.status === 'pass' ? { ...row, notes: [...(row.notes ?? []), 'KMS permissions not checked: pass --kms-key'] } : row;
          });
        });
        return ResultAsync.combine(later).map((rows): DoctorReport => {
          const all = [...checks, ...rows];
          return {
            ok: all.every((c) => c.status !== 'fail'),
            region,
            ...(callerPartition ? { partition: callerPartition } : {}),
            ...(facts.account ? { account: facts.account } : {}),
            ...(facts.callerArn ? { callerArn: facts.callerArn } : {}),
            ...(principalArn ? { principalArn } : {}),
            repositoryName,
            ...(key ? { key } : {}),
            checks: all,
          };
        });
      });
    });
  });
};
