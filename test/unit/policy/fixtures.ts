import type {
  AccessRequest,
  PolicyDocument,
  PolicyStatement,
  RequestPrincipal,
} from '../../../src/policy/types.js';

import { ACCOUNT, keyArn, OTHER_ACCOUNT, REGION, repoArn as arnOf, ROOT_ARN } from '../../fixtures/index.js';

export { ACCOUNT, ECR_PRINCIPAL as VIA_ECR, KEY_ARN, OTHER_ACCOUNT, REGION, ROOT_ARN } from '../../fixtures/index.js';
export const ORG = 'o-a1b2c3d4e5';

/** A repository ARN; account before region here (the policy tests vary the account more). */
export const repoArn = (name: string, account = ACCOUNT, region = REGION): string => arnOf(name, region, account);
export const OTHER_KEY_ARN = keyArn('ffffffff-12ab-34cd-56ef-1234567890ab');

export const alice: RequestPrincipal = {
  arn: `arn:aws:iam::${ACCOUNT}:user/engineering/alice`,
  account: ACCOUNT,
  userId: 'AIDAALICE',
  orgId: ORG,
  tags: { team: 'platform' },
};
export const bob: RequestPrincipal = { arn: `arn:aws:iam::${ACCOUNT}:user/bob`, account: ACCOUNT };
export const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/ci/deployer`;
export const SESSION_ARN = `arn:aws:sts::${ACCOUNT}:assumed-role/deployer/build-42`;
export const session: RequestPrincipal = {
  arn: SESSION_ARN,
  account: ACCOUNT,
  roleArn: ROLE_ARN,
  userId: 'AROADEPLOYER:build-42',
};
export const root: RequestPrincipal = { arn: ROOT_ARN, account: ACCOUNT };
export const outsider: RequestPrincipal = { arn: `arn:aws:iam::${OTHER_ACCOUNT}:user/carol`, account: OTHER_ACCOUNT };
export const ecrService: RequestPrincipal = { arn: 'ecr.amazonaws.com', account: ACCOUNT };

/** A policy document of these statements (version 2012-10-17, so policy variables apply). */
export const doc = (...statements: PolicyStatement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

/** An identity-style Allow. */
export const allow = (action: string | readonly string[], resource: string | readonly string[] = '*', extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...extra,
});

/** An identity-style Deny. */
export const deny = (action: string | readonly string[], resource: string | readonly string[] = '*', extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Deny',
  Action: action,
  Resource: resource,
  ...extra,
});

/** A resource-policy Allow naming AWS principals. */
export const allowFor = (aws: string | readonly string[], action: string | readonly string[], extra: Partial<PolicyStatement> = {}): PolicyStatement => ({
  Effect: 'Allow',
  Principal: { AWS: aws },
  Action: action,
  ...extra,
});

export const request = (principal: RequestPrincipal, action: string, resource: string, context?: AccessRequest['context']): AccessRequest =>
  context === undefined ? { principal, action, resource } : { principal, action, resource, context };
