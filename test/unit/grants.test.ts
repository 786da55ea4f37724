import type { GrantListEntry } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { ecrRepositoryArnOf, grantsOfIncarnation, isEcrServiceGrant } from '../../src/steps/kms-grants.js';

const repoArn = 'arn:aws:ecr:eu-west-1:111122223333:repository/app';
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
