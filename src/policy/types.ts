/**
 * IAM policy documents and the questions asked of them. One evaluator in the project answers
 * them: `explainAccess` (policy toolkit), which the local emulator also authorizes with.
 */

import type { InvalidInput } from '../errors.js';

/** A value of a condition key in the request context. */
export type ContextValue = string | number | boolean | readonly string[];

/** One statement of an IAM policy, as AWS's JSON grammar allows it. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly NotPrincipal?: '*' | Readonly<Record<string, string | readonly string[]>>;
  readonly Action?: string | readonly string[];
  readonly NotAction?: string | readonly string[];
  readonly Resource?: string | readonly string[];
  readonly NotResource?: string | readonly string[];
  /** `{ Operator: { key: value | values } }`, e.g. `{ StringEquals: { 'kms:ViaService': 'ecr.eu-west-1.amazonaws.com' } }`. */
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | number | boolean | readonly (string | number | boolean)[]>>>>;
}

/** An IAM policy document (identity, resource, key or VPC endpoint policy). */
export interface PolicyDocument {
  readonly Version?: '2012-10-17' | '2008-10-17';
  readonly Id?: string;
  readonly Statement: PolicyStatement | readonly PolicyStatement[];
}

/** Who is asking. */
export interface RequestPrincipal {
  /** `arn:aws:iam::111122223333:user/dev`, an assumed-role ARN, `arn:aws:iam::111122223333:root`, or a service principal name. */
  readonly arn: string;
  readonly account: string;
  /** For an assumed-role session: the role's ARN (with its path). Statements naming the role match the session. */
  readonly roleArn?: string;
  /** `aws:PrincipalOrgID`, when the principal's account is in an organization. */
  readonly orgId?: string;
  /** `aws:userid`. */
  readonly userId?: string;
  /** `aws:PrincipalTag/...` values. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** One request to authorize: who, what, on which resource, with which context keys. */
export interface AccessRequest {
  readonly principal: RequestPrincipal;
  /** `service:Action`, e.g. `kms:CreateGrant`. */
  readonly action: string;
  /** The resource ARN (`*` for actions without a resource). */
  readonly resource: string;
  /** The resource's account, when it differs from the principal's (cross-account access). */
  readonly resourceAccount?: string;
  /** Request context keys, e.g. `kms:ViaService`, `kms:CallerAccount`, `aws:SourceVpce`. Global keys for the principal are added. */
  readonly context?: Readonly<Record<string, ContextValue>>;
}

/** The policies that apply to one request. Those absent do not take part. */
export interface PolicySet {
  /** The principal's identity-based policies (user, group and role policies). */
  readonly identityPolicies?: readonly PolicyDocument[];
  /** A permissions boundary: when present, it must allow too. */
  readonly permissionsBoundary?: PolicyDocument;
  /** Session policies of an assumed-role session: when present, they must allow too. */
  readonly sessionPolicies?: readonly PolicyDocument[];
  /**
   * A KMS key policy. For KMS it is the primary authority: identity policies count only where the
   * key policy allows the account (the `arn:aws:iam::<account>:root` principal).
   */
  readonly keyPolicy?: PolicyDocument;
  /**
   * An IAM role's trust policy, for `sts:AssumeRole*` actions. Like a key policy it is the primary
   * authority: naming the caller allows on its own, naming the account delegates to IAM.
   */
  readonly trustPolicy?: PolicyDocument;
  /** An ECR repository policy (a resource-based policy). */
  readonly repositoryPolicy?: PolicyDocument;
  /** A VPC endpoint policy: when present, the request must be allowed by it too. */
  readonly endpointPolicy?: PolicyDocument;
}

/**
 * The outcome of an evaluation, as AWS's policy simulator names it, plus `invalidPolicy`: a given
 * policy is one AWS refuses to store (e.g. a statement with both `Resource` and `NotResource`), so
 * no request is ever evaluated against it.
 */
export type AccessDecision = 'allowed' | 'explicitDeny' | 'implicitDeny' | 'invalidPolicy';

/**
 * The places where AWS's documentation does not say what happens, and the evaluator had to choose.
 * Each is an entry of `docs/aws-behaviour.md` (section "Policy evaluation").
 */
export type PolicyAssumptionId =
  /**
   * `Principal: "*"` narrowed by a condition other than `aws:PrincipalArn` (e.g. `kms:CallerAccount`,
   * the shape of AWS managed key policies) granted to a role session that has a permissions boundary
   * or session policy: we let them limit it, as for a grant to the role (AWS documents only the
   * `aws:PrincipalArn` case, which they do not limit).
   */
  | 'wildcard-principal-limited'
  /** A condition without `ForAnyValue:`/`ForAllValues:` on a multivalued key: a positive operator needs one value to match, a negated one all. */
  | 'multivalued-key-without-set-operator'
  /** Resource ARNs compared case-sensitively, the region segment included; this resource matched only ignoring case. */
  | 'arn-case-sensitive';

/** One choice the evaluator made where AWS's documentation is silent. */
export interface PolicyAssumption {
  readonly id: PolicyAssumptionId;
  /** What was assumed for this request, naming the statement or key. */
  readonly detail: string;
}

/** Where a statement that decided comes from. */
export type PolicySource = 'identity' | 'permissionsBoundary' | 'session' | 'key' | 'trust' | 'repository' | 'endpoint';

/** A statement that took part in the decision. */
export interface MatchedStatement {
  readonly source: PolicySource;
  /** Index in `identityPolicies` or `sessionPolicies`; 0 for single policies. */
  readonly policyIndex: number;
  readonly statementIndex: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
}

/** Why a request is allowed or denied. */
export interface AccessExplanation {
  readonly decision: AccessDecision;
  /** The statements that decided: the denying ones for `explicitDeny`, the allowing ones for `allowed`. */
  readonly statements: readonly MatchedStatement[];
  /** A sentence for humans, e.g. `no statement of the key policy allows kms:CreateGrant`. */
  readonly reason: string;
  /**
   * The undocumented choices this decision rests on (empty when it rests only on documented rules):
   * where one is listed, AWS may decide otherwise.
   */
  readonly assumptions: readonly PolicyAssumption[];
  /**
   * Set when the request or a policy is not what the types describe (a `null`, a statement whose
   * `Action` is a number): nothing was evaluated, and the decision is `implicitDeny` (fail closed).
   */
  readonly invalidInput?: InvalidInput;
}

// The generators' inputs and output (src/policy/generate.ts).

/** A generated policy: always version `2012-10-17`, `Statement` always an array (easy to merge). */
export interface GeneratedPolicy extends PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly PolicyStatement[];
}

/** What a principal will do with encrypted repositories. */
export type RepositoryOperation = 'create' | 'delete' | 'migrate';

/** Which repositories a policy covers: these names, or every name starting with `prefix`. */
export type RepositoryScope = { readonly names: readonly string[] } | { readonly prefix: string };

/** Input of {@link generateRepositoryAdminPolicy}. */
export interface RepositoryAdminPolicyInput {
  /** The repositories' region, e.g. `eu-west-1`. The partition follows from it (`cn-…` → `aws-cn`). */
  readonly region: string;
  /** The registry's 12-digit account id. */
  readonly account: string;
  /**
   * The repositories. `migrate` recreates through a temporary repository: give a prefix that
   * covers it, or include its name.
   */
  readonly repositories: RepositoryScope;
  /** Key ARNs the repositories are (or will be) encrypted with, in `region`. Aliases do not authorize key use. */
  readonly keyArns: readonly string[];
  readonly operations: readonly RepositoryOperation[];
  /** Add what the library's preflight calls: `iam:GetRole`, `iam:SimulatePrincipalPolicy`, `kms:GetKeyPolicy`, `kms:ListAliases`. Default `true`. */
  readonly preflight?: boolean;
  /** Let `create` delete the repository it made when a later step fails (`ecr:DeleteRepository`). Default `true`. */
  readonly rollback?: boolean;
}

/** Input of {@link generateEcrKeyPolicy}. */
export interface EcrKeyPolicyInput {
  /** The key's (and the repositories') region. */
  readonly region: string;
  /** The key's account, which is also the only caller account allowed (`kms:CallerAccount`). */
  readonly account: string;
  /**
   * IAM users or roles (ARNs) that may use the key through ECR. Absent: every principal of the
   * account that is authorized to use ECR, as the AWS managed `aws/ecr` key allows.
   */
  readonly principals?: readonly string[];
  /** Add the usual `Enable IAM User Permissions` statement (account root, `kms:*`), which delegates to IAM policies. Default `false`. */
  readonly enableIamPolicies?: boolean;
  /**
   * Let the principals read the key's metadata, policy and grants directly (not through ECR), as
   * the library's preflight and grant verification do. Without `principals`, the statement names
   * the account, so IAM policies must grant it too. Default `true`.
   */
  readonly allowVerification?: boolean;
}

/** Input of {@link generateEndpointPolicy} for the ECR endpoints (`ecr.api`, `ecr.dkr`). */
export interface EcrEndpointPolicyInput {
  readonly service: 'ecr.api' | 'ecr.dkr';
  readonly region: string;
  /** Only these accounts' registries are reachable through the endpoint. When absent, every registry is reachable. */
  readonly registryAccounts?: readonly string[];
  /** Only principals of this organization (`aws:PrincipalOrgID`) may use the endpoint. */
  readonly organizationId?: string;
  /** Repository ARNs that nobody may delete (`ecr:DeleteRepository`) through the endpoint. */
  readonly protectedRepositoryArns?: readonly string[];
}

/** Input of {@link generateEndpointPolicy} for the S3 gateway endpoint ECR layers download through. */
export interface S3EndpointPolicyInput {
  readonly service: 's3';
  readonly region: string;
}

/** Input of {@link generateEndpointPolicy}. */
export type EndpointPolicyInput = EcrEndpointPolicyInput | S3EndpointPolicyInput;
