/**
 * The writes of repository creation templates (the reads are in `ecr-migration.ts`). Each maps
 * the exceptions the model lists for its call, by name: `InvalidParameterException` and
 * `ValidationException` (a prefix, key ARN or role ECR refuses) become `InvalidInput`;
 * `TemplateAlreadyExistsException` and `TemplateNotFoundException` are answers, not errors, so
 * that creating and updating can be retried in either order.
 */
import {
  CreateRepositoryCreationTemplateCommand,
  type CreateRepositoryCreationTemplateCommandInput,
  type RepositoryCreationTemplate,
  UpdateRepositoryCreationTemplateCommand,
} from '@aws-sdk/client-ecr';
import { ok, type ResultAsync } from 'neverthrow';
import type { GenericAwsError, InvalidInput } from '../errors.js';
import { awsCall, expectField, type ServiceException } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/** What a template is written with: the CreateRepositoryCreationTemplate input. */
export type TemplateWrite = CreateRepositoryCreationTemplateCommandInput;

const refused = (e: ServiceException): InvalidInput | undefined =>
  e.name === 'InvalidParameterException' || e.name === 'ValidationException' || e.name === 'InvalidTagParameterException'
    ? { kind: 'InvalidInput', field: 'template', reason: e.message }
    : undefined;

/** CreateRepositoryCreationTemplate; `'exists'` when a template of that prefix exists already. */
export const createCreationTemplate = (
  ctx: RegistryContext,
  input: TemplateWrite,
): ResultAsync<RepositoryCreationTemplate | 'exists', InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'CreateRepositoryCreationTemplate',
    (o) => ctx.ecr.send(new CreateRepositoryCreationTemplateCommand(input), o),
    refused,
    (e) => (e.name === 'TemplateAlreadyExistsException' ? ('exists' as const) : undefined),
  ).andThen((out) =>
    out === 'exists' ? ok<'exists', never>('exists') : expectField('ecr', 'CreateRepositoryCreationTemplate', 'repositoryCreationTemplate', out.repositoryCreationTemplate),
  );

/** UpdateRepositoryCreationTemplate (every member given is replaced); `'missing'` when there is no template of that prefix. */
export const updateCreationTemplate = (
  ctx: RegistryContext,
  input: TemplateWrite,
): ResultAsync<RepositoryCreationTemplate | 'missing', InvalidInput | GenericAwsError> =>
  awsCall(
    ctx,
    'ecr',
    'UpdateRepositoryCreationTemplate',
    (o) => ctx.ecr.send(new UpdateRepositoryCreationTemplateCommand(input), o),
    refused,
    (e) => (e.name === 'TemplateNotFoundException' ? ('missing' as const) : undefined),
  ).andThen((out) =>
    out === 'missing' ? ok<'missing', never>('missing') : expectField('ecr', 'UpdateRepositoryCreationTemplate', 'repositoryCreationTemplate', out.repositoryCreationTemplate),
  );
