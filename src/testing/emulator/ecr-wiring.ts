/**
 * Where the emulator finds the ECR service by default.
 *
 * WIRING (one line): when `emulator/ecr/` lands on this branch, replace the declaration below with
 *   export { createEcrService as defaultEcrFactory } from './ecr/index.js';
 * Until then `startLocalAws` serves KMS, IAM and STS only, unless a test passes `ecrFactory`.
 */
import type { EcrService, EcrServiceDeps } from './core.js';

/** Builds the ECR service; `undefined` while the ECR service is not on this branch. */
export const defaultEcrFactory: ((deps: EcrServiceDeps) => EcrService) | undefined = undefined;
