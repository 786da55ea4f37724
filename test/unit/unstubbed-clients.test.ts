/**
 * Issue 13, part 1: users hand `EncryptedRegistry` aws-sdk-client-mock clients. An unstubbed
 * command answers `undefined`, a lazily stubbed one `{}`. Every public operation answers either
 * with a typed error naming the service and the command, never a throw, never an unhandled
 * rejection, and quickly (no operation waits on an answer that cannot come).
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import type { ResultAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, isRegistryError, memoryJournal, parseMigrationJournalRecord, type MigrationJournalRecord, type RegistryError } from '../../src/index.js';
import { KEY_ARN } from '../fixtures/index.js';
import { journalText } from '../fixtures/journal.js';
import { recordingClock } from '../helpers/clock.js';
import { collectUnhandledRejections } from '../fixtures/unhandled.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const iam = mockClient(IAMClient);
const sts = mockClient(STSClient);
const MOCKS = { ecr, kms, iam, sts } as const;

const unhandled = collectUnhandledRejections();
beforeEach(() => {
  for (const mock of Object.values(MOCKS)) mock.reset();
});
afterEach(() => {
  expect(unhandled).toEqual([]);
});

// A journal as a file holds it (the record type is opaque: it is read through the parser, as users do).
const journalState = (): MigrationJournalRecord => parseMigrationJournalRecord(journalText())._unsafeUnwrap();

/** The pauses the registries ask of their (real) clock: none may wait on an answer that cannot come. */
const waits = recordingClock();

const registry = (): EncryptedRegistry =>
  new EncryptedRegistry({
    clock: waits.clock,
    clients: {
      ecr: new ECRClient({ region: 'eu-west-1' }),
      kms: new KMSClient({ region: 'eu-west-1' }),
      iam: new IAMClient({ region: 'eu-west-1' }),
      sts: new STSClient({ region: 'eu-west-1' }),
    },
    clientConfig: { region: 'eu-west-1' },
  });

/**
 * Every public operation of `EncryptedRegistry` (the pure `explainAccess` and the policy
 * generators make no call). KMS and AES256 variants take different paths, so both are run.
 */
const OPERATIONS: readonly (readonly [string, (r: EncryptedRegistry) => ResultAsync<unknown, RegistryError>])[] = [
  ['preflight (KMS)', (r) => r.preflight({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } })],
  ['preflight (AES256)', (r) => r.preflight({ repositoryName: 'team/app', encryption: 'AES256' })],
  ['createEncryptedRepository (KMS)', (r) => r.createEncryptedRepository({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } })],
  ['createEncryptedRepository (AES256)', (r) => r.createEncryptedRepository({ repositoryName: 'team/app', encryption: 'AES256' })],
  ['deleteRepository', (r) => r.deleteRepository({ repositoryName: 'team/app', force: true })],
  ['findOrphanedGrants (region)', (r) => r.findOrphanedGrants()],
  ['findOrphanedGrants (keys)', (r) => r.findOrphanedGrants({ keys: [KEY_ARN] })],
  ['retireOrphanedGrants', (r) => r.retireOrphanedGrants({ keys: [KEY_ARN], dryRun: false })],
  ['audit', (r) => r.audit()],
  ['planMigration', (r) => r.planMigration({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' } })],
  ['migrateRepository', (r) => r.migrateRepository({ repositoryName: 'team/app', encryption: { type: 'KMS', key: 'alias/app' }, journal: memoryJournal() })],
  ['resumeMigration', (r) => r.resumeMigration({ journal: memoryJournal(journalState()) })],
];

/**
 * Runs an operation; a throw (synchronous or a rejected promise) fails the test with what was
 * thrown. `ms`: how long it paused (asked of the registry's clock; not its wall time, which a loaded
 * machine stretches).
 */
const outcome = async (run: () => ResultAsync<unknown, RegistryError>): Promise<{ ms: number; ok: boolean; value?: unknown; error?: unknown }> => {
  waits.reset();
  const result = await run();
  const ms = waits.sleptMs();
  return result.isOk() ? { ms, ok: true, value: result.value } : { ms, ok: false, error: result.error };
};

/**
 * The typed errors an outcome carries: the error, or for `preflight` (whose checks come back as
 * findings, and whose result is an error only when nothing can run) the errors of a failed report.
 */
const errorsOf = (result: { ok: boolean; value?: unknown; error?: unknown }): unknown[] => {
  if (!result.ok) return [result.error];
  const report = result.value as { ok?: unknown; findings?: readonly { error?: unknown }[] } | undefined;
  if (report?.ok !== false) return [];
  return (report.findings ?? []).flatMap((f) => (f.error === undefined ? [] : [f.error]));
};

/** Once a migration has changed something, every failure is `MigrationFailed` with the step's error as `cause`. */
const rootOf = (error: unknown): RegistryError => {
  const e = error as RegistryError;
  return e.kind === 'MigrationFailed' ? e.cause : e;
};

/** The commands that were sent to any mock, as `service:Command`. */
const sent = (): string[] =>
  Object.entries(MOCKS).flatMap(([service, mock]) => mock.calls().map((call) => `${service}:${(call.args[0] as { constructor: { name: string } }).constructor.name.replace(/Command$/, '')}`));

const describesUnexpected = (error: unknown, service: string, operation: string): boolean => {
  const e = error as { service?: unknown; operation?: unknown; message?: unknown };
  return e.service === service && e.operation === operation && typeof e.message === 'string' && e.message.includes(operation);
};

describe('every operation over unstubbed aws-sdk-client-mock clients', () => {
  for (const [name, run] of OPERATIONS) {
    it(`${name}: a typed error naming the command whose answer was missing, with well under a second of pauses`, async () => {
      const r = registry();
      const result = await outcome(() => run(r));
      r.destroy();
      const errors = errorsOf(result);
      expect(errors.length, `${name} succeeded over mocks that answer nothing`).toBeGreaterThan(0);
      for (const error of errors) {
        expect(isRegistryError(error), JSON.stringify(error)).toBe(true);
        expect(rootOf(error).kind, JSON.stringify(error)).toBe('UnexpectedResponse');
      }
      const calls = sent();
      expect(calls.length, 'it reached AWS').toBeGreaterThan(0);
      // Each error names a command that was really sent, and its service.
      for (const error of errors) {
        const named = calls.some((call) => {
          const [service = '', command = ''] = call.split(':');
          return describesUnexpected(rootOf(error), service, command);
        });
        expect(named, `${JSON.stringify(error)} names none of ${calls.join(', ')}`).toBe(true);
      }
      expect(result.ms).toBeLessThan(1000);
    });
  }
});

describe('every operation when each command it sends answers {} (an empty output)', () => {
  for (const [name, run] of OPERATIONS) {
    it(`${name}: a typed error or a result, never a throw, with well under a second of pauses`, async () => {
      // First learn which commands the operation sends when nothing answers, then stub each of
      // them in turn with `{}` (the others stay unstubbed), and finally all of them at once.
      const probe = registry();
      await run(probe);
      probe.destroy();
      const commands = [...new Set(sent())];
      const stubs: (readonly string[])[] = [...commands.map((c) => [c]), commands];
      for (const stubbed of stubs) {
        for (const mock of Object.values(MOCKS)) mock.reset();
        for (const entry of stubbed) {
          const [service = '', command = ''] = entry.split(':');
          const mock = MOCKS[service as keyof typeof MOCKS];
(mock as unknown as { on(c: unknown): { resolves(v: unknown): void } }).on(commandClass(service, command)).resolves({});
        }
        const r = registry();
        const result = await outcome(() => run(r));
        r.destroy();
        for (const error of errorsOf(result)) expect(isRegistryError(error), `${stubbed.join('+')}: ${JSON.stringify(error)}`).toBe(true);
        expect(result.ms, stubbed.join('+')).toBeLessThan(1000);
      }
    });
  }
});

/** The command class of a service by its name, from the SDK packages. */
const commandClass = (service: string, command: string): unknown => COMMANDS[service]?.[`${command}Command`];
const COMMANDS: Record<string, Record<string, unknown>> = {
  ecr: await import('@aws-sdk/client-ecr'),
  kms: await import('@aws-sdk/client-kms'),
  iam: await import('@aws-sdk/client-iam'),
  sts: await import('@aws-sdk/client-sts'),
};
