/**
 * The policy toolkit: `explainAccess`, the project's one IAM policy evaluator, and generators for
 * the identity, key and VPC endpoint policies that ECR encryption needs.
 *
 * @packageDocumentation
 */
export { explainAccess } from './evaluate.js';
export { generateEcrKeyPolicy, generateEndpointPolicy, generateRepositoryAdminPolicy } from './generate.js';
export type {
  EcrEndpointPolicyInput,
  EcrKeyPolicyInput,
  EndpointPolicyInput,
  GeneratedPolicy,
  RepositoryAdminPolicyInput,
  RepositoryOperation,
  RepositoryScope,
  S3EndpointPolicyInput,
} from './generate.js';
export type * from './types.js';
