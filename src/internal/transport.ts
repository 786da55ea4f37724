import type { InsecureEndpoint } from '../errors.js';

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** Whether a host name is this machine: `localhost`, `::1` or anything in 127.0.0.0/8. */
export const isLoopbackHost = (host: string): boolean =>
  LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127(?:\.\d{1,3}){3}$/.test(host);

/**
 * Refuses plain `http://` unless the host is loopback: image layers and signed requests travel
 * over TLS only. Returns the error to report, or `undefined` when the URL is acceptable.
 */
export const checkTransport = (url: string): InsecureEndpoint | undefined => {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { kind: 'InsecureEndpoint', endpoint: url };
  }
  if (parsed.protocol === 'https:') return undefined;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return undefined;
  return { kind: 'InsecureEndpoint', endpoint: url };
};
