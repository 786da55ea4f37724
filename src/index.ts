/**
 * `encrypted-ecr`: safe Amazon ECR encryption at rest.
 *
 * @packageDocumentation
 */
export { EncryptedRegistry } from './registry.js';
export type {
  EncryptedRegistryOptions,
  RegistryClientConfig,
  RegistryClients,
} from './registry.js';
export type { PollSettings } from './internal/context.js';
export { AWS_RATE_QUOTAS } from './internal/rate-quotas.js';
export type { RateQuotaOverrides } from './registry-options.js';
export type {
  EncryptionDescription,
  EncryptionSpec,
  EncryptionType,
  ExistingRepository,
  ImageTagMutability,
  RegistryLogger,
  RepositoryTag,
  Severity,
} from './types.js';
export { ERROR_KINDS, errorCategory, isRegistryError, isRetryable } from './errors.js';
export type * from './errors.js';
export type * from './policy/types.js';
export {
  explainAccess,
  generateEcrKeyPolicy,
  generateEndpointPolicy,
  generateRepositoryAdminPolicy,
} from './policy/index.js';
export type {
  EcrEndpointPolicyInput,
  EcrKeyPolicyInput,
  EndpointPolicyInput,
  GeneratedPolicy,
  RepositoryAdminPolicyInput,
  RepositoryOperation,
  RepositoryScope,
  S3EndpointPolicyInput,
} from './policy/index.js';
export type {
  DeleteRepositoryInput,
  DeletedRepository,
  GrantsUnverifiable,
  GrantsUnverifiableReason,
  UnattributedGrant,
  UnverifiedDeletion,
  VerifiedDeletion,
} from './operations/delete-repository.js';
export type {
  FailedRetirement,
  FindOrphanedGrantsInput,
  GrantHeadroom,
  KeyGrantReport,
  KeyRetirementReport,
  OrphanedGrant,
  OrphanedGrantsReport,
  OrphanedGrantsRetirement,
  OrphanReason,
  RetireOrphanedGrantsInput,
  SkippedKey,
  UnverifiableGrant,
  UnverifiableReason,
} from './operations/orphaned-grants.js';
export type {
  CreatedRepository,
  RepositoryGrant,
} from './operations/create-repository.js';
export type {
  AdvisoryFinding,
  BlockingFinding,
  CreateEncryptedRepositoryInput,
  Finding,
  PreflightBlocked,
  PreflightCheck,
  PreflightFacts,
  PreflightFindingError,
  PreflightInput,
  PreflightReady,
  PreflightReadyFacts,
  PreflightReport,
} from './preflight/types.js';
export type {
  AuditCost,
  AuditedEncryption,
  AuditedGrants,
  AuditedKey,
  AuditedRepository,
  AuditInput,
  AuditProgress,
  AuditReport,
  AuditRequirement,
  AuditUsage,
  AuditViolation,
  AuditViolationCode,
} from './operations/audit.js';
export type { AuditStatus, AuditWarning, AuditWarningCode } from './operations/audit-types.js';
export type { Cancellable } from './types.js';
export type { Clock } from './internal/wait.js';
export type { KeptOrphan } from './operations/orphaned-grants.js';
export type { DeletedRepositoryFields } from './operations/delete-repository.js';
export { MIGRATION_STEPS } from './errors.js';
export * from './migration/index.js';
export type { DoctorCheck, DoctorCheckName, DoctorInput, DoctorReport, DoctorStatus } from './operations/doctor.js';
