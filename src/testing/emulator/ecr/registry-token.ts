/**
 * The registry password `GetAuthorizationToken` hands out (`base64("AWS:" + password)`), made
 * verifiable: the password carries the principal it was issued to, the region it was issued in and
 * its expiry, signed with an HMAC key the emulator keeps beside its blobs (so tokens survive a
 * restart with the same data directory).
 *
 * AWS documents only the envelope: "When the string is decoded, it is presented in the format
 * `user:password`", the user is `AWS`, "Authorization tokens are valid for 12 hours", and the token
 * "can be used to access any Amazon ECR registry that the IAM principal has access to" (the
 * `registryIds` deprecation note in the ECR API model). The password's content is opaque in AWS;
 * this one is the emulator's own.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../core.js';
import { loadOrCreateKey } from './storage.js';

/** "Authorization tokens are valid for 12 hours" (ECR API model, `AuthorizationData.expiresAt`). */
export const REGISTRY_TOKEN_TTL_MS = 12 * 60 * 60 * 1000;

/** What a verified registry password stands for. */
export interface RegistryLogin {
  readonly principal: Principal;
  /** The region of the GetAuthorizationToken call. */
  readonly region: string;
  /** Emulator-clock milliseconds. */
  readonly expiresAt: number;
}

interface Payload {
  readonly v: 1;
  readonly p: Principal;
  readonly r: string;
  readonly e: number;
}

const isPrincipal = (value: unknown): value is Principal => {
  if (typeof value !== 'object' || value === null) return false;
  const p = value as Record<string, unknown>;
  return ['arn', 'account', 'userId', 'type', 'accessKeyId'].every((key) => typeof p[key] === 'string');
};

/** Issues and verifies registry passwords with one HMAC key. */
export class RegistryTokens {
  #key: Buffer | undefined;

  /** `keyFile`: where the HMAC key lives (created on first use, mode 0600). */
  constructor(private readonly keyFile: () => string) {}

  #secret(): Buffer {
    this.#key ??= loadOrCreateKey(this.keyFile());
    return this.#key;
  }

  #sign(body: string): Buffer {
    return createHmac('sha256', this.#secret()).update(body).digest();
  }

  /** The `authorizationToken` value: base64 of `AWS:<password>`. */
  issue(login: RegistryLogin): string {
    const payload: Payload = { v: 1, p: login.principal, r: login.region, e: login.expiresAt };
    const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const password = `${body}.${this.#sign(body).toString('base64url')}`;
    return Buffer.from(`AWS:${password}`, 'utf8').toString('base64');
  }

  /** The login a password stands for, or undefined when it is not one this emulator signed. */
  verify(password: string): RegistryLogin | undefined {
    const dot = password.indexOf('.');
    if (dot <= 0) return undefined;
    const body = password.slice(0, dot);
    const signature = Buffer.from(password.slice(dot + 1), 'base64url');
    const expected = this.#sign(body);
    if (signature.length !== expected.length || !timingSafeEqual(signature, expected)) return undefined;
    let payload: unknown;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    } catch {
      return undefined;
    }
    if (typeof payload !== 'object' || payload === null) return undefined;
    const { v, p, r, e } = payload as Record<string, unknown>;
    if (v !== 1 || !isPrincipal(p) || typeof r !== 'string' || typeof e !== 'number') return undefined;
    return { principal: p, region: r, expiresAt: e };
  }
}
