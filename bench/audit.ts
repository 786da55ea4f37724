/**
 * Audit scale: a registry of many KMS repositories spread over a few customer keys (ECR makes two
 * grants per repository), swept by `findOrphanedGrants()` with no keys named, so it discovers the
 * keys itself, and audited by `audit({ require: 'cmk' })` (every repository's encryption, the keys
 * in use, their grants). Calls are counted from the emulator's log against the fewest the API's
 * page limits allow for the same answer.
 *
 * Setup: the first repositories are created over HTTP (to measure that path), the rest through the
 * emulated ECR service's own `handle` in process: the same code path minus HTTP and SigV4, so
 * 10,000 repositories take seconds, not minutes.
 */
import { callContext, createKey, createRepository, inParallel, seconds, startBenchAws } from './lib/env.js';
import { unwrap } from './lib/engine.js';
import type { Bench, Figure } from './lib/types.js';

/** KMS and ECR page limits (aws-facts §4, §6). */
const LIST_KEYS_PAGE = 1000;
const LIST_ALIASES_PAGE = 100;
const LIST_GRANTS_PAGE = 100;
const DESCRIBE_REPOSITORIES_PAGE = 1000;
const OVER_HTTP = 200;

const ceil = (n: number, per: number): number => Math.max(1, Math.ceil(n / per));

export const audit: Bench = async (sizes, log) => {
  const { repositories, keys: keyCount } = sizes.audit;
  const env = await startBenchAws();
  try {
    const keys: string[] = [];
    for (let k = 0; k < keyCount; k++) keys.push(await createKey(env.kms, `audit key ${k}`));
    const names = Array.from({ length: repositories }, (_, i) => `team-${i % 50}/service-${i}`);
    const keyOf = (i: number): string => keys[i % keys.length] ?? '';

    const viaHttp = Math.min(OVER_HTTP, Math.floor(repositories / 4));
    const httpStarted = performance.now();
    await inParallel(names.slice(0, viaHttp), 8, (name, i) => createRepository(env.ecr, name, keyOf(i)));
    const httpSeconds = seconds(httpStarted);

    const principal = env.aws.principals.default;
    const ctx = callContext(env.aws);
    const directStarted = performance.now();
    for (let i = viaHttp; i < repositories; i++) {
      env.ecrService.handle('CreateRepository', { repositoryName: names[i], encryptionConfiguration: { encryptionType: 'KMS', kmsKey: keyOf(i) } }, ctx);
    }
    const directSeconds = seconds(directStarted);
    const grants = keys.reduce((sum, key) => sum + env.aws.inspect.grants(key).length, 0);
    log(
      `created ${repositories} repositories over ${keyCount} keys (${grants} grants): ${viaHttp} over HTTP at ${(viaHttp / httpSeconds).toFixed(0)}/s, ` +
        `${repositories - viaHttp} in process at ${((repositories - viaHttp) / directSeconds).toFixed(0)}/s`,
    );

    const mark = env.aws.inspect.calls().length;
    const started = performance.now();
    const report = unwrap(await env.registry.findOrphanedGrants(), 'findOrphanedGrants');
    const wall = seconds(started);
    const made = env.aws.inspect.calls().slice(mark).filter((c) => c.principal === principal.arn);
    const counts: Record<string, number> = {};
    for (const call of made) counts[`${call.service}:${call.operation}`] = (counts[`${call.service}:${call.operation}`] ?? 0) + 1;

    const ecrGrants = report.keys.reduce((sum, k) => sum + k.ecrGrantCount, 0);
    if (report.keys.length !== keyCount || ecrGrants !== 2 * repositories) {
      throw new Error(`the sweep saw ${report.keys.length} keys and ${ecrGrants} ECR grants, expected ${keyCount} and ${2 * repositories}`);
    }
    const aliases = 0; // the emulator starts with no alias, and the bench makes none
    const minimum: Record<string, number> = {
      'sts:GetCallerIdentity': 1,
      'kms:ListKeys': ceil(keyCount, LIST_KEYS_PAGE),
      'kms:ListAliases': ceil(aliases, LIST_ALIASES_PAGE),
      // Whether a listed key is customer-managed only DescribeKey tells.
      'kms:DescribeKey': keyCount,
      'kms:ListGrants': keys.reduce((sum, key) => sum + ceil(env.aws.inspect.grants(key).length, LIST_GRANTS_PAGE), 0),
      'ecr:DescribeRepositories': ceil(repositories, DESCRIBE_REPOSITORIES_PAGE),
    };
    const least = Object.values(minimum).reduce((a, b) => a + b, 0);
    const ratio = made.length / least;
    const detail = { repositories, keys: keyCount, grants, counts, minimum, orphans: report.keys.reduce((s, k) => s + k.orphans.length, 0) };

    // audit(): the repositories (pages of 1000), each distinct key once, its grants (pages of 100).
    const auditMark = env.aws.inspect.calls().length;
    const auditStarted = performance.now();
    const audited = unwrap(await env.registry.audit({ require: 'cmk' }), 'audit');
    const auditWall = seconds(auditStarted);
    const auditMade = env.aws.inspect.calls().slice(auditMark).filter((c) => c.principal === principal.arn && c.viaService === undefined);
    const auditCounts: Record<string, number> = {};
    for (const call of auditMade) auditCounts[`${call.service}:${call.operation}`] = (auditCounts[`${call.service}:${call.operation}`] ?? 0) + 1;
    if (audited.summary.repositories !== repositories || audited.summary.keys !== keyCount || !audited.compliant) {
      throw new Error(`the audit saw ${audited.summary.repositories} repositories and ${audited.summary.keys} keys (compliant: ${String(audited.compliant)}), expected ${repositories} and ${keyCount}`);
    }
    const auditMinimum: Record<string, number> = {
      'ecr:DescribeRepositories': ceil(repositories, DESCRIBE_REPOSITORIES_PAGE),
      'kms:DescribeKey': keyCount,
      'kms:ListGrants': minimum['kms:ListGrants'] ?? 0,
      // Registry rules (issue 18): the templates, pull-through cache rules and replication, one page each.
      'ecr:DescribeRepositoryCreationTemplates': 1,
      'ecr:DescribePullThroughCacheRules': 1,
      'ecr:DescribeRegistry': 1,
      // Key posture: each posture read the audit makes, once per key at most.
      ...Object.fromEntries(
        ['kms:GetKeyRotationStatus', 'kms:GetKeyPolicy', 'kms:ListKeyRotations'].filter((api) => (auditCounts[api] ?? 0) > 0).map((api) => [api, keyCount]),
      ),
    };
    const auditLeast = Object.values(auditMinimum).reduce((a, b) => a + b, 0);
    const auditRatio = auditMade.length / auditLeast;
    const auditDetail = { repositories, keys: keyCount, grants, counts: auditCounts, minimum: auditMinimum, orphanedGrants: audited.summary.orphanedGrants };
    return [
      {
        id: 'audit.setup',
        bench: 'audit',
        label: `CreateRepository (KMS) over HTTP, concurrency 8`,
        value: viaHttp / httpSeconds,
        unit: 'repos/s',
        detail: { overHttp: viaHttp, httpSeconds, inProcess: repositories - viaHttp, inProcessSeconds: directSeconds },
      },
      {
        id: 'audit.findOrphanedGrants.time',
        bench: 'audit',
        label: `findOrphanedGrants() wall time, ${repositories} repos / ${keyCount} keys / ${grants} grants`,
        value: wall,
        unit: 's',
        detail,
      },
      {
        id: 'audit.findOrphanedGrants.calls',
        bench: 'audit',
        label: 'findOrphanedGrants() calls',
        value: made.length,
        unit: 'calls',
        target: `≤ 1.1× minimum (${least})`,
        ratio,
        pass: ratio <= 1.1,
        detail,
      },
      {
        id: 'audit.audit.time',
        bench: 'audit',
        label: `audit({ require: 'cmk' }) wall time, ${repositories} repos / ${keyCount} keys / ${grants} grants`,
        value: auditWall,
        unit: 's',
        detail: auditDetail,
      },
      {
        id: 'audit.audit.calls',
        bench: 'audit',
        label: 'audit() calls',
        value: auditMade.length,
        unit: 'calls',
        target: `≤ 1.1× minimum (${auditLeast})`,
        ratio: auditRatio,
        pass: auditRatio <= 1.1,
        detail: auditDetail,
      },
    ] satisfies Figure[];
  } finally {
    await env.stop();
  }
};
