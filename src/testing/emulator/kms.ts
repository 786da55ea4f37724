/**
 * The emulated KMS (`TrentService`): keys per region and account, aliases, key policies, grants
 * with eventual consistency in ListGrants, and real AES-256-GCM envelope encryption bound to the
 * encryption context. The same state answers ECR in process through {@link KmsForEcr}.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import {
  ApiError,
  type AuthorizeOptions,
  type Authorizer,
  type CallContext,
  type Clock,
  type DataKey,
  type EcrGrantRequest,
  type JsonService,
  type KmsForEcr,
  type KmsKeyInfo,
  type Persistable,
} from './core.js';
import { hexId, uuid } from './ids.js';
import {
  limitParam,
  optBlob,
  optBoolean,
  optNumber,
  optObject,
  optString,
  optStringList,
  optStringMap,
  reqString,
  validation,
} from './input.js';
import type { ContextValue, PolicyDocument } from '../../policy/types.js';

/** A KMS call made in process (by ECR), for the call log. */
export interface InternalKmsCall {
  readonly operation: string;
  readonly principalArn: string;
  readonly region: string;
  readonly status: number;
  readonly errorCode?: string;
  readonly viaService?: string;
}

/** What the KMS service is built from. */
export interface KmsServiceDeps {
  readonly authorizer: Authorizer;
  readonly clock: Clock;
  /** Regions the emulator serves: ReplicateKey targets must be one of them. */
  readonly regions: readonly string[];
  /** How long retired grants keep showing in ListGrants, and new ones stay hidden. */
  readonly grantConsistencyDelayMs?: number;
  /** Records calls ECR makes in process. */
  readonly onInternalCall?: (call: InternalKmsCall) => void;
}

/** A grant, as `inspect.grants` shows it (retired grants included). */
export interface GrantInfo {
  readonly grantId: string;
  readonly keyArn: string;
  readonly name: string | undefined;
  readonly granteePrincipal: string;
  readonly retiringPrincipal: string | undefined;
  readonly operations: readonly string[];
  readonly encryptionContextSubset: Readonly<Record<string, string>> | undefined;
  readonly encryptionContextEquals: Readonly<Record<string, string>> | undefined;
  readonly issuingAccount: string;
  readonly createdAt: Date;
  readonly retired: boolean;
  readonly retiredAt: Date | undefined;
  /** `RetireGrant` or `RevokeGrant`. */
  readonly retiredBy: string | undefined;
  /** Whether ListGrants shows it now (grants are eventually consistent). */
  readonly listed: boolean;
}

/** A key, as `inspect.keys` shows it. */
export interface KeyInfo extends KmsKeyInfo {
  readonly enabled: boolean;
  readonly multiRegion: boolean;
  readonly aliases: readonly string[];
  readonly createdAt: Date;
  readonly deletionDate: Date | undefined;
}

interface KeyRecord {
  keyId: string;
  arn: string;
  region: string;
  account: string;
  description: string;
  keyUsage: string;
  keySpec: string;
  origin: string;
  keyManager: 'AWS' | 'CUSTOMER';
  state: string;
  creationDate: string;
  deletionDate?: string | undefined;
  policy: string;
  tags: { TagKey: string; TagValue: string }[];
  multiRegion: boolean;
  primaryArn?: string | undefined;
  rotationEnabled?: boolean | undefined;
  /** base64 AES-256 key material; absent for asymmetric and HMAC keys (no crypto emulated for them). */
  material?: string | undefined;
}

interface GrantRecord {
  grantId: string;
  grantToken: string;
  keyArn: string;
  name?: string | undefined;
  granteePrincipal: string;
  retiringPrincipal?: string | undefined;
  operations: string[];
  subset?: Record<string, string> | undefined;
  equals?: Record<string, string> | undefined;
  issuingAccount: string;
  creationDate: string;
  retiredAt?: string | undefined;
  retiredBy?: string | undefined;
}

interface AliasRecord {
  name: string;
  region: string;
  account: string;
  targetKeyId: string;
  creationDate: string;
}

interface KmsState {
  keys: KeyRecord[];
  grants: GrantRecord[];
  aliases: AliasRecord[];
}

type Input = Readonly<Record<string, unknown>>;

/** The partition of every ARN the emulator makes (`arn:aws:…`). */
const EMULATOR_PARTITION = 'aws';

const STATUS: Readonly<Record<string, number>> = {
  NotFoundException: 404,
  DisabledException: 409,
  KMSInvalidStateException: 409,
  AlreadyExistsException: 409,
  DryRunOperationException: 412,
  KMSInternalException: 500,
  DependencyTimeoutException: 503,
};

/** A KMS error with the status AWS answers it with. */
export const kmsError = (code: string, message: string): ApiError => new ApiError(code, message, { status: STATUS[code] ?? 400 });

const GRANT_OPERATIONS = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign', 'Verify',
  'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
]);
const SYMMETRIC_ONLY_OPERATIONS = new Set(['GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo']);

const CRYPTO_OPERATIONS = new Set(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']);

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

const MAGIC = Buffer.from('EEK1');
const DAY_MS = 86_400_000;
/** Grants per customer managed key (AWS quota; AWS managed keys have none). */
const GRANT_LIMIT = 50_000;

const epoch = (iso: string): number => Date.parse(iso) / 1000;

/** The encryption context as AES-GCM additional data: sorted, so the order of pairs does not matter. */
const contextAad = (keyArn: string, context: Readonly<Record<string, string>>): Buffer =>
  Buffer.from(JSON.stringify([keyArn.split(':key/')[1] ?? keyArn, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]));

const lowerKeys = (map: Readonly<Record<string, string>>): Map<string, string> => new Map(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v]));

/** Grant constraint keys are case-insensitive, values case-sensitive. */
const constraintsAllow = (grant: GrantRecord, context: Readonly<Record<string, string>>): boolean => {
  const given = lowerKeys(context);
  if (grant.subset && !Object.entries(grant.subset).every(([k, v]) => given.get(k.toLowerCase()) === v)) return false;
  if (grant.equals) {
    const entries = Object.entries(grant.equals);
    if (entries.length !== given.size || !entries.every(([k, v]) => given.get(k.toLowerCase()) === v)) return false;
  }
  return true;
};

const parsePolicy = (text: string): PolicyDocument => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw kmsError('MalformedPolicyDocumentException', 'The policy is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || !('Statement' in parsed)) {
    throw kmsError('MalformedPolicyDocumentException', 'The policy must contain a Statement element.');
  }
  return parsed as PolicyDocument;
};

const defaultKeyPolicy = (account: string): string =>
  JSON.stringify(
    {
      Version: '2012-10-17',
      Id: 'key-default-1',
      Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
    },
    null,
    2,
  );

/** The policy AWS gives an AWS managed key: use only through the service, metadata to the account. */
const managedKeyPolicy = (service: string, region: string, account: string): string =>
  JSON.stringify(
    {
      Version: '2012-10-17',
      Id: `auto-${service}-1`,
      Statement: [
        {
          Sid: `Allow access through ${service} for all principals in the account that are authorized to use ${service}`,
          Effect: 'Allow',
          Principal: { AWS: '*' },
          Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:DescribeKey'],
          Resource: '*',
          Condition: { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com`, 'kms:CallerAccount': account } },
        },
        {
          Sid: 'Allow direct access to key metadata to the account',
          Effect: 'Allow',
          Principal: { AWS: `arn:aws:iam::${account}:root` },
          Action: ['kms:Describe*', 'kms:Get*', 'kms:List*', 'kms:RevokeGrant'],
          Resource: '*',
        },
      ],
    },
    null,
    2,
  );

const encodeMarker = (id: string): string => Buffer.from(id).toString('base64url');

const page = <T>(items: readonly T[], idOf: (item: T) => string, marker: string | undefined, limit: number): { page: T[]; next: string | undefined } => {
  let start = 0;
  if (marker !== undefined) {
    const after = Buffer.from(marker, 'base64url').toString();
    const index = items.findIndex((item) => idOf(item) === after);
    if (index < 0 || encodeMarker(after) !== marker) throw kmsError('InvalidMarkerException', 'The marker is not valid.');
    start = index + 1;
  }
  const slice = items.slice(start, start + limit);
  const last = slice[slice.length - 1];
  return { page: slice, next: start + limit < items.length && last !== undefined ? encodeMarker(idOf(last)) : undefined };
};

/** The emulated KMS. */
export class KmsService implements JsonService, Persistable, KmsForEcr {
  readonly targetPrefix = 'TrentService';
  readonly signingName = 'kms';
  #state: KmsState = { keys: [], grants: [], aliases: [] };
  readonly #deps: KmsServiceDeps;

  constructor(deps: KmsServiceDeps) {
    this.#deps = deps;
  }

  #now(): Date {
    return this.#deps.clock.now();
  }

  // ---- state helpers ----------------------------------------------------------------------

  /** Completes deletions whose waiting period has passed (lazily, so a test clock can move time). */
  #sweep(): void {
    const now = this.#now().getTime();
    const gone = this.#state.keys.filter((k) => k.state === 'PendingDeletion' && k.deletionDate !== undefined && Date.parse(k.deletionDate) <= now);
    if (gone.length === 0) return;
    const arns = new Set(gone.map((k) => k.arn));
    this.#state.keys = this.#state.keys.filter((k) => !arns.has(k.arn));
    this.#state.grants = this.#state.grants.filter((g) => !arns.has(g.keyArn));
    this.#state.aliases = this.#state.aliases.filter((a) => !gone.some((k) => k.keyId === a.targetKeyId && k.region === a.region && k.account === a.account));
  }

  #keyArn(region: string, account: string, keyId: string): string {
    return `arn:aws:kms:${region}:${account}:key/${keyId}`;
  }

  #aliasArn(region: string, account: string, name: string): string {
    return `arn:aws:kms:${region}:${account}:${name}`;
  }

  /** Resolves a key ID, key ARN, alias name or alias ARN, as the caller in `region` sees it. */
  #resolve(region: string, account: string, ref: string, options: { aliases?: boolean; createManaged?: boolean } = {}): KeyRecord {
    this.#sweep();
    const aliases = options.aliases ?? true;
    let keyRegion = region;
    let keyAccount = account;
    let name = ref;
    if (ref.startsWith('arn:')) {
      const parts = ref.split(':');
      if (parts.length < 6 || parts[2] !== 'kms') throw kmsError('InvalidArnException', `Invalid arn ${ref}`);
      // The emulator's keys all live in the `aws` partition. A key ARN of another partition names no
      // key this endpoint has. GUESS: AWS answers as for a key ARN of another region, which users
      // report as `NotFoundException: Invalid arn` (kubernetes-retired/kube-aws#1041); it may answer
      // InvalidArnException instead: the library treats both as "no such key here".
      if (parts[1] !== EMULATOR_PARTITION) throw kmsError('NotFoundException', 'Invalid arn');
      keyRegion = parts[3] ?? '';
      keyAccount = parts[4] ?? '';
      name = parts.slice(5).join(':');
      if (name.startsWith('key/')) name = name.slice('key/'.length);
    }
    if (name.startsWith('alias/')) {
      if (!aliases) throw kmsError('NotFoundException', `Invalid keyId ${ref}`);
      let alias = this.#state.aliases.find((a) => a.region === keyRegion && a.account === keyAccount && a.name === name);
      if (alias === undefined && options.createManaged && /^alias\/aws\/[a-z0-9-]+$/.test(name) && keyAccount === account) {
        this.#createManagedKey(keyRegion, keyAccount, name.slice('alias/aws/'.length));
        alias = this.#state.aliases.find((a) => a.region === keyRegion && a.account === keyAccount && a.name === name);
      }
      if (alias === undefined) throw kmsError('NotFoundException', `Alias ${this.#aliasArn(keyRegion, keyAccount, name)} is not found.`);
      name = alias.targetKeyId;
    }
    const key = this.#state.keys.find((k) => k.keyId === name && k.region === keyRegion && k.account === keyAccount);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${this.#keyArn(keyRegion, keyAccount, name)}' does not exist`);
    return key;
  }

  #createManagedKey(region: string, account: string, service: string): KeyRecord {
    const key = this.#newKey(region, account, {
      description: `Default key that protects my ${service.toUpperCase()} data when no other key is defined`,
      keyUsage: 'ENCRYPT_DECRYPT',
      keySpec: 'SYMMETRIC_DEFAULT',
      keyManager: 'AWS',
      policy: managedKeyPolicy(service, region, account),
      multiRegion: false,
      origin: 'AWS_KMS',
      tags: [],
    });
    const now = this.#now().toISOString();
    this.#state.aliases.push({ name: `alias/aws/${service}`, region, account, targetKeyId: key.keyId, creationDate: now });
    return key;
  }

  #newKey(
    region: string,
    account: string,
    spec: Pick<KeyRecord, 'description' | 'keyUsage' | 'keySpec' | 'keyManager' | 'policy' | 'multiRegion' | 'origin' | 'tags'> & { keyId?: string; material?: string | undefined; primaryArn?: string },
  ): KeyRecord {
    const keyId = spec.keyId ?? (spec.multiRegion ? `mrk-${hexId(16)}` : uuid());
    const key: KeyRecord = {
      keyId,
      arn: this.#keyArn(region, account, keyId),
      region,
      account,
      description: spec.description,
      keyUsage: spec.keyUsage,
      keySpec: spec.keySpec,
      origin: spec.origin,
      keyManager: spec.keyManager,
      state: spec.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      creationDate: this.#now().toISOString(),
      policy: spec.policy,
      tags: spec.tags,
      multiRegion: spec.multiRegion,
      primaryArn: spec.primaryArn,
      material: spec.keySpec === 'SYMMETRIC_DEFAULT' && spec.origin !== 'EXTERNAL' ? (spec.material ?? randomBytes(32).toString('base64')) : undefined,
    };
    this.#state.keys.push(key);
    return key;
  }

  #metadata(key: KeyRecord): Record<string, unknown> {
    const replicas = key.multiRegion ? this.#state.keys.filter((k) => k.keyId === key.keyId && k.account === key.account && k.primaryArn !== undefined) : [];
    const primary = key.multiRegion ? this.#state.keys.find((k) => k.keyId === key.keyId && k.account === key.account && k.primaryArn === undefined) : undefined;
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
  }

  /** Key-state errors as AWS words them, for operations that need a usable key. */
  #requireUsable(key: KeyRecord): void {
    if (key.state === 'Disabled') throw kmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.state === 'PendingImport') throw kmsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    if (key.state !== 'Enabled') throw kmsError('KMSInvalidStateException', `${key.arn} is ${key.state.toLowerCase()}.`);
  }

  #liveGrants(keyArn: string): GrantRecord[] {
    return this.#state.grants.filter((g) => g.keyArn === keyArn && g.retiredAt === undefined);
  }

  #granteeGrant(key: KeyRecord, grantee: readonly string[], operation: string, context?: Readonly<Record<string, string>>): GrantRecord | undefined {
    return this.#liveGrants(key.arn).find(
      (g) => grantee.includes(g.granteePrincipal) && g.operations.includes(operation) && (context === undefined || constraintsAllow(g, context)),
    );
  }

  /** Key policy + IAM, or a grant to the caller for the operation. */
  #authorizeKey(ctx: CallContext, operation: string, key: KeyRecord, options: { context?: Record<string, ContextValue>; encryptionContext?: Readonly<Record<string, string>> } = {}): void {
    const context: Record<string, ContextValue> = { ...(options.context ?? {}) };
    if (options.encryptionContext) {
      for (const [k, v] of Object.entries(options.encryptionContext)) context[`kms:EncryptionContext:${k}`] = v;
      context['kms:EncryptionContextKeys'] = Object.keys(options.encryptionContext);
    }
    const authOptions: AuthorizeOptions = { keyPolicy: parsePolicy(key.policy), resourceAccount: key.account, context };
    const action = `kms:${operation}`;
    if (this.#deps.authorizer.isAllowed(ctx, action, key.arn, authOptions)) return;
    const grantee = [ctx.principal.arn, ...(ctx.principal.roleArn !== undefined ? [ctx.principal.roleArn] : [])];
    // Grant constraints bind cryptographic operations only (DescribeKey, CreateGrant and RetireGrant ignore them).
    const constrained = CRYPTO_OPERATIONS.has(operation) ? (options.encryptionContext ?? {}) : undefined;
    if (GRANT_OPERATIONS.has(operation) && this.#granteeGrant(key, grantee, operation, constrained) !== undefined) return;
    this.#deps.authorizer.authorize(ctx, action, key.arn, authOptions);
  }

  #dryRun(input: Input): void {
    if (optBoolean(input, 'DryRun') === true) throw kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
  }

  // ---- JsonService ------------------------------------------------------------------------

  handle(action: string, input: Input, ctx: CallContext): unknown {
    this.#sweep();
    switch (action) {
      case 'CreateKey':
        return this.#createKey(input, ctx);
      case 'ReplicateKey':
        return this.#replicateKey(input, ctx);
      case 'DescribeKey': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { createManaged: true });
        this.#authorizeKey(ctx, 'DescribeKey', key);
        return { KeyMetadata: this.#metadata(key) };
      }
      case 'ListKeys':
        return this.#listKeys(input, ctx);
      case 'CreateAlias':
        return this.#createAlias(input, ctx);
      case 'UpdateAlias':
        return this.#updateAlias(input, ctx);
      case 'DeleteAlias':
        return this.#deleteAlias(input, ctx);
      case 'ListAliases':
        return this.#listAliases(input, ctx);
      case 'GetKeyPolicy': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        const policyName = optString(input, 'PolicyName') ?? 'default';
        this.#authorizeKey(ctx, 'GetKeyPolicy', key);
        if (policyName !== 'default') throw kmsError('NotFoundException', `Policy ${policyName} not found.`);
        return { Policy: key.policy, PolicyName: 'default' };
      }
      case 'PutKeyPolicy':
        return this.#putKeyPolicy(input, ctx);
      case 'EnableKey':
      case 'DisableKey': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        this.#authorizeKey(ctx, action, key);
        if (key.state === 'PendingDeletion' || key.state === 'PendingImport') throw kmsError('KMSInvalidStateException', `${key.arn} is ${key.state === 'PendingDeletion' ? 'pending deletion' : 'pending import'}.`);
        key.state = action === 'EnableKey' ? 'Enabled' : 'Disabled';
        return {};
      }
      case 'ScheduleKeyDeletion':
        return this.#scheduleKeyDeletion(input, ctx);
      case 'CancelKeyDeletion': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        this.#authorizeKey(ctx, 'CancelKeyDeletion', key);
        if (key.state !== 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is not pending deletion.`);
        // As on AWS, a key whose deletion is cancelled comes back disabled.
        key.state = 'Disabled';
        key.deletionDate = undefined;
        return { KeyId: key.arn };
      }
      case 'TagResource': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        this.#authorizeKey(ctx, 'TagResource', key);
        for (const tag of this.#tags(input)) {
          key.tags = [...key.tags.filter((t) => t.TagKey !== tag.TagKey), tag];
        }
        return {};
      }
      case 'UntagResource': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        this.#authorizeKey(ctx, 'UntagResource', key);
        const remove = new Set(optStringList(input, 'TagKeys') ?? []);
        key.tags = key.tags.filter((t) => !remove.has(t.TagKey));
        return {};
      }
      case 'ListResourceTags': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        this.#authorizeKey(ctx, 'ListResourceTags', key);
        const { page: tags, next } = page(key.tags, (t) => t.TagKey, optString(input, 'Marker'), limitParam(input, 'Limit', 50, 50));
        return { Tags: tags, Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) };
      }
      case 'GetKeyRotationStatus':
      case 'EnableKeyRotation':
      case 'DisableKeyRotation':
        return this.#rotation(action, input, ctx);
      case 'CreateGrant':
        return this.#createGrantCall(input, ctx);
      case 'ListGrants':
        return this.#listGrants(input, ctx);
      case 'ListRetirableGrants':
        return this.#listRetirableGrants(input, ctx);
      case 'RetireGrant':
        return this.#retireGrantCall(input, ctx);
      case 'RevokeGrant': {
        const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
        const grantId = reqString(input, 'GrantId');
        this.#authorizeKey(ctx, 'RevokeGrant', key, { context: { 'kms:GrantIsForAWSResource': ctx.viaService !== undefined } });
        const grant = this.#liveGrants(key.arn).find((g) => g.grantId === grantId);
        if (grant === undefined) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
        this.#dryRun(input);
        grant.retiredAt = this.#now().toISOString();
        grant.retiredBy = 'RevokeGrant';
        return {};
      }
      case 'Encrypt':
        return this.#encryptCall(input, ctx);
      case 'Decrypt':
        return this.#decryptCall(input, ctx);
      case 'GenerateDataKey':
        return this.#generateDataKeyCall(input, ctx, true);
      case 'GenerateDataKeyWithoutPlaintext':
        return this.#generateDataKeyCall(input, ctx, false);
      default:
        throw new ApiError('UnknownOperationException', `The local AWS emulator does not support KMS operation ${action} (TrentService.${action}).`);
    }
  }

  #tags(input: Input): { TagKey: string; TagValue: string }[] {
    const tags = input.Tags;
    if (tags === undefined || tags === null) return [];
    if (!Array.isArray(tags)) throw new ApiError('SerializationException', 'Tags must be a list');
    return tags.map((tag: unknown) => {
      const t = (tag ?? {}) as Input;
      const key = reqString(t, 'TagKey');
      const value = optString(t, 'TagValue') ?? '';
      if (key.startsWith('aws:')) throw kmsError('TagException', `Tag keys cannot start with aws: (${key})`);
      return { TagKey: key, TagValue: value };
    });
  }

  #createKey(input: Input, ctx: CallContext): unknown {
    const keySpec = optString(input, 'KeySpec') ?? optString(input, 'CustomerMasterKeySpec') ?? 'SYMMETRIC_DEFAULT';
    const usages = KEY_SPECS[keySpec];
    if (usages === undefined) throw validation(`Value '${keySpec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [${Object.keys(KEY_SPECS).join(', ')}]`);
    const keyUsage = optString(input, 'KeyUsage') ?? (keySpec.startsWith('HMAC') ? 'GENERATE_VERIFY_MAC' : usages[0] ?? 'ENCRYPT_DECRYPT');
    if (!usages.includes(keyUsage)) throw validation(`KeyUsage ${keyUsage} is not compatible with KeySpec ${keySpec}`);
    const origin = optString(input, 'Origin') ?? 'AWS_KMS';
    if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') throw kmsError('UnsupportedOperationException', `The local AWS emulator does not support Origin ${origin}.`);
    if (origin === 'EXTERNAL' && keySpec !== 'SYMMETRIC_DEFAULT') throw kmsError('UnsupportedOperationException', 'EXTERNAL origin needs SYMMETRIC_DEFAULT in the emulator.');
    const multiRegion = optBoolean(input, 'MultiRegion') ?? false;
    const policyText = optString(input, 'Policy') ?? defaultKeyPolicy(ctx.principal.account);
    const policy = parsePolicy(policyText);
    const tags = this.#tags(input);
    this.#deps.authorizer.authorize(ctx, 'kms:CreateKey', '*', {
      context: { 'kms:KeySpec': keySpec, 'kms:KeyUsage': keyUsage, 'kms:KeyOrigin': origin, 'kms:MultiRegion': multiRegion },
    });
    if (optBoolean(input, 'BypassPolicyLockoutSafetyCheck') !== true) this.#lockoutCheck(ctx, policy, '*', ctx.principal.account);
    const key = this.#newKey(ctx.region, ctx.principal.account, {
      description: optString(input, 'Description') ?? '',
      keyUsage,
      keySpec,
      keyManager: 'CUSTOMER',
      policy: policyText,
      multiRegion,
      origin,
      tags,
    });
    return { KeyMetadata: this.#metadata(key) };
  }

  /** AWS refuses a key policy that would lock the caller out of PutKeyPolicy. */
  #lockoutCheck(ctx: CallContext, policy: PolicyDocument, resource: string, account: string): void {
    if (!this.#deps.authorizer.isAllowed(ctx, 'kms:PutKeyPolicy', resource, { keyPolicy: policy, resourceAccount: account })) {
      throw kmsError('MalformedPolicyDocumentException', 'The new key policy will not allow you to update the key policy in the future.');
    }
  }

  #replicateKey(input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
    const replicaRegion = reqString(input, 'ReplicaRegion');
    this.#authorizeKey(ctx, 'ReplicateKey', key, { context: { 'kms:ReplicaRegion': replicaRegion } });
    if (!key.multiRegion || key.primaryArn !== undefined) throw kmsError('UnsupportedOperationException', `${key.arn} is not a multi-Region primary key.`);
    if (!this.#deps.regions.includes(replicaRegion)) throw validation(`Value '${replicaRegion}' at 'replicaRegion' is not a region this emulator serves (${this.#deps.regions.join(', ')})`);
    if (replicaRegion === key.region || this.#state.keys.some((k) => k.keyId === key.keyId && k.region === replicaRegion && k.account === key.account)) {
      throw kmsError('AlreadyExistsException', `Replica key ${key.keyId} already exists in ${replicaRegion}.`);
    }
    const policyText = optString(input, 'Policy') ?? key.policy;
    parsePolicy(policyText);
    const replica = this.#newKey(replicaRegion, key.account, {
      keyId: key.keyId,
      description: optString(input, 'Description') ?? key.description,
      keyUsage: key.keyUsage,
      keySpec: key.keySpec,
      keyManager: 'CUSTOMER',
      policy: policyText,
      multiRegion: true,
      origin: key.origin,
      tags: this.#tags(input),
      material: key.material,
      primaryArn: key.arn,
    });
    return { ReplicaKeyMetadata: this.#metadata(replica), ReplicaPolicy: replica.policy, ReplicaTags: replica.tags };
  }

  #listKeys(input: Input, ctx: CallContext): unknown {
    this.#deps.authorizer.authorize(ctx, 'kms:ListKeys', '*');
    const keys = this.#state.keys.filter((k) => k.region === ctx.region && k.account === ctx.principal.account);
    const { page: slice, next } = page(keys, (k) => k.keyId, optString(input, 'Marker'), limitParam(input, 'Limit', 1000, 100));
    return { Keys: slice.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })), Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) };
  }

  #aliasName(input: Input): string {
    const name = reqString(input, 'AliasName');
    if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.length > 256) throw kmsError('InvalidAliasNameException', `Alias name ${name} must begin with alias/ followed by letters, digits, /, _ or -.`);
    return name;
  }

  #createAlias(input: Input, ctx: CallContext): unknown {
    const name = this.#aliasName(input);
    if (name.startsWith('alias/aws/')) throw kmsError('InvalidAliasNameException', 'Aliases beginning with alias/aws/ are reserved for AWS managed keys.');
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'TargetKeyId'), { aliases: false });
    // CreateAlias needs permission on the alias (IAM) and on the key (key policy).
    this.#deps.authorizer.authorize(ctx, 'kms:CreateAlias', this.#aliasArn(ctx.region, ctx.principal.account, name));
    this.#authorizeKey(ctx, 'CreateAlias', key);
    if (key.keyManager === 'AWS') throw kmsError('NotAuthorizedException', 'An alias cannot point to an AWS managed key.');
    if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (this.#state.aliases.some((a) => a.region === ctx.region && a.account === ctx.principal.account && a.name === name)) {
      throw kmsError('AlreadyExistsException', `An alias with the name ${this.#aliasArn(ctx.region, ctx.principal.account, name)} already exists`);
    }
    this.#state.aliases.push({ name, region: ctx.region, account: ctx.principal.account, targetKeyId: key.keyId, creationDate: this.#now().toISOString() });
    return {};
  }

  #updateAlias(input: Input, ctx: CallContext): unknown {
    const name = this.#aliasName(input);
    const alias = this.#state.aliases.find((a) => a.region === ctx.region && a.account === ctx.principal.account && a.name === name);
    if (alias === undefined || name.startsWith('alias/aws/')) throw kmsError('NotFoundException', `Alias ${this.#aliasArn(ctx.region, ctx.principal.account, name)} is not found.`);
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'TargetKeyId'), { aliases: false });
    this.#deps.authorizer.authorize(ctx, 'kms:UpdateAlias', this.#aliasArn(ctx.region, ctx.principal.account, name));
    this.#authorizeKey(ctx, 'UpdateAlias', key);
    alias.targetKeyId = key.keyId;
    return {};
  }

  #deleteAlias(input: Input, ctx: CallContext): unknown {
    const name = this.#aliasName(input);
    const alias = this.#state.aliases.find((a) => a.region === ctx.region && a.account === ctx.principal.account && a.name === name);
    if (alias === undefined) throw kmsError('NotFoundException', `Alias ${this.#aliasArn(ctx.region, ctx.principal.account, name)} is not found.`);
    if (name.startsWith('alias/aws/')) throw kmsError('NotAuthorizedException', 'AWS managed aliases cannot be deleted.');
    const key = this.#resolve(ctx.region, ctx.principal.account, alias.targetKeyId, { aliases: false });
    this.#deps.authorizer.authorize(ctx, 'kms:DeleteAlias', this.#aliasArn(ctx.region, ctx.principal.account, name));
    this.#authorizeKey(ctx, 'DeleteAlias', key);
    this.#state.aliases = this.#state.aliases.filter((a) => a !== alias);
    return {};
  }

  #listAliases(input: Input, ctx: CallContext): unknown {
    this.#deps.authorizer.authorize(ctx, 'kms:ListAliases', '*');
    const keyRef = optString(input, 'KeyId');
    const keyId = keyRef === undefined ? undefined : this.#resolve(ctx.region, ctx.principal.account, keyRef, { aliases: false }).keyId;
    const entries = this.#state.aliases
      .filter((a) => a.region === ctx.region && a.account === ctx.principal.account && (keyId === undefined || a.targetKeyId === keyId))
      .map((a) => ({
        AliasName: a.name,
        AliasArn: this.#aliasArn(a.region, a.account, a.name),
        TargetKeyId: a.targetKeyId,
        CreationDate: epoch(a.creationDate),
        LastUpdatedDate: epoch(a.creationDate),
      }));
    // AWS lists the predefined alias of an AWS managed key before the key exists, without a target.
    if (keyId === undefined && !entries.some((e) => e.AliasName === 'alias/aws/ecr')) {
      entries.push({ AliasName: 'alias/aws/ecr', AliasArn: this.#aliasArn(ctx.region, ctx.principal.account, 'alias/aws/ecr') } as (typeof entries)[number]);
    }
    const { page: slice, next } = page(entries, (e) => e.AliasName, optString(input, 'Marker'), limitParam(input, 'Limit', 100, 50));
    return { Aliases: slice, Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) };
  }

  #putKeyPolicy(input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
    const policyName = optString(input, 'PolicyName') ?? 'default';
    const text = reqString(input, 'Policy');
    this.#authorizeKey(ctx, 'PutKeyPolicy', key);
    if (policyName !== 'default') throw kmsError('NotFoundException', `Policy ${policyName} not found.`);
    const policy = parsePolicy(text);
    if (optBoolean(input, 'BypassPolicyLockoutSafetyCheck') !== true) this.#lockoutCheck(ctx, policy, key.arn, key.account);
    key.policy = text;
    return {};
  }

  #scheduleKeyDeletion(input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
    const days = optNumber(input, 'PendingWindowInDays') ?? 30;
    this.#authorizeKey(ctx, 'ScheduleKeyDeletion', key);
    if (!Number.isInteger(days) || days < 7 || days > 30) throw validation(`Value '${days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30`);
    if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.keyManager === 'AWS') throw kmsError('UnsupportedOperationException', `${key.arn} is an AWS managed key and cannot be deleted.`);
    key.state = 'PendingDeletion';
    key.deletionDate = new Date(this.#now().getTime() + days * DAY_MS).toISOString();
    return { KeyId: key.arn, DeletionDate: epoch(key.deletionDate), KeyState: key.state, PendingWindowInDays: days };
  }

  #rotation(action: string, input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
    this.#authorizeKey(ctx, action, key);
    if (key.keySpec !== 'SYMMETRIC_DEFAULT' || key.origin !== 'AWS_KMS') {
      throw kmsError('UnsupportedOperationException', `${key.arn} does not support automatic key rotation.`);
    }
    if (action === 'GetKeyRotationStatus') {
      // AWS managed keys always rotate.
      const enabled = key.keyManager === 'AWS' || key.rotationEnabled === true;
      return { KeyId: key.arn, KeyRotationEnabled: enabled, ...(enabled ? { RotationPeriodInDays: 365 } : {}) };
    }
    if (key.keyManager === 'AWS') throw kmsError('UnsupportedOperationException', `${key.arn} is an AWS managed key.`);
    if (key.state !== 'Enabled') this.#requireUsable(key);
    key.rotationEnabled = action === 'EnableKeyRotation';
    return {};
  }

  // ---- grants -----------------------------------------------------------------------------

  #createGrantCall(input: Input, ctx: CallContext): unknown {
    const constraints = optObject(input, 'Constraints');
    const result = this.#createGrant(ctx, {
      keyRef: reqString(input, 'KeyId'),
      granteePrincipal: reqString(input, 'GranteePrincipal'),
      retiringPrincipal: optString(input, 'RetiringPrincipal'),
      operations: optStringList(input, 'Operations') ?? [],
      subset: constraints ? optStringMap(constraints, 'EncryptionContextSubset') : undefined,
      equals: constraints ? optStringMap(constraints, 'EncryptionContextEquals') : undefined,
      name: optString(input, 'Name'),
      dryRun: optBoolean(input, 'DryRun') === true,
    });
    return { GrantId: result.grantId, GrantToken: result.grantToken };
  }

  #createGrant(
    ctx: CallContext,
    params: {
      keyRef: string;
      granteePrincipal: string;
      retiringPrincipal?: string | undefined;
      operations: readonly string[];
      subset?: Record<string, string> | undefined;
      equals?: Record<string, string> | undefined;
      name?: string | undefined;
      dryRun?: boolean;
    },
  ): { grantId: string; grantToken: string } {
    const key = this.#resolve(ctx.region, ctx.principal.account, params.keyRef, { aliases: false });
    if (params.operations.length === 0) throw validation("Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1");
    for (const op of params.operations) {
      if (!GRANT_OPERATIONS.has(op)) throw validation(`Value '[${params.operations.join(', ')}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${[...GRANT_OPERATIONS].join(', ')}]]`);
    }
    if (params.name !== undefined && !/^[a-zA-Z0-9:/_-]{1,256}$/.test(params.name)) throw validation(`Value '${params.name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
    for (const map of [params.subset, params.equals]) {
      if (map && Object.keys(map).length > 8) throw validation('Grant constraints take at most 8 encryption context pairs');
    }
    if (params.subset && params.equals) throw validation('Specify EncryptionContextSubset or EncryptionContextEquals, not both');
    const context: Record<string, ContextValue> = {
      'kms:GrantOperations': [...params.operations],
      'kms:GranteePrincipal': params.granteePrincipal,
      'kms:GrantIsForAWSResource': ctx.viaService !== undefined,
      ...(params.retiringPrincipal !== undefined ? { 'kms:RetiringPrincipal': params.retiringPrincipal } : {}),
      ...(params.subset || params.equals ? { 'kms:GrantConstraintType': params.subset ? 'EncryptionContextSubset' : 'EncryptionContextEquals' } : {}),
    };
    this.#authorizeKey(ctx, 'CreateGrant', key, { context, ...(params.subset || params.equals ? { encryptionContext: params.subset ?? params.equals ?? {} } : {}) });
    this.#requireUsable(key);
    if (key.keySpec !== 'SYMMETRIC_DEFAULT' && params.operations.some((op) => SYMMETRIC_ONLY_OPERATIONS.has(op))) {
      throw validation(`Grant operations ${params.operations.join(', ')} are not supported for ${key.keySpec} keys.`);
    }
    if (params.dryRun) throw kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
    if (params.name !== undefined) {
      // A retried CreateGrant with the same name and parameters answers the same grant, as AWS does.
      const same = this.#liveGrants(key.arn).find(
        (g) =>
          g.name === params.name &&
          g.granteePrincipal === params.granteePrincipal &&
          g.retiringPrincipal === params.retiringPrincipal &&
          JSON.stringify(g.operations) === JSON.stringify(params.operations) &&
          JSON.stringify(g.subset) === JSON.stringify(params.subset) &&
          JSON.stringify(g.equals) === JSON.stringify(params.equals),
      );
      if (same) return { grantId: same.grantId, grantToken: same.grantToken };
    }
    if (key.keyManager === 'CUSTOMER' && this.#liveGrants(key.arn).length >= GRANT_LIMIT) {
      throw kmsError('LimitExceededException', `The grant quota (${GRANT_LIMIT}) for ${key.arn} is reached.`);
    }
    const grant: GrantRecord = {
      grantId: hexId(32),
      grantToken: Buffer.from(`grant:${hexId(48)}`).toString('base64'),
      keyArn: key.arn,
      name: params.name,
      granteePrincipal: params.granteePrincipal,
      retiringPrincipal: params.retiringPrincipal,
      operations: [...params.operations],
      subset: params.subset,
      equals: params.equals,
      issuingAccount: `arn:aws:iam::${ctx.principal.account}:root`,
      creationDate: this.#now().toISOString(),
    };
    this.#state.grants.push(grant);
    return { grantId: grant.grantId, grantToken: grant.grantToken };
  }

  /** Whether ListGrants shows a grant now: new grants appear, and retired ones disappear, after the delay. */
  #listed(grant: GrantRecord): boolean {
    const delay = this.#deps.grantConsistencyDelayMs ?? 0;
    const now = this.#now().getTime();
    if (Date.parse(grant.creationDate) + delay > now) return false;
    return grant.retiredAt === undefined || Date.parse(grant.retiredAt) + delay > now;
  }

  #grantEntry(grant: GrantRecord): Record<string, unknown> {
    return {
      KeyId: grant.keyArn,
      GrantId: grant.grantId,
      ...(grant.name !== undefined ? { Name: grant.name } : {}),
      CreationDate: epoch(grant.creationDate),
      GranteePrincipal: grant.granteePrincipal,
      ...(grant.retiringPrincipal !== undefined ? { RetiringPrincipal: grant.retiringPrincipal } : {}),
      IssuingAccount: grant.issuingAccount,
      Operations: grant.operations,
      ...(grant.subset || grant.equals
        ? { Constraints: { ...(grant.subset ? { EncryptionContextSubset: grant.subset } : {}), ...(grant.equals ? { EncryptionContextEquals: grant.equals } : {}) } }
        : {}),
    };
  }

  #listGrants(input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'), { aliases: false });
    const limit = limitParam(input, 'Limit', 100, 50);
    const grantId = optString(input, 'GrantId');
    const grantee = optString(input, 'GranteePrincipal');
    this.#authorizeKey(ctx, 'ListGrants', key, { context: { 'kms:GrantIsForAWSResource': ctx.viaService !== undefined } });
    const grants = this.#state.grants.filter(
      (g) => g.keyArn === key.arn && this.#listed(g) && (grantId === undefined || g.grantId === grantId) && (grantee === undefined || g.granteePrincipal === grantee),
    );
    const { page: slice, next } = page(grants, (g) => g.grantId, optString(input, 'Marker'), limit);
    return { Grants: slice.map((g) => this.#grantEntry(g)), Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) };
  }

  #listRetirableGrants(input: Input, ctx: CallContext): unknown {
    const retiring = reqString(input, 'RetiringPrincipal');
    const limit = limitParam(input, 'Limit', 100, 50);
    this.#deps.authorizer.authorize(ctx, 'kms:ListRetirableGrants', '*');
    const keys = new Set(this.#state.keys.filter((k) => k.region === ctx.region && k.account === ctx.principal.account).map((k) => k.arn));
    const grants = this.#state.grants.filter((g) => keys.has(g.keyArn) && g.retiringPrincipal === retiring && this.#listed(g));
    const { page: slice, next } = page(grants, (g) => g.grantId, optString(input, 'Marker'), limit);
    return { Grants: slice.map((g) => this.#grantEntry(g)), Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) };
  }

  #retireGrantCall(input: Input, ctx: CallContext): unknown {
    const token = optString(input, 'GrantToken');
    const keyRef = optString(input, 'KeyId');
    const grantId = optString(input, 'GrantId');
    let grant: GrantRecord | undefined;
    if (token !== undefined) {
      grant = this.#state.grants.find((g) => g.grantToken === token);
      if (grant === undefined) throw kmsError('InvalidGrantTokenException', 'The grant token is not valid.');
      if (grant.retiredAt !== undefined) throw kmsError('NotFoundException', `Grant ID ${grant.grantId} not found`);
    } else {
      if (keyRef === undefined || grantId === undefined) throw validation('Specify a GrantToken, or a KeyId and a GrantId');
      const key = this.#resolve(ctx.region, ctx.principal.account, keyRef, { aliases: false });
      grant = this.#liveGrants(key.arn).find((g) => g.grantId === grantId);
      if (grant === undefined) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
    }
    this.#retire(ctx, grant, optBoolean(input, 'DryRun') === true);
    return {};
  }

  /**
   * Who may retire: the retiring principal, a grantee whose grant includes RetireGrant, or a
   * principal of the account that created the grant with `kms:RetireGrant` in an IAM policy
   * (a key-policy Allow is not effective for it; a Deny is).
   */
  #retire(ctx: CallContext, grant: GrantRecord, dryRun: boolean): void {
    const key = this.#state.keys.find((k) => k.arn === grant.keyArn);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${grant.keyArn}' does not exist`);
    const caller = [ctx.principal.arn, ...(ctx.principal.roleArn !== undefined ? [ctx.principal.roleArn] : [])];
    const options: AuthorizeOptions = { keyPolicy: parsePolicy(key.policy), resourceAccount: key.account };
    const named = (grant.retiringPrincipal !== undefined && caller.includes(grant.retiringPrincipal)) || (caller.includes(grant.granteePrincipal) && grant.operations.includes('RetireGrant'));
    const explicitDeny = (): boolean => {
      // A Deny still applies to a named principal: only an explicit deny can stop it.
      return this.#deps.authorizer.explain?.(ctx, 'kms:RetireGrant', key.arn, options).decision === 'explicitDeny';
    };
    if (named) {
      if (explicitDeny()) this.#deps.authorizer.authorize(ctx, 'kms:RetireGrant', key.arn, options);
    } else {
      if (grant.issuingAccount !== `arn:aws:iam::${ctx.principal.account}:root`) {
        throw kmsError('AccessDeniedException', `User: ${ctx.principal.arn} is not authorized to perform: kms:RetireGrant on resource: ${key.arn} because it is neither the grant's retiring principal, its grantee, nor in the account that created it`);
      }
      this.#deps.authorizer.authorize(ctx, 'kms:RetireGrant', key.arn, options);
    }
    if (dryRun) throw kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
    grant.retiredAt = this.#now().toISOString();
    grant.retiredBy = 'RetireGrant';
  }

  // ---- cryptography -----------------------------------------------------------------------

  #requireSymmetric(key: KeyRecord, operation: string): Buffer {
    if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
      throw kmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
    }
    if (key.material === undefined) {
      throw kmsError('UnsupportedOperationException', `The local AWS emulator does not implement ${operation} with ${key.keySpec} keys.`);
    }
    return Buffer.from(key.material, 'base64');
  }

  #seal(key: KeyRecord, plaintext: Buffer, context: Readonly<Record<string, string>>): Buffer {
    const material = this.#requireSymmetric(key, 'Encrypt');
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', material, iv);
    cipher.setAAD(contextAad(key.arn, context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    // The blob names its key, as AWS ciphertexts do, so Decrypt needs no KeyId.
    const keyId = Buffer.from(key.keyId);
    const header = Buffer.alloc(2);
    header.writeUInt16BE(keyId.length);
    return Buffer.concat([MAGIC, header, keyId, iv, cipher.getAuthTag(), body]);
  }

  /** The key ID a ciphertext blob names, or undefined when it is no blob of ours. */
  #blobKeyId(blob: Buffer): string | undefined {
    if (blob.length < MAGIC.length + 2 + 28 || !blob.subarray(0, 4).equals(MAGIC)) return undefined;
    const length = blob.readUInt16BE(4);
    if (blob.length < 6 + length + 28) return undefined;
    return blob.subarray(6, 6 + length).toString();
  }

  #open(key: KeyRecord, blob: Buffer, context: Readonly<Record<string, string>>): Buffer {
    const material = this.#requireSymmetric(key, 'Decrypt');
    const length = blob.readUInt16BE(4);
    const offset = 6 + length;
    const iv = blob.subarray(offset, offset + 12);
    const tag = blob.subarray(offset + 12, offset + 28);
    const decipher = createDecipheriv('aes-256-gcm', material, iv);
    decipher.setAAD(contextAad(key.arn, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(blob.subarray(offset + 28)), decipher.final()]);
    } catch {
      // A wrong encryption context fails authentication, which AWS reports as InvalidCiphertextException.
      throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid or the encryption context does not match.');
    }
  }

  #encryptCall(input: Input, ctx: CallContext): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'));
    const plaintext = optBlob(input, 'Plaintext');
    if (plaintext === undefined || plaintext.length === 0 || plaintext.length > 4096) throw validation("Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096");
    const context = optStringMap(input, 'EncryptionContext') ?? {};
    this.#authorizeKey(ctx, 'Encrypt', key, { encryptionContext: context });
    this.#requireUsable(key);
    this.#requireSymmetric(key, 'Encrypt');
    this.#dryRun(input);
    return { CiphertextBlob: this.#seal(key, plaintext, context).toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  #keyForBlob(ctx: CallContext, blob: Buffer, keyRef: string | undefined): KeyRecord {
    const blobKeyId = this.#blobKeyId(blob);
    if (blobKeyId === undefined) throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
    const key = this.#resolve(ctx.region, ctx.principal.account, blobKeyId, { aliases: false });
    if (keyRef !== undefined) {
      const named = this.#resolve(ctx.region, ctx.principal.account, keyRef);
      if (named.arn !== key.arn) throw kmsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
    }
    return key;
  }

  #decryptCall(input: Input, ctx: CallContext): unknown {
    const blob = optBlob(input, 'CiphertextBlob');
    if (blob === undefined) throw validation("Value null at 'ciphertextBlob' failed to satisfy constraint: Member must not be null");
    const context = optStringMap(input, 'EncryptionContext') ?? {};
    const key = this.#keyForBlob(ctx, blob, optString(input, 'KeyId'));
    this.#authorizeKey(ctx, 'Decrypt', key, { encryptionContext: context });
    this.#requireUsable(key);
    this.#dryRun(input);
    const plaintext = this.#open(key, blob, context);
    return { KeyId: key.arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
  }

  #dataKeyLength(input: Input): number {
    const spec = optString(input, 'KeySpec');
    const bytes = optNumber(input, 'NumberOfBytes');
    if (spec !== undefined && bytes !== undefined) throw validation('Specify either KeySpec or NumberOfBytes, not both');
    if (spec === undefined && bytes === undefined) throw validation('Specify either KeySpec or NumberOfBytes');
    if (bytes !== undefined) {
      if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) throw validation(`Value '${bytes}' at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024`);
      return bytes;
    }
    if (spec === 'AES_256') return 32;
    if (spec === 'AES_128') return 16;
    throw validation(`Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`);
  }

  #generateDataKeyCall(input: Input, ctx: CallContext, withPlaintext: boolean): unknown {
    const key = this.#resolve(ctx.region, ctx.principal.account, reqString(input, 'KeyId'));
    const length = this.#dataKeyLength(input);
    const context = optStringMap(input, 'EncryptionContext') ?? {};
    const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
    this.#authorizeKey(ctx, operation, key, { encryptionContext: context });
    this.#requireUsable(key);
    this.#requireSymmetric(key, operation);
    this.#dryRun(input);
    const plaintext = randomBytes(length);
    return {
      CiphertextBlob: this.#seal(key, plaintext, context).toString('base64'),
      ...(withPlaintext ? { Plaintext: plaintext.toString('base64') } : {}),
      KeyId: key.arn,
    };
  }

  // ---- KmsForEcr --------------------------------------------------------------------------

  #logged<T>(operation: string, principalArn: string, region: string, viaService: string | undefined, run: () => T): T {
    try {
      const result = run();
      this.#deps.onInternalCall?.({ operation, principalArn, region, status: 200, ...(viaService !== undefined ? { viaService } : {}) });
      return result;
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 500;
      const errorCode = error instanceof ApiError ? error.code : 'InternalError';
      this.#deps.onInternalCall?.({ operation, principalArn, region, status, errorCode, ...(viaService !== undefined ? { viaService } : {}) });
      throw error;
    }
  }

  describeKey(ctx: CallContext, keyRef: string): KmsKeyInfo {
    return this.#logged('DescribeKey', ctx.principal.arn, ctx.region, ctx.viaService, () => {
      const key = this.#resolve(ctx.region, ctx.principal.account, keyRef, { createManaged: true });
      this.#authorizeKey(ctx, 'DescribeKey', key);
      return this.#info(key);
    });
  }

  createGrant(ctx: CallContext, request: EcrGrantRequest): { readonly grantId: string } {
    return this.#logged('CreateGrant', ctx.principal.arn, ctx.region, ctx.viaService, () => {
      const { grantId } = this.#createGrant(ctx, {
        keyRef: request.keyArn,
        granteePrincipal: request.granteePrincipal,
        retiringPrincipal: request.retiringPrincipal,
        operations: request.operations,
        subset: request.encryptionContextSubset === undefined ? undefined : { ...request.encryptionContextSubset },
      });
      return { grantId };
    });
  }

  retireGrant(ctx: CallContext, keyArn: string, grantId: string, options: { readonly dryRun?: boolean } = {}): void {
    this.#logged('RetireGrant', ctx.principal.arn, ctx.region, ctx.viaService, () => {
      const key = this.#resolve(ctx.region, ctx.principal.account, keyArn, { aliases: false });
      const grant = this.#liveGrants(key.arn).find((g) => g.grantId === grantId);
      if (grant === undefined) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
      this.#retire(ctx, grant, options.dryRun === true);
    });
  }

  /** The key ECR uses, by ARN in its region; ECR acts only through a live grant to `ecr.<region>.amazonaws.com`. */
  #ecrKey(region: string, keyArn: string, operation: string, context: Readonly<Record<string, string>>): KeyRecord {
    this.#sweep();
    const key = this.#state.keys.find((k) => k.arn === keyArn && k.region === region);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${keyArn}' does not exist`);
    const service = `ecr.${region}.amazonaws.com`;
    if (this.#granteeGrant(key, [service], operation, context) === undefined) {
      throw kmsError('AccessDeniedException', `User: ${service} is not authorized to perform: kms:${operation} on resource: ${keyArn} because no grant allows it`);
    }
    this.#requireUsable(key);
    return key;
  }

  generateDataKey(region: string, keyArn: string, encryptionContext: Readonly<Record<string, string>>): DataKey {
    return this.#logged('GenerateDataKey', `ecr.${region}.amazonaws.com`, region, undefined, () => {
      const key = this.#ecrKey(region, keyArn, 'GenerateDataKey', encryptionContext);
      const plaintext = randomBytes(32);
      return { plaintext, ciphertextBlob: this.#seal(key, plaintext, encryptionContext) };
    });
  }

  decrypt(region: string, keyArn: string, ciphertextBlob: Buffer, encryptionContext: Readonly<Record<string, string>>): Buffer {
    return this.#logged('Decrypt', `ecr.${region}.amazonaws.com`, region, undefined, () => {
      const blobKeyId = this.#blobKeyId(ciphertextBlob);
      if (blobKeyId === undefined) throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
      const key = this.#ecrKey(region, keyArn, 'Decrypt', encryptionContext);
      if (blobKeyId !== key.keyId) throw kmsError('IncorrectKeyException', 'The ciphertext was not encrypted under this key.');
      return this.#open(key, ciphertextBlob, encryptionContext);
    });
  }

  // ---- inspection and persistence ---------------------------------------------------------

  #info(key: KeyRecord): KmsKeyInfo {
    return { arn: key.arn, keyId: key.keyId, region: key.region, account: key.account, state: key.state, usage: key.keyUsage, spec: key.keySpec, keyManager: key.keyManager };
  }

  /** Keys (optionally of one region), for `inspect.keys`. */
  keys(region?: string): readonly KeyInfo[] {
    this.#sweep();
    return this.#state.keys
      .filter((k) => region === undefined || k.region === region)
      .map((k) => ({
        ...this.#info(k),
        enabled: k.state === 'Enabled',
        multiRegion: k.multiRegion,
        aliases: this.#state.aliases.filter((a) => a.targetKeyId === k.keyId && a.region === k.region && a.account === k.account).map((a) => a.name),
        createdAt: new Date(k.creationDate),
        deletionDate: k.deletionDate === undefined ? undefined : new Date(k.deletionDate),
      }));
  }

  /** Every grant of a key (by ARN or ID), retired ones included, for `inspect.grants`. */
  grants(keyRef: string): readonly GrantInfo[] {
    this.#sweep();
    const key = this.#state.keys.find((k) => k.arn === keyRef || k.keyId === keyRef);
    const arn = key?.arn ?? keyRef;
    return this.#state.grants
      .filter((g) => g.keyArn === arn)
      .map((g) => ({
        grantId: g.grantId,
        keyArn: g.keyArn,
        name: g.name,
        granteePrincipal: g.granteePrincipal,
        retiringPrincipal: g.retiringPrincipal,
        operations: [...g.operations],
        encryptionContextSubset: g.subset,
        encryptionContextEquals: g.equals,
        issuingAccount: g.issuingAccount,
        createdAt: new Date(g.creationDate),
        retired: g.retiredAt !== undefined,
        retiredAt: g.retiredAt === undefined ? undefined : new Date(g.retiredAt),
        retiredBy: g.retiredBy,
        listed: this.#listed(g),
      }));
  }

  snapshot(): unknown {
    return structuredClone(this.#state);
  }

  restore(snapshot: unknown): void {
    this.#state = structuredClone(snapshot as KmsState);
  }
}
