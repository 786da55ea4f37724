/**
 * A fleet migration in its own process, for the fleet crash test:
 * `node --import tsx migrate-fleet-child.ts '<json>'`. It runs (or resumes) `migrateRepositories`
 * against the emulator at `endpoint` with the fleet journal `journal`; with `killMidCopy` it kills
 * itself with SIGKILL as soon as one repository is finished and another is in one of its copies.
 * Prints one JSON line at the end: `{ "ok": true, "totals": … }` or `{ "ok": false, "error": … }`.
 */
import { EncryptedRegistry, type EncryptionSpec } from '../../src/index.js';

export interface FleetChildConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly journal: string;
  readonly mode: 'migrate' | 'resume';
  readonly encryption: EncryptionSpec;
  readonly namePattern: string;
  readonly killMidCopy: boolean;
}

const main = async (): Promise<void> => {
  const config = JSON.parse(process.argv[2] ?? '{}') as FleetChildConfig;
  const registry = new EncryptedRegistry({
    clientConfig: { endpoint: config.endpoint, region: config.region, credentials: config.credentials },
    poll: { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 },
  });
  const selection = config.mode === 'migrate' ? { encryption: config.encryption, where: { name: config.namePattern } } : { resume: true };
  const result = await registry.migrateRepositories({
    ...selection,
    journal: config.journal,
    concurrency: 2,
    blobConcurrency: 2,
    onProgress: (p) => {
      const copying = p.migration !== undefined && (p.migration.step === 'copyToStaging' || p.migration.step === 'copyBack') && p.migration.status !== 'done';
      if (config.killMidCopy && p.repositoriesDone >= 1 && copying) process.kill(process.pid, 'SIGKILL');
    },
  });
  registry.destroy();
  const line = result.isOk()
    ? { ok: true, totals: result.value.totals, statuses: result.value.repositories.map((r) => [r.repositoryName, r.status, r.error?.kind]) }
    : { ok: false, error: { kind: result.error.kind } };
  process.stdout.write(`${JSON.stringify(line)}\n`);
};

void main();
