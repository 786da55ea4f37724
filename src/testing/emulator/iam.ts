/**
 * The emulator's IAM: accounts, users, roles, assumed-role sessions and their access keys, identity
 * policies and permissions boundaries. The authorizer, SigV4 verification and the IAM/STS Query
 * services all read this one store.
 */
import { ApiError, type Clock, type Persistable, type Principal } from './core.js';
import { awsId, secretKey } from './ids.js';
import type { AccountRecord, IamState, KeyRecord, ManagedPolicyRecord, RoleRecord, SessionRecord, UserRecord } from './iam-records.js';
import type { PolicyDocument, RequestPrincipal } from '../../policy/types.js';

/** Credentials as the SDK takes them. */
export interface EmulatorCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** A caller the tests can sign requests as. */
export interface PrincipalHandle {
  readonly arn: string;
  readonly account: string;
  readonly userId: string;
  readonly credentials: EmulatorCredentials;
  /** When a session's credentials expire (by the emulator's clock). */
  readonly expiration?: Date;
}

/** A role, as `principals.createRole` answers. */
export interface RoleHandle {
  readonly arn: string;
  readonly name: string;
  readonly roleId: string;
  readonly account: string;
}


/** A resolved access key. */
export interface ResolvedKey {
  readonly principal: Principal;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiresAt?: Date | undefined;
}

/** The policies that apply to one principal's requests. */
export interface PrincipalPolicies {
  readonly identityPolicies: readonly PolicyDocument[];
  readonly permissionsBoundary?: PolicyDocument;
  readonly sessionPolicies?: readonly PolicyDocument[];
}

/** What the default principal and the root users may do. */
const ADMIN_POLICY: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [{ Sid: 'AdministratorAccess', Effect: 'Allow', Action: '*', Resource: '*' }],
};

const normalizePath = (path: string | undefined): string => {
  if (path === undefined || path === '' || path === '/') return '/';
  return `/${path.replace(/^\/+|\/+$/g, '')}/`;
};

const NAME = /^[\w+=,.@-]{1,64}$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** The IAM/STS state of the emulator. */
export class IamStore implements Persistable {
  #state: IamState;
  readonly #clock: Clock;

  constructor(accounts: readonly string[], clock: Clock, defaultCredentials?: { accessKeyId: string; secretAccessKey: string }) {
    this.#clock = clock;
    const first = accounts[0];
    if (first === undefined) throw new Error('startLocalAws: at least one account is needed');
    this.#state = { accounts: accounts.map((id) => ({ id })), users: [], roles: [], keys: [], defaultKey: '' };
    for (const id of accounts) {
      this.#state.keys.push({ accessKeyId: awsId('AKIA', 16), secretAccessKey: secretKey(), owner: `arn:aws:iam::${id}:root`, kind: 'root' });
    }
    const admin = this.createUser('admin', { policies: [ADMIN_POLICY], account: first });
    if (defaultCredentials) {
      this.#state.keys = this.#state.keys.filter((k) => k.accessKeyId !== admin.credentials.accessKeyId);
      this.#state.keys.push({ ...defaultCredentials, owner: admin.arn, kind: 'user' });
      this.#state.defaultKey = defaultCredentials.accessKeyId;
    } else {
      this.#state.defaultKey = admin.credentials.accessKeyId;
    }
  }

  get accounts(): readonly string[] {
    return this.#state.accounts.map((a) => a.id);
  }

  get defaultAccount(): string {
    return this.#state.accounts[0]?.id ?? '';
  }

  /** The admin user every test starts as. */
  defaultPrincipal(): PrincipalHandle {
    const key = this.#state.keys.find((k) => k.accessKeyId === this.#state.defaultKey);
    if (key === undefined) throw new Error('default principal missing');
    return this.#handleFor(key);
  }

  /** The root user of an account. */
  root(account: string = this.defaultAccount): PrincipalHandle {
    const key = this.#state.keys.find((k) => k.kind === 'root' && k.owner === `arn:aws:iam::${account}:root`);
    if (key === undefined) throw new Error(`unknown account ${account}`);
    return this.#handleFor(key);
  }

  #handleFor(key: KeyRecord): PrincipalHandle {
    const resolved = this.resolveAccessKey(key.accessKeyId);
    if (resolved === undefined) throw new Error('access key owner missing');
    return {
      arn: resolved.principal.arn,
      account: resolved.principal.account,
      userId: resolved.principal.userId,
      credentials: {
        accessKeyId: key.accessKeyId,
        secretAccessKey: key.secretAccessKey,
        ...(key.sessionToken !== undefined ? { sessionToken: key.sessionToken } : {}),
      },
      ...(key.expiresAt !== undefined ? { expiration: new Date(key.expiresAt) } : {}),
    };
  }

  #account(account: string): AccountRecord {
    const found = this.#state.accounts.find((a) => a.id === account);
    if (found === undefined) throw new Error(`unknown account ${account}; pass it in startLocalAws({ accounts })`);
    return found;
  }

  createUser(
    name: string,
    options: { readonly policies?: readonly PolicyDocument[]; readonly boundary?: PolicyDocument; readonly path?: string; readonly account?: string; readonly tags?: Readonly<Record<string, string>> } = {},
  ): PrincipalHandle {
    const user = this.addUser(name, options);
    const key: KeyRecord = { accessKeyId: awsId('AKIA', 16), secretAccessKey: secretKey(), owner: user.arn, kind: 'user' };
    this.#state.keys.push(key);
    return this.#handleFor(key);
  }

  /** A user without access keys, as IAM's CreateUser makes it. Throws Error on a bad or taken name. */
  addUser(
    name: string,
    options: { readonly policies?: readonly PolicyDocument[]; readonly boundary?: PolicyDocument; readonly path?: string; readonly account?: string; readonly tags?: Readonly<Record<string, string>> } = {},
  ): UserRecord {
    const account = this.#account(options.account ?? this.defaultAccount).id;
    if (!NAME.test(name)) throw new Error(`invalid user name ${name}`);
    if (this.#state.users.some((u) => u.account === account && u.name === name)) throw new Error(`user ${name} already exists`);
    const path = normalizePath(options.path);
    const user: UserRecord = {
      name,
      path,
      arn: `arn:aws:iam::${account}:user${path}${name}`,
      userId: awsId('AIDA', 17),
      account,
      policies: [...(options.policies ?? [])],
      boundary: options.boundary,
      tags: { ...(options.tags ?? {}) },
      createdAt: this.#clock.now().toISOString(),
    };
    this.#state.users.push(user);
    return user;
  }

  /** A new access key of a user (IAM's CreateAccessKey). */
  createAccessKey(userArn: string): EmulatorCredentials {
    const key: KeyRecord = { accessKeyId: awsId('AKIA', 16), secretAccessKey: secretKey(), owner: userArn, kind: 'user' };
    this.#state.keys.push(key);
    return { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
  }

  /** Sets a named inline policy of a user or role (PutUserPolicy / PutRolePolicy). */
  putInlinePolicy(arn: string, name: string, document: PolicyDocument): void {
    const entity = this.entityByArn(arn);
    if (entity === undefined) throw new Error(`no user or role ${arn}`);
    const record = entity.kind === 'user' ? entity.user : entity.role;
    record.inline = { ...(record.inline ?? {}), [name]: document };
  }

  /** A customer managed policy (CreatePolicy); undefined when the name is taken. */
  createManagedPolicy(account: string, name: string, path: string | undefined, document: PolicyDocument): ManagedPolicyRecord | undefined {
    const normalized = normalizePath(path);
    const arn = `arn:aws:iam::${account}:policy${normalized}${name}`;
    const managed = (this.#state.managed ??= []);
    if (managed.some((m) => m.account === account && m.name === name)) return undefined;
    const record: ManagedPolicyRecord = { arn, name, path: normalized, policyId: awsId('ANPA', 17), account, document, createdAt: this.#clock.now().toISOString() };
    managed.push(record);
    return record;
  }

  managedPolicy(arn: string): ManagedPolicyRecord | undefined {
    return this.#state.managed?.find((m) => m.arn === arn);
  }

  /** Attaches a managed policy to a user or role (AttachUserPolicy / AttachRolePolicy). */
  attachPolicy(arn: string, policyArn: string): void {
    const entity = this.entityByArn(arn);
    if (entity === undefined) throw new Error(`no user or role ${arn}`);
    const record = entity.kind === 'user' ? entity.user : entity.role;
    if (!(record.attached ?? []).includes(policyArn)) record.attached = [...(record.attached ?? []), policyArn];
  }

  /** Every identity policy of a user or role: test-side, inline by name, attached managed. */
  #identityPolicies(record: UserRecord | RoleRecord): PolicyDocument[] {
    const attached = (record.attached ?? []).flatMap((arn) => {
      const managed = this.managedPolicy(arn);
      return managed === undefined ? [] : [managed.document];
    });
    return [...record.policies, ...Object.values(record.inline ?? {}), ...attached];
  }

  createRole(
    name: string,
    options: {
      readonly policies?: readonly PolicyDocument[];
      readonly boundary?: PolicyDocument;
      readonly path?: string;
      readonly trust?: PolicyDocument;
      readonly account?: string;
      readonly description?: string;
      readonly tags?: Readonly<Record<string, string>>;
      readonly maxSessionDuration?: number;
    } = {},
  ): RoleHandle {
    const account = this.#account(options.account ?? this.defaultAccount).id;
    if (!NAME.test(name)) throw new Error(`invalid role name ${name}`);
    if (this.#state.roles.some((r) => r.account === account && r.name === name)) throw new Error(`role ${name} already exists`);
    const path = normalizePath(options.path);
    const role: RoleRecord = {
      name,
      path,
      arn: `arn:aws:iam::${account}:role${path}${name}`,
      roleId: awsId('AROA', 17),
      account,
      policies: [...(options.policies ?? [])],
      boundary: options.boundary,
      // By default the account may assume the role (subject to the caller's own sts:AssumeRole permission).
      trust: options.trust ?? {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'sts:AssumeRole' }],
      },
      tags: { ...(options.tags ?? {}) },
      description: options.description,
      maxSessionDuration: options.maxSessionDuration ?? 3600,
      createdAt: this.#clock.now().toISOString(),
    };
    this.#state.roles.push(role);
    return { arn: role.arn, name: role.name, roleId: role.roleId, account };
  }

  /** Starts a session of a role, without checking the trust policy (STS AssumeRole checks it before calling this). */
  startSession(
    roleArn: string,
    sessionName: string,
    options: { readonly durationSeconds?: number; readonly sessionPolicies?: readonly PolicyDocument[] } = {},
  ): PrincipalHandle & { readonly assumedRoleId: string } {
    const role = this.#state.roles.find((r) => r.arn === roleArn);
    if (role === undefined) throw new ApiError('NoSuchEntity', `The role ${roleArn} cannot be found.`, { status: 404 });
    if (!SESSION_NAME.test(sessionName)) {
      throw new ApiError('ValidationError', `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`);
    }
    const session: SessionRecord = {
      roleArn: role.arn,
      sessionName,
      arn: `arn:aws:sts::${role.account}:assumed-role/${role.name}/${sessionName}`,
      userId: `${role.roleId}:${sessionName}`,
      account: role.account,
      sessionPolicies: options.sessionPolicies ? [...options.sessionPolicies] : undefined,
    };
    const expiresAt = new Date(this.#clock.now().getTime() + (options.durationSeconds ?? 3600) * 1000);
    const key: KeyRecord = {
      accessKeyId: awsId('ASIA', 16),
      secretAccessKey: secretKey(),
      owner: session.arn,
      kind: 'session',
      sessionToken: Buffer.from(`emulator-session:${awsId('', 48)}`).toString('base64'),
      expiresAt: expiresAt.toISOString(),
      session,
    };
    this.#state.keys.push(key);
    return { ...this.#handleFor(key), assumedRoleId: session.userId };
  }

  /**
   * A session of a role as an AWS service assumes it (ECR assuming a repository creation template's
   * custom role): the role's trust policy must allow `service` (`Principal.Service`) to
   * `sts:AssumeRole` (repository-creation-templates-create-iam.html gives that trust policy).
   * Conditions in the trust statement are not evaluated (GUESS: ECR's own request context is unknown).
   */
  serviceSession(roleArn: string, service: string): Principal {
    const role = this.#state.roles.find((r) => r.arn === roleArn);
    if (role === undefined) throw new ApiError('NoSuchEntity', `The role ${roleArn} cannot be found.`, { status: 404 });
    const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
    const trusted = list(role.trust.Statement).some((statement) => {
      const s = statement as { Effect?: unknown; Principal?: unknown; Action?: unknown };
      const principal = s.Principal as { Service?: unknown } | undefined;
      return (
        s.Effect === 'Allow' &&
        list(principal?.Service).includes(service) &&
        list(s.Action).some((a) => a === 'sts:AssumeRole' || a === 'sts:*' || a === '*')
      );
    });
    if (!trusted) {
      throw new ApiError('AccessDenied', `${service} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`, { status: 403 });
    }
    const handle = this.startSession(roleArn, service.replace(/[^\w+=,.@-]/g, '-'));
    const resolved = this.resolveAccessKey(handle.credentials.accessKeyId);
    if (resolved === undefined) throw new Error(`bug: no session for ${roleArn}`);
    return resolved.principal;
  }

  role(account: string, name: string): RoleRecord | undefined {
    return this.#state.roles.find((r) => r.account === account && r.name === name);
  }

  user(account: string, name: string): UserRecord | undefined {
    return this.#state.users.find((u) => u.account === account && u.name === name);
  }

  /** A user or role by ARN (for SimulatePrincipalPolicy and the admin API). */
  entityByArn(arn: string): { readonly kind: 'user'; readonly user: UserRecord } | { readonly kind: 'role'; readonly role: RoleRecord } | undefined {
    const user = this.#state.users.find((u) => u.arn === arn);
    if (user) return { kind: 'user', user };
    const role = this.#state.roles.find((r) => r.arn === arn);
    if (role) return { kind: 'role', role };
    return undefined;
  }

  setPolicies(arn: string, policies: readonly PolicyDocument[]): void {
    const entity = this.entityByArn(arn);
    if (entity === undefined) throw new Error(`no user or role ${arn}`);
    if (entity.kind === 'user') entity.user.policies = [...policies];
    else entity.role.policies = [...policies];
  }

  setBoundary(arn: string, boundary: PolicyDocument | undefined): void {
    const entity = this.entityByArn(arn);
    if (entity === undefined) throw new Error(`no user or role ${arn}`);
    if (entity.kind === 'user') entity.user.boundary = boundary;
    else entity.role.boundary = boundary;
  }

  setTrust(roleArn: string, trust: PolicyDocument): void {
    const entity = this.entityByArn(roleArn);
    if (entity?.kind !== 'role') throw new Error(`no role ${roleArn}`);
    entity.role.trust = trust;
  }

  setOrg(account: string, orgId: string | undefined): void {
    this.#account(account).orgId = orgId;
  }

  orgOf(account: string): string | undefined {
    return this.#state.accounts.find((a) => a.id === account)?.orgId;
  }

  resolveAccessKey(accessKeyId: string): ResolvedKey | undefined {
    const key = this.#state.keys.find((k) => k.accessKeyId === accessKeyId);
    if (key === undefined) return undefined;
    const base = { secretAccessKey: key.secretAccessKey, sessionToken: key.sessionToken, expiresAt: key.expiresAt === undefined ? undefined : new Date(key.expiresAt) };
    if (key.kind === 'root') {
      const account = key.owner.split(':')[4] ?? '';
      return { ...base, principal: { arn: key.owner, account, userId: account, type: 'root', accessKeyId } };
    }
    if (key.kind === 'user') {
      const user = this.#state.users.find((u) => u.arn === key.owner);
      if (user === undefined) return undefined;
      return { ...base, principal: { arn: user.arn, account: user.account, userId: user.userId, type: 'user', accessKeyId } };
    }
    const session = key.session;
    if (session === undefined) return undefined;
    return {
      ...base,
      principal: { arn: session.arn, account: session.account, userId: session.userId, type: 'role-session', roleArn: session.roleArn, accessKeyId },
    };
  }

  /** The identity-side policies for one caller. */
  policiesFor(principal: Principal): PrincipalPolicies {
    if (principal.type === 'root') return { identityPolicies: [ADMIN_POLICY] };
    if (principal.type === 'user') {
      const user = this.#state.users.find((u) => u.arn === principal.arn);
      if (user === undefined) return { identityPolicies: [] };
      return { identityPolicies: this.#identityPolicies(user), ...(user.boundary ? { permissionsBoundary: user.boundary } : {}) };
    }
    const role = this.#state.roles.find((r) => r.arn === principal.roleArn);
    if (role === undefined) return { identityPolicies: [] };
    const key = this.#state.keys.find((k) => k.accessKeyId === principal.accessKeyId);
    const sessionPolicies = key?.session?.sessionPolicies;
    return {
      identityPolicies: this.#identityPolicies(role),
      ...(role.boundary ? { permissionsBoundary: role.boundary } : {}),
      ...(sessionPolicies ? { sessionPolicies } : {}),
    };
  }

  /** The principal as the policy evaluator sees it. */
  requestPrincipal(principal: Principal): RequestPrincipal {
    const orgId = this.orgOf(principal.account);
    const tags =
      principal.type === 'user'
        ? this.#state.users.find((u) => u.arn === principal.arn)?.tags
        : principal.type === 'role-session'
          ? this.#state.roles.find((r) => r.arn === principal.roleArn)?.tags
          : undefined;
    return {
      arn: principal.arn,
      account: principal.account,
      userId: principal.userId,
      ...(principal.roleArn !== undefined ? { roleArn: principal.roleArn } : {}),
      ...(orgId !== undefined ? { orgId } : {}),
      ...(tags !== undefined && Object.keys(tags).length > 0 ? { tags } : {}),
    };
  }

  snapshot(): unknown {
    return structuredClone(this.#state);
  }

  restore(snapshot: unknown): void {
    this.#state = structuredClone(snapshot as IamState);
  }

  /** Makes `credentials` the default principal's keys (after a restore, fixed credentials still win). */
  useDefaultCredentials(credentials: { accessKeyId: string; secretAccessKey: string }): void {
    const current = this.#state.keys.find((k) => k.accessKeyId === this.#state.defaultKey);
    if (current === undefined) throw new Error('default principal missing');
    this.#state.keys = this.#state.keys.filter((k) => k.accessKeyId !== credentials.accessKeyId);
    this.#state.keys.push({ ...credentials, owner: current.owner, kind: current.kind });
    this.#state.defaultKey = credentials.accessKeyId;
  }
}
