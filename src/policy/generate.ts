/**
 * Generators for the policies ECR encryption needs: the least-privilege identity policy to create,
 * delete and migrate encrypted repositories, key-policy statements that let principals use a
 * customer managed key only through ECR, and VPC endpoint policies for `ecr.api`, `ecr.dkr` and
 * `s3`. Each returns a `Result`: input that would make a wrong policy (an account that is not 12
 * digits, a key in another region) is an `InvalidInput`, never a silently wrong document.
 *
 * @packageDocumentation
 */
import { err, ok, type Result } from 'neverthrow';
import type { InvalidInput } from '../errors.js';
import { readInput, record, string } from '../validate/input.js';
import { ecrEndpointPolicyInput, ecrKeyPolicyInput, repositoryAdminPolicyInput, s3EndpointPolicyInput } from './inputs.js';
import type {
  EcrEndpointPolicyInput,
  EcrKeyPolicyInput,
  EndpointPolicyInput,
  GeneratedPolicy,
  PolicyStatement,
  RepositoryAdminPolicyInput,
  RepositoryOperation,
  RepositoryScope,
  S3EndpointPolicyInput,
} from './types.js';

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

const invalid = (field: string, reason: string): InvalidInput => ({ kind: 'InvalidInput', field, reason });

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
// ECR's current model pattern; length 2–256.
const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const REPOSITORY_PREFIX = /^[a-z0-9][a-z0-9._/-]*$/;
const KEY_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;
const REPOSITORY_ARN = /^arn:(aws[a-z-]*):ecr:([a-z0-9-]+):(\d{12}):repository\/[a-z0-9._/*?-]+$/;
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|user\/.+|role\/.+)$/;
const ORGANIZATION = /^o-[a-z0-9]{10,32}$/;
const OPERATIONS: ReadonlySet<string> = new Set<RepositoryOperation>(['create', 'delete', 'migrate']);

const partitionOf = (region: string): string =>
  region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';

const checkRegion = (region: string): InvalidInput | undefined =>
  REGION.test(region) ? undefined : invalid('region', `"${region}" is not an AWS region such as eu-west-1`);

const checkAccount = (account: string, field = 'account'): InvalidInput | undefined =>
  ACCOUNT.test(account) ? undefined : invalid(field, `"${account}" is not a 12-digit AWS account id`);

const checkKeyArns = (keyArns: readonly string[], region: string): InvalidInput | undefined => {
  for (const [i, arn] of keyArns.entries()) {
    const parts = KEY_ARN.exec(arn);
    if (parts === null) return invalid(`keyArns[${i}]`, `"${arn}" is not a KMS key ARN (aliases and key ids do not authorize key use)`);
    if (parts[2] !== region) return invalid(`keyArns[${i}]`, `the key is in ${parts[2] ?? ''}, but ECR needs a key in the repositories' region ${region}`);
  }
  return undefined;
};

const firstError = (...checks: readonly (() => InvalidInput | undefined)[]): InvalidInput | undefined => {
  for (const check of checks) {
    const found = check();
    if (found !== undefined) return found;
  }
  return undefined;
};

const repositoryArns = (scope: RepositoryScope, partition: string, region: string, account: string): Result<string[], InvalidInput> => {
  const arn = (name: string): string => `arn:${partition}:ecr:${region}:${account}:repository/${name}`;
  if ('prefix' in scope) {
    const { prefix } = scope;
    if (!REPOSITORY_PREFIX.test(prefix) || prefix.length > 255) {
      return err(invalid('repositories.prefix', `"${prefix}" is not the start of an ECR repository name (lowercase letters, digits, . _ - /)`));
    }
    return ok([arn(`${prefix}*`)]);
  }
  if (scope.names.length === 0) return err(invalid('repositories.names', 'give at least one repository name, or a prefix'));
  for (const [i, name] of scope.names.entries()) {
    if (!REPOSITORY_NAME.test(name) || name.length < 2 || name.length > 256) {
      return err(invalid(`repositories.names[${i}]`, `"${name}" is not a valid ECR repository name`));
    }
  }
  return ok([...new Set(scope.names)].map(arn));
};

const sorted = (actions: Iterable<string>): string[] => [...new Set(actions)].sort();

// ---------------------------------------------------------------------------------------------
// Identity policy
// ---------------------------------------------------------------------------------------------

const CREATE_ACTIONS = [
  'ecr:CreateRepository',
  'ecr:DescribeRepositories',
  'ecr:TagResource',
  'ecr:SetRepositoryPolicy',
  'ecr:PutLifecyclePolicy',
  'ecr:PutImageTagMutability',
  'ecr:PutImageScanningConfiguration',
] as const;
// GetRepositoryPolicy: delete refuses a repository a migration has frozen.
const DELETE_ACTIONS = ['ecr:DeleteRepository', 'ecr:DescribeRepositories', 'ecr:GetRepositoryPolicy', 'ecr:ListImages'] as const;
// Copying images without docker, and carrying the repository's settings over.
const MIGRATE_ACTIONS = [
  ...CREATE_ACTIONS,
  ...DELETE_ACTIONS,
  'ecr:DescribeImages',
  'ecr:BatchGetImage',
  'ecr:GetDownloadUrlForLayer',
  'ecr:BatchCheckLayerAvailability',
  'ecr:InitiateLayerUpload',
  'ecr:UploadLayerPart',
  'ecr:CompleteLayerUpload',
  'ecr:PutImage',
  'ecr:GetRepositoryPolicy',
  'ecr:GetLifecyclePolicy',
  // The lifecycle policy is paused (deleted) while migrating; a repository without a policy gets none back.
  'ecr:DeleteLifecyclePolicy',
  'ecr:DeleteRepositoryPolicy',
  'ecr:ListTagsForResource',
  // `restoreArchived: true` restores archived images (to STANDARD) before copying.
  'ecr:UpdateImageStorageClass',
] as const;
/**
 * Registry-level reads a migration (and its plan) makes to warn about replication rules, creation
 * templates and pull-through cache rules. None of them has a resource type in the Service
 * Authorization Reference (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html:
 * DescribeRegistry, DescribeRepositoryCreationTemplates, DescribePullThroughCacheRules and
 * GetAuthorizationToken list no resource type; every repository action lists `repository*`), so
 * they must be allowed on `"*"`: scoped to repository ARNs they are never allowed.
 */
const MIGRATE_REGISTRY_ACTIONS = ['ecr:DescribePullThroughCacheRules', 'ecr:DescribeRegistry', 'ecr:DescribeRepositoryCreationTemplates'] as const;

/**
 * The least-privilege identity policy for a principal that creates, deletes or migrates encrypted
 * repositories with this library: ECR actions scoped to the repository ARNs,
 * `ecr:GetAuthorizationToken` and, for `migrate`, the registry reads (`ecr:DescribeRegistry`,
 * `ecr:DescribeRepositoryCreationTemplates`, `ecr:DescribePullThroughCacheRules`) on `*` (they
 * have no resource type), `kms:CreateGrant` on the keys only when
 * ECR creates the grant for an AWS resource (`kms:ViaService = ecr.<region>.amazonaws.com`,
 * `kms:GrantIsForAWSResource`), `kms:RetireGrant` (which only an IAM policy can grant: ECR retires
 * its grants with the caller's identity on deletion), and the reads the preflight makes.
 *
 * Errors (`error.kind`): `InvalidInput` (region, account, repository names or prefix, key ARNs
 * not in `region`, operations).
 *
 * @example
 * ```ts
 * const policy = generateRepositoryAdminPolicy({
 *   region: 'eu-west-1',
 *   account: '111122223333',
 *   repositories: { prefix: 'team-a/' },
 *   keyArns: ['arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
 *   operations: ['create', 'delete'],
 * });
 * if (policy.isOk()) console.log(JSON.stringify(policy.value, null, 2));
 * ```
 */
export const generateRepositoryAdminPolicy = (given: RepositoryAdminPolicyInput): Result<GeneratedPolicy, InvalidInput> =>
  readInput(repositoryAdminPolicyInput, given).andThen(adminPolicy);

const adminPolicy = (input: RepositoryAdminPolicyInput): Result<GeneratedPolicy, InvalidInput> => {
  const { region, account, keyArns, operations } = input;
  const problem = firstError(
    () => checkRegion(region),
    () => checkAccount(account),
    () => (operations.length === 0 ? invalid('operations', 'give at least one of create, delete, migrate') : undefined),
    () => {
      const unknown = operations.findIndex((o) => !OPERATIONS.has(o));
      return unknown === -1 ? undefined : invalid(`operations[${unknown}]`, `"${String(operations[unknown])}" is not create, delete or migrate`);
    },
    () => checkKeyArns(keyArns, region),
  );
  if (problem !== undefined) return err(problem);
  const partition = partitionOf(region);

  return repositoryArns(input.repositories, partition, region, account).map((repositories): GeneratedPolicy => {
    const ops = new Set(operations);
    const creates = ops.has('create') || ops.has('migrate');
    const preflight = input.preflight ?? true;
    const ecrActions = new Set<string>();
    if (ops.has('create')) {
      CREATE_ACTIONS.forEach((a) => ecrActions.add(a));
      if (input.rollback ?? true) ecrActions.add('ecr:DeleteRepository');
    }
    if (ops.has('delete')) DELETE_ACTIONS.forEach((a) => ecrActions.add(a));
    if (ops.has('migrate')) MIGRATE_ACTIONS.forEach((a) => ecrActions.add(a));

    const statements: PolicyStatement[] = [
      { Sid: 'EcrRepositories', Effect: 'Allow', Action: sorted(ecrActions), Resource: repositories },
      // GetAuthorizationToken has no resource-level permissions; the token alone grants nothing.
      { Sid: 'EcrAuthorizationToken', Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
    ];
    if (ops.has('migrate')) statements.push({ Sid: 'EcrRegistryReads', Effect: 'Allow', Action: [...MIGRATE_REGISTRY_ACTIONS], Resource: '*' });
    if (keyArns.length > 0) {
      const keys = [...new Set(keyArns)];
      statements.push({
        Sid: 'KmsReadKeys',
        Effect: 'Allow',
        Action: sorted(['kms:DescribeKey', 'kms:ListGrants', ...(preflight ? ['kms:GetKeyPolicy'] : [])]),
        Resource: keys,
      });
      if (creates) {
        statements.push({
          Sid: 'KmsCreateGrantThroughEcr',
          Effect: 'Allow',
          Action: 'kms:CreateGrant',
          Resource: keys,
          Condition: {
            StringEquals: { 'kms:ViaService': `ecr.${region}.amazonaws.com` },
            Bool: { 'kms:GrantIsForAWSResource': 'true' },
          },
        });
      }
      // ECR retires its grants with the caller's identity when a repository is deleted (also on
      // create's rollback and migrate's swap); only an IAM policy can allow it.
      statements.push({ Sid: 'KmsRetireGrant', Effect: 'Allow', Action: 'kms:RetireGrant', Resource: keys });
    }
    if (preflight) {
      statements.push({
        Sid: 'IamPreflight',
        Effect: 'Allow',
        Action: ['iam:GetRole', 'iam:SimulatePrincipalPolicy'],
        Resource: [`arn:${partition}:iam::${account}:role/*`, `arn:${partition}:iam::${account}:user/*`],
      });
      if (keyArns.length > 0) statements.push({ Sid: 'KmsListAliases', Effect: 'Allow', Action: 'kms:ListAliases', Resource: '*' });
    }
    return { Version: '2012-10-17', Statement: statements };
  });
};

// ---------------------------------------------------------------------------------------------
// Key policy
// ---------------------------------------------------------------------------------------------

/**
 * A key policy (or statements to merge into one) that lets principals use a customer managed key
 * only through ECR: `kms:CreateGrant` and `kms:DescribeKey` with `kms:ViaService =
 * ecr.<region>.amazonaws.com` and `kms:CallerAccount = <account>` (CreateGrant also requires
 * `kms:GrantIsForAWSResource`). ECR then encrypts and decrypts through its grants. It deliberately
 * has no `kms:RetireGrant`: an Allow of it in a key policy has no effect, so give it in the
 * identity policy ({@link generateRepositoryAdminPolicy}).
 *
 * Errors (`error.kind`): `InvalidInput` (region, account, principals).
 *
 * @example
 * ```ts
 * const keyPolicy = generateEcrKeyPolicy({
 *   region: 'eu-west-1',
 *   account: '111122223333',
 *   principals: ['arn:aws:iam::111122223333:role/ci/deployer'],
 *   enableIamPolicies: true,
 * });
 * ```
 */
export const generateEcrKeyPolicy = (given: EcrKeyPolicyInput): Result<GeneratedPolicy, InvalidInput> =>
  readInput(ecrKeyPolicyInput, given).andThen(keyPolicy);

const keyPolicy = (input: EcrKeyPolicyInput): Result<GeneratedPolicy, InvalidInput> => {
  const { region, account, principals } = input;
  const problem = firstError(
    () => checkRegion(region),
    () => checkAccount(account),
    () => (principals !== undefined && principals.length === 0 ? invalid('principals', 'give at least one principal, or leave it out for the whole account') : undefined),
    () => {
      const bad = (principals ?? []).findIndex((p) => !IAM_PRINCIPAL.test(p) && !ACCOUNT.test(p));
      return bad === -1 ? undefined : invalid(`principals[${bad}]`, `"${principals?.[bad] ?? ''}" is not an IAM user, role or account root ARN`);
    },
  );
  if (problem !== undefined) return err(problem);

  const partition = partitionOf(region);
  const root = `arn:${partition}:iam::${account}:root`;
  const users: PolicyStatement['Principal'] = { AWS: principals === undefined ? '*' : [...new Set(principals)] };
  const throughEcr = { 'kms:ViaService': `ecr.${region}.amazonaws.com`, 'kms:CallerAccount': account };
  const statements: PolicyStatement[] = [];
  if (input.enableIamPolicies ?? false) {
    statements.push({ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' });
  }
  statements.push(
    {
      Sid: 'AllowCreateGrantThroughEcr',
      Effect: 'Allow',
      Principal: users,
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { StringEquals: throughEcr, Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    },
    {
      Sid: 'AllowDescribeKeyThroughEcr',
      Effect: 'Allow',
      Principal: users,
      Action: 'kms:DescribeKey',
      Resource: '*',
      Condition: { StringEquals: throughEcr },
    },
  );
  if (input.allowVerification ?? true) {
    statements.push({
      Sid: 'AllowKeyVerification',
      Effect: 'Allow',
      Principal: principals === undefined ? { AWS: root } : users,
      Action: ['kms:DescribeKey', 'kms:GetKeyPolicy', 'kms:ListGrants'],
      Resource: '*',
      Condition: { StringEquals: { 'kms:CallerAccount': account } },
    });
  }
  return ok({ Version: '2012-10-17', Statement: statements });
};

// ---------------------------------------------------------------------------------------------
// VPC endpoint policies
// ---------------------------------------------------------------------------------------------

const ecrEndpointPolicy = (input: EcrEndpointPolicyInput): Result<GeneratedPolicy, InvalidInput> => {
  const { region, registryAccounts, organizationId, protectedRepositoryArns } = input;
  const problem = firstError(
    () => checkRegion(region),
    () => (registryAccounts !== undefined && registryAccounts.length === 0 ? invalid('registryAccounts', 'give at least one account, or leave it out for any registry') : undefined),
    () => {
      for (const [i, a] of (registryAccounts ?? []).entries()) {
        const found = checkAccount(a, `registryAccounts[${i}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    },
    () => (organizationId === undefined || ORGANIZATION.test(organizationId) ? undefined : invalid('organizationId', `"${organizationId}" is not an organization id such as o-a1b2c3d4e5`)),
    () => {
      for (const [i, arn] of (protectedRepositoryArns ?? []).entries()) {
        const parts = REPOSITORY_ARN.exec(arn);
        if (parts === null) return invalid(`protectedRepositoryArns[${i}]`, `"${arn}" is not an ECR repository ARN`);
        if (parts[2] !== region) return invalid(`protectedRepositoryArns[${i}]`, `the repository is in ${parts[2] ?? ''}, not in the endpoint's region ${region}`);
      }
      return undefined;
    },
  );
  if (problem !== undefined) return err(problem);

  const partition = partitionOf(region);
  const inOrganization: Pick<PolicyStatement, 'Condition'> =
    organizationId === undefined ? {} : { Condition: { StringEquals: { 'aws:PrincipalOrgID': organizationId } } };
  const statements: PolicyStatement[] = [];
  if (registryAccounts === undefined) {
    statements.push({ Sid: organizationId === undefined ? 'AllowAll' : 'AllowOrganization', Effect: 'Allow', Principal: '*', Action: '*', Resource: '*', ...inOrganization });
  } else {
    statements.push(
      {
        Sid: 'AllowApprovedRegistries',
        Effect: 'Allow',
        Principal: '*',
        Action: '*',
        Resource: [...new Set(registryAccounts)].map((a) => `arn:${partition}:ecr:${region}:${a}:repository/*`),
        ...inOrganization,
      },
      // Docker clients authenticate first; the action has no resource-level permissions.
      { Sid: 'AllowAuthorizationToken', Effect: 'Allow', Principal: '*', Action: 'ecr:GetAuthorizationToken', Resource: '*', ...inOrganization },
    );
  }
  if (protectedRepositoryArns !== undefined && protectedRepositoryArns.length > 0) {
    statements.push({
      Sid: 'DenyDeleteProtectedRepositories',
      Effect: 'Deny',
      Principal: '*',
      Action: 'ecr:DeleteRepository',
      Resource: [...new Set(protectedRepositoryArns)],
    });
  }
  return ok({ Version: '2012-10-17', Statement: statements });
};

/**
 * A VPC endpoint policy for ECR's endpoints. For `ecr.api` and `ecr.dkr` (apply the same policy to
 * both) it covers three scenarios, which combine: only the registries of `registryAccounts`; only
 * principals of `organizationId` (`aws:PrincipalOrgID`); and no `ecr:DeleteRepository` on
 * `protectedRepositoryArns`. For `s3`, it allows `s3:GetObject` on ECR's layer bucket
 * `prod-<region>-starport-layer-bucket`, which image pulls download layers from; that statement
 * cannot be limited by account or organization, since the download URLs are signed by ECR.
 *
 * Errors (`error.kind`): `InvalidInput` (region, accounts, organization id, repository ARNs).
 *
 * @example
 * ```ts
 * const api = generateEndpointPolicy({
 *   service: 'ecr.api',
 *   region: 'us-west-2',
 *   registryAccounts: ['123456789123'],
 *   organizationId: 'o-21ej9awi6a',
 *   protectedRepositoryArns: ['arn:aws:ecr:us-west-2:123456789123:repository/base-image3'],
 * });
 * const s3 = generateEndpointPolicy({ service: 's3', region: 'us-west-2' });
 * ```
 */
export const generateEndpointPolicy = (given: EndpointPolicyInput): Result<GeneratedPolicy, InvalidInput> => {
  // `service` first: it says which input this is.
  const service = readInput(record({ service: string }), given);
  if (service.isErr()) return err(service.error);
  if (service.value.service !== 's3') return readInput(ecrEndpointPolicyInput, given).andThen(ecrEndpointPolicy);
  return readInput(s3EndpointPolicyInput, given).andThen(s3EndpointPolicy);
};

const s3EndpointPolicy = (input: S3EndpointPolicyInput): Result<GeneratedPolicy, InvalidInput> => {
  const problem = checkRegion(input.region);
  if (problem !== undefined) return err(problem);
  return ok({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'AllowEcrLayerDownloads',
        Effect: 'Allow',
        Principal: '*',
        Action: 's3:GetObject',
        Resource: `arn:${partitionOf(input.region)}:s3:::prod-${input.region}-starport-layer-bucket/*`,
      },
    ],
  });
};
