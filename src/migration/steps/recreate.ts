/**
 * Step 7, `recreate`: the original name with the target encryption, its settings and the freeze,
 * checked empty once frozen.
 */
import { errAsync, okAsync, type ResultAsync } from 'neverthrow';
import type { RegistryError, UnexpectedImages } from '../../errors.js';
import { createEncryptedRepository } from '../../operations/create-repository.js';
import type { ImageTagMutability } from '../../types.js';
import { describeImages } from '../../steps/ecr-images.js';
import { setRepositoryPolicy } from '../../steps/ecr-repository.js';
import { frozenPolicyOf, type MigrationRun, specOf, type StepResult } from './run.js';

/** The tag mutability to create the final repository with: immutable comes last (trap 17). */
export const initialMutability = (mutability: ImageTagMutability): ImageTagMutability =>
  mutability === 'IMMUTABLE' || mutability === 'IMMUTABLE_WITH_EXCLUSION' ? 'MUTABLE' : mutability;

/**
 * 6b. The original name with the target encryption, its settings and the freeze; no lifecycle,
 * no immutability yet. ECR takes no repository policy in `CreateRepository`: the freeze is set
 * right after it (by the creation, undone if that fails, and again here for a repository found
 * existing), so a push by another principal can land in between. Nothing has been copied back
 * yet, so the repository must be empty once frozen, and an image in it stops the migration with
 * `UnexpectedImages` rather than being kept or overwritten.
 */
export const recreate = (run: MigrationRun): StepResult => {
  const s = run.state;
  const settings = s.original.settings;
  const mutability = initialMutability(settings.imageTagMutability);
  // The key is not preflighted again in a run that started here: nothing is protected by checking
  // it now (the original is gone, its images are in staging whatever the key's state), and what
  // could have changed since the start (the key disabled or scheduled for deletion, a permission
  // removed) fails ECR's own DescribeKey and CreateGrant, typed and resumable; the encryption ECR
  // echoes is verified after creating. A resumed run preflights in full.
  const established = run.options.established;
  return frozenPolicyOf(run.state).andThen((policy) =>
    run.retrying('CreateRepository', () =>
      createEncryptedRepository(
        run.ctx,
        {
          repositoryName: s.repositoryName,
          encryption: specOf(s.to),
          imageTagMutability: mutability,
          ...(mutability === 'MUTABLE_WITH_EXCLUSION' ? { imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters } : {}),
          scanOnPush: settings.scanOnPush,
          ...(settings.tags.length > 0 ? { tags: settings.tags } : {}),
          repositoryPolicy: policy,
        },
        established === undefined ? {} : { established },
      ),
    )
      .andThen((created): ResultAsync<unknown, RegistryError> => {
        s.final.repositoryArn = created.repository.arn;
        s.final.createdAt = created.repository.createdAt.toISOString();
        // Created here: the creation set the freeze (undoing itself if it could not) and took the
        // settings above. Found existing (after a crash, between CreateRepository and
        // SetRepositoryPolicy): freeze it now.
        if (created.created) {
          run.created.add('final');
          return okAsync(undefined);
        }
        return run.retrying('SetRepositoryPolicy', () => setRepositoryPolicy(run.ctx, s.repositoryName, policy));
      })
      .andThen(() => checkEmpty(run, s.repositoryName)),
  );
};

/** The frozen, recreated repository holds nothing yet: anything in it was pushed by someone else. */
const checkEmpty = (run: MigrationRun, repositoryName: string): StepResult => {
  return run.retrying('DescribeImages', () => describeImages(run.ctx, repositoryName)).andThen((details): StepResult => {
    const images = details.flatMap((d) =>
      d.imageDigest === undefined ? [] : [{ imageDigest: d.imageDigest, imageTags: [...(d.imageTags ?? [])], pushedAt: d.imagePushedAt?.toISOString() }],
    );
    if (images.length === 0) return okAsync(undefined);
    const unexpected: UnexpectedImages = { kind: 'UnexpectedImages', repositoryName, images };
    run.ctx.logger.warn('the recreated repository holds images the migration did not copy', { migrationId: run.state.migrationId, images });
    return errAsync(unexpected);
  });
};
