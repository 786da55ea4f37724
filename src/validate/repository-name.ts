import { err, ok, type Result } from 'neverthrow';
import type { InvalidRepositoryName } from '../errors.js';

// ECR's current service model (botocore, 2026). The user guide's prose ("must start with a letter")
// is stricter than the model; the model is what the service enforces.
const NAME_PATTERN = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;

/** Checks a repository name against ECR's rules before any AWS call. */
export const validateRepositoryName = (repositoryName: unknown): Result<string, InvalidRepositoryName> => {
  const invalid = (reason: string) =>
    err<never, InvalidRepositoryName>({
      kind: 'InvalidRepositoryName',
      repositoryName: typeof repositoryName === 'string' ? repositoryName : String(repositoryName),
      reason,
    });
  if (typeof repositoryName !== 'string') return invalid('the repository name must be a string');
  if (repositoryName.length < 2 || repositoryName.length > 256) {
    return invalid(`must be 2 to 256 characters long (is ${repositoryName.length})`);
  }
  if (!NAME_PATTERN.test(repositoryName)) {
    return invalid(
      'must be lowercase letters and digits, in parts separated by ".", "_", "__" or "-", in path segments separated by "/"',
    );
  }
  return ok(repositoryName);
};
