/**
 * The official AWS CLI v2 against the emulator, doing what ECR's documentation tells a user to do:
 * create a KMS-encrypted repository, find its grants with `kms list-grants` by the repository ARN in
 * `EncryptionContextSubset`, delete without `kms:RetireGrant` (grants stay), retire them by hand with
 * `kms retire-grant` — and the library agreeing with what the CLI sees at every step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, manualClock, startLocalAws } from '../../src/testing/index.js';
import { allow, registryFor } from '../helpers/local-aws.js';
import { available, awsCli, json } from './tools.js';

interface Grant {
  readonly GrantId: string;
  readonly GranteePrincipal?: string;
  readonly Constraints?: { readonly EncryptionContextSubset?: Record<string, string> };
}

const grantsOf = (grants: readonly Grant[], arn: string): Grant[] =>
  grants.filter((grant) => grant.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] === arn);

// Each AWS CLI run starts a Python interpreter (≈1 s, more on a loaded machine).
describe.runIf(available('aws-cli'))('AWS CLI v2 against the emulator', { timeout: 240_000 }, () => {
  // The sweep leaves alone grants younger than its clock tolerance: run the emulator an hour behind.
  const clock = manualClock(new Date(Date.now() - 60 * 60 * 1000));
  let aws: LocalAws;
  let library: EncryptedRegistry;

  beforeAll(async () => {
    aws = await startLocalAws({ clock });
    library = registryFor(aws);
  });
  afterAll(async () => {
    library.destroy();
    await aws.stop();
  });

  it('create with a CMK, list-grants by ARN, delete without RetireGrant, retire by hand as documented', async () => {
    const admin = aws.credentials;
    const { KeyMetadata } = json<{ KeyMetadata: { Arn: string; KeyId: string } }>(await awsCli(aws, admin, 'kms', 'create-key'));
    const alias = 'alias/cli-app';
    expect((await awsCli(aws, admin, 'kms', 'create-alias', '--alias-name', alias, '--target-key-id', KeyMetadata.KeyId)).code).toBe(0);

    const deployer = aws.principals.createUser('cli-deployer', {
      policies: [allow([['ecr:*', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:ListGrants']])],
    }).credentials;
    const created = json<{ repository: { repositoryArn: string; encryptionConfiguration: { encryptionType: string; kmsKey: string } } }>(
      await awsCli(aws, deployer, 'ecr', 'create-repository', '--repository-name', 'team/cli-app', '--encryption-configuration', `encryptionType=KMS,kmsKey=${alias}`),
    );
    // ECR stores and returns the key ARN, whatever form was given.
    expect(created.repository.encryptionConfiguration).toEqual({ encryptionType: 'KMS', kmsKey: KeyMetadata.Arn });
    const arn = created.repository.repositoryArn;

    const listed = json<{ Grants: Grant[] }>(await awsCli(aws, admin, 'kms', 'list-grants', '--key-id', KeyMetadata.Arn));
    const ecrGrants = grantsOf(listed.Grants, arn);
    expect(ecrGrants.length).toBeGreaterThanOrEqual(1);
    expect(ecrGrants.every((grant) => grant.GranteePrincipal === `ecr.${aws.region}.amazonaws.com`)).toBe(true);

    // The deployer may not retire grants: the repository goes, its grants stay.
    const deleted = await awsCli(aws, deployer, 'ecr', 'delete-repository', '--repository-name', 'team/cli-app', '--force');
    const gone = await awsCli(aws, admin, 'ecr', 'describe-repositories', '--repository-names', 'team/cli-app');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('RepositoryNotFoundException');
    const left = grantsOf(json<{ Grants: Grant[] }>(await awsCli(aws, admin, 'kms', 'list-grants', '--key-id', KeyMetadata.Arn)).Grants, arn);
    expect(left.length).toBe(ecrGrants.length);
    if (deleted.code !== 0) expect(deleted.stderr).toMatch(/KmsException|AccessDenied/);

    // The library sees exactly those as orphans of a deleted repository.
    clock.advance(10 * 60 * 1000);
    const report = (await library.findOrphanedGrants({ keys: [KeyMetadata.Arn] }))._unsafeUnwrap();
    const orphanIds = report.keys.flatMap((key) => key.orphans.map((orphan) => orphan.grantId)).sort();
    expect(orphanIds).toEqual(left.map((grant) => grant.GrantId).sort());

    // The documented manual fix: retire-grant with the key ARN and grant id, as the account.
    for (const grant of left) {
      expect((await awsCli(aws, admin, 'kms', 'retire-grant', '--key-id', KeyMetadata.Arn, '--grant-id', grant.GrantId)).code).toBe(0);
    }
    const after = json<{ Grants: Grant[] }>(await awsCli(aws, admin, 'kms', 'list-grants', '--key-id', KeyMetadata.Arn));
    expect(grantsOf(after.Grants, arn)).toEqual([]);
  });

  it('sets up the README scenario with IAM and STS over HTTP only: a user without kms:RetireGrant, a role assumed by session', async () => {
    const admin = aws.credentials;
    const created = json<{ User: { Arn: string; UserName: string } }>(await awsCli(aws, admin, 'iam', 'create-user', '--user-name', 'http-deployer'));
    expect(created.User).toMatchObject({ UserName: 'http-deployer', Arn: `arn:aws:iam::${aws.account}:user/http-deployer` });
    const policy = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' }] };
    expect((await awsCli(aws, admin, 'iam', 'put-user-policy', '--user-name', 'http-deployer', '--policy-name', 'deploy', '--policy-document', JSON.stringify(policy))).code).toBe(0);
    const key = json<{ AccessKey: { AccessKeyId: string; SecretAccessKey: string; Status: string } }>(await awsCli(aws, admin, 'iam', 'create-access-key', '--user-name', 'http-deployer'));
    expect(key.AccessKey.Status).toBe('Active');
    const deployer = { accessKeyId: key.AccessKey.AccessKeyId, secretAccessKey: key.AccessKey.SecretAccessKey };
    const who = json<{ Arn: string }>(await awsCli(aws, deployer, 'sts', 'get-caller-identity'));
    expect(who.Arn).toBe(created.User.Arn);
    // The inline policy is in force: ECR yes, IAM no.
    expect((await awsCli(aws, deployer, 'ecr', 'create-repository', '--repository-name', 'http-app')).code).toBe(0);
    const denied = await awsCli(aws, deployer, 'iam', 'create-user', '--user-name', 'sneaky');
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('AccessDenied');

    // A role with a managed policy, assumed by the admin: the session acts with the role's policy.
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: 'sts:AssumeRole' }] };
    const role = json<{ Role: { Arn: string } }>(await awsCli(aws, admin, 'iam', 'create-role', '--role-name', 'http-ci', '--path', '/ci/', '--assume-role-policy-document', JSON.stringify(trust)));
    expect(role.Role.Arn).toBe(`arn:aws:iam::${aws.account}:role/ci/http-ci`);
    const managed = json<{ Policy: { Arn: string } }>(await awsCli(aws, admin, 'iam', 'create-policy', '--policy-name', 'ecr-read', '--policy-document',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:DescribeRepositories'], Resource: '*' }] })));
    expect((await awsCli(aws, admin, 'iam', 'attach-role-policy', '--role-name', 'http-ci', '--policy-arn', managed.Policy.Arn)).code).toBe(0);
    const session = json<{ Credentials: { AccessKeyId: string; SecretAccessKey: string; SessionToken: string }; AssumedRoleUser: { Arn: string } }>(
      await awsCli(aws, admin, 'sts', 'assume-role', '--role-arn', role.Role.Arn, '--role-session-name', 'build-7'),
    );
    expect(session.AssumedRoleUser.Arn).toBe(`arn:aws:sts::${aws.account}:assumed-role/http-ci/build-7`);
    const asRole = { accessKeyId: session.Credentials.AccessKeyId, secretAccessKey: session.Credentials.SecretAccessKey, sessionToken: session.Credentials.SessionToken };
    expect((await awsCli(aws, asRole, 'ecr', 'describe-repositories')).code).toBe(0);
    const cannot = await awsCli(aws, asRole, 'ecr', 'create-repository', '--repository-name', 'by-role');
    expect(cannot.stderr).toContain('AccessDenied');

    // IAM refuses what it would refuse: a policy with both Resource and NotResource, a taken name.
    const malformed = await awsCli(aws, admin, 'iam', 'put-role-policy', '--role-name', 'http-ci', '--policy-name', 'bad', '--policy-document',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'ecr:*', Resource: '*', NotResource: 'x' }] }));
    expect(malformed.stderr).toContain('MalformedPolicyDocument');
    expect((await awsCli(aws, admin, 'iam', 'create-user', '--user-name', 'http-deployer')).stderr).toContain('EntityAlreadyExists');
  });

  it('set-repository-policy refuses a statement with Resource, as ECR does', async () => {
    const admin = aws.credentials;
    expect((await awsCli(aws, admin, 'ecr', 'create-repository', '--repository-name', 'cli-policy')).code).toBe(0);
    const statement = { Sid: 'Pull', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${aws.account}:root` }, Action: ['ecr:BatchGetImage'] };
    const refused = await awsCli(aws, admin, 'ecr', 'set-repository-policy', '--repository-name', 'cli-policy', '--policy-text',
      JSON.stringify({ Version: '2012-10-17', Statement: [{ ...statement, Resource: '*' }] }));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('InvalidParameterException');
    const accepted = await awsCli(aws, admin, 'ecr', 'set-repository-policy', '--repository-name', 'cli-policy', '--policy-text',
      JSON.stringify({ Version: '2012-10-17', Statement: [statement] }));
    expect(accepted.code).toBe(0);
  });
});
