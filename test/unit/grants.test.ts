import type { GrantListEntry } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { isStillOrphaned } from '../../src/grants/orphans.js';
import {
  ecrRepositoryArnOf,
  GRANT_CLOCK_SKEW_MS,
  GRANT_CONSISTENCY_MS,
  grantsOfIncarnation,
  isConstrainedTo,
  isEcrGrantee,
  isEcrGrantFor,
  isEcrServiceGrant,
  mayNotShowGrantsYet,
  predates,
  unattributedEcrGrants,
} from '../../src/grants/rules.js';
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

describe('the grant rules live in src/grants/ only (issue 14)', () => {
  const createdAt = new Date('2026-06-01T12:00:00Z');
  const at = (ms: number): Date => new Date(createdAt.getTime() + ms);

  it('steps/kms-grants.ts holds the KMS calls and no grant policy', async () => {
    const steps = await import('../../src/steps/kms-grants.js');
    expect(Object.keys(steps).sort()).toEqual(['LIST_GRANTS_PAGE', 'listAllGrants', 'retireGrant']);
  });

  it('a grant predates a repository only when earlier by more than the clock tolerance, and never without a date', () => {
    expect(predates(at(-GRANT_CLOCK_SKEW_MS - 1), createdAt)).toBe(true);
    expect(predates(at(-GRANT_CLOCK_SKEW_MS), createdAt)).toBe(false);
    expect(predates(undefined, createdAt)).toBe(false);
  });

  it('an incarnation may not show its grants yet for the consistency delay plus the clock tolerance', () => {
    expect(mayNotShowGrantsYet({ createdAt }, at(GRANT_CONSISTENCY_MS + GRANT_CLOCK_SKEW_MS - 1))).toBe(true);
    expect(mayNotShowGrantsYet({ createdAt }, at(GRANT_CONSISTENCY_MS + GRANT_CLOCK_SKEW_MS))).toBe(false);
  });

  it('an orphan is still one when its repository is gone, or the repository now is a later incarnation', () => {
    const orphan = { grantId: 'g', repositoryArn: repoArn, creationDate: createdAt, reason: 'repository-deleted' } as const;
    expect(isStillOrphaned(orphan, undefined)).toBe(true);
    expect(isStillOrphaned(orphan, { createdAt: at(GRANT_CLOCK_SKEW_MS + 1) })).toBe(true);
    expect(isStillOrphaned(orphan, { createdAt: at(GRANT_CLOCK_SKEW_MS) })).toBe(false);
    expect(isStillOrphaned(orphan, {})).toBe(false);
    expect(isStillOrphaned({ ...orphan, creationDate: undefined }, { createdAt: at(GRANT_CLOCK_SKEW_MS + 1) })).toBe(false);
  });
});
