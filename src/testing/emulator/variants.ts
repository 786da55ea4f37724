/**
 * AWS behaviours the documentation leaves open, each offered by the emulator in every plausible
 * variant (docs/aws-behaviour.md lists the evidence for each). Tests run the library under each
 * variant; none of them is "the truth", and the defaults are guesses marked as such.
 */

/** What ECR's second grant looks like (AWS documents only the first: GenerateDataKey + Decrypt). */
export type SecondGrantVariant =
  /** GUESS (today's default): operations DescribeKey + RetireGrant, same `aws:ecr:arn` constraint. */
  | 'describe-retire'
  /** The second grant repeats the first: GenerateDataKey + Decrypt, same constraint. */
  | 'same-as-first'
  /** A grant to ECR with no encryption-context constraint at all (cannot be attributed by ARN). */
  | 'no-constraint';

/** What DeleteRepository answers when ECR cannot retire the grants with the caller's credentials. */
export type DeleteWhenRetireFailsVariant =
  /** GUESS (default): the repository is deleted, then `KmsException` with the console's message. */
  | 'kms-exception'
  /** The repository is NOT deleted; `AccessDeniedException`-like refusal up front. */
  | 'access-denied'
  /** The repository is deleted, the grants stay, and the call succeeds with no error. */
  | 'silent';

/**
 * What ECR does with a KMS repository creation template that has no `customRoleArn`. AWS documents
 * only that a custom role is needed "if you intend to use KMS keys" in a template
 * (repository-creation-templates-create.html); what happens without one is not documented.
 */
export type TemplateKmsWithoutRoleVariant =
  /** GUESS (default): the template is accepted; a repository ECR would create from it is not created. */
  | 'creation-fails'
  /** GUESS: CreateRepositoryCreationTemplate refuses the template (InvalidParameterException). */
  | 'template-refused';

/**
 * Whether a push that creates its repository through a `CREATE_ON_PUSH` template also needs
 * `ecr:CreateRepository` on the pusher. Reported by others (classmethod.jp, 2025-12-21: the
 * pusher's IAM permissions matter); not stated by AWS.
 */
export type CreateOnPushPermissionVariant =
  /** Reported (default): the pusher needs `ecr:CreateRepository` on the new repository's ARN. */
  | 'pusher-needs-create'
  /** GUESS: the push permissions suffice; the template alone allows creation. */
  | 'push-permissions-only';

/** Whether the IAM policy simulator reports condition keys it lacked (`MissingContextValues`). */
export type SimulateMissingContextVariant = 'none' | 'report';

/** The variants in force; every field optional in the options, all resolved here. */
export interface AwsVariants {
  readonly secondGrant: SecondGrantVariant;
  readonly deleteWhenRetireFails: DeleteWhenRetireFailsVariant;
  readonly simulateMissingContext: SimulateMissingContextVariant;
  readonly templateKmsWithoutRole: TemplateKmsWithoutRoleVariant;
  readonly createOnPushPermission: CreateOnPushPermissionVariant;
  /**
   * Grant eventual consistency in milliseconds (AWS: "usually less than five minutes"): retired
   * grants keep showing in ListGrants, new ones show only after it.
   */
  readonly grantConsistencyDelayMs: number;
}

/** Every value each variant can take, for test matrices and the CLI's `--aws-variant`. */
export const AWS_VARIANT_VALUES = {
  secondGrant: ['describe-retire', 'same-as-first', 'no-constraint'],
  deleteWhenRetireFails: ['kms-exception', 'access-denied', 'silent'],
  simulateMissingContext: ['none', 'report'],
  templateKmsWithoutRole: ['creation-fails', 'template-refused'],
  createOnPushPermission: ['pusher-needs-create', 'push-permissions-only'],
} as const satisfies { readonly [K in Exclude<keyof AwsVariants, 'grantConsistencyDelayMs'>]: readonly AwsVariants[K][] };

export const DEFAULT_AWS_VARIANTS: AwsVariants = {
  secondGrant: 'describe-retire',
  deleteWhenRetireFails: 'kms-exception',
  simulateMissingContext: 'report',
  templateKmsWithoutRole: 'creation-fails',
  createOnPushPermission: 'pusher-needs-create',
  grantConsistencyDelayMs: 0,
};

/** Fills in defaults; throws on an unknown value (a test or CLI bug, checked before start). */
export const resolveAwsVariants = (given: Partial<AwsVariants> = {}): AwsVariants => {
  const variants = { ...DEFAULT_AWS_VARIANTS, ...given };
  for (const [name, values] of Object.entries(AWS_VARIANT_VALUES)) {
    const value = variants[name as keyof typeof AWS_VARIANT_VALUES];
    if (!(values as readonly string[]).includes(value)) {
      throw new Error(`startLocalAws: awsVariants.${name} must be one of ${values.join(', ')} (got ${String(value)})`);
    }
  }
  const delay = variants.grantConsistencyDelayMs;
  if (!Number.isFinite(delay) || delay < 0 || delay > 5 * 60_000) {
    throw new Error(`startLocalAws: awsVariants.grantConsistencyDelayMs must be 0..300000 (got ${String(delay)})`);
  }
  return variants;
};
