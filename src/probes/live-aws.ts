/**
 * Throwaway probes of a REAL AWS account: the AWS behaviours the library relies on that no local
 * test can prove (docs/aws-behaviour.md lists them; each observation carries its ledger id).
 * Used by `npm run test:aws` and `encrypted-ecr doctor --live`; tested against the emulator.
 *
 * What it creates, and always removes in `finally`: repositories named
 * `encrypted-ecr-probe-<random>-…` (deleted with `force`), holding one image of a few bytes. The
 * KMS key is the one given, else the AWS-managed `aws/ecr` key (no paid key is created). The only
 * grants it ever retires are those constrained (`aws:ecr:arn`) to one of its own repositories.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import {
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeRepositoriesCommand,
  type ECRClient,
  InitiateLayerUploadCommand,
  SetRepositoryPolicyCommand,
} from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { GrantListEntry, KMSClient } from '@aws-sdk/client-kms';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { ResultAsync } from 'neverthrow';
import { type RegistryContext, silentLogger } from '../internal/context.js';
import { DEFAULT_POLL, pollUntil, systemClock } from '../internal/wait.js';
import { ecrRepositoryArnOf } from '../grants/rules.js';
import { listAllGrants, retireGrant } from '../steps/kms-grants.js';
import { describeKey } from '../steps/kms-keys.js';
import { getCallerIdentity } from '../steps/sts.js';
import { MEDIA_TYPES, pushImage } from '../testing/images.js';

/** Static credentials (an assumed role's). */
export interface ProbeCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** The clients a probe run uses; the factory makes them for the default credentials or those given. */
export interface ProbeClients {
  readonly ecr: ECRClient;
  readonly kms: KMSClient;
  readonly sts: STSClient;
  readonly iam: IAMClient;
}

/** Options of {@link runLiveProbes}. */
export interface LiveProbeOptions {
  /** The region the clients talk to (the repositories' and the key's). */
  readonly region: string;
  /** Builds clients of one region: default credentials when called without, else the role's. Clients are destroyed after use. */
  readonly clients: (credentials?: ProbeCredentials) => ProbeClients;
  /** The KMS key (any reference form); default the AWS-managed `aws/ecr` key. */
  readonly kmsKey?: string;
  /** A role the caller may assume that lacks `kms:RetireGrant`: enables the `ecr.delete-without-retire-grant` probe. */
  readonly noRetireRoleArn?: string;
  /** Name prefix; default `encrypted-ecr-probe-<8 hex>`. Must start with `encrypted-ecr-probe-`. */
  readonly prefix?: string;
  /** How long to wait for grants to appear or go (AWS: "usually less than five minutes"). Default 5 min. */
  readonly grantWaitMs?: number;
  /** Pause between ListGrants polls. Default 2 s. */
  readonly pollIntervalMs?: number;
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/** One observation: what AWS did, what the library expects (docs/aws-behaviour.md), and whether they agree. */
export interface Observation {
  readonly id: string;
  readonly observed: unknown;
  readonly expected: unknown;
  /** `null`: not observed (skipped, or a step before it failed). */
  readonly agrees: boolean | null;
  readonly note?: string;
}

/** The observations report: one entry per ledger item id. */
export interface LiveReport {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly region: string | undefined;
  readonly account: string | undefined;
  readonly callerArn: string | undefined;
  readonly prefix: string;
  readonly keyArn: string | undefined;
  readonly observations: Readonly<Record<string, Observation>>;
  readonly cleanup: {
    readonly repositoriesDeleted: readonly string[];
    readonly grantsRetired: readonly string[];
    /** What could not be removed: a repository still there, or a grant of a probe repository still listed. */
    readonly leftovers: readonly string[];
  };
  /** A failure that stopped the probes early (the observations after it are `agrees: null`). */
  readonly error?: string;
}

/** The ledger items the probes observe, in the order they run. */
export const LIVE_PROBE_IDS = [
  'ecr.kms-key-echo',
  'kms.ecr-grants-shape',
  'kms.grant-visibility-delay',
  'ecr.layer-part-size',
  'ecr.manifest-byte-exact',
  'ecr.policy-resource-refused',
  'ecr.delete-without-retire-grant',
  'ecr.delete-retires-grants',
] as const;
type LiveProbeId = (typeof LIVE_PROBE_IDS)[number];

const PROBE_PREFIX = 'encrypted-ecr-probe-';
const MIB = 1024 * 1024;
/** AWS: "usually less than five minutes" for grants to be consistent. */
const GRANT_CONSISTENCY_MS = 5 * 60_000;

/** The SDK error as data: name, message, and ECR's `kmsError` when present. */
const errorOf = (e: unknown): { readonly error: string; readonly message: string; readonly kmsError?: string } => {
  if (!(e instanceof Error)) return { error: 'unknown', message: String(e) };
  const kmsError = (e as { kmsError?: unknown }).kmsError;
  return { error: e.name, message: e.message, ...(typeof kmsError === 'string' ? { kmsError } : {}) };
};

/** What a grant looks like, for the report. */
const grantShape = (g: GrantListEntry): Record<string, unknown> => ({
  grantId: g.GrantId,
  name: g.Name,
  operations: [...(g.Operations ?? [])].sort(),
  granteePrincipal: g.GranteePrincipal,
  retiringPrincipal: g.RetiringPrincipal,
  constraints: g.Constraints,
  creationDate: g.CreationDate?.toISOString(),
});

/** A minimal context over the probe's clients, so the library's own steps (ListGrants paging, RetireGrant) are what runs. */
const contextOf = (clients: ProbeClients, region: string): RegistryContext => ({
  ...clients,
  logger: silentLogger,
  region: () => ResultAsync.fromSafePromise(Promise.resolve(region)),
  transportError: undefined,
  poll: DEFAULT_POLL,
  sleep: (ms, signal) => systemClock.sleep(ms, signal),
  now: () => systemClock.now(),
});

/**
 * Runs every probe and answers the report; never rejects (a failure is in `error` and in the
 * observations it left `agrees: null`). Cleanup always runs.
 *
 * @example
 * ```ts
 * const report = await runLiveProbes({ clients: () => ({ ecr, kms, sts, iam }) });
 * for (const o of Object.values(report.observations)) console.log(o.id, o.agrees);
 * ```
 */
export const runLiveProbes = async (options: LiveProbeOptions): Promise<LiveReport> => {
  const prefix = options.prefix ?? `${PROBE_PREFIX}${cryptoRandomBytes(4).toString('hex')}`;
  if (!prefix.startsWith(PROBE_PREFIX)) throw new Error(`runLiveProbes: prefix must start with ${PROBE_PREFIX}`);
  const grantWaitMs = options.grantWaitMs ?? GRANT_CONSISTENCY_MS;
  const pollMs = options.pollIntervalMs ?? 2000;
  const log = options.log ?? (() => undefined);
  const startedAt = new Date().toISOString();
  const observations: Record<string, Observation> = {};
  const observe = (id: LiveProbeId, o: Omit<Observation, 'id'>): void => {
    observations[id] = { id, ...o };
    log(`${id}: ${o.agrees === null ? 'not observed' : o.agrees ? 'agrees' : 'DISAGREES'}`);
  };
  const made: ProbeClients[] = [];
  const clientsFor = (credentials?: ProbeCredentials): ProbeClients => {
    const c = options.clients(credentials);
    made.push(c);
    return c;
  };
  const main = clientsFor();
  const created: string[] = [];
  const deleted: string[] = [];
  const retired: string[] = [];
  const leftovers: string[] = [];
  let region: string | undefined;
  let account: string | undefined;
  let callerArn: string | undefined;
  let keyArn: string | undefined;
  let failure: string | undefined;
  let ctx: RegistryContext | undefined;

  /**
   * Lists `repositoryArn`'s grants until `done(grants)` or the wait is over; answers the grants and
   * the time it took. A fixed interval (first pause = longest pause), not a growing backoff: the
   * probe measures how long grants take to show.
   */
  const waitForGrants = async (
    c: RegistryContext,
    key: string,
    repositoryArn: string,
    done: (grants: GrantListEntry[]) => boolean,
  ): Promise<{ grants: GrantListEntry[]; elapsedMs: number; settled: boolean }> => {
    const start = Date.now();
    const fixedInterval = { sleep: c.sleep, poll: { initialDelayMs: pollMs, maxDelayMs: pollMs, timeoutMs: grantWaitMs } };
    const outcome = await pollUntil(fixedInterval, () => listAllGrants(c, key).map((all) => all.filter((g) => ecrRepositoryArnOf(g) === repositoryArn)), done);
    if (outcome.isErr()) throw new Error(`ListGrants failed: ${outcome.error.kind}`);
    return { grants: outcome.value.value, elapsedMs: Date.now() - start, settled: outcome.value.done };
  };
  const createKmsRepository = async (ecr: ECRClient, name: string, kmsKey: string | undefined) => {
    const out = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: name,
        encryptionConfiguration: { encryptionType: 'KMS', ...(kmsKey !== undefined ? { kmsKey } : {}) },
      }),
    );
    created.push(name);
    const arn = out.repository?.repositoryArn;
    if (arn === undefined) throw new Error('CreateRepository answered no repository ARN');
    return { arn, kmsKey: out.repository?.encryptionConfiguration?.kmsKey };
  };

  try {
    region = options.region;
    ctx = contextOf(main, region);
    const identity = await getCallerIdentity(ctx);
    if (identity.isErr()) throw new Error(`GetCallerIdentity failed: ${identity.error.kind}`);
    account = identity.value.account;
    callerArn = identity.value.arn;
    const key = await describeKey(ctx, options.kmsKey ?? 'alias/aws/ecr');
    if (key.isErr()) throw new Error(`DescribeKey ${options.kmsKey ?? 'alias/aws/ecr'} failed: ${key.error.kind}`);
    keyArn = key.value.Arn;
    log(`probing ${region} as ${callerArn} with ${keyArn}; repositories ${prefix}-*`);

    // 1. CreateRepository with the key as given: ECR answers the key's ARN; its two grants appear.
    const repo = await createKmsRepository(main.ecr, `${prefix}-kms`, options.kmsKey);
    observe('ecr.kms-key-echo', {
      observed: { given: options.kmsKey ?? '(none: aws/ecr)', answered: repo.kmsKey },
      expected: keyArn,
      agrees: repo.kmsKey === keyArn,
    });
    const appeared = await waitForGrants(ctx, keyArn, repo.arn, (g) => g.length >= 2);
    const ecrPrincipal = `ecr.${region}.amazonaws.com`;
    const documented = appeared.grants.some(
      (g) =>
        g.GranteePrincipal === ecrPrincipal &&
        g.RetiringPrincipal === ecrPrincipal &&
        ['Decrypt', 'GenerateDataKey'].every((op) => g.Operations?.includes(op as never)),
    );
    observe('kms.ecr-grants-shape', {
      observed: { count: appeared.grants.length, grants: appeared.grants.map(grantShape) },
      expected: {
        count: 2,
        documentedGrant: { operations: ['Decrypt', 'GenerateDataKey'], granteePrincipal: ecrPrincipal, retiringPrincipal: ecrPrincipal, constraint: { 'aws:ecr:arn': repo.arn } },
        secondGrant: 'undocumented (see awsVariants.secondGrant)',
      },
      agrees: appeared.grants.length === 2 && documented,
    });
    observe('kms.grant-visibility-delay', {
      observed: { elapsedMs: appeared.elapsedMs, allVisible: appeared.settled },
      expected: { atMostMs: GRANT_CONSISTENCY_MS },
      agrees: appeared.settled && appeared.elapsedMs <= GRANT_CONSISTENCY_MS,
      note: 'measured from the CreateRepository answer to the ListGrants that showed both grants (poll interval included)',
    });

    // 2. Layer upload: the part size ECR asks for; a tiny image pushed and read back by digest.
    const upload = await main.ecr.send(new InitiateLayerUploadCommand({ repositoryName: `${prefix}-kms` }));
    observe('ecr.layer-part-size', {
      observed: { partSize: upload.partSize },
      expected: { minBytes: 5 * MIB, maxBytes: 20 * MIB, documentedQuotaBytes: 10 * MIB },
      agrees: upload.partSize !== undefined && upload.partSize >= 5 * MIB && upload.partSize <= 20 * MIB,
    });
    const image = await pushImage(main.ecr, `${prefix}-kms`, { layers: [new TextEncoder().encode('probe')], tags: ['probe'] });
    const read = await main.ecr.send(
      new BatchGetImageCommand({
        repositoryName: `${prefix}-kms`,
        imageIds: [{ imageDigest: image.digest }],
        acceptedMediaTypes: Object.values(MEDIA_TYPES).filter((t) => t.includes('manifest') || t.includes('index')),
      }),
    );
    const stored = read.images?.[0]?.imageManifest;
    observe('ecr.manifest-byte-exact', {
      observed: { sameBytes: stored === image.manifest, digest: read.images?.[0]?.imageId?.imageDigest, failures: read.failures ?? [] },
      expected: { sameBytes: true, digest: image.digest },
      agrees: stored === image.manifest && read.images?.[0]?.imageId?.imageDigest === image.digest,
    });

    // 3. A repository policy statement with `Resource`.
    const policy = {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Probe', Effect: 'Allow', Principal: { AWS: `arn:${repo.arn.split(':')[1] ?? 'aws'}:iam::${account}:root` }, Action: ['ecr:BatchGetImage'], Resource: repo.arn }],
    };
    let policyAnswer: unknown;
    try {
      await main.ecr.send(new SetRepositoryPolicyCommand({ repositoryName: `${prefix}-kms`, policyText: JSON.stringify(policy) }));
      policyAnswer = { accepted: true };
    } catch (e) {
      policyAnswer = { accepted: false, ...errorOf(e) };
    }
    observe('ecr.policy-resource-refused', {
      observed: policyAnswer,
      expected: { accepted: false, error: 'InvalidParameterException', message: "…'Invalid repository policy provided'" },
      agrees: (policyAnswer as { accepted: boolean; error?: string }).accepted === false && (policyAnswer as { error?: string }).error === 'InvalidParameterException',
    });

    // 4. DeleteRepository by a principal without kms:RetireGrant (only with a role to assume).
    if (options.noRetireRoleArn === undefined) {
      observe('ecr.delete-without-retire-grant', {
        observed: 'not observed: set ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN to a role you may assume that lacks kms:RetireGrant',
        expected: 'deleted, grants left on the key; the API answer is undocumented (see awsVariants.deleteWhenRetireFails)',
        agrees: null,
      });
    } else {
      const name = `${prefix}-noretire`;
      const target = await createKmsRepository(main.ecr, name, options.kmsKey);
      await waitForGrants(ctx, keyArn, target.arn, (g) => g.length >= 2);
      const assumed = await main.sts.send(new AssumeRoleCommand({ RoleArn: options.noRetireRoleArn, RoleSessionName: `${prefix}-noretire`.slice(0, 64) }));
      const creds = assumed.Credentials;
      if (!creds?.AccessKeyId || !creds.SecretAccessKey) throw new Error('AssumeRole answered no credentials');
      const role = clientsFor({ accessKeyId: creds.AccessKeyId, secretAccessKey: creds.SecretAccessKey, ...(creds.SessionToken ? { sessionToken: creds.SessionToken } : {}) });
      let answer: unknown;
      try {
        await role.ecr.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
        answer = { succeeded: true };
      } catch (e) {
        answer = { succeeded: false, ...errorOf(e) };
      }
      let stillThere = false;
      try {
        await main.ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }));
        stillThere = true;
      } catch (e) {
        if (!(e instanceof Error && e.name === 'RepositoryNotFoundException')) throw e;
        deleted.push(name);
      }
      // Give ECR the consistency window to retire them, should it manage to after all.
      const left = await waitForGrants(ctx, keyArn, target.arn, (g) => g.length === 0);
      observe('ecr.delete-without-retire-grant', {
        observed: { answer, repositoryDeleted: !stillThere, grantsLeft: left.grants.length },
        expected: { repositoryDeleted: true, grantsLeft: 2, answer: 'undocumented: KmsException, AccessDenied or success (awsVariants.deleteWhenRetireFails)' },
        agrees: !stillThere && left.grants.length > 0,
      });
    }
  } catch (e) {
    failure = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`stopped: ${failure}`);
  } finally {
    // Cleanup: delete every probe repository (force), then wait for ECR to retire their grants
    // and retire only what is still constrained to a probe repository's ARN.
    const c = ctx;
    for (const name of created) {
      if (deleted.includes(name)) continue;
      try {
        await main.ecr.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
        deleted.push(name);
      } catch (e) {
        if (e instanceof Error && e.name === 'RepositoryNotFoundException') deleted.push(name);
        else leftovers.push(`repository ${name}: ${errorOf(e).error}`);
      }
    }
    if (c !== undefined && keyArn !== undefined && account !== undefined && region !== undefined) {
      const key = keyArn;
      const arnOf = (name: string): string => `arn:${key.split(':')[1] ?? 'aws'}:ecr:${region}:${account}:repository/${name}`;
      for (const name of created) {
        try {
          const gone = await waitForGrants(c, key, arnOf(name), (g) => g.length === 0);
          if (name === `${prefix}-kms`) {
            observe('ecr.delete-retires-grants', {
              observed: { grantsLeft: gone.grants.length, elapsedMs: gone.elapsedMs },
              expected: { grantsLeft: 0, withinMs: GRANT_CONSISTENCY_MS },
              agrees: gone.settled,
            });
          }
          for (const grant of gone.grants) {
            if (grant.GrantId === undefined || ecrRepositoryArnOf(grant) !== arnOf(name)) continue;
            const outcome = await retireGrant(c, key, grant.GrantId);
            if (outcome.isOk()) retired.push(grant.GrantId);
            else leftovers.push(`grant ${grant.GrantId} of ${name}: ${outcome.error.kind}`);
          }
        } catch (e) {
          leftovers.push(`grants of ${name}: ${errorOf(e).message}`);
        }
      }
    }
    for (const clients of made) {
      clients.ecr.destroy();
      clients.kms.destroy();
      clients.sts.destroy();
      clients.iam.destroy();
    }
  }
  for (const id of LIVE_PROBE_IDS) {
    observations[id] ??= { id, observed: 'not observed', expected: 'see docs/aws-behaviour.md', agrees: null, ...(failure ? { note: `stopped early: ${failure}` } : {}) };
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    region,
    account,
    callerArn,
    prefix,
    keyArn,
    observations,
    cleanup: { repositoriesDeleted: deleted, grantsRetired: retired, leftovers },
    ...(failure !== undefined ? { error: failure } : {}),
  };
};

/** Why a live run would do nothing, or `undefined` when it may run. */
export const liveGate = async (
  env: Readonly<Record<string, string | undefined>>,
  resolveCredentials: () => Promise<unknown>,
): Promise<string | undefined> => {
  if (env.ENCRYPTED_ECR_LIVE_AWS !== '1') return 'ENCRYPTED_ECR_LIVE_AWS is not 1: no real AWS account is touched';
  try {
    await resolveCredentials();
    return undefined;
  } catch (e) {
    return `no AWS credentials could be resolved (${e instanceof Error ? e.message : String(e)})`;
  }
};
