/** Identifiers in the shapes AWS uses, from a cryptographic source (the emulator may run for users' tests). */
import { randomBytes, randomUUID } from 'node:crypto';

const UPPER_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `prefix` followed by `length` characters of A–Z and 2–7, like IAM access key and unique IDs. */
export const awsId = (prefix: string, length: number): string => {
  const bytes = randomBytes(length);
  let out = prefix;
  for (const byte of bytes) out += UPPER_ALNUM[byte % UPPER_ALNUM.length] ?? 'A';
  return out;
};

/** A 40-character secret access key. */
export const secretKey = (): string => randomBytes(30).toString('base64').replace(/\+/g, 'a').replace(/\//g, 'b');

/** Lower-case hex of `bytes` random bytes (grant IDs are 64 hex characters on AWS). */
export const hexId = (bytes: number): string => randomBytes(bytes).toString('hex');

/** A UUID, as KMS key IDs and request IDs are. */
export const uuid = (): string => randomUUID();
