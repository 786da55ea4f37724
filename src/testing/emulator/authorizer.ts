/**
 * The emulator's {@link Authorizer}: every ECR, KMS, IAM and STS action is decided by the project's
 * one policy evaluator, from the caller's identity policies, permissions boundary and session
 * policies (the IAM store) plus the key or resource policy the service passes.
 */
import { ApiError, type AuthorizeOptions, type Authorizer, type CallContext, type Principal } from './core.js';
import type { IamStore } from './iam.js';
import type { AccessExplanation, AccessRequest, ContextValue, PolicyDocument, PolicySet } from '../../policy/types.js';
// TEMPORARY: becomes `import { explainAccess } from '../../policy/index.js';` once the policy toolkit lands.
import { explainAccess } from '../../policy/index.js';

/** The evaluator's signature (`explainAccess` from the policy toolkit). */
export type Evaluate = (request: AccessRequest, policies: PolicySet) => AccessExplanation;

/** The access-denied error a service answers: JSON services use `AccessDeniedException`, Query services `AccessDenied`. */
const deniedCode = (action: string): { code: string; status: number } => {
  const service = action.split(':')[0]?.toLowerCase();
  return service === 'iam' || service === 'sts' ? { code: 'AccessDenied', status: 403 } : { code: 'AccessDeniedException', status: 400 };
};

/** Authorizes calls against the IAM store with `explainAccess`. */
export class PolicyAuthorizer implements Authorizer {
  readonly #iam: IamStore;
  readonly #evaluate: Evaluate;

  constructor(iam: IamStore, evaluate: Evaluate = explainAccess) {
    this.#iam = iam;
    this.#evaluate = evaluate;
  }

  /** The evaluator's full answer, for SimulatePrincipalPolicy-style reporting. */
  explain(ctx: CallContext, action: string, resource: string, options: AuthorizeOptions = {}): AccessExplanation {
    const { principal } = ctx;
    const context: Record<string, ContextValue> = { 'aws:RequestedRegion': ctx.region };
    if (action.toLowerCase().startsWith('kms:')) context['kms:CallerAccount'] = principal.account;
    if (ctx.viaService !== undefined) {
      context['kms:ViaService'] = ctx.viaService;
      context['aws:ViaAWSService'] = true;
      context['aws:CalledVia'] = [ctx.viaService.split('.')[0] + '.amazonaws.com'];
    }
    Object.assign(context, options.context ?? {});
    const request: AccessRequest = {
      principal: this.#iam.requestPrincipal(principal),
      action,
      resource,
      ...(options.resourceAccount !== undefined ? { resourceAccount: options.resourceAccount } : {}),
      context,
    };
    const own = this.#iam.policiesFor(principal);
    const policies: PolicySet = {
      identityPolicies: own.identityPolicies,
      ...(own.permissionsBoundary ? { permissionsBoundary: own.permissionsBoundary } : {}),
      ...(own.sessionPolicies ? { sessionPolicies: own.sessionPolicies } : {}),
      ...(options.keyPolicy ? { keyPolicy: options.keyPolicy } : {}),
      ...(options.trustPolicy ? { trustPolicy: options.trustPolicy } : {}),
      ...(options.resourcePolicy ? { repositoryPolicy: options.resourcePolicy } : {}),
    };
    return this.#evaluate(request, policies);
  }

  /**
   * What SimulatePrincipalPolicy answers: the entity's own policies (plus `extraIdentityPolicies`,
   * with `boundary` replacing its boundary when given) and only the context entries given.
   */
  simulate(
    principal: Principal,
    action: string,
    resource: string,
    options: {
      readonly context?: Readonly<Record<string, ContextValue>>;
      readonly extraIdentityPolicies?: readonly PolicyDocument[];
      readonly boundary?: PolicyDocument;
      readonly resourcePolicy?: PolicyDocument;
    } = {},
  ): { readonly explanation: AccessExplanation; readonly boundaryAllows: boolean | undefined } {
    const own = this.#iam.policiesFor(principal);
    const identityPolicies = [...own.identityPolicies, ...(options.extraIdentityPolicies ?? [])];
    const boundary = options.boundary ?? own.permissionsBoundary;
    const request: AccessRequest = {
      principal: this.#iam.requestPrincipal(principal),
      action,
      resource,
      ...(options.context ? { context: options.context } : {}),
    };
    const explanation = this.#evaluate(request, {
      identityPolicies,
      ...(boundary ? { permissionsBoundary: boundary } : {}),
      ...(options.resourcePolicy ? { repositoryPolicy: options.resourcePolicy } : {}),
    });
    const boundaryAllows = boundary === undefined ? undefined : this.#evaluate(request, { identityPolicies: [boundary] }).decision === 'allowed';
    return { explanation, boundaryAllows };
  }

  authorize(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): void {
    const explanation = this.explain(ctx, action, resource, options);
    if (explanation.decision === 'allowed') return;
    const { code, status } = deniedCode(action);
    const because = explanation.decision === 'explicitDeny' ? `with an explicit deny (${explanation.reason})` : `because ${explanation.reason}`;
    throw new ApiError(code, `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource} ${because}`, { status });
  }

  isAllowed(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): boolean {
    return this.explain(ctx, action, resource, options).decision === 'allowed';
  }
}
