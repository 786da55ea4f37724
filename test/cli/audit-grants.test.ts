import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalAws } from '../../src/testing/index.js';
import { startAuditEmulator } from '../fixtures/audit-emulator.js';
import { assertBuilt, at, emulatorEnv, runCli } from './helpers.js';

let aws: LocalAws;
let env: Record<string, string>;
let cmk: string;

interface Audit {
  readonly compliant: boolean;
  readonly repositories: readonly {
    readonly name: string;
    readonly compliant: boolean;
    readonly encryption: { readonly type: string; readonly keyArn?: string; readonly keyManager?: string; readonly keyState?: string };
    readonly violations: readonly { readonly code: string; readonly message: string }[];
  }[];
  readonly keys: readonly { readonly keyArn: string; readonly grants?: { readonly orphans: readonly unknown[] } }[];
  readonly cost: { readonly keys: number; readonly requestsPerMonth: number; readonly total: number };
}

interface Sweep {
  readonly keys: readonly { readonly keyArn: string; readonly orphans: readonly { grantId: string; reason: string }[]; readonly retired?: readonly string[] }[];
  readonly dryRun?: boolean;
}

const orphansOn = (sweep: Sweep, keyArn: string) => sweep.keys.find((k) => k.keyArn === keyArn)?.orphans ?? [];

beforeAll(async () => {
  assertBuilt();
  ({ aws, cmk } = await startAuditEmulator({ keyDescription: 'audit key', managedRepository: 'managed' }));
  env = emulatorEnv(aws);
});
afterAll(() => aws.stop());

describe('encrypted-ecr audit', () => {
  it('lists every repository with its encryption and exits 9 under --require cmk when one is AES256', async () => {
    const run = await runCli(['audit', '--require', 'cmk', '--output', 'json', ...at(aws)], env);
    expect(run.code).toBe(9);
    const report = run.json<Audit>();
    expect(report.compliant).toBe(false);
    expect(report.repositories.map((r) => r.name).sort()).toEqual(['managed', 'plain', 'secure']);
    const byName = new Map(report.repositories.map((r) => [r.name, r]));
    expect(byName.get('secure')).toMatchObject({ compliant: true, encryption: { type: 'KMS', keyArn: cmk, keyManager: 'CUSTOMER', keyState: 'Enabled' } });
    expect(byName.get('plain')).toMatchObject({ compliant: false, encryption: { type: 'AES256' } });
    expect(byName.get('plain')?.violations.map((v) => v.code)).toEqual(['not-kms']);
    expect(byName.get('managed')?.violations.map((v) => v.code)).toEqual(['not-customer-managed']);
    expect(run.stderr).toBe('');
  });

  it('exits 0 when everything complies (--require any), and reports orphans and cost', async () => {
    const run = await runCli(['audit', '--pushes-per-month', '100', '--pulls-per-month', '900', '--layers-per-image', '4', ...at(aws)], env);
    expect(run.code).toBe(0);
    const report = run.json<Audit>();
    expect(report.compliant).toBe(true);
    expect(report.keys.find((k) => k.keyArn === cmk)?.grants?.orphans).toHaveLength(2);
    // One customer key in use; 2 KMS repositories × 1000 images × 5 requests.
    expect(report.cost).toMatchObject({ keys: 1, requestsPerMonth: 10_000, total: 1.03 });
  });

  it('--allowed-keys with a key outside the list is non-compliant', async () => {
    const run = await runCli(['audit', '--allowed-keys', cmk, '--require', 'kms', ...at(aws)], env);
    expect(run.code).toBe(9);
    const report = run.json<Audit>();
    expect(report.repositories.find((r) => r.name === 'managed')?.violations.map((v) => v.code)).toEqual(['key-not-allowed']);
    expect(report.repositories.find((r) => r.name === 'secure')?.compliant).toBe(true);
  });

  it('a bad rule is a usage error: exit 2', async () => {
    const run = await runCli(['audit', '--require', 'strict', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('require: must be cmk, kms or any');
  });

  it('draws no progress bar when stderr is not a terminal', async () => {
    const run = await runCli(['audit', '--output', 'table', ...at(aws)], env);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('estimated KMS cost');
  });
});

describe('encrypted-ecr grants', () => {
  it('orphans: finds the grants of the deleted repository', async () => {
    const run = await runCli(['grants', 'orphans', ...at(aws)], env);
    expect(run.code).toBe(0);
    const orphans = orphansOn(run.json<Sweep>(), cmk);
    expect(orphans).toHaveLength(2);
    expect(orphans.every((o) => o.reason === 'repository-deleted')).toBe(true);
  });

  it('retire: refuses off a terminal without --yes, before any call (exit 2)', async () => {
    const before = aws.inspect.calls().length;
    const run = await runCli(['grants', 'retire', ...at(aws)], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--yes');
    expect(aws.inspect.calls().length).toBe(before);
  });

  it('retire --dry-run retires nothing', async () => {
    const run = await runCli(['grants', 'retire', '--dry-run', '--key', cmk, ...at(aws)], env);
    expect(run.code).toBe(0);
    const sweep = run.json<Sweep>();
    expect(sweep.dryRun).toBe(true);
    expect(orphansOn(sweep, cmk)).toHaveLength(2);
    expect(aws.inspect.grants(cmk).filter((g) => g.retired)).toHaveLength(0);
  });

  it('retire --yes retires the orphans and leaves the live repository’s grants', async () => {
    const run = await runCli(['grants', 'retire', '--yes', '--key', cmk, ...at(aws)], env);
    expect(run.code).toBe(0);
    const key = run.json<Sweep>().keys.find((k) => k.keyArn === cmk);
    expect(key?.retired).toHaveLength(2);
    const live = aws.inspect.grants(cmk).filter((g) => !g.retired);
    expect(live.every((g) => g.encryptionContextSubset?.['aws:ecr:arn']?.endsWith(':repository/secure'))).toBe(true);
    expect(live).toHaveLength(2);

    const after = await runCli(['grants', 'orphans', '--key', cmk, ...at(aws)], env);
    expect(orphansOn(after.json<Sweep>(), cmk)).toEqual([]);
  });

  it('an unknown key is KeyNotFound, exit 3', async () => {
    const run = await runCli(['grants', 'orphans', '--key', 'alias/nope', ...at(aws)], env);
    expect(run.code).toBe(3);
    expect(run.json<{ error: { kind: string } }>().error.kind).toBe('KeyNotFound');
  });
});
