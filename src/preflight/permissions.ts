/**
 * The permission checks of the preflight: the IAM policy simulation of what creation needs
 * (ECR actions on the repository, KMS actions in the context ECR's requests carry), combined with
 * the key policy's own verdict.
 */
import type { ContextEntry, EvaluationResult } from '@aws-sdk/client-iam';
import { okAsync, ResultAsync } from 'neverthrow';
import type { ParsedEncryption } from '../encryption/spec.js';
import type { RegistryContext } from '../internal/context.js';
import type { AccessDecision } from '../policy/types.js';
import { simulatePrincipalPolicy } from '../steps/iam.js';
import { iamUnavailableMessage } from './caller.js';
import { ecrCreateGrantContext, ecrForwardedContext, requestedRegion } from './ecr-context.js';
import { errorFinding, note } from './finding.js';
import type { ResolvedKey } from './key.js';
import { evaluateKeyPolicyForCaller, type KeyPolicyEvaluation } from './key-policy.js';
import type { Finding, PreflightCheck, PreflightInput } from './types.js';

/** A question the simulator answers: these actions, on this resource, in this context. */
export interface SimulationBatch {
  readonly actions: readonly string[];
  readonly resource: string;
  readonly contextEntries: readonly ContextEntry[];
}

/** IAM's decision on one action, and the condition keys its policies used that the simulation lacked. */
interface SimulatedDecision {
  readonly decision: AccessDecision;
  /** `MissingContextValues`: with an `implicitDeny`, the answer is "unknown", not "denied". */
  readonly missing: readonly string[];
}

/** The decision for one action on one resource; per-resource results first (IAM's 2026 answer shape). */
const decisionFor = (results: readonly EvaluationResult[], action: string, resource: string): SimulatedDecision => {
  const missing = new Set<string>();
  const decisions = results
    .filter((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase())
    .map((r): string | undefined => {
      const specific = r.ResourceSpecificResults?.find((s) => s.EvalResourceName === resource) ?? r.ResourceSpecificResults?.[0];
      // IAM lists missing keys per resource when resources are given, at the top otherwise: read both.
      for (const key of [...(r.MissingContextValues ?? []), ...(specific?.MissingContextValues ?? [])]) missing.add(key);
      return specific?.EvalResourceDecision ?? r.EvalDecision;
    });
  const keys = [...missing];
  if (decisions.length === 0) return { decision: 'implicitDeny', missing: keys };
  if (decisions.includes('explicitDeny')) return { decision: 'explicitDeny', missing: keys };
  return { decision: decisions.every((d) => d === 'allowed') ? 'allowed' : 'implicitDeny', missing: keys };
};
/** Actions whose absence does not stop creation: only the later, clean deletion needs them. */
const NEEDED_FOR_DELETION = new Set(['kms:RetireGrant']);

type Decision = { readonly action: string } & SimulatedDecision;

/** An action nothing decided: IAM's implicit deny with condition keys it lacked, or beside an unread key policy. */
interface Undecided {
  readonly action: string;
  readonly why: string;
}

/**
 * Who is denied what, and by what: a key policy's explicit deny, or a key policy that neither names
 * the caller nor delegates to IAM, denies whatever IAM says; a key policy that allows the caller
 * directly clears an IAM implicit deny; one that delegates leaves the decision to the simulation.
 * An implicit deny with missing context keys is undecided, not denied (IAM's `MissingContextValues`:
 * a policy conditioned on a key the simulation could not supply), unless the key policy denies.
 */
const combineDecisions = (
  simulated: readonly Decision[] | undefined,
  keyPolicy: KeyPolicyEvaluation,
): { readonly byKeyPolicy: string[]; readonly byIam: string[]; readonly undecided: Undecided[] } => {
  const byKeyPolicy: string[] = [];
  const byIam: string[] = [];
  const undecided: Undecided[] = [];
  const actions = simulated?.map((d) => d.action) ?? [...keyPolicy.verdicts.keys()];
  for (const action of actions) {
    const verdict = keyPolicy.verdicts.get(action)?.verdict;
    const simulation = simulated?.find((d) => d.action === action);
    const decision = simulation?.decision;
    if (verdict === 'explicitDeny' || verdict === 'notAllowed') byKeyPolicy.push(action);
    else if (decision === undefined || decision === 'allowed') continue;
    // KMS: a key policy that allows the principal is enough on its own, unless IAM denies explicitly.
    else if (verdict === 'allowed' && decision === 'implicitDeny') continue;
    else if (decision === 'implicitDeny' && simulation !== undefined && simulation.missing.length > 0) {
      undecided.push({
        action,
        why: `its policies use ${simulation.missing.join(', ')}, which the simulation lacked (MissingContextValues)`,
      });
    } else if (decision === 'implicitDeny' && keyPolicy.unread === true && action.startsWith('kms:') && !NEEDED_FOR_DELETION.has(action)) {
      undecided.push({ action, why: 'no IAM policy allows it, and the key policy, which can allow it on its own, could not be read' });
    } else byIam.push(action);
  }
  return { byKeyPolicy, byIam, undecided };
};

const permissionFindings = (
  principalArn: string,
  denied: readonly string[],
  source: 'iam-simulation' | 'key-policy',
  keyPolicy: KeyPolicyEvaluation,
): Finding[] => {
  const check: PreflightCheck = source === 'key-policy' ? 'keyPolicy' : 'permissions';
  const why = (actions: readonly string[]): string =>
    source === 'key-policy'
      ? ` (key policy: ${actions.map((a) => keyPolicy.verdicts.get(a)?.reason ?? a).join('; ')})`
      : ' (IAM policy simulation)';
  const blocking = denied.filter((a) => !NEEDED_FOR_DELETION.has(a));
  const later = denied.filter((a) => NEEDED_FOR_DELETION.has(a));
  const findings: Finding[] = [];
  if (blocking.length > 0) {
    findings.push(
      errorFinding(check, `${principalArn} is not allowed ${blocking.join(', ')}${why(blocking)}`, {
        kind: 'MissingPermissions',
        principalArn,
        actions: blocking,
        source,
      }),
    );
  }
  if (later.length > 0) {
    findings.push({
      check,
      severity: 'warning',
      message:
        `${principalArn} is not allowed ${later.join(', ')}${source === 'key-policy' ? why(later) : ' in its IAM policies'}: creation works, but deleting the repository ` +
        'will leave its two KMS grants on the key (ECR retires them with the deleter\'s credentials)',
      error: { kind: 'MissingPermissions', principalArn, actions: later, source },
    });
  }
  return findings;
};

export const simulate = (
  ctx: RegistryContext,
  caller: { readonly principalArn: string; readonly callerArn: string; readonly account: string },
  batches: readonly SimulationBatch[],
  keyArn: string | undefined,
): ResultAsync<Finding[], never> => {
  const { principalArn, callerArn, account } = caller;
  const simulation = ResultAsync.combine(
    batches.map((batch) =>
      simulatePrincipalPolicy(ctx, {
        policySourceArn: principalArn,
        actionNames: batch.actions,
        resourceArns: [batch.resource],
        contextEntries: batch.contextEntries,
      }).map((results) => batch.actions.map((action): Decision => ({ action, ...decisionFor(results, action, batch.resource) }))),
    ),
  )
    .map((perBatch) => ({ decisions: perBatch.flat() }))
    .orElse((error) => okAsync({ error }));
  const kmsBatches = batches.filter((b) => b.resource === keyArn);
  const keyPolicy: ResultAsync<KeyPolicyEvaluation, never> =
    keyArn !== undefined && kmsBatches.length > 0
      ? evaluateKeyPolicyForCaller(ctx, {
          principalArn,
          callerArn,
          account,
          keyArn,
          requests: kmsBatches.map((b) => ({ actions: b.actions, context: b.contextEntries })),
        })
      : okAsync({ verdicts: new Map(), findings: [] });

  return ResultAsync.combine([simulation, keyPolicy] as const).map(([simulated, key]): Finding[] => {
    const findings: Finding[] = [];
    if ('error' in simulated) {
      const { error } = simulated;
      // Not being able to simulate (denied, unknown principal, bad input) is no reason to refuse creation.
      if ('reason' in error || error.kind === 'AccessDenied') {
        findings.push(note('permissions', 'warning', `the IAM policy simulation could not run (${iamUnavailableMessage(error)}): permissions were not checked`));
      } else {
        findings.push(errorFinding('permissions', `the IAM policy simulation failed: ${error.kind}`, error));
      }
    }
    const decisions = 'decisions' in simulated ? simulated.decisions : undefined;
    const { byKeyPolicy, byIam, undecided } = combineDecisions(decisions, key);
    findings.push(...permissionFindings(principalArn, byIam, 'iam-simulation', key));
    for (const { action, why } of undecided) {
      findings.push(
        note('permissions', 'warning', `${action} for ${principalArn} could not be decided: ${why}; not blocking: ECR's own request decides`),
      );
    }
    if (decisions !== undefined && byIam.length === 0 && byKeyPolicy.length === 0 && undecided.length === 0) {
      // Actions IAM would not allow but the key policy grants directly: say where the permission comes from.
      const viaKeyPolicy = decisions.filter((d) => d.decision !== 'allowed').map((d) => d.action);
      findings.push(
        note(
          'permissions',
          'info',
          `${principalArn} is allowed ${decisions.map((d) => d.action).join(', ')}` +
            (viaKeyPolicy.length > 0 ? ` (${viaKeyPolicy.join(', ')} by the key policy, not by IAM policies)` : ''),
        ),
      );
    }
    findings.push(...key.findings, ...permissionFindings(principalArn, byKeyPolicy, 'key-policy', key));
    return findings;
  });
};

/**
 * What to ask IAM: ECR actions on the repository; `kms:CreateGrant` on the key in the context of
 * ECR's CreateGrant; `kms:DescribeKey` and `kms:RetireGrant` in ECR's forwarded context.
 */
export const simulationBatches = (
  input: PreflightInput,
  region: string,
  account: string,
  repositoryArn: string,
  encryption: ParsedEncryption | undefined,
  key: ResolvedKey | undefined,
): SimulationBatch[] => {
  const ecrActions = ['ecr:CreateRepository'];
  if (input.tags !== undefined && input.tags.length > 0) ecrActions.push('ecr:TagResource');
  if (input.repositoryPolicy !== undefined) ecrActions.push('ecr:SetRepositoryPolicy');
  if (input.lifecyclePolicy !== undefined) ecrActions.push('ecr:PutLifecyclePolicy');
  const batches: SimulationBatch[] = [{ actions: ecrActions, resource: repositoryArn, contextEntries: [requestedRegion(region)] }];
  if (encryption !== undefined && encryption.type !== 'AES256' && key !== undefined) {
    // The AWS-managed key's policy allows CreateGrant and DescribeKey through ECR to the whole
    // account; only RetireGrant must come from IAM (AWS says so for aws/ecr too).
    if (key.manager !== 'AWS') {
      batches.push({ actions: ['kms:CreateGrant'], resource: key.arn, contextEntries: ecrCreateGrantContext(region, account, repositoryArn) });
    }
    batches.push({
      actions: key.manager === 'AWS' ? ['kms:RetireGrant'] : ['kms:DescribeKey', 'kms:RetireGrant'],
      resource: key.arn,
      contextEntries: ecrForwardedContext(region, account),
    });
  }
  return batches;
};
