/**
 * A small stateful stand-in for one key's grants behind aws-sdk-client-mock: ListGrants pages
 * through what is on the key, and a retired grant can stay listed for a few more listings, as KMS's
 * eventual consistency allows.
 */
import type { GrantListEntry, ListGrantsCommandInput, ListGrantsResponse } from '@aws-sdk/client-kms';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-west-1';
export const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/${KEY_ID}`;
export const ECR_PRINCIPAL = `ecr.${REGION}.amazonaws.com`;

export const repositoryArn = (name: string, region = REGION, account = ACCOUNT): string =>
  `arn:aws:ecr:${region}:${account}:repository/${name}`;

/** A grant as ECR makes it for a repository. */
export const ecrGrant = (grantId: string, repoArn: string, created: Date, keyArn = KEY_ARN): GrantListEntry => ({
  KeyId: keyArn,
  GrantId: grantId,
  GranteePrincipal: ECR_PRINCIPAL,
  RetiringPrincipal: ECR_PRINCIPAL,
  IssuingAccount: `arn:aws:iam::${ACCOUNT}:root`,
  Operations: ['GenerateDataKey', 'Decrypt'],
  Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repoArn } },
  CreationDate: created,
});

/** A grant some other service or person made on the key. */
export const otherGrant = (grantId: string, created: Date, keyArn = KEY_ARN): GrantListEntry => ({
  KeyId: keyArn,
  GrantId: grantId,
  GranteePrincipal: `arn:aws:iam::${ACCOUNT}:role/app`,
  Operations: ['Decrypt'],
  CreationDate: created,
});

export class FakeGrants {
  readonly #grants = new Map<string, { grant: GrantListEntry; listedFor: number | undefined }>();
  /** How many listings (first pages) were served. */
  listings = 0;

  constructor(grants: readonly GrantListEntry[] = []) {
    for (const grant of grants) this.add(grant);
  }

  add(grant: GrantListEntry): void {
    this.#grants.set(grant.GrantId ?? '', { grant, listedFor: undefined });
  }

  /** Retires a grant; it stays listed for `lag` more listings. Returns false when it was already gone. */
  retire(grantId: string, lag = 0): boolean {
    const entry = this.#grants.get(grantId);
    if (!entry || entry.listedFor !== undefined) return false;
    if (lag === 0) this.#grants.delete(grantId);
    else entry.listedFor = lag;
    return true;
  }

  /** Whether the grant is active (not retired), whatever listings still show. */
  isActive(grantId: string): boolean {
    return this.#grants.get(grantId)?.listedFor === undefined && this.#grants.has(grantId);
  }

  /** ListGrants: pages of `Limit`, `Truncated` with a marker while more remain. */
  list = (input: ListGrantsCommandInput): ListGrantsResponse => {
    const start = input.Marker ? Number(input.Marker) : 0;
    const all = [...this.#grants.values()];
    if (start === 0) {
      // A new listing: retired grants age by one listing.
      this.listings++;
      for (const [id, entry] of this.#grants) {
        if (entry.listedFor === undefined) continue;
        if (entry.listedFor <= 1) this.#grants.delete(id);
        else entry.listedFor--;
      }
    }
    const limit = input.Limit ?? 50;
    const page = all.slice(start, start + limit).map((e) => e.grant);
    const more = start + limit < all.length;
    return more ? { Grants: page, Truncated: true, NextMarker: String(start + limit) } : { Grants: page, Truncated: false };
  };
}
