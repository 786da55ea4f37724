/**
 * Envelope encryption: real AES-256-GCM bound to the encryption context, and the Encrypt, Decrypt
 * and GenerateDataKey actions over it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { CallContext } from '../core.js';
import { validation, type Input } from '../input.js';
import { dryRun, type Handler, type KmsContext } from './context.js';
import { kmsError, type KeyRecord } from './state.js';

const MAGIC = Buffer.from('EEK1');

/** The encryption context as AES-GCM additional data: sorted, so the order of pairs does not matter. */
const contextAad = (keyArn: string, context: Readonly<Record<string, string>>): Buffer =>
  Buffer.from(JSON.stringify([keyArn.split(':key/')[1] ?? keyArn, Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]));

const requireSymmetric = (key: KeyRecord, operation: string): Buffer => {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw kmsError('InvalidKeyUsageException', `${key.arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
  if (key.material === undefined) {
    throw kmsError('UnsupportedOperationException', `The local AWS emulator does not implement ${operation} with ${key.keySpec} keys.`);
  }
  return Buffer.from(key.material, 'base64');
};

export const seal = (key: KeyRecord, plaintext: Buffer, context: Readonly<Record<string, string>>): Buffer => {
  const material = requireSymmetric(key, 'Encrypt');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', material, iv);
  cipher.setAAD(contextAad(key.arn, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  // The blob names its key, as AWS ciphertexts do, so Decrypt needs no KeyId.
  const keyId = Buffer.from(key.keyId);
  const header = Buffer.alloc(2);
  header.writeUInt16BE(keyId.length);
  return Buffer.concat([MAGIC, header, keyId, iv, cipher.getAuthTag(), body]);
};

/** The key ID a ciphertext blob names; `InvalidCiphertextException` when it is no blob of ours. */
export const blobKeyId = (blob: Buffer): string => {
  const length = blob.length >= MAGIC.length + 2 ? blob.readUInt16BE(4) : 0;
  if (blob.length < MAGIC.length + 2 + 28 || !blob.subarray(0, 4).equals(MAGIC) || blob.length < 6 + length + 28) {
    throw kmsError('InvalidCiphertextException', 'The ciphertext is invalid.');
  }
  return blob.subarray(6, 6 + length).toString();
};

export const open = (key: KeyRecord, blob: Buffer, context: Readonly<Record<string, string>>): Buffer => {
  const material = requireSymmetric(key, 'Decrypt');
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
};

const encryptionContext = (input: Input): Record<string, string> => input.optionalStringMap('EncryptionContext') ?? {};

const encrypt: Handler = (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId');
  const plaintext = input.optionalBlob('Plaintext');
  if (plaintext === undefined || plaintext.length === 0 || plaintext.length > 4096) throw validation("Value at 'plaintext' failed to satisfy constraint: Member must have length between 1 and 4096");
  const context = encryptionContext(input);
  kms.authorizeKey(ctx, 'Encrypt', key, { encryptionContext: context });
  kms.requireUsable(key);
  requireSymmetric(key, 'Encrypt');
  dryRun(input);
  return { CiphertextBlob: seal(key, plaintext, context).toString('base64'), KeyId: key.arn, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
};

const keyForBlob = (kms: KmsContext, ctx: CallContext, blob: Buffer, input: Input): KeyRecord => {
  const key = kms.resolve(ctx.region, ctx.principal.account, blobKeyId(blob), { aliases: false });
  if (input.has('KeyId') && kms.keyFor(input, ctx, 'KeyId').arn !== key.arn) {
    throw kmsError('IncorrectKeyException', 'The key ID in the request does not identify a KMS key that can perform this operation.');
  }
  return key;
};

const decrypt: Handler = (kms, input, ctx) => {
  const blob = input.blob('CiphertextBlob');
  const context = encryptionContext(input);
  const key = keyForBlob(kms, ctx, blob, input);
  kms.authorizeKey(ctx, 'Decrypt', key, { encryptionContext: context });
  kms.requireUsable(key);
  dryRun(input);
  return { KeyId: key.arn, Plaintext: open(key, blob, context).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
};

const dataKeyLength = (input: Input): number => {
  const spec = input.optionalString('KeySpec');
  const bytes = input.optionalNumber('NumberOfBytes', 1, 1024);
  if (spec !== undefined && bytes !== undefined) throw validation('Specify either KeySpec or NumberOfBytes, not both');
  if (bytes !== undefined) return bytes;
  if (spec === undefined) throw validation('Specify either KeySpec or NumberOfBytes');
  if (spec === 'AES_256') return 32;
  if (spec === 'AES_128') return 16;
  throw validation(`Value '${spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]`);
};

const generateDataKey = (withPlaintext: boolean): Handler => (kms, input, ctx) => {
  const key = kms.keyFor(input, ctx, 'KeyId');
  const length = dataKeyLength(input);
  const context = encryptionContext(input);
  const operation = withPlaintext ? 'GenerateDataKey' : 'GenerateDataKeyWithoutPlaintext';
  kms.authorizeKey(ctx, operation, key, { encryptionContext: context });
  kms.requireUsable(key);
  requireSymmetric(key, operation);
  dryRun(input);
  const plaintext = randomBytes(length);
  return {
    CiphertextBlob: seal(key, plaintext, context).toString('base64'),
    ...(withPlaintext ? { Plaintext: plaintext.toString('base64') } : {}),
    KeyId: key.arn,
  };
};

export const cryptoHandlers: Readonly<Record<string, Handler>> = {
  Encrypt: encrypt,
  Decrypt: decrypt,
  GenerateDataKey: generateDataKey(true),
  GenerateDataKeyWithoutPlaintext: generateDataKey(false),
};
