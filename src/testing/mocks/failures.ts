/**
 * The failure switches of a mock scenario: each turns ONE step of the happy path into a failure
 * AWS documents (or reports), answered with a real SDK exception instance or a real response
 * shape, and names the error kind the library then returns. `docs/testing.md` prints this table;
 * `test/unit/mocks.test.ts` checks every row against the library.
 */

/** A documented failure a scenario can switch on. */
export type MockFailure =
  | 'keyNotFound'
  | 'keyDisabled'
  | 'keyPendingDeletion'
  | 'regionMismatch'
  | 'missingPermission'
  | 'accessDenied'
  | 'kmsRefused'
  | 'repositoryNotEmpty'
  | 'grantsLeftBehind'
  | 'throttled';

/** What a failure switch changes, and what the library answers. */
export interface MockFailureSpec {
  /** The command (`service:Command`) whose answer changes. */
  readonly command: string;
  /** What that command answers instead. */
  readonly answer: string;
  /** The operation to try it with. */
  readonly operation: 'createEncryptedRepository' | 'deleteRepository';
  /** The `error.kind` the operation returns. */
  readonly kind: string;
}

/** Every failure switch, what it does and the error kind it leads to. */
export const mockFailures: Readonly<Record<MockFailure, MockFailureSpec>> = {
  keyNotFound: {
    command: 'kms:DescribeKey',
    answer: 'NotFoundException',
    operation: 'createEncryptedRepository',
    kind: 'KeyNotFound',
  },
  keyDisabled: {
    command: 'kms:DescribeKey',
    answer: "KeyMetadata with KeyState 'Disabled', Enabled false",
    operation: 'createEncryptedRepository',
    kind: 'KeyNotUsable',
  },
  keyPendingDeletion: {
    command: 'kms:DescribeKey',
    answer: "KeyMetadata with KeyState 'PendingDeletion', Enabled false",
    operation: 'createEncryptedRepository',
    kind: 'KeyNotUsable',
  },
  regionMismatch: {
    command: 'kms:DescribeKey',
    answer: 'KeyMetadata whose Arn is in another region (us-east-1, or us-west-2 when the scenario is in us-east-1)',
    operation: 'createEncryptedRepository',
    kind: 'KeyRegionMismatch',
  },
  missingPermission: {
    command: 'iam:SimulatePrincipalPolicy',
    answer: "EvalDecision 'implicitDeny' for kms:CreateGrant",
    operation: 'createEncryptedRepository',
    kind: 'MissingPermissions',
  },
  accessDenied: {
    command: 'ecr:CreateRepository',
    answer: 'AccessDeniedException',
    operation: 'createEncryptedRepository',
    kind: 'AccessDenied',
  },
  kmsRefused: {
    command: 'ecr:CreateRepository',
    answer: "KmsException with kmsError 'KMSInvalidStateException'",
    operation: 'createEncryptedRepository',
    kind: 'KmsRefused',
  },
  repositoryNotEmpty: {
    command: 'ecr:ListImages',
    answer: 'one image in the repository (deleteRepository without force)',
    operation: 'deleteRepository',
    kind: 'RepositoryNotEmpty',
  },
  grantsLeftBehind: {
    command: 'kms:RetireGrant',
    answer: 'AccessDeniedException, and ecr:DeleteRepository leaves the grants on the key',
    operation: 'deleteRepository',
    kind: 'DeletedButGrantsRemain',
  },
  throttled: {
    command: 'ecr:DescribeRepositories',
    answer: 'ThrottlingException',
    operation: 'createEncryptedRepository',
    kind: 'Throttled',
  },
};
