/**
 * How the CLI writes: JSON (piped, or `--output json`) or tables (a terminal, or `--output table`);
 * errors as one human line on stderr, or as `{ "error": { kind, message, …fields } }` on stdout
 * under `--output json`. The SDK exceptions kept as `cause` are never printed.
 */
import type { RegistryError } from '../index.js';

/** The two output formats. */
export type OutputFormat = 'json' | 'table';

/** Where the CLI writes; the process's streams in the bin, buffers in tests. */
export interface CliIo {
  /** Writes a line to stdout. */
  readonly out: (text: string) => void;
  /** Writes a line to stderr. */
  readonly err: (text: string) => void;
  /** Writes to stderr as is (progress bars). */
  readonly errRaw: (text: string) => void;
  readonly stdoutIsTty: boolean;
  readonly stderrIsTty: boolean;
  readonly stdinIsTty: boolean;
  /** The terminal's width in columns when stderr is one (read at each redraw: it may be resized). */
  readonly stderrColumns?: () => number | undefined;
  /** The terminal's width when stdout is one (`process.stdout.columns`); tables are cut to it. */
  readonly columns?: number | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The kinds of failure of the CLI itself (not of an AWS operation), each with its exit code in
 * `CLI_FAILURE_EXIT` (`exit-codes.ts`):
 * - `UsageError`: a flag or argument that cannot be right (2);
 * - `ConfirmationRequired`: a destructive command off a terminal without `--yes` (2);
 * - `Declined`: the confirmation prompt was answered no (10; nothing was done);
 * - `JournalNotFound`: `migrate resume --journal PATH` names no file (3);
 * - `Interrupted`: Ctrl-C (130); `Unexpected`: a bug (1).
 */
const CLI_FAILURE_KINDS = ['UsageError', 'ConfirmationRequired', 'Declined', 'JournalNotFound', 'Interrupted', 'Unexpected'] as const;

/** A failure of the CLI itself (not of an AWS operation): a usage error, a declined confirmation, an interruption. */
export interface CliFailure {
  readonly kind: (typeof CLI_FAILURE_KINDS)[number];
  readonly message: string;
}

/** `--output` as given, else table on a terminal and JSON when piped. */
export const outputFormat = (given: string | undefined, io: Pick<CliIo, 'stdoutIsTty'>): OutputFormat =>
  given?.toLowerCase() === 'json' ? 'json' : given?.toLowerCase() === 'table' ? 'table' : io.stdoutIsTty ? 'table' : 'json';

/**
 * A copy that JSON can carry: no `cause` (SDK exceptions with sockets and responses), dates as ISO
 * strings, `Error`s as `{ name, message }`, sets and maps as arrays and objects.
 */
export const toPlain = (value: unknown): unknown => {
  if (value === null || typeof value !== 'object') return typeof value === 'bigint' ? value.toString() : value;
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (Array.isArray(value)) return value.map(toPlain);
  if (value instanceof Set) return [...value].map(toPlain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), toPlain(v)]));
  const plain: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'cause' || field === undefined || typeof field === 'function') continue;
    plain[key] = toPlain(field);
  }
  return plain;
};

/** Pretty JSON of {@link toPlain}. */
export const toJson = (value: unknown): string => JSON.stringify(toPlain(value), null, 2);

/** Tables are cut to the terminal: see `report/table.ts`. */
export { renderTable } from './report/table.js';

/** `key: value` lines, aligned. Undefined values are left out. */
export const renderFields = (fields: readonly (readonly [string, string | number | boolean | undefined])[]): string => {
  const shown = fields.filter((f): f is readonly [string, string | number | boolean] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${String(v)}`).join('\n');
};

const list = (values: readonly string[]): string => values.join(', ');

/** One sentence for a library error, with what to do next where there is something to do. */
export const describeError = (error: RegistryError): string => {
  switch (error.kind) {
    case 'InvalidRepositoryName':
      return `invalid repository name "${error.repositoryName}": ${error.reason}`;
    case 'InvalidEncryption':
      return `invalid encryption${error.key !== undefined ? ` (key "${error.key}")` : ''}: ${error.reason}`;
    case 'InvalidInput':
      return `invalid ${error.field}: ${error.reason}`;
    case 'InsecureEndpoint':
      return `refusing plain http:// to ${error.endpoint}: only loopback endpoints may skip TLS; for an emulator at a CI service name, opt in with --allow-insecure-http (or ENCRYPTED_ECR_ALLOW_INSECURE_HTTP=1)`;
    case 'KeyNotFound':
      return `KMS key not found: ${error.key}`;
    case 'KeyNotUsable':
      return `KMS key ${error.keyArn} cannot be used (${error.reason}): ${error.detail}`;
    case 'KeyRegionMismatch':
      return `KMS key ${error.keyArn} is in ${error.keyRegion}, the repository in ${error.repositoryRegion}: ECR needs a key of the same region`;
    case 'KeyGrantQuotaExhausted':
      return `KMS key ${error.keyArn} has ${error.grantCount} of ${error.quota} grants: no room for ECR's two grants (retire orphaned grants: encrypted-ecr grants retire)`;
    case 'KmsRefused':
      return `KMS refused ${error.operation}${error.kmsError ? ` (${error.kmsError})` : ''}: ${error.message}`;
    case 'MissingPermissions':
      return `${error.principalArn} lacks ${list(error.actions)} (found by ${error.source === 'iam-simulation' ? 'IAM policy simulation' : 'the key policy'}); see: encrypted-ecr policy generate identity`;
    case 'AccessDenied':
      return `access denied on ${error.service}:${error.operation}: ${error.message}`;
    case 'Throttled':
      return `throttled on ${error.service}:${error.operation} after retries: try again later`;
    case 'CredentialsError':
      return describeCredentialsError(error);
    case 'AwsServiceError':
      return `${error.service}:${error.operation} failed with ${error.name} (${error.fault} fault${error.httpStatusCode !== undefined ? `, HTTP ${error.httpStatusCode}` : ''}): ${error.message}`;
    case 'NetworkError':
      return `no answer from ${error.service} (${error.operation}): ${error.message}`;
    case 'SdkClientError':
    case 'UnexpectedResponse':
      return `${error.service}:${error.operation}: ${error.message}`;
    case 'RepositoryAlreadyExists':
      return `repository ${error.repositoryName} already exists`;
    case 'RepositoryNotFound':
      return `repository ${error.repositoryName} not found`;
    case 'RepositoryNotEmpty':
      return `repository ${error.repositoryName} holds ${error.imageCount} image(s): nothing was deleted (pass --force to delete them too)`;
    case 'EncryptionMismatch':
      return `repository ${error.repositoryName} exists with ${describeEncryption(error.existing)}, not ${describeEncryption(error.requested)}: ECR cannot change encryption in place; migrate it`;
    case 'DeletedButGrantsRemain':
      return `repository ${error.repositoryName} is deleted, but ${error.grantIds.length} grant(s) remain on ${error.keyArn}${error.missingPermission ? ` (the caller lacks ${error.missingPermission})` : ''}: retire them with encrypted-ecr grants retire`;
    case 'RollbackFailed':
      return `${describeError(error.original)}; undoing the earlier steps failed too: ${error.rollbackErrors.map(describeError).join('; ')}`;
    case 'ImagesArchived':
      return `repository ${error.repositoryName} holds ${error.images.length} archived image(s): restore them before copying`;
    case 'ImagesUnavailable':
      return `repository ${error.repositoryName}: ECR could not return ${error.failures.length} image(s)`;
    case 'DigestMismatch':
      return `${error.subject} in ${error.repositoryName} hashed to ${error.actual}, expected ${error.expected}`;
    case 'LayerTransferFailed':
      return `layer ${error.layerDigest} failed at ${error.stage} in ${error.repositoryName}: ${error.reason}: ${error.message}`;
    case 'ManifestRejected':
      return `ECR refused manifest ${error.imageDigest} in ${error.repositoryName} (${error.reason}): ${error.message}`;
    case 'CopyVerificationFailed':
      return `the copy in ${error.repositoryName} does not match: ${error.missingImages.length} missing image(s), ${error.manifestMismatches.length} manifest(s), ${error.tagMismatches.length} tag(s), ${error.missingBlobs.length} blob(s) differ`;
    case 'Aborted':
      return `${error.operation} was interrupted`;
    case 'JournalFailed':
      return `cannot ${error.operation} the migration journal ${error.journal}: ${error.reason}`;
    case 'MigrationInProgress':
      if (error.owner !== undefined) {
        return `the migration of ${error.repositoryName}${error.migrationId ? ` (${error.migrationId})` : ''} is running: its journal ${error.journal ?? ''} is locked by process ${error.owner.pid} on ${error.owner.hostname} since ${error.owner.startedAt}`;
      }
      return `a migration of ${error.repositoryName} is unfinished${error.migrationId ? ` (${error.migrationId})` : ''}${error.journal ? `: resume it with encrypted-ecr migrate resume --journal ${error.journal}` : ' (found in the repository policy): resume it from its journal'}`;
    case 'UnexpectedImages':
      return `${error.repositoryName} holds ${error.images.length} image(s) that are not part of the migration (${error.images
        .map((i) => i.imageDigest)
        .join(', ')}): someone pushed while it was not frozen yet; delete them as the migrating principal, then resume`;
    case 'RepositoryPolicyRefused':
      return `ECR refused to take back the repository policy of ${error.repositoryName} (${error.reason}); ${error.repositoryName} is complete but STILL FROZEN: as the migrating principal, set the policy you want (the saved one is in the journal), then resume`;
    case 'MigrationFailed':
      return `migration of ${error.repositoryName} stopped at ${error.step}: ${describeError(error.cause)}. ${error.state}. Resume with: encrypted-ecr migrate resume --journal ${error.journal}`;
  }
};

/**
 * "No credentials" and "credentials rejected" are different problems with different fixes: the
 * SDK found none to sign with (`CredentialsProviderError`), AWS does not know the key or the
 * signature does not match, or the session credentials expired.
 */
const describeCredentialsError = (error: Extract<RegistryError, { readonly kind: 'CredentialsError' }>): string => {
  const call = `${error.service}:${error.operation}`;
  switch (error.reason) {
    case 'missing':
      return `no AWS credentials for ${call}: ${error.message}; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, choose a profile (--profile, AWS_PROFILE), or sign in (aws sso login)`;
    case 'expired':
      return `the AWS credentials have expired (${call}): ${error.message}; get new ones (aws sso login, or a new session)`;
    case 'rejected':
      return `AWS rejected the credentials on ${call}: ${error.message} (an unknown or deactivated access key, a wrong secret key, or a clock far off)`;
  }
};

const describeEncryption = (e: { readonly type: string; readonly keyArn?: string }): string =>
  e.keyArn !== undefined ? `${e.type} (${e.keyArn})` : e.type;

/** A message as one line: an error is one line on stderr, and its JSON `message` holds no line break either. */
const oneLine = (message: string): string => message.replace(/\s*[\r\n]+\s*/g, ' ').trim();

/** The JSON error object: `{ error: { kind, message, …fields without cause } }`. */
export const errorJson = (error: RegistryError | CliFailure): string => {
  const message = oneLine(isRegistryKind(error) ? describeError(error) : error.message);
  const fields = toPlain(error) as Record<string, unknown>;
  // A stopped migration's `cause` is the typed error of the failed step (not an SDK exception): keep it, as `stepError`.
  if (error.kind === 'MigrationFailed') fields.stepError = toPlain(error.cause);
  return JSON.stringify({ error: { ...fields, kind: error.kind, message } }, null, 2);
};

const CLI_KINDS: ReadonlySet<string> = new Set(CLI_FAILURE_KINDS);
const isRegistryKind = (error: RegistryError | CliFailure): error is RegistryError => !CLI_KINDS.has(error.kind);

/** Whether a kind is one of the CLI's own failures (`CLI_FAILURE_KINDS`). */
export const isCliFailureKind = (kind: unknown): boolean => typeof kind === 'string' && CLI_KINDS.has(kind);

/**
 * The one format of every error line the CLI prints on stderr: `encrypted-ecr: <kind>: <message>`
 * (the README promises it; scripts and CI logs match on the kind), always one line.
 *
 * @example
 * ```ts
 * io.err(errorLine('Interrupted', 'stopped by Ctrl-C')); // encrypted-ecr: Interrupted: stopped by Ctrl-C
 * ```
 */
export const errorLine = (kind: RegistryError['kind'] | CliFailure['kind'], message: string): string => `encrypted-ecr: ${kind}: ${oneLine(message)}`;

/**
 * Reports an error: always one human line on stderr (what a CI log shows), and with JSON output
 * (`--output json`, or stdout piped) also the JSON error object on stdout, for the script reading it.
 */
export const reportError = (io: CliIo, format: OutputFormat, error: RegistryError | CliFailure): void => {
  io.err(errorLine(error.kind, isRegistryKind(error) ? describeError(error) : error.message));
  if (format === 'json') io.out(errorJson(error));
};
