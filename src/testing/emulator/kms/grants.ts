/**
 * Grants: CreateGrant (idempotent by name, with the quota), ListGrants and ListRetirableGrants
 * (eventually consistent, see {@link KmsContext.listed}), RetireGrant and RevokeGrant.
 */
import type { AuthorizeOptions, CallContext } from '../core.js';
import { hexId } from '../ids.js';
import { validation, type Input } from '../input.js';
import type { ContextValue } from '../../../policy/types.js';
import { dryRun, GRANT_OPERATIONS, page, type Handler, type KmsContext } from './context.js';
import { parsePolicy } from './policy.js';
import { dryRunError, epoch, kmsError, type GrantRecord } from './state.js';

/** Grants per customer managed key (AWS quota; AWS managed keys have none). */
const GRANT_LIMIT = 50_000;

const SYMMETRIC_ONLY_OPERATIONS = new Set(['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo']);

/** What a CreateGrant asks for, over HTTP or from ECR in process. */
export interface GrantRequest {
  readonly keyRef: string;
  readonly granteePrincipal: string;
  readonly retiringPrincipal?: string | undefined;
  readonly operations: readonly string[];
  readonly subset?: Record<string, string> | undefined;
  readonly equals?: Record<string, string> | undefined;
  readonly name?: string | undefined;
  readonly dryRun?: boolean;
}

export const createGrant = (kms: KmsContext, ctx: CallContext, params: GrantRequest): { grantId: string; grantToken: string } => {
  const key = kms.resolve(ctx.region, ctx.principal.account, params.keyRef, { aliases: false });
  if (params.operations.length === 0) throw validation("Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1");
  for (const op of params.operations) {
    if (!GRANT_OPERATIONS.has(op)) throw validation(`Value '[${params.operations.join(', ')}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${[...GRANT_OPERATIONS].join(', ')}]]`);
  }
  if (params.name !== undefined && !/^[a-zA-Z0-9:/_-]{1,256}$/.test(params.name)) throw validation(`Value '${params.name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
  for (const map of [params.subset, params.equals]) {
    if (map && Object.keys(map).length > 8) throw validation('Grant constraints take at most 8 encryption context pairs');
  }
  if (params.subset && params.equals) throw validation('Specify EncryptionContextSubset or EncryptionContextEquals, not both');
  const context: Record<string, ContextValue> = {
    'kms:GrantOperations': [...params.operations],
    'kms:GranteePrincipal': params.granteePrincipal,
    'kms:GrantIsForAWSResource': ctx.viaService !== undefined,
    ...(params.retiringPrincipal !== undefined ? { 'kms:RetiringPrincipal': params.retiringPrincipal } : {}),
    ...(params.subset || params.equals ? { 'kms:GrantConstraintType': params.subset ? 'EncryptionContextSubset' : 'EncryptionContextEquals' } : {}),
  };
  kms.authorizeKey(ctx, 'CreateGrant', key, { context, ...(params.subset || params.equals ? { encryptionContext: params.subset ?? params.equals ?? {} } : {}) });
  kms.requireUsable(key);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' && params.operations.some((op) => SYMMETRIC_ONLY_OPERATIONS.has(op))) {
    throw validation(`Grant operations ${params.operations.join(', ')} are not supported for ${key.keySpec} keys.`);
  }
  if (params.dryRun === true) throw dryRunError();
  if (params.name !== undefined) {
    // A retried CreateGrant with the same name and parameters answers the same grant, as AWS does.
    const same = kms.liveGrants(key.arn).find(
      (g) =>
        g.name === params.name &&
        g.granteePrincipal === params.granteePrincipal &&
        g.retiringPrincipal === params.retiringPrincipal &&
        JSON.stringify(g.operations) === JSON.stringify(params.operations) &&
        JSON.stringify(g.subset) === JSON.stringify(params.subset) &&
        JSON.stringify(g.equals) === JSON.stringify(params.equals),
    );
    if (same) return { grantId: same.grantId, grantToken: same.grantToken };
  }
  if (key.keyManager === 'CUSTOMER' && kms.liveGrants(key.arn).length >= GRANT_LIMIT) {
    throw kmsError('LimitExceededException', `The grant quota (${GRANT_LIMIT}) for ${key.arn} is reached.`);
  }
  const grant: GrantRecord = {
    grantId: hexId(32),
    grantToken: Buffer.from(`grant:${hexId(48)}`).toString('base64'),
    keyArn: key.arn,
    name: params.name,
    granteePrincipal: params.granteePrincipal,
    retiringPrincipal: params.retiringPrincipal,
    operations: [...params.operations],
    subset: params.subset,
    equals: params.equals,
    issuingAccount: `arn:aws:iam::${ctx.principal.account}:root`,
    creationDate: kms.now().toISOString(),
  };
  kms.state.grants.push(grant);
  return { grantId: grant.grantId, grantToken: grant.grantToken };
};

/**
 * Who may retire: the retiring principal, a grantee whose grant includes RetireGrant, or a
 * principal of the account that created the grant with `kms:RetireGrant` in an IAM policy
 * (a key-policy Allow is not effective for it; a Deny is).
 */
export const retire = (kms: KmsContext, ctx: CallContext, grant: GrantRecord, isDryRun: boolean): void => {
  const key = kms.state.keys.find((k) => k.arn === grant.keyArn);
  if (key === undefined) throw kmsError('NotFoundException', `Key '${grant.keyArn}' does not exist`);
  const caller = [ctx.principal.arn, ...(ctx.principal.roleArn !== undefined ? [ctx.principal.roleArn] : [])];
  const options: AuthorizeOptions = { keyPolicy: parsePolicy(key.policy), resourceAccount: key.account };
  const named = (grant.retiringPrincipal !== undefined && caller.includes(grant.retiringPrincipal)) || (caller.includes(grant.granteePrincipal) && grant.operations.includes('RetireGrant'));
  const { authorizer } = kms.deps;
  if (named) {
    // A Deny still applies to a named principal: only an explicit deny can stop it.
    if (authorizer.explain?.(ctx, 'kms:RetireGrant', key.arn, options).decision === 'explicitDeny') authorizer.authorize(ctx, 'kms:RetireGrant', key.arn, options);
  } else {
    if (grant.issuingAccount !== `arn:aws:iam::${ctx.principal.account}:root`) {
      throw kmsError('AccessDeniedException', `User: ${ctx.principal.arn} is not authorized to perform: kms:RetireGrant on resource: ${key.arn} because it is neither the grant's retiring principal, its grantee, nor in the account that created it`);
    }
    authorizer.authorize(ctx, 'kms:RetireGrant', key.arn, options);
  }
  if (isDryRun) throw dryRunError();
  grant.retiredAt = kms.now().toISOString();
  grant.retiredBy = 'RetireGrant';
};

/** A live grant of a key by id, or `NotFoundException`. */
export const liveGrant = (kms: KmsContext, keyArn: string, grantId: string): GrantRecord => {
  const grant = kms.liveGrants(keyArn).find((g) => g.grantId === grantId);
  if (grant === undefined) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
  return grant;
};

const grantEntry = (grant: GrantRecord): Record<string, unknown> => ({
  KeyId: grant.keyArn,
  GrantId: grant.grantId,
  ...(grant.name !== undefined ? { Name: grant.name } : {}),
  CreationDate: epoch(grant.creationDate),
  GranteePrincipal: grant.granteePrincipal,
  ...(grant.retiringPrincipal !== undefined ? { RetiringPrincipal: grant.retiringPrincipal } : {}),
  IssuingAccount: grant.issuingAccount,
  Operations: grant.operations,
  ...(grant.subset || grant.equals
    ? { Constraints: { ...(grant.subset ? { EncryptionContextSubset: grant.subset } : {}), ...(grant.equals ? { EncryptionContextEquals: grant.equals } : {}) } }
    : {}),
});

const grantPage = (input: Input, grants: readonly GrantRecord[]): Record<string, unknown> => {
  const { page: slice, truncated } = page(input, grants, (g) => g.grantId, 100, 50);
  return { Grants: slice.map(grantEntry), ...truncated };
};

const createGrantCall: Handler = (kms, input, ctx) => {
  const constraints = input.optionalObject('Constraints');
  const result = createGrant(kms, ctx, {
    keyRef: input.string('KeyId'),
    granteePrincipal: input.string('GranteePrincipal'),
    retiringPrincipal: input.optionalString('RetiringPrincipal'),
    operations: input.optionalStrings('Operations', 0, Number.MAX_SAFE_INTEGER) ?? [],
    subset: constraints?.optionalStringMap('EncryptionContextSubset'),
    equals: constraints?.optionalStringMap('EncryptionContextEquals'),
    name: input.optionalString('Name'),
    dryRun: input.optionalBoolean('DryRun') === true,
  });
  return { GrantId: result.grantId, GrantToken: result.grantToken };
};

const listGrants: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  const grantId = input.optionalString('GrantId');
  const grantee = input.optionalString('GranteePrincipal');
  kms.authorizeKey(ctx, 'ListGrants', key, { context: { 'kms:GrantIsForAWSResource': ctx.viaService !== undefined } });
  return grantPage(
    input,
    kms.state.grants.filter((g) => g.keyArn === key.arn && kms.listed(g) && (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee)),
  );
};

const listRetirableGrants: Handler = (kms, input, ctx) => {
  const retiring = input.string('RetiringPrincipal');
  kms.deps.authorizer.authorize(ctx, 'kms:ListRetirableGrants', '*');
  const keys = new Set(kms.state.keys.filter((k) => k.region === ctx.region && k.account === ctx.principal.account).map((k) => k.arn));
  return grantPage(input, kms.state.grants.filter((g) => keys.has(g.keyArn) && g.retiringPrincipal === retiring && kms.listed(g)));
};

const retireGrantCall: Handler = (kms, input, ctx) => {
  const token = input.optionalString('GrantToken');
  let grant: GrantRecord;
  if (token !== undefined) {
    const found = kms.state.grants.find((g) => g.grantToken === token);
    if (found === undefined) throw kmsError('InvalidGrantTokenException', 'The grant token is not valid.');
    if (found.retiredAt !== undefined) throw kmsError('NotFoundException', `Grant ID ${found.grantId} not found`);
    grant = found;
  } else {
    const grantId = input.optionalString('GrantId');
    if (!input.has('KeyId') || grantId === undefined) throw validation('Specify a GrantToken, or a KeyId and a GrantId');
    grant = liveGrant(kms, kms.keyFor(input, ctx, 'KeyId', { aliases: false }).arn, grantId);
  }
  retire(kms, ctx, grant, input.optionalBoolean('DryRun') === true);
  return {};
};

const revokeGrant: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  const grantId = input.string('GrantId');
  kms.authorizeKey(ctx, 'RevokeGrant', key, { context: { 'kms:GrantIsForAWSResource': ctx.viaService !== undefined } });
  const grant = liveGrant(kms, key.arn, grantId);
  dryRun(input);
  grant.retiredAt = kms.now().toISOString();
  grant.retiredBy = 'RevokeGrant';
  return {};
};

export const grantHandlers: Readonly<Record<string, Handler>> = {
  CreateGrant: createGrantCall,
  ListGrants: listGrants,
  ListRetirableGrants: listRetirableGrants,
  RetireGrant: retireGrantCall,
  RevokeGrant: revokeGrant,
};
