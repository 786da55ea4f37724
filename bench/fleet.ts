/**
 * Fleet quota use: many repositories migrated concurrently through ONE registry (its rate governor
 * shared by all of them; `migrateRepositories` does not exist yet, so N `migrateRepository` calls
 * run at once) on the emulator with AWS's request-rate quotas enforced (`rateQuotas: 'aws'`) and
 * 20 ms of latency on every call. The binding quota is the API whose calls need the most seconds
 * at its quota (count ÷ quota: PutImage, 10/s, two per image and tag); `fleet.quotaUse` is the
 * rate reached on it, from its first call to its last, as a share of the quota. No throttling
 * error may reach the caller (the emulator's own ThrottlingException answers are counted apart:
 * the SDK retries them; the governor keeps them near zero).
 */
import { AWS_RATE_QUOTAS, type MigrateRepositoryError, type MigrationResult, memoryJournal } from '../src/index.js';
import type { Result } from 'neverthrow';
import { createKey, createRepository, inParallel, seedImages, startBenchAws } from './lib/env.js';
import type { Bench, Figure } from './lib/types.js';

export const fleet: Bench = async (sizes, log) => {
  const { repositories, imagesPerRepository, latencyMs } = sizes.fleet;
  const env = await startBenchAws({ rateQuotas: 'aws' });
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
    let results: Result<MigrationResult, MigrateRepositoryError>[];
    try {
      results = await Promise.all(names.map((repositoryName) => env.registry.migrateRepository({ repositoryName, encryption: { type: 'KMS', key }, journal: memoryJournal(), concurrency: 4 })));
    } finally {
      latency.remove();
    }
    const seconds = (performance.now() - started) / 1000;
    const failed = results.filter((r) => r.isErr()).map((r) => r._unsafeUnwrapErr().kind);
    const caller = env.aws.principals.default.arn;
    const served = env.aws.inspect.calls().slice(mark).filter((c) => c.principal === caller && c.viaService === undefined);
    const admitted = served.filter((c) => c.error !== 'ThrottlingException');
    const counts: Record<string, number> = {};
    for (const call of admitted) counts[`${call.service}:${call.operation}`] = (counts[`${call.service}:${call.operation}`] ?? 0) + 1;
    // The binding quota: the API whose calls need the most seconds at its quota.
    const [binding, quota] = Object.entries(AWS_RATE_QUOTAS).reduce<[string, number]>(
      (best, [api, q]) => ((counts[api] ?? 0) / q > (counts[best[0]] ?? 0) / best[1] ? [api, q] : best),
      ['ecr:PutImage', AWS_RATE_QUOTAS['ecr:PutImage'] ?? 10],
    );
    const times = admitted.filter((c) => `${c.service}:${c.operation}` === binding).map((c) => c.time.getTime());
    const span = (Math.max(...times) - Math.min(...times)) / 1000;
    const rate = span > 0 ? (times.length - 1) / span : 0;
    const throttledAnswers = served.length - admitted.length;
    const throttledErrors = failed.filter((kind) => kind === 'Throttled').length;
    log(`${results.length - failed.length}/${results.length} migrated in ${seconds.toFixed(1)} s; ${binding}: ${times.length} calls at ${rate.toFixed(2)}/s (quota ${quota}/s); ${throttledAnswers} throttled answers`);
    const detail = { repositories, imagesPerRepository, latencyMs, seconds, binding, quota, bindingCalls: times.length, wholeJobRate: times.length / seconds, throttledAnswers, failed, counts };
    return [
      {
        id: 'fleet.quotaUse',
        bench: 'fleet',
        label: `${repositories} migrateRepository at once through one registry, AWS quotas enforced, +${latencyMs} ms a call: ${binding} rate ÷ quota`,
        value: rate / quota,
        unit: '× quota',
        target: '≥ 0.90× the binding quota, no throttling error surfacing',
        ratio: rate / quota,
        pass: rate / quota >= 0.9 && throttledErrors === 0 && failed.length === 0,
        detail,
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
  }
};
