/**
 * The freeze: a repository-policy statement that denies every change to the repository's images
 * and settings to everyone but the migrating principal, so the snapshot stays true while the
 * images are moved. Pure functions over policy text.
 */
import { err, ok, type Result } from 'neverthrow';
import type { InvalidInput } from '../errors.js';

/** The `Sid` prefix of the freeze statement; the migration id (hexadecimal) follows. Sids are alphanumeric. */
export const FREEZE_SID = 'EncryptedEcrMigrationFreeze';

/**
 * What the freeze denies: pushes (the four layer and manifest calls), image deletion and archival,
 * deleting the repository, and every settings change (so nobody edits what we restore later).
 */
export const FREEZE_ACTIONS: readonly string[] = [
  'ecr:PutImage',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:BatchDeleteImage',
  'ecr:UpdateImageStorageClass',
  'ecr:DeleteRepository',
  'ecr:SetRepositoryPolicy',
  'ecr:DeleteRepositoryPolicy',
  'ecr:PutLifecyclePolicy',
  'ecr:DeleteLifecyclePolicy',
  'ecr:PutImageTagMutability',
  'ecr:PutImageScanningConfiguration',
  'ecr:TagResource',
  'ecr:UntagResource',
];

const ARN = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/;

/**
 * The `aws:PrincipalArn` values that identify the caller. For an assumed-role session that is the
 * role's ARN, whose path the session ARN does not show: role names are unique in an account, so
 * `role/<name>` and `role/*\/<name>` cover it without `iam:GetRole`.
 *
 * @example
 * ```ts
 * exemptPrincipalsOf('arn:aws:sts::111122223333:assumed-role/deployer/ci');
 * // ['arn:aws:iam::111122223333:role/deployer', 'arn:aws:iam::111122223333:role/*\/deployer']
 * ```
 */
export const exemptPrincipalsOf = (callerArn: string, roleArn?: string): string[] => {
  const parsed = ARN.exec(callerArn);
  if (parsed === null) return [callerArn];
  const [, partition = 'aws', service, account = '', resource = ''] = parsed;
  const role = service === 'sts' ? /^assumed-role\/([^/]+)\//.exec(resource)?.[1] : undefined;
  if (role === undefined) return [callerArn];
  const patterns = [`arn:${partition}:iam::${account}:role/${role}`, `arn:${partition}:iam::${account}:role/*/${role}`];
  return roleArn !== undefined && !patterns.includes(roleArn) ? [roleArn, ...patterns] : patterns;
};

/**
 * The freeze statement for a migration. No `Resource`: in a repository policy the repository is
 * the implicit resource, and ECR refuses any statement with `Resource` or `NotResource`
 * (`InvalidParameterException: … 'Invalid repository policy provided'`; awsdocs/amazon-ecr-user-guide
 * PR #20, aws/aws-cdk#3590, #24314).
 */
export const freezeStatement = (migrationId: string, exemptPrincipals: readonly string[]): Record<string, unknown> => ({
  Sid: `${FREEZE_SID}${migrationId}`,
  Effect: 'Deny',
  Principal: '*',
  Action: [...FREEZE_ACTIONS],
  Condition: { ArnNotLike: { 'aws:PrincipalArn': [...exemptPrincipals] } },
});

type PolicyDocumentJson = Record<string, unknown> & { Statement?: unknown };

const parseDocument = (text: string): Result<PolicyDocumentJson, InvalidInput> => {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return ok(parsed as PolicyDocumentJson);
  } catch {
    // reported below
  }
  return err({ kind: 'InvalidInput', field: 'repositoryPolicy', reason: 'the repository policy is not a JSON object' });
};

const statementsOf = (doc: PolicyDocumentJson): unknown[] =>
  Array.isArray(doc.Statement) ? [...(doc.Statement as unknown[])] : doc.Statement === undefined ? [] : [doc.Statement];

const sidOf = (statement: unknown): string | undefined => {
  const sid = typeof statement === 'object' && statement !== null ? (statement as { Sid?: unknown }).Sid : undefined;
  return typeof sid === 'string' ? sid : undefined;
};

const isFreeze = (statement: unknown): boolean => sidOf(statement)?.startsWith(FREEZE_SID) === true;

/**
 * The policy text with the freeze statement added to the original policy (or alone, when there
 * was none). An earlier freeze statement is replaced, so applying it twice changes nothing.
 */
export const frozenPolicy = (
  original: string | undefined,
  migrationId: string,
  exemptPrincipals: readonly string[],
): Result<string, InvalidInput> => {
  const base = original === undefined ? ok<PolicyDocumentJson, InvalidInput>({ Version: '2012-10-17' }) : parseDocument(original);
  return base.map((doc) => {
    const statements = statementsOf(doc).filter((s) => !isFreeze(s));
    return JSON.stringify({ ...doc, Version: doc.Version ?? '2012-10-17', Statement: [...statements, freezeStatement(migrationId, exemptPrincipals)] });
  });
};

/** The migration id of the freeze statement in a policy, `null` when it has none. */
export const freezeOf = (policyText: string | undefined): { readonly migrationId: string | undefined } | null => {
  if (policyText === undefined) return null;
  const doc = parseDocument(policyText);
  if (doc.isErr()) return null;
  const sid = statementsOf(doc.value).map(sidOf).find((s) => s?.startsWith(FREEZE_SID));
  if (sid === undefined) return null;
  const id = sid.slice(FREEZE_SID.length);
  return { migrationId: id.length > 0 ? id : undefined };
};

/**
 * Who holds the claim a freeze statement makes on a repository: this migration (`ours`), nobody
 * (`none`: no freeze statement), or another migration (its id, `undefined` when the Sid has none).
 * The claim is last-writer-wins: a migration writes its freeze, reads the policy back and goes on
 * only while the statement is its own; a loser never writes again (so never undoes the winner's).
 *
 * @example
 * ```ts
 * claimOf(policyText, '1a2b3c'); // 'ours' | 'none' | { other: 'ffee00' }
 * ```
 */
export const claimOf = (policyText: string | undefined, migrationId: string): 'ours' | 'none' | { readonly other: string | undefined } => {
  const freeze = freezeOf(policyText);
  if (freeze === null) return 'none';
  return freeze.migrationId === migrationId ? 'ours' : { other: freeze.migrationId };
};
