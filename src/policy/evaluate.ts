/**
 * The project's one IAM policy evaluator. It follows AWS's documented evaluation logic for the
 * policy types that matter to ECR and KMS: identity-based policies, permissions boundaries, session
 * policies, KMS key policies, ECR repository policies and VPC endpoint policies. Organizations
 * SCPs and RCPs are not modelled.
 *
 * @packageDocumentation
 */
import { toContextEntry, type ContextEntry } from './patterns.js';
import { readInput } from '../validate/input.js';
import { accessRequest, policySet } from './inputs.js';
import {
  compilePolicy,
  describeSubject,
  statementApplies,
  type PrincipalMatch,
  type StatementRequest,
  type Subject,
  type SubjectKind,
} from './statements.js';
import type {
  AccessDecision,
  AccessExplanation,
  AccessRequest,
  MatchedStatement,
  PolicyAssumption,
  PolicyDocument,
  PolicySet,
  PolicySource,
} from './types.js';

interface Hit {
  readonly statement: MatchedStatement;
  /** How a resource-based statement named the caller; `true` for identity-side policies. */
  readonly match: PrincipalMatch | true;
}

interface Scan {
  readonly allows: readonly Hit[];
  readonly denies: readonly Hit[];
}

const EMPTY: Scan = { allows: [], denies: [] };

const scan = (
  policies: readonly PolicyDocument[] | undefined,
  source: PolicySource,
  request: Omit<StatementRequest, 'resourceBased'>,
): Scan => {
  if (policies === undefined || policies.length === 0) return EMPTY;
  const resourceBased = source === 'key' || source === 'trust' || source === 'repository' || source === 'endpoint';
  const allows: Hit[] = [];
  const denies: Hit[] = [];
  policies.forEach((policy, policyIndex) => {
    for (const statement of compilePolicy(policy).statements) {
      const applies = statementApplies(statement, { ...request, resourceBased });
      if (applies === false) continue;
      const hit: Hit = {
        statement: { source, policyIndex, statementIndex: statement.index, sid: statement.sid, effect: statement.effect },
        match: applies,
      };
      (statement.effect === 'Deny' ? denies : allows).push(hit);
    }
  });
  return { allows, denies };
};

const PRINCIPAL_TYPES: Readonly<Record<SubjectKind, string | undefined>> = {
  account: 'Account',
  user: 'User',
  session: 'AssumedRole',
  federated: 'FederatedUser',
  role: undefined,
  service: undefined,
  other: undefined,
};

const ARN_ACCOUNT = /^arn:[^:]*:[^:]*:[^:]*:(\d{12}):/;

/** The request context with the global keys AWS derives from the principal (they win over given ones). */
const buildContext = (request: AccessRequest, subject: Subject, resourceAccount: string | undefined): Map<string, ContextEntry> => {
  const ctx = new Map<string, ContextEntry>();
  for (const [key, value] of Object.entries(request.context ?? {})) ctx.set(key.toLowerCase(), toContextEntry(value));
  const set = (key: string, value: string | undefined): void => {
    if (value !== undefined) ctx.set(key, { values: [value], multi: false });
  };
  const { principal } = request;
  if (subject.kind === 'service') {
    set('aws:principalisawsservice', 'true');
    set('aws:principalservicename', principal.arn);
  } else {
    set('aws:principalisawsservice', 'false');
    set('aws:principalarn', subject.principalArn);
    set('aws:principalaccount', principal.account);
    set('aws:principalorgid', principal.orgId);
    set('aws:userid', principal.userId ?? (subject.kind === 'account' ? principal.account : undefined));
    set('aws:username', subject.userName);
    set('aws:principaltype', PRINCIPAL_TYPES[subject.kind]);
    for (const [tag, value] of Object.entries(principal.tags ?? {})) set(`aws:principaltag/${tag.toLowerCase()}`, value);
    // KMS puts the caller's account in every request.
    if (request.action.toLowerCase().startsWith('kms:') && !ctx.has('kms:calleraccount')) {
      set('kms:calleraccount', principal.account);
    }
  }
  if (!ctx.has('aws:resourceaccount')) set('aws:resourceaccount', resourceAccount);
  return ctx;
};

const policyName = (source: PolicySource, index: number, policies: PolicySet): string => {
  switch (source) {
    case 'identity':
      return (policies.identityPolicies?.length ?? 0) > 1 ? `identity-based policy #${index}` : 'the identity-based policy';
    case 'session':
      return (policies.sessionPolicies?.length ?? 0) > 1 ? `session policy #${index}` : 'the session policy';
    case 'permissionsBoundary':
      return 'the permissions boundary';
    case 'key':
      return 'the key policy';
    case 'trust':
      return 'the trust policy';
    case 'repository':
      return 'the repository policy';
    case 'endpoint':
      return 'the VPC endpoint policy';
  }
};

const describeStatement = (s: MatchedStatement, policies: PolicySet): string =>
  `${s.sid !== undefined && s.sid !== '' ? `statement "${s.sid}"` : `statement #${s.statementIndex}`} of ${policyName(s.source, s.policyIndex, policies)}`;

// Statements naming these grant on their own within the account (not limited by a boundary or session policy).
// `principalArn`: "Permissions boundaries and session policies do not limit permissions granted using the
// aws:PrincipalArn condition key with a wildcard(*) in the Principal element, unless the identity-based
// policies contain an explicit deny" (IAM User Guide, reference_policies_evaluation-logic_policy-eval-denyallow).
const DIRECT: ReadonlySet<PrincipalMatch | true> = new Set<PrincipalMatch | true>(['session', 'user', 'federated', 'service', 'principalArn']);

/** Each assumption once, in the order met. */
const unique = (assumptions: readonly PolicyAssumption[]): PolicyAssumption[] => {
  const seen = new Set<string>();
  return assumptions.filter((a) => {
    const key = `${a.id}\u0000${a.detail}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
};

const explainWith =
  (assumptions: readonly PolicyAssumption[]) =>
  (decision: AccessDecision, hits: readonly Hit[], reason: string): AccessExplanation => ({
    decision,
    statements: hits.map((h) => h.statement),
    reason,
    assumptions: unique(assumptions),
  });

/** Why AWS would refuse one of the given policies, or undefined when all are valid. */
const invalidPolicies = (policies: PolicySet): string | undefined => {
  const named: [string, PolicyDocument | undefined][] = [
    ...(policies.identityPolicies ?? []).map((p, i): [string, PolicyDocument] => [(policies.identityPolicies?.length ?? 0) > 1 ? `identity-based policy #${i}` : 'the identity-based policy', p]),
    ['the permissions boundary', policies.permissionsBoundary],
    ...(policies.sessionPolicies ?? []).map((p, i): [string, PolicyDocument] => [(policies.sessionPolicies?.length ?? 0) > 1 ? `session policy #${i}` : 'the session policy', p]),
    ['the key policy', policies.keyPolicy],
    ['the trust policy', policies.trustPolicy],
    ['the repository policy', policies.repositoryPolicy],
    ['the VPC endpoint policy', policies.endpointPolicy],
  ];
  const problems = named.flatMap(([name, policy]) => (policy === undefined ? [] : compilePolicy(policy).problems.map((p) => `${name}: ${p}`)));
  return problems.length === 0 ? undefined : `AWS would refuse this policy, so it decides nothing: ${problems.join('; ')}`;
};

/**
 * Decides whether a request is allowed by the policies that apply to it, and says why, following
 * AWS's documented evaluation logic:
 *
 * - an explicit `Deny` in any given policy wins (`explicitDeny`);
 * - within one account, an identity-based policy **or** the repository policy must allow; the
 *   permissions boundary limits identity-based grants (and grants to the role ARN), session
 *   policies limit everything except grants naming the session or user directly;
 * - for `kms:*` actions with a `keyPolicy`, the key policy is the authority: it allows the caller
 *   directly, or allows the account (delegating to IAM) and an identity-based policy allows too.
 *   A role's `trustPolicy` is the same kind of authority for `sts:AssumeRole*`;
 *   An `Allow` of `kms:RetireGrant` in a key policy has no effect (only IAM policies grant it);
 * - across accounts (the resource's account, from `resourceAccount` or the resource ARN, differs
 *   from the principal's), both the identity-based and the resource-based policy must allow;
 * - a given VPC endpoint policy must allow too.
 *
 * A `Principal: "*"` statement narrowed by a positive `aws:PrincipalArn` condition grants directly:
 * boundaries and session policies do not limit it (documented). A policy AWS refuses to store
 * (both `Resource` and `NotResource`, …) decides nothing: `invalidPolicy`, with the reason. Where
 * the documentation is silent, `assumptions` lists the choice made (see `PolicyAssumptionId`).
 *
 * Global condition keys are derived from the principal (`aws:PrincipalArn`, `aws:PrincipalAccount`,
 * `aws:PrincipalOrgID`, `aws:userid`, `aws:username`, `aws:PrincipalType`, `aws:PrincipalTag/*`)
 * and `kms:CallerAccount` is set for KMS actions. Policies are compiled once per document object.
 *
 * Never throws. A request or policy that is not what the types describe (`null`, a statement whose
 * `Effect` is not `Allow`/`Deny`, an `Action` that is a number, an object whose getter throws)
 * is not evaluated: the answer is `implicitDeny` (fail closed) with `invalidInput` naming the field.
 *
 * @example
 * ```ts
 * const result = explainAccess(
 *   {
 *     principal: { arn: 'arn:aws:iam::111122223333:user/dev', account: '111122223333' },
 *     action: 'kms:CreateGrant',
 *     resource: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab',
 *     context: { 'kms:ViaService': 'ecr.eu-west-1.amazonaws.com', 'kms:GrantIsForAWSResource': true },
 *   },
 *   { keyPolicy, identityPolicies: [policy] },
 * );
 * if (result.decision !== 'allowed') console.error(result.reason);
 * ```
 */
export const explainAccess = (request: AccessRequest, policies: PolicySet): AccessExplanation => {
  const checked = readInput(accessRequest, request, 'request').andThen((req) =>
    readInput(policySet, policies === undefined ? {} : policies, 'policies').map((set) => [req, set] as const),
  );
  if (checked.isErr()) {
    const invalidInput = checked.error;
    return { decision: 'implicitDeny', statements: [], reason: `nothing evaluated: ${invalidInput.field} ${invalidInput.reason}`, assumptions: [], invalidInput };
  }
  return evaluate(...checked.value);
};

const evaluate = (request: AccessRequest, policies: PolicySet): AccessExplanation => {
  const invalid = invalidPolicies(policies);
  if (invalid !== undefined) return { decision: 'invalidPolicy', statements: [], reason: invalid, assumptions: [] };
  const assumptions: PolicyAssumption[] = [];
  const explain = explainWith(assumptions);
  const { principal, action, resource } = request;
  const subject = describeSubject(principal);
  const resourceAccount = request.resourceAccount ?? ARN_ACCOUNT.exec(resource)?.[1];
  const ctx = buildContext(request, subject, resourceAccount);
  const base = { action, resource, subject, ctx, hasBoundary: policies.permissionsBoundary !== undefined, assume: (a: PolicyAssumption) => assumptions.push(a) };

  const isKms = action.toLowerCase().startsWith('kms:');
  const isAssumeRole = action.toLowerCase().startsWith('sts:assumerole');
  // The key policy (KMS) or the trust policy (AssumeRole): a resource policy that is the primary authority.
  const primarySource: 'key' | 'trust' = isAssumeRole ? 'trust' : 'key';
  const keyPolicy = isKms ? policies.keyPolicy : isAssumeRole ? policies.trustPolicy : undefined;
  const isRetireGrant = isKms && keyPolicy !== undefined && action.toLowerCase() === 'kms:retiregrant';
  const single = (p: PolicyDocument | undefined): readonly PolicyDocument[] | undefined => (p === undefined ? undefined : [p]);

  const identity = scan(policies.identityPolicies, 'identity', base);
  const boundary = scan(single(policies.permissionsBoundary), 'permissionsBoundary', base);
  const session = scan(policies.sessionPolicies, 'session', base);
  const key = scan(single(keyPolicy), primarySource, base);
  const repository = scan(single(policies.repositoryPolicy), 'repository', base);
  const endpoint = scan(single(policies.endpointPolicy), 'endpoint', base);
  const all = [identity, boundary, session, key, repository, endpoint];

  const on = `${action} on ${resource}`;

  // 1. An explicit deny anywhere decides.
  const denies = all.flatMap((s) => s.denies);
  const firstDeny = denies[0];
  if (firstDeny !== undefined) {
    const more = denies.length > 1 ? ` (and ${denies.length - 1} more)` : '';
    return explain('explicitDeny', denies, `${on} is explicitly denied by ${describeStatement(firstDeny.statement, policies)}${more}`);
  }

  // 2. The identity side: identity-based policies, limited by the boundary and session policies.
  const sameAccount = subject.kind === 'service' || resourceAccount === undefined || resourceAccount === principal.account;
  const isRoot = subject.kind === 'account';
  const boundaryOk = policies.permissionsBoundary === undefined || boundary.allows.length > 0;
  const sessionOk = (policies.sessionPolicies?.length ?? 0) === 0 || session.allows.length > 0;
  // The root user needs no identity-based policy in its own account.
  const identityAllows = identity.allows.length > 0 || isRoot;
  const identityGranted = identityAllows && (isRoot || (boundaryOk && sessionOk));
  const identityHits = [...identity.allows, ...(isRoot ? [] : [...boundary.allows, ...session.allows])];
  const identityFailure = !identityAllows
    ? `no identity-based policy allows ${on}`
    : !boundaryOk
      ? `the permissions boundary does not allow ${on}`
      : `no session policy allows ${on}`;
  // A grant to the role ARN is limited by the boundary and session policies, but needs no identity-based policy.
  const roleFailure = !boundaryOk ? `the permissions boundary does not allow ${on}` : `no session policy allows ${on}`;

  // 3. The resource side: the key policy for KMS, otherwise the repository policy.
  const resourceScan = keyPolicy !== undefined ? key : repository;
  const primaryName = `the ${primarySource} policy`;
  const resourceName = keyPolicy !== undefined ? primaryName : 'the repository policy';
  const resourceAllows = resourceScan.allows;
  // Principal "*" narrowed by aws:PrincipalArn grants directly (documented, see DIRECT). Narrowed
  // otherwise (e.g. kms:CallerAccount, as AWS managed key policies are), AWS does not say: for a
  // session it is read as naming the role (limited by boundary and session policies), the stricter
  // choice, and the decision lists that assumption.
  const isSession = subject.kind === 'session';
  const direct = resourceAllows.filter((h) => DIRECT.has(h.match) || (h.match === 'any' && !isSession));
  const viaRole = resourceAllows.filter((h) => h.match === 'role' || (h.match === 'any' && isSession));
  const limits = policies.permissionsBoundary !== undefined || (policies.sessionPolicies?.length ?? 0) > 0;
  if (isSession && limits && direct.length === 0) {
    for (const hit of viaRole.filter((h) => h.match === 'any')) {
      assumptions.push({
        id: 'wildcard-principal-limited',
        detail: `${describeStatement(hit.statement, policies)} grants to Principal "*" without an aws:PrincipalArn condition; read as a grant to the role, limited by the permissions boundary and session policies`,
      });
    }
  }

  let granted: readonly Hit[] | undefined;
  let failure: string;
  if (!sameAccount) {
    if (isRetireGrant) {
      granted = identityGranted ? identityHits : undefined;
      failure = `kms:RetireGrant is granted only by identity-based policies: ${identityFailure}`;
    } else if (resourceAllows.length === 0) {
      failure = `cross-account request: ${resourceName} of account ${resourceAccount ?? ''} does not allow ${principal.arn} to perform ${on}`;
    } else {
      granted = identityGranted ? [...identityHits, ...resourceAllows] : undefined;
      failure = `cross-account request: ${resourceName} allows it, but ${identityFailure}`;
    }
  } else if (keyPolicy !== undefined) {
    const delegates = resourceAllows.filter((h) => h.match === 'account');
    if (isRetireGrant) {
      granted = identityGranted ? identityHits : undefined;
      failure = `kms:RetireGrant is granted only by identity-based policies (an Allow in the key policy has no effect): ${identityFailure}`;
    } else if (direct.length > 0) {
      granted = direct;
      failure = '';
    } else if (viaRole.length > 0 && boundaryOk && sessionOk) {
      granted = [...viaRole, ...boundary.allows, ...session.allows];
      failure = '';
    } else if (delegates.length > 0 && identityGranted) {
      granted = [...delegates, ...identityHits];
      failure = '';
    } else if (delegates.length > 0 || viaRole.length > 0) {
      failure =
        delegates.length > 0
          ? `${primaryName} delegates to IAM, but ${identityFailure}`
          : `${primaryName} allows the role, but ${roleFailure}`;
    } else {
      failure = `no statement of ${primaryName} allows ${on} for ${principal.arn}`;
    }
  } else if (direct.length > 0) {
    granted = direct;
    failure = '';
  } else if (viaRole.length > 0 && boundaryOk && sessionOk) {
    granted = [...viaRole, ...boundary.allows, ...session.allows];
    failure = '';
  } else if (identityGranted) {
    granted = identityHits;
    failure = '';
  } else {
    failure =
      viaRole.length > 0
        ? roleFailure
        : identityAllows
          ? identityFailure
          : `no identity-based or resource-based policy allows ${on}`;
  }

  if (granted === undefined) return explain('implicitDeny', [], failure);

  // 4. A VPC endpoint policy, when the request came through one, must allow too.
  if (policies.endpointPolicy !== undefined && endpoint.allows.length === 0) {
    return explain('implicitDeny', [], `the VPC endpoint policy does not allow ${principal.arn} to perform ${on}`);
  }
  const decisive = [...granted, ...endpoint.allows];
  const first = decisive[0];
  const by = first === undefined ? 'the account root user' : describeStatement(first.statement, policies);
  return explain('allowed', decisive, `${on} is allowed by ${by}${decisive.length > 1 ? ` (and ${decisive.length - 1} more)` : ''}`);
};
