/**
 * What `SetRepositoryPolicy` refuses, with the evidence for each rule (docs/aws-behaviour.md):
 *
 * - text over 10,240 characters: the model's `RepositoryPolicyText` max (botocore ecr service-2.json);
 *   checked by the request reader like every model constraint.
 * - not a JSON object with a `Statement`: documented by others as `Invalid repository policy provided`
 *   (terraform-aws-modules/terraform-aws-ecr#19 and the reports below).
 * - a statement with `Resource` or `NotResource`: reported by others with AWS's exact answer
 *   (awsdocs/amazon-ecr-user-guide PR #20, aws/aws-cdk#3590, #24314, PR #24401).
 * - a statement with neither `Principal` nor `NotPrincipal`, or with both: GUESS. IAM requires a
 *   principal in resource-based policies; ECR's answer to its absence is not documented.
 * - `NotPrincipal` with `Allow`: GUESS. IAM: "NotPrincipal must be used with Effect Deny … Allow is
 *   not supported" (IAM User Guide, reference_policies_elements_notprincipal); whether ECR accepts
 *   `NotPrincipal` with `Deny` at all is undocumented: the emulator accepts it.
 * - principals that are IAM unique ids (`AROA…`, `AIDA…`), what IAM shows for a deleted role or
 *   user: refused only when the emulator runs with `repositoryPolicyUniqueIds: 'refuse'`. GUESS on
 *   both sides: ECR checks that principals exist ("Principal not found": hashicorp/terraform-provider-aws#39064,
 *   aws/aws-cdk#16376), but whether a unique id passes that check is not documented.
 */
import { UNIQUE_ID } from '../../../migration/policy-restore.js';
import { ApiError } from '../core.js';

const INVALID_POLICY = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'";
const PRINCIPAL_NOT_FOUND = "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'";


/** How the emulated ECR treats unique-id principals in a repository policy (GUESS either way). */
export type UniqueIdPrincipalsBehaviour = 'accept' | 'refuse';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every AWS principal value named by a `Principal`/`NotPrincipal` element. */
const awsPrincipals = (element: unknown): string[] => {
  if (!isObject(element)) return [];
  const aws = element.AWS;
  const values: unknown[] = Array.isArray(aws) ? aws : [aws];
  return values.filter((v): v is string => typeof v === 'string');
};

/**
 * Throws ECR's `InvalidParameterException` for a repository policy it refuses; returns the parsed
 * document otherwise.
 */
export const validateRepositoryPolicy = (policyText: string, uniqueIds: UniqueIdPrincipalsBehaviour = 'accept'): Record<string, unknown> => {
  let document: unknown;
  try {
    document = JSON.parse(policyText);
  } catch {
    document = undefined;
  }
  if (!isObject(document) || !('Statement' in document)) throw new ApiError('InvalidParameterException', INVALID_POLICY);
  const statements: unknown[] = Array.isArray(document.Statement) ? document.Statement : [document.Statement];
  for (const statement of statements) {
    if (!isObject(statement)) throw new ApiError('InvalidParameterException', INVALID_POLICY);
    if ('Resource' in statement || 'NotResource' in statement) throw new ApiError('InvalidParameterException', INVALID_POLICY);
    const hasPrincipal = 'Principal' in statement;
    const hasNotPrincipal = 'NotPrincipal' in statement;
    if (hasPrincipal === hasNotPrincipal) throw new ApiError('InvalidParameterException', INVALID_POLICY);
    if (hasNotPrincipal && statement.Effect !== 'Deny') throw new ApiError('InvalidParameterException', INVALID_POLICY);
    if (uniqueIds === 'refuse') {
      const named = [...awsPrincipals(statement.Principal), ...awsPrincipals(statement.NotPrincipal)];
      if (named.some((p) => UNIQUE_ID.test(p))) throw new ApiError('InvalidParameterException', PRINCIPAL_NOT_FOUND);
    }
  }
  return document;
};
