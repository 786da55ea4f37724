/**
 * Key posture: the checks `audit` makes on each KMS key in use (once per key, never per
 * repository), each with three states (pass / fail / unknown) and, where one exists, the matching
 * AWS Security Hub control and Prowler check.
 *
 * The mappings, verified against public sources (see `docs/aws-behaviour.md`):
 * - rotation ↔ Security Hub `KMS.4` "AWS KMS key rotation should be enabled" ↔ Prowler `kms_cmk_rotation_enabled`;
 * - deletion scheduled ↔ `KMS.3` "AWS KMS keys should not be deleted unintentionally" ↔ `kms_cmk_not_deleted_unintentionally`;
 * - public key policy ↔ `KMS.5` "KMS keys should not be publicly accessible" ↔ `kms_key_not_publicly_accessible`
 *   (Prowler's `prowler/compliance/aws/aws_foundational_security_best_practices_aws.json` maps each of
 *   the three to its control; the controls are on the Security Hub user guide's `kms-controls` page);
 * - key state, owning account, imported key material and destructive access have no control nor
 *   check of either: their ids are absent, never invented.
 *
 * Calls per key: GetKeyRotationStatus (customer keys that support rotation), ListKeyRotations (for
 * the cost, keys billed to this account with rotation on), GetKeyPolicy (not across accounts: a key
 * of another account gets `unknown` policy checks).
 */
import type { KeyMetadata, KeyState } from '@aws-sdk/client-kms';
import type { GenericAwsError, KeyNotFound } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { explainAccess } from '../policy/index.js';
import type { PolicyDocument, PolicyStatement } from '../policy/index.js';
import { parseKeyPolicy } from '../preflight/index.js';
import { getKeyRotationStatus, listAllKeyRotations, type RotationNotSupported } from '../steps/kms-posture.js';
import { getKeyPolicy } from '../steps/kms-keys.js';

/** Three states, as `AuditStatus` (`./audit-types.ts`, which imports this module's types). */
type AuditStatus = 'pass' | 'fail' | 'unknown';

/** The posture checks made on a key. */
export type KeyPostureCheckId =
  /** Automatic rotation of a customer key's material (AWS managed keys always rotate). */
  | 'rotation'
  /** The key is scheduled for deletion (`PendingDeletion`, `PendingReplicaDeletion`). */
  | 'deletion-scheduled'
  /** The key is in a state ECR can use (`Enabled`, `Updating`). */
  | 'key-state'
  /** The key belongs to the registry's account (another account controls availability). */
  | 'key-account'
  /** Imported key material (`Origin: EXTERNAL`) and its expiry (`ValidTo`). */
  | 'imported-key-material'
  /** The key policy lets anyone (`*` without a narrowing condition) use or manage the key. */
  | 'public-key-policy'
  /** Principals of another account may disable, schedule the deletion of, or rewrite the policy of the key. */
  | 'destructive-key-access';

/** ASFF severity labels (`Severity.Label`). */
export type FindingSeverity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** One posture check of one key. */
export interface KeyPostureCheck {
  readonly id: KeyPostureCheckId;
  readonly title: string;
  /** `unknown` when the check could not be made (e.g. access denied): never counted as passed. */
  readonly status: AuditStatus;
  /** How serious a failure is (the label a `fail` carries in ASFF). */
  readonly severity: FindingSeverity;
  readonly message: string;
  /** The AWS Security Hub control this check matches, when one exists (e.g. `KMS.4`). */
  readonly securityHubControlId?: string;
  /** The Prowler check this check matches, when one exists (e.g. `kms_cmk_rotation_enabled`). */
  readonly prowlerCheckId?: string;
  /** For `destructive-key-access`: `principal: action` pairs the key policy allows. */
  readonly principals?: readonly string[];
}

/** What is known of a key's rotation (for the check and the cost). */
export interface KeyRotation {
  /** Undefined when not asked (AWS managed keys: always on) or unreadable. */
  readonly enabled: boolean | undefined;
  readonly periodInDays?: number;
  /** Completed rotations; undefined when neither counted nor estimated. */
  readonly rotations: number | undefined;
  /**
   * `true` when `rotations` is an estimate (ListKeyRotations could not be read): the number of
   * rotation periods since the key's creation, an upper bound since rotation may have been turned
   * on later.
   */
  readonly rotationsEstimated: boolean;
}

/** The posture of one key in use. */
export interface KeyPosture {
  /** `fail` when a check fails, else `unknown` when one could not be made, else `pass`. */
  readonly status: AuditStatus;
  readonly checks: readonly KeyPostureCheck[];
  readonly rotation: KeyRotation | undefined;
}

/** What the audit knows of a key before its posture is read. */
export interface PostureInput {
  readonly keyArn: string;
  readonly metadata: KeyMetadata | undefined;
  readonly keyState: KeyState | 'NotFound' | undefined;
  readonly keyAccount: string | undefined;
  /** The registry's account. */
  readonly account: string | undefined;
  /** Whether the key's monthly fee is billed to the registry's account (rotation is counted only then). */
  readonly billedHere: boolean;
  readonly error?: KeyNotFound | GenericAwsError | undefined;
}

const MAPPINGS: Readonly<Partial<Record<KeyPostureCheckId, { readonly securityHubControlId: string; readonly prowlerCheckId: string }>>> = {
  rotation: { securityHubControlId: 'KMS.4', prowlerCheckId: 'kms_cmk_rotation_enabled' },
  'deletion-scheduled': { securityHubControlId: 'KMS.3', prowlerCheckId: 'kms_cmk_not_deleted_unintentionally' },
  'public-key-policy': { securityHubControlId: 'KMS.5', prowlerCheckId: 'kms_key_not_publicly_accessible' },
};

const TITLES: Readonly<Record<KeyPostureCheckId, string>> = {
  rotation: 'KMS key rotation should be enabled',
  'deletion-scheduled': 'KMS key should not be scheduled for deletion',
  'key-state': 'KMS key should be in a state ECR can use',
  'key-account': 'KMS key should belong to the registry account',
  'imported-key-material': 'Imported KMS key material should not expire soon',
  'public-key-policy': 'KMS key policy should not allow public access',
  'destructive-key-access': 'Only the key account should be able to disable, delete or rewrite the policy of a KMS key',
};

const check = (id: KeyPostureCheckId, status: AuditStatus, severity: FindingSeverity, message: string, principals?: readonly string[]): KeyPostureCheck => ({
  id,
  title: TITLES[id],
  status,
  severity,
  message,
  ...MAPPINGS[id],
  ...(principals !== undefined ? { principals } : {}),
});

const describeError = (e: { readonly kind: string; readonly message?: string; readonly name?: string }): string =>
  `${e.kind}${e.name !== undefined && e.name !== e.kind ? ` ${e.name}` : ''}${e.message !== undefined ? `: ${e.message}` : ''}`;

const errorText = (e: RotationNotSupported | GenericAwsError | KeyNotFound): string => describeError(e);

/** Key states in which ECR can use a key (`Updating`: multi-Region key, usable, KMS Developer Guide multi-region-update). */
const USABLE: ReadonlySet<string> = new Set(['Enabled', 'Updating']);
const DELETING: ReadonlySet<string> = new Set(['PendingDeletion', 'PendingReplicaDeletion']);
/** Imported key material expiring within this many days fails the check (an assumption: a month to re-import). */
const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Checks from DescribeKey alone
// ---------------------------------------------------------------------------------------------

const stateChecks = (input: PostureInput, now: Date): KeyPostureCheck[] => {
  const { keyArn, keyState, metadata } = input;
  if (keyState === undefined) {
    const why = input.error ? errorText(input.error) : 'not described';
    return [check('key-state', 'unknown', 'HIGH', `the key ${keyArn} could not be described (${why})`)];
  }
  const out: KeyPostureCheck[] = [
    USABLE.has(keyState)
      ? check('key-state', 'pass', 'HIGH', `the key ${keyArn} is ${keyState}`)
      : check('key-state', 'fail', 'HIGH', `the key ${keyArn} is ${keyState}: ECR cannot encrypt or decrypt images with it`),
  ];
  if (metadata?.KeyManager === 'CUSTOMER') {
    out.push(
      DELETING.has(keyState)
        ? check(
            'deletion-scheduled',
            'fail',
            'CRITICAL',
            `the key ${keyArn} is ${keyState}${metadata.DeletionDate ? ` (deleted on ${metadata.DeletionDate.toISOString()})` : ''}: every image encrypted with it becomes unreadable for good; cancel with CancelKeyDeletion`,
          )
        : check('deletion-scheduled', 'pass', 'CRITICAL', `the key ${keyArn} is not scheduled for deletion`),
    );
  }
  if (metadata?.Origin === 'EXTERNAL') {
    const validTo = metadata.ValidTo;
    if (validTo === undefined) {
      out.push(check('imported-key-material', 'pass', 'HIGH', `the key ${keyArn} has imported key material that does not expire`));
    } else if (validTo.getTime() <= now.getTime()) {
      out.push(check('imported-key-material', 'fail', 'HIGH', `the imported key material of ${keyArn} expired on ${validTo.toISOString()}: re-import it, images cannot be pushed or pulled`));
    } else if (validTo.getTime() - now.getTime() <= EXPIRY_WARNING_DAYS * DAY_MS) {
      out.push(check('imported-key-material', 'fail', 'MEDIUM', `the imported key material of ${keyArn} expires on ${validTo.toISOString()}, within ${EXPIRY_WARNING_DAYS} days: re-import it before then`));
    } else {
      out.push(check('imported-key-material', 'pass', 'MEDIUM', `the imported key material of ${keyArn} expires on ${validTo.toISOString()}`));
    }
  }
  return out;
};

const accountCheck = (input: PostureInput): KeyPostureCheck => {
  const { keyArn, keyAccount, account } = input;
  if (keyAccount === undefined || account === undefined) return check('key-account', 'unknown', 'LOW', `the owner of ${keyArn} is not known`);
  return keyAccount === account
    ? check('key-account', 'pass', 'LOW', `the key ${keyArn} belongs to the registry account ${account}`)
    : check('key-account', 'fail', 'LOW', `the key ${keyArn} belongs to account ${keyAccount}, which controls it (it can disable or delete it, or withdraw access) and is billed its fee`);
};

// ---------------------------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------------------------

/** Whether KMS can rotate the key automatically: symmetric keys with KMS-generated material (EnableKeyRotation reference). */
const rotatable = (metadata: KeyMetadata): boolean =>
  (metadata.KeySpec === undefined || metadata.KeySpec === 'SYMMETRIC_DEFAULT') &&
  (metadata.Origin === undefined || metadata.Origin === 'AWS_KMS') &&
  metadata.CustomKeyStoreId === undefined;

const estimateRotations = (metadata: KeyMetadata | undefined, periodInDays: number | undefined, now: Date): number | undefined => {
  const created = metadata?.CreationDate;
  if (created === undefined || periodInDays === undefined || periodInDays <= 0) return undefined;
  return Math.max(0, Math.floor((now.getTime() - created.getTime()) / (periodInDays * DAY_MS)));
};

const rotationOf = async (ctx: RegistryContext, input: PostureInput): Promise<{ readonly check: KeyPostureCheck | undefined; readonly rotation: KeyRotation | undefined }> => {
  const { keyArn, metadata } = input;
  if (metadata === undefined) {
    return { check: check('rotation', 'unknown', 'MEDIUM', `the key ${keyArn} could not be described: its rotation is not known`), rotation: undefined };
  }
  if (metadata.KeyManager === 'AWS') {
    // "AWS KMS always rotates the key material of AWS managed keys every year" (EnableKeyRotation reference).
    return { check: check('rotation', 'pass', 'MEDIUM', `${keyArn} is an AWS managed key: AWS rotates it every year`), rotation: { enabled: true, periodInDays: 365, rotations: undefined, rotationsEstimated: false } };
  }
  if (!rotatable(metadata)) return { check: undefined, rotation: undefined };
  const status = await getKeyRotationStatus(ctx, keyArn);
  if (status.isErr()) {
    // Unsupported: not applicable (no check). Access denied and the rest: unknown, not fail.
    if (status.error.kind === 'RotationNotSupported') return { check: undefined, rotation: undefined };
    return { check: check('rotation', 'unknown', 'MEDIUM', `the rotation of ${keyArn} could not be read (${errorText(status.error)})`), rotation: { enabled: undefined, rotations: undefined, rotationsEstimated: false } };
  }
  const enabled = status.value.KeyRotationEnabled;
  const periodInDays = status.value.RotationPeriodInDays;
  let rotations: number | undefined;
  let rotationsEstimated = false;
  if (input.billedHere) {
    // Completed rotations (automatic and on-demand) decide the surcharge, whether rotation is on now or not.
    const listed = await listAllKeyRotations(ctx, keyArn);
    if (listed.isOk()) rotations = listed.value.length;
    else if (enabled) {
      rotations = estimateRotations(metadata, periodInDays ?? 365, ctx.now());
      rotationsEstimated = rotations !== undefined;
    }
  }
  const rotation: KeyRotation = { enabled, ...(periodInDays !== undefined ? { periodInDays } : {}), rotations, rotationsEstimated };
  return {
    check: enabled
      ? check('rotation', 'pass', 'MEDIUM', `automatic rotation of ${keyArn} is on${periodInDays !== undefined ? ` (every ${periodInDays} days)` : ''}`)
      : check('rotation', 'fail', 'MEDIUM', `automatic rotation of ${keyArn} is off: turn it on with EnableKeyRotation`),
    rotation,
  };
};

// ---------------------------------------------------------------------------------------------
// Key policy
// ---------------------------------------------------------------------------------------------

const asList = <T>(v: T | readonly T[] | undefined): readonly T[] => (v === undefined ? [] : Array.isArray(v) ? (v as readonly T[]) : [v as T]);

/** A statement whose principal is anyone: `"*"`, `{"AWS": "*"}`, or an Allow with `NotPrincipal`. */
const isWildcardStatement = (s: PolicyStatement): boolean => {
  if (s.Effect !== 'Allow') return false;
  if (s.NotPrincipal !== undefined) return true;
  if (s.Principal === '*') return true;
  return s.Principal !== undefined && asList(s.Principal['AWS']).some((p) => p === '*' || p.includes('*'));
};

/** Actions an outsider is asked for: using the key, or managing it. */
const PUBLIC_PROBE_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:PutKeyPolicy', 'kms:ScheduleKeyDeletion', 'kms:DisableKey'];
/** The actions that can take a key away: disable it, delete it, or rewrite who may use it. */
const DESTRUCTIVE_ACTIONS = ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy'];
/** An identity policy that allows everything: the outsider's own account is assumed to allow it all. */
const ALLOW_ALL: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
/** An account no real key policy names (the evaluator only needs one that differs from the key's). */
const OUTSIDER_ACCOUNT = '000000000000';

/**
 * Public: only the wildcard statements are kept (a statement naming an account is not public),
 * and an outsider of another account, allowed everything by its own IAM, asks for each action
 * with no context: a condition such as `kms:CallerAccount`, `aws:PrincipalOrgID` or
 * `aws:PrincipalAccount` narrows the wildcard (the outsider does not meet it); none does not.
 */
const publicCheck = (keyArn: string, keyAccount: string | undefined, policy: PolicyDocument): KeyPostureCheck => {
  const wildcard = asList<PolicyStatement>(policy.Statement).filter(isWildcardStatement);
  const denies = asList<PolicyStatement>(policy.Statement).filter((s) => s.Effect === 'Deny');
  if (wildcard.length === 0) return check('public-key-policy', 'pass', 'CRITICAL', `no statement of the key policy of ${keyArn} names a wildcard principal`);
  const outsider = keyAccount === OUTSIDER_ACCOUNT ? '000000000001' : OUTSIDER_ACCOUNT;
  const keyPolicy: PolicyDocument = { Version: '2012-10-17', Statement: [...wildcard, ...denies] };
  const allowed = PUBLIC_PROBE_ACTIONS.filter(
    (action) =>
      explainAccess(
        { principal: { arn: `arn:aws:iam::${outsider}:user/anyone`, account: outsider }, action, resource: keyArn },
        { keyPolicy, identityPolicies: [ALLOW_ALL] },
      ).decision === 'allowed',
  );
  return allowed.length > 0
    ? check('public-key-policy', 'fail', 'CRITICAL', `the key policy of ${keyArn} lets any AWS principal of any account ${allowed.join(', ')} (a wildcard principal without a narrowing condition)`)
    : check('public-key-policy', 'pass', 'CRITICAL', `the wildcard principals of the key policy of ${keyArn} are narrowed by conditions`);
};

/** The named AWS principals of Allow statements, account ids as root ARNs. */
const namedPrincipals = (policy: PolicyDocument): string[] => {
  const out = new Set<string>();
  for (const s of asList<PolicyStatement>(policy.Statement)) {
    if (s.Effect !== 'Allow' || s.Principal === undefined || s.Principal === '*') continue;
    for (const p of asList(s.Principal['AWS'])) {
      if (p.includes('*')) continue;
      out.add(/^\d{12}$/.test(p) ? `arn:aws:iam::${p}:root` : p);
    }
  }
  return [...out];
};

const ACCOUNT_OF = /^arn:[^:]+:(?:iam|sts)::(\d{12}):/;

/**
 * Who can disable, delete, or rewrite the key policy. ASSUMPTION (documented): every principal the
 * key policy names may ask in any context, so conditions of Allow statements are dropped (they
 * could be met) while only unconditional Deny statements are kept; the IAM of a principal of
 * another account is assumed to allow everything (the key account's principals count only for what
 * the key policy grants them by name: what IAM grants through the root statement is not read).
 * The account root (`arn:aws:iam::<key account>:root`) is left out:
 * it delegates to the key account's IAM policies, which is KMS's default. The check fails when a
 * principal of ANOTHER account can; principals of the key's account are listed for review only.
 */
const destructiveCheck = (keyArn: string, keyAccount: string | undefined, policy: PolicyDocument): KeyPostureCheck => {
  const statements = asList<PolicyStatement>(policy.Statement)
    .filter((s) => s.Effect === 'Allow' || s.Condition === undefined)
    .map((s): PolicyStatement => {
      if (s.Effect !== 'Allow' || s.Condition === undefined) return s;
      const { Condition: _dropped, ...rest } = s;
      return rest;
    });
  const keyPolicy: PolicyDocument = { Version: '2012-10-17', Statement: statements };
  const holders: string[] = [];
  const foreign: string[] = [];
  for (const principal of namedPrincipals(policy)) {
    const account = ACCOUNT_OF.exec(principal)?.[1];
    if (account === undefined) continue;
    if (account === keyAccount && principal.endsWith(':root')) continue;
    for (const action of DESTRUCTIVE_ACTIONS) {
      // The key account's principals: what the key policy grants them by name (the root statement
      // delegates to IAM, which the key policy cannot tell). Another account's: its IAM is assumed to allow.
      const identityPolicies = account === keyAccount ? [] : [ALLOW_ALL];
      const decision = explainAccess({ principal: { arn: principal, account }, action, resource: keyArn }, { keyPolicy, identityPolicies }).decision;
      if (decision !== 'allowed') continue;
      holders.push(`${principal}: ${action}`);
      if (account !== keyAccount) foreign.push(`${principal}: ${action}`);
    }
  }
  if (foreign.length > 0) {
    return check('destructive-key-access', 'fail', 'HIGH', `principals of other accounts can disable, delete or rewrite the policy of ${keyArn}: ${foreign.join('; ')}`, holders);
  }
  return check(
    'destructive-key-access',
    'pass',
    'HIGH',
    holders.length === 0
      ? `only the key account (through IAM) can disable, delete or rewrite the policy of ${keyArn}`
      : `only principals of the key account can disable, delete or rewrite the policy of ${keyArn} (review: ${holders.join('; ')})`,
    holders,
  );
};

const policyChecks = async (ctx: RegistryContext, input: PostureInput): Promise<KeyPostureCheck[]> => {
  const { keyArn, keyAccount } = input;
  const unknown = (why: string): KeyPostureCheck[] => [
    check('public-key-policy', 'unknown', 'CRITICAL', `the key policy of ${keyArn} could not be read (${why})`),
    check('destructive-key-access', 'unknown', 'HIGH', `the key policy of ${keyArn} could not be read (${why})`),
  ];
  if (input.metadata === undefined) return unknown('the key could not be described');
  if (keyAccount !== undefined && input.account !== undefined && keyAccount !== input.account) {
    // GetKeyPolicy: "Cross-account use: No" (KMS API reference).
    return unknown(`GetKeyPolicy does not work across accounts: the key belongs to ${keyAccount}`);
  }
  const text = await getKeyPolicy(ctx, keyArn);
  if (text.isErr()) return unknown(errorText(text.error));
  const policy = text.value === undefined ? undefined : parseKeyPolicy(text.value);
  if (policy === undefined) return unknown('the policy is not a JSON policy document');
  return [publicCheck(keyArn, keyAccount, policy), destructiveCheck(keyArn, keyAccount, policy)];
};

// ---------------------------------------------------------------------------------------------
// The posture of one key
// ---------------------------------------------------------------------------------------------

const ORDER: readonly KeyPostureCheckId[] = ['key-state', 'deletion-scheduled', 'rotation', 'imported-key-material', 'key-account', 'public-key-policy', 'destructive-key-access'];

/** `fail` when a check fails, else `unknown` when one could not be made, else `pass`. */
const postureStatus = (checks: readonly { readonly status: AuditStatus }[]): AuditStatus =>
  checks.some((c) => c.status === 'fail') ? 'fail' : checks.some((c) => c.status === 'unknown') ? 'unknown' : 'pass';

/**
 * The posture of one key in use. Never fails: a read that is denied or fails makes the checks it
 * feeds `unknown`.
 *
 * @internal
 */
export const assessKeyPosture = async (ctx: RegistryContext, input: PostureInput): Promise<KeyPosture> => {
  if (input.keyState === 'NotFound') {
    const checks = [check('key-state', 'fail', 'HIGH', `the key ${input.keyArn} does not exist: images encrypted with it cannot be read`)];
    return { status: 'fail', checks, rotation: undefined };
  }
  const [rotation, policy] = await Promise.all([rotationOf(ctx, input), policyChecks(ctx, input)]);
  const checks = [...stateChecks(input, ctx.now()), ...(rotation.check ? [rotation.check] : []), accountCheck(input), ...policy].sort(
    (a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id),
  );
  return { status: postureStatus(checks), checks, rotation: rotation.rotation };
};
