/**
 * The staging repository's replicas after a migration (`deleteStagingReplicas`): deleted only when
 * provably the migration's own; every other one named in a `stagingReplicas` warning.
 */
import { DeleteRepositoryCommand, type DescribeRepositoriesCommandOutput, type EncryptionType, DescribeRegistryCommand, DescribeRepositoriesCommand, ECRClient, ECRServiceException, ListImagesCommand } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MigrationRun } from '../../../src/migration/steps/run.js';
import { deleteStagingReplicas } from '../../../src/migration/steps/staging-replicas.js';
import type { MigrationWarning } from '../../../src/migration/types.js';
import { fakeContext } from '../../fixtures/create-stubs.js';

const ecr = mockClient(ECRClient);
const HOME = '111122223333';
const STAGING = 'app-migrating-ab0123456789';
const DEST = { region: 'eu-central-1', registryId: HOME };
const ARN = `arn:aws:ecr:eu-central-1:${HOME}:repository/${STAGING}`;
const replica = (encryptionType: EncryptionType = 'AES256', arn = ARN): DescribeRepositoriesCommandOutput => ({
  $metadata: {},
  repositories: [{ repositoryName: STAGING, repositoryArn: arn, createdAt: new Date(0), encryptionConfiguration: { encryptionType, ...(encryptionType === 'AES256' ? {} : { kmsKey: 'arn:aws:kms:eu-central-1:111122223333:key/k' }) } }],
});

/** A run with the fields the step reads, the destination's client given, and its warnings kept. */
const runWith = (
  clients: Record<string, ECRClient> = { 'eu-central-1': new ECRClient({ region: 'eu-central-1' }) },
  startSaw: readonly MigrationWarning[] = [{ code: 'stagingReplicated', message: 'a rule covers the staging name' }],
): { run: MigrationRun; warnings: MigrationWarning[] } => {
  // The run's warnings: what the start saw (it decides whether replicas are looked for), then this
  // step's; `warnings` answers this step's only.
  const all: MigrationWarning[] = [...startSaw];
  const warnings: MigrationWarning[] = [];
  const run = {
    ctx: fakeContext(),
    state: { migrationId: 'ab0123456789', repositoryName: 'app', region: 'eu-west-1', account: HOME, stagingRepositoryName: STAGING, snapshot: { images: [{ digest: 'sha256:aa' }] }, warnings: all },
    options: { replicas: { ecr: clients, kms: {} } },
    warn: (w: MigrationWarning) => {
      all.push(w);
      warnings.push(w);
    },
  } as unknown as MigrationRun;
  return { run, warnings };
};

describe('deleteStagingReplicas', () => {
  beforeEach(() => {
    ecr.reset();
    ecr.on(DescribeRegistryCommand).resolves({ replicationConfiguration: { rules: [{ destinations: [DEST] }] } });
    ecr.on(DescribeRepositoriesCommand).resolves(replica());
    ecr.on(ListImagesCommand).resolves({ imageIds: [{ imageDigest: 'sha256:aa', imageTag: 'v1' }] });
  });

  it('leaves a replica holding an image the migration did not copy, and names it', async () => {
    ecr.on(ListImagesCommand).resolves({ imageIds: [{ imageDigest: 'sha256:aa' }, { imageDigest: 'sha256:bb' }] });
    const { run, warnings } = runWith();

    expect((await deleteStagingReplicas(run)).isOk()).toBe(true);

    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(warnings.map((w) => [w.code, w.message])).toEqual([['stagingReplicas', expect.stringContaining(`${HOME}/eu-central-1 was left: it holds 1 image(s) this migration did not copy (sha256:bb)`)]]);
  });

  it('leaves a replica when the client given acts in another registry than the destination', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves(replica('AES256', `arn:aws:ecr:eu-central-1:999999999999:repository/${STAGING}`));
    ecr.on(DescribeRepositoriesCommand, { registryId: HOME }).resolves(replica());
    const { run, warnings } = runWith();

    await deleteStagingReplicas(run);

    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(warnings[0]?.message).toContain('acts in another registry (arn:aws:ecr:eu-central-1:999999999999:');
  });

  it('leaves a KMS replica when no KMS client can verify its grants, and one with no client at all', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves(replica('KMS'));
    const kms = runWith();
    await deleteStagingReplicas(kms.run);
    const none = runWith({});
    await deleteStagingReplicas(none.run);

    expect(ecr.commandCalls(DeleteRepositoryCommand)).toHaveLength(0);
    expect(kms.warnings[0]?.message).toContain(`no KMS client was given for ${HOME}/eu-central-1`);
    expect(none.warnings[0]?.message).toContain(`no ECR client for ${HOME}/eu-central-1`);
  });

  it('names the staging name when the replication rules cannot be read and the start could not rule replication out', async () => {
    ecr.on(DescribeRegistryCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'denied' }));
    const quiet = runWith(undefined, []);
    expect((await deleteStagingReplicas(quiet.run)).isOk()).toBe(true);
    expect(quiet.warnings).toEqual([]);
    const { run, warnings } = runWith(undefined, [{ code: 'registryReadDenied', message: 'could not read the replication configuration' }]);

    expect((await deleteStagingReplicas(run)).isOk()).toBe(true);

    expect(warnings.map((w) => w.code)).toEqual(['stagingReplicas']);
    expect(warnings[0]?.message).toContain(`could not read the replication rules (AccessDenied`);
    expect(warnings[0]?.message).toContain(STAGING);
  });
});
