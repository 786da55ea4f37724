/**
 * Key actions: create and replicate, describe and list, enable and disable, scheduled deletion,
 * rotation, tags and the key policy.
 */
import type { CallContext } from '../core.js';
import { validation, type Input } from '../input.js';
import { page, type Handler, type KmsContext } from './context.js';
import { defaultKeyPolicy, lockoutCheck, parsePolicy } from './policy.js';
import { epoch, kmsError, type KeyRecord, type KeyTag } from './state.js';

const DAY_MS = 86_400_000;

const KEY_SPECS: Readonly<Record<string, readonly string[]>> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  ECC_NIST_EDWARDS25519: ['SIGN_VERIFY'],
  SM2: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
  ML_DSA_44: ['SIGN_VERIFY'],
  ML_DSA_65: ['SIGN_VERIFY'],
  ML_DSA_87: ['SIGN_VERIFY'],
};

/** The `KeyMetadata` of a key. */
const metadata = (kms: KmsContext, key: KeyRecord): Record<string, unknown> => {
  const replicas = key.multiRegion ? kms.state.keys.filter((k) => k.keyId === key.keyId && k.account === key.account && k.primaryArn !== undefined) : [];
  const primary = key.multiRegion ? kms.state.keys.find((k) => k.keyId === key.keyId && k.account === key.account && k.primaryArn === undefined) : undefined;
  return {
    AWSAccountId: key.account,
    KeyId: key.keyId,
    Arn: key.arn,
    CreationDate: epoch(key.creationDate),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.deletionDate !== undefined ? { DeletionDate: epoch(key.deletionDate) } : {}),
    Origin: key.origin,
    ...(key.origin === 'EXTERNAL' ? { ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' } : {}),
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...(key.keyUsage === 'ENCRYPT_DECRYPT'
      ? { EncryptionAlgorithms: key.keySpec === 'SYMMETRIC_DEFAULT' ? ['SYMMETRIC_DEFAULT'] : key.keySpec === 'SM2' ? ['SM2PKE'] : ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }
      : {}),
    ...(key.keyUsage === 'SIGN_VERIFY'
      ? { SigningAlgorithms: key.keySpec.startsWith('RSA') ? ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512'] : ['ECDSA_SHA_256'] }
      : {}),
    ...(key.keyUsage === 'GENERATE_VERIFY_MAC' ? { MacAlgorithms: [`HMAC_SHA_${key.keySpec.slice('HMAC_'.length)}`] } : {}),
    ...(key.keyUsage === 'KEY_AGREEMENT' ? { KeyAgreementAlgorithms: ['ECDH'] } : {}),
    MultiRegion: key.multiRegion,
    ...(key.multiRegion && primary
      ? {
          MultiRegionConfiguration: {
            MultiRegionKeyType: key.primaryArn === undefined ? 'PRIMARY' : 'REPLICA',
            PrimaryKey: { Arn: primary.arn, Region: primary.region },
            ReplicaKeys: replicas.map((r) => ({ Arn: r.arn, Region: r.region })),
          },
        }
      : {}),
  };
};

const readTags = (input: Input): KeyTag[] =>
  (input.optionalObjects('Tags', 0, Number.MAX_SAFE_INTEGER) ?? []).map((tag) => {
    const key = tag.string('TagKey');
    if (key.startsWith('aws:')) throw kmsError('TagException', `Tag keys cannot start with aws: (${key})`);
    return { TagKey: key, TagValue: tag.optionalString('TagValue') ?? '' };
  });

/** A key named by `KeyId` (key ID or ARN, never an alias), after `kms:<operation>` is authorized on it. */
const authorizedKey = (kms: KmsContext, input: Input, ctx: CallContext, operation: string): KeyRecord => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  kms.authorizeKey(ctx, operation, key);
  return key;
};

const createKey: Handler = (kms, input, ctx) => {
  const keySpec = input.optionalString('KeySpec') ?? input.optionalString('CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
  const usages = KEY_SPECS[keySpec];
  if (usages === undefined) throw validation(`Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [${Object.keys(KEY_SPECS).join(', ')}]`);
  const keyUsage = input.optionalString('KeyUsage') ?? (keySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : usages[0] ?? 'ENCRYPT_DECRYPT');
  if (!usages.includes(keyUsage)) throw validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
  const origin = input.optionalString('Origin') ?? 'AWS_KMS';
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') throw kmsError('UnsupportedOperationException', `The local AWS emulator does not support Origin ${origin}.`);
  if (origin === 'EXTERNAL' && keySpec !== 'SYMMETRIC_DEFAULT') throw kmsError('UnsupportedOperationException', 'EXTERNAL origin needs SYMMETRIC_DEFAULT in the emulator.');
  const multiRegion = input.optionalBoolean('MultiRegion') ?? false;
  const policyText = input.optionalString('Policy') ?? defaultKeyPolicy(ctx.principal.account);
  const policy = parsePolicy(policyText);
  const tags = readTags(input);
  kms.deps.authorizer.authorize(ctx, 'kms:CreateKey', '*', {
    context: { 'kms:KeySpec': keySpec, 'kms:KeyUsage': keyUsage, 'kms:KeyOrigin': origin, 'kms:MultiRegion': multiRegion },
  });
  if (input.optionalBoolean('BypassPolicyLockoutSafetyCheck') !== true) lockoutCheck(kms.deps.authorizer, ctx, policy, '*', ctx.principal.account);
  const key = kms.newKey(ctx.region, ctx.principal.account, {
    description: input.optionalString('Description') ?? '',
    keyUsage,
    keySpec,
    keyManager: 'CUSTOMER',
    policy: policyText,
    multiRegion,
    origin,
    tags,
  });
  return { KeyMetadata: metadata(kms, key) };
};

const replicateKey: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  const replicaRegion = input.string('ReplicaRegion');
  kms.authorizeKey(ctx, 'ReplicateKey', key, { context: { 'kms:ReplicaRegion': replicaRegion } });
  if (!key.multiRegion || key.primaryArn !== undefined) throw kmsError('UnsupportedOperationException', `${key.arn} is not a multi-Region primary key.`);
  if (!kms.deps.regions.includes(replicaRegion)) throw validation(`Value '${replicaRegion}' at 'replicaRegion' is not a region this emulator serves (${kms.deps.regions.join(', ')})`);
  if (replicaRegion === key.region || kms.state.keys.some((k) => k.keyId === key.keyId && k.region === replicaRegion && k.account === key.account)) {
    throw kmsError('AlreadyExistsException', `Replica key ${key.keyId} already exists in ${replicaRegion}.`);
  }
  const policyText = input.optionalString('Policy') ?? key.policy;
  parsePolicy(policyText);
  const replica = kms.newKey(replicaRegion, key.account, {
    keyId: key.keyId,
    description: input.optionalString('Description') ?? key.description,
    keyUsage: key.keyUsage,
    keySpec: key.keySpec,
    keyManager: 'CUSTOMER',
    policy: policyText,
    multiRegion: true,
    origin: key.origin,
    tags: readTags(input),
    material: key.material,
    primaryArn: key.arn,
  });
  return { ReplicaKeyMetadata: metadata(kms, replica), ReplicaPolicy: replica.policy, ReplicaTags: replica.tags };
};

const describeKey: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { createManaged: true });
  kms.authorizeKey(ctx, 'DescribeKey', key);
  return { KeyMetadata: metadata(kms, key) };
};

const listKeys: Handler = (kms, input, ctx) => {
  kms.deps.authorizer.authorize(ctx, 'kms:ListKeys', '*');
  const keys = kms.state.keys.filter((k) => k.region === ctx.region && k.account === ctx.principal.account);
  const { page: slice, truncated } = page(input, keys, (k) => k.keyId, 1000, 100);
  return { Keys: slice.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), ...truncated };
};

const enableOrDisable = (action: 'EnableKey' | 'DisableKey'): Handler => (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, action);
  if (key.state === 'PendingDeletion' || key.state === 'PendingImport') throw kmsError('KMSInvalidStateException', `${key.arn} is ${key.state === 'PendingDeletion' ? 'pending deletion' : 'pending import'}.`);
  key.state = action === 'EnableKey' ? 'Enabled' : 'Disabled';
  return {};
};

const scheduleKeyDeletion: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  const days = input.optionalNumber('PendingWindowInDays', 7, 30) ?? 30;
  kms.authorizeKey(ctx, 'ScheduleKeyDeletion', key);
  if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
  if (key.keyManager === 'AWS') throw kmsError('UnsupportedOperationException', `${key.arn} is an AWS managed key and cannot be deleted.`);
  key.state = 'PendingDeletion';
  key.deletionDate = new Date(kms.now().getTime() + days * DAY_MS).toISOString();
  return { KeyId: key.arn, DeletionDate: epoch(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
};

const cancelKeyDeletion: Handler = (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, 'CancelKeyDeletion');
  if (key.state !== 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
  // As on AWS, a key whose deletion is cancelled comes back disabled.
  key.state = 'Disabled';
  key.deletionDate = undefined;
  return { KeyId: key.arn };
};

const rotation = (action: 'GetKeyRotationStatus' | 'EnableKeyRotation' | 'DisableKeyRotation'): Handler => (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, action);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' || key.origin !== 'AWS_KMS') {
    throw kmsError('UnsupportedOperationException', `${key.arn} does not support automatic key rotation.`);
  }
  if (action === 'GetKeyRotationStatus') {
    // AWS managed keys always rotate.
    const enabled = key.keyManager === 'AWS' || key.rotationEnabled === true;
    return { KeyId: key.arn, KeyRotationEnabled: enabled, ...(enabled ? { RotationPeriodInDays: 365 } : {}) };
  }
  if (key.keyManager === 'AWS') throw kmsError('UnsupportedOperationException', `${key.arn} is an AWS managed key.`);
  if (key.state !== 'Enabled') kms.requireUsable(key);
  key.rotationEnabled = action === 'EnableKeyRotation';
  return {};
};

const tagResource: Handler = (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, 'TagResource');
  for (const tag of readTags(input)) key.tags = [...key.tags.filter((t) => t.TagKey !== tag.TagKey), tag];
  return {};
};

const untagResource: Handler = (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, 'UntagResource');
  const remove = new Set(input.optionalStrings('TagKeys', 0, Number.MAX_SAFE_INTEGER) ?? []);
  key.tags = key.tags.filter((t) => !remove.has(t.TagKey));
  return {};
};

const listResourceTags: Handler = (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, 'ListResourceTags');
  const { page: tags, truncated } = page(input, key.tags, (t) => t.TagKey, 50, 50);
  return { Tags: tags, ...truncated };
};

/** The one policy name KMS knows. */
const policyName = (input: Input): void => {
  const name = input.optionalString('PolicyName') ?? 'default';
  if (name !== 'default') throw kmsError('NotFoundException', `Policy ${name} not found.`);
};

const getKeyPolicy: Handler = (kms, input, ctx) => {
  const key = authorizedKey(kms, input, ctx, 'GetKeyPolicy');
  policyName(input);
  return { Policy: key.policy, PolicyName: 'default' };
};

const putKeyPolicy: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId', { aliases: false });
  const text = input.string('Policy');
  kms.authorizeKey(ctx, 'PutKeyPolicy', key);
  policyName(input);
  const policy = parsePolicy(text);
  if (input.optionalBoolean('BypassPolicyLockoutSafetyCheck') !== true) lockoutCheck(kms.deps.authorizer, ctx, policy, key.arn, key.account);
  key.policy = text;
  return {};
};


export const keyHandlers: Readonly<Record<string, Handler>> = {
  CreateKey: createKey,
  ReplicateKey: replicateKey,
  DescribeKey: describeKey,
  ListKeys: listKeys,
  EnableKey: enableOrDisable('EnableKey'),
  DisableKey: enableOrDisable('DisableKey'),
  ScheduleKeyDeletion: scheduleKeyDeletion,
  CancelKeyDeletion: cancelKeyDeletion,
  GetKeyRotationStatus: rotation('GetKeyRotationStatus'),
  EnableKeyRotation: rotation('EnableKeyRotation'),
  DisableKeyRotation: rotation('DisableKeyRotation'),
  TagResource: tagResource,
  UntagResource: untagResource,
  ListResourceTags: listResourceTags,
  GetKeyPolicy: getKeyPolicy,
  PutKeyPolicy: putKeyPolicy,
};
