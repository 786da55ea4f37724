/**
 * What every KMS handler shares: the state, key and alias resolution, key states, and
 * authorization by key policy, IAM or grant.
 */
import { randomBytes } from 'node:crypto';
import type { AuthorizeOptions, CallContext, KmsKeyInfo } from '../core.js';
import { hexId, uuid } from '../ids.js';
import type { Input } from '../input.js';
import type { ContextValue } from '../../../policy/types.js';
import { managedKeyPolicy, parsePolicy } from './policy.js';
import { aliasArn, dryRunError, EMULATOR_PARTITION, keyArn, kmsError, type GrantRecord, type KeyRecord, type KmsServiceDeps, type KmsState } from './state.js';

/** One KMS action: reads its input, answers JSON or throws {@link ApiError}. */
export type Handler = (kms: KmsContext, input: Input, ctx: CallContext) => unknown;

/** The operations a grant may allow. */
export const GRANT_OPERATIONS = new Set([
  'Decrypt', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'Sign', 'Verify',
  'GetPublicKey', 'CreateGrant', 'RetireGrant', 'DescribeKey', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext',
  'GenerateMac', 'VerifyMac', 'DeriveSharedSecret',
]);

const CRYPTO_OPERATIONS = new Set(['Encrypt', 'Decrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']);

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

/** What a new key is made of. */
export type KeySpec = Pick<KeyRecord, 'description' | 'keyUsage' | 'keySpec' | 'keyManager' | 'policy' | 'multiRegion' | 'origin' | 'tags'> & {
  keyId?: string;
  material?: string | undefined;
  primaryArn?: string;
};

export class KmsContext {
  state: KmsState = { keys: [], grants: [], aliases: [] };

  constructor(readonly deps: KmsServiceDeps) {}

  now(): Date {
    return this.deps.clock.now();
  }

  /** Completes deletions whose waiting period has passed (lazily, so a test clock can move time). */
  sweep(): void {
    const now = this.now().getTime();
    const gone = this.state.keys.filter((k) => k.state === 'PendingDeletion' && k.deletionDate !== undefined && Date.parse(k.deletionDate) <= now);
    if (gone.length === 0) return;
    const arns = new Set(gone.map((k) => k.arn));
    this.state.keys = this.state.keys.filter((k) => !arns.has(k.arn));
    this.state.grants = this.state.grants.filter((g) => !arns.has(g.keyArn));
    this.state.aliases = this.state.aliases.filter((a) => !gone.some((k) => k.keyId === a.targetKeyId && k.region === a.region && k.account === a.account));
  }

  /** Resolves a key ID, key ARN, alias name or alias ARN, as the caller in `region` sees it. */
  resolve(region: string, account: string, ref: string, options: { aliases?: boolean; createManaged?: boolean } = {}): KeyRecord {
    this.sweep();
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
      let alias = this.state.aliases.find((a) => a.region === keyRegion && a.account === keyAccount && a.name === name);
      if (alias === undefined && options.createManaged && /^alias\/aws\/[a-z0-9-]+$/.test(name) && keyAccount === account) {
        this.#createManagedKey(keyRegion, keyAccount, name.slice('alias/aws/'.length));
        alias = this.state.aliases.find((a) => a.region === keyRegion && a.account === keyAccount && a.name === name);
      }
      if (alias === undefined) throw kmsError('NotFoundException', `Alias ${aliasArn(keyRegion, keyAccount, name)} is not found.`);
      name = alias.targetKeyId;
    }
    const key = this.state.keys.find((k) => k.keyId === name && k.region === keyRegion && k.account === keyAccount);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${keyArn(keyRegion, keyAccount, name)}' does not exist`);
    return key;
  }

  /** The key a request's `member` names, in the caller's region and account. */
  keyFor(input: Input, ctx: CallContext, member: string, options: { aliases?: boolean; createManaged?: boolean } = {}): KeyRecord {
    return this.resolve(ctx.region, ctx.principal.account, input.string(member), options);
  }

  #createManagedKey(region: string, account: string, service: string): KeyRecord {
    const key = this.newKey(region, account, {
      description: `Default key that protects my ${service.toUpperCase()} data when no other key is defined`,
      keyUsage: 'ENCRYPT_DECRYPT',
      keySpec: 'SYMMETRIC_DEFAULT',
      keyManager: 'AWS',
      policy: managedKeyPolicy(service, region, account),
      multiRegion: false,
      origin: 'AWS_KMS',
      tags: [],
    });
    this.state.aliases.push({ name: `alias/aws/${service}`, region, account, targetKeyId: key.keyId, creationDate: this.now().toISOString() });
    return key;
  }

  newKey(region: string, account: string, spec: KeySpec): KeyRecord {
    const keyId = spec.keyId ?? (spec.multiRegion ? `mrk-${hexId(16)}` : uuid());
    const key: KeyRecord = {
      keyId,
      arn: keyArn(region, account, keyId),
      region,
      account,
      description: spec.description,
      keyUsage: spec.keyUsage,
      keySpec: spec.keySpec,
      origin: spec.origin,
      keyManager: spec.keyManager,
      state: spec.origin === 'EXTERNAL' ? 'PendingImport' : 'Enabled',
      creationDate: this.now().toISOString(),
      policy: spec.policy,
      tags: spec.tags,
      multiRegion: spec.multiRegion,
      primaryArn: spec.primaryArn,
      material: spec.keySpec === 'SYMMETRIC_DEFAULT' && spec.origin !== 'EXTERNAL' ? (spec.material ?? randomBytes(32).toString('base64')) : undefined,
    };
    this.state.keys.push(key);
    return key;
  }

  /** Key-state errors as AWS words them, for operations that need a usable key. */
  requireUsable(key: KeyRecord): void {
    if (key.state === 'Disabled') throw kmsError('DisabledException', `${key.arn} is disabled.`);
    if (key.state === 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.arn} is pending deletion.`);
    if (key.state === 'PendingImport') throw kmsError('KMSInvalidStateException', `${key.arn} is pending import.`);
    if (key.state !== 'Enabled') throw kmsError('KMSInvalidStateException', `${key.arn} is ${key.state.toLowerCase()}.`);
  }

  liveGrants(keyArn: string): GrantRecord[] {
    return this.state.grants.filter((g) => g.keyArn === keyArn && g.retiredAt === undefined);
  }

  granteeGrant(key: KeyRecord, grantee: readonly string[], operation: string, context?: Readonly<Record<string, string>>): GrantRecord | undefined {
    return this.liveGrants(key.arn).find(
      (g) => grantee.includes(g.granteePrincipal) && g.operations.includes(operation) && (context === undefined || constraintsAllow(g, context)),
    );
  }

  /** Key policy + IAM, or a grant to the caller for the operation. */
  authorizeKey(ctx: CallContext, operation: string, key: KeyRecord, options: { context?: Record<string, ContextValue>; encryptionContext?: Readonly<Record<string, string>> } = {}): void {
    const context: Record<string, ContextValue> = { ...(options.context ?? {}) };
    if (options.encryptionContext) {
      for (const [k, v] of Object.entries(options.encryptionContext)) context[`kms:EncryptionContext:${k}`] = v;
      context['kms:EncryptionContextKeys'] = Object.keys(options.encryptionContext);
    }
    const authOptions: AuthorizeOptions = { keyPolicy: parsePolicy(key.policy), resourceAccount: key.account, context };
    const action = `kms:${operation}`;
    if (this.deps.authorizer.isAllowed(ctx, action, key.arn, authOptions)) return;
    const grantee = [ctx.principal.arn, ...(ctx.principal.roleArn !== undefined ? [ctx.principal.roleArn] : [])];
    // Grant constraints bind cryptographic operations only (DescribeKey, CreateGrant and RetireGrant ignore them).
    const constrained = CRYPTO_OPERATIONS.has(operation) ? (options.encryptionContext ?? {}) : undefined;
    if (GRANT_OPERATIONS.has(operation) && this.granteeGrant(key, grantee, operation, constrained) !== undefined) return;
    this.deps.authorizer.authorize(ctx, action, key.arn, authOptions);
  }

  /** Whether ListGrants shows a grant now: new grants appear, and retired ones disappear, after the delay. */
  listed(grant: GrantRecord): boolean {
    const delay = this.deps.grantConsistencyDelayMs ?? 0;
    const now = this.now().getTime();
    if (Date.parse(grant.creationDate) + delay > now) return false;
    return grant.retiredAt === undefined || Date.parse(grant.retiredAt) + delay > now;
  }

  info(key: KeyRecord): KmsKeyInfo {
    return { arn: key.arn, keyId: key.keyId, region: key.region, account: key.account, state: key.state, usage: key.keyUsage, spec: key.keySpec, keyManager: key.keyManager };
  }
}

/** Throws `DryRunOperationException` when the request sets `DryRun`. */
export const dryRun = (input: Input): void => {
  if (input.optionalBoolean('DryRun') === true) throw dryRunError();
};

const encodeMarker = (id: string): string => Buffer.from(id).toString('base64url');

/** One page of a list operation: `Marker` in, `NextMarker` and `Truncated` out (under `member`). */
export const page = <T>(input: Input, items: readonly T[], idOf: (item: T) => string, maxLimit: number, defaultLimit: number): { page: T[]; truncated: Record<string, unknown> } => {
  const marker = input.optionalString('Marker');
  const limit = input.optionalNumber('Limit', 1, maxLimit) ?? defaultLimit;
  let start = 0;
  if (marker !== undefined) {
    const after = Buffer.from(marker, 'base64url').toString();
    const index = items.findIndex((item) => idOf(item) === after);
    if (index < 0 || encodeMarker(after) !== marker) throw kmsError('InvalidMarkerException', 'The marker is not valid.');
    start = index + 1;
  }
  const slice = items.slice(start, start + limit);
  const last = slice[slice.length - 1];
  const next = start + limit < items.length && last !== undefined ? encodeMarker(idOf(last)) : undefined;
  return { page: slice, truncated: { Truncated: next !== undefined, ...(next !== undefined ? { NextMarker: next } : {}) } };
};
