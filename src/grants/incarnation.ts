/**
 * One incarnation of a repository name, and which grants on a key are its. A name is reusable and
 * so is its ARN: only creation times tell an old incarnation's grants from a recreated
 * repository's. Identification is fail-closed, by what AWS documents only: an `aws:ecr:arn`
 * constraint equal to the ARN, ECR of the ARN's region as grantee, and a creation date inside the
 * incarnation's lifetime (from its `createdAt` to a successor's, less the clock tolerance).
 */
import type { Repository } from '@aws-sdk/client-ecr';
import type { GrantListEntry } from '@aws-sdk/client-kms';
import { createdWithin, grantsOfIncarnation, type IncarnationWindow, isConstrainedTo, isEcrGrantFor, predates, unattributedEcrGrants } from './rules.js';

/** One lifetime of a repository name: its ARN, and when it began (and ended, when a successor is known). */
export interface Incarnation extends IncarnationWindow {
  readonly name: string;
  readonly arn: string;
}

/** The incarnation a DescribeRepositories/CreateRepository answer describes; `undefined` without ARN or `createdAt`. */
export const incarnationOf = (repository: Repository, name: string): Incarnation | undefined =>
  repository.repositoryArn && repository.createdAt ? { name, arn: repository.repositoryArn, createdAt: repository.createdAt } : undefined;

/** Whether a repository answer is this incarnation (same `createdAt`), not a recreated one. */
export const isSameIncarnation = (repository: Repository, incarnation: Incarnation): boolean =>
  repository.createdAt?.getTime() === incarnation.createdAt.getTime();

/** The incarnation's grants in a listing: ECR's for its ARN, created in its lifetime. */
export const grantsOf = (grants: readonly GrantListEntry[], incarnation: Incarnation): GrantListEntry[] =>
  grantsOfIncarnation(grants, incarnation.arn, incarnation.createdAt, incarnation.successorCreatedAt);

export const idsOf = (grants: readonly GrantListEntry[]): string[] => grants.flatMap((g) => (g.GrantId ? [g.GrantId] : []));

/**
 * A grant on the key that could not be attributed to the incarnation. Reported, never retired:
 * - `no-repository-constraint`: granted to ECR around the time the repository was created, with no
 *   `aws:ecr:arn` constraint (it may be ECR's second, undocumented grant, or another repository's);
 * - `not-granted-to-ecr`: constrained to the repository's ARN, but granted to someone else;
 * - `other-incarnation`: ECR's grant for the same ARN, created before this incarnation of the name;
 * - `no-creation-date`: constrained to the ARN, but ListGrants gave no date to place it.
 */
export interface UnattributedGrant {
  readonly grantId: string;
  readonly creationDate: Date | undefined;
  readonly granteePrincipal: string | undefined;
  readonly reason: 'no-repository-constraint' | 'not-granted-to-ecr' | 'other-incarnation' | 'no-creation-date';
  /** Whether the last listing still showed it. */
  readonly remaining: boolean;
}

/** One listing of a key, sorted for an incarnation. */
export interface SortedListing {
  /** The incarnation's grants: recorded as its before (`known`), or identified in its lifetime. */
  readonly mine: readonly GrantListEntry[];
  /** Grants that may be its but are not provably so. */
  readonly unattributed: readonly (readonly [GrantListEntry, UnattributedGrant['reason']])[];
}

/**
 * Sorts a key's grants for an incarnation: its own (to wait for or retire), a successor's (ECR's
 * grant for the same ARN created once a newer incarnation existed: left alone, not reported), and
 * the rest that name the ARN or may be ECR's unconstrained grant (reported, never retired).
 */
export const sortListing = (all: readonly GrantListEntry[], incarnation: Incarnation, known: ReadonlySet<string>): SortedListing => {
  const newer = incarnation.successorCreatedAt;
  const isSuccessors = (g: GrantListEntry): boolean =>
    newer !== undefined &&
    isEcrGrantFor(g, incarnation.arn) &&
    g.CreationDate !== undefined &&
    !createdWithin(g, incarnation) &&
    !predates(g.CreationDate, newer);
  const mine = all.filter((g) => g.GrantId && (known.has(g.GrantId) || (isEcrGrantFor(g, incarnation.arn) && createdWithin(g, incarnation))));
  const mineIds = new Set(idsOf(mine));
  const unattributed: (readonly [GrantListEntry, UnattributedGrant['reason']])[] = [
    ...all
      .filter((g) => g.GrantId && !mineIds.has(g.GrantId) && isConstrainedTo(g, incarnation.arn) && !isSuccessors(g))
      .map(
        (g) =>
          [
            g,
            !isEcrGrantFor(g, incarnation.arn) ? 'not-granted-to-ecr' : g.CreationDate === undefined ? 'no-creation-date' : 'other-incarnation',
          ] as const,
      ),
    ...unattributedEcrGrants(all, incarnation.arn, incarnation.createdAt).map((g) => [g, 'no-repository-constraint'] as const),
  ];
  return { mine, unattributed };
};

/** Whether a listing has a grant naming the ARN that is not recorded: only then is a successor worth looking up. */
export const namesUnknownGrant = (all: readonly GrantListEntry[], incarnation: Incarnation, known: ReadonlySet<string>): boolean =>
  all.some((g) => g.GrantId && !known.has(g.GrantId) && isConstrainedTo(g, incarnation.arn));
