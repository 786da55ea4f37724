/** Step 3, `createStaging`: the staging repository, with the target encryption, tagged as this migration's. */
import type { Repository } from '@aws-sdk/client-ecr';
import { errAsync, okAsync } from 'neverthrow';
import type { MigrationInProgress } from '../../errors.js';
import { createEncryptedRepository } from '../../operations/create-repository.js';
import { describeRepository, listTags } from '../../steps/ecr-repository.js';
import { type MigrationRun, specOf, type StepResult } from './run.js';

const MIGRATION_TAG = 'encrypted-ecr:migration-id';
const ROLE_TAG = 'encrypted-ecr:role';

/** The staging repository is ours: it carries this migration's id (never delete or fill another's). */
export const checkStagingIsOurs = (run: MigrationRun, repository: Repository): StepResult => {
  const s = run.state;
  return listTags(run.ctx, repository.repositoryArn ?? '', s.stagingRepositoryName).andThen((tags): StepResult =>
    tags.some((t) => t.Key === MIGRATION_TAG && t.Value === s.migrationId)
      ? okAsync(undefined)
      : errAsync({
          kind: 'MigrationInProgress',
          repositoryName: s.stagingRepositoryName,
          migrationId: tags.find((t) => t.Key === MIGRATION_TAG)?.Value,
          foundIn: 'repositoryPolicy',
          journal: undefined,
        } satisfies MigrationInProgress),
  );
};

/**
 * 3. The staging repository, with the target encryption, checked like any creation. The key was
 * preflighted by the start moments ago (a resumed run preflights it again here); ECR's echo of
 * the encryption is still verified after creating.
 */
export const createStaging = (run: MigrationRun): StepResult => {
  const s = run.state;
  const established = run.options.established;
  return run.retrying('CreateStagingRepository', () =>
    createEncryptedRepository(
      run.ctx,
      {
        repositoryName: s.stagingRepositoryName,
        encryption: specOf(s.to),
        tags: [
          { Key: MIGRATION_TAG, Value: s.migrationId },
          { Key: ROLE_TAG, Value: 'staging' },
          { Key: 'encrypted-ecr:original-repository', Value: s.repositoryName },
        ],
      },
      established === undefined ? {} : { established },
    ),
  ).andThen((created): StepResult => {
    // Recorded only once known ours: deleteStaging trusts the incarnation recorded here.
    const record = (): void => {
      s.staging.repositoryArn = created.repository.arn;
      s.staging.createdAt = created.repository.createdAt.toISOString();
    };
    if (created.created) {
      record();
      run.created.add('staging');
      return okAsync(undefined);
    }
    // It existed: created by this migration before a crash, or a name clash we must not touch.
    return describeRepository(run.ctx, s.stagingRepositoryName)
      .andThen((r) => checkStagingIsOurs(run, r))
      .map(record);
  });
};
