/**
 * The emulator's {@link Authorizer}: every ECR, KMS, IAM and STS action is decided by the project's
 * one policy evaluator, from the caller's identity policies, permissions boundary and session
 * policies (the IAM store) plus the key or resource policy the service passes, and the VPC
 * endpoint policy when the call came through an endpoint.
 */
import { ApiError, type AuthorizeOptions, type Authorizer, type CallContext, type Principal } from './core.js';
import type { IamStore } from './iam.js';
import type { AccessExplanation, AccessRequest, ContextValue, PolicyDocument, PolicySet } from '../../policy/types.js';
import { explainAccess } from '../../policy/index.js';

/** The evaluator's signature (`explainAccess` from the policy toolkit). */
export type Evaluate = (request: AccessRequest, policies: PolicySet) => AccessExplanation;

/** The access-denied error a service answers: JSON services use `AccessDeniedException`, Query services `AccessDenied`. */
const deniedCode = (action: string): { code: string; status: number } => {
  const service = action.split(':')[0]?.toLowerCase();
  return service === 'iam' || service === 'sts' ? { code: 'AccessDenied', status: 403 } : { code: 'AccessDeniedException', status: 400 };
};

/** A VPC endpoint as the authorizer sees it: its policy (none: full access) and its VPC. */
export interface EndpointView {
  readonly policy: PolicyDocument | undefined;
  readonly vpcId: string | undefined;
}

/** Finds a VPC endpoint by id (`CallContext.sourceVpce`). */
export type EndpointLookup = (id: string) => EndpointView | undefined;

/** Authorizes calls against the IAM store with `explainAccess`. */
export class PolicyAuthorizer implements Authorizer {
  readonly #iam: IamStore;
  readonly #evaluate: Evaluate;
  readonly #endpoints: EndpointLookup;

  constructor(iam: IamStore, evaluate: Evaluate = explainAccess, endpoints: EndpointLookup = () => undefined) {
    this.#iam = iam;
    this.#evaluate = evaluate;
    this.#endpoints = endpoints;
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
    // A call that came through a VPC endpoint: `aws:SourceVpce`, and the endpoint's policy must allow
    // it too. Calls a service makes on the caller's behalf (ECR calling KMS) leave from the
    // service, not from the VPC: neither the endpoint policy nor `aws:SourceVpce` applies to them.
    const endpoint = ctx.sourceVpce !== undefined && ctx.viaService === undefined ? this.#endpoints(ctx.sourceVpce) : undefined;
    if (ctx.sourceVpce !== undefined && ctx.viaService === undefined) {
      context['aws:SourceVpce'] = ctx.sourceVpce;
      if (endpoint?.vpcId !== undefined) context['aws:SourceVpc'] = endpoint.vpcId;
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
      ...(endpoint?.policy ? { endpointPolicy: endpoint.policy } : {}),
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
