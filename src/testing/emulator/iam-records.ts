/** The records the emulator's IAM store keeps (its persisted state). */
import type { PolicyDocument } from '../../policy/types.js';

/** What IAM's API adds to the test-side policies: named inline policies and attached managed ones. */
interface ApiPolicies {
  /** Inline policies by name (PutUserPolicy / PutRolePolicy). */
  inline?: Record<string, PolicyDocument>;
  /** ARNs of attached managed policies (AttachUserPolicy / AttachRolePolicy). */
  attached?: string[];
}

/** A customer managed policy (CreatePolicy). */
export interface ManagedPolicyRecord {
  readonly arn: string;
  readonly name: string;
  readonly path: string;
  readonly policyId: string;
  readonly account: string;
  readonly document: PolicyDocument;
  readonly createdAt: string;
}

export interface UserRecord extends ApiPolicies {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  readonly userId: string;
  readonly account: string;
  policies: PolicyDocument[];
  boundary?: PolicyDocument | undefined;
  tags: Record<string, string>;
  readonly createdAt: string;
}

export interface RoleRecord extends ApiPolicies {
  readonly name: string;
  readonly path: string;
  readonly arn: string;
  readonly roleId: string;
  readonly account: string;
  policies: PolicyDocument[];
  boundary?: PolicyDocument | undefined;
  trust: PolicyDocument;
  tags: Record<string, string>;
  readonly description?: string | undefined;
  readonly maxSessionDuration: number;
  readonly createdAt: string;
}

export interface SessionRecord {
  readonly roleArn: string;
  readonly sessionName: string;
  readonly arn: string;
  readonly userId: string;
  readonly account: string;
  readonly sessionPolicies?: PolicyDocument[] | undefined;
}

export interface KeyRecord {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** The ARN of the root/user owning the key, or the session ARN. */
  readonly owner: string;
  readonly kind: 'root' | 'user' | 'session';
  readonly sessionToken?: string | undefined;
  readonly expiresAt?: string | undefined;
  /** For sessions: index into `sessions`. */
  readonly session?: SessionRecord | undefined;
}

export interface AccountRecord {
  readonly id: string;
  orgId?: string | undefined;
}

export interface IamState {
  accounts: AccountRecord[];
  users: UserRecord[];
  roles: RoleRecord[];
  keys: KeyRecord[];
  defaultKey: string;
  /** Absent in state saved before IAM's write API existed. */
  managed?: ManagedPolicyRecord[];
}
