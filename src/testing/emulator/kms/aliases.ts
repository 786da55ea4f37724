/** Alias actions: create, update, delete and list (with AWS's predefined `alias/aws/ecr`). */
import type { CallContext } from '../core.js';
import type { Input } from '../input.js';
import { page, type Handler, type KmsContext } from './context.js';
import { aliasArn, epoch, kmsError, type AliasRecord } from './state.js';

const aliasName = (input: Input): string => {
  const name = input.string('AliasName');
  if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.length > 256) throw kmsError('InvalidAliasNameException', `Alias name ${name} must begin with alias/ followed by letters, digits, /, _ or -.`);
  return name;
};

const findAlias = (kms: KmsContext, ctx: CallContext, name: string): AliasRecord | undefined =>
  kms.state.aliases.find((a) => a.region === ctx.region && a.account === ctx.principal.account && a.name === name);

const aliasNotFound = (ctx: CallContext, name: string): Error => kmsError('NotFoundException', `Alias ${aliasArn(ctx.region, ctx.principal.account, name)} is not found.`);

const createAlias: Handler = (kms, input, ctx) => {
  const name = aliasName(input);
  if (name.startsWith('alias/aws/')) throw kmsError('InvalidAliasNameException', 'Aliases beginning with alias/aws/ are reserved for AWS managed keys.');
  const key = kms.keyFor(input, ctx, 'TargetKeyId', { aliases: false });
  // CreateAlias needs permission on the alias (IAM) and on the key (key policy).
  kms.deps.authorizer.authorize(ctx, 'kms:CreateAlias', aliasArn(ctx.region, ctx.principal.account, name));
  kms.authorizeKey(ctx, 'CreateAlias', key);
  if (key.keyManager === 'AWS') throw kmsError('NotAuthorizedException', 'An alias cannot point to an AWS managed key.');
  if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  if (findAlias(kms, ctx, name) !== undefined) {
    throw kmsError('AlreadyExistsException', `An alias with the name ${aliasArn(ctx.region, ctx.principal.account, name)} already exists`);
  }
  kms.state.aliases.push({ name, region: ctx.region, account: ctx.principal.account, targetKeyId: key.keyId, creationDate: kms.now().toISOString() });
  return {};
};

const updateAlias: Handler = (kms, input, ctx) => {
  const name = aliasName(input);
  const alias = findAlias(kms, ctx, name);
  if (alias === undefined || name.startsWith('alias/aws/')) throw aliasNotFound(ctx, name);
  const key = kms.keyFor(input, ctx, 'TargetKeyId', { aliases: false });
  kms.deps.authorizer.authorize(ctx, 'kms:UpdateAlias', aliasArn(ctx.region, ctx.principal.account, name));
  kms.authorizeKey(ctx, 'UpdateAlias', key);
  alias.targetKeyId = key.keyId;
  return {};
};

const deleteAlias: Handler = (kms, input, ctx) => {
  const name = aliasName(input);
  const alias = findAlias(kms, ctx, name);
  if (alias === undefined) throw aliasNotFound(ctx, name);
  if (name.startsWith('alias/aws/')) throw kmsError('NotAuthorizedException', 'AWS managed aliases cannot be deleted.');
  const key = kms.resolve(ctx.region, ctx.principal.account, alias.targetKeyId, { aliases: false });
  kms.deps.authorizer.authorize(ctx, 'kms:DeleteAlias', aliasArn(ctx.region, ctx.principal.account, name));
  kms.authorizeKey(ctx, 'DeleteAlias', key);
  kms.state.aliases = kms.state.aliases.filter((a) => a !== alias);
  return {};
};

const listAliases: Handler = (kms, input, ctx) => {
  kms.deps.authorizer.authorize(ctx, 'kms:ListAliases', '*');
  const keyId = input.has('KeyId') ? kms.keyFor(input, ctx, 'KeyId', { aliases: false }).keyId : undefined;
  const entries: Record<string, unknown>[] = kms.state.aliases
    .filter((a) => a.region === ctx.region && a.account === ctx.principal.account && (keyId === undefined || a.targetKeyId === keyId))
    .map((a) => ({
      AliasName: a.name,
      AliasArn: aliasArn(a.region, a.account, a.name),
      TargetKeyId: a.targetKeyId,
      CreationDate: epoch(a.creationDate),
      LastUpdatedDate: epoch(a.creationDate),
    }));
  // AWS lists the predefined alias of an AWS managed key before the key exists, without a target.
  if (keyId === undefined && !entries.some((e) => e.AliasName === 'alias/aws/ecr')) {
    entries.push({ AliasName: 'alias/aws/ecr', AliasArn: aliasArn(ctx.region, ctx.principal.account, 'alias/aws/ecr') });
  }
  const { page: slice, truncated } = page(input, entries, (e) => String(e.AliasName), 100, 50);
  return { Aliases: slice, ...truncated };
};

export const aliasHandlers: Readonly<Record<string, Handler>> = {
  CreateAlias: createAlias,
  UpdateAlias: updateAlias,
  DeleteAlias: deleteAlias,
  ListAliases: listAliases,
};
