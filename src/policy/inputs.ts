/**
 * The schemas of the policy toolkit's inputs (see `../validate/input.ts`): `explainAccess`'s request and
 * policies, and the generators' inputs. JavaScript types only; the toolkit checks the values
 * (regions, accounts, ARNs) itself.
 */
import { ok } from 'neverthrow';
import { array, boolean, dictionary, either, literal, number, optional, record, type Schema, string } from '../validate/input.js';
import type {
  AccessRequest,
  EcrEndpointPolicyInput,
  EcrKeyPolicyInput,
  PolicyDocument,
  PolicySet,
  RepositoryAdminPolicyInput,
  RepositoryOperation,
  S3EndpointPolicyInput,
} from './types.js';

const strings = either(string, array(string));
const scalar = either(either(string, number), boolean);
const principal = either(literal('*'), dictionary(strings));

const statement = record(
  {
    Sid: optional(string),
    // Another string is a malformed statement the compiler skips (keeping the others' indexes).
    Effect: string as Schema<'Allow' | 'Deny'>,
    Principal: optional(principal),
    NotPrincipal: optional(principal),
    Action: optional(strings),
    NotAction: optional(strings),
    Resource: optional(strings),
    NotResource: optional(strings),
    Condition: optional(dictionary(dictionary(either(scalar, array(scalar))))),
  },
  'a policy statement',
);

/**
 * An IAM policy document as AWS's grammar types it. Fields AWS does not define are dropped from
 * the copy the evaluator reads (the evaluator never read them).
 */
const documentShape: Schema<PolicyDocument> = record(
  {
    Version: optional(literal('2012-10-17', '2008-10-17')),
    Id: optional(string),
    Statement: either(statement, array(statement)),
  },
  'a policy document',
);

// The evaluator compiles each document object once: the checked copy of a given object is kept,
// so the same document given again is the same copy (and its compilation is reused).
const checked = new WeakMap<object, PolicyDocument>();

export const policyDocument: Schema<PolicyDocument> = {
  expected: documentShape.expected,
  read: (value, field) => {
    const known = typeof value === 'object' && value !== null ? checked.get(value) : undefined;
    if (known !== undefined) return ok(known);
    return documentShape.read(value, field).map((copy) => {
      if (typeof value === 'object' && value !== null) checked.set(value, copy);
      return copy;
    });
  },
};

export const accessRequest: Schema<AccessRequest> = record({
  principal: record({
    arn: string,
    account: string,
    roleArn: optional(string),
    orgId: optional(string),
    userId: optional(string),
    tags: optional(dictionary(string)),
  }),
  action: string,
  resource: string,
  resourceAccount: optional(string),
  context: optional(dictionary(either(scalar, array(string)))),
});

export const policySet: Schema<PolicySet> = record({
  identityPolicies: optional(array(policyDocument)),
  permissionsBoundary: optional(policyDocument),
  sessionPolicies: optional(array(policyDocument)),
  keyPolicy: optional(policyDocument),
  trustPolicy: optional(policyDocument),
  repositoryPolicy: optional(policyDocument),
  endpointPolicy: optional(policyDocument),
});

export const repositoryAdminPolicyInput: Schema<RepositoryAdminPolicyInput> = record({
  region: string,
  account: string,
  repositories: either(record({ names: array(string) }, '{ names }'), record({ prefix: string }, '{ prefix }')),
  keyArns: array(string),
  // The generator says which strings are operations.
  operations: array(string as Schema<RepositoryOperation>),
  preflight: optional(boolean),
  rollback: optional(boolean),
});

export const ecrKeyPolicyInput: Schema<EcrKeyPolicyInput> = record({
  region: string,
  account: string,
  principals: optional(array(string)),
  enableIamPolicies: optional(boolean),
  allowVerification: optional(boolean),
});

export const s3EndpointPolicyInput: Schema<S3EndpointPolicyInput> = record({ service: literal('s3'), region: string });

export const ecrEndpointPolicyInput: Schema<EcrEndpointPolicyInput> = record({
  service: literal('ecr.api', 'ecr.dkr'),
  region: string,
  registryAccounts: optional(array(string)),
  organizationId: optional(string),
  protectedRepositoryArns: optional(array(string)),
});
