/**
 * The rate governor on a hand-moved clock: which calls start when, never by waiting for real time.
 */
import { DescribeRepositoriesCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { awsCall } from '../../src/internal/aws.js';
import { RateGovernor } from '../../src/internal/rate-governor.js';
import { AWS_RATE_QUOTAS } from '../../src/internal/rate-quotas.js';
import { createRateGovernor, EncryptedFleet, EncryptedRegistry } from '../../src/index.js';
import { busiestWindow } from '../helpers/windows.js';

/** A clock whose `sleep` resolves only when `advance` moves time past its end. */
const steppedClock = () => {
  let now = 0;
  let sleepers: { at: number; resolve: () => void }[] = [];
  return {
    now: () => new Date(now),
    sleep: (ms: number) => new Promise<void>((resolve) => sleepers.push({ at: now + ms, resolve })),
    /** Moves time to `to` (ms), waking every sleeper due by then, in time order. */
    async advanceTo(to: number): Promise<void> {
      for (;;) {
        const due = sleepers.filter((s) => s.at <= to).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        now = Math.max(now, due.at);
        sleepers = sleepers.filter((s) => s !== due);
        due.resolve();
        await flush();
      }
      now = to;
    },
    pending: () => sleepers.length,
  };
};

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
};

/** Lets the SDK's middleware stacks (many promise turns, a few timers) run. */
const flushLong = async (): Promise<void> => {
  for (let i = 0; i < 20; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * Waits (real time, at most 10 s) until `count()` reaches `n`, then lets everything else that could
 * run without the clock moving run too, and answers the count. A fixed number of turns was not
 * enough on a loaded CI machine: the first call was not sent yet (CI of stop 14).
 */
const settleAt = async (count: () => number, n: number): Promise<number> => {
  const deadline = Date.now() + 10_000;
  while (count() < n && Date.now() < deadline) await new Promise<void>((resolve) => setTimeout(resolve, 5));
  await flushLong();
  await new Promise<void>((resolve) => setTimeout(resolve, 50));
  await flushLong();
  return count();
};

/**
 * Starts `n` acquisitions at once and records when (clock time) each was let through; each call's
 * answer comes back `latencyMs` later (at once by default), or `'never'`.
 */
const startMany = (governor: RateGovernor, clock: ReturnType<typeof steppedClock>, api: string, n: number, latencyMs: number | 'never' = 0): number[] => {
  const started: number[] = [];
  for (let i = 0; i < n; i += 1) {
    void governor.acquire(api).then((release) => {
      started.push(clock.now().getTime());
      if (latencyMs === 0) release();
      else if (latencyMs !== 'never') void clock.sleep(latencyMs).then(release);
    });
  }
  return started;
};


const throttling = () => new ECRServiceException({ name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });

describe('RateGovernor', () => {
  it('lets a burst up to the quota start at once, and the next call one window (1 s + 20 ms guard) after the first answer', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 10 }, clock);
    const started = startMany(governor, clock, 'ecr:PutImage', 11);
    await flush();
    expect(started).toEqual(Array<number>(10).fill(0));
    await clock.advanceTo(1_019);
    expect(started).toHaveLength(10);
    await clock.advanceTo(1_020);
    expect(started).toEqual([...Array<number>(10).fill(0), 1_020]);
  });

  it('spreads 200 concurrent calls so that no one-second window holds more than the quota, at ≥ 90% of it', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 10 }, clock);
    const started = startMany(governor, clock, 'ecr:PutImage', 200);
    await flush();
    await clock.advanceTo(60_000);
    expect(started).toHaveLength(200);
    expect(busiestWindow(started, 1_000)).toBeLessThanOrEqual(10);
    const last = Math.max(...started);
    // 200 calls at 10 per 1.02 s: the last starts after 19 windows.
    expect(last).toBe(19 * 1_020);
    expect(200 / ((last + 1_020) / 1_000)).toBeGreaterThanOrEqual(9.5);
  });

  it('counts a call from its start until one window after its answer: with 20 ms of latency, 10 calls per 1,040 ms', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 10 }, clock);
    const started = startMany(governor, clock, 'ecr:PutImage', 30, 20);
    await flush();
    await clock.advanceTo(10_000);
    expect([...new Set(started)]).toEqual([0, 1_040, 2_080]);
    expect(busiestWindow(started, 1_000)).toBeLessThanOrEqual(10);
  });

  it('never lets more calls than the limit be in flight: a call whose answer has not come back keeps its place', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 3 }, clock);
    const started = startMany(governor, clock, 'ecr:PutImage', 4, 'never');
    await flush();
    await clock.advanceTo(60_000);
    expect(started).toEqual([0, 0, 0]);
  });

  it('does not pace an API without a quota, nor one API by another', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 1 }, clock);
    const other = startMany(governor, clock, 'ecr:DescribeRepositories', 50);
    const put = startMany(governor, clock, 'ecr:PutImage', 1);
    const kms = startMany(governor, clock, 'kms:ListGrants', 50);
    await flush();
    expect([other.length, put.length, kms.length]).toEqual([50, 1, 50]);
    expect(clock.pending()).toBe(0);
  });

  it("counts ECR's two CreateGrant per CreateRepository against kms:CreateGrant (50 a second): 30 creations at once, 25 in the first window", async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'kms:CreateGrant': 50, 'kms:RetireGrant': 30 }, clock);
    const created = startMany(governor, clock, 'ecr:CreateRepository', 30);
    const deleted = startMany(governor, clock, 'ecr:DeleteRepository', 20);
    await flush();
    expect(created).toEqual(Array<number>(25).fill(0));
    expect(deleted).toEqual(Array<number>(15).fill(0));
    await clock.advanceTo(1_020);
    expect(created.filter((t) => t === 1_020)).toHaveLength(5);
    expect(deleted.filter((t) => t === 1_020)).toHaveLength(5);
  });

  it('lets a call that needs more places than a lowered limit go alone in an empty window, never blocking for ever', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'kms:RetireGrant': 30 }, clock);
    for (let i = 0; i < 5; i += 1) {
      governor.throttled('kms:RetireGrant');
      await clock.advanceTo((i + 1) * 1_020);
    }
    expect(governor.snapshot()[0]?.limit).toBe(1);
    const start = clock.now().getTime();
    const deleted = startMany(governor, clock, 'ecr:DeleteRepository', 3);
    await flush();
    expect(deleted).toEqual([start]);
    await clock.advanceTo(start + 3 * 1_020);
    expect(deleted).toEqual([start, start + 1_020, start + 2_040]);
  });

  it('halves the limit on throttling once per window, and grows back by a tenth of the quota per window after 5 s without throttling', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:UploadLayerPart': 500 }, clock);
    const limit = () => governor.snapshot().find((a) => a.api === 'ecr:UploadLayerPart')?.limit;
    governor.throttled('ecr:UploadLayerPart');
    governor.throttled('ecr:UploadLayerPart'); // the same burst: counted once
    expect(limit()).toBe(250);
    await clock.advanceTo(1_020);
    governor.throttled('ecr:UploadLayerPart');
    expect(limit()).toBe(125);
    // Quiet for less than 5 s: no growth.
    await clock.advanceTo(1_020 + 4_999);
    (await governor.acquire('ecr:UploadLayerPart'))();
    expect(limit()).toBe(125);
    await clock.advanceTo(1_020 + 5_000);
    (await governor.acquire('ecr:UploadLayerPart'))();
    expect(limit()).toBe(175);
    // At most one step per window.
    (await governor.acquire('ecr:UploadLayerPart'))();
    expect(limit()).toBe(175);
    for (let t = 1; t <= 10; t += 1) {
      await clock.advanceTo(6_020 + t * 1_020);
      (await governor.acquire('ecr:UploadLayerPart'))();
    }
    expect(limit()).toBe(500);
  });

  it('paces a lowered limit: after a throttle, 10 → 5 calls per window', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 10 }, clock);
    governor.throttled('ecr:PutImage');
    const started = startMany(governor, clock, 'ecr:PutImage', 20);
    await flush();
    await clock.advanceTo(3_000);
    expect(started.filter((t) => t === 0)).toHaveLength(5);
    expect(busiestWindow(started, 1_000)).toBeLessThanOrEqual(5);
  });

  it('ends a wait early when the call is aborted', async () => {
    const clock = {
      now: () => new Date(0),
      sleep: (_ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve())),
    };
    const governor = new RateGovernor({ 'ecr:PutImage': 1 }, clock);
    await governor.acquire('ecr:PutImage'); // never answered: the next call waits
    const abort = new AbortController();
    const calls: string[] = [];
    const pending = awsCall({ rate: governor, signal: abort.signal }, 'ecr', 'PutImage', () => {
      calls.push('sent');
      return Promise.resolve({});
    });
    abort.abort();
    expect((await pending)._unsafeUnwrapErr()).toMatchObject({ kind: 'Aborted' });
    expect(calls).toEqual([]);
  });
});

describe('awsCall with a rate governor', () => {
  it('waits for the governor before sending, and tells it when the call comes back throttled (after the SDK retries)', async () => {
    const clock = steppedClock();
    const governor = new RateGovernor({ 'ecr:PutImage': 2 }, clock);
    const sent: number[] = [];
    const call = () => {
      sent.push(clock.now().getTime());
      return Promise.reject(throttling());
    };
    const results = [1, 2, 3].map(() => awsCall({ rate: governor }, 'ecr', 'PutImage', call));
    await flush();
    expect(sent).toEqual([0, 0]);
    expect(governor.snapshot().find((a) => a.api === 'ecr:PutImage')?.limit).toBe(1);
    await clock.advanceTo(1_020);
    expect(sent).toEqual([0, 0, 1_020]);
    for (const result of results) expect((await result)._unsafeUnwrapErr()).toMatchObject({ kind: 'Throttled', service: 'ecr', operation: 'PutImage' });
  });
});

describe('AWS_RATE_QUOTAS and the rateQuotas option', () => {
  it('holds the documented defaults of the binding APIs', () => {
    expect(AWS_RATE_QUOTAS).toMatchObject({ 'ecr:PutImage': 10, 'ecr:UploadLayerPart': 500, 'ecr:InitiateLayerUpload': 100, 'kms:CreateGrant': 50, 'kms:RetireGrant': 30, 'kms:ListGrants': 100 });
  });

  it('refuses a quota keyed other than <service>:<Operation>, or not above 0, before any call', async () => {
    for (const [rateQuotas, field] of [
      [{ PutImage: 5 }, 'options.rateQuotas.PutImage'],
      [{ 'ecr:PutImage': 0 }, 'options.rateQuotas.ecr:PutImage'],
      [{ 'ecr:PutImage': '5' }, 'options.rateQuotas.ecr:PutImage'],
      [true, 'options.rateQuotas'],
    ] as const) {
      const registry = new EncryptedRegistry({ rateQuotas: rateQuotas as never, clientConfig: { region: 'us-east-1' } });
      const result = await registry.preflight({ repositoryName: 'app', encryption: { type: 'AES256' } });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field });
      registry.destroy();
    }
  });
});

describe('RateGovernor on a clock whose sleep resolves at once', () => {
  it('makes its waits instant too (a pause that ended early counts as time passed), instead of spinning', async () => {
    const frozen = new Date(0);
    let sleeps = 0;
    const instant = {
      now: () => frozen,
      sleep: () => {
        sleeps += 1;
        return Promise.resolve();
      },
    };
    const governor = new RateGovernor({ 'ecr:PutImage': 10 }, instant);
    const releases = await Promise.all(Array.from({ length: 100 }, () => governor.acquire('ecr:PutImage').then((release) => release())));
    expect(releases).toHaveLength(100);
    expect(sleeps).toBe(9);
  });
});

describe('a rate governor shared per account and Region', () => {
  const ecrMock = mockClient(ECRClient);
  const stsMock = mockClient(STSClient);
  const ACCOUNT = '111111111111';
  beforeEach(() => {
    ecrMock.reset();
    stsMock.reset();
    stsMock.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT, Arn: `arn:aws:iam::${ACCOUNT}:user/alice`, UserId: 'AIDA' });
    ecrMock.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
  });
  afterEach(() => {
    ecrMock.reset();
    stsMock.reset();
  });

  it('paces two registries given one createRateGovernor together: 1 DescribeRepositories a second between them', async () => {
    const clock = steppedClock();
    const shared = createRateGovernor({ 'ecr:DescribeRepositories': 1 }, clock);
    const registries = [1, 2].map(() => new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' }, clock, rateQuotas: shared }));
    try {
      const audits = registries.map((r) => r.audit());
      const calls = (): number => ecrMock.commandCalls(DescribeRepositoriesCommand).length;
      expect(await settleAt(calls, 1)).toBe(1);
      await clock.advanceTo(1_020);
      expect(await settleAt(calls, 2)).toBe(2);
      for (const audit of audits) expect((await audit).isOk()).toBe(true);
    } finally {
      for (const r of registries) r.destroy();
    }
  });

  it('EncryptedFleet: two sweeps at once of the same account and Region share its governor; a governor in the fleet options is InvalidInput', async () => {
    const clock = steppedClock();
    const fleet = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, clock, rateQuotas: { 'ecr:DescribeRepositories': 1 } });
    try {
      const sweeps = [fleet.audit(), fleet.audit()];
      const calls = (): number => ecrMock.commandCalls(DescribeRepositoriesCommand).length;
      expect(await settleAt(calls, 1)).toBe(1);
      await clock.advanceTo(1_020);
      expect(await settleAt(calls, 2)).toBe(2);
      for (const sweep of sweeps) expect((await sweep)._unsafeUnwrap().failedTargets).toBe(0);
    } finally {
      fleet.destroy();
    }
    const wrong = new EncryptedFleet({ clientConfig: { region: 'eu-west-1' }, rateQuotas: createRateGovernor() });
    expect((await wrong.audit())._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'options.rateQuotas' });
  });
});
