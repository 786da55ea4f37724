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
export type {
  EncryptionDescription,
  EncryptionSpec,
  EncryptionType,
  RegistryLogger,
  Severity,
} from './types.js';
export { isRegistryError, isRetryable } from './errors.js';
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
  CreateEncryptedRepositoryInput,
  ExistingRepository,
  Finding,
  ImageTagMutability,
  PreflightCheck,
  PreflightFacts,
  PreflightFindingError,
  PreflightInput,
  PreflightReport,
  RepositoryTag,
} from './operations/preflight.js';
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
export { fileJournal, memoryJournal, MIGRATION_STEPS } from './migrate/journal.js';
export type { CopyRecord, JournalState, MigrationJournal, RepositorySettings, StepRecord } from './migrate/journal.js';
export type {
  ApiCallEstimate,
  MigrationPlan,
  MigrationWarning,
  MigrationWarningCode,
  PlannedImage,
  PlanMigrationInput,
} from './migrate/plan.js';
export type {
  MigrateRepositoryInput,
  MigrationProgress,
  MigrationResult,
  ResumeMigrationInput,
} from './operations/migrate-repository.js';
export { defaultJournalPath } from './operations/migrate-repository.js';
export type { DoctorCheck, DoctorCheckName, DoctorInput, DoctorReport, DoctorStatus } from './operations/doctor.js';
export type { GraphBlob, GraphImage, ImageGraph, ImageStatus } from './migrate/snapshot.js';
