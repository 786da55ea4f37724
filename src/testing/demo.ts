/**
 * The demo behind `npm run demo` (and the CLI's `demo` command): starts the local AWS emulator,
 * seeds a repository with realistic images, then runs the library end to end — preflight, create
 * with a customer key by alias, a bad input refused before any AWS call, a migration of the seeded
 * repository from AES256 to that key, a delete that leaves grants behind, the orphaned-grant sweep,
 * a verified delete — and prints a compact report.
 * No AWS credentials, no network: everything talks HTTP to 127.0.0.1.
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import type { RegistryError } from '../errors.js';
import type { Finding } from '../preflight/index.js';
import { memoryJournal } from '../migration/index.js';
import { EncryptedRegistry } from '../registry.js';
import type { PolicyDocument } from '../policy/types.js';
import type { Clock } from './emulator/core.js';
import { type LocalAws, startLocalAws } from './emulator/local-aws.js';
import { pushImage, randomBytes, seedRealisticRepository } from './images.js';

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Receives each line of output (default: `console.log`). */
  readonly out?: (line: string) => void;
}

const SEEDED = 'legacy/app';
const REPOSITORY = 'team/app';
const KEY_ALIAS = 'alias/demo-app';
/** Short polls: the emulator answers at once, and a demo should not wait two minutes for a timeout. */
const POLL = { initialDelayMs: 20, maxDelayMs: 200, timeoutMs: 1500 };
/**
 * The emulator's clock runs this far behind: the sweep leaves alone grants younger than its 60 s
 * clock tolerance (their repository may be being created), so the demo's grants must look older.
 */
const CLOCK_BEHIND_MS = 2 * 60_000;

const MiB = 1024 * 1024;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const short = (id: string): string => `${id.slice(0, 10)}…`;

/** A user allowed to manage repositories but not `kms:RetireGrant`: deleting leaves grants behind. */
const WITHOUT_RETIRE: PolicyDocument = {
  Version: '2012-10-17',
  Statement: [
    {
      Effect: 'Allow',
      Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants', 'kms:CreateGrant', 'kms:GetKeyPolicy', 'iam:SimulatePrincipalPolicy'],
      Resource: '*',
    },
  ],
};

const describeError = (error: RegistryError): string => {
  switch (error.kind) {
    case 'InvalidRepositoryName':
      return `InvalidRepositoryName: "${error.repositoryName}" ${error.reason}`;
    case 'DeletedButGrantsRemain':
      return `DeletedButGrantsRemain: ${error.repositoryName} is deleted, ${error.grantIds.length} grants remain on the key (missing ${error.missingPermission ?? 'permission unknown'})`;
    default:
      return error.kind;
  }
};

const findingLine = (f: Finding): string => `   ${f.severity.padEnd(7)} ${f.check.padEnd(13)} ${f.message}`;

/**
 * Runs the demo on a fresh local emulator and stops it again. Resolves when done; rejects only if
 * the demo itself goes wrong (a step that should succeed fails).
 *
 * @example
 * ```ts
 * import { runDemo } from './demo.js';
 * await runDemo({ out: (line) => process.stdout.write(`${line}\n`) });
 * ```
 */
export const runDemo = async (options: DemoOptions = {}): Promise<void> => {
  // The SDK warns once per process about Node 20's end of support; the package supports Node >= 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const out = options.out ?? ((line: string) => console.log(line));
  const started = Date.now();
  const clock: Clock = { now: () => new Date(Date.now() - CLOCK_BEHIND_MS) };
  const aws: LocalAws = await startLocalAws({ clock });
  const ecr = new ECRClient(aws.clientConfig());
  const kms = new KMSClient(aws.clientConfig());
  const registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: POLL });
  const deployer = aws.principals.createUser('deployer', { policies: [WITHOUT_RETIRE] });
  const asDeployer = new EncryptedRegistry({ clientConfig: aws.clientConfig({ credentials: deployer.credentials }), poll: POLL });
  const step = (n: number, title: string): void => out(`\n${n}. ${title}`);
  const fail = (what: string, error: RegistryError): never => {
    throw new Error(`demo: ${what} failed unexpectedly: ${describeError(error)}`);
  };

  try {
    out('encrypted-ecr demo');
    out(`local AWS emulator at ${aws.endpoint} (${aws.region}, account ${aws.account}): no AWS credentials, no network`);

    // 1. A repository with realistic images: the source a migration would re-encrypt.
    step(1, `Seed ${SEEDED} (AES256) with realistic images`);
    await registry.createEncryptedRepository({ repositoryName: SEEDED, encryption: 'AES256' }).match(
      () => undefined,
      (e) => fail('creating the seeded repository', e),
    );
    const seeded = await seedRealisticRepository(ecr, SEEDED, { layerBytes: MiB });
    out(
      `   ${seeded.images.length} images: multi-arch OCI index (latest, 1.0) with 2 platforms, Docker v2 (legacy), ` +
        `an untagged image, a signature referring to the index; ${mib(seeded.totalBlobBytes)} of layers`,
    );

    // 2. A customer managed key, named by alias.
    step(2, `Customer managed key ${KEY_ALIAS}`);
    const created = await kms.send(new CreateKeyCommand({ Description: 'encrypted-ecr demo' }));
    const keyArn = created.KeyMetadata?.Arn ?? '';
    await kms.send(new CreateAliasCommand({ AliasName: KEY_ALIAS, TargetKeyId: created.KeyMetadata?.KeyId }));
    out(`   ${KEY_ALIAS} → ${keyArn}`);

    // 3. Preflight: every check, nothing created.
    const spec = { repositoryName: REPOSITORY, encryption: { type: 'KMS' as const, key: KEY_ALIAS } };
    step(3, `Preflight ${REPOSITORY} (KMS, key ${KEY_ALIAS})`);
    const report = await registry.preflight(spec).match(
      (r) => r,
      (e) => fail('the preflight', e),
    );
    for (const finding of report.findings) out(findingLine(finding));
    out(`   → ${report.ok ? 'ok: ready to create' : 'not ok'} (caller ${report.facts.callerArn ?? '?'})`);

    // 4. Create, by alias: the repository gets the canonical key ARN; ECR makes two grants.
    step(4, `Create ${REPOSITORY}`);
    const repo = await registry.createEncryptedRepository(spec).match(
      (r) => r,
      (e) => fail('creating the repository', e),
    );
    out(`   created: ${repo.created}, ${repo.encryption.type} with ${repo.encryption.keyArn ?? '?'} (the canonical ARN, not the alias)`);
    for (const grant of repo.grants) out(`   grant ${short(grant.grantId)} for ECR: ${grant.operations.join(', ')}`);
    const pushed = await pushImage(ecr, REPOSITORY, { layers: [randomBytes(256 * 1024, 99)], tags: ['v1'] });
    const stored = aws.inspect.ecr?.storedObjects(aws.region, REPOSITORY) ?? [];
    const underKey = stored.filter((o) => o.encryptedWith === keyArn).length;
    out(`   pushed ${pushed.tags.join(', ')}: ${underKey} of ${stored.length} stored objects encrypted with data keys of that key`);

    // 5. Bad input: refused before any AWS call.
    step(5, 'Bad input is refused before any AWS call');
    const callsBefore = aws.inspect.calls().length;
    const refused = await registry.createEncryptedRepository({ repositoryName: 'Team/App', encryption: { type: 'KMS', key: KEY_ALIAS } });
    const callsMade = aws.inspect.calls().length - callsBefore;
    if (refused.isOk()) throw new Error('demo: an invalid repository name was accepted');
    out(`   "Team/App" → ${describeError(refused.error)}; AWS calls made: ${callsMade}`);

    // 6. Migration: re-encrypt the seeded repository in place.
    step(6, `Migrate ${SEEDED} to KMS`);
    const before = aws.inspect.ecr?.storedObjects(aws.region, SEEDED) ?? [];
    const migrated = await registry
      .migrateRepository({
        repositoryName: SEEDED,
        encryption: { type: 'KMS', key: KEY_ALIAS },
        journal: memoryJournal(),
        concurrency: 4,
      })
      .match(
        (r) => r,
        (e) => fail('the migration', e),
      );
    const after = aws.inspect.ecr?.storedObjects(aws.region, SEEDED) ?? [];
    const sameDigests =
      new Set(before.filter((o) => o.kind === 'manifest').map((o) => o.digest)).size ===
        new Set(after.filter((o) => o.kind === 'manifest').map((o) => o.digest)).size &&
      before.filter((o) => o.kind === 'manifest').every((o) => after.some((a) => a.digest === o.digest));
    const migratedUnderKey = after.filter((o) => o.encryptedWith === keyArn).length;
    out(
      `   ${migrated.from.type} → ${migrated.to.type}: ${migrated.counts.images} images, ${migrated.counts.tags} tags, ${migrated.counts.blobs} blobs ` +
        `(${mib(migrated.counts.bytes)}) copied to staging, verified, recreated under the same name, copied back, verified`,
    );
    out(`   digests identical: ${sameDigests}; ${migratedUnderKey} of ${after.length} stored objects now under ${KEY_ALIAS}; staging deleted`);

    // 7. A deleter without kms:RetireGrant: ECR deletes, but its grants stay on the key.
    step(7, `Delete ${REPOSITORY} as ${deployer.arn} (no kms:RetireGrant)`);
    const leftBehind = await asDeployer.deleteRepository({ repositoryName: REPOSITORY, force: true }).match(
      () => {
        throw new Error('demo: the delete without kms:RetireGrant verified its grants');
      },
      (e) => e,
    );
    out(`   ${describeError(leftBehind)}`);

    // 8. The orphaned-grant sweep: dry run first, then retire.
    step(8, `Sweep orphaned grants on ${KEY_ALIAS}`);
    out(`   (the emulator's clock runs ${CLOCK_BEHIND_MS / 60_000} min behind: the sweep leaves grants younger than 60 s alone, their repository may be being created)`);
    const dry = await registry.retireOrphanedGrants({ keys: [KEY_ALIAS] }).match(
      (r) => r,
      (e) => fail('the dry-run sweep', e),
    );
    const dryKey = dry.keys[0];
    out(
      `   dry run: ${dryKey?.ecrGrantCount ?? 0} ECR grants, ${dryKey?.orphans.length ?? 0} orphans ` +
        `(${[...new Set(dryKey?.orphans.map((o) => o.reason))].join(', ') || 'none'}), retired ${dryKey?.retired.length ?? 0}`,
    );
    const swept = await registry.retireOrphanedGrants({ keys: [KEY_ALIAS], dryRun: false }).match(
      (r) => r,
      (e) => fail('the sweep', e),
    );
    const sweptKey = swept.keys[0];
    out(`   retire:  retired ${sweptKey?.retired.length ?? 0} (${(sweptKey?.retired ?? []).map(short).join(', ')}), failed ${sweptKey?.failed.length ?? 0}`);

    // 9. Create again and delete with verification.
    step(9, `Recreate ${REPOSITORY}, then delete it with verified grant retirement`);
    const again = await registry.createEncryptedRepository(spec).match(
      (r) => r,
      (e) => fail('recreating the repository', e),
    );
    const deleted = await registry.deleteRepository({ repositoryName: REPOSITORY }).match(
      (d) => d,
      (e) => fail('the verified delete', e),
    );
    out(
      `   created with grants ${again.grants.map((g) => short(g.grantId)).join(', ')}; deleted: verified: ${deleted.verified} ` +
        `(ECR retired ${deleted.grantsRetiredByEcr.length}, retired here ${deleted.grantsRetiredHere.length}; ListGrants shows none)`,
    );

    // 10. The report.
    step(10, 'Report');
    const liveGrants = aws.inspect.grants(keyArn).filter((g) => !g.retired).length;
    const repositories = aws.inspect.ecr?.repositories().map((r) => `${r.repositoryName} (${r.encryptionType}, ${r.imageCount} images)`) ?? [];
    const calls = aws.inspect.calls();
    const counts = calls.countBy('operation');
    const top = Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 6)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
    out(`   repositories: ${repositories.join('; ') || 'none'}`);
    out(`   live grants on ${KEY_ALIAS}: ${liveGrants} (${SEEDED})`);
    out(`   AWS calls: ${calls.length} (${top}, …)`);
    out(`   done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    asDeployer.destroy();
    registry.destroy();
    ecr.destroy();
    kms.destroy();
    await aws.stop();
  }
};
