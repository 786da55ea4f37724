/**
 * AWS Signature Version 4 verification, as the SDK signs (`@smithy/signature-v4`): canonical URI
 * normalized and URI-encoded twice, sorted query, the signed headers trimmed, the payload hash from
 * `x-amz-content-sha256` or the body.
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
  const payloadHash = headerValue(request.headers, 'x-amz-content-sha256') ?? sha256Hex(request.body);
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

/** Verifies a request's SigV4 signature; answers the parsed header, or why it was refused. */
export const verifySigV4 = (
  request: WireRequest,
  lookup: (accessKeyId: string) => KeyLookup | undefined,
  now: Date,
): { readonly ok: true; readonly auth: ParsedAuthorization } | { readonly ok: false; readonly failure: SigV4Failure } => {
  const header = headerValue(request.headers, 'authorization');
  if (header === undefined || header === '') return { ok: false, failure: { kind: 'missing' } };
  const auth = parseAuthorization(header);
  if (auth === undefined) return { ok: false, failure: { kind: 'malformed', detail: 'Authorization header requires Credential, SignedHeaders and Signature parameters' } };
  const amzDate = headerValue(request.headers, 'x-amz-date');
  if (amzDate === undefined || !amzDate.startsWith(auth.date)) {
    return { ok: false, failure: { kind: 'malformed', detail: 'x-amz-date is missing or does not match the credential scope date' } };
  }
  const key = lookup(auth.accessKeyId);
  if (key === undefined) return { ok: false, failure: { kind: 'unknownKey', accessKeyId: auth.accessKeyId } };
  const token = headerValue(request.headers, 'x-amz-security-token');
  if (key.sessionToken !== undefined || token !== undefined) {
    if (token !== key.sessionToken) return { ok: false, failure: { kind: 'badToken' } };
    if (!auth.signedHeaders.includes('x-amz-security-token')) return { ok: false, failure: { kind: 'malformed', detail: 'x-amz-security-token must be signed' } };
  }
  const canonical = canonicalRequest(request, auth.signedHeaders);
  const expected = Buffer.from(signCanonical(key.secretAccessKey, amzDate, auth, canonical), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, failure: { kind: 'mismatch', canonicalRequest: canonical } };
  }
  if (key.expiresAt !== undefined && key.expiresAt.getTime() <= now.getTime()) return { ok: false, failure: { kind: 'expired' } };
  return { ok: true, auth };
};
