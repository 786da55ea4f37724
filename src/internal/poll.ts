/**
 * @deprecated Moved to `./wait.js`, the one module that waits and retries; kept for the migration
 * files until they import from there.
 */
export { backoffDelays, DEFAULT_POLL } from './wait.js';
