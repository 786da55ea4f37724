/**
 * After `deleteStaging`: the replicas of the staging repository that replication made in each
 * destination when no staging name could escape the replication rules (a rule without filters, or
 * filters starting with every character). "Registry replication doesn't perform any delete
 * actions" (ECR User Guide, replication), so they stay unless deleted here.
 *
 * Only a repository this migration made is deleted: the staging name (it carries the migration
 * id), in the destination account and region (checked by its ARN), holding no image the snapshot
 * does not list; deleted with `deleteRepository` (verified grant retirement) through the clients
 * the caller gave for that destination. What cannot be deleted is named in a `stagingReplicas`
 * warning, never left silently. Repeatable: a replica already gone is nothing to do.
 */
import { okAsync, ResultAsync } from 'neverthrow';
import type { RegistryContext } from '../../internal/context.js';
import { deleteRepository } from '../../operations/delete-repository.js';
import { listImages } from '../../steps/ecr-images.js';
import { describeReplicationRules } from '../../steps/ecr-migration.js';
import { describeRepository } from '../../steps/ecr-repository.js';
import { clientFor, describeIn, type ReplicationTarget, targetsOf } from '../replication.js';
import { stagingNameOf } from '../staging-name.js';
import type { MigrationRun, StepResult } from './run.js';

const label = (t: ReplicationTarget): string => `${t.registryId}/${t.region}`;

/** Why a replica was left; `undefined` when it is gone (deleted now, or never there). */
type Outcome = string | undefined;

const reasonOf = (e: { readonly kind: string }): string => `${e.kind}${'message' in e && typeof e.message === 'string' ? `: ${e.message}` : ''}`;

/** The staging replica in one destination: deleted when provably ours, else the reason it stays. */
const removeIn = (run: MigrationRun, target: ReplicationTarget): ResultAsync<Outcome, never> => {
  const s = run.state;
  const name = s.stagingRepositoryName;
  // Without clients given for it, a destination of the same account is reached with the registry's own credentials.
  const own = target.registryId === s.account ? run.ctx.regionClients?.(target.region) : undefined;
  const ecr = clientFor(run.options.replicas.ecr, target) ?? own?.ecr;
  if (ecr === undefined) return okAsync(`no ECR client for ${label(target)} (pass replicaClients['${label(target)}'])`);
  const kms = clientFor(run.options.replicas.kms, target) ?? own?.kms;
  const ctx: RegistryContext = { ...run.ctx, ecr, ...(kms !== undefined ? { kms } : {}), region: () => okAsync(target.region) };
  const arn = `arn:aws:ecr:${target.region}:${target.registryId}:repository/${name}`;
  return describeIn(ecr, run.ctx, target, name).andThen((found): ResultAsync<Outcome, never> => {
    if (found.status === 'absent') return okAsync(undefined);
    if (found.status === 'unknown') return okAsync(`could not be read: ${found.reason ?? 'unknown'}`);
    if (found.encryption?.type !== 'AES256' && kms === undefined) {
      return okAsync(`it is ${found.encryption?.type ?? 'KMS'}-encrypted and no KMS client was given for ${label(target)} to verify its grants (pass replicaKmsClients['${label(target)}'])`);
    }
    const known = new Set((s.snapshot?.images ?? []).map((i) => i.digest));
    // The client's own registry must be the destination: deleteRepository acts there.
    return describeRepository(ctx, name)
      .andThen((own) =>
        own.repositoryArn !== arn
          ? okAsync<Outcome, never>(`the client given for ${label(target)} acts in another registry (${own.repositoryArn ?? 'no ARN'})`)
          : listImages(ctx, name).andThen((ids) => {
              const foreign = [...new Set(ids.flatMap((i) => (i.imageDigest !== undefined && !known.has(i.imageDigest) ? [i.imageDigest] : [])))];
              if (foreign.length > 0) return okAsync<Outcome, never>(`it holds ${foreign.length} image(s) this migration did not copy (${foreign.slice(0, 3).join(', ')})`);
              return deleteRepository(ctx, { repositoryName: name, force: true }).map((deleted): Outcome => {
                if (!deleted.verified) run.warn({ code: 'grantsRemain', message: `the staging replica in ${label(target)} was deleted, but its grants could not be verified: ${deleted.grantsUnverifiable.detail}` });
                run.ctx.logger.info('staging replica deleted', { migrationId: s.migrationId, destination: label(target) });
                return undefined;
              });
            }),
      )
      .orElse((e) => okAsync<Outcome, never>(e.kind === 'RepositoryNotFound' ? undefined : `deleting it failed: ${reasonOf(e)}`));
  });
};

/**
 * Deletes the staging repository's replicas in every destination of the rules covering the
 * staging name, one destination at a time (there are few). Never fails the migration: the images
 * are in place; what is left is named in warnings.
 */
export const deleteStagingReplicas = (run: MigrationRun): StepResult => {
  const s = run.state;
  const name = s.stagingRepositoryName;
  // A name chosen to escape every rule (not the default) has no replica.
  if (name !== stagingNameOf(s.repositoryName, s.migrationId)) return okAsync(undefined);
  // A replica is possible only if the start saw rules covering staging, or could not read them;
  // otherwise the rules are not read again (a rule added during the migration is not looked for).
  const mayBeReplicated = s.warnings.some((w) => w.code === 'stagingReplicated' || w.code === 'registryReadDenied');
  if (!mayBeReplicated) return okAsync(undefined);
  return describeReplicationRules(run.ctx)
    .map((rules) => targetsOf(rules, name).filter((t) => !(t.region === s.region && t.registryId === s.account)))
    .andThen((targets) =>
      ResultAsync.fromSafePromise(
        (async (): Promise<void> => {
          for (const target of targets) {
            const left = (await removeIn(run, target)).unwrapOr(undefined);
            if (left !== undefined) {
              run.warn({ code: 'stagingReplicas', message: `the replica of the staging repository ${name} in ${label(target)} was left: ${left}; delete it there (aws ecr delete-repository --repository-name ${name} --force --region ${target.region})` });
            }
          }
        })(),
      ),
    )
    .orElse((e) => {
      run.warn({ code: 'stagingReplicas', message: `could not read the replication rules (${reasonOf(e)}): check each replication destination for ${name} and delete it there` });
      return okAsync(undefined);
    });
};
