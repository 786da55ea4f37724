/**
 * TEMPORARY policy evaluator, until the policy toolkit's `explainAccess` (src/policy/) lands on
 * this branch. It has the same signature; swapping it is the one import line in `authorizer.ts`.
 *
 * It covers what the emulator needs: Allow/Deny, Action/NotAction and Resource/NotResource
 * wildcards, Principal/NotPrincipal, the String*, Arn*, Bool and Null condition operators (with
 * `ForAnyValue:`/`ForAllValues:` and `IfExists`), the KMS rule that a key policy is the primary
 * authority and delegates to IAM through the account principal, and the rule that
 * `kms:RetireGrant` is not effective in a key policy.
 *
 * @internal
 */
import type {
  AccessExplanation,
  AccessRequest,
  ContextValue,
  MatchedStatement,
  PolicyDocument,
  PolicySet,
  PolicySource,
  PolicyStatement,
  RequestPrincipal,
} from '../../policy/types.js';

type Context = ReadonlyMap<string, ContextValue>;

const asList = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

const statementsOf = (doc: PolicyDocument): readonly PolicyStatement[] => asList(doc.Statement);

const wildcardToRegExp = (pattern: string, flags: string): RegExp =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags);

const wildcardMatch = (pattern: string, value: string, ignoreCase = false): boolean =>
  pattern === '*' || wildcardToRegExp(pattern, ignoreCase ? 'is' : 's').test(value);

const accountRoot = (account: string): string => `arn:aws:iam::${account}:root`;

/** How a statement's principal element names the caller: directly, through its account, or not. */
type PrincipalMatch = 'direct' | 'account' | 'none';

const principalMatch = (element: PolicyStatement['Principal'], principal: RequestPrincipal): PrincipalMatch => {
  if (element === undefined) return 'none';
  if (element === '*') return 'direct';
  let best: PrincipalMatch = 'none';
  for (const [kind, values] of Object.entries(element)) {
    for (const value of asList<string>(values)) {
      if (kind === 'AWS') {
        if (value === '*' || value === principal.arn || (principal.roleArn !== undefined && value === principal.roleArn)) return 'direct';
        if (value === principal.account || value === accountRoot(principal.account)) {
          // The root user itself is named directly by its account's root ARN.
          if (principal.arn === accountRoot(principal.account)) return 'direct';
          best = 'account';
        }
      } else if (value === principal.arn) {
        return 'direct';
      }
    }
  }
  return best;
};

const contextLookup = (context: Context, key: string): ContextValue | undefined => context.get(key.toLowerCase());

const toStrings = (value: ContextValue): readonly string[] =>
  typeof value === 'object' ? value : [String(value)];

const compare = (base: string, expected: string, actual: string): boolean => {
  switch (base) {
    case 'StringEquals':
    case 'ArnEquals':
      return expected === actual;
    case 'StringEqualsIgnoreCase':
      return expected.toLowerCase() === actual.toLowerCase();
    case 'StringLike':
    case 'ArnLike':
      return wildcardMatch(expected, actual);
    case 'Bool':
      return expected.toLowerCase() === actual.toLowerCase();
    case 'NumericEquals':
      return Number(expected) === Number(actual);
    default:
      return false;
  }
};

const NEGATED: Readonly<Record<string, string>> = {
  StringNotEquals: 'StringEquals',
  StringNotEqualsIgnoreCase: 'StringEqualsIgnoreCase',
  StringNotLike: 'StringLike',
  ArnNotEquals: 'ArnEquals',
  ArnNotLike: 'ArnLike',
  NumericNotEquals: 'NumericEquals',
};

const KNOWN = new Set(['StringEquals', 'StringEqualsIgnoreCase', 'StringLike', 'ArnEquals', 'ArnLike', 'Bool', 'NumericEquals']);

const conditionHolds = (operator: string, key: string, expectedRaw: unknown, context: Context): boolean => {
  const expected = asList(expectedRaw as string | readonly string[]).map((v) => String(v));
  let op = operator;
  let setOp: 'any' | 'all' | undefined;
  if (op.startsWith('ForAnyValue:')) [setOp, op] = ['any', op.slice('ForAnyValue:'.length)];
  else if (op.startsWith('ForAllValues:')) [setOp, op] = ['all', op.slice('ForAllValues:'.length)];
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  const actual = contextLookup(context, key);
  if (op === 'Null') {
    const wantsNull = expected.some((v) => v.toLowerCase() === 'true');
    return wantsNull === (actual === undefined);
  }
  if (actual === undefined) return ifExists || setOp === 'all' || (NEGATED[op] !== undefined && setOp === undefined);
  const negatedBase = NEGATED[op];
  const base = negatedBase ?? op;
  if (!KNOWN.has(base)) return false;
  const values = toStrings(actual);
  const matchesOne = (value: string): boolean => expected.some((e) => compare(base, e, value));
  let positive: boolean;
  if (setOp === 'all') positive = values.every(matchesOne);
  else positive = values.some(matchesOne);
  if (negatedBase === undefined) return positive;
  // Negated operators: true when no value matches (single-valued and ForAnyValue), every value misses (ForAllValues).
  if (setOp === 'all') return values.every((v) => !matchesOne(v));
  if (setOp === 'any') return values.some((v) => !matchesOne(v));
  return !positive;
};

const conditionsHold = (statement: PolicyStatement, context: Context): boolean =>
  Object.entries(statement.Condition ?? {}).every(([operator, pairs]) =>
    Object.entries(pairs).every(([key, expected]) => conditionHolds(operator, key, expected, context)),
  );

const actionMatches = (statement: PolicyStatement, action: string): boolean => {
  if (statement.Action !== undefined) return asList(statement.Action).some((p) => wildcardMatch(p, action, true));
  if (statement.NotAction !== undefined) return !asList(statement.NotAction).some((p) => wildcardMatch(p, action, true));
  return false;
};

const resourceMatches = (statement: PolicyStatement, resource: string): boolean => {
  if (statement.Resource !== undefined) return asList(statement.Resource).some((p) => wildcardMatch(p, resource));
  if (statement.NotResource !== undefined) return !asList(statement.NotResource).some((p) => wildcardMatch(p, resource));
  // Trust policies have no Resource element.
  return true;
};

interface Hit {
  readonly statement: MatchedStatement;
  readonly principal: PrincipalMatch;
}

const scan = (
  doc: PolicyDocument,
  source: PolicySource,
  policyIndex: number,
  request: AccessRequest,
  context: Context,
  resourceBased: boolean,
): Hit[] => {
  const hits: Hit[] = [];
  statementsOf(doc).forEach((statement, statementIndex) => {
    if (!actionMatches(statement, request.action) || !resourceMatches(statement, request.resource)) return;
    let principal: PrincipalMatch = 'direct';
    if (resourceBased) {
      if (statement.NotPrincipal !== undefined) {
        principal = principalMatch(statement.NotPrincipal, request.principal) === 'none' ? 'direct' : 'none';
      } else {
        principal = principalMatch(statement.Principal, request.principal);
      }
      if (principal === 'none') return;
    }
    if (!conditionsHold(statement, context)) return;
    hits.push({
      principal,
      statement: { source, policyIndex, statementIndex, sid: statement.Sid, effect: statement.Effect },
    });
  });
  return hits;
};

const globalContext = (request: AccessRequest): Context => {
  const map = new Map<string, ContextValue>();
  const { principal } = request;
  map.set('aws:principalarn', principal.roleArn ?? principal.arn);
  map.set('aws:principalaccount', principal.account);
  if (principal.userId !== undefined) map.set('aws:userid', principal.userId);
  if (principal.orgId !== undefined) map.set('aws:principalorgid', principal.orgId);
  for (const [key, value] of Object.entries(principal.tags ?? {})) map.set(`aws:principaltag/${key.toLowerCase()}`, value);
  for (const [key, value] of Object.entries(request.context ?? {})) map.set(key.toLowerCase(), value);
  return map;
};

/**
 * Evaluates one request against the policies that apply to it (temporary stand-in for
 * `explainAccess` from the policy toolkit).
 *
 * @internal
 */
export const explainAccess = (request: AccessRequest, policies: PolicySet): AccessExplanation => {
  const context = globalContext(request);
  const identity = (policies.identityPolicies ?? []).flatMap((doc, i) => scan(doc, 'identity', i, request, context, false));
  const boundary = policies.permissionsBoundary ? scan(policies.permissionsBoundary, 'permissionsBoundary', 0, request, context, false) : undefined;
  const session = policies.sessionPolicies?.flatMap((doc, i) => scan(doc, 'session', i, request, context, false));
  const key = policies.keyPolicy ? scan(policies.keyPolicy, 'key', 0, request, context, true) : undefined;
  const repository = policies.repositoryPolicy ? scan(policies.repositoryPolicy, 'repository', 0, request, context, true) : undefined;
  const endpoint = policies.endpointPolicy ? scan(policies.endpointPolicy, 'endpoint', 0, request, context, true) : undefined;

  const all = [...identity, ...(boundary ?? []), ...(session ?? []), ...(key ?? []), ...(repository ?? []), ...(endpoint ?? [])];
  const denies = all.filter((h) => h.statement.effect === 'Deny').map((h) => h.statement);
  if (denies.length > 0) {
    return { decision: 'explicitDeny', statements: denies, reason: `an explicit deny in a ${denies[0]?.source ?? 'identity'} policy` };
  }
  const allows = (hits: readonly Hit[] | undefined): Hit[] => (hits ?? []).filter((h) => h.statement.effect === 'Allow');
  const identityAllows = allows(identity);
  const boundaryOk = boundary === undefined || allows(boundary).length > 0;
  const sessionOk = session === undefined || allows(session).length > 0;
  const iamAllows = identityAllows.length > 0 && boundaryOk && sessionOk;
  const deny = (reason: string): AccessExplanation => ({ decision: 'implicitDeny', statements: [], reason });
  const allow = (hits: readonly Hit[]): AccessExplanation => ({ decision: 'allowed', statements: hits.map((h) => h.statement), reason: 'allowed' });
  const iamReason = (): string =>
    identityAllows.length === 0
      ? `no identity-based policy allows the ${request.action} action`
      : !boundaryOk
        ? `no permissions boundary allows the ${request.action} action`
        : `no session policy allows the ${request.action} action`;

  let result: AccessExplanation;
  if (key !== undefined) {
    if (request.action.toLowerCase() === 'kms:retiregrant') {
      // kms:RetireGrant is not effective in a key policy: IAM policies decide (a key-policy Deny still counts).
      result = iamAllows ? allow(identityAllows) : deny(iamReason());
    } else {
      const keyAllows = allows(key);
      const direct = keyAllows.filter((h) => h.principal === 'direct');
      const viaAccount = keyAllows.filter((h) => h.principal === 'account');
      const crossAccount = request.resourceAccount !== undefined && request.resourceAccount !== request.principal.account;
      if (direct.length > 0 && (!crossAccount || iamAllows)) result = allow(direct);
      else if (viaAccount.length > 0 && iamAllows) result = allow([...viaAccount, ...identityAllows]);
      else if (keyAllows.length === 0) result = deny(`no resource-based policy allows the ${request.action} action`);
      else result = deny(iamReason());
    }
  } else if (repository !== undefined) {
    const resourceAllows = allows(repository);
    const crossAccount = request.resourceAccount !== undefined && request.resourceAccount !== request.principal.account;
    if (crossAccount) result = resourceAllows.length > 0 && iamAllows ? allow(resourceAllows) : deny(resourceAllows.length > 0 ? iamReason() : `no resource-based policy allows the ${request.action} action`);
    else if (resourceAllows.some((h) => h.principal === 'direct') && sessionOk) result = allow(resourceAllows);
    else result = iamAllows ? allow(identityAllows) : deny(iamReason());
  } else {
    result = iamAllows ? allow(identityAllows) : deny(iamReason());
  }
  if (result.decision === 'allowed' && endpoint !== undefined && allows(endpoint).length === 0) {
    return deny(`no VPC endpoint policy allows the ${request.action} action`);
  }
  return result;
};
