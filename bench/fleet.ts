/**
 * Fleet quota use: one fleet migration, `registry.migrateRepositories` over every seeded repository
 * (selected by `repositoryNames`; its fleet journal and the repositories' own journals in a temporary
 * directory), at most `concurrency` repositories at once through ONE registry (its rate governor
 * shared by all of them), on the emulator with AWS's request-rate quotas enforced
 * (`rateQuotas: 'aws'`) and 20 ms of latency on every call. Every repository must come out
 * `migrated`. The binding quota is the API whose calls need the most seconds
 * at its quota (count ÷ quota: PutImage, 10/s, two per image and tag); `fleet.quotaUse` is the
 * rate reached on it, from its first call to its last, as a share of the quota. No throttling
 * error may reach the caller (the emulator's own ThrottlingException answers are counted apart:
 * the SDK retries them; the governor keeps them near zero).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AWS_RATE_QUOTAS, type RepositoriesMigrationResult } from '../src/index.js';
import { unwrap } from './lib/engine.js';
import { createKey, createRepository, inParallel, seedImages, startBenchAws } from './lib/env.js';
import type { Bench, Figure } from './lib/types.js';

/** An error as one line: its fields, a nested cause's name and message (an SDK error's own fields are noise). */
const describe = (error: object): string =>
  JSON.stringify(error, (_key, value: unknown) => (value instanceof Error ? `${value.name}: ${value.message}` : value)).slice(0, 2_000);

/** `migrateRepositories` migrates at most this many repositories at once (its `concurrency` bound). */
const MAX_REPOSITORIES_AT_ONCE = 16;

export const fleet: Bench = async (sizes, log) => {
  const { repositories, imagesPerRepository, latencyMs } = sizes.fleet;
  // The sizes ask for 25 at once (the bound of the earlier N-`migrateRepository` bench); the fleet
  // migration allows 16 at most.
  const concurrency = Math.min(sizes.fleet.concurrency, MAX_REPOSITORIES_AT_ONCE);
  const env = await startBenchAws({ rateQuotas: 'aws' });
  const dir = mkdtempSync(join(tmpdir(), 'encrypted-ecr-bench-fleet-'));
  try {
    const key = await createKey(env.kms, 'fleet target');
    const names = Array.from({ length: repositories }, (_, r) => `fleet/app-${r}`);
    await inParallel(names, 4, async (name, r) => {
      await createRepository(env.ecr, name);
      await seedImages(env.seedEcr, name, Array.from({ length: imagesPerRepository }, (_, i) => ({ layers: [8 * 1024 + i], tags: [`v${i}`] })), 1_000 + r, 2);
    });
    log(`seeded ${repositories} repositories × ${imagesPerRepository} images`);
    const latency = env.aws.faults.latency(latencyMs);
    const mark = env.aws.inspect.calls().length;
    const started = performance.now();
    const cpu = process.cpuUsage();
    let run: RepositoriesMigrationResult;
    try {
      // One fleet migration: planned first, then at most `concurrency` repositories at once, each
      // copying 4 blobs at once; a new one starts as soon as one ends.
      run = unwrap(
        await env.registry.migrateRepositories({
          encryption: { type: 'KMS', key },
          repositoryNames: names,
          journal: join(dir, 'fleet-migration.json'),
          concurrency,
          blobConcurrency: 4,
        }),
        'migrateRepositories',
      );
    } finally {
      latency.remove();
    }
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = process.cpuUsage(cpu);
    const cpuSeconds = (cpuUsed.user + cpuUsed.system) / 1e6;
    // Every repository must come out migrated: a missing outcome counts as a failure too.
    const outcomes = new Map(run.repositories.map((o) => [o.repositoryName, o] as const));
    const failed = names.flatMap((name) => {
      const outcome = outcomes.get(name);
      return outcome?.status === 'migrated' ? [] : [`${name}: ${outcome?.error === undefined ? (outcome?.status ?? 'no outcome') : describe(outcome.error)}`];
    });
    if (failed.length > 0) log(`not migrated: ${failed.join('; ')}`);
    const throttledErrors = run.repositories.filter((o) => o.error?.kind === 'Throttled').length;
    const caller = env.aws.principals.default.arn;
    const all = env.aws.inspect.calls().slice(mark);
    const served = all.filter((c) => c.principal === caller && c.viaService === undefined);
    const admitted = served.filter((c) => c.error !== 'ThrottlingException');
    const counts: Record<string, number> = {};
    for (const call of admitted) counts[`${call.service}:${call.operation}`] = (counts[`${call.service}:${call.operation}`] ?? 0) + 1;
    // ECR's own CreateGrant and RetireGrant (on the caller's behalf) count against the account's KMS
    // quotas too: they take part in choosing the binding quota.
    const onBehalf: Record<string, number> = {};
    for (const call of all.filter((c) => c.viaService !== undefined && c.service === 'kms')) onBehalf[`kms:${call.operation}`] = (onBehalf[`kms:${call.operation}`] ?? 0) + 1;
    const quotaCounts: Record<string, number> = { ...counts };
    for (const [api, n] of Object.entries(onBehalf)) quotaCounts[api] = (quotaCounts[api] ?? 0) + n;
    // The binding quota: the API whose calls need the most seconds at its quota.
    const [binding, quota] = Object.entries(AWS_RATE_QUOTAS).reduce<[string, number]>(
      (best, [api, q]) => ((quotaCounts[api] ?? 0) / q > (quotaCounts[best[0]] ?? 0) / best[1] ? [api, q] : best),
      ['ecr:PutImage', AWS_RATE_QUOTAS['ecr:PutImage'] ?? 10],
    );
    const times = admitted.filter((c) => `${c.service}:${c.operation}` === binding).map((c) => c.time.getTime());
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    const rate = span > 0 ? (times.length - 1) / span : 0;
    const throttledAnswers = served.length - admitted.length;
    log(
      `${names.length - failed.length}/${names.length} migrated in ${seconds.toFixed(1)} s (${cpuSeconds.toFixed(1)} CPU s); ${binding}: ${times.length} calls at ${rate.toFixed(2)}/s (quota ${quota}/s); ${throttledAnswers} throttled answers`,
    );
    // The seconds the binding quota needs for its calls: the job's floor. The process (client and
    // emulator share it) needing more CPU seconds than that means the run measured the CPU, not the quota.
    const quotaSeconds = times.length / quota;
    const detail = {
      repositories,
      imagesPerRepository,
      latencyMs,
      concurrency,
      seconds,
      cpuSeconds,
      quotaSeconds,
      binding,
      quota,
      bindingCalls: times.length,
      wholeJobRate: times.length / seconds,
      throttledAnswers,
      failed,
      totals: run.totals,
      plan: { estimatedSeconds: run.plan.estimatedSeconds, bindingQuota: run.plan.bindingQuota, estimatedApiCalls: run.plan.totals.estimatedApiCalls },
      counts,
      onBehalf,
    };
    return [
      {
        id: 'fleet.quotaUse',
        bench: 'fleet',
        label: `migrateRepositories of ${repositories} repositories, ${concurrency} at once, AWS quotas enforced, +${latencyMs} ms a call: ${binding} rate ÷ quota`,
        value: rate / quota,
        unit: '× quota',
        target: '≥ 0.90× the binding quota, no throttling error surfacing',
        ratio: rate / quota,
        pass: rate / quota >= 0.9 && throttledErrors === 0 && failed.length === 0,
        detail,
      },
      {
        id: 'fleet.cpu',
        bench: 'fleet',
        label: `CPU seconds of the process (client + emulator) ÷ the seconds ${binding}'s calls need at its quota (above ~0.9: CPU-bound, the figure above measures the machine)`,
        value: cpuSeconds,
        unit: 's',
        ratio: cpuSeconds / quotaSeconds,
        detail: { cpuSeconds, quotaSeconds, seconds },
      },
      {
        id: 'fleet.throttled',
        bench: 'fleet',
        label: 'ThrottlingException answers the emulator sent (retried by the SDK; none may surface)',
        value: throttledAnswers,
        unit: 'answers',
        detail: { surfaced: throttledErrors },
      },
    ] satisfies Figure[];
  } finally {
    await env.stop();
    rmSync(dir, { recursive: true, force: true });
  }
};
