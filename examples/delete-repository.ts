/**
 * Delete a repository and prove its KMS grants are retired.
 *
 *   npx tsx examples/delete-repository.ts <repository-name> [--force]
 *
 * Uses the default credential chain and AWS_REGION.
 */
import { EncryptedRegistry, isRetryable } from 'encrypted-ecr';

const [repositoryName, flag] = process.argv.slice(2);
if (!repositoryName) {
  console.error('usage: tsx examples/delete-repository.ts <repository-name> [--force]');
  process.exit(2);
}

const registry = new EncryptedRegistry();
try {
  const result = await registry.deleteRepository({ repositoryName, force: flag === '--force' });
  result.match(
    (deleted) => {
      console.log(`deleted ${deleted.repository.arn} (${deleted.imageCount} images, ${deleted.encryption.type})`);
      console.log(`grants retired by ECR: ${deleted.grantsRetiredByEcr.join(', ') || 'none'}`);
      console.log(`grants retired here:   ${deleted.grantsRetiredHere.join(', ') || 'none'}`);
    },
    (error) => {
      switch (error.kind) {
        case 'RepositoryNotEmpty':
          console.error(`${error.repositoryName} holds ${error.imageCount} images: pass --force to delete them too`);
          break;
        case 'DeletedButGrantsRemain':
          console.error(`deleted, but grants remain on ${error.keyArn}: ${error.grantIds.join(', ')}`);
          if (error.missingPermission) console.error(`the caller lacks ${error.missingPermission} in an IAM policy`);
          console.error('retire them later with registry.retireOrphanedGrants({ keys: [keyArn], dryRun: false })');
          break;
        default:
          console.error(`${error.kind}${isRetryable(error) ? ' (retryable)' : ''}`);
      }
      process.exitCode = 1;
    },
  );
} finally {
  registry.destroy();
}
