/** The request context of the calls ECR makes to KMS for a repository, as IAM's simulator takes it. */
import type { ContextEntry } from '@aws-sdk/client-iam';

/** The operations of the one grant AWS documents ECR creating (the second grant is undocumented). */
const ECR_DOCUMENTED_GRANT_OPERATIONS = ['GenerateDataKey', 'Decrypt'] as const;

/** `aws:RequestedRegion`: every request carries it. */
export const requestedRegion = (region: string): ContextEntry => ({ ContextKeyName: 'aws:RequestedRegion', ContextKeyValues: [region], ContextKeyType: 'string' });

/**
 * The context of a KMS request ECR makes with the caller's credentials (a forward access session):
 * `aws:RequestedRegion`, `kms:ViaService`, `kms:CallerAccount`, `aws:ViaAWSService`.
 */
export const ecrForwardedContext = (region: string, account: string): ContextEntry[] => [
  requestedRegion(region),
  { ContextKeyName: 'kms:ViaService', ContextKeyValues: [`ecr.${region}.amazonaws.com`], ContextKeyType: 'string' },
  { ContextKeyName: 'kms:CallerAccount', ContextKeyValues: [account], ContextKeyType: 'string' },
  { ContextKeyName: 'aws:ViaAWSService', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
];

/**
 * The context of the CreateGrant ECR forwards for a repository, as AWS documents the request
 * (ECR user guide, CloudTrail example): grantee and retiring principal `ecr.<region>.amazonaws.com`,
 * operations GenerateDataKey and Decrypt, an `EncryptionContextSubset` constraint on `aws:ecr:arn`
 * = the repository ARN; plus the forwarded-call keys and `kms:GrantIsForAWSResource`.
 */
export const ecrCreateGrantContext = (region: string, account: string, repositoryArn: string): ContextEntry[] => {
  const ecr = `ecr.${region}.amazonaws.com`;
  return [
    ...ecrForwardedContext(region, account),
    { ContextKeyName: 'kms:GrantIsForAWSResource', ContextKeyValues: ['true'], ContextKeyType: 'boolean' },
    { ContextKeyName: 'kms:GranteePrincipal', ContextKeyValues: [ecr], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:RetiringPrincipal', ContextKeyValues: [ecr], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:GrantOperations', ContextKeyValues: [...ECR_DOCUMENTED_GRANT_OPERATIONS], ContextKeyType: 'stringList' },
    { ContextKeyName: 'kms:GrantConstraintType', ContextKeyValues: ['EncryptionContextSubset'], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:EncryptionContext:aws:ecr:arn', ContextKeyValues: [repositoryArn], ContextKeyType: 'string' },
    { ContextKeyName: 'kms:EncryptionContextKeys', ContextKeyValues: ['aws:ecr:arn'], ContextKeyType: 'stringList' },
  ];
};
