/**
 * Organization audit: `EncryptedFleet.audit()` over many accounts × regions, each target holding
 * many repositories, with 20 ms of latency on every call. Three figures against their floors:
 *
 * - calls ≤ 1.1× the fewest the page limits allow for the same report (written down below, as
 *   `calls.ts` does for a migration);
 * - wall time ≤ 1.5× (minimum calls ÷ allowed concurrency × latency): the fleet runs `concurrency`
 *   targets at once, each a chain of calls, so that is the time the calls take when every lane is
 *   always busy;
 * - memory flat in the number of repositories: the process's peak RSS during the audit at the full
 *   number of repositories per target ÷ the same at half of it, each on a fresh emulator.
 *
 * Setup: one role per member account that trusts the caller's account; the repositories are
 * created through the emulated ECR's `handle` in process, as `audit.ts` does (the same handlers,
 * without HTTP and SigV4), in every account and region.
 */
import { randomUUID } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EncryptedFleet } from '../src/index.js';
import type { CallContext } from '../src/testing/emulator/core.js';
import { unwrap } from './lib/engine.js';
import { type BenchAws, seconds, startBenchAws } from './lib/env.js';
import type { Bench, Figure } from './lib/types.js';

/** ECR's DescribeRepositories page limit (aws-facts §6). */
const DESCRIBE_REPOSITORIES_PAGE = 1000;
const ROLE = 'ecr-org-auditor';
const SAMPLE_MS = 20;

const ceil = (n: number, per: number): number => Math.max(1, Math.ceil(n / per));

/** A full garbage collection, so heap figures hold live objects only (V8's `gc`, exposed at run time). */
const collect: () => void = (() => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (() => void) | undefined;
  return typeof gc === 'function' ? () => gc() : () => undefined;
})();

/** 12-digit account ids: the caller's first, then the members. */
const accountIds = (n: number): string[] => Array.from({ length: n }, (_, i) => String(100_000_000_000 + i * 1_001));

/** A caller in `account` and `region` for the emulated ECR's `handle` (setup only). */
const contextIn = (account: string, region: string): CallContext => ({
  region,
  principal: { arn: `arn:aws:iam::${account}:root`, account, userId: account, type: 'root', accessKeyId: `AKIA${account}` },
  requestId: randomUUID(),
});

interface Run {
  readonly calls: number;
  readonly counts: Record<string, number>;
  readonly minimum: Record<string, number>;
  readonly wall: number;
  readonly peakHeap: number;
  readonly peakRss: number;
  readonly heapBefore: number;
  /** Live heap after the audit, its report still held. */
  readonly heapAfter: number;
  readonly cpuSeconds: number;
  readonly repositories: number;
}

/** One audit of `accounts` × `regions` × `perTarget` repositories on a fresh emulator. */
const auditOnce = async (accounts: readonly string[], regions: readonly string[], perTarget: number, latencyMs: number, concurrency: number): Promise<Run> => {
  const env: BenchAws = await startBenchAws({ accounts, regions });
  try {
    const caller = accounts[0] ?? '';
    for (const account of accounts.slice(1)) {
      env.aws.principals.createRole(ROLE, {
        account,
        trust: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${caller}:root` }, Action: 'sts:AssumeRole' }] },
        policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:Describe*', 'ecr:List*', 'ecr:Get*', 'kms:Describe*', 'kms:List*', 'kms:Get*'], Resource: '*' }] }],
      });
    }
    for (const account of accounts) {
      for (const region of regions) {
        const ctx = contextIn(account, region);
        for (let i = 0; i < perTarget; i++) {
          env.ecrService.handle('CreateRepository', { repositoryName: `team-${i % 20}/service-${i}`, encryptionConfiguration: { encryptionType: 'AES256' } }, ctx);
        }
      }
    }
    const fleet = new EncryptedFleet({ clientConfig: env.aws.clientConfig(), accounts, regions, roleName: ROLE, concurrency });
    const latency = env.aws.faults.latency(latencyMs);
    const mark = env.aws.inspect.calls().length;
    collect();
    const heapBefore = process.memoryUsage().heapUsed;
    const cpu = process.cpuUsage();
    let peakHeap = heapBefore;
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakRss = Math.max(peakRss, now.rss);
    }, SAMPLE_MS);
    const started = performance.now();
    let report;
    try {
      report = unwrap(await fleet.audit({ require: 'any' }), 'fleet audit');
    } finally {
      clearInterval(sampler);
      latency.remove();
      fleet.destroy();
    }
    const wall = seconds(started);
    const cpuUsed = process.cpuUsage(cpu);
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    collect();
    const heapAfter = process.memoryUsage().heapUsed;
    const targets = accounts.length * regions.length;
    if (report.failedTargets !== 0 || report.repositories.length !== targets * perTarget) {
      throw new Error(`the fleet audit saw ${report.repositories.length} repositories with ${report.failedTargets} failed targets, expected ${targets * perTarget} and 0`);
    }
    const made = env.aws.inspect.calls().slice(mark).filter((c) => c.viaService === undefined);
    const counts: Record<string, number> = {};
    for (const call of made) counts[`${call.service}:${call.operation}`] = (counts[`${call.service}:${call.operation}`] ?? 0) + 1;
    // The fewest calls for the same report: who the caller is once, one AssumeRole per member
    // account, and per target the repositories (pages of 1000) and the registry rules read by
    // audit() (templates, pull-through cache rules, replication: one page each). AES256
    // repositories: no key, so no DescribeKey nor ListGrants.
    const minimum: Record<string, number> = {
      'sts:GetCallerIdentity': 1,
      'sts:AssumeRole': accounts.length - 1,
      'ecr:DescribeRepositories': targets * ceil(perTarget, DESCRIBE_REPOSITORIES_PAGE),
      'ecr:DescribeRepositoryCreationTemplates': targets,
      'ecr:DescribePullThroughCacheRules': targets,
      'ecr:DescribeRegistry': targets,
    };
    return { calls: made.length, counts, minimum, wall, peakHeap, peakRss, heapBefore, heapAfter, cpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6, repositories: targets * perTarget };
  } finally {
    await env.stop();
  }
};

export const orgAudit: Bench = async (sizes, log) => {
  const { accounts: accountCount, regions, repositoriesPerTarget, latencyMs, concurrency } = sizes.orgAudit;
  const accounts = accountIds(accountCount);
  const half = await auditOnce(accounts, regions, Math.max(1, Math.floor(repositoriesPerTarget / 2)), latencyMs, concurrency);
  log(`${accountCount} accounts × ${regions.length} regions × ${Math.floor(repositoriesPerTarget / 2)} repositories: ${half.calls} calls in ${half.wall.toFixed(2)} s`);
  const full = await auditOnce(accounts, regions, repositoriesPerTarget, latencyMs, concurrency);
  log(`${accountCount} accounts × ${regions.length} regions × ${repositoriesPerTarget} repositories: ${full.calls} calls in ${full.wall.toFixed(2)} s`);
  const least = Object.values(full.minimum).reduce((a, b) => a + b, 0);
  const callRatio = full.calls / least;
  const floorSeconds = (least / concurrency) * (latencyMs / 1000);
  const wallRatio = full.wall / floorSeconds;
  const MiB = 1024 * 1024;
  // Peak RSS of the process (client and emulator share it), the half-size run first: whatever the
  // first run leaves behind can only count against the full-size one. Informative in the detail:
  // the working heap (peak − live heap after, the report held), which follows the page size (up to
  // 1,000 repositories a DescribeRepositories answer), not the number of repositories.
  const working = (run: Run): number => Math.max(0, run.peakHeap - run.heapAfter);
  const memoryRatio = full.peakRss / half.peakRss;
  const detail = { accounts: accountCount, regions, repositoriesPerTarget, latencyMs, concurrency, counts: full.counts, minimum: full.minimum };
  return [
    {
      id: 'org.audit.calls',
      bench: 'orgAudit',
      label: `EncryptedFleet.audit(), ${accountCount} accounts × ${regions.length} regions × ${repositoriesPerTarget} repositories: calls`,
      value: full.calls,
      unit: 'calls',
      target: `≤ 1.1× minimum (${least})`,
      ratio: callRatio,
      pass: callRatio <= 1.1,
      detail,
    },
    {
      id: 'org.audit.wall',
      bench: 'orgAudit',
      label: `same, wall time at +${latencyMs} ms a call, ${concurrency} targets at once`,
      value: full.wall,
      unit: 's',
      target: `≤ 1.5× minimum calls ÷ ${concurrency} × ${latencyMs} ms (${floorSeconds.toFixed(2)} s)`,
      ratio: wallRatio,
      pass: wallRatio <= 1.5,
      // CPU seconds of the process (client and emulator) during the audit: close to the wall time means CPU-bound, not latency-bound.
      detail: { ...detail, floorSeconds, cpuSeconds: full.cpuSeconds },
    },
    {
      id: 'org.audit.memory',
      bench: 'orgAudit',
      label: `peak RSS during the audit, ${repositoriesPerTarget} ÷ ${Math.floor(repositoriesPerTarget / 2)} repositories a target (${full.repositories} vs ${half.repositories}; emulator in the same process)`,
      value: full.peakRss / MiB,
      unit: 'MiB',
      target: '≤ 1.1× the peak at half the repositories',
      ratio: memoryRatio,
      pass: memoryRatio <= 1.1,
      detail: {
        peakRssMiB: { half: half.peakRss / MiB, full: full.peakRss / MiB },
        workingHeapMiB: { half: working(half) / MiB, full: working(full) / MiB },
        peakHeapMiB: { half: half.peakHeap / MiB, full: full.peakHeap / MiB },
        heapBeforeMiB: { half: half.heapBefore / MiB, full: full.heapBefore / MiB },
        heapAfterMiB: { half: half.heapAfter / MiB, full: full.heapAfter / MiB },
      },
    },
  ] satisfies Figure[];
};
