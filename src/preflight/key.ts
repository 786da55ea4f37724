/**
 * The key checks of the preflight: DescribeKey resolves the reference to the canonical key ARN;
 * its state, usage, spec, region and the grant headroom on a customer-managed key are checked.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { okAsync, type ResultAsync } from 'neverthrow';
import { AWS_MANAGED_ECR_ALIAS, type ParsedEncryption } from '../encryption/spec.js';
import type { KeyNotUsable, KeyNotUsableReason } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { ecrRepositoryArnOf, GRANTS_PER_KEY_QUOTA, isEcrServiceGrant } from '../grants/rules.js';
import { listAllGrants } from '../steps/kms-grants.js';
import { describeKey } from '../steps/kms-keys.js';
import type { CallerOutcome } from './caller.js';
import { errorFinding, note } from './finding.js';
import { partitionFinding, partitionOfRegion } from './region.js';
import type { BlockingFinding, Finding, PreflightCheck, PreflightFindingError } from './types.js';

/** Two grants per repository (ECR's documented count). */
const GRANTS_PER_REPOSITORY = 2;
/** Warn from 90% of the grant quota. */
const GRANT_WARNING_RATIO = 0.9;
/** How close to "now" a key's CreationDate must be for us to say DescribeKey just created it. */
const JUST_CREATED_MS = 60_000;


/** The key as DescribeKey resolved it. */
export interface ResolvedKey {
  readonly arn: string;
  readonly manager: 'AWS' | 'CUSTOMER';
  readonly usable: boolean;
  /** `false` when DescribeKey was denied and the ARN comes from the reference itself (state, usage, spec unverified). */
  readonly described?: boolean;
}

export interface KeyOutcome {
  readonly findings: Finding[];
  readonly key?: ResolvedKey;
  readonly grantCount?: number;
  readonly ecrGrantCount?: number;
  readonly awsManagedKeyCreated?: boolean;
}

const STATE_REASONS: Readonly<Record<string, KeyNotUsableReason>> = {
  Disabled: 'Disabled',
  PendingDeletion: 'PendingDeletion',
  PendingReplicaDeletion: 'PendingDeletion',
  PendingImport: 'PendingImport',
  Unavailable: 'Unavailable',
  Creating: 'Creating',
  Updating: 'Updating',
};

const regionOfArn = (arn: string): string | undefined => arn.split(':')[3];

const stateDetail = (metadata: KeyMetadata): string => {
  const state = metadata.KeyState ?? 'unknown';
  if (state === 'PendingDeletion' || state === 'PendingReplicaDeletion') {
    const when = metadata.DeletionDate
      ? ` on ${metadata.DeletionDate.toISOString()}`
      : metadata.PendingDeletionWindowInDays !== undefined
        ? ` ${metadata.PendingDeletionWindowInDays} days after its last replica is deleted`
        : '';
    return `key is ${state === 'PendingReplicaDeletion' ? 'pending deletion (waiting for its replicas)' : 'pending deletion'}${when}; cancel the deletion to use it`;
  }
  if (state === 'Unavailable') return 'key is unavailable (its custom key store is disconnected): ECR could not encrypt or decrypt';
  return `key state is ${state}, ECR needs Enabled`;
};

/** Checks state, usage, spec and region of a resolved key. */
const checkKeyMetadata = (metadata: KeyMetadata & { readonly Arn: string }, region: string, type: string): Finding[] => {
  const findings: Finding[] = [];
  const notUsable = (check: PreflightCheck, reason: KeyNotUsableReason, detail: string): void => {
    const error: KeyNotUsable = { kind: 'KeyNotUsable', keyArn: metadata.Arn, reason, detail };
    findings.push(errorFinding(check, `${metadata.Arn}: ${detail}`, error));
  };
  const state = metadata.KeyState;
  if (state !== 'Enabled' || metadata.Enabled === false) {
    notUsable('keyState', (state && STATE_REASONS[state]) ?? 'Disabled', stateDetail(metadata));
  }
  if (metadata.KeyUsage !== undefined && metadata.KeyUsage !== 'ENCRYPT_DECRYPT') {
    notUsable('keyUsage', 'WrongKeyUsage', `key usage is ${metadata.KeyUsage}, ECR needs ENCRYPT_DECRYPT`);
  }
  // CustomerMasterKeySpec is the deprecated name of the same field; older keys may report only it.
  const spec = metadata.KeySpec ?? metadata.CustomerMasterKeySpec;
  if (spec !== undefined && spec !== 'SYMMETRIC_DEFAULT') {
    notUsable('keySpec', 'WrongKeySpec', `key spec is ${spec}, ECR needs a symmetric encryption key (SYMMETRIC_DEFAULT)`);
  }
  const keyPartition = metadata.Arn.split(':')[1];
  if (keyPartition !== undefined) findings.push(...partitionFinding(metadata.Arn, keyPartition, region));
  const keyRegion = regionOfArn(metadata.Arn);
  if (keyRegion !== undefined && keyRegion !== region) {
    findings.push(
      errorFinding('keyRegion', `the key ${metadata.Arn} is in ${keyRegion}, the repository would be in ${region}`, {
        kind: 'KeyRegionMismatch',
        keyArn: metadata.Arn,
        keyRegion,
        repositoryRegion: region,
      }),
    );
  }
  if (type === 'KMS_DSSE' && !region.startsWith('us-gov-')) {
    findings.push(note('dsseRegion', 'warning', `AWS documents KMS_DSSE for the AWS GovCloud (US) regions only; ${region} may refuse it`));
  }
  return findings;
};

/** Grant headroom of a customer-managed key: every grant counts against its 50,000 quota, not just ECR's. */
const checkGrantHeadroom = (ctx: RegistryContext, keyArn: string): ResultAsync<KeyOutcome, never> =>
  listAllGrants(ctx, keyArn)
    .map((grants): KeyOutcome => {
      const grantCount = grants.length;
      const ecrGrantCount = grants.filter((g) => ecrRepositoryArnOf(g) !== undefined && isEcrServiceGrant(g)).length;
      const room = GRANTS_PER_KEY_QUOTA - grantCount;
      const counts = `${grantCount} grants on the key (${ecrGrantCount} of them ECR's) of ${GRANTS_PER_KEY_QUOTA}`;
      const finding =
        room < GRANTS_PER_REPOSITORY
          ? errorFinding('grantHeadroom', `${counts}: no room for the ${GRANTS_PER_REPOSITORY} grants ECR creates; retire orphaned grants or raise the quota`, {
              kind: 'KeyGrantQuotaExhausted',
              keyArn,
              grantCount,
              quota: GRANTS_PER_KEY_QUOTA,
            })
          : grantCount >= GRANTS_PER_KEY_QUOTA * GRANT_WARNING_RATIO
            ? note('grantHeadroom', 'warning', `${counts}: over 90% of the quota; look for orphaned ECR grants`)
            : note('grantHeadroom', 'info', counts);
      return { findings: [finding], grantCount, ecrGrantCount };
    })
    // Not being allowed to list grants does not stop creation; it only blinds the headroom check.
    .orElse((error) =>
      okAsync<KeyOutcome, never>({
        findings: [
          error.kind === 'AccessDenied'
            ? note('grantHeadroom', 'warning', `cannot count the key's grants (kms:ListGrants denied): headroom unchecked, and grants will not be verified after creation`)
            : errorFinding('grantHeadroom', `cannot count the key's grants: ${error.kind}`, error),
        ],
      }),
    );

/**
 * What can be said of a key the caller may not describe directly. A key policy may allow
 * DescribeKey only through ECR (`kms:ViaService`, as `generateEcrKeyPolicy({ allowVerification:
 * false })` writes it, and as the AWS-managed keys' policies do): ECR's own DescribeKey then
 * succeeds, ours cannot. A key ARN is canonical already and names its partition and region (checked
 * before any call); a key id names a key of the caller's account in this region. Its state, usage
 * and spec stay unverified: ECR checks them itself when it creates the repository.
 */
const undescribedKey = (
  ctx: RegistryContext,
  keyArn: string,
  reference: string,
): ResultAsync<KeyOutcome, never> => {
  const unverified = (check: PreflightCheck, what: string): Finding =>
    note(check, 'warning', `the key's ${what} could not be verified (DescribeKey on ${reference} was denied to the caller directly); ECR checks it when it creates the repository`);
  const findings: Finding[] = [
    note(
      'keyExists',
      'warning',
      `DescribeKey on ${reference} was denied to the caller directly; a key policy that allows it only through ECR (kms:ViaService) does this, ` +
        `and ECR's own DescribeKey would then succeed: going on with ${keyArn}, unverified`,
    ),
    unverified('keyState', 'state (ECR needs Enabled)'),
    unverified('keyUsage', 'usage (ECR needs ENCRYPT_DECRYPT)'),
    unverified('keySpec', 'spec (ECR needs SYMMETRIC_DEFAULT)'),
  ];
  const key: ResolvedKey = { arn: keyArn, manager: 'CUSTOMER', usable: true, described: false };
  return checkGrantHeadroom(ctx, keyArn).map((headroom) => ({ ...headroom, findings: [...findings, ...headroom.findings], key }));
};

/** Resolves the key to its canonical ARN and checks its state, usage, spec, region and grant headroom. */
export const checkKey = (
  ctx: RegistryContext,
  encryption: ParsedEncryption,
  region: string,
  caller: ResultAsync<CallerOutcome, never>,
): ResultAsync<KeyOutcome, never> => {
  const reference = encryption.key?.value ?? AWS_MANAGED_ECR_ALIAS;
  const startedAt = ctx.now();
  return describeKey(ctx, reference)
    .andThen((metadata): ResultAsync<KeyOutcome, never> => {
      const manager = metadata.KeyManager === 'AWS' ? 'AWS' : 'CUSTOMER';
      const findings = checkKeyMetadata(metadata, region, encryption.type);
      const key: ResolvedKey = { arn: metadata.Arn, manager, usable: !findings.some((f) => f.severity === 'error') };
      let awsManagedKeyCreated: boolean | undefined;
      if (manager === 'AWS') {
        awsManagedKeyCreated =
          metadata.CreationDate !== undefined && metadata.CreationDate.getTime() >= startedAt.getTime() - JUST_CREATED_MS;
        findings.unshift(
          note(
            'awsManagedKey',
            'info',
            awsManagedKeyCreated
              ? `the AWS-managed key aws/ecr (${metadata.Arn}) was just created: DescribeKey on alias/aws/ecr creates it on first use`
              : `the AWS-managed key aws/ecr is ${metadata.Arn} (DescribeKey on alias/aws/ecr creates it on first use; it existed already)`,
          ),
        );
        findings.push(note('grantHeadroom', 'info', 'the 50,000 grants quota does not apply to AWS-managed keys'));
        return okAsync({ findings, key, awsManagedKeyCreated });
      }
      return checkGrantHeadroom(ctx, metadata.Arn).map((headroom) => ({
        ...headroom,
        findings: [...findings, ...headroom.findings],
        key,
      }));
    })
    .orElse((error): ResultAsync<KeyOutcome, never> => {
      const given = encryption.key;
      if (error.kind === 'AccessDenied' && given?.form === 'key-arn') return undescribedKey(ctx, given.value, reference);
      if (error.kind === 'AccessDenied' && given?.form === 'key-id') {
        // A bare key id names a key of the caller's account, in the region of the request.
        return caller.andThen((c) => {
          const partition = partitionOfRegion(region) ?? c.partition;
          return c.account !== undefined && partition !== undefined
            ? undescribedKey(ctx, `arn:${partition}:kms:${region}:${c.account}:key/${given.value}`, reference)
            : okAsync<KeyOutcome, never>({ findings: [deniedKeyFinding(error, reference, region)] });
        });
      }
      return okAsync<KeyOutcome, never>({
        findings: [
          error.kind === 'AccessDenied'
            ? deniedKeyFinding(error, reference, region)
            : errorFinding(
                error.kind === 'InvalidEncryption' ? 'encryption' : 'keyExists',
                error.kind === 'KeyNotFound' ? `no KMS key ${reference} in ${region}` : `cannot describe the key ${reference}: ${error.kind}`,
                error,
              ),
        ],
      });
    });
};

/** An alias (or the AWS-managed key) the caller may not describe: it cannot be resolved to the key ARN `create` needs. */
const deniedKeyFinding = (error: PreflightFindingError, reference: string, region: string): BlockingFinding =>
  errorFinding(
    'keyExists',
    `DescribeKey on ${reference} in ${region} was denied to the caller directly, so the key could not be resolved to its ARN: its existence, ` +
      'region, state, usage and spec are unchecked, and the repository cannot be created with the canonical key ARN. A key policy that ' +
      'allows DescribeKey only through ECR (kms:ViaService) does this: give the key ARN (or key id) instead, which needs no DescribeKey',
    error,
  );
