/**
 * IAM (2010-05-08) and STS (2011-06-15) over the Query protocol: form-encoded requests, XML
 * answers. Both read the same {@link IamStore} the authorizer uses.
 */
import { ApiError, type CallContext, type Principal } from './core.js';
import type { PolicyAuthorizer } from './authorizer.js';
import type { IamStore } from './iam.js';
import type { XmlValue } from './xml.js';
import { type AwsVariants, DEFAULT_AWS_VARIANTS } from './variants.js';
import type { AccessDecision, ContextValue, MatchedStatement, PolicyDocument } from '../../policy/types.js';

/** A service spoken over the Query protocol. */
export interface QueryService {
  readonly signingName: string;
  readonly version: string;
  readonly xmlns: string;
  /** Answers one action with the members of `<ActionResult>`; throws {@link ApiError}. */
  handle(action: string, params: URLSearchParams, ctx: CallContext): XmlValue;
}

/** The members of a Query list (`Name.member.1`, `Name.member.2`, …). */
const listParam = (params: URLSearchParams, name: string): string[] => {
  const out: string[] = [];
  for (let i = 1; ; i += 1) {
    const value = params.get(`${name}.member.${i}`);
    if (value === null) return out;
    out.push(value);
  }
};

const required = (params: URLSearchParams, name: string): string => {
  const value = params.get(name);
  if (value === null || value === '') {
    throw new ApiError('ValidationError', `1 validation error detected: Value null at '${name.charAt(0).toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`);
  }
  return value;
};

const parsePolicyText = (text: string, code: string): PolicyDocument => {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'Statement' in parsed) return parsed as PolicyDocument;
  } catch {
    // Reported below.
  }
  throw new ApiError(code, 'The policy is not valid JSON or has no Statement.');
};

const RESTRICTIVENESS: Readonly<Record<AccessDecision, number>> = { allowed: 0, implicitDeny: 1, explicitDeny: 2 };

/** IAM: GetRole, GetUser, SimulatePrincipalPolicy. */
export class IamQueryService implements QueryService {
  readonly signingName = 'iam';
  readonly version = '2010-05-08';
  readonly xmlns = 'https://iam.amazonaws.com/doc/2010-05-08/';
  readonly #iam: IamStore;
  readonly #authorizer: PolicyAuthorizer;
  /** The AWS behaviour variants in force (`simulateMissingContext` is the simulator's). */
  readonly variants: AwsVariants;

  constructor(iam: IamStore, authorizer: PolicyAuthorizer, variants: AwsVariants = DEFAULT_AWS_VARIANTS) {
    this.variants = variants;
    this.#iam = iam;
    this.#authorizer = authorizer;
  }

  handle(action: string, params: URLSearchParams, ctx: CallContext): XmlValue {
    switch (action) {
      case 'GetRole':
        return this.#getRole(params, ctx);
      case 'GetUser':
        return this.#getUser(params, ctx);
      case 'SimulatePrincipalPolicy':
        return this.#simulate(params, ctx);
      default:
        throw new ApiError('InvalidAction', `Could not find operation ${action} for version ${this.version}: the local AWS emulator does not support IAM ${action}.`);
    }
  }

  #getRole(params: URLSearchParams, ctx: CallContext): XmlValue {
    const name = required(params, 'RoleName');
    const role = this.#iam.role(ctx.principal.account, name);
    const arn = role?.arn ?? `arn:aws:iam::${ctx.principal.account}:role/${name}`;
    this.#authorizer.authorize(ctx, 'iam:GetRole', arn);
    if (role === undefined) throw new ApiError('NoSuchEntity', `The role with name ${name} cannot be found.`, { status: 404 });
    return {
      Role: {
        Path: role.path,
        RoleName: role.name,
        RoleId: role.roleId,
        Arn: role.arn,
        CreateDate: new Date(role.createdAt),
        // IAM answers the trust policy URL-encoded.
        AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(role.trust)),
        Description: role.description,
        MaxSessionDuration: role.maxSessionDuration,
        PermissionsBoundary: role.boundary
          ? { PermissionsBoundaryType: 'Policy', PermissionsBoundaryArn: `arn:aws:iam::${role.account}:policy/${role.name}-boundary` }
          : undefined,
        Tags: Object.keys(role.tags).length > 0 ? Object.entries(role.tags).map(([Key, Value]) => ({ Key, Value })) : undefined,
        RoleLastUsed: {},
      },
    };
  }

  #getUser(params: URLSearchParams, ctx: CallContext): XmlValue {
    const name = params.get('UserName') ?? (ctx.principal.type === 'user' ? ctx.principal.arn.split('/').pop() : undefined);
    if (name === undefined || name === null) throw new ApiError('ValidationError', 'Must specify userName when calling with non-User credentials');
    const user = this.#iam.user(ctx.principal.account, name);
    const arn = user?.arn ?? `arn:aws:iam::${ctx.principal.account}:user/${name}`;
    this.#authorizer.authorize(ctx, 'iam:GetUser', arn);
    if (user === undefined) throw new ApiError('NoSuchEntity', `The user with name ${name} cannot be found.`, { status: 404 });
    return { User: { Path: user.path, UserName: user.name, UserId: user.userId, Arn: user.arn, CreateDate: new Date(user.createdAt) } };
  }

  #contextEntries(params: URLSearchParams): Record<string, ContextValue> {
    const context: Record<string, ContextValue> = {};
    for (let i = 1; ; i += 1) {
      const prefix = `ContextEntries.member.${i}`;
      const key = params.get(`${prefix}.ContextKeyName`);
      if (key === null) return context;
      const values = listParam(params, `${prefix}.ContextKeyValues`);
      const type = params.get(`${prefix}.ContextKeyType`) ?? 'string';
      const one = values[0] ?? '';
      if (type.endsWith('List')) context[key] = values;
      else if (type === 'boolean') context[key] = one.toLowerCase() === 'true';
      else if (type === 'numeric') context[key] = Number(one);
      else context[key] = one;
    }
  }

  #simulate(params: URLSearchParams, ctx: CallContext): XmlValue {
    const source = required(params, 'PolicySourceArn');
    const actions = listParam(params, 'ActionNames');
    if (actions.length === 0) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null");
    const resources = listParam(params, 'ResourceArns');
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(user|role|group)\//.test(source)) {
      throw new ApiError('InvalidInput', `Invalid Entity Arn: ${source} does not clearly define entity type and name.`);
    }
    this.#authorizer.authorize(ctx, 'iam:SimulatePrincipalPolicy', source);
    const entity = this.#iam.entityByArn(source);
    if (entity === undefined) throw new ApiError('NoSuchEntity', `The ${source.split(':')[5]?.split('/')[0] ?? 'entity'} ${source} cannot be found.`, { status: 404 });
    const principal: Principal =
      entity.kind === 'user'
        ? { arn: entity.user.arn, account: entity.user.account, userId: entity.user.userId, type: 'user', accessKeyId: '' }
        : { arn: entity.role.arn, account: entity.role.account, userId: entity.role.roleId, type: 'role-session', roleArn: entity.role.arn, accessKeyId: '' };
    const extra = listParam(params, 'PolicyInputList').map((text) => parsePolicyText(text, 'MalformedPolicyDocument'));
    const boundaryText = listParam(params, 'PermissionsBoundaryPolicyInputList')[0];
    const boundary = boundaryText === undefined ? undefined : parsePolicyText(boundaryText, 'MalformedPolicyDocument');
    const resourcePolicyText = params.get('ResourcePolicy');
    const resourcePolicy = resourcePolicyText === null || entity.kind === 'role' ? undefined : parsePolicyText(resourcePolicyText, 'MalformedPolicyDocument');
    const context = this.#contextEntries(params);
    const entityName = entity.kind === 'user' ? entity.user.name : entity.role.name;
    const matched = (statements: readonly MatchedStatement[]): XmlValue =>
      statements.map((s) => ({
        SourcePolicyId: s.source === 'identity' ? (s.policyIndex >= (entity.kind === 'user' ? entity.user.policies.length : entity.role.policies.length) ? `PolicyInputList.${s.policyIndex + 1}` : `${entityName}-inline-${s.policyIndex + 1}`) : `${entityName}-${s.source}`,
        SourcePolicyType: s.source === 'identity' ? entity.kind : s.source === 'repository' ? 'resource' : 'user-managed',
      }));
    const results = actions.map((action) => {
      const targets = resources.length > 0 ? resources : ['*'];
      const perResource = targets.map((resource) => ({
        resource,
        ...this.#authorizer.simulate(principal, action, resource, {
          context,
          extraIdentityPolicies: extra,
          ...(boundary ? { boundary } : {}),
          ...(resourcePolicy ? { resourcePolicy } : {}),
        }),
      }));
      // 2026 model: one result per action, the most restrictive decision on top, per-resource details below.
      const worst = perResource.reduce((a, b) => (RESTRICTIVENESS[b.explanation.decision] > RESTRICTIVENESS[a.explanation.decision] ? b : a));
      const boundaryAllows = perResource.every((r) => r.boundaryAllows !== false);
      const hasBoundary = perResource.some((r) => r.boundaryAllows !== undefined);
      return {
        EvalActionName: action,
        EvalResourceName: targets.length === 1 ? targets[0] : '*',
        EvalDecision: worst.explanation.decision,
        MatchedStatements: matched(worst.explanation.statements),
        MissingContextValues: [],
        OrganizationsDecisionDetail: { AllowedByOrganizations: true },
        PermissionsBoundaryDecisionDetail: hasBoundary ? { AllowedByPermissionsBoundary: boundaryAllows } : undefined,
        ResourceSpecificResults: perResource.map((r) => ({
          EvalResourceName: r.resource,
          EvalResourceDecision: r.explanation.decision,
          MatchedStatements: matched(r.explanation.statements),
          MissingContextValues: [],
          PermissionsBoundaryDecisionDetail: r.boundaryAllows === undefined ? undefined : { AllowedByPermissionsBoundary: r.boundaryAllows },
        })),
      };
    });
    return { EvaluationResults: results, IsTruncated: false };
  }
}

/** STS: GetCallerIdentity, AssumeRole. */
export class StsQueryService implements QueryService {
  readonly signingName = 'sts';
  readonly version = '2011-06-15';
  readonly xmlns = 'https://sts.amazonaws.com/doc/2011-06-15/';
  readonly #iam: IamStore;
  readonly #authorizer: PolicyAuthorizer;

  constructor(iam: IamStore, authorizer: PolicyAuthorizer) {
    this.#iam = iam;
    this.#authorizer = authorizer;
  }

  handle(action: string, params: URLSearchParams, ctx: CallContext): XmlValue {
    switch (action) {
      case 'GetCallerIdentity':
        // No permission is needed, even with an explicit deny.
        return { UserId: ctx.principal.userId, Account: ctx.principal.account, Arn: ctx.principal.arn };
      case 'AssumeRole':
        return this.#assumeRole(params, ctx);
      default:
        throw new ApiError('InvalidAction', `Could not find operation ${action} for version ${this.version}: the local AWS emulator does not support STS ${action}.`);
    }
  }

  #assumeRole(params: URLSearchParams, ctx: CallContext): XmlValue {
    const roleArn = required(params, 'RoleArn');
    const sessionName = required(params, 'RoleSessionName');
    const durationText = params.get('DurationSeconds');
    const duration = durationText === null ? 3600 : Number(durationText);
    const policyText = params.get('Policy');
    const sessionPolicy = policyText === null ? undefined : parsePolicyText(policyText, 'MalformedPolicyDocument');
    const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
    const role = match ? this.#iam.role(match[1] ?? '', match[2] ?? '') : undefined;
    const externalId = params.get('ExternalId');
    const context: Record<string, ContextValue> = { 'sts:RoleSessionName': sessionName, ...(externalId !== null ? { 'sts:ExternalId': externalId } : {}) };
    if (role === undefined || role.arn !== roleArn) {
      // AWS does not reveal whether the role exists.
      throw new ApiError('AccessDenied', `User: ${ctx.principal.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, { status: 403 });
    }
    // The trust policy is the primary authority: naming the caller allows on its own, naming the account
    // root delegates to the caller's identity policies; without it, no identity policy suffices.
    this.#authorizer.authorize(ctx, 'sts:AssumeRole', role.arn, { trustPolicy: role.trust, resourceAccount: role.account, context });
    if (!Number.isInteger(duration) || duration < 900 || duration > role.maxSessionDuration) {
      throw new ApiError('ValidationError', `The requested DurationSeconds exceeds the MaxSessionDuration set for this role (or is below 900).`);
    }
    const session = this.#iam.startSession(role.arn, sessionName, { durationSeconds: duration, ...(sessionPolicy ? { sessionPolicies: [sessionPolicy] } : {}) });
    return {
      Credentials: {
        AccessKeyId: session.credentials.accessKeyId,
        SecretAccessKey: session.credentials.secretAccessKey,
        SessionToken: session.credentials.sessionToken,
        Expiration: session.expiration,
      },
      AssumedRoleUser: { AssumedRoleId: session.assumedRoleId, Arn: session.arn },
      ...(sessionPolicy ? { PackedPolicySize: 6 } : {}),
    };
  }
}
