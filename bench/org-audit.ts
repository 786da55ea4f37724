/**
 * Organization audit: `EncryptedFleet.audit()` over many accounts × regions, each target holding
 * many repositories, with 20 ms of latency on every call. The library runs in a CHILD process
 * (`org-audit-child.ts`), served over HTTP by the emulator that stays in this one, so that the
 * wall time, the CPU seconds and the peak RSS are the client's, not the emulator's (which holds
 * and serves every repository). Three figures against their floors:
 *
 * - calls ≤ 1.1× the fewest the page limits allow for the same report (written down below, as
 *   `calls.ts` does for a migration), counted from the emulator's call log;
 * - wall time ≤ 1.5× (minimum calls ÷ allowed concurrency × latency): the fleet runs `concurrency`
 *   targets at once, each a chain of calls, so that is the time the calls take when every lane is
 *   always busy;
 * - memory flat in the number of repositories: the child's peak RSS at the full number of
 *   repositories per target ÷ the same at half of it, each on a fresh emulator (the smaller first).
 *   The fleet report holds one row per repository, so a small linear part is inherent: the detail
 *   gives it per 1,000 repositories, and the child's idle baseline (same modules, one call).
 *
 * Setup: one role per member account that trusts the caller's account; the repositories are
 * created through the emulated ECR's `handle` in process, as `audit.ts` does (the same handlers,
 * without HTTP and SigV4), in every account and region.
 */
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallContext } from '../src/testing/emulator/core.js';
import type { OrgAuditChildResult } from './org-audit-child.js';
import { runJsonChild } from './lib/child.js';
import { type BenchAws, startBenchAws } from './lib/env.js';
import { MiB, type Bench, type Figure } from './lib/types.js';

/** ECR's DescribeRepositories page limit (aws-facts §6). */
const DESCRIBE_REPOSITORIES_PAGE = 1000;
const ROLE = 'ecr-org-auditor';
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'org-audit-child.ts');

const ceil = (n: number, per: number): number => Math.max(1, Math.ceil(n / per));

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
  /** Calls of the child's first (cold) audit of the same organization. */
  readonly coldCalls: number;
  readonly counts: Record<string, number>;
  readonly minimum: Record<string, number>;
  /** What the child measured of the audit. */
  readonly child: OrgAuditChildResult;
  /** The child's peak RSS: the larger of the kernel's high-water mark and the sampled peak. */
  readonly peakRss: number;
  /** CPU seconds of this process (the emulator) while the child ran, its start-up included. */
  readonly emulatorCpuSeconds: number;
  readonly repositories: number;
  /** The idle child (same modules, one call), when asked for. */
  readonly baseline?: OrgAuditChildResult;
}

const peakOf = (r: OrgAuditChildResult): number => Math.max(r.maxRss, r.sampledPeakRss);

/**
 * One audit of `accounts` × `regions` × `perTarget` repositories on a fresh emulator, by the child
 * process; with `baseline`, the idle child first (no latency, not counted).
 */
const auditOnce = async (
  accounts: readonly string[],
  regions: readonly string[],
  perTarget: number,
  latencyMs: number,
  concurrency: number,
  baseline: boolean,
): Promise<Run> => {
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
    const { endpoint, region, credentials } = env.aws.clientConfig();
    const job = {
      endpoint,
      region,
      credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
      accounts,
      regions,
      roleName: ROLE,
      concurrency,
    };
    const idle = baseline ? await runJsonChild<OrgAuditChildResult>(CHILD, { ...job, mode: 'idle' }, ['--expose-gc']) : undefined;
    const latency = env.aws.faults.latency(latencyMs);
    const mark = env.aws.inspect.calls().length;
    const cpu = process.cpuUsage();
    let child: OrgAuditChildResult;
    try {
      child = await runJsonChild<OrgAuditChildResult>(CHILD, { ...job, mode: 'audit' }, ['--expose-gc']);
    } finally {
      latency.remove();
    }
    const cpuUsed = process.cpuUsage(cpu);
    const targets = accounts.length * regions.length;
    if (child.failedTargets !== 0 || child.repositories !== targets * perTarget) {
      throw new Error(`the fleet audit saw ${child.repositories} repositories with ${child.failedTargets} failed targets, expected ${targets * perTarget} and 0`);
    }
    // The measured (second, warm) audit's calls: those answered after it started. The first
    // audit's are all answered before it (the child awaits it), and counted apart.
    const after = env.aws.inspect.calls().slice(mark);
    const made = after.filter((c) => c.viaService === undefined && c.time.getTime() >= child.startedAt);
    const coldCalls = after.filter((c) => c.viaService === undefined && c.time.getTime() < child.startedAt).length;
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
    // The same audit twice must make the same calls: otherwise the split by time is wrong, or the
    // second audit reused something of the first (then it would not measure an audit).
    if (coldCalls !== made.length) throw new Error(`the cold audit made ${coldCalls} calls and the measured one ${made.length}: they must be equal`);
    return {
      calls: made.length,
      coldCalls,
      counts,
      minimum,
      child,
      peakRss: peakOf(child),
      emulatorCpuSeconds: (cpuUsed.user + cpuUsed.system) / 1e6,
      repositories: targets * perTarget,
      ...(idle !== undefined ? { baseline: idle } : {}),
    };
  } finally {
    await env.stop();
  }
};

export const orgAudit: Bench = async (sizes, log) => {
  const { accounts: accountCount, regions, repositoriesPerTarget, latencyMs, concurrency } = sizes.orgAudit;
  const accounts = accountIds(accountCount);
  const halfPerTarget = Math.max(1, Math.floor(repositoriesPerTarget / 2));
  const describe = (run: Run, perTarget: number): string =>
    `${accountCount} accounts × ${regions.length} regions × ${perTarget} repositories: ${run.calls} calls in ${run.child.wallSeconds.toFixed(2)} s ` +
    `(child ${run.child.cpuSeconds.toFixed(2)} CPU s, emulator ${run.emulatorCpuSeconds.toFixed(2)} CPU s; the cold first audit ` +
    `${(run.child.cold?.wallSeconds ?? 0).toFixed(2)} s, ${(run.child.cold?.cpuSeconds ?? 0).toFixed(2)} CPU s), child peak RSS ${(run.peakRss / MiB).toFixed(0)} MiB`;
  // The smaller first, on a fresh emulator each: nothing the first run leaves can count against the second.
  const half = await auditOnce(accounts, regions, halfPerTarget, latencyMs, concurrency, true);
  log(describe(half, halfPerTarget));
  const full = await auditOnce(accounts, regions, repositoriesPerTarget, latencyMs, concurrency, false);
  log(describe(full, repositoriesPerTarget));
  const least = Object.values(full.minimum).reduce((a, b) => a + b, 0);
  const callRatio = full.calls / least;
  const floorSeconds = (least / concurrency) * (latencyMs / 1000);
  const wallRatio = full.child.wallSeconds / floorSeconds;
  const coldWall = full.child.cold?.wallSeconds ?? 0;
  const memoryRatio = full.peakRss / half.peakRss;
  // The linear part: what 1,000 more repositories add to the child's peak RSS, and to its live
  // heap with the report held (heap after − heap before the audit).
  const moreRepositories = (full.repositories - half.repositories) / 1000;
  const reportHeap = (run: Run): number => run.child.heapAfter - run.child.heapBefore;
  const rssPer1000 = moreRepositories > 0 ? (full.peakRss - half.peakRss) / moreRepositories / MiB : 0;
  const reportHeapPer1000 = moreRepositories > 0 ? (reportHeap(full) - reportHeap(half)) / moreRepositories / MiB : 0;
  const baselineRss = half.baseline === undefined ? 0 : peakOf(half.baseline);
  const working = (run: Run): number => Math.max(0, run.child.peakHeap - run.child.heapAfter);
  const detail = { accounts: accountCount, regions, repositoriesPerTarget, latencyMs, concurrency, counts: full.counts, minimum: full.minimum };
  return [
    {
      id: 'org.audit.calls',
      bench: 'orgAudit',
      label: `EncryptedFleet.audit() in a child process, ${accountCount} accounts × ${regions.length} regions × ${repositoriesPerTarget} repositories: calls`,
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
      label: `same, the child's wall time for the audit at +${latencyMs} ms a call, ${concurrency} targets at once`,
      value: full.child.wallSeconds,
      unit: 's',
      target: `≤ 1.5× minimum calls ÷ ${concurrency} × ${latencyMs} ms (${floorSeconds.toFixed(2)} s)`,
      ratio: wallRatio,
      pass: wallRatio <= 1.5,
      // CPU seconds of the client (the child) during the audit, and of the emulator (this process)
      // meanwhile: a client CPU close to the wall time means CPU-bound, not latency-bound.
      detail: {
        ...detail,
        floorSeconds,
        clientCpuSeconds: full.child.cpuSeconds,
        emulatorCpuSeconds: full.emulatorCpuSeconds,
        half: { wallSeconds: half.child.wallSeconds, clientCpuSeconds: half.child.cpuSeconds, emulatorCpuSeconds: half.emulatorCpuSeconds },
      },
    },
    {
      id: 'org.audit.coldWall',
      bench: 'orgAudit',
      label: `same, the child's first audit in a fresh process (V8 compiles the code on first use: a fixed cost, informative)`,
      value: coldWall,
      unit: 's',
      ratio: coldWall / floorSeconds,
      detail: {
        floorSeconds,
        calls: full.coldCalls,
        clientCpuSeconds: full.child.cold?.cpuSeconds,
        // What the first audit costs above the measured one: the fixed start-up cost.
        fixedSeconds: coldWall - full.child.wallSeconds,
        half: half.child.cold,
      },
    },
    {
      id: 'org.audit.memory',
      bench: 'orgAudit',
      label:
        `the child's peak RSS during the audit, ${repositoriesPerTarget} ÷ ${halfPerTarget} repositories a target ` +
        `(${full.repositories} vs ${half.repositories}; the report holds a row each: +${rssPer1000.toFixed(1)} MiB per 1,000; idle child ${(baselineRss / MiB).toFixed(0)} MiB)`,
      value: full.peakRss / MiB,
      unit: 'MiB',
      target: '≤ 1.1× the peak at half the repositories',
      ratio: memoryRatio,
      pass: memoryRatio <= 1.1,
      detail: {
        peakRssMiB: { half: half.peakRss / MiB, full: full.peakRss / MiB },
        maxRssMiB: { half: half.child.maxRss / MiB, full: full.child.maxRss / MiB },
        sampledPeakRssMiB: { half: half.child.sampledPeakRss / MiB, full: full.child.sampledPeakRss / MiB },
        // The child that only loads the same modules and makes one call: most of the peak is this.
        baselineRssMiB: baselineRss / MiB,
        rssBeforeAuditMiB: { half: half.child.rssBefore / MiB, full: full.child.rssBefore / MiB },
        // What 1,000 repositories more add: to the peak RSS, and to the live heap with the report held.
        peakRssMiBPer1000Repositories: rssPer1000,
        reportHeapMiBPer1000Repositories: reportHeapPer1000,
        reportHeapMiB: { half: reportHeap(half) / MiB, full: reportHeap(full) / MiB },
        workingHeapMiB: { half: working(half) / MiB, full: working(full) / MiB },
        peakHeapMiB: { half: half.child.peakHeap / MiB, full: full.child.peakHeap / MiB },
        heapBeforeMiB: { half: half.child.heapBefore / MiB, full: full.child.heapBefore / MiB },
        heapAfterMiB: { half: half.child.heapAfter / MiB, full: full.child.heapAfter / MiB },
      },
    },
  ] satisfies Figure[];
};
