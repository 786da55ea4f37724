import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, baseEnv, emulatorEnv, runCli } from './helpers.js';

let aws: LocalAws;
let keyArn: string;
let env: Record<string, string>;

interface JsonError {
  readonly error: { readonly kind: string; readonly message: string } & Record<string, unknown>;
}

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({ regions: ['eu-west-1'] });
  env = emulatorEnv(aws);
  const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'cli test key' }));
  keyArn = KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli-app', TargetKeyId: keyArn }));
  kms.destroy();
});
afterAll(() => aws.stop());

describe('encrypted-ecr preflight', () => {
  it('reports every check and exits 0 when create would go ahead', async () => {
    const run = await runCli(['preflight', 'team/app', '--kms-key', 'alias/cli-app', ...at(aws)], env);
    expect(run.code).toBe(0);
    const report = run.json<{ ok: boolean; facts: { keyArn: string; keyManager: string }; findings: unknown[] }>();
    expect(report.ok).toBe(true);
    expect(report.facts).toMatchObject({ keyArn, keyManager: 'CUSTOMER' });
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'team/app')).toBe(false);
  });

  it('exits with the first blocking finding’s code: 3 for a key that does not exist', async () => {
    const run = await runCli(['preflight', 'team/app', '--kms-key', 'alias/missing', ...at(aws)], env);
    expect(run.code).toBe(3);
    const report = run.json<{ ok: boolean; findings: { severity: string; error?: { kind: string } }[] }>();
    expect(report.ok).toBe(false);
    expect(report.findings.find((f) => f.severity === 'error')?.error?.kind).toBe('KeyNotFound');
  });
});

describe('encrypted-ecr create', () => {
  it('creates a repository with the customer key by its canonical ARN, then is idempotent', async () => {
    const first = await runCli(['create', 'team/app', '--kms-key', 'alias/cli-app', '--tag', 'team=platform', ...at(aws)], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const created = first.json<{ created: boolean; encryption: { type: string; keyArn: string }; grants: unknown[]; repository: { name: string } }>();
    expect(created).toMatchObject({ created: true, encryption: { type: 'KMS', keyArn }, repository: { name: 'team/app' } });
    expect(created.grants).toHaveLength(2);

    const again = await runCli(['create', 'team/app', '--kms-key', keyArn, ...at(aws)], env);
    expect(again.code).toBe(0);
    expect(again.json()).toMatchObject({ created: false });
  });

  it('refuses another encryption for an existing repository: EncryptionMismatch, exit 4', async () => {
    const run = await runCli(['create', 'team/app', '--encryption', 'AES256', ...at(aws)], env);
    expect(run.code).toBe(4);
    expect(run.json<JsonError>().error).toMatchObject({ kind: 'EncryptionMismatch', repositoryName: 'team/app', remedy: 'migrateRepository' });
    expect(run.stderr).toMatch(/^encrypted-ecr: EncryptionMismatch: repository team\/app exists with KMS/);
  });

  it('rejects a malformed key ARN before any call: exit 2 with the reason', async () => {
    const run = await runCli(['create', 'team/other', '--kms-key', 'arn:aws:kms:eu-west-1:111122223333:key/not-a-key', ...at(aws)], env);
    expect(run.code).toBe(2);
    const { error } = run.json<JsonError>();
    expect(error.kind).toBe('InvalidEncryption');
    expect(error.message).toContain('not-a-key');
    expect(error).not.toHaveProperty('cause');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('asks for an encryption when none is given: exit 2', async () => {
    const run = await runCli(['create', 'team/other', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('choose the encryption');
  });
});

describe('encrypted-ecr delete', () => {
  it('needs --yes off a terminal, and deletes nothing without it: exit 2', async () => {
    await runCli(['create', 'to-delete', '--kms-key', 'alias/cli-app', ...at(aws)], env);
    const run = await runCli(['delete', 'to-delete', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('pass --yes');
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'to-delete')).toBe(true);
  });

  it('deletes with --yes and proves the grants are retired', async () => {
    const run = await runCli(['delete', 'to-delete', '--yes', ...at(aws)], env);
    expect(run.code).toBe(0);
    const deleted = run.json<{ verified: boolean; repository: { name: string }; grantsRetiredByEcr: string[] }>();
    expect(deleted).toMatchObject({ verified: true, repository: { name: 'to-delete' } });
    expect(deleted.grantsRetiredByEcr).toHaveLength(2);
    expect(aws.inspect.grants(keyArn).filter((g) => !g.retired && g.encryptionContextSubset?.['aws:ecr:arn']?.endsWith('/to-delete'))).toEqual([]);
  });

  it('reports an unknown repository: RepositoryNotFound, exit 3, one line on stderr', async () => {
    const run = await runCli(['delete', 'no-such-repo', '--yes', ...at(aws)], env);
    expect(run.code).toBe(3);
    expect(run.json<JsonError>().error).toEqual({ kind: 'RepositoryNotFound', repositoryName: 'no-such-repo', message: 'repository no-such-repo not found' });
    expect(run.stderr).toBe('encrypted-ecr: RepositoryNotFound: repository no-such-repo not found\n');
  });

  it('exits 8 when the repository is deleted but the caller cannot retire the grants ECR left', async () => {
    await runCli(['create', 'left-behind', '--kms-key', 'alias/cli-app', ...at(aws)], env);
    const user = aws.principals.createUser('no-retire', {
      policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:*', 'kms:DescribeKey', 'kms:ListGrants'], Resource: '*' }] }],
    });
    const run = await runCli(['delete', 'left-behind', '--yes', '--grant-wait', '1', ...at(aws)], emulatorEnv(aws, user.credentials));
    expect(run.code).toBe(8);
    expect(run.json<JsonError>().error).toMatchObject({ kind: 'DeletedButGrantsRemain', repositoryName: 'left-behind', missingPermission: 'kms:RetireGrant', keyArn });
  });
});

describe('usage errors', () => {
  it('a missing region is a clear error, exit 2', async () => {
    const run = await runCli(['audit', '--endpoint-url', aws.endpoint], emulatorEnv(aws));
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no AWS region');
  });

  it('AWS_REGION, AWS_DEFAULT_REGION and AWS_ENDPOINT_URL stand in for the flags', async () => {
    const run = await runCli(['audit'], { ...emulatorEnv(aws), AWS_DEFAULT_REGION: 'eu-west-1', AWS_ENDPOINT_URL: aws.endpoint });
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ region: 'eu-west-1' });
  });

  it('--profile picks credentials and region from the shared config files (the SDK default chain)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-profile-'));
    writeFileSync(join(dir, 'config'), '[profile ci]\nregion = eu-west-1\n');
    writeFileSync(
      join(dir, 'credentials'),
      `[ci]\naws_access_key_id = ${aws.credentials.accessKeyId}\naws_secret_access_key = ${aws.credentials.secretAccessKey}\n`,
    );
    const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
    const run = await runCli(['audit', '--profile', 'ci', '--endpoint-url', aws.endpoint], baseEnv(files));
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ region: 'eu-west-1' });

  });

  it('--profile naming no profile of the shared files is a usage error naming the files, before the region check', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-profile-'));
    // `[ci]` in the config file is no profile to the SDK (it wants `[profile ci]`); `[empty]` holds no key.
    writeFileSync(join(dir, 'config'), `[ci]\nregion = eu-west-1\n[profile only-config]\nregion = eu-west-1\n` +
        `aws_access_key_id = ${aws.credentials.accessKeyId}\naws_secret_access_key = ${aws.credentials.secretAccessKey}\n`,
    );
    writeFileSync(join(dir, 'credentials'), '[empty]\n[only-credentials]\naws_access_key_id = x\naws_secret_access_key = y\n');
    const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
    for (const profile of ['nosuch', 'ci', 'empty']) {
      // No region anywhere: the profile is the error reported, not the missing region.
      const run = await runCli(['audit', '--profile', profile, '--endpoint-url', aws.endpoint], baseEnv(files));
      expect(run.code, profile).toBe(2);
      expect(run.stderr.trim()).toBe(
        `encrypted-ecr: UsageError: --profile: profile ${profile} not found in ${files.AWS_CONFIG_FILE} or ${files.AWS_SHARED_CREDENTIALS_FILE}`,
      );
      expect(run.json<JsonError>().error.kind).toBe('UsageError');
    }
    // A profile of either file gets past the check (to the region check, or on).
    const configOnly = await runCli(['audit', '--profile', 'only-config', '--endpoint-url', aws.endpoint], baseEnv(files));
    expect(configOnly.stderr).toBe('');
    expect(configOnly.code).toBe(0);
    const credentialsOnly = await runCli(['audit', '--profile', 'only-credentials', '--endpoint-url', aws.endpoint], baseEnv(files));
    expect(credentialsOnly.stderr).toContain('no AWS region');
  });

  it('enum-like options take any case: --image-tag-mutability, --encryption, --output', async () => {
    const run = await runCli(['create', 'case/app', '--encryption', 'aes256', '--image-tag-mutability', 'immutable', '--output', 'JSON', ...at(aws)], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.json()).toMatchObject({ created: true, encryption: { type: 'AES256' } });
    const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
    const described = await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['case/app'] }));
    ecr.destroy();
    expect(described.repositories?.[0]?.imageTagMutability).toBe('IMMUTABLE');
  });

  it('an unknown flag is exit 2 with the flag named; a JSON error under --output json', async () => {
    const plain = await runCli(['audit', '--no-such-flag'], baseEnv());
    expect(plain.code).toBe(2);
    expect(plain.stderr).toContain("unknown option '--no-such-flag'");
    const json = await runCli(['audit', '--no-such-flag', '--output', 'json'], baseEnv());
    expect(json.code).toBe(2);
    expect(json.json<JsonError>().error.kind).toBe('UsageError');
  });

  it('an unknown command is exit 2', async () => {
    const run = await runCli(['migrat'], baseEnv());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("unknown command 'migrat'");
  });

  it('--output table prints a table even when piped', async () => {
    const run = await runCli(['audit', '--output', 'table', ...at(aws)], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^REPOSITORY\s+ENCRYPTION\s+KEY/);
    expect(run.stdout).toContain('team/app');
  });
});
