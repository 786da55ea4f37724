/**
 * How the emulator's answers look on the wire: a JSON 1.1 or Query answer, each protocol's error
 * shape, and SigV4 refusals in each protocol's words.
 */
import type { ServerResponse } from 'node:http';
import { ApiError } from './core.js';
import type { SigV4Failure } from './sigv4.js';
import { queryError } from './xml.js';

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** Writes an answer, unless the connection is gone. */
export const send = (res: ServerResponse, answer: Answer): void => {
  if (res.destroyed) return;
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(answer.body);
};

export const JSON_TYPE = 'application/x-amz-json-1.1';

export const jsonError = (error: ApiError, requestId: string): Answer => ({
  status: error.status,
  headers: { 'content-type': JSON_TYPE, 'x-amzn-requestid': requestId, 'x-amzn-errortype': error.code },
  body: JSON.stringify({ ...error.fields, __type: error.code, message: error.message }),
});

/** Query services name a few errors differently from JSON ones. */
const QUERY_CODES: Readonly<Record<string, string>> = { ThrottlingException: 'Throttling' };

export const queryErrorAnswer = (error: ApiError, requestId: string, xmlns: string): Answer => ({
  status: error.status,
  headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
  body: queryError(QUERY_CODES[error.code] ?? error.code, error.message, error.status, requestId, xmlns),
});

/** SigV4 refusals, in the JSON services' words. */
export const jsonAuthError = (failure: SigV4Failure): ApiError => {
  switch (failure.kind) {
    case 'missing':
      return new ApiError('MissingAuthenticationTokenException', 'Missing Authentication Token', { status: 403 });
    case 'malformed':
      return new ApiError('IncompleteSignatureException', failure.detail);
    case 'unsigned':
    case 'skewed':
      // ECR and KMS: InvalidSignatureException (400) "Signature expired: … is now earlier than …".
      return new ApiError('InvalidSignatureException', failure.detail);
    case 'unknownKey':
    case 'badToken':
      return new ApiError('UnrecognizedClientException', 'The security token included in the request is invalid.');
    case 'expired':
      return new ApiError('ExpiredTokenException', 'The security token included in the request is expired');
    case 'mismatch':
      return new ApiError(
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
  }
};

/** SigV4 refusals, in the Query services' words. */
export const queryAuthError = (failure: SigV4Failure, service: string): ApiError => {
  switch (failure.kind) {
    case 'missing':
      return new ApiError('MissingAuthenticationToken', 'Request is missing Authentication Token', { status: 403 });
    case 'malformed':
      return new ApiError('IncompleteSignature', failure.detail, { status: 403 });
    case 'unsigned':
    case 'skewed':
      // IAM and STS: SignatureDoesNotMatch (403) "Signature expired: … is now earlier than …".
      // GUESS for 'unsigned' (an unsigned Host) on Query APIs: the same code.
      return new ApiError('SignatureDoesNotMatch', failure.detail, { status: 403 });
    case 'unknownKey':
    case 'badToken':
      return new ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.', { status: 403 });
    case 'expired':
      return new ApiError(service === 'sts' ? 'ExpiredTokenException' : 'ExpiredToken', 'The security token included in the request is expired', { status: 400 });
    case 'mismatch':
      return new ApiError(
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
        { status: 403 },
      );
  }
};

/** One call the emulator's services answered, in its wire form (test-only observer, below). */
export interface Exchange {
  readonly protocol: 'json' | 'query';
  /** The signing name: `ecr`, `kms`, `iam`, `sts` (or an extra test service's). */
  readonly service: string;
  readonly operation: string;
  /** The request body: JSON text, or the Query form's `a=b&…` text. */
  readonly request: string;
  readonly status: number;
  /** The answer body: JSON text, or the Query XML. */
  readonly response: string;
}

let exchangeObserver: ((exchange: Exchange) => void) | undefined;

/**
 * Test-only and internal (not exported by `encrypted-ecr/testing`): sees every call a service
 * handled (not calls refused before it, nor injected faults), so that the test suite can check
 * requests and answers against AWS's service models. One observer per process; `undefined` stops.
 */
export const observeExchanges = (observer: ((exchange: Exchange) => void) | undefined): void => {
  exchangeObserver = observer;
};

/** Tells the observer, if any, of one handled call. */
export const reportExchange = (exchange: Exchange): void => {
  exchangeObserver?.(exchange);
};
