/**
 * What a failed migration says: what holds the images now, built from what was checked just now
 * (both repositories, observed) and from what the journal records as verified.
 */
import type { Repository } from '@aws-sdk/client-ecr';
import type { MigrationFailed, MigrationStep, ObservedRepository, RegistryError } from '../errors.js';
import type { RegistryContext } from '../internal/context.js';
import { findRepository, getRepositoryPolicy } from '../steps/ecr-repository.js';
import type { EncryptionDescription } from '../types.js';
import { claimOf } from '../policy/index.js';
import type { JournalState } from './state.js';

export const describeEncryption = (e: EncryptionDescription): string => (e.keyArn ? `${e.type} with ${e.keyArn}` : e.type);

/** Where the original's lifecycle policy is when a step fails, in words ('' when there is none to speak of). */
const lifecycleAt = (step: MigrationStep, s: JournalState): string => {
  const paused = s.lifecyclePausedAt !== undefined;
  if (s.original.settings.lifecyclePolicy === undefined && !paused) return '';
  const kept = 'the journal keeps its text and puts it back last';
  switch (step) {
    case 'freeze':
      return paused ? `; its lifecycle policy is paused (deleted: ${kept})` : `; its lifecycle policy may already be paused (deleted: ${kept})`;
    case 'restoreSettings':
      return `; its lifecycle policy is paused or already restored (${kept})`;
    case 'deleteStaging':
      return '';
    default:
      return `; its lifecycle policy is paused (deleted: ${kept})`;
  }
};

/** What the repositories were found to be when a step failed. */
export type Observed = MigrationFailed['observed'];

/**
 * What the repositories hold when a step fails, in words: built from what was checked just now
 * (`observed`) and from what the journal records as verified, never from the step alone.
 */
export const stateAt = (step: MigrationStep, s: JournalState, observed: Observed, cause?: RegistryError): string => {
  const { repositoryName: name, stagingRepositoryName: staging } = s;
  const lifecycle = lifecycleAt(step, s);
  const done = (x: MigrationStep): boolean => s.steps[x]?.status === 'done';
  const frozen =
    observed.originalFrozen === true
      ? 'frozen (pushes, deletes and settings changes by others denied)'
      : observed.originalFrozen === false
        ? 'NOT frozen by this migration (its freeze statement is not there: others can push, delete and change settings)'
        : 'of unknown freeze (its policy could not be read)';
  const original = ((): string => {
    switch (observed.repository) {
      case 'original':
        return observed.originalFrozen === true ? `${name} is intact and ${frozen}` : `${name} is intact (not deleted) but ${frozen}`;
      case 'recreated':
        return `${name} is recreated with ${describeEncryption(s.to)} and ${frozen}`;
      case 'absent':
        return done('deleteOriginal')
          ? `${name} is deleted (by this migration, after staging was verified)`
          : `${name} does not exist: it was deleted by someone other than this migration`;
      case 'other':
        return `${name} exists, but is neither the original nor the repository this migration created (someone else deleted and created it)`;
      case 'present':
      case 'unknown':
        return `${name} could not be checked`;
    }
  })();
  const verified = done('verifyStaging') ? ` (verified${s.staging.verifiedAt !== undefined ? ` at ${s.staging.verifiedAt}` : ''})` : '';
  const stagingText = ((): string => {
    switch (observed.staging) {
      case 'present':
        return verified !== '' ? `every image of the snapshot is in staging ${staging}${verified}` : `staging ${staging} holds a partial copy (not verified)`;
      case 'absent':
        if (!done('createStaging')) return `staging ${staging} does not exist yet`;
        if (done('deleteStaging') || step === 'deleteStaging') return `staging ${staging} is deleted`;
        return `staging ${staging} does not exist any more (deleted by someone other than this migration)`;
      default:
        return `staging ${staging} could not be checked`;
    }
  })();
  const lost =
    observed.repository !== 'original' && observed.repository !== 'unknown' && !done('verifyStaging') && !done('deleteOriginal')
      ? '; images not copied to staging before the original disappeared may be lost'
      : '';
  switch (step) {
    case 'freeze':
      return `nothing copied; ${original}${lifecycle}; ${stagingText}`;
    case 'deleteOriginal':
      if (cause?.kind === 'CopyVerificationFailed' && cause.repositoryName === name) {
        return (
          `${original}${lifecycle}; ${stagingText}; but ${name} changed after the snapshot (images pushed or removed, or tags moved, by the migrating principal, ` +
          `whom the freeze lets through), so it was not deleted: put it back as the snapshot has it (see the cause), then resume`
        );
      }
      return `${original}${lifecycle}; ${stagingText}${lost}`;
    case 'recreate':
      if (cause?.kind === 'UnexpectedImages') {
        return (
          `${original}, but holds ${cause.images.length} image(s) the migration did not copy ` +
          `(pushed by someone else before the freeze took effect: ${cause.images.map((i) => i.imageDigest).join(', ')}); nothing was copied back. ` +
          `Save what you need of them, delete them as the migrating principal, then resume${lifecycle}; ${stagingText}`
        );
      }
      return `${original}${observed.repository === 'recreated' ? ', not filled yet (a resume checks it holds nothing it did not copy)' : ''}; ${stagingText}${lifecycle}`;
    case 'copyBack':
    case 'verifyFinal':
      return `${original}${observed.repository === 'recreated' ? ' and partly filled' : ''}${lifecycle}; ${stagingText}`;
    case 'restoreSettings':
      return `${original}${done('verifyFinal') ? ' and holds every image (verified)' : ''}; its settings are partly restored${lifecycle}; ${stagingText}`;
    case 'deleteStaging':
      return `${original}; its settings are restored; ${stagingText === `staging ${staging} is deleted` ? stagingText : `${stagingText}, left to delete`}`;
    default:
      return `${original}${lifecycle}; ${stagingText}${lost}`;
  }
};

/** Which incarnation of `name` a repository is, by its creation time. */
const incarnationOf = (s: JournalState, repository: Repository | undefined): ObservedRepository => {
  if (repository === undefined) return 'absent';
  const created = repository.createdAt?.getTime();
  if (created === Date.parse(s.original.createdAt)) return 'original';
  if (s.final.createdAt !== undefined && created === Date.parse(s.final.createdAt)) return 'recreated';
  return 'other';
};

/** Looks at both repositories now (no retries: a failed look is reported as `unknown`). */
export const observe = async (ctx: RegistryContext, s: JournalState): Promise<Observed> => {
  const found = await findRepository(ctx, s.repositoryName);
  const repository = found.isErr() ? 'unknown' : incarnationOf(s, found.value);
  let originalFrozen: boolean | undefined;
  if (repository !== 'absent' && repository !== 'unknown') {
    const policy = await getRepositoryPolicy(ctx, s.repositoryName);
    originalFrozen = policy.isErr() ? undefined : claimOf(policy.value, s.migrationId) === 'ours';
  }
  const staging = await findRepository(ctx, s.stagingRepositoryName);
  return { repository, originalFrozen, staging: staging.isErr() ? 'unknown' : staging.value === undefined ? 'absent' : 'present' };
};
