import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, baseEnv, runCli } from './helpers.js';

const KEY = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const USER = 'arn:aws:iam::111122223333:user/dev';
const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-cli-policy-'));
const env = baseEnv();

interface Policy {
  readonly Version: string;
  readonly Statement: readonly { readonly Sid?: string; readonly Effect: string; readonly Action?: string | readonly string[]; readonly Condition?: unknown }[];
}

let identityFile: string;

beforeAll(async () => {
  assertBuilt();
  const run = await runCli(
    ['policy', 'generate', 'identity', '--region', 'eu-west-1', '--account', '111122223333', '--prefix', 'team/', '--key-arn', KEY, '--operations', 'create,delete'],
    env,
  );
  expect(run.code).toBe(0);
  identityFile = join(dir, 'identity.json');
  writeFileSync(identityFile, run.stdout);
});

describe('encrypted-ecr policy generate', () => {
  it('identity: a least-privilege policy with ecr:GetAuthorizationToken on *', async () => {
    const run = await runCli(['policy', 'generate', 'identity', '--region', 'eu-west-1', '--account', '111122223333', '--repositories', 'app,web', '--key-arn', KEY], env);
    expect(run.code).toBe(0);
    const policy = run.json<Policy>();
    expect(policy.Version).toBe('2012-10-17');
    expect(policy.Statement.some((s) => s.Action === 'ecr:GetAuthorizationToken' || (Array.isArray(s.Action) && s.Action.includes('ecr:GetAuthorizationToken')))).toBe(true);
  });

  it('key: statements scoped to ECR with kms:ViaService', async () => {
    const run = await runCli(['policy', 'generate', 'key', '--region', 'eu-west-1', '--account', '111122223333', '--principal', USER], env);
    expect(run.code).toBe(0);
    expect(JSON.stringify(run.json<Policy>())).toContain('ecr.eu-west-1.amazonaws.com');
  });

  it('endpoint: the s3 gateway policy for ECR layers', async () => {
    const run = await runCli(['policy', 'generate', 'endpoint', '--service', 's3', '--region', 'us-west-2'], env);
    expect(run.code).toBe(0);
    expect(JSON.stringify(run.json<Policy>())).toContain('prod-us-west-2-starport-layer-bucket');
  });

  it('reports the generator’s InvalidInput: exit 2', async () => {
    const run = await runCli(['policy', 'generate', 'key', '--region', 'eu-west-1', '--account', '1234'], env);
    expect(run.code).toBe(2);
    expect(run.json<{ error: { kind: string; field: string } }>().error).toMatchObject({ kind: 'InvalidInput', field: 'account' });
    expect(run.stderr).toContain('12-digit');
  });

  it('needs a region: exit 2', async () => {
    const run = await runCli(['policy', 'generate', 'key', '--account', '111122223333'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no region');
  });
});

describe('encrypted-ecr policy check', () => {
  it('allows kms:CreateGrant through ECR under the generated policy: exit 0, with the deciding statement', async () => {
    const run = await runCli(
      ['policy', 'check', '--action', 'kms:CreateGrant', '--resource', KEY, '--principal', USER,
        '--context', 'kms:ViaService=ecr.eu-west-1.amazonaws.com', '--context', 'kms:GrantIsForAWSResource=true', '--policy-file', identityFile],
      env,
    );
    expect(run.code).toBe(0);
    const explanation = run.json<{ decision: string; statements: { source: string }[] }>();
    expect(explanation.decision).toBe('allowed');
    expect(explanation.statements[0]?.source).toBe('identity');
  });

  it('denies kms:CreateGrant outside ECR (no kms:ViaService): exit 5', async () => {
    const run = await runCli(['policy', 'check', '--action', 'kms:CreateGrant', '--resource', KEY, '--principal', USER, '--policy-file', identityFile], env);
    expect(run.code).toBe(5);
    expect(run.json<{ decision: string }>().decision).toBe('implicitDeny');
  });

  it('an explicit deny in an endpoint policy decides', async () => {
    const endpoint = join(dir, 'endpoint.json');
    writeFileSync(endpoint, JSON.stringify({ Statement: [{ Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository', Resource: '*' }, { Effect: 'Allow', Principal: '*', Action: '*', Resource: '*' }] }));
    const run = await runCli(
      ['policy', 'check', '--action', 'ecr:DeleteRepository', '--resource', 'arn:aws:ecr:eu-west-1:111122223333:repository/team/app', '--principal', USER,
        '--policy-file', identityFile, '--endpoint-policy-file', endpoint],
      env,
    );
    expect(run.code).toBe(5);
    expect(run.json<{ decision: string; statements: { source: string }[] }>()).toMatchObject({ decision: 'explicitDeny', statements: [{ source: 'endpoint' }] });
  });

  it('a policy AWS would refuse (Resource and NotResource) is refused with the reason: exit 2', async () => {
    const both = join(dir, 'both.json');
    writeFileSync(both, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'ecr:*', Resource: '*', NotResource: 'arn:aws:ecr:eu-west-1:111122223333:repository/x' }] }));
    const run = await runCli(
      ['policy', 'check', '--action', 'ecr:PutImage', '--resource', 'arn:aws:ecr:eu-west-1:111122223333:repository/team/app', '--principal', USER,
        '--policy-file', identityFile, '--repository-policy-file', both],
      env,
    );
    expect(run.code).toBe(2);
    expect(run.json<{ decision: string; reason: string }>()).toMatchObject({ decision: 'invalidPolicy' });
    expect(run.json<{ reason: string }>().reason).toContain('both Resource and NotResource');
  });

  it('a policy file that is not JSON is a usage error: exit 2', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, 'not json');
    const run = await runCli(['policy', 'check', '--action', 'kms:Decrypt', '--resource', KEY, '--policy-file', bad], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not JSON');
  });

  it('--action is required: exit 2', async () => {
    const run = await runCli(['policy', 'check', '--resource', KEY, '--policy-file', identityFile], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--action <action>' not specified");
  });
});
