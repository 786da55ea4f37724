/**
 * KMS as ECR uses it in process ({@link KmsForEcr}): DescribeKey, CreateGrant and RetireGrant as
 * the caller (forward access session), GenerateDataKey and Decrypt as ECR through its grant. Every
 * call is logged as the HTTP ones are.
 */
import { randomBytes } from 'node:crypto';
import { ApiError, type CallContext, type DataKey, type EcrGrantRequest, type KmsForEcr, type KmsKeyInfo } from '../core.js';
import type { KmsContext } from './context.js';
import { blobKeyId, open, seal } from './crypto.js';
import { createGrant, liveGrant, retire } from './grants.js';
import { kmsError, type KeyRecord } from './state.js';

export class EcrKmsClient implements KmsForEcr {
  constructor(private readonly kms: KmsContext) {}

  #logged<T>(operation: string, principalArn: string, region: string, viaService: string | undefined, run: () => T): T {
    const report = this.kms.deps.onInternalCall;
    const via = viaService !== undefined ? { viaService } : {};
    try {
      const result = run();
      report?.({ operation, principalArn, region, status: 200, ...via });
      return result;
    } catch (error) {
      const status = error instanceof ApiError ? error.status : 500;
      const errorCode = error instanceof ApiError ? error.code : 'InternalError';
      report?.({ operation, principalArn, region, status, errorCode, ...via });
      throw error;
    }
  }

  #asCaller<T>(operation: string, ctx: CallContext, run: () => T): T {
    return this.#logged(operation, ctx.principal.arn, ctx.region, ctx.viaService, run);
  }

  #asEcr<T>(operation: string, region: string, run: () => T): T {
    return this.#logged(operation, `ecr.${region}.amazonaws.com`, region, undefined, run);
  }

  describeKey(ctx: CallContext, keyRef: string): KmsKeyInfo {
    return this.#asCaller('DescribeKey', ctx, () => {
      const key = this.kms.resolve(ctx.region, ctx.principal.account, keyRef, { createManaged: true });
      this.kms.authorizeKey(ctx, 'DescribeKey', key);
      return this.kms.info(key);
    });
  }

  createGrant(ctx: CallContext, request: EcrGrantRequest): { readonly grantId: string } {
    return this.#asCaller('CreateGrant', ctx, () => {
      const { grantId } = createGrant(this.kms, ctx, {
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
    this.#asCaller('RetireGrant', ctx, () => {
      const key = this.kms.resolve(ctx.region, ctx.principal.account, keyArn, { aliases: false });
      retire(this.kms, ctx, liveGrant(this.kms, key.arn, grantId), options.dryRun === true);
    });
  }

  /** The key ECR uses, by ARN in its region; ECR acts only through a live grant to `ecr.<region>.amazonaws.com`. */
  #ecrKey(region: string, keyArn: string, operation: string, context: Readonly<Record<string, string>>): KeyRecord {
    this.kms.sweep();
    const key = this.kms.state.keys.find((k) => k.arn === keyArn && k.region === region);
    if (key === undefined) throw kmsError('NotFoundException', `Key '${keyArn}' does not exist`);
    const service = `ecr.${region}.amazonaws.com`;
    if (this.kms.granteeGrant(key, [service], operation, context) === undefined) {
      throw kmsError('AccessDeniedException', `User: ${service} is not authorized to perform: kms:${operation} on resource: ${keyArn} because no grant allows it`);
    }
    this.kms.requireUsable(key);
    return key;
  }

  generateDataKey(region: string, keyArn: string, encryptionContext: Readonly<Record<string, string>>): DataKey {
    return this.#asEcr('GenerateDataKey', region, () => {
      const key = this.#ecrKey(region, keyArn, 'GenerateDataKey', encryptionContext);
      const plaintext = randomBytes(32);
      return { plaintext, ciphertextBlob: seal(key, plaintext, encryptionContext) };
    });
  }

  decrypt(region: string, keyArn: string, ciphertextBlob: Buffer, encryptionContext: Readonly<Record<string, string>>): Buffer {
    return this.#asEcr('Decrypt', region, () => {
      const keyId = blobKeyId(ciphertextBlob);
      const key = this.#ecrKey(region, keyArn, 'Decrypt', encryptionContext);
      if (keyId !== key.keyId) throw kmsError('IncorrectKeyException', 'The ciphertext was not encrypted under this key.');
      return open(key, ciphertextBlob, encryptionContext);
    });
  }
}
