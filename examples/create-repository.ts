/**
 * Create a KMS-encrypted ECR repository after a full preflight.
 *
 *   npx tsx examples/create-repository.ts team/app alias/ecr-app
 *
 * Uses your usual AWS credentials and region (AWS_REGION). To try it on the local emulator, run
 * `npx encrypted-ecr local` and paste the `export` lines it prints (AWS_ENDPOINT_URL, …).
 *
 * Imports the package by name, as your code would. In this repository the name resolves to the
 * sources (tsconfig.json "paths", which tsx and tsc read), so nothing needs building first.
 */
import { EncryptedRegistry, isRetryable } from 'encrypted-ecr';

const [repositoryName = 'team/app', key = 'alias/ecr-app'] = process.argv.slice(2);

const registry = new EncryptedRegistry({
  logger: { debug: () => undefined, info: (m) => console.log(m), warn: (m) => console.warn(m) },
});

const input = { repositoryName, encryption: { type: 'KMS' as const, key }, imageTagMutability: 'IMMUTABLE' as const };

try {
  // 1. See every problem at once, without creating anything.
  const report = await registry.preflight(input);
  if (report.isErr()) {
    console.error('preflight could not run:', report.error.kind);
    process.exitCode = 1;
  } else {
    for (const finding of report.value.findings) console.log(`[${finding.severity}] ${finding.check}: ${finding.message}`);

    // 2. Create: the same checks again, then the repository with the key's canonical ARN.
    const result = await registry.createEncryptedRepository(input);
    result.match(
      (repo) => {
        console.log(`${repo.created ? 'created' : 'already there'}: ${repo.repository.uri}`);
        console.log(`encryption: ${repo.encryption.type} ${repo.encryption.keyArn ?? ''}`);
        console.log(`ECR grants on the key: ${repo.grants.map((g) => g.grantId).join(', ') || 'none seen yet'}`);
        for (const w of repo.warnings) console.warn(`warning (${w.check}): ${w.message}`);
      },
      (error) => {
        switch (error.kind) {
          case 'EncryptionMismatch':
            console.error(`${error.repositoryName} is encrypted with ${error.existing.keyArn ?? error.existing.type}: use ${error.remedy}`);
            break;
          case 'KeyNotUsable':
            console.error(`key ${error.keyArn}: ${error.reason} (${error.detail})`);
            break;
          case 'MissingPermissions':
            console.error(`${error.principalArn} lacks ${error.actions.join(', ')}`);
            break;
          default:
            console.error(error.kind, isRetryable(error) ? '(retry later)' : '');
        }
        process.exitCode = 1;
      },
    );
  }
} finally {
  registry.destroy();
}
