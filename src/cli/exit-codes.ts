/**
 * The CLI's exit codes: one per outcome a pipeline may want to act on. An error's code is its
 * {@link ErrorCategory}'s (the library's `ERROR_KINDS` table gives each kind its category), so a
 * new kind or category cannot go without a code: `EXIT` must name every category.
 */
import type { ErrorCategory, Finding, RegistryError } from '../index.js';
import { loadedLibrary } from './library.js';
import type { CliFailure } from './output.js';

/** Exit codes, documented in `docs/errors.md` and `docs/cli.md`. */
export const EXIT = {
  /** Done; for `audit`, every repository complies; for `policy check`, allowed. */
  ok: 0,
  /** An unexpected failure (a bug, an unmodelled AWS error). */
  unexpected: 1,
  /** Bad usage or input: unknown flag, malformed name or key, missing region, no `--yes` off a terminal, an unreadable journal. */
  usage: 2,
  /** The repository, key or migration journal does not exist. */
  notFound: 3,
  /** The state conflicts with the request: exists, not empty, other encryption, copy mismatch, a migration in progress. */
  conflict: 4,
  /** Permissions or credentials; for `policy check`, denied. */
  permissions: 5,
  /** The KMS key cannot be used: disabled, wrong region, grant quota, KMS refused. */
  key: 6,
  /** Retryable: throttled, network, a 5xx. */
  retryable: 7,
  /** Partly done: deleted but grants remain, a rollback or a retirement that failed, a migration that stopped (resume it). */
  partial: 8,
  /** `audit`: at least one repository is not compliant. */
  nonCompliant: 9,
  /**
   * A confirmation prompt was answered no: nothing was done. Not a usage error (the command line
   * was right) and not a failure of AWS: its own code, so a wrapper script can tell it apart.
   */
  declined: 10,
  /** Interrupted (Ctrl-C). */
  interrupted: 130,
} as const satisfies Readonly<Record<ErrorCategory | 'ok' | 'nonCompliant' | 'declined', number>>;

/** The exit code of each failure of the CLI itself. */
export const CLI_FAILURE_EXIT = {
  UsageError: EXIT.usage,
  ConfirmationRequired: EXIT.usage,
  Declined: EXIT.declined,
  JournalNotFound: EXIT.notFound,
  Interrupted: EXIT.interrupted,
  Unexpected: EXIT.unexpected,
} as const satisfies Readonly<Record<CliFailure['kind'], number>>;

/**
 * The exit code for an error: its category's (`errorCategory`: a server-side `AwsServiceError` is
 * `retryable`, a migration stopped by Ctrl-C is `interrupted`).
 */
export const exitCodeFor = (error: RegistryError): number => EXIT[loadedLibrary().errorCategory(error)];

/**
 * The exit code of a check (`preflight`, `migrate --plan`): the code the checked operation would
 * exit with, i.e. that of the first blocking finding's typed error (a disabled key 6, a missing
 * permission 5, a key that does not exist 3), since `create` and `migrate` return exactly that
 * error. `undefined` when no finding blocks.
 */
export const blockingExitCode = (findings: readonly Finding[]): number | undefined => {
  const blocking = findings.find((f) => f.severity === 'error' && f.error !== undefined);
  return blocking?.error === undefined ? undefined : exitCodeFor(blocking.error);
};
