/**
 * The emulated KMS (`TrentService`): keys per region and account, aliases, key policies, grants
 * with eventual consistency in ListGrants, and real AES-256-GCM envelope encryption bound to the
 * encryption context. Actions are a handler table over {@link KmsContext}, as ECR's are; the same
 * state answers ECR in process through {@link EcrKmsClient}.
 */
import { ApiError, type CallContext, type DataKey, type EcrGrantRequest, type JsonService, type KmsForEcr, type KmsKeyInfo, type Persistable } from '../core.js';
import { Input, KMS_WORDS } from '../input.js';
import { aliasHandlers } from './aliases.js';
import { KmsContext, type Handler } from './context.js';
import { cryptoHandlers } from './crypto.js';
import { EcrKmsClient } from './for-ecr.js';
import { grantHandlers } from './grants.js';
import { keyHandlers } from './keys.js';
import type { GrantInfo, KeyInfo, KmsServiceDeps, KmsState } from './state.js';

export type { GrantInfo, KeyInfo, KmsServiceDeps } from './state.js';

const HANDLERS: Readonly<Record<string, Handler>> = { ...keyHandlers, ...aliasHandlers, ...grantHandlers, ...cryptoHandlers };

/** The emulated KMS. */
export class KmsService implements JsonService, Persistable, KmsForEcr {
  readonly targetPrefix = 'TrentService';
  readonly signingName = 'kms';
  readonly #kms: KmsContext;
  readonly #forEcr: EcrKmsClient;

  constructor(deps: KmsServiceDeps) {
    this.#kms = new KmsContext(deps);
    this.#forEcr = new EcrKmsClient(this.#kms);
  }

  handle(action: string, input: Readonly<Record<string, unknown>>, ctx: CallContext): unknown {
    this.#kms.sweep();
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (handler === undefined) {
      throw new ApiError('UnknownOperationException', `The local AWS emulator does not support KMS operation ${action} (TrentService.${action}).`);
    }
    return handler(this.#kms, new Input(input, KMS_WORDS), ctx);
  }

  // ---- KmsForEcr (in process, for the emulated ECR) ---------------------------------------

  describeKey(ctx: CallContext, keyRef: string): KmsKeyInfo {
    return this.#forEcr.describeKey(ctx, keyRef);
  }

  createGrant(ctx: CallContext, request: EcrGrantRequest): { readonly grantId: string } {
    return this.#forEcr.createGrant(ctx, request);
  }

  retireGrant(ctx: CallContext, keyArn: string, grantId: string, options: { readonly dryRun?: boolean } = {}): void {
    this.#forEcr.retireGrant(ctx, keyArn, grantId, options);
  }

  generateDataKey(region: string, keyArn: string, encryptionContext: Readonly<Record<string, string>>): DataKey {
    return this.#forEcr.generateDataKey(region, keyArn, encryptionContext);
  }

  decrypt(region: string, keyArn: string, ciphertextBlob: Buffer, encryptionContext: Readonly<Record<string, string>>): Buffer {
    return this.#forEcr.decrypt(region, keyArn, ciphertextBlob, encryptionContext);
  }

  // ---- inspection and persistence ---------------------------------------------------------

  /** Keys (optionally of one region), for `inspect.keys`. */
  keys(region?: string): readonly KeyInfo[] {
    const kms = this.#kms;
    kms.sweep();
    return kms.state.keys
      .filter((k) => region === undefined || k.region === region)
      .map((k) => ({
        ...kms.info(k),
        enabled: k.state === 'Enabled',
        multiRegion: k.multiRegion,
        aliases: kms.state.aliases.filter((a) => a.targetKeyId === k.keyId && a.region === k.region && a.account === k.account).map((a) => a.name),
        createdAt: new Date(k.creationDate),
        deletionDate: k.deletionDate === undefined ? undefined : new Date(k.deletionDate),
      }));
  }

  /** Every grant of a key (by ARN or ID), retired ones included, for `inspect.grants`. */
  grants(keyRef: string): readonly GrantInfo[] {
    const kms = this.#kms;
    kms.sweep();
    const key = kms.state.keys.find((k) => k.arn === keyRef || k.keyId === keyRef);
    const arn = key?.arn ?? keyRef;
    return kms.state.grants
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
        listed: kms.listed(g),
      }));
  }

  snapshot(): unknown {
    return structuredClone(this.#kms.state);
  }

  restore(snapshot: unknown): void {
    this.#kms.state = structuredClone(snapshot as KmsState);
  }
}
