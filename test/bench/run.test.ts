import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../bench/harness.js';
import type { Figure } from '../../bench/lib/types.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `bench/run.ts` as `npm run bench` does; resolves with its exit code and output. */
const bench = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });

// A correctness test of the harness on tiny sizes: every figure is there, with its target and
// ratio. Nothing here is timed: the figures of a quick run mean nothing.
describe('npm run bench -- --quick', () => {
  it('prints the table and writes every figure to the JSON', { timeout: 240_000 }, async () => {
    // Prepare
    const out = join(dir, 'quick.json');

    // Act
    const run = await bench(['--quick', '--out', out]);

    // Assess: a quick run exits 0 whatever its tiny figures (targets are judged on full sizes); never a crash.
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.quick).toBe(true);
    expect(results.benches).toEqual(['throughput', 'concurrency', 'memory', 'calls', 'audit', 'policy', 'peer', 'fleet', 'orgAudit']);
    expect(results.figures.map((f) => f.id).sort()).toEqual(
      [
        'throughput.seed',
        'throughput.floor',
        'throughput.library',
        'throughput.ratio',
        'throughput.jsonFloorRatio',
        'throughput.cpuRatio',
        'concurrency.c1',
        'concurrency.c8',
        'concurrency.speedup',
        'memory.baseline',
        'memory.peak.12MiB',
        'memory.peak.24MiB',
        'memory.flatness',
        'calls.perImage',
        'calls.perBlob',
        'calls.perPart',
        'calls.repositorySteps',
        'calls.total',
        'audit.setup',
        'audit.findOrphanedGrants.time',
        'audit.findOrphanedGrants.calls',
        'audit.audit.time',
        'audit.audit.calls',
        'policy.explainAccess',
        'policy.explainAccess.cold',
        'fleet.quotaUse',
        'fleet.throttled',
        'fleet.cpu',
        'org.audit.calls',
        'org.audit.wall',
        'org.audit.coldWall',
        'org.audit.memory',
        // The skopeo peer runs where skopeo is (always on CI: .ci/run installs it).
        ...(existsSync('/usr/bin/skopeo') ? ['peer.skopeoRatio', 'peer.libraryPeakRss', 'peer.skopeoPeakRss'] : []),
      ].sort(),
    );
    for (const figure of results.figures) {
      expect(Number.isFinite(figure.value), figure.id).toBe(true);
      if (figure.target !== undefined) {
        expect(typeof figure.pass, figure.id).toBe('boolean');
        expect(Number.isFinite(figure.ratio), figure.id).toBe(true);
      }
    }
    const figure = (id: string): Figure => {
      const found = results.figures.find((f) => f.id === id);
      if (found === undefined) throw new Error(`${id} is missing`);
      return found;
    };
    // The call counts are exact whatever the size: both copy passes make the fewest image, blob
    // and part calls the API allows, and every call above the minimum is a repository step.
    for (const id of ['calls.perImage', 'calls.perBlob', 'calls.perPart', 'audit.findOrphanedGrants.calls', 'audit.audit.calls', 'org.audit.calls']) {
      expect(figure(id).pass, id).toBe(true);
    }
    const steps = figure('calls.repositorySteps');
    const stepsMinimum = Object.values((steps.detail?.minimum ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
    const total = figure('calls.total');
    const totalMinimum = Object.values((total.detail?.minimum ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(stepsMinimum).toBeGreaterThan(0);
    expect(total.value - totalMinimum).toBe(steps.value - stepsMinimum);
    // A migration moves every byte twice: the library and the floor moved the same bytes.
    expect(figure('throughput.library').detail?.bytesMoved).toBe(2 * Number(figure('throughput.library').detail?.repositoryBytes));
    expect(figure('throughput.floor').detail?.bytesMoved).toBe(figure('throughput.library').detail?.bytesMoved);
    expect(figure('throughput.jsonFloorRatio').detail?.bytesMoved).toBe(figure('throughput.library').detail?.bytesMoved);
    for (const id of ['memory.peak.12MiB', 'memory.peak.24MiB']) {
      const detail = figure(id).detail ?? {};
      // The layer and the image's config, each into staging and back.
      expect(Number(detail.bytesMoved), id).toBeGreaterThan(2 * Number(detail.layerBytes));
      expect(Number(detail.bytesMoved), id).toBeLessThan(2 * Number(detail.layerBytes) + 64 * 1024);
    }
    for (const figure of results.figures) expect(run.stdout).toContain(figure.id);
  });

  it('runs a subset with --only, and refuses an unknown benchmark', { timeout: 60_000 }, async () => {
    // Prepare
    const out = join(dir, 'policy.json');

    // Act
    const run = await bench(['--quick', '--only', 'policy', '--out', out]);
    const wrong = await bench(['--only', 'nonsense']);

    // Assess
    expect(run.code, run.stderr).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as BenchResults;
    expect(results.figures.map((f) => f.id)).toEqual(['policy.explainAccess', 'policy.explainAccess.cold']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('unknown benchmark "nonsense"');
  });
});
