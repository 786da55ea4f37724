/**
 * The CLI's exit codes: one per outcome a pipeline may want to act on. An error's code is its
 * {@link ErrorCategory}'s (the library's `ERROR_KINDS` table gives each kind its category), so a
 * new kind or category cannot go without a code: `EXIT` must name every category.
 */
import type { ErrorCategory, Finding, RegistryError } from '../index.js';
import { EXIT_KINDS } from './exit-help.generated.js';
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

/** What each exit code means, for `--help` (one line each; `exit-help.generated.ts` adds the error kinds). */
const EXIT_MEANING = {
  ok: 'ok (audit: every repository compliant; policy check: allowed)',
  unexpected: 'unexpected error',
  usage: 'usage or bad input (unknown flag, malformed name or key, missing region, no --yes off a terminal)',
  notFound: 'not found (repository, key, migration journal)',
  conflict: 'conflict (exists, not empty, other encryption, copy mismatch, migration in progress, archived images)',
  permissions: 'permissions or credentials (policy check: denied)',
  key: 'KMS key problem (disabled, other region, grant quota, KMS refused)',
  retryable: 'retryable (throttled, network, 5xx)',
  partial: 'partly done (deleted but grants remain, rollback failed, some grants not retired, a migration stopped: resume it)',
  nonCompliant: 'a finding --fail-on selects (audit: a repository not compliant; grants: an orphaned grant with --fail-on orphans)',
  declined: 'declined at a confirmation prompt (nothing was done)',
  interrupted: 'interrupted',
} as const satisfies Readonly<Record<keyof typeof EXIT, string>>;

/**
 * The exit codes section of `--help`: each code, what it means, and the library's error kinds that
 * end with it (from `ERROR_KINDS`, through the generated {@link EXIT_KINDS}: `--help` loads no library).
 */
export const exitHelp = (): string => {
  const lines = (Object.keys(EXIT) as (keyof typeof EXIT)[])
    .sort((a, b) => EXIT[a] - EXIT[b])
    .flatMap((name) => {
      const code = String(EXIT[name]).padEnd(5);
      const kinds = EXIT_KINDS[EXIT[name]] ?? [];
      const [first = '', ...rest] = wrap(EXIT_MEANING[name], INDENT);
      return [`  ${code}${first.trimStart()}`, ...rest, ...wrap(kinds.length > 0 ? `kinds: ${kinds.join(', ')}` : '', `${INDENT}  `)];
    });
  return ['', 'Exit codes:', ...lines, '  preflight and migrate --plan exit with the code create and migrate would (a disabled key: 6)'].join('\n');
};

const INDENT = ' '.repeat(7);

/** `text` cut into lines of at most 100 characters after `indent`, at ", ". */
const wrap = (text: string, indent: string): string[] => {
  if (text === '') return [];
  const out: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > 100) {
      out.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...out, indent + line];
};

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
