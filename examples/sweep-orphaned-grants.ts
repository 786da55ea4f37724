/**
 * Find the KMS grants ECR left behind for deleted repositories (or an older incarnation of a
 * recreated name), and retire them when asked.
 *
 *   npx tsx examples/sweep-orphaned-grants.ts [--retire] [key ...]
 *
 * Without keys, sweeps every customer-managed key of the region plus `aws/ecr`. Without
 * `--retire` it only reports (dry run).
 */
import { EncryptedRegistry } from 'encrypted-ecr';

const args = process.argv.slice(2);
const retire = args.includes('--retire');
const keys = args.filter((a) => a !== '--retire');

const registry = new EncryptedRegistry();
try {
  const result = await registry.retireOrphanedGrants({ ...(keys.length > 0 ? { keys } : {}), dryRun: !retire });
  if (result.isErr()) {
    console.error(result.error.kind, result.error);
    process.exitCode = 1;
  } else {
    const sweep = result.value;
    for (const key of sweep.keys) {
      const room = key.headroom.remaining === undefined ? 'no quota' : `${key.headroom.remaining} grants left`;
      console.log(`${key.keyArn} (${key.keyManager}): ${key.ecrGrantCount} ECR grants, ${key.orphans.length} orphaned, ${room}`);
      for (const orphan of key.orphans) console.log(`  ${orphan.grantId}  ${orphan.reason}  ${orphan.repositoryArn}`);
      for (const grant of key.unverifiable) console.log(`  ${grant.grantId}  left alone (${grant.reason})  ${grant.repositoryArn}`);
      if (!sweep.dryRun) {
        console.log(`  retired ${key.retired.length}, already retired ${key.alreadyRetired.length}, failed ${key.failed.length}`);
        for (const failure of key.failed) console.log(`  ${failure.grantId}: ${failure.error.kind}`);
      }
    }
    for (const skipped of sweep.skipped) console.warn(`skipped ${skipped.keyArn}: ${skipped.error.kind}`);
    if (sweep.dryRun) console.log('dry run: nothing retired (pass --retire to retire the orphans)');
  }
} finally {
  registry.destroy();
}
