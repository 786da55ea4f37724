import type { GrantListEntry } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import {
  ecrRepositoryArnOf,
  grantsOfIncarnation,
  isConstrainedTo,
  isEcrGrantee,
  isEcrGrantFor,
  isEcrServiceGrant,
  unattributedEcrGrants,
} from '../../src/steps/kms-grants.js';
import { repoArn as arnOf } from '../fixtures/index.js';

const repoArn = arnOf('app');

const grant = (id: string, created: string, overrides: Partial<GrantListEntry> = {}): GrantListEntry => ({
  GrantId: id,
  KeyId: 'arn:aws:kms:eu-west-1:111122223333:key/k',
  GranteePrincipal: 'ecr.eu-west-1.amazonaws.com',
  RetiringPrincipal: 'ecr.eu-west-1.amazonaws.com',
  Operations: ['GenerateDataKey', 'Decrypt'],
  Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repoArn } },
  CreationDate: new Date(created),
  ...overrides,
});

describe('ECR grant recognition', () => {
  it('reads the repository ARN whatever the case of the context key', () => {
    expect(ecrRepositoryArnOf(grant('g', '2026-01-01T00:00:00Z', { Constraints: { EncryptionContextSubset: { 'AWS:ECR:ARN': repoArn } } }))).toBe(repoArn);
    expect(ecrRepositoryArnOf(grant('g', '2026-01-01T00:00:00Z', { Constraints: {} }))).toBeUndefined();
  });

  it('recognises grants made for the ECR service principal only', () => {
    expect(isEcrServiceGrant(grant('g', '2026-01-01T00:00:00Z'))).toBe(true);
    expect(isEcrServiceGrant(grant('g', '2026-01-01T00:00:00Z', { GranteePrincipal: 'arn:aws:iam::111122223333:role/app', RetiringPrincipal: 'arn:aws:iam::111122223333:role/app' }))).toBe(false);
  });

  it('keeps the grants of this incarnation and leaves an older incarnation of the same name', () => {
    const createdAt = new Date('2026-06-01T12:00:00Z');
    const grants = [
      grant('old', '2026-01-01T00:00:00Z'),
      grant('new-1', '2026-06-01T12:00:01Z'),
      grant('new-2', '2026-06-01T11:59:59Z'), // within clock tolerance
      grant('other-repo', '2026-06-01T12:00:01Z', { Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': `${repoArn}2` } } }),
    ];
    expect(grantsOfIncarnation(grants, repoArn, createdAt).map((g) => g.GrantId)).toEqual(['new-1', 'new-2']);
  });
});

describe('ECR grant identification by what AWS documents only (issue 11)', () => {
  const createdAt = new Date('2026-06-01T12:00:00Z');

  it('takes the grantee, never the retiring principal, as proof that a grant is ECR\'s', () => {
    const retiringOnly = grant('g', '2026-06-01T12:00:01Z', { GranteePrincipal: 'arn:aws:iam::111122223333:role/app' });
    expect(isEcrGrantee(retiringOnly)).toBe(false);
    expect(grantsOfIncarnation([retiringOnly], repoArn, createdAt)).toEqual([]);
    const byServicePrincipal = { ...grant('s', '2026-06-01T12:00:01Z', { GranteePrincipal: undefined }), GranteeServicePrincipal: 'ecr.eu-west-1.amazonaws.com' } as GrantListEntry;
    expect(grantsOfIncarnation([byServicePrincipal], repoArn, createdAt).map((g) => g.GrantId)).toEqual(['s']);
  });

  it('requires ECR of the repository\'s own region as grantee', () => {
    expect(isEcrGrantFor(grant('g', '2026-06-01T12:00:01Z', { GranteePrincipal: 'ecr.us-east-1.amazonaws.com' }), repoArn)).toBe(false);
  });

  it('reads EncryptionContextEquals too, and names no repository when two constraints disagree', () => {
    expect(ecrRepositoryArnOf(grant('g', '2026-06-01T12:00:01Z', { Constraints: { EncryptionContextEquals: { 'Aws:Ecr:Arn': repoArn } } }))).toBe(repoArn);
    const twoNames = grant('g', '2026-06-01T12:00:01Z', { Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repoArn, 'AWS:ECR:ARN': `${repoArn}2` } } });
    expect(ecrRepositoryArnOf(twoNames)).toBeUndefined();
    expect(isConstrainedTo(twoNames, repoArn)).toBe(true);
  });

  it('places a grant in no lifetime without a creation date, and ends a lifetime where a successor begins', () => {
    const undated = grant('u', '2026-06-01T12:00:01Z', { CreationDate: undefined });
    expect(grantsOfIncarnation([undated], repoArn, createdAt)).toEqual([]);
    const successor = new Date('2026-06-01T14:00:00Z');
    const grants = [grant('ours', '2026-06-01T12:00:01Z'), grant('theirs', '2026-06-01T14:00:00Z')];
    expect(grantsOfIncarnation(grants, repoArn, createdAt, successor).map((g) => g.GrantId)).toEqual(['ours']);
  });

  it('finds unconstrained grants to ECR made around the repository\'s creation, and no others', () => {
    const grants = [
      grant('near', '2026-06-01T12:00:02Z', { Constraints: undefined }),
      grant('far', '2026-06-01T13:00:00Z', { Constraints: undefined }),
      grant('constrained', '2026-06-01T12:00:02Z'),
    ];
    expect(unattributedEcrGrants(grants, repoArn, createdAt).map((g) => g.GrantId)).toEqual(['near']);
  });
});
