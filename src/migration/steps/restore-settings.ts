/** Step 10, `restoreSettings`: lifecycle, tag mutability, tags, scanning, and last the repository policy (unfreezing). */
import { ok, safeTry } from 'neverthrow';
import { deleteRepositoryPolicy } from '../../steps/ecr-migration.js';
import { putImageScanningConfiguration, putImageTagMutability, putLifecyclePolicy, tagRepository } from '../../steps/ecr-repository.js';
import { restoreRepositoryPolicy } from '../policy-restore.js';
import { initialMutability } from './recreate.js';
import type { MigrationRun, StepResult } from './run.js';

/** 7. Lifecycle and tag mutability last, then tags and scanning again, and the original policy exactly (or none). */
export const restoreSettings = (run: MigrationRun): StepResult => {
  const s = run.state;
  const name = s.repositoryName;
  const settings = s.original.settings;
  const arn = s.final.repositoryArn ?? s.original.repositoryArn;
  const ctx = run.ctx;
  // Created by this process, the repository took tags, scanning and a mutability (the final one
  // unless immutable) in CreateRepository, and has been frozen since: nobody else could change
  // them. Created before a crash, or found existing, everything is applied again.
  const atCreation = run.created.has('final');
  const mutabilityAtCreation = atCreation && initialMutability(settings.imageTagMutability) === settings.imageTagMutability;
  return safeTry(async function* () {
    if (settings.lifecyclePolicy !== undefined) {
      const text = settings.lifecyclePolicy;
      yield* run.retrying('PutLifecyclePolicy', () => putLifecyclePolicy(ctx, name, text));
    }
    if (!mutabilityAtCreation) yield* run.retrying('PutImageTagMutability', () =>
      putImageTagMutability(ctx, {
        repositoryName: name,
        imageTagMutability: settings.imageTagMutability,
        ...(settings.imageTagMutabilityExclusionFilters.length > 0
          ? { imageTagMutabilityExclusionFilters: settings.imageTagMutabilityExclusionFilters.map((filter) => ({ filterType: 'WILDCARD' as const, filter })) }
          : {}),
      }),
    );
    if (settings.tags.length > 0 && !atCreation) yield* run.retrying('TagResource', () => tagRepository(ctx, arn, name, settings.tags));
    if (!atCreation) yield* run.retrying('PutImageScanningConfiguration', () => putImageScanningConfiguration(ctx, name, settings.scanOnPush));
    // Unfreezing is the very last change.
    const policy = settings.repositoryPolicy;
    if (policy !== undefined) {
      // A refused text (e.g. naming deleted principals) is retried without them, or ends typed and still frozen.
      const warning = yield* restoreRepositoryPolicy(ctx, name, policy, s.migrationId, (op, attempt) => run.retrying(op, attempt));
      if (warning !== undefined) run.warn(warning);
    } else yield* run.retrying('DeleteRepositoryPolicy', () => deleteRepositoryPolicy(ctx, name));
    return ok(undefined);
  });
};
