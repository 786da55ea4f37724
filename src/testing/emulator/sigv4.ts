/**
 * AWS Signature Version 4 verification, as the SDK signs (`@smithy/signature-v4`): canonical URI
 * normalized and URI-encoded twice, sorted query, the signed headers trimmed, the payload hash
 * computed from the body (never taken on trust from `x-amz-content-sha256`).
 *
 * Verification runs in two stages so that an unauthenticated caller cannot make the emulator read
 * a large body: {@link checkSigV4Headers} checks everything the headers alone can prove (the
 * `Authorization` parts, the signed headers AWS requires, the request time against the clock, the
 * access key and session token), then {@link verifySigV4Payload} hashes the body and compares the
 * signature.
 *
 * Replays: SigV4 has no nonce, so AWS accepts the same signed request again while its
 * `X-Amz-Date` is inside the service's window (15 minutes reported for ECR, IAM and STS), and
 * refuses it as expired afterwards. The emulator does exactly that.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Why a request's signature was refused. */
export type SigV4Failure =
  | { readonly kind: 'missing' }
  | { readonly kind: 'malformed'; readonly detail: string }
  | { readonly kind: 'unknownKey'; readonly accessKeyId: string }
  | { readonly kind: 'badToken' }
  | { readonly kind: 'expired' }
  /** A header AWS requires to be signed is not in `SignedHeaders`. */
  | { readonly kind: 'unsigned'; readonly detail: string }
  /** `X-Amz-Date` outside the window around the emulator's clock ("Signature expired" / "not yet current"). */
  | { readonly kind: 'skewed'; readonly detail: string }
  | { readonly kind: 'mismatch'; readonly canonicalRequest: string };

/** The parts of the `Authorization` header. */
export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

/** What the verifier needs to know of an access key. */
export interface KeyLookup {
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiresAt?: Date | undefined;
}

/** The request as it came off the wire. */
export interface WireRequest {
  readonly method: string;
  /** Path and query exactly as sent (`req.url`). */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

const AUTH = /^AWS4-HMAC-SHA256\s+Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request\s*,\s*SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-f]{64})\s*$/;

/** Parses `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`. */
export const parseAuthorization = (header: string): ParsedAuthorization | undefined => {
  const match = AUTH.exec(header.trim());
  if (!match) return undefined;
  const [, accessKeyId = '', date = '', region = '', service = '', signedHeaders = '', signature = ''] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(';'), signature };
};

/** `encodeURIComponent` plus the characters RFC 3986 reserves, as `@smithy/core` `escapeUri` does. */
const escapeUri = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const safeDecode = (value: string): string => {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
};

// The SDK signs the path exactly as it sends it, then escapes it again ("double encoding").
const canonicalPath = (path: string): string => {
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
};

const canonicalQuery = (rawQuery: string): string => {
  if (rawQuery === '') return '';
  const pairs = rawQuery
    .split('&')
    .filter((p) => p !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = safeDecode(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : safeDecode(pair.slice(eq + 1));
      return [escapeUri(key), escapeUri(value)] as const;
    })
    .filter(([key]) => key.toLowerCase() !== 'x-amz-signature');
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
};

const headerValue = (headers: IncomingHttpHeaders, name: string): string | undefined => {
  const value = headers[name];
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(',') : value;
};

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data, 'utf8').digest();

/** The canonical request the SDK would have signed for this wire request. */
export const canonicalRequest = (request: WireRequest, signedHeaders: readonly string[]): string => {
  const q = request.url.indexOf('?');
  const rawPath = q < 0 ? request.url : request.url.slice(0, q);
  const rawQuery = q < 0 ? '' : request.url.slice(q + 1);
  const headers = signedHeaders
    .map((name) => `${name}:${(headerValue(request.headers, name) ?? '').replace(/[\r\n]/g, ' ').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '')}`)
    .join('\n');
  // The body's own hash: a client-sent x-amz-content-sha256 (or UNSIGNED-PAYLOAD) that differs
  // from it makes the signature fail, as on AWS's JSON and Query APIs.
  const payloadHash = sha256Hex(request.body);
  return `${request.method}\n${canonicalPath(rawPath)}\n${canonicalQuery(rawQuery)}\n${headers}\n\n${signedHeaders.join(';')}\n${payloadHash}`;
};

/** The hex signature for a canonical request, as SigV4 derives it. */
export const signCanonical = (secretAccessKey: string, amzDate: string, auth: Pick<ParsedAuthorization, 'date' | 'region' | 'service'>, canonical: string): string => {
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
  const kDate = hmac(`AWS4${secretAccessKey}`, auth.date);
  const kRegion = hmac(kDate, auth.region);
  const kService = hmac(kRegion, auth.service);
  const kSigning = hmac(kService, 'aws4_request');
  return hmac(kSigning, stringToSign).toString('hex');
};

/** What a request must have signed, and how far its time may be from the clock. */
export interface SigV4Rules {
  /** Headers that must appear in `SignedHeaders` besides `host` (e.g. `x-amz-target` for JSON protocols). */
  readonly requiredSignedHeaders?: readonly string[];
  /** How far `X-Amz-Date` may be from the clock, either way. */
  readonly maxSkewMs: number;
}

/** The verdict of the header stage: the parsed header and the key to check the signature with. */
export type SigV4HeaderCheck =
  | { readonly ok: true; readonly auth: ParsedAuthorization; readonly amzDate: string; readonly key: KeyLookup }
  | { readonly ok: false; readonly failure: SigV4Failure };

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

const parseAmzDate = (value: string): number | undefined => {
  const match = AMZ_DATE.exec(value);
  if (!match) return undefined;
  const [, y = '', mo = '', d = '', h = '', mi = '', s = ''] = match;
  const time = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  return Number.isNaN(time) ? undefined : time;
};

/** `20260101T000000Z`, as AWS prints times in its SigV4 messages. */
const formatAmzDate = (time: number): string => new Date(time).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * The header stage of SigV4 verification: everything that can be checked without reading the body.
 * Order: the `Authorization` header, the required signed headers, the request time, the key, the
 * session token (AWS does not document its order; each check refuses on its own).
 */
export const checkSigV4Headers = (
  headers: IncomingHttpHeaders,
  lookup: (accessKeyId: string) => KeyLookup | undefined,
  now: Date,
  rules: SigV4Rules,
): SigV4HeaderCheck => {
  const header = headerValue(headers, 'authorization');
  if (header === undefined || header === '') return { ok: false, failure: { kind: 'missing' } };
  const auth = parseAuthorization(header);
  if (auth === undefined) return { ok: false, failure: { kind: 'malformed', detail: 'Authorization header requires Credential, SignedHeaders and Signature parameters' } };
  const amzDate = headerValue(headers, 'x-amz-date');
  if (amzDate === undefined || !amzDate.startsWith(auth.date)) {
    return { ok: false, failure: { kind: 'malformed', detail: 'x-amz-date is missing or does not match the credential scope date' } };
  }
  // AWS (a JSON service, aws/aws-sdk-php#2469): InvalidSignatureException "'Host' or ':authority'
  // must be a 'SignedHeader' in the AWS Authorization."
  if (!auth.signedHeaders.includes('host')) {
    return { ok: false, failure: { kind: 'unsigned', detail: "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization." } };
  }
  // GUESS: AWS does not document that x-amz-target must be signed; unsigned, a captured signature
  // would let anyone change the action. Refused in the host header's words.
  for (const required of rules.requiredSignedHeaders ?? []) {
    if (!auth.signedHeaders.includes(required)) {
      return { ok: false, failure: { kind: 'unsigned', detail: `'${required}' must be a 'SignedHeader' in the AWS Authorization.` } };
    }
  }
  const signedAt = parseAmzDate(amzDate);
  if (signedAt === undefined) return { ok: false, failure: { kind: 'malformed', detail: `x-amz-date ${amzDate} is not a date such as 20260101T000000Z` } };
  const current = now.getTime();
  const minutes = `${String(Math.round(rules.maxSkewMs / 60_000))} min.`;
  if (signedAt < current - rules.maxSkewMs) {
    return {
      ok: false,
      failure: { kind: 'skewed', detail: `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(current - rules.maxSkewMs)} (${formatAmzDate(current)} - ${minutes})` },
    };
  }
  if (signedAt > current + rules.maxSkewMs) {
    return {
      ok: false,
      failure: { kind: 'skewed', detail: `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(current + rules.maxSkewMs)} (${formatAmzDate(current)} + ${minutes})` },
    };
  }
  const key = lookup(auth.accessKeyId);
  if (key === undefined) return { ok: false, failure: { kind: 'unknownKey', accessKeyId: auth.accessKeyId } };
  const token = headerValue(headers, 'x-amz-security-token');
  if (key.sessionToken !== undefined || token !== undefined) {
    if (token !== key.sessionToken) return { ok: false, failure: { kind: 'badToken' } };
    if (!auth.signedHeaders.includes('x-amz-security-token')) return { ok: false, failure: { kind: 'malformed', detail: 'x-amz-security-token must be signed' } };
  }
  return { ok: true, auth, amzDate, key };
};

/** The body stage: the signature over the canonical request, with the body's own sha256; then session expiry. */
export const verifySigV4Payload = (request: WireRequest, checked: Extract<SigV4HeaderCheck, { ok: true }>, now: Date): SigV4Failure | undefined => {
  const { auth, amzDate, key } = checked;
  const canonical = canonicalRequest(request, auth.signedHeaders);
  const expected = Buffer.from(signCanonical(key.secretAccessKey, amzDate, auth, canonical), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { kind: 'mismatch', canonicalRequest: canonical };
  if (key.expiresAt !== undefined && key.expiresAt.getTime() <= now.getTime()) return { kind: 'expired' };
  return undefined;
};

