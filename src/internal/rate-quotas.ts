/**
 * AWS's default request-rate quotas (requests per second, per account and Region) for the APIs the
 * library calls, keyed `'<service>:<Operation>'`. The rate governor (`rate-governor.ts`) keeps every
 * registry under them; the emulator enforces them with `startLocalAws({ rateQuotas: 'aws' })`.
 *
 * They are the documented DEFAULTS: AWS raises them on request (Service Quotas) and the pages have
 * changed over time, so every value can be overridden (`EncryptedRegistryOptions.rateQuotas`). APIs
 * absent here have no published rate quota (ECR's DescribeRepositories, ListImages, DescribeImages,
 * the policy and tag calls; IAM's and STS's calls): the governor does not pace them and leaves their
 * throttling to the SDK's retry strategy.
 */

/** ECR, from https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html ("Rate of … requests", "Each supported Region"). */
const ECR_RATE_QUOTAS = {
  // The same value in every Region. Older versions of the page had lower values for several of these
  // (BatchCheckLayerAvailability 200, InitiateLayerUpload and CompleteLayerUpload 10, GetAuthorizationToken 200).
  'ecr:BatchCheckLayerAvailability': 1_000, // L-B9173138
  'ecr:BatchGetImage': 2_000, // L-16E70933
  'ecr:CompleteLayerUpload': 100, // L-44194860
  'ecr:GetAuthorizationToken': 500, // L-55A41110
  'ecr:GetDownloadUrlForLayer': 3_000, // L-A60A366D
  'ecr:InitiateLayerUpload': 100, // L-95B28F8D
  'ecr:PutImage': 10, // L-AD52DFB2: the binding quota of a migration (two PutImage per image and tag)
  'ecr:UploadLayerPart': 500, // L-A1670B10
} as const;

/**
 * KMS, from https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html ("Request
 * quotas for each AWS KMS API operation"; the same in every Region for these operations; only the
 * shared cryptographic-operation quota, which the library does not call, varies by Region: 5,500,
 * 10,000, 50,000 or 100,000 depending on the Region). Earlier versions of the page gave lower values
 * (DescribeKey 100 then 1,000; RetireGrant and RevokeGrant 15; GetKeyPolicy 30). Requests AWS
 * services make on your behalf (ECR's CreateGrant and RetireGrant) count against the same quotas.
 */
const KMS_RATE_QUOTAS = {
  'kms:CreateGrant': 50,
  'kms:DescribeKey': 2_000,
  'kms:GetKeyPolicy': 1_000,
  'kms:GetKeyRotationStatus': 1_000,
  'kms:ListAliases': 500,
  'kms:ListGrants': 100,
  'kms:ListKeys': 100,
  'kms:ListRetirableGrants': 100,
  'kms:RetireGrant': 30,
  'kms:RevokeGrant': 30,
} as const;

/**
 * AWS's default request-rate quotas, in requests per second per account and Region, for the ECR
 * and KMS APIs that have a published one (sources in the code). Read-only; pass your own values in
 * `EncryptedRegistryOptions.rateQuotas` when AWS raised yours.
 *
 * @example
 * ```ts
 * AWS_RATE_QUOTAS['ecr:PutImage']; // 10
 * ```
 */
export const AWS_RATE_QUOTAS: Readonly<Record<string, number>> = Object.freeze({ ...ECR_RATE_QUOTAS, ...KMS_RATE_QUOTAS });

/** `'<service>:<Operation>'`, the form of a quota's key. */
export const RATE_QUOTA_KEY = /^(ecr|kms|iam|sts):[A-Z][A-Za-z]+$/;

/**
 * Calls AWS makes on the caller's behalf while answering one of the caller's: they count against
 * the caller's own quotas (KMS, https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html,
 * section "API requests made on your behalf"). ECR "sends two CreateGrant requests" when it creates
 * a repository encrypted with KMS and two RetireGrant requests when it deletes one
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html). The governor
 * counts them with the caller's call; it cannot tell an AES256 repository from a KMS one by the API
 * name, so it counts every creation and deletion (at worst AES256 creations go at 25 a second).
 * Without it, 30 staging repositories deleted at once by a fleet migration would make 60
 * RetireGrant in one second against a quota of 30; what ECR answers when its own KMS call is
 * throttled is not documented.
 */
export const ON_BEHALF_RATE_COSTS: Readonly<Record<string, Readonly<Record<string, number>>>> = Object.freeze({
  'ecr:CreateRepository': Object.freeze({ 'kms:CreateGrant': 2 }),
  'ecr:DeleteRepository': Object.freeze({ 'kms:RetireGrant': 2 }),
});
