/**
 * Change a repository's encryption without losing an image: plan, migrate, and resume after a crash.
 *
 *   npx tsx examples/migrate-repository.ts <repository-name> <AES256 | KMS | key-id/alias/ARN> [--yes]
 *
 * Without --yes it only prints the plan. The journal is written next to this process
 * (`<name>.migration.json`); if the migration stops, running this again resumes it.
 * Uses the default credential chain and AWS_REGION.
 */
import { EncryptedRegistry, type EncryptionSpec, fileJournal, readMigrationJournal } from 'encrypted-ecr';

const [repositoryName, target, flag] = process.argv.slice(2);
if (!repositoryName || !target) {
  console.error('usage: tsx examples/migrate-repository.ts <repository-name> <AES256 | KMS | key> [--yes]');
  process.exit(2);
}
const encryption: EncryptionSpec = target === 'AES256' ? 'AES256' : target === 'KMS' ? { type: 'KMS' } : { type: 'KMS', key: target };
const journal = fileJournal(`${repositoryName.replace(/\//g, '_')}.migration.json`);

const registry = new EncryptedRegistry();
try {
  // An unfinished migration in the journal is resumed, whatever the arguments say.
  const pending = await readMigrationJournal(journal);
  if (pending.isOk() && pending.value !== undefined && pending.value.completedAt === undefined) {
    console.log(`resuming migration ${pending.value.migrationId} of ${pending.value.repositoryName}`);
    const resumed = await registry.resumeMigration({ journal, onProgress: (p) => console.log(`[${p.stepNumber}/${p.stepCount}] ${p.step} ${p.status}`) });
    resumed.match(
      (done) => console.log(`done: ${done.counts.images} images under ${done.to.keyArn ?? done.to.type}`),
      (error) => console.error(error.kind === 'MigrationFailed' ? `${error.step} failed (${error.cause.kind}): ${error.state}` : error.kind),
    );
    process.exit(resumed.isOk() ? 0 : 1);
  }

  const plan = await registry.planMigration({ repositoryName, encryption });
  if (plan.isErr()) {
    console.error('cannot plan:', plan.error.kind);
    process.exit(1);
  }
  const p = plan.value;
  console.log(`${p.repositoryName}: ${p.from.type} → ${p.to?.type ?? '?'} ${p.to?.keyArn ?? ''}`);
  console.log(`${p.counts.images} images (${p.counts.tagged} tagged, ${p.counts.untagged} untagged, ${p.counts.indexes} indexes, ${p.counts.referrers} referrers)`);
  console.log(`${p.blobs.count} blobs, ${(p.blobs.totalBytes / 1024 ** 2).toFixed(1)} MiB, about ${p.estimatedApiCalls.total} API calls`);
  for (const w of p.warnings) console.warn(`warning (${w.code}): ${w.message}`);
  if (p.nothingToDo) process.exit(0);
  if (!p.ready) {
    for (const b of p.blockers) console.error(`blocked: ${b}`);
    process.exit(1);
  }
  if (flag !== '--yes') {
    console.log('run again with --yes to migrate');
    process.exit(0);
  }

  const result = await registry.migrateRepository({
    repositoryName,
    encryption,
    journal,
    onProgress: (progress) => {
      const eta = progress.etaSeconds === undefined ? '' : `, ~${Math.ceil(progress.etaSeconds)} s left`;
      console.log(`[${progress.stepNumber}/${progress.stepCount}] ${progress.step} ${progress.status}: ${progress.imagesDone}/${progress.imagesTotal} images${eta}`);
    },
  });
  result.match(
    (done) => console.log(`migrated ${done.counts.images} images, ${done.counts.tags} tags, ${done.counts.bytes} bytes in ${Object.values(done.steps).reduce((a, b) => a + b, 0)} ms`),
    (error) => {
      switch (error.kind) {
        case 'MigrationFailed':
          console.error(`step ${error.step} failed (${error.cause.kind}): ${error.state}`);
          console.error(`run this again to resume (journal ${error.journal})`);
          break;
        case 'MigrationInProgress':
          console.error(`another migration (${error.migrationId ?? 'unknown id'}) of ${error.repositoryName} is unfinished: resume it with its journal`);
          break;
        case 'ImagesArchived':
          console.error(`${error.images.length} archived images: restore them, or pass restoreArchived: true`);
          break;
        default:
          console.error(`nothing was changed: ${error.kind}`);
      }
    },
  );
  process.exitCode = result.isOk() ? 0 : 1;
} finally {
  registry.destroy();
}
