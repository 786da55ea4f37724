/**
 * The migration feature's public surface, as `src/index.ts` re-exports it: the journal a migration
 * is recorded in (opaque records; the file and memory journals) and the types of
 * `EncryptedRegistry.planMigration`, `migrateRepository` and `resumeMigration`; and, below it, the
 * three operations the registry runs. `src/index.ts` re-exports only the public part, by name. The step names, `MIGRATION_STEPS`, are in
 * `src/errors.ts` beside the errors that name a step.
 */
export { defaultJournalPath, fileJournal } from './file-journal.js';
export { memoryJournal, parseMigrationJournalRecord, readMigrationJournal, serializeMigrationJournalRecord } from './journal.js';
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
  RepositorySettings,
  ResumeMigrationInput,
} from './types.js';
export type { ReplicaStatus, ReplicationPlan, ReplicationTarget } from './replication.js';

// The library's side (not re-exported by src/index.ts).
export { lockFile } from './file-journal.js';
export { planMigration } from './plan.js';
export { resumeMigration } from './resume.js';
export { migrateRepository } from './start.js';
