import {
  DeleteRepositoryPolicyCommand,
  ECRServiceException,
  GetRepositoryPolicyCommand,
  InvalidParameterException,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import { beforeEach, describe, expect, it } from 'vitest';
import { FREEZE_SID, freezeStatement, frozenPolicy } from '../../../src/policy/freeze.js';
import { freezeBaseOf, restoreRepositoryPolicy, type Retrying, withoutDeletedPrincipals } from '../../../src/migration/policy-restore.js';
import { ECRClient } from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { fakeContext } from '../../fixtures/create-stubs.js';

const ecr = mockClient(ECRClient);

const ROLE = 'AROAEXAMPLEDELETED0001';
const USER = 'AIDAEXAMPLEDELETED0002';
const LIVE = 'arn:aws:iam::111122223333:role/deployer';
const doc = (...Statement: Record<string, unknown>[]): string => JSON.stringify({ Version: '2012-10-17', Statement });
const statementsOf = (text: string | undefined): unknown[] => (JSON.parse(text ?? '{}') as { Statement: unknown[] }).Statement;

describe('the freeze statement', () => {
  it('has no Resource or NotResource: ECR refuses both in a repository policy', () => {
    const statement = freezeStatement('a1b2c3d4e5f6', [LIVE]);
    expect(statement).not.toHaveProperty('Resource');
    expect(statement).not.toHaveProperty('NotResource');
    const frozen = frozenPolicy(doc({ Sid: 'Pull', Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }), 'a1b2c3d4e5f6', [LIVE])._unsafeUnwrap();
    for (const s of statementsOf(frozen)) expect(Object.keys(s as object)).not.toContain('Resource');
    expect(statementsOf(frozen)).toContainEqual(expect.objectContaining({ Sid: `${FREEZE_SID}a1b2c3d4e5f6`, Principal: '*', Effect: 'Deny' }));
  });
});

describe('withoutDeletedPrincipals', () => {
  it('takes unique ids out of Principal, drops statements that named only them, and keeps everything else', () => {
    const saved = doc(
      { Sid: 'Mixed', Effect: 'Allow', Principal: { AWS: [ROLE, LIVE] }, Action: 'ecr:BatchGetImage' },
      { Sid: 'OnlyDeleted', Effect: 'Deny', Principal: { AWS: USER }, Action: 'ecr:PutImage' },
      { Sid: 'WithService', Effect: 'Allow', Principal: { AWS: ROLE, Service: 'lambda.amazonaws.com' }, Action: 'ecr:BatchGetImage' },
      { Sid: 'Everyone', Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository' },
    );
    const cleaned = withoutDeletedPrincipals(saved);
    expect(cleaned?.removed).toEqual([ROLE, USER]);
    expect(cleaned?.droppedStatements).toEqual(['OnlyDeleted']);
    expect(statementsOf(cleaned?.text)).toEqual([
      { Sid: 'Mixed', Effect: 'Allow', Principal: { AWS: LIVE }, Action: 'ecr:BatchGetImage' },
      { Sid: 'WithService', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'ecr:BatchGetImage' },
      { Sid: 'Everyone', Effect: 'Deny', Principal: '*', Action: 'ecr:DeleteRepository' },
    ]);
  });

  it('never drops a NotPrincipal Deny that still applies: with only deleted exceptions it stays as it is', () => {
    const denyAllButDeleted = { Sid: 'DenyAllBut', Effect: 'Deny', NotPrincipal: { AWS: ROLE }, Action: 'ecr:*' };
    expect(withoutDeletedPrincipals(doc(denyAllButDeleted))).toBeUndefined();
    const cleaned = withoutDeletedPrincipals(doc({ ...denyAllButDeleted, NotPrincipal: { AWS: [ROLE, LIVE] } }));
    expect(statementsOf(cleaned?.text)).toEqual([{ ...denyAllButDeleted, NotPrincipal: { AWS: LIVE } }]);
  });

  it('leaves no policy when every statement named only deleted principals, and nothing to do without unique ids', () => {
    const cleaned = withoutDeletedPrincipals(doc({ Sid: 'A', Effect: 'Allow', Principal: { AWS: [ROLE, USER] }, Action: 'ecr:*' }));
    expect(cleaned).toMatchObject({ text: undefined, droppedStatements: ['A'] });
    expect(withoutDeletedPrincipals(doc({ Effect: 'Allow', Principal: { AWS: LIVE }, Action: 'ecr:*' }))).toBeUndefined();
    expect(withoutDeletedPrincipals('not json')).toBeUndefined();
    expect(freezeBaseOf(undefined)).toBeUndefined();
    expect(freezeBaseOf(doc({ Sid: 'A', Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'ecr:*' }))).toBeUndefined();
  });
});

describe('restoreRepositoryPolicy', () => {
  const ID = 'a1b2c3d4e5f6';
  const saved = doc({ Sid: 'Pull', Effect: 'Allow', Principal: { AWS: [ROLE, LIVE] }, Action: 'ecr:BatchGetImage' });
  const frozenLive = frozenPolicy(saved, ID, [LIVE])._unsafeUnwrap();
  const refused = (): InvalidParameterException =>
    new InvalidParameterException({ $metadata: {}, message: "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'" });
  const once: Retrying = (_operation, attempt) => attempt();
  const restore = (text = saved) => restoreRepositoryPolicy(fakeContext(), 'app', text, ID, once);

  beforeEach(() => {
    ecr.reset();
    ecr.on(GetRepositoryPolicyCommand).resolves({ repositoryName: 'app', policyText: frozenLive });
  });

  it('sets the saved text exactly, with force, when ECR takes it', async () => {
    ecr.on(SetRepositoryPolicyCommand).resolves({});
    expect((await restore())._unsafeUnwrap()).toBeUndefined();
    expect(ecr.commandCalls(SetRepositoryPolicyCommand).map((c) => c.args[0].input)).toEqual([{ repositoryName: 'app', policyText: saved, force: true }]);
  });

  it('retries without the deleted principals when ECR refuses the saved text, and says so', async () => {
    ecr.on(SetRepositoryPolicyCommand).rejectsOnce(refused()).resolves({});
    const warning = (await restore())._unsafeUnwrap();
    expect(warning).toMatchObject({ code: 'repositoryPolicyCleaned', message: expect.stringContaining(ROLE) as string });
    const texts = ecr.commandCalls(SetRepositoryPolicyCommand).map((c) => c.args[0].input.policyText);
    expect(texts).toEqual([saved, withoutDeletedPrincipals(saved)?.text]);
  });

  it('deletes the policy when nothing is left of it', async () => {
    const onlyDeleted = doc({ Sid: 'A', Effect: 'Allow', Principal: { AWS: ROLE }, Action: 'ecr:*' });
    ecr.on(GetRepositoryPolicyCommand).resolves({ policyText: frozenPolicy(undefined, ID, [LIVE])._unsafeUnwrap() });
    ecr.on(SetRepositoryPolicyCommand).rejects(refused());
    ecr.on(DeleteRepositoryPolicyCommand).resolves({});
    expect((await restore(onlyDeleted))._unsafeUnwrap()?.code).toBe('repositoryPolicyCleaned');
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(1);
    expect(ecr.commandCalls(DeleteRepositoryPolicyCommand)).toHaveLength(1);
  });

  it('ends with RepositoryPolicyRefused (saved text, AWS reason, still frozen) when ECR refuses the cleaned text too', async () => {
    ecr.on(SetRepositoryPolicyCommand).rejects(refused());
    const error = (await restore())._unsafeUnwrapErr();
    expect(error).toEqual({
      kind: 'RepositoryPolicyRefused',
      repositoryName: 'app',
      savedPolicy: saved,
      attemptedPolicy: withoutDeletedPrincipals(saved)?.text,
      reason: "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Principal not found'",
      stillFrozen: true,
    });
  });

  it('ends with RepositoryPolicyRefused at once when there is no deleted principal to take out', async () => {
    const plain = doc({ Sid: 'Pull', Effect: 'Allow', Principal: { AWS: LIVE }, Action: 'ecr:BatchGetImage' });
    ecr.on(SetRepositoryPolicyCommand).rejects(refused());
    expect((await restore(plain))._unsafeUnwrapErr()).toMatchObject({ kind: 'RepositoryPolicyRefused', savedPolicy: plain, attemptedPolicy: undefined });
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(1);
  });

  it('keeps the policy the migrating principal set after a refusal (the freeze is gone)', async () => {
    const chosen = doc({ Sid: 'Chosen', Effect: 'Allow', Principal: { AWS: LIVE }, Action: 'ecr:*' });
    ecr.on(GetRepositoryPolicyCommand).resolves({ policyText: chosen });
    ecr.on(SetRepositoryPolicyCommand).rejects(refused());
    expect((await restore())._unsafeUnwrap()?.code).toBe('repositoryPolicyKept');
    expect(ecr.commandCalls(SetRepositoryPolicyCommand)).toHaveLength(1);
  });

  it('passes any other failure through untouched', async () => {
    ecr.on(SetRepositoryPolicyCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'denied' }));
    const retried: string[] = [];
    const recording: Retrying = (operation, attempt) => {
      retried.push(operation);
      return attempt();
    };
    const result = await restoreRepositoryPolicy(fakeContext(), 'app', saved, ID, recording);
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied', operation: 'SetRepositoryPolicy' });
    expect(retried).toEqual(['SetRepositoryPolicy']);
    expect(ecr.commandCalls(GetRepositoryPolicyCommand)).toHaveLength(0);
  });
});
