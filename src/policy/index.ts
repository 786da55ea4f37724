/**
 * The policy toolkit: `explainAccess`, the project's one IAM policy evaluator, and generators for
 * the identity, key and VPC endpoint policies that ECR encryption needs.
 *
 * @packageDocumentation
 */
export { explainAccess } from './evaluate.js';
export { generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from './generate.js';
export type * from './types.js';
/** The schema of a policy document (JSON types only), for the registry's input checks. */
export { policyDocument } from './inputs.js';
/** The migration's freeze statement (pure policy text): the migration sets it, delete refuses a frozen repository. */
export { claimOf, exemptPrincipalsOf, freezeOf, frozenPolicy } from './freeze.js';
/** The one `*`/`?` glob compiler (IAM wildcards), also the fleet migration's name filter. */
export { compilePattern } from './patterns.js';
