/**
 * A migration in its own process, for the crash tests: `node --import tsx migrate-child.ts '<json>'`.
 * It migrates or resumes against the emulator at `endpoint`, journaling to `journalPath`, and
 * kills itself with SIGKILL right after the journal records `killAt` (so the kill point is exact).
 * Prints one JSON line at the end: `{ "ok": true, "result": … }` or `{ "ok": false, "error": … }`.
 */
import { EncryptedRegistry, fileJournal, type MigrationJournal } from '../../src/index.js';
import { type JournalState, stateOf } from '../../src/migration/state.js';
import type { EncryptionSpec } from '../../src/index.js';

/** Where to die: after the journal records a step's status, or a number of copied blobs or manifests. */
export type KillPoint =
  | { readonly step: JournalState['steps'] extends Partial<Record<infer S, unknown>> ? S : never; readonly status: 'started' | 'done' }
  | { readonly copied: 'blobs' | 'manifests'; readonly into: 'staging' | 'final'; readonly count: number }
  /** Right after the journal records the original's lifecycle policy deleted (paused). */
  | { readonly lifecyclePaused: true };

export interface ChildConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly journalPath: string;
  readonly mode: 'migrate' | 'resume';
  readonly repositoryName: string;
  readonly encryption: EncryptionSpec;
  readonly killAt?: KillPoint;
}

const reached = (state: JournalState, point: KillPoint): boolean =>
  'step' in point
    ? state.steps[point.step]?.status === point.status
    : 'lifecyclePaused' in point
      ? state.lifecyclePausedAt !== undefined
      : (point.into === 'staging' ? state.staging : state.final)[point.copied].length >= point.count;

const main = async (): Promise<void> => {
  const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
  const inner = fileJournal(config.journalPath);
  const journal: MigrationJournal = {
    description: inner.description,
    load: () => inner.load(),
    clear: () => inner.clear(),
    save: (record) =>
      inner.save(record).map(() => {
        if (config.killAt !== undefined && reached(stateOf(record), config.killAt)) process.kill(process.pid, 'SIGKILL');
      }),
  };
  const registry = new EncryptedRegistry({
    clientConfig: { endpoint: config.endpoint, region: config.region, credentials: config.credentials },
    poll: { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 },
  });
  const result =
    config.mode === 'migrate'
      ? await registry.migrateRepository({ repositoryName: config.repositoryName, encryption: config.encryption, journal, concurrency: 2 })
      : await registry.resumeMigration({ journal, concurrency: 2 });
  registry.destroy();
  const line = result.isOk()
    ? { ok: true, result: result.value }
    : { ok: false, error: { kind: result.error.kind, ...('step' in result.error ? { step: result.error.step, state: result.error.state } : {}), cause: 'cause' in result.error && typeof result.error.cause === 'object' && result.error.cause !== null && 'kind' in result.error.cause ? result.error.cause.kind : undefined } };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

void main();
