import {
  GetRoleCommand,
  IAMClient,
  InvalidInputException,
  ListRolesCommand,
  NoSuchEntityException,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import { DescribeKeyCommand, KMSClient, CreateKeyCommand } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, ExpiredTokenException, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock, startLocalAws, type EmulatorCredentials, type LocalAws, type ManualClock } from '../../src/testing/index.js';

let aws: LocalAws;
let clock: ManualClock;
const sts = (credentials?: EmulatorCredentials): STSClient => new STSClient({ ...aws.clientConfig(credentials ? { credentials } : {}), maxAttempts: 1 });
const iam = (credentials?: EmulatorCredentials): IAMClient => new IAMClient({ ...aws.clientConfig(credentials ? { credentials } : {}), maxAttempts: 1 });

beforeAll(async () => {
  clock = manualClock(new Date());
  aws = await startLocalAws({ clock });
});
afterAll(() => aws.stop());

describe('STS', () => {
  it('answers GetCallerIdentity for the default user, a user, and the root user', async () => {
    const me = await sts().send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/admin', UserId: aws.principals.default.userId });
    const dev = aws.principals.createUser('dev', { path: '/team/' });
    expect((await sts(dev.credentials).send(new GetCallerIdentityCommand({}))).Arn).toBe('arn:aws:iam::111122223333:user/team/dev');
    const root = aws.principals.root();
    expect(await sts(root.credentials).send(new GetCallerIdentityCommand({}))).toMatchObject({ Arn: 'arn:aws:iam::111122223333:root', UserId: '111122223333' });
  });

  it('assumes a role: session credentials act with the role policies, and expire', async () => {
    const role = aws.principals.createRole('deployer', {
      path: '/ci/',
      policies: [{ Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] }],
    });
    const caller = aws.principals.createUser('assumer', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: role.arn }] }] });
    const assumed = await sts(caller.credentials).send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'build-42', DurationSeconds: 900 }));
    expect(assumed.AssumedRoleUser).toEqual({ Arn: 'arn:aws:sts::111122223333:assumed-role/deployer/build-42', AssumedRoleId: `${role.roleId}:build-42` });
    expect(assumed.Credentials!.Expiration).toBeInstanceOf(Date);
    const session: EmulatorCredentials = {
      accessKeyId: assumed.Credentials!.AccessKeyId!,
      secretAccessKey: assumed.Credentials!.SecretAccessKey!,
      sessionToken: assumed.Credentials!.SessionToken!,
    };
    expect((await sts(session).send(new GetCallerIdentityCommand({}))).Arn).toBe(assumed.AssumedRoleUser!.Arn);
    const kms = new KMSClient({ ...aws.clientConfig({ credentials: session }), maxAttempts: 1 });
    await expect(kms.send(new CreateKeyCommand({}))).resolves.toBeDefined();
    // A session token that does not match is refused.
    await expect(sts({ ...session, sessionToken: 'forged' }).send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'InvalidClientTokenId' });
    clock.advance(901_000);
    await expect(sts(session).send(new GetCallerIdentityCommand({}))).rejects.toBeInstanceOf(ExpiredTokenException);
    const expiredKms = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ecr' })).catch((e: unknown) => e);
    expect((expiredKms as Error).name).toBe('ExpiredTokenException');
  });

  it('refuses AssumeRole without sts:AssumeRole, or when the trust policy does not name the caller', async () => {
    const role = aws.principals.createRole('locked', {
      trust: { Statement: [{ Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:user/trusted' }, Action: 'sts:AssumeRole' }] },
    });
    const trusted = aws.principals.createUser('trusted');
    const stranger = aws.principals.createUser('stranger', { policies: [{ Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: '*' }] }] });
    // Named directly in the trust policy of a same-account role: no identity policy needed.
    await expect(sts(trusted.credentials).send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'ok' }))).resolves.toBeDefined();
    const denied = await sts(stranger.credentials).send(new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'no' })).catch((e: unknown) => e);
    expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect((denied as Error).message).toContain(`is not authorized to perform: sts:AssumeRole on resource: ${role.arn}`);
    const missing = await sts().send(new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::111122223333:role/none', RoleSessionName: 'x1' })).catch((e: unknown) => e);
    expect((missing as Error).name).toBe('AccessDenied');
  });

  it('gives admin-made sessions (principals.assumeRole) the role policies and session policy', async () => {
    aws.principals.createRole('reader', { policies: [{ Statement: [{ Effect: 'Allow', Action: ['kms:DescribeKey', 'kms:CreateKey'], Resource: '*' }] }] });
    const session = aws.principals.assumeRole('reader', 'test', { sessionPolicy: { Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }] } });
    expect(session.arn).toBe('arn:aws:sts::111122223333:assumed-role/reader/test');
    const kms = new KMSClient({ ...aws.clientConfig({ credentials: session.credentials }), maxAttempts: 1 });
    const denied = await kms.send(new CreateKeyCommand({})).catch((e: unknown) => e);
    expect((denied as Error).name).toBe('AccessDeniedException');
  });
});

describe('IAM', () => {
  it('answers GetRole with the role path, and NoSuchEntityException for an unknown role', async () => {
    const role = aws.principals.createRole('pathy', { path: '/aws-reserved/sso.amazonaws.com/' });
    const { Role } = await iam().send(new GetRoleCommand({ RoleName: 'pathy' }));
    expect(Role).toMatchObject({ RoleName: 'pathy', Path: '/aws-reserved/sso.amazonaws.com/', Arn: role.arn, RoleId: role.roleId, MaxSessionDuration: 3600 });
    expect(JSON.parse(decodeURIComponent(Role!.AssumeRolePolicyDocument!))).toMatchObject({ Statement: [{ Action: 'sts:AssumeRole' }] });
    expect(Role!.CreateDate).toBeInstanceOf(Date);
    const error = await iam().send(new GetRoleCommand({ RoleName: 'missing' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NoSuchEntityException);
    expect(error).toMatchObject({ message: 'The role with name missing cannot be found.', $metadata: { httpStatusCode: 404 } });
  });

  it('simulates one result per action with per-resource results, honouring context entries and boundaries', async () => {
    const user = aws.principals.createUser('simulated', {
      policies: [
        {
          Statement: [
            { Effect: 'Allow', Action: 'kms:CreateGrant', Resource: '*', Condition: { StringEquals: { 'kms:ViaService': 'ecr.us-east-1.amazonaws.com' } } },
            { Effect: 'Allow', Action: ['kms:DescribeKey', 'ecr:CreateRepository'], Resource: '*' },
            { Effect: 'Deny', Action: 'kms:DescribeKey', Resource: 'arn:aws:kms:us-east-1:111122223333:key/denied' },
          ],
        },
      ],
      boundary: { Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] },
    });
    const { EvaluationResults, IsTruncated } = await iam().send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: user.arn,
        ActionNames: ['kms:CreateGrant', 'kms:DescribeKey', 'ecr:CreateRepository'],
        ResourceArns: ['arn:aws:kms:us-east-1:111122223333:key/ok', 'arn:aws:kms:us-east-1:111122223333:key/denied'],
        ContextEntries: [{ ContextKeyName: 'kms:ViaService', ContextKeyValues: ['ecr.us-east-1.amazonaws.com'], ContextKeyType: 'string' }],
      }),
    );
    expect(IsTruncated).toBe(false);
    expect(EvaluationResults).toHaveLength(3);
    const [grant, describe_, ecr] = EvaluationResults!;
    expect(grant).toMatchObject({ EvalActionName: 'kms:CreateGrant', EvalDecision: 'allowed' });
    expect(describe_!.EvalDecision).toBe('explicitDeny');
    expect(describe_!.ResourceSpecificResults!.map((r) => r.EvalResourceDecision)).toEqual(['allowed', 'explicitDeny']);
    expect(ecr).toMatchObject({ EvalDecision: 'implicitDeny', PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false } });

    const without = await iam().send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: user.arn, ActionNames: ['kms:CreateGrant'] }));
    expect(without.EvaluationResults![0]!.EvalDecision).toBe('implicitDeny');
  });

  it('refuses an assumed-role ARN as PolicySourceArn and names unsupported operations', async () => {
    const error = await iam()
      .send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: 'arn:aws:sts::111122223333:assumed-role/deployer/x', ActionNames: ['kms:CreateGrant'] }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidInputException);
    const unknown = await iam().send(new ListRolesCommand({})).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ name: 'InvalidAction' });
    expect((unknown as Error).message).toContain('ListRoles');
  });

  it('refuses a bad signature and an unknown access key with the Query error codes', async () => {
    const wrongSecret = await sts({ ...aws.credentials, secretAccessKey: 'x'.repeat(40) }).send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
    expect(wrongSecret).toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    const unknownKey = await iam({ accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: 'x' }).send(new GetRoleCommand({ RoleName: 'x' })).catch((e: unknown) => e);
    expect(unknownKey).toMatchObject({ name: 'InvalidClientTokenId' });
  });
});
