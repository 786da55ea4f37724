/**
 * What AWS refuses to store as a policy, checked before evaluating one: a policy AWS would refuse
 * can never decide a request, so the evaluator says so instead of guessing.
 *
 * Source: the IAM JSON policy grammar (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html):
 * `<effect_block> = "Effect" : ("Allow" | "Deny")`, `<principal_block> = ("Principal" | "NotPrincipal")`,
 * `<action_block> = ("Action" | "NotAction")`, `<resource_block> = ("Resource" | "NotResource")` —
 * each block is ONE of its two forms, and every statement has an effect and an action block.
 *
 * @internal
 * @packageDocumentation
 */
import type { PolicyDocument } from './types.js';

const PAIRS = [
  ['Action', 'NotAction'],
  ['Resource', 'NotResource'],
  ['Principal', 'NotPrincipal'],
] as const;

/**
 * The reasons AWS would refuse `policy`, one per problem (empty when it is valid as far as the
 * grammar above goes). Statements are numbered from 0, as `MatchedStatement.statementIndex`.
 *
 * @example
 * ```ts
 * policyProblems({ Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*', NotResource: 'x' }] });
 * // ['statement #0 has both Resource and NotResource: the IAM policy grammar allows exactly one of them']
 * ```
 * @internal
 */
export const policyProblems = (policy: PolicyDocument): string[] => {
  const raw: unknown = (policy as { Statement?: unknown }).Statement;
  if (raw === undefined) return ['the policy has no Statement'];
  const statements: unknown[] = Array.isArray(raw) ? raw : [raw];
  const problems: string[] = [];
  statements.forEach((statement, index) => {
    const name = `statement #${index}`;
    if (typeof statement !== 'object' || statement === null || Array.isArray(statement)) {
      problems.push(`${name} is not a JSON object`);
      return;
    }
    const fields = statement as Record<string, unknown>;
    if (fields.Effect !== 'Allow' && fields.Effect !== 'Deny') {
      problems.push(`${name} has Effect ${JSON.stringify(fields.Effect) ?? 'undefined'}: it must be "Allow" or "Deny"`);
    }
    for (const [element, negated] of PAIRS) {
      if (element in fields && negated in fields) {
        problems.push(`${name} has both ${element} and ${negated}: the IAM policy grammar allows exactly one of them`);
      }
    }
    if (!('Action' in fields) && !('NotAction' in fields)) problems.push(`${name} has neither Action nor NotAction: a statement must contain actions`);
  });
  return problems;
};
