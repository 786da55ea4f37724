/**
 * `encrypted-ecr/testing`: a local AWS emulator (ECR + KMS + IAM/STS over real HTTP) and helpers
 * for testing code that uses `encrypted-ecr`.
 *
 * @packageDocumentation
 */
export { ApiError } from './emulator/core.js';
