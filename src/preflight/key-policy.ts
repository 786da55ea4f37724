/**
 * The key policy's say: the IAM simulator does not read KMS key policies, so the preflight reads
 * the key policy itself and evaluates it alone, in the context of ECR's forwarded requests.
 */
import type { ContextEntry } from '@aws-sdk/client-iam';
import { okAsync, type ResultAsync } from 'neverthrow';
import type { RegistryContext } from '../internal/context.js';
import { explainAccess } from '../policy/index.js';
import type { AccessRequest, ContextValue, PolicyDocument, RequestPrincipal } from '../policy/types.js';
import { getKeyPolicy } from '../steps/kms-keys.js';
import { note } from './finding.js';
import type { Finding } from './types.js';

/**
 * What a key policy alone says about one action for the caller (its identity policies unknown):
 * - `allowed`: it names the caller, or the role behind its session: enough on its own;
 * - `delegated`: it allows the account (`arn:aws:iam::<account>:root`): IAM policies decide;
 * - `notAllowed`: neither: no IAM policy can make up for it;
 * - `explicitDeny`: a `Deny` statement applies: nothing can make up for it.
 */
type KeyPolicyVerdict = 'allowed' | 'delegated' | 'notAllowed' | 'explicitDeny';

/** The key policy's verdict per action, and what is worth reporting about the evaluation. */
export interface KeyPolicyEvaluation {
  /** Empty when the key policy could not be evaluated (no opinion: the IAM simulation stands). */
  readonly verdicts: ReadonlyMap<string, { readonly verdict: KeyPolicyVerdict; readonly reason: string }>;
  readonly findings: readonly Finding[];
  /**
   * The key is the caller's account's, but its policy could not be read: it may allow the caller
   * directly, and KMS then needs no IAM policy, so IAM's implicit deny decides nothing.
   */
  readonly unread?: boolean;
}

/** Who asks, and what, of the key policy. */
export interface KeyPolicyQuestion {
  /** The user or role ARN (a session's role, with its path). */
  readonly principalArn: string;
  /** `GetCallerIdentity`'s ARN: the assumed-role session ARN for roles. */
  readonly callerArn: string;
  readonly account: string;
  readonly keyArn: string;
  /**
   * The actions, each with the context ECR's request carries: `kms:ViaService`, `kms:CallerAccount`,
   * and for `kms:CreateGrant` the grant's own keys (`kms:GranteePrincipal`, `kms:GrantOperations`, …).
   */
  readonly requests: readonly { readonly actions: readonly string[]; readonly context: readonly ContextEntry[] }[];
}

/** An identity policy that allows everything: it tells "the key policy delegates to IAM" from "it does not allow". */
const ANY_IDENTITY_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

/** IAM simulator context entries as the policy evaluator's request context. */
const contextOfEntries = (entries: readonly ContextEntry[]): Record<string, ContextValue> => {
  const context: Record<string, ContextValue> = {};
  for (const entry of entries) {
    const name = entry.ContextKeyName;
    const values = entry.ContextKeyValues ?? [];
    if (name === undefined) continue;
    const type = entry.ContextKeyType ?? 'string';
    if (type.endsWith('List')) context[name] = values;
    else if (type === 'boolean') context[name] = values[0] === 'true';
    else if (type === 'numeric') context[name] = Number(values[0]);
    else if (values[0] !== undefined) context[name] = values[0];
  }
  return context;
};

/** A key policy text as a document; undefined when it is not JSON with a `Statement`. */
export const parseKeyPolicy = (text: string): PolicyDocument | undefined => {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && 'Statement' in parsed ? (parsed as PolicyDocument) : undefined;
  } catch {
    return undefined;
  }
};

/** The verdict of a key policy on one action (see {@link KeyPolicyVerdict}). */
const keyPolicyVerdict = (
  keyPolicy: PolicyDocument,
  request: AccessRequest,
): { readonly verdict: KeyPolicyVerdict; readonly reason: string } => {
  const alone = explainAccess(request, { keyPolicy });
  if (alone.decision === 'explicitDeny') return { verdict: 'explicitDeny', reason: alone.reason };
  if (alone.decision === 'allowed') return { verdict: 'allowed', reason: alone.reason };
  const withIam = explainAccess(request, { keyPolicy, identityPolicies: [ANY_IDENTITY_POLICY] });
  return withIam.decision === 'allowed'
    ? { verdict: 'delegated', reason: `the key policy lets IAM policies decide ${request.action}` }
    : { verdict: 'notAllowed', reason: alone.reason };
};

const noOpinion = (finding: Finding, unread = true): KeyPolicyEvaluation => ({ verdicts: new Map(), findings: [finding], unread });

/**
 * The key policy's say on the caller using the key through ECR. The IAM simulator does not read
 * KMS key policies for roles (and cannot know the key policy's conditions on `kms:ViaService`),
 * so a key policy that grants `kms:CreateGrant` to the caller directly looks like a denial there,
 * and a key policy that denies looks allowed. Reads the policy with GetKeyPolicy (keys of the
 * caller's account only: KMS does not answer GetKeyPolicy across accounts) and evaluates it alone
 * with `explainAccess`, in ECR's forwarded context. Never fails: when the policy cannot be read,
 * a finding says so and the simulation's answer stands.
 */
export const evaluateKeyPolicyForCaller = (ctx: RegistryContext, question: KeyPolicyQuestion): ResultAsync<KeyPolicyEvaluation, never> => {
  const { keyArn, account } = question;
  const keyAccount = keyArn.split(':')[4];
  if (keyAccount !== undefined && keyAccount !== account) {
    return okAsync(
      // Across accounts both the key policy and IAM policies must allow: IAM's answer stands.
      noOpinion(note('keyPolicy', 'info', `the key belongs to account ${keyAccount}: GetKeyPolicy works within the key's account only, so its key policy was not evaluated`), false),
    );
  }
  return getKeyPolicy(ctx, keyArn)
    .map((text): KeyPolicyEvaluation => {
      const policy = text === undefined ? undefined : parseKeyPolicy(text);
      if (policy === undefined) {
        return noOpinion(note('keyPolicy', 'warning', `GetKeyPolicy returned no readable policy for ${keyArn}: the key policy was not evaluated`));
      }
      const isSession = question.callerArn !== question.principalArn && /:assumed-role\//.test(question.callerArn);
      const principal: RequestPrincipal = isSession
        ? { arn: question.callerArn, account, roleArn: question.principalArn }
        : { arn: question.principalArn, account };
      const verdicts = new Map<string, { readonly verdict: KeyPolicyVerdict; readonly reason: string }>();
      try {
        for (const request of question.requests) {
          const context = contextOfEntries(request.context);
          for (const action of request.actions) verdicts.set(action, keyPolicyVerdict(policy, { principal, action, resource: keyArn, context }));
        }
      } catch (cause) {
        return noOpinion(
          note('keyPolicy', 'warning', `the key policy of ${keyArn} could not be evaluated (${cause instanceof Error ? cause.message : String(cause)})`),
        );
      }
      const by = (verdict: KeyPolicyVerdict): string[] => [...verdicts].filter(([, v]) => v.verdict === verdict).map(([a]) => a);
      const parts = [
        by('allowed').length > 0 ? `allows ${by('allowed').join(', ')} to the caller directly` : '',
        by('delegated').length > 0 ? `lets IAM policies decide ${by('delegated').join(', ')}` : '',
      ].filter((p) => p !== '');
      const findings = parts.length > 0 ? [note('keyPolicy', 'info', `through ECR, the key policy ${parts.join(' and ')}`)] : [];
      if (/"kms:GrantOperations"/i.test(text ?? '') && verdicts.get('kms:CreateGrant')?.verdict !== 'explicitDeny') {
        findings.push(
          note(
            'keyPolicy',
            'warning',
            'the key policy conditions on kms:GrantOperations: checked with the operations of the grant AWS documents (GenerateDataKey, Decrypt); ' +
              "ECR's second grant is undocumented, so whether the policy lets it through cannot be known before creating",
          ),
        );
      }
      return { verdicts, findings };
    })
    .orElse((error) =>
      okAsync<KeyPolicyEvaluation, never>(
        noOpinion(
          note(
            'keyPolicy',
            'warning',
            error.kind === 'AccessDenied'
              ? `cannot read the key policy (kms:GetKeyPolicy denied): only the IAM simulation was consulted, and it does not see the key policy`
              : `cannot read the key policy (${error.kind}): only the IAM simulation was consulted, and it does not see the key policy`,
          ),
        ),
      ),
    );
};
