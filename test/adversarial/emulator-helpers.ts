/**
 * Raw HTTP for the adversarial emulator tests: requests signed by the SDK's own signer
 * (`@smithy/signature-v4`, what every AWS SDK v3 client uses), then sent as is or tampered.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { request } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { EmulatorCredentials, LocalAws } from '../../src/testing/index.js';

const bytes = (data: string | ArrayBuffer | ArrayBufferView): string | Buffer =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);

/** The `Checksum` the signer wants, over node:crypto (HMAC when given a secret). */
class Sha256 {
  readonly #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytes(data));
  }
  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.#hash.digest()));
  }
}

export interface RawRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A JSON 1.1 (`target` given) or Query request to the emulator, signed as the SDK signs it. */
export const signRequest = async (
  aws: LocalAws,
  options: {
    readonly service: 'kms' | 'ecr' | 'sts' | 'iam';
    readonly body: string;
    readonly target?: string;
    readonly signingDate?: Date;
    readonly credentials?: EmulatorCredentials;
    /** Headers the signer must leave out of SignedHeaders (e.g. `host`). */
    readonly unsigned?: readonly string[];
    readonly extraHeaders?: Record<string, string>;
  },
): Promise<RawRequest> => {
  const port = new URL(aws.endpoint).port;
  const signer = new SignatureV4({
    service: options.service,
    region: aws.region,
    credentials: options.credentials ?? aws.credentials,
    sha256: Sha256,
  });
  const headers: Record<string, string> = {
    host: `127.0.0.1:${port}`,
    'content-type': options.target === undefined ? 'application/x-www-form-urlencoded; charset=utf-8' : 'application/x-amz-json-1.1',
    ...(options.target === undefined ? {} : { 'x-amz-target': options.target }),
    ...options.extraHeaders,
  };
  const signed = await signer.sign(
    { method: 'POST', protocol: 'http:', hostname: '127.0.0.1', port: Number(port), path: '/', headers, body: options.body },
    { signingDate: options.signingDate ?? new Date(), unsignableHeaders: new Set(options.unsigned ?? []) },
  );
  return { headers: signed.headers, body: options.body };
};

/** Sends a request over a fresh connection and reads the whole answer. */
export const send = (aws: LocalAws, raw: RawRequest): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const url = new URL(aws.endpoint);
    const req = request({ host: '127.0.0.1', port: Number(url.port), method: 'POST', path: '/', headers: raw.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(raw.body);
  });

/**
 * Sends `headers` then up to `total` bytes of body in 1 MiB writes (one reused buffer, so this
 * side's memory stays flat), with a `content-length` unless `chunked`; stops writing as soon as the
 * server answers, and resolves with the answer.
 */
export const sendHuge = (aws: LocalAws, headers: Record<string, string>, total: number, chunked: boolean): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const url = new URL(aws.endpoint);
    const { 'content-length': _ignored, ...rest } = headers;
    const req = request({
      host: '127.0.0.1',
      port: Number(url.port),
      method: 'POST',
      path: '/',
      headers: chunked ? { ...rest, 'transfer-encoding': 'chunked' } : { ...rest, 'content-length': String(total) },
      agent: false,
    });
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    let sent = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (data: Buffer) => chunks.push(data));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        req.destroy();
      });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (answered) return;
      // The server may close the connection while we still send: the answer is then lost to
      // us (status 0), and the test reads the refusal from the emulator's call log instead.
      if (error.code === 'EPIPE' || error.code === 'ECONNRESET') resolve({ status: 0, headers: {}, body: '' });
      else reject(error);
    });
    const pump = (): void => {
      while (!answered && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!answered) req.end();
    };
    pump();
  });

/** `__type` of a JSON error answer, or the `<Code>` of a Query one. */
export const errorCode = (answer: RawAnswer): string | undefined => {
  const xml = /<Code>([^<]+)<\/Code>/.exec(answer.body);
  if (xml) return xml[1];
  try {
    return (JSON.parse(answer.body) as { __type?: string }).__type;
  } catch {
    return undefined;
  }
};
