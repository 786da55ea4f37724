/** `encrypted-ecr template put` / `template list` on the emulator, and `audit --require cmk` before and after (issue 18). */
import { CreateRepositoryCreationTemplateCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

let aws: LocalAws;
let keyArn: string;
let roleArn: string;
let env: Record<string, string>;

beforeAll(async () => {
  assertBuilt();
  aws = await startLocalAws({ regions: ['eu-west-1'] });
  env = emulatorEnv(aws);
  const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
  const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'cli template key' }));
  keyArn = KeyMetadata!.Arn!;
  await kms.send(new CreateAliasCommand({ AliasName: 'alias/cli-template', TargetKeyId: keyArn }));
  kms.destroy();
  roleArn = aws.principals.createRole('ecr-template-role', {
    trust: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecr.amazonaws.com' }, Action: 'sts:AssumeRole' }] },
    policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:CreateRepository', 'kms:CreateGrant', 'kms:DescribeKey', 'kms:RetireGrant'], Resource: '*' }] }],
  }).arn;
  const ecr = new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 });
  await ecr.send(new CreateRepositoryCreationTemplateCommand({ prefix: 'ROOT', appliedFor: ['CREATE_ON_PUSH'] }));
  ecr.destroy();
});
afterAll(() => aws.stop());

describe('encrypted-ecr template', () => {
  it('audit --require cmk fails on an AES256 ROOT template; template put fixes it; template list shows it', async () => {
    const before = await runCli(['audit', '--require', 'cmk', ...at(aws)], env);
    expect(before.code).not.toBe(0);
    const report = before.json<{ registryRules: { rules: { prefix: string; status: string }[] } }>();
    expect(report.registryRules.rules).toContainEqual(expect.objectContaining({ prefix: 'ROOT', status: 'fail' }));

    const put = await runCli(
      ['template', 'put', '--prefix', 'ROOT', '--applied-for', 'create-on-push', '--kms-key', 'alias/cli-template', '--custom-role-arn', roleArn, ...at(aws)],
      env,
    );
    expect(put.code).toBe(0);
    expect(put.json<{ action: string; template: { encryption: { keyArn: string } } }>()).toMatchObject({ action: 'updated', template: { encryption: { keyArn } } });

    const list = await runCli(['template', 'list', ...at(aws)], env);
    expect(list.code).toBe(0);
    expect(list.json<{ prefix: string; customRoleArn: string }[]>()).toEqual([expect.objectContaining({ prefix: 'ROOT', customRoleArn: roleArn })]);

    expect((await runCli(['audit', '--require', 'cmk', ...at(aws)], env)).code).toBe(0);
  });

  it('a KMS template without a custom role is a usage error, nothing written', async () => {
    const run = await runCli(['template', 'put', '--prefix', 'team', '--applied-for', 'REPLICATION', '--kms-key', keyArn, ...at(aws)], env);
    expect(run.code).not.toBe(0);
    expect(run.json<{ error: { kind: string } }>().error.kind).toBe('InvalidInput');
  });
});
