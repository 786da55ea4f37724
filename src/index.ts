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
export { createRateGovernor } from './registry-options.js';
export type { GovernedApi, RateGovernor } from './internal/rate-governor.js';
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
export type * from './operations/audit-types.js';
export type { FindingSeverity, KeyPosture, KeyPostureCheck, KeyPostureCheckId, KeyRotation } from './operations/key-posture.js';
export { auditToAsff } from './operations/audit-asff.js';
export type { AsffFinding, AsffOptions, AsffResource } from './operations/audit-asff.js';
export type { CreationTemplateDescription, EnsureCreationTemplateInput, EnsuredCreationTemplate } from './operations/creation-template.js';
export type { TemplateScenario } from './encryption/templates.js';
export type { Cancellable } from './types.js';
export type { Clock } from './internal/wait.js';
export type { KeptOrphan } from './operations/orphaned-grants.js';
export type { DeletedRepositoryFields } from './operations/delete-repository.js';
export { MIGRATION_STEPS } from './errors.js';
export {
  defaultJournalPath,
  fileJournal,
  memoryJournal,
  parseMigrationJournalRecord,
  readMigrationJournal,
  serializeMigrationJournalRecord,
} from './migration/index.js';
export type {
  ApiCallEstimate,
  ImageStatus,
  JournalLock,
  MigrateRepositoryInput,
  MigrationJournal,
  MigrationJournalRecord,
  MigrationJournalSummary,
  MigrationPlan,
  MigrationProgress,
  MigrationResult,
  MigrationWarning,
  MigrationWarningCode,
  PlanMigrationInput,
  PlannedImage,
  ReplicaClientsInput,
  ReplicaStatus,
  ReplicationPlan,
  ReplicationTarget,
  RepositorySettings,
  ResumeMigrationInput,
} from './migration/index.js';
export type { DoctorCheck, DoctorCheckName, DoctorInput, DoctorReport, DoctorStatus } from './operations/doctor.js';
export { EncryptedFleet } from './fleet/index.js';
export type {
  FleetAuditedKey,
  FleetAuditedRepository,
  FleetAuditReport,
  FleetKeyGrantReport,
  FleetOptions,
  FleetOrphanedGrantsReport,
  FleetOrphanedGrantsRetirement,
  FleetReportBase,
  FleetSkippedKey,
  FleetStage,
  FleetTarget,
  FleetTargetOutcome,
  FleetTotals,
} from './fleet/types.js';
export { parseRepositoryFilter } from './fleet-migration/index.js';
export type {
  MigrateRepositoriesInput,
  PlannedRepositoryMigration,
  RepositoriesMigrationPlan,
  RepositoriesMigrationProgress,
  RepositoriesMigrationResult,
  RepositoryFilter,
  RepositoryMigrationOutcome,
  RepositoryMigrationStatus,
} from './fleet-migration/types.js';
