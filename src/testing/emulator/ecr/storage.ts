/**
 * Blobs and manifests at rest: one file per object under the data directory, AES-256-GCM with a
 * data key per object (envelope encryption, as ECR does through S3). KMS repositories get their data
 * keys from KMS through ECR's grant; AES256 repositories from a key the emulator holds in a file, so
 * both survive a process restart. Large files are processed in chunks, never whole in memory.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, type DecipherGCM, type Hash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { ApiError, type KmsForEcr } from '../core.js';
import type { EcrState, SealedObject } from './state.js';

/** `encryptedWith` of objects in AES256 repositories. */
export const EMULATOR_KEY = 'AES256';
const CHUNK = 1024 * 1024;

/** A data key ready to encrypt with. */
export interface SealingKey {
  readonly plaintext: Buffer;
  readonly encryptedKey: Buffer;
  readonly encryptedWith: string;
  readonly encryptionContext: Readonly<Record<string, string>>;
}

/** An error from KMS, as ECR answers it: `KmsException` carrying the KMS code. */
export const toKmsException = (error: unknown): never => {
  if (error instanceof ApiError) {
    throw new ApiError('KmsException', `KMS error: ${error.code}: ${error.message}`, { fields: { kmsError: error.code } });
  }
  throw error;
};

/**
 * The one way to turn a stored relative path into a file path: refuses (throws, as a bug or a
 * crafted state file would be) an absolute path, or one that leaves `root` or names `root` itself,
 * so no `rm -r` can reach outside the data directory.
 */
export const pathInside = (root: string, relative: string): string => {
  const base = resolve(root);
  const full = resolve(base, relative);
  if (relative === '' || isAbsolute(relative) || !full.startsWith(`${base}${sep}`)) {
    throw new Error(`The local AWS emulator refuses the path "${relative}": it is not inside its data directory ${base}`);
  }
  return full;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * Checks the ids and paths of an ECR state read from `state.json` before anything uses them: a
 * crafted file (a repository `uuid` of `../../victim`, a blob `file` of `/etc`) must not make
 * the emulator read, write or delete outside its data directory. Throws an Error naming the field.
 */
export const assertSafeEcrState = (state: EcrState): void => {
  const refuse = (what: string, value: unknown): never => {
    throw new Error(`emulator state: ${what} ${JSON.stringify(value)} is not valid; refusing to load it`);
  };
  if (typeof state.registries !== 'object' || state.registries === null) refuse('registries', state.registries);
  for (const [key, registry] of Object.entries(state.registries)) {
    for (const [name, repository] of Object.entries(registry)) {
      if (!ACCOUNT.test(String(repository.account))) refuse(`repository ${name}: account`, repository.account);
      if (!REGION.test(String(repository.region))) refuse(`repository ${name}: region`, repository.region);
      if (key !== `${repository.account}/${repository.region}`) refuse(`repository ${name}: registry`, key);
      if (!UUID.test(String(repository.uuid))) refuse(`repository ${name}: uuid`, repository.uuid);
      const directory = `ecr/${repository.account}/${repository.region}/${repository.uuid}/`;
      const files = [
        ...Object.values(repository.blobs ?? {}).map((blob) => blob.sealed.file),
        ...Object.values(repository.images ?? {}).map((image) => image.sealed.file),
        ...Object.values(repository.uploads ?? {}).map((upload) => upload.tempFile),
      ];
      for (const file of files) {
        const inside = typeof file === 'string' && file.startsWith(directory) ? file.slice(directory.length).split('/') : [];
        if (inside.length === 0 || !inside.every((segment) => SEGMENT.test(segment))) refuse(`repository ${name}: file`, file);
      }
    }
  }
};

/** A 32-byte secret kept (base64, mode 0600) in `file`, made on first use. */
export const loadOrCreateKey = (file: string): Buffer => {
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dirname(file), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600 });
  return key;
};

export class ObjectStore {
  #emulatorKey: Buffer | undefined;

  constructor(
    private readonly dataDir: string,
    private readonly kms: KmsForEcr,
  ) {}

  /** The file path of a stored object; refuses anything outside the data directory ({@link pathInside}). */
  path(file: string): string {
    return pathInside(this.dataDir, file);
  }

  /** The emulator-held key for AES256 repositories, created on first use. */
  private emulatorKey(): Buffer {
    this.#emulatorKey ??= loadOrCreateKey(this.path('ecr/aes256-emulator.key'));
    return this.#emulatorKey;
  }

  /** A fresh data key; KMS failures become `KmsException`. */
  dataKey(region: string, encryptedWith: string, encryptionContext: Readonly<Record<string, string>>): SealingKey {
    if (encryptedWith === EMULATOR_KEY) {
      const plaintext = randomBytes(32);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', this.emulatorKey(), iv);
      const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
      return { plaintext, encryptedKey: Buffer.concat([iv, cipher.getAuthTag(), body]), encryptedWith, encryptionContext };
    }
    try {
      const key = this.kms.generateDataKey(region, encryptedWith, encryptionContext);
      return { plaintext: key.plaintext, encryptedKey: key.ciphertextBlob, encryptedWith, encryptionContext };
    } catch (error) {
      return toKmsException(error);
    }
  }

  /** The plaintext data key of a sealed object. Throws the KMS {@link ApiError} as is. */
  unsealKey(region: string, sealed: SealedObject): Buffer {
    const blob = Buffer.from(sealed.encryptedKey, 'base64');
    if (sealed.encryptedWith === EMULATOR_KEY) {
      const decipher = createDecipheriv('aes-256-gcm', this.emulatorKey(), blob.subarray(0, 12));
      decipher.setAuthTag(blob.subarray(12, 28));
      return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
    }
    return this.kms.decrypt(region, sealed.encryptedWith, blob, sealed.encryptionContext);
  }

  /** Encrypts `source` (a file) into `file`, chunk by chunk. */
  sealFile(source: string, file: string, size: number, key: SealingKey): SealedObject {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
    const target = this.path(file);
    mkdirSync(dirname(target), { recursive: true });
    const input = openSync(source, 'r');
    const output = openSync(target, 'w');
    try {
      const buffer = Buffer.allocUnsafe(CHUNK);
      for (;;) {
        const read = readSync(input, buffer, 0, CHUNK, null);
        if (read === 0) break;
        writeAll(output, cipher.update(buffer.subarray(0, read)));
      }
      writeAll(output, cipher.final());
    } finally {
      closeSync(input);
      closeSync(output);
    }
    return seal(file, size, iv, cipher.getAuthTag(), key);
  }

  sealBuffer(data: Buffer, file: string, key: SealingKey): SealedObject {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key.plaintext, iv);
    const target = this.path(file);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, Buffer.concat([cipher.update(data), cipher.final()]));
    return seal(file, data.length, iv, cipher.getAuthTag(), key);
  }

  /** Decrypts a small object (a manifest) whole. */
  openBuffer(sealed: SealedObject, dataKey: Buffer): Buffer {
    const decipher = this.decipher(sealed, dataKey);
    return Buffer.concat([decipher.update(readFileSync(this.path(sealed.file))), decipher.final()]);
  }

  /** The plaintext of a blob as a stream; the GCM tag is checked at the end (the stream errors if it fails). */
  openStream(sealed: SealedObject, dataKey: Buffer): Readable {
    const source = createReadStream(this.path(sealed.file), { highWaterMark: CHUNK });
    const decipher = this.decipher(sealed, dataKey);
    source.on('error', (error) => decipher.destroy(error));
    return source.pipe(decipher);
  }

  exists(file: string): boolean {
    return existsSync(this.path(file));
  }

  remove(file: string): void {
    rmSync(this.path(file), { recursive: true, force: true });
  }

  private decipher(sealed: SealedObject, dataKey: Buffer): DecipherGCM {
    const decipher = createDecipheriv('aes-256-gcm', dataKey, Buffer.from(sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(sealed.authTag, 'base64'));
    return decipher;
  }
}

const seal = (file: string, size: number, iv: Buffer, authTag: Buffer, key: SealingKey): SealedObject => ({
  file,
  size,
  iv: iv.toString('base64'),
  authTag: authTag.toString('base64'),
  encryptedKey: key.encryptedKey.toString('base64'),
  encryptedWith: key.encryptedWith,
  encryptionContext: { ...key.encryptionContext },
});

const writeAll = (fd: number, data: Buffer): void => {
  let offset = 0;
  while (offset < data.length) offset += writeSync(fd, data, offset);
};

/** The sha256 of a file, read in chunks (used when an upload's running hash was lost in a restart). */
export const hashFile = (path: string): Hash => {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const read = readSync(fd, buffer, 0, CHUNK, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
    }
  } finally {
    closeSync(fd);
  }
  return hash;
};
