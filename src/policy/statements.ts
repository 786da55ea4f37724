/**
 * Policy documents compiled once into matchers, and who a request's principal is. Internal to the
 * evaluator: `explainAccess` is the public entry.
 *
 * @internal
 * @packageDocumentation
 */
import { compileCondition, type CompiledCondition } from './conditions.js';
import { compilePattern, type Pattern, type RequestContext } from './patterns.js';
import type { PolicyAssumption, PolicyDocument, PolicyStatement, RequestPrincipal } from './types.js';
import { policyProblems } from './validate.js';

// ---------------------------------------------------------------------------------------------
// Principals
// ---------------------------------------------------------------------------------------------

/**
 * How a resource-based statement named the caller, from the most to the least specific. It
 * decides what else must allow: a statement naming a user or a session grants on its own within
 * the account, one naming the role is still limited by the permissions boundary and session
 * policies, one naming the account only delegates to the account's IAM policies.
 *
 * @internal
 */
export type PrincipalMatch = 'session' | 'user' | 'federated' | 'service' | 'role' | 'principalArn' | 'any' | 'account';

/** @internal */
export type SubjectKind = 'account' | 'user' | 'role' | 'session' | 'federated' | 'service' | 'other';

/** The caller, as policies see it. @internal */
export interface Subject {
  readonly kind: SubjectKind;
  readonly account: string;
  readonly partition: string;
  /** The identities a `Principal` element can name, each with the match it makes. */
  readonly identities: ReadonlyMap<string, PrincipalMatch>;
  /** `aws:PrincipalArn`: the role's ARN for a session. */
  readonly principalArn: string;
  readonly userName: string | undefined;
}

const accountKey = (account: string): string => `account:${account}`;
const ROOT_ARN = /^arn:[^:]+:iam::(\d{12}):root$/;

const PRINCIPAL_ARN = /^arn:([^:]+):(iam|sts)::(\d{12}):(.+)$/;

/**
 * Who the principal is, as `Principal` elements and global keys see it.
 *
 * @example
 * ```ts
 * describeSubject({ arn: 'arn:aws:sts::111122223333:assumed-role/deployer/ci', account: '111122223333' }).principalArn;
 * // 'arn:aws:iam::111122223333:role/deployer'
 * ```
 * @internal
 */
export const describeSubject = (principal: RequestPrincipal): Subject => {
  const identities = new Map<string, PrincipalMatch>();
  const parsed = PRINCIPAL_ARN.exec(principal.arn);
  if (parsed === null) {
    if (!principal.arn.startsWith('arn:')) {
      // A service principal such as `ecr.amazonaws.com`.
      identities.set(`service:${principal.arn}`, 'service');
      return { kind: 'service', account: principal.account, partition: 'aws', identities, principalArn: principal.arn, userName: undefined };
    }
    identities.set(accountKey(principal.account), 'account');
    identities.set(principal.arn, 'user');
    return { kind: 'other', account: principal.account, partition: 'aws', identities, principalArn: principal.arn, userName: undefined };
  }
  const [, partition = 'aws', service, , resource = ''] = parsed;
  identities.set(accountKey(principal.account), 'account');
  const base = { account: principal.account, partition, identities, userName: undefined };
  if (service === 'iam' && resource === 'root') return { ...base, kind: 'account', principalArn: principal.arn };
  if (service === 'iam' && resource.startsWith('user/')) {
    identities.set(principal.arn, 'user');
    return { ...base, kind: 'user', principalArn: principal.arn, userName: resource.slice(resource.lastIndexOf('/') + 1) };
  }
  if (service === 'iam' && resource.startsWith('role/')) {
    identities.set(principal.arn, 'role');
    return { ...base, kind: 'role', principalArn: principal.arn };
  }
  if (service === 'sts' && resource.startsWith('assumed-role/')) {
    // The session ARN has no role path: prefer the role ARN the caller gives.
    const roleName = resource.split('/')[1] ?? '';
    const roleArn = principal.roleArn ?? `arn:${partition}:iam::${principal.account}:role/${roleName}`;
    identities.set(roleArn, 'role');
    identities.set(principal.arn, 'session');
    return { ...base, kind: 'session', principalArn: roleArn };
  }
  if (service === 'sts' && resource.startsWith('federated-user/')) {
    identities.set(principal.arn, 'federated');
    return { ...base, kind: 'federated', principalArn: principal.arn };
  }
  identities.set(principal.arn, 'user');
  return { ...base, kind: 'other', principalArn: principal.arn };
};

/** A compiled `Principal`/`NotPrincipal` element. @internal */
interface CompiledPrincipal {
  readonly any: boolean;
  readonly keys: ReadonlySet<string>;
}

const SPECIFICITY: readonly PrincipalMatch[] = ['session', 'user', 'federated', 'service', 'role', 'account'];

const compilePrincipal = (element: PolicyStatement['Principal']): CompiledPrincipal => {
  if (element === undefined) return { any: false, keys: new Set() };
  if (element === '*') return { any: true, keys: new Set() };
  const keys = new Set<string>();
  let any = false;
  for (const [type, raw] of Object.entries(element)) {
    for (const value of toList(raw)) {
      if (type === 'AWS') {
        if (value === '*') any = true;
        else if (/^\d{12}$/.test(value)) keys.add(accountKey(value));
        else {
          const rootOf = ROOT_ARN.exec(value)?.[1];
          keys.add(rootOf === undefined ? value : accountKey(rootOf));
        }
      } else if (type === 'Service') {
        keys.add(`service:${value}`);
      } else if (type === 'Federated') {
        keys.add(value);
      }
    }
  }
  return { any, keys };
};

/**
 * The most specific way `principal` names the subject, or undefined when it does not.
 *
 * @example
 * ```ts
 * const statement = compilePolicy(policy).statements[0];
 * if (statement?.principal) matchPrincipal(statement.principal.value, describeSubject(caller)); // e.g. 'account'
 * ```
 * @internal
 */
const matchPrincipal = (principal: CompiledPrincipal, subject: Subject): PrincipalMatch | undefined => {
  if (principal.any) return 'any';
  let best: PrincipalMatch | undefined;
  for (const [key, match] of subject.identities) {
    if (principal.keys.has(key) && (best === undefined || SPECIFICITY.indexOf(match) < SPECIFICITY.indexOf(best))) {
      best = match;
    }
  }
  return best;
};

/**
 * `NotPrincipal` excludes a caller only when it lists every identity the caller has: for a role
 * session the session, the role and the account (IAM documents this for `Deny` with `NotPrincipal`).
 *
 * @example
 * ```ts
 * if (statement.principal?.negated) notPrincipalApplies(statement.principal.value, describeSubject(caller));
 * ```
 * @internal
 */
const notPrincipalApplies = (principal: CompiledPrincipal, subject: Subject): boolean => {
  if (principal.any) return false;
  for (const key of subject.identities.keys()) if (!principal.keys.has(key)) return true;
  return false;
};

// ---------------------------------------------------------------------------------------------
// Statements
// ---------------------------------------------------------------------------------------------

/** @internal */
export interface CompiledStatement {
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  /** Undefined when the statement names neither `Action` nor `NotAction`: it matches nothing. */
  readonly actions: { readonly negated: boolean; readonly patterns: readonly Pattern[] } | undefined;
  /** Undefined when absent: a resource-based policy's statement then applies to its own resource. */
  readonly resources: { readonly negated: boolean; readonly patterns: readonly Pattern[] } | undefined;
  readonly principal: { readonly negated: boolean; readonly value: CompiledPrincipal } | undefined;
  readonly conditions: readonly CompiledCondition[];
  /**
   * `Principal: "*"` narrowed by a positive `aws:PrincipalArn` condition: AWS documents that
   * permissions boundaries and session policies do not limit such a grant (IAM User Guide, policy
   * evaluation logic, "IAM role"; and the Principal element page, "IAM role principals").
   */
  readonly narrowedByPrincipalArn: boolean;
  /** The resource patterns again, ignoring case: only to tell the user when case alone decided. */
  readonly resourcesIgnoringCase: readonly Pattern[] | undefined;
}

/** @internal */
export interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
  /** Why AWS would refuse the document (empty when valid); see `policyProblems`. */
  readonly problems: readonly string[];
}

// Operators that GRANT to the principals they name when applied to aws:PrincipalArn.
const POSITIVE_ARN_OPERATOR = /^(ForAnyValue:)?(ArnEquals|ArnLike|StringEquals|StringLike)$/i;

function toList(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
  return [];
}

const compileStatement = (statement: PolicyStatement, index: number, variables: boolean): CompiledStatement => {
  const actionElement = statement.Action ?? statement.NotAction;
  const resourceElement = statement.Resource ?? statement.NotResource;
  const principalElement = statement.Principal ?? statement.NotPrincipal;
  const conditions: CompiledCondition[] = [];
  for (const [operator, block] of Object.entries(statement.Condition ?? {})) {
    for (const [key, value] of Object.entries(block)) conditions.push(compileCondition(operator, key, value, variables));
  }
  const resourceList = toList(resourceElement);
  return {
    index,
    sid: statement.Sid,
    effect: statement.Effect,
    narrowedByPrincipalArn:
      statement.Principal !== undefined &&
      compilePrincipal(statement.Principal).any &&
      conditions.some((c) => c.key === 'aws:principalarn' && POSITIVE_ARN_OPERATOR.test(c.operator)),
    resourcesIgnoringCase:
      resourceElement === undefined ? undefined : resourceList.map((r) => compilePattern(r, { mode: 'resource', ignoreCase: true, variables })),
    // Actions never hold policy variables; they compare case-insensitively.
    actions:
      actionElement === undefined
        ? undefined
        : {
            negated: statement.Action === undefined,
            patterns: toList(actionElement).map((a) => compilePattern(a, { mode: 'glob', ignoreCase: true, variables: false })),
          },
    resources:
      resourceElement === undefined
        ? undefined
        : {
            negated: statement.Resource === undefined,
            patterns: resourceList.map((r) => compilePattern(r, { mode: 'resource', ignoreCase: false, variables })),
          },
    principal:
      principalElement === undefined
        ? undefined
        : { negated: statement.Principal === undefined, value: compilePrincipal(principalElement) },
    conditions,
  };
};

// Policies are read-only values: compile each document object once, however often it is evaluated.
const cache = new WeakMap<PolicyDocument, CompiledPolicy>();

/**
 * Compiles a policy document (cached per document object, so do not mutate a document after
 * evaluating it). Policy variables apply only to version `2012-10-17`, as in IAM.
 *
 * @example
 * ```ts
 * const { statements } = compilePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*' }] });
 * ```
 * @internal
 */
export const compilePolicy = (policy: PolicyDocument): CompiledPolicy => {
  const cached = cache.get(policy);
  if (cached !== undefined) return cached;
  const variables = policy.Version === '2012-10-17';
  const list: readonly PolicyStatement[] = Array.isArray(policy.Statement)
    ? (policy.Statement as readonly PolicyStatement[])
    : [policy.Statement as PolicyStatement];
  const compiled: CompiledPolicy = {
    problems: policyProblems(policy),
    // Keep each statement's index in the document, even when a malformed one is skipped.
    statements: list.flatMap((s, i) =>
      typeof s === 'object' && (s.Effect === 'Allow' || s.Effect === 'Deny') ? [compileStatement(s, i, variables)] : [],
    ),
  };
  cache.set(policy, compiled);
  return compiled;
};

/** What one statement says about one request. @internal */
export interface StatementRequest {
  readonly action: string;
  readonly resource: string;
  readonly subject: Subject;
  readonly ctx: RequestContext;
  /** Whether the policy is resource-based (its statements name principals). */
  readonly resourceBased: boolean;
  /** Whether a permissions boundary applies to the caller (changes `Deny` + `NotPrincipal`). */
  readonly hasBoundary: boolean;
  /** Told of every undocumented choice made while deciding (see `PolicyAssumptionId`). */
  readonly assume?: (assumption: PolicyAssumption) => void;
}

/**
 * Whether the statement applies to the request, and for a resource-based one how it named the
 * caller. `false` when it does not apply.
 *
 * @example
 * ```ts
 * for (const statement of compilePolicy(policy).statements) {
 *   const applies = statementApplies(statement, { action, resource, subject, ctx, resourceBased: false, hasBoundary: false });
 * }
 * ```
 * @internal
 */
export const statementApplies = (statement: CompiledStatement, request: StatementRequest): PrincipalMatch | boolean => {
  const { actions, resources, principal } = statement;
  if (actions === undefined) return false;
  const actionMatched = actions.patterns.some((p) => p.matches(request.action, request.ctx));
  if (actionMatched === actions.negated) return false;
  if (resources !== undefined) {
    const resourceMatched = resources.patterns.some((p) => p.matches(request.resource, request.ctx));
    const ignoringCase = !resourceMatched && request.assume !== undefined && (statement.resourcesIgnoringCase ?? []).some((p) => p.matches(request.resource, request.ctx));
    if (ignoringCase) {
      request.assume?.({
        id: 'arn-case-sensitive',
        detail: `statement ${statement.sid ?? `#${statement.index}`}: ${request.resource} matches its ${resources.negated ? 'NotResource' : 'Resource'} only ignoring case; ARNs were compared case-sensitively`,
      });
    }
    if (resourceMatched === resources.negated) return false;
  } else if (!request.resourceBased) {
    return false;
  }
  let match: PrincipalMatch | boolean = true;
  if (request.resourceBased) {
    if (principal === undefined) return false;
    if (principal.negated) {
      // IAM: a Deny with NotPrincipal always denies a principal that has a permissions boundary.
      const boundaryOverride = statement.effect === 'Deny' && request.hasBoundary;
      if (!boundaryOverride && !notPrincipalApplies(principal.value, request.subject)) return false;
      match = 'any';
    } else {
      const named = matchPrincipal(principal.value, request.subject);
      if (named === undefined) return false;
      match = named === 'any' && statement.narrowedByPrincipalArn ? 'principalArn' : named;
    }
  }
  for (const condition of statement.conditions) if (!condition.evaluate(request.ctx, request.assume)) return false;
  return match;
};
