/**
 * The migration's steps, one entry per `MIGRATION_STEPS` name: the engine runs them in that
 * order, recording each in the journal before and after it runs.
 */
import type { MigrationStep } from '../../errors.js';
import { copy, verify } from './copy.js';
import { deleteOriginal, deleteStaging } from './delete.js';
import { freeze } from './freeze.js';
import { recreate } from './recreate.js';
import { restoreSettings } from './restore-settings.js';
import type { Step } from './run.js';
import { snapshot } from './snapshot.js';
import { deleteStagingReplicas } from './staging-replicas.js';
import { createStaging } from './staging.js';

export const STEPS: Readonly<Record<MigrationStep, Step>> = {
  freeze,
  snapshot,
  createStaging,
  copyToStaging: (run) => copy(run, 'staging'),
  verifyStaging: (run) => verify(run, 'staging'),
  deleteOriginal,
  recreate,
  copyBack: (run) => copy(run, 'final'),
  verifyFinal: (run) => verify(run, 'final'),
  restoreSettings,
  deleteStaging: (run) => deleteStaging(run).andThen(() => deleteStagingReplicas(run)),
};
