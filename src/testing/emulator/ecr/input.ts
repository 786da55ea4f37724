/**
 * Reading ECR request members the way the service model constrains them. ECR reports a member that
 * breaks its model constraint as `InvalidParameterException` ("Invalid parameter at '<member>'
 * failed to satisfy constraint: …"), so every reader throws that.
 */
import { ApiError } from '../core.js';
import type { Input } from '../input.js';

export { ECR_WORDS, Input, invalidParameter } from '../input.js';

/** The current model regex for repository names (aws-facts §1), anchored. */
export const REPOSITORY_NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
/** ECR's `ImageDigest`/`LayerDigest` shape: `<algorithm>:<hex>`. */
export const DIGEST = /^[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+$/;
export const REGISTRY_ID = /^[0-9]{12}$/;

/** The repository name member, validated against the model (2–256 chars and the regex). */
export const repositoryName = (input: Input, member = 'repositoryName'): string =>
  input.string(member, { min: 2, max: 256, pattern: REPOSITORY_NAME });

/** Opaque paging tokens: an offset into a stable ordering, tagged with the operation. */
const encodeToken = (operation: string, offset: number): string =>
  Buffer.from(JSON.stringify({ op: operation, offset }), 'utf8').toString('base64');

const decodeToken = (operation: string, token: string | undefined): number => {
  if (token === undefined) return 0;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const { op, offset } = parsed as { op?: unknown; offset?: unknown };
      if (op === operation && typeof offset === 'number' && Number.isInteger(offset) && offset >= 0) return offset;
    }
  } catch {
    // fall through, an undecodable token is invalid
  }
  throw new ApiError('InvalidParameterException', 'Invalid parameter at \'nextToken\': the token is not valid for this request');
};

/** One page of `items` starting at the token's offset. */
export const page = <T>(
  operation: string,
  items: readonly T[],
  nextToken: string | undefined,
  maxResults: number,
): { readonly items: T[]; readonly nextToken: string | undefined } => {
  const offset = decodeToken(operation, nextToken);
  const slice = items.slice(offset, offset + maxResults);
  const end = offset + slice.length;
  return { items: slice, nextToken: end < items.length ? encodeToken(operation, end) : undefined };
};

/** JSON 1.1 timestamps are epoch seconds. */
export const epochSeconds = (ms: number): number => ms / 1000;

/** `*` is the only wildcard of ECR tag-mutability exclusion filters. */
export const wildcardMatches = (filter: string, value: string): boolean => {
  const regex = new RegExp(`^${filter.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return regex.test(value);
};
