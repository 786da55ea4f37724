/**
 * IAM (2010-05-08) and STS (2011-06-15) over the Query protocol: form-encoded requests, XML
 * answers. Both read the same {@link IamStore} the authorizer uses.
 */
import { ApiError, type CallContext, type Principal } from './core.js';
import { Input, QUERY_WORDS } from './input.js';
import type { PolicyAuthorizer } from './authorizer.js';
import type { IamStore } from './iam.js';
import type { XmlValue } from './xml.js';
import type { AccessDecision, ContextValue, MatchedStatement, PolicyDocument, PolicyStatement } from '../../policy/types.js';
import { compilePolicy } from '../../policy/statements.js';
import { policyProblems } from '../../policy/validate.js';
import type { SimulateMissingContextVariant } from './variants.js';

/** A service spoken over the Query protocol. */
export interface QueryService {
  readonly signingName: string;
  readonly version: string;
  readonly xmlns: string;
  /** Answers one action with the members of `<ActionResult>`; throws {@link ApiError}. */
  handle(action: string, input: Input, ctx: CallContext): XmlValue;
}

const parsePolicyText = (text: string, code: string): PolicyDocument => {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'Statement' in parsed) return parsed as PolicyDocument;
  } catch {
    // Reported below.
  }
  throw new ApiError(code, 'The policy is not valid JSON or has no Statement.');
};

// An invalid policy could not have been stored in IAM; the simulator answers it as the strictest.
const RESTRICTIVENESS: Readonly<Record<AccessDecision, number>> = { allowed: 0, implicitDeny: 1, explicitDeny: 2, invalidPolicy: 3 };
/** The simulator's `EvalDecision` enum has no invalid policy (IAM never stores one): deny. */
const awsDecision = (decision: AccessDecision): string => (decision === 'invalidPolicy' ? 'implicitDeny' : decision);

/** A policy document IAM would store: valid JSON with a Statement, and valid by the IAM policy grammar. */
const storablePolicy = (input: Input, member: string): PolicyDocument => {
  const document = parsePolicyText(input.string(member), 'MalformedPolicyDocument');
  const problems = policyProblems(document);
  if (problems.length > 0) throw new ApiError('MalformedPolicyDocument', `Syntax errors in policy: ${problems.join('; ')}`);
  return document;
};

/** `Tags` (`Tags.member.N.Key` / `.Value` on the wire). */
const readTags = (input: Input): Record<string, string> =>
  Object.fromEntries((input.optionalObjects('Tags', 0, 50) ?? []).map((tag) => [tag.string('Key'), tag.optionalString('Value') ?? '']));

const NAME = /^[\w+=,.@-]{1,64}$/;
const POLICY_NAME = /^[\w+=,.@-]{1,128}$/;

const checkName = (value: string, member: string, pattern: RegExp): string => {
  if (!pattern.test(value)) {
    throw new ApiError('ValidationError', `1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source.slice(1, -1)}`);
  }
  return value;
};

/**
 * Keys the evaluator derives from the principal and the action (`explainAccess`): the simulation
 * has them without a context entry. GUESS: AWS documents no such list; its simulator may report
 * some of these as missing too.
 */
const DERIVED_KEYS = /^(aws:principal(isawsservice|servicename|arn|account|orgid|type|tag\/.+)|aws:userid|aws:username|aws:resourceaccount)$/;

/**
 * The condition keys that statements applying to `action` on `resource` use and the simulation was
 * not given, as the policy writes them (IAM's `MissingContextValues`: "context keys that are
 * required by the included input policies but that were not provided by one of the input
 * parameters", API_EvaluationResult). GUESS: which statements count (here: those whose action and
 * resource match, whatever their effect) is not documented.
 */
export const missingContextKeys = (
  policies: readonly PolicyDocument[],
  action: string,
  resource: string,
  context: Readonly<Record<string, ContextValue>>,
): string[] => {
  const given = new Set(Object.keys(context).map((k) => k.toLowerCase()));
  if (action.toLowerCase().startsWith('kms:')) given.add('kms:calleraccount');
  const none = new Map();
  const missing = new Map<string, string>();
  for (const policy of policies) {
    const raw: readonly PolicyStatement[] = Array.isArray(policy.Statement) ? (policy.Statement as readonly PolicyStatement[]) : [policy.Statement as PolicyStatement];
    for (const statement of compilePolicy(policy).statements) {
      const { actions, resources } = statement;
      if (actions === undefined || actions.patterns.some((p) => p.matches(action, none)) === actions.negated) continue;
      if (resources !== undefined && resources.patterns.some((p) => p.matches(resource, none)) === resources.negated) continue;
      for (const block of Object.values(raw[statement.index]?.Condition ?? {})) {
        for (const key of Object.keys(block)) {
          const lower = key.toLowerCase();
          if (!given.has(lower) && !DERIVED_KEYS.test(lower) && !missing.has(lower)) missing.set(lower, key);
        }
      }
    }
  }
  return [...missing.values()];
};

/**
 * IAM: GetRole, GetUser, SimulatePrincipalPolicy, and the writes a user of the AWS CLI needs to set
 * up the README's scenarios: CreateUser, CreateAccessKey, PutUserPolicy, CreateRole, PutRolePolicy,
 * CreatePolicy, AttachUserPolicy, AttachRolePolicy.
 */
export class IamQueryService implements QueryService {
  readonly signingName = 'iam';
  readonly version = '2010-05-08';
  readonly xmlns = 'https://iam.amazonaws.com/doc/2010-05-08/';
  readonly #iam: IamStore;
  readonly #authorizer: PolicyAuthorizer;
  readonly #missingContext: SimulateMissingContextVariant;

  /**
   * `simulateMissingContext` (`awsVariants`): `report` (default, as AWS documents) lists in
   * `MissingContextValues` the condition keys the policies used and the simulation lacked; `none`
   * always answers an empty list.
   */
  constructor(iam: IamStore, authorizer: PolicyAuthorizer, options: { readonly simulateMissingContext?: SimulateMissingContextVariant | undefined } = {}) {
    this.#iam = iam;
    this.#authorizer = authorizer;
    this.#missingContext = options.simulateMissingContext ?? 'report';
  }

  handle(action: string, input: Input, ctx: CallContext): XmlValue {
    switch (action) {
      case 'GetRole':
        return this.#getRole(input, ctx);
      case 'GetUser':
        return this.#getUser(input, ctx);
      case 'SimulatePrincipalPolicy':
        return this.#simulate(input, ctx);
      case 'CreateUser':
        return this.#createUser(input, ctx);
      case 'CreateAccessKey':
        return this.#createAccessKey(input, ctx);
      case 'CreateRole':
        return this.#createRole(input, ctx);
      case 'PutUserPolicy':
        return this.#putInlinePolicy(input, ctx, 'user');
      case 'PutRolePolicy':
        return this.#putInlinePolicy(input, ctx, 'role');
      case 'CreatePolicy':
        return this.#createPolicy(input, ctx);
      case 'AttachUserPolicy':
        return this.#attachPolicy(input, ctx, 'user');
      case 'AttachRolePolicy':
        return this.#attachPolicy(input, ctx, 'role');
      default:
        throw new ApiError('InvalidAction', `Could not find operation ${action} for version ${this.version}: the local AWS emulator does not support IAM ${action}.`);
    }
  }

  #getRole(input: Input, ctx: CallContext): XmlValue {
    const name = input.string('RoleName');
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

  #userShape(user: { path: string; name: string; userId: string; arn: string; createdAt: string }): XmlValue {
    return { Path: user.path, UserName: user.name, UserId: user.userId, Arn: user.arn, CreateDate: new Date(user.createdAt) };
  }

  #createUser(input: Input, ctx: CallContext): XmlValue {
    const name = checkName(input.string('UserName'), 'userName', NAME);
    const path = input.optionalString('Path');
    const account = ctx.principal.account;
    this.#authorizer.authorize(ctx, 'iam:CreateUser', `arn:aws:iam::${account}:user${path ?? '/'}${name}`);
    if (this.#iam.user(account, name) !== undefined) throw new ApiError('EntityAlreadyExists', `User with name ${name} already exists.`, { status: 409 });
    const tags = readTags(input);
    const user = this.#iam.addUser(name, { account, ...(path !== undefined ? { path } : {}), ...(Object.keys(tags).length > 0 ? { tags } : {}) });
    return { User: this.#userShape(user) };
  }

  #createAccessKey(input: Input, ctx: CallContext): XmlValue {
    // Without UserName, IAM makes the key for the calling user.
    const name = input.optionalString('UserName') ?? (ctx.principal.type === 'user' ? ctx.principal.arn.split('/').pop() : undefined);
    if (name === undefined) throw new ApiError('ValidationError', 'Must specify userName when calling with non-User credentials');
    const user = this.#iam.user(ctx.principal.account, name);
    this.#authorizer.authorize(ctx, 'iam:CreateAccessKey', user?.arn ?? `arn:aws:iam::${ctx.principal.account}:user/${name}`);
    if (user === undefined) throw new ApiError('NoSuchEntity', `The user with name ${name} cannot be found.`, { status: 404 });
    const key = this.#iam.createAccessKey(user.arn);
    return { AccessKey: { UserName: user.name, AccessKeyId: key.accessKeyId, Status: 'Active', SecretAccessKey: key.secretAccessKey, CreateDate: new Date() } };
  }

  #createRole(input: Input, ctx: CallContext): XmlValue {
    const name = checkName(input.string('RoleName'), 'roleName', NAME);
    const trust = storablePolicy(input, 'AssumeRolePolicyDocument');
    const path = input.optionalString('Path');
    const description = input.optionalString('Description');
    const maxSessionDuration = input.optionalNumber('MaxSessionDuration', 3600, 43200);
    const account = ctx.principal.account;
    this.#authorizer.authorize(ctx, 'iam:CreateRole', `arn:aws:iam::${account}:role${path ?? '/'}${name}`);
    if (this.#iam.role(account, name) !== undefined) throw new ApiError('EntityAlreadyExists', `Role with name ${name} already exists.`, { status: 409 });
    const tags = readTags(input);
    this.#iam.createRole(name, {
      account,
      trust,
      ...(path !== undefined ? { path } : {}),
      ...(description !== undefined ? { description } : {}),
      ...(maxSessionDuration !== undefined ? { maxSessionDuration } : {}),
      ...(Object.keys(tags).length > 0 ? { tags } : {}),
    });
    return this.#getRole(new Input({ RoleName: name }, QUERY_WORDS), ctx);
  }

  /** The user or role named by `UserName` / `RoleName`, authorized for `action`. */
  #entity(input: Input, ctx: CallContext, kind: 'user' | 'role', action: string): string {
    const name = input.string(kind === 'user' ? 'UserName' : 'RoleName');
    const record = kind === 'user' ? this.#iam.user(ctx.principal.account, name) : this.#iam.role(ctx.principal.account, name);
    this.#authorizer.authorize(ctx, action, record?.arn ?? `arn:aws:iam::${ctx.principal.account}:${kind}/${name}`);
    if (record === undefined) throw new ApiError('NoSuchEntity', `The ${kind} with name ${name} cannot be found.`, { status: 404 });
    return record.arn;
  }

  #putInlinePolicy(input: Input, ctx: CallContext, kind: 'user' | 'role'): XmlValue {
    const policyName = checkName(input.string('PolicyName'), 'policyName', POLICY_NAME);
    const document = storablePolicy(input, 'PolicyDocument');
    const arn = this.#entity(input, ctx, kind, kind === 'user' ? 'iam:PutUserPolicy' : 'iam:PutRolePolicy');
    this.#iam.putInlinePolicy(arn, policyName, document);
    return {};
  }

  #createPolicy(input: Input, ctx: CallContext): XmlValue {
    const name = checkName(input.string('PolicyName'), 'policyName', POLICY_NAME);
    const document = storablePolicy(input, 'PolicyDocument');
    const path = input.optionalString('Path');
    const account = ctx.principal.account;
    this.#authorizer.authorize(ctx, 'iam:CreatePolicy', `arn:aws:iam::${account}:policy${path ?? '/'}${name}`);
    const policy = this.#iam.createManagedPolicy(account, name, path, document);
    if (policy === undefined) throw new ApiError('EntityAlreadyExists', `A policy called ${name} already exists. Duplicate names are not allowed.`, { status: 409 });
    const created = new Date(policy.createdAt);
    return {
      Policy: {
        PolicyName: policy.name,
        PolicyId: policy.policyId,
        Arn: policy.arn,
        Path: policy.path,
        DefaultVersionId: 'v1',
        AttachmentCount: 0,
        PermissionsBoundaryUsageCount: 0,
        IsAttachable: true,
        CreateDate: created,
        UpdateDate: created,
      },
    };
  }

  #attachPolicy(input: Input, ctx: CallContext, kind: 'user' | 'role'): XmlValue {
    const policyArn = input.string('PolicyArn');
    const arn = this.#entity(input, ctx, kind, kind === 'user' ? 'iam:AttachUserPolicy' : 'iam:AttachRolePolicy');
    // AWS managed policies (arn:aws:iam::aws:policy/…) are not modelled: say so rather than attach nothing.
    if (this.#iam.managedPolicy(policyArn) === undefined) {
      throw new ApiError('NoSuchEntity', `Policy ${policyArn} does not exist or is not attachable.${policyArn.includes(':aws:policy/') ? ' (The local emulator has no AWS managed policies: create one with CreatePolicy.)' : ''}`, { status: 404 });
    }
    this.#iam.attachPolicy(arn, policyArn);
    return {};
  }

  #getUser(input: Input, ctx: CallContext): XmlValue {
    const name = input.optionalString('UserName') ?? (ctx.principal.type === 'user' ? ctx.principal.arn.split('/').pop() : undefined);
    if (name === undefined) throw new ApiError('ValidationError', 'Must specify userName when calling with non-User credentials');
    const user = this.#iam.user(ctx.principal.account, name);
    const arn = user?.arn ?? `arn:aws:iam::${ctx.principal.account}:user/${name}`;
    this.#authorizer.authorize(ctx, 'iam:GetUser', arn);
    if (user === undefined) throw new ApiError('NoSuchEntity', `The user with name ${name} cannot be found.`, { status: 404 });
    return { User: this.#userShape(user) };
  }

  #contextEntries(input: Input): Record<string, ContextValue> {
    const context: Record<string, ContextValue> = {};
    for (const entry of input.optionalObjects('ContextEntries', 0, Number.MAX_SAFE_INTEGER) ?? []) {
      const key = entry.string('ContextKeyName');
      const values = entry.optionalStrings('ContextKeyValues', 0, Number.MAX_SAFE_INTEGER) ?? [];
      const type = entry.optionalString('ContextKeyType') ?? 'string';
      const one = values[0] ?? '';
      if (type.endsWith('List')) context[key] = values;
      else if (type === 'boolean') context[key] = one.toLowerCase() === 'true';
      else if (type === 'numeric') context[key] = Number(one);
      else context[key] = one;
    }
    return context;
  }

  #simulate(input: Input, ctx: CallContext): XmlValue {
    const source = input.string('PolicySourceArn');
    const actions = input.optionalStrings('ActionNames', 0, Number.MAX_SAFE_INTEGER) ?? [];
    if (actions.length === 0) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null");
    const resources = input.optionalStrings('ResourceArns', 0, Number.MAX_SAFE_INTEGER) ?? [];
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
    const extra = (input.optionalStrings('PolicyInputList', 0, Number.MAX_SAFE_INTEGER) ?? []).map((text) => parsePolicyText(text, 'MalformedPolicyDocument'));
    const boundaryText = input.optionalStrings('PermissionsBoundaryPolicyInputList', 0, Number.MAX_SAFE_INTEGER)?.[0];
    const boundary = boundaryText === undefined ? undefined : parsePolicyText(boundaryText, 'MalformedPolicyDocument');
    const resourcePolicyText = input.optionalString('ResourcePolicy');
    const resourcePolicy = resourcePolicyText === undefined || entity.kind === 'role' ? undefined : parsePolicyText(resourcePolicyText, 'MalformedPolicyDocument');
    const context = this.#contextEntries(input);
    const entityName = entity.kind === 'user' ? entity.user.name : entity.role.name;
    const matched = (statements: readonly MatchedStatement[]): XmlValue =>
      statements.map((s) => ({
        SourcePolicyId: s.source === 'identity' ? (s.policyIndex >= (entity.kind === 'user' ? entity.user.policies.length : entity.role.policies.length) ? `PolicyInputList.${s.policyIndex + 1}` : `${entityName}-inline-${s.policyIndex + 1}`) : `${entityName}-${s.source}`,
        SourcePolicyType: s.source === 'identity' ? entity.kind : s.source === 'repository' ? 'resource' : 'user-managed',
      }));
    const own = this.#iam.policiesFor(principal);
    const simulated = [...own.identityPolicies, ...extra, ...(boundary ?? own.permissionsBoundary ? [boundary ?? own.permissionsBoundary] : []), ...(resourcePolicy ? [resourcePolicy] : [])].filter(
      (p): p is PolicyDocument => p !== undefined,
    );
    const missingFor = (action: string, resource: string): string[] =>
      this.#missingContext === 'report' ? missingContextKeys(simulated, action, resource, context) : [];
    const results = actions.map((action) => {
      const targets = resources.length > 0 ? resources : ['*'];
      const perResource = targets.map((resource) => ({
        resource,
        missing: missingFor(action, resource),
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
        EvalDecision: awsDecision(worst.explanation.decision),
        MatchedStatements: matched(worst.explanation.statements),
        // AWS: listed here only when no resources are given; per resource otherwise.
        MissingContextValues: resources.length > 0 ? [] : (perResource[0]?.missing ?? []),
        OrganizationsDecisionDetail: { AllowedByOrganizations: true },
        PermissionsBoundaryDecisionDetail: hasBoundary ? { AllowedByPermissionsBoundary: boundaryAllows } : undefined,
        ResourceSpecificResults: perResource.map((r) => ({
          EvalResourceName: r.resource,
          EvalResourceDecision: awsDecision(r.explanation.decision),
          MatchedStatements: matched(r.explanation.statements),
          MissingContextValues: r.missing,
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

  handle(action: string, input: Input, ctx: CallContext): XmlValue {
    switch (action) {
      case 'GetCallerIdentity':
        // No permission is needed, even with an explicit deny.
        return { UserId: ctx.principal.userId, Account: ctx.principal.account, Arn: ctx.principal.arn };
      case 'AssumeRole':
        return this.#assumeRole(input, ctx);
      default:
        throw new ApiError('InvalidAction', `Could not find operation ${action} for version ${this.version}: the local AWS emulator does not support STS ${action}.`);
    }
  }

  #assumeRole(input: Input, ctx: CallContext): XmlValue {
    const roleArn = input.string('RoleArn');
    const sessionName = input.string('RoleSessionName');
    const duration = input.optionalNumber('DurationSeconds', 0, Number.MAX_SAFE_INTEGER) ?? 3600;
    const policyText = input.optionalString('Policy');
    const sessionPolicy = policyText === undefined ? undefined : parsePolicyText(policyText, 'MalformedPolicyDocument');
    const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(roleArn);
    const role = match ? this.#iam.role(match[1] ?? '', match[2] ?? '') : undefined;
    const externalId = input.optionalString('ExternalId');
    const context: Record<string, ContextValue> = { 'sts:RoleSessionName': sessionName, ...(externalId !== undefined ? { 'sts:ExternalId': externalId } : {}) };
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
