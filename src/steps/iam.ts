import {
  type ContextEntry,
  type EvaluationResult,
  GetRoleCommand,
  SimulatePrincipalPolicyCommand,
} from '@aws-sdk/client-iam';
import type { ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import { allPages, awsCall, expectField, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** Why IAM could not answer a question about a principal. */
export interface IamUnavailable {
  readonly reason: 'NoSuchEntity' | 'InvalidInput' | 'PolicyEvaluation';
  readonly cause: unknown;
}

/**
 * IAM GetRole → the role's ARN with its path. An assumed-role ARN drops the path, so the role ARN
 * cannot be rebuilt from it by string manipulation.
 */
export const getRoleArn = (ctx: RegistryContext, roleName: string): ResultAsync<string, IamUnavailable | GenericAwsError> =>
  awsCall(ctx, 'iam', 'GetRole', (o) => ctx.iam.send(new GetRoleCommand({ RoleName: roleName }), o), (e): IamUnavailable | undefined =>
    e.name === 'NoSuchEntityException' ? { reason: 'NoSuchEntity', cause: e } : undefined,
  ).andThen((out) => expectField('iam', 'GetRole', 'Role.Arn', out.Role?.Arn));

/**
 * IAM SimulatePrincipalPolicy for several actions on several resources, following `Marker`.
 * Since 2026 IAM answers one result per action, with per-resource decisions in
 * `ResourceSpecificResults`.
 */
export const simulatePrincipalPolicy = (
  ctx: RegistryContext,
  input: {
    readonly policySourceArn: string;
    readonly actionNames: readonly string[];
    readonly resourceArns: readonly string[];
    readonly contextEntries: readonly ContextEntry[];
  },
): ResultAsync<EvaluationResult[], IamUnavailable | GenericAwsError> =>
  allPages((marker) =>
    awsCall(
      ctx,
      'iam',
      'SimulatePrincipalPolicy',
      (o) =>
        ctx.iam.send(
          new SimulatePrincipalPolicyCommand({
            PolicySourceArn: input.policySourceArn,
            ActionNames: [...input.actionNames],
            ResourceArns: [...input.resourceArns],
            ContextEntries: [...input.contextEntries],
            ...(marker ? { Marker: marker } : {}),
          }), o),
      (e): IamUnavailable | undefined => {
        if (e.name === 'NoSuchEntityException') return { reason: 'NoSuchEntity', cause: e };
        if (e.name === 'InvalidInputException') return { reason: 'InvalidInput', cause: e };
        if (e.name === 'PolicyEvaluationException') return { reason: 'PolicyEvaluation', cause: e };
        return undefined;
      },
    ).andThen((out) =>
      expectList('iam', 'SimulatePrincipalPolicy', 'EvaluationResults', out.EvaluationResults).map((items) => ({ items, nextToken: out.IsTruncated ? out.Marker : undefined })),
    ),
  );
