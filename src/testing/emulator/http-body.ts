/** Reading request bodies within per-call size limits, and refusing what is too large. */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './core.js';
import { send, type Answer } from './server-wire.js';

const MIB = 1024 * 1024;
/**
 * The largest request body each call may send, checked against `content-length` before reading and
 * while reading a chunked body. UploadLayerPart carries up to 20 MiB of layer (the model's
 * `layerPartBlob` maximum) as base64 inside JSON; PutImage a manifest of up to 4 MiB as a JSON
 * string (escaping can double it). Every other ECR, KMS, IAM and STS call fits in 1 MiB (policies
 * are at most tens of KiB, KMS plaintexts 4 KiB).
 */
const BODY_LIMITS: Readonly<Record<string, number>> = {
  'ecr:UploadLayerPart': Math.ceil((20 * MIB * 4) / 3) + MIB,
  'ecr:PutImage': 9 * MIB,
};
const DEFAULT_BODY_LIMIT = MIB;

export const bodyLimit = (signingName: string, action: string): number => BODY_LIMITS[`${signingName}:${action}`] ?? DEFAULT_BODY_LIMIT;

/**
 * GUESS: AWS does not document its answer to an oversized request body; 413 with a
 * `RequestEntityTooLargeException` (`RequestEntityTooLarge` on Query APIs) is what an HTTP front end answers.
 */
export const tooLarge = (limit: number): ApiError =>
  new ApiError('RequestEntityTooLargeException', `The request body exceeds the ${String(limit)} bytes this call accepts.`, { status: 413 });

/** The declared `content-length`, when there is one. */
export const declaredLength = (headers: IncomingHttpHeaders): number | undefined => {
  const value = headers['content-length'];
  if (value === undefined) return undefined;
  const length = Number(value);
  return Number.isSafeInteger(length) && length >= 0 ? length : undefined;
};

/** Reads the body, or answers undefined as soon as it grows past `limit` (the rest is left unread). */
export const readBody = (req: IncomingMessage, limit: number): Promise<Buffer | undefined> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        chunks.length = 0;
        req.pause();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => resolve(Buffer.concat(chunks, size));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', reject);
  });

/** How long a refused request's unread body may still be discarded before the connection is cut. */
const DISCARD_GRACE_MS = 2_000;

/**
 * Answers a request whose body was not (wholly) read, and closes the connection: the rest of the
 * body is discarded as it comes (never kept), and the connection is cut if it keeps coming.
 */
export const sendAndClose = (req: IncomingMessage, res: ServerResponse, answer: Answer): void => {
  send(res, answer);
  if (req.complete) return;
  // No `connection: close`: Node would then close the socket as soon as the answer is written,
  // and a client still sending gets EPIPE before it reads the answer. Keep the connection, drop
  // what still comes, and cut it only if the body outlasts the grace period.
  req.resume();
  const socket = req.socket;
  const timer = setTimeout(() => socket.destroy(), DISCARD_GRACE_MS);
  timer.unref();
  const stop = (): void => clearTimeout(timer);
  req.once('end', stop);
  socket.once('close', stop);
};
