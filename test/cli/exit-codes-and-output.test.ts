import { beforeAll, describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor } from '../../src/cli/exit-codes.js';
import { type CliIo, describeError, errorJson, outputFormat, renderFields, renderTable, reportError, toPlain } from '../../src/cli/output.js';
import { loadLibrary } from '../../src/cli/library.js';
import { confirm, createProgress, progressEnabled, progressLine } from '../../src/cli/terminal.js';
import { ERROR_KINDS, isRegistryError, type RegistryError, type RegistryErrorKind } from '../../src/errors.js';

// The CLI loads the library (lazily) before any of its errors can exist; exitCodeFor asks it what is retryable.
beforeAll(async () => {
  await loadLibrary();
});

/**
 * Every kind's exit code, pinned: a change here is a CHANGELOG "Changed" line. The `Record` makes a
 * missing or extra kind a compile error.
 */
const PINNED_EXIT: Record<RegistryErrorKind, number> = {
  InvalidRepositoryName: 2, InvalidEncryption: 2, InvalidInput: 2, InsecureEndpoint: 2, SdkClientError: 2, JournalFailed: 2,
  RepositoryNotFound: 3, KeyNotFound: 3,
  RepositoryAlreadyExists: 4, RepositoryNotEmpty: 4, EncryptionMismatch: 4, ImagesArchived: 4, ImagesUnavailable: 4,
  DigestMismatch: 4, LayerTransferFailed: 4, ManifestRejected: 4, CopyVerificationFailed: 4, MigrationInProgress: 4, UnexpectedImages: 4,
  MissingPermissions: 5, AccessDenied: 5, CredentialsError: 5,
  KeyNotUsable: 6, KeyRegionMismatch: 6, KeyGrantQuotaExhausted: 6, KmsRefused: 6,
  Throttled: 7, NetworkError: 7,
  DeletedButGrantsRemain: 8, RollbackFailed: 8, RepositoryPolicyRefused: 8, MigrationFailed: 8,
  AwsServiceError: 1, UnexpectedResponse: 1,
  Aborted: 130,
};

const aws = { service: 'kms' as const, operation: 'DescribeKey', cause: new Error('socket details') };

const io = (over: Partial<CliIo> = {}) => {
  const out: string[] = [];
  const err: string[] = [];
  const value: CliIo = {
    out: (t) => out.push(t), err: (t) => err.push(t), errRaw: (t) => err.push(t),
    stdoutIsTty: false, stderrIsTty: false, stdinIsTty: false, env: {}, ...over,
  };
  return { io: value, out, err };
};

describe('exit codes', () => {
  it('every kind exits with its category\'s code, as pinned', () => {
    expect(Object.keys(ERROR_KINDS).sort()).toEqual(Object.keys(PINNED_EXIT).sort());
    for (const [kind, code] of Object.entries(PINNED_EXIT)) {
      expect(EXIT[ERROR_KINDS[kind as RegistryErrorKind].category], kind).toBe(code);
      expect(isRegistryError({ kind })).toBe(true);
    }
    expect(EXIT.ok).toBe(0);
    expect(EXIT.nonCompliant).toBe(9);
  });

  it('exitCodeFor gives each kind its code (errors with only a kind: the fields do not decide, except below)', () => {
    for (const [kind, code] of Object.entries(PINNED_EXIT)) {
      if (kind === 'MigrationFailed') continue; // its `cause` decides, below
      expect(exitCodeFor({ kind, fault: 'client' } as unknown as RegistryError), kind).toBe(code);
    }
  });

  it('a server-side AwsServiceError is retryable (7); a client-side one is unexpected (1)', () => {
    const base = { ...aws, kind: 'AwsServiceError' as const, name: 'InternalError', message: 'boom', httpStatusCode: 500, requestId: undefined };
    expect(exitCodeFor({ ...base, fault: 'server' })).toBe(7);
    expect(exitCodeFor({ ...base, fault: 'client' })).toBe(1);
  });

  it('a migration stopped by an abort exits 130; stopped by anything else, 8 (resume it)', () => {
    const stopped = (cause: RegistryError): RegistryError => ({
      kind: 'MigrationFailed', migrationId: 'm-1', repositoryName: 'app', stagingRepositoryName: 'app-migrating-m-1', step: 'copyBack',
      state: 'every image is in staging', resume: 'resume', journal: '/tmp/app.json', cause,
      observed: { repository: 'recreated', originalFrozen: true, staging: 'present' },
    });
    expect(exitCodeFor(stopped({ kind: 'Aborted', operation: 'migrateRepository' }))).toBe(130);
    expect(exitCodeFor(stopped({ kind: 'Throttled', ...aws }))).toBe(8);
  });
});

describe('output', () => {
  it('picks table on a terminal and JSON when piped, unless --output says otherwise', () => {
    expect(outputFormat(undefined, { stdoutIsTty: true })).toBe('table');
    expect(outputFormat(undefined, { stdoutIsTty: false })).toBe('json');
    expect(outputFormat('json', { stdoutIsTty: true })).toBe('json');
    expect(outputFormat('table', { stdoutIsTty: false })).toBe('table');
  });

  it('toPlain drops causes (at any depth), turns dates into ISO strings and errors into name and message', () => {
    const plain = toPlain({
      when: new Date('2026-01-01T00:00:00Z'),
      error: { kind: 'AccessDenied', ...aws, message: 'no' },
      nested: [{ cause: 'x', keep: 1, gone: undefined }],
      failure: new TypeError('bad'),
    });
    expect(plain).toEqual({
      when: '2026-01-01T00:00:00.000Z',
      error: { kind: 'AccessDenied', service: 'kms', operation: 'DescribeKey', message: 'no' },
      nested: [{ keep: 1 }],
      failure: { name: 'TypeError', message: 'bad' },
    });
  });

  it('the JSON error carries kind, a human message and the fields, never the cause', () => {
    const error: RegistryError = { kind: 'KeyNotFound', ...aws, key: 'alias/app' };
    expect(JSON.parse(errorJson(error))).toEqual({
      error: { kind: 'KeyNotFound', service: 'kms', operation: 'DescribeKey', key: 'alias/app', message: 'KMS key not found: alias/app' },
    });
  });

  it('reports an error as one stderr line, plus the JSON object on stdout with JSON output', () => {
    const error: RegistryError = { kind: 'RepositoryNotFound', repositoryName: 'app' };
    const table = io();
    reportError(table.io, 'table', error);
    expect(table.err).toEqual(['encrypted-ecr: RepositoryNotFound: repository app not found']);
    expect(table.out).toEqual([]);
    const json = io();
    reportError(json.io, 'json', error);
    expect(json.err).toHaveLength(1);
    expect(JSON.parse(json.out[0] ?? '')).toMatchObject({ error: { kind: 'RepositoryNotFound', repositoryName: 'app' } });
  });

  it('describes nested errors of RollbackFailed', () => {
    const original: RegistryError = { kind: 'InvalidInput', field: 'lifecyclePolicy', reason: 'too short' };
    const text = describeError({ kind: 'RollbackFailed', original, rollbackErrors: [{ kind: 'Throttled', ...aws }] });
    expect(text).toContain('invalid lifecyclePolicy: too short');
    expect(text).toContain('throttled on kms:DescribeKey');
  });

  it('renders aligned tables and fields', () => {
    expect(renderTable(['NAME', 'TYPE'], [['app', 'KMS'], ['a', 'AES256']])).toBe('NAME  TYPE\n----  ------\napp   KMS\na     AES256');
    expect(renderFields([['region', 'eu-west-1'], ['key', undefined], ['grants', 2]])).toBe('region: eu-west-1\ngrants: 2');
  });
});

describe('terminal', () => {
  it('draws progress only on a terminal, never under CI or --no-progress', () => {
    expect(progressEnabled({ stderrIsTty: true, env: {} }, true)).toBe(true);
    expect(progressEnabled({ stderrIsTty: false, env: {} }, true)).toBe(false);
    expect(progressEnabled({ stderrIsTty: true, env: { CI: 'true' } }, true)).toBe(false);
    expect(progressEnabled({ stderrIsTty: true, env: {} }, false)).toBe(false);
  });

  it('renders a bar with a count, or a counter when the total is unknown', () => {
    expect(progressLine('describing keys', 3, 12)).toBe('[######------------------]  3/12 describing keys');
    expect(progressLine('listing repositories', 0, undefined)).toBe('listing repositories… 0');
  });

  it('redraws the bar in place on stderr and clears it when done; writes nothing when off', () => {
    const on = io({ stderrIsTty: true });
    const bar = createProgress(on.io, true);
    bar.update('listing grants', 1, 2);
    bar.update('listing grants', 2, 2);
    bar.done();
    expect(on.err).toEqual([
      `\r\x1b[2K${progressLine('listing grants', 1, 2)}`,
      `\r\x1b[2K${progressLine('listing grants', 2, 2)}`,
      '\r\x1b[2K',
    ]);
    expect(on.out).toEqual([]);
    const off = io();
    const quiet = createProgress(off.io, false);
    quiet.update('listing grants', 1, 2);
    quiet.done();
    expect(off.err).toEqual([]);
  });

  it('confirmation: --yes answers; off a terminal without it, a ConfirmationRequired failure', async () => {
    expect(await confirm(io().io, 'Delete repository app?', true)).toBe(true);
    expect(await confirm(io().io, 'Delete repository app?', false)).toEqual({
      kind: 'ConfirmationRequired',
      message: 'Delete repository app: not confirmed; off a terminal, pass --yes',
    });
  });
});
