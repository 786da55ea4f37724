/**
 * Adversarial migration tests (issue 12): someone else deletes, retags or migrates the repository
 * mid-way, two processes run one journal, a journal store breaks or lies. Real SDK clients over
 * HTTP against the local emulator.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { ResultAsync, okAsync } from 'neverthrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Clock, defaultJournalPath, EncryptedRegistry, fileJournal, memoryJournal, type MigrationJournal, type MigrationJournalRecord } from '../../src/index.js';
import { type JournalState, stateOf } from '../../src/migration/state.js';
import { ApiError, type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import { TEST_POLL } from '../helpers/local-aws.js';
import { settlesWithin } from '../helpers/settle.js';
import { createFullRepository, pictureOf } from '../integration/migrate-helpers.js';

describe('migration under attack (issue 12)', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let registry: EncryptedRegistry;
  let dir: string;
  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: TEST_POLL });
    dir = mkdtempSync(join(tmpdir(), 'adversarial-migration-'));
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A repository of three small images (two tagged), quick to migrate. */
  const smallRepository = async (name: string, seed: number): Promise<void> => {
    await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
    await pushImage(ecr, name, { layers: [randomBytes(2048, seed)], tags: ['v1'] });
    await pushImage(ecr, name, { layers: [randomBytes(2048, seed + 1), randomBytes(1024, seed + 2)], tags: ['v2'] });
    await pushImage(ecr, name, { layers: [randomBytes(1024, seed + 3)] });
  };

  /** A journal that runs `hook` after each save once the state matches `when`. */
  const hooked = (when: (s: JournalState) => boolean, hook: () => Promise<void>): { journal: MigrationJournal; inner: ReturnType<typeof memoryJournal> } => {
    const inner = memoryJournal();
    let fired = false;
    const journal: MigrationJournal = {
      ...inner,
      save: (record) =>
        inner.save(record).andThen(() => {
          if (fired || !when(stateOf(record))) return okAsync(undefined);
          fired = true;
          return ResultAsync.fromSafePromise(hook());
        }),
    };
    return { journal, inner };
  };

  const stagingLeftovers = (name: string): string[] =>
    (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.startsWith(`${name}-migrating-`));

  /** A migration stopped at copyToStaging (the 4th PutImage is refused), recorded in a file journal. */
  const stoppedMigration = async (name: string, seed: number): Promise<{ path: string; state: JournalState }> => {
    await createFullRepository(ecr, aws.account, name, { seed, layerBytes: 4096 });
    const path = join(dir, `${name.replace(/\//g, '-')}.json`);
    const fault = aws.faults.failNth('PutImage', 4, new ApiError('AccessDeniedException', 'not now', { status: 400 }));
    const failed = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: fileJournal(path) });
    fault.remove();
    expect(failed._unsafeUnwrapErr()).toMatchObject({ kind: 'MigrationFailed', step: 'copyToStaging' });
    return { path, state: JSON.parse(readFileSync(path, 'utf8')) as JournalState };
  };

  it('D1: says the original is gone (not "intact and frozen") when someone else deleted it mid-migration', async () => {
    // Prepare: while the copy to staging starts, the original is deleted (by the migrating principal, whom the freeze lets through).
    const name = 'adv/deleted-source';
    await smallRepository(name, 100);
    const { journal } = hooked(
      (s) => s.steps.copyToStaging?.status === 'started',
      async () => {
        await ecr.send(new DeleteRepositoryCommand({ repositoryName: name, force: true }));
      },
    );

    // Act
    const failed = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });

    // Assess
    const error = failed._unsafeUnwrapErr();
    if (error.kind !== 'MigrationFailed') throw new Error(`expected MigrationFailed, got ${error.kind}`);
    expect(error.step).toBe('copyToStaging');
    expect(error.state).not.toContain('intact');
    expect(error.state).not.toContain('frozen (');
    expect(error.state).toContain(`${name} does not exist`);
    expect(error.state).toContain('may be lost');
    expect(error.observed).toEqual({ repository: 'absent', originalFrozen: undefined, staging: 'present' });
  });

  it('D13: a tag moved after the snapshot by another session of the migrating role stops the migration before the original is deleted', async () => {
    // Prepare: `latest` (mutable by exclusion) moves from the index to the legacy image after the snapshot.
    const name = 'adv/retagged';
    await createFullRepository(ecr, aws.account, name, { seed: 31, layerBytes: 4096 });
    const before = await pictureOf(ecr, name);
    const [indexDigest] = Object.entries(before.images).find(([, i]) => i.tags.includes('latest')) ?? [];
    const [legacyDigest, legacy] = Object.entries(before.images).find(([, i]) => i.tags.includes('legacy')) ?? [];
    const { journal } = hooked(
      (s) => s.steps.copyToStaging?.status === 'started',
      async () => {
        await ecr.send(
          new PutImageCommand({ repositoryName: name, imageManifest: legacy?.manifest, imageManifestMediaType: legacy?.mediaType, imageTag: 'latest' }),
        );
      },
    );

    // Act
    const failed = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal });

    // Assess: stopped, the original (with the moved tag) not deleted.
    const error = failed._unsafeUnwrapErr();
    expect(error).toMatchObject({
      kind: 'MigrationFailed',
      step: 'deleteOriginal',
      cause: { kind: 'CopyVerificationFailed', repositoryName: name, tagMismatches: [{ tag: 'latest', expected: indexDigest, actual: legacyDigest }] },
    });
    if (error.kind !== 'MigrationFailed') throw new Error('unreachable');
    expect(error.state).toContain('changed after the snapshot');
    const now = await pictureOf(ecr, name);
    expect(now.arn).toBe(before.arn);
    expect(now.images[legacyDigest ?? '']?.tags).toEqual(['latest', 'legacy']);
  });

  it('D2: of two migrations started at once, exactly one runs; the other gets MigrationInProgress and leaves nothing behind', async () => {
    // Prepare
    const name = 'adv/racing';
    await smallRepository(name, 200);
    const before = await pictureOf(ecr, name);
    const journals = [memoryJournal(), memoryJournal()] as const;
    const other = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: TEST_POLL });

    // Act
    const results = await Promise.all([
      registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: journals[0] }),
      other.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: journals[1] }),
    ]);
    other.destroy();

    // Assess
    const winners = results.filter((r) => r.isOk());
    const losers = results.flatMap((r) => (r.isErr() ? [r.error] : []));
    expect(winners).toHaveLength(1);
    expect(losers).toMatchObject([{ kind: 'MigrationInProgress', repositoryName: name, foundIn: 'repositoryPolicy', migrationId: winners[0]?._unsafeUnwrap().migrationId }]);
    expect(journals.map((j) => j.snapshot())).toEqual([undefined, undefined]);
    expect(stagingLeftovers(name)).toEqual([]);
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual(before.settings);
    expect(after.encryption.type).toBe('KMS');
  });

  /** A registry whose ECR client awaits `hook` before every call is sent and after it is answered. */
  const hookedRegistry = (
    hook: (command: string) => Promise<void>,
    poll: { initialDelayMs: number; maxDelayMs: number; timeoutMs: number } = TEST_POLL,
    clock?: Clock,
  ): { readonly registry: EncryptedRegistry; readonly destroy: () => void } => {
    const client = new ECRClient(aws.clientConfig());
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const command = (context as { commandName?: string }).commandName ?? '';
        await hook(`before:${command}`);
        const output = await next(args);
        await hook(`after:${command}`);
        return output;
      },
      { step: 'initialize', name: 'adversarialHook' },
    );
    const r = new EncryptedRegistry({ clients: { ecr: client }, clientConfig: aws.clientConfig(), poll, ...(clock ? { clock } : {}) });
    return {
      registry: r,
      destroy: () => {
        r.destroy();
        client.destroy();
      },
    };
  };

  it('D2: a rival whose freeze is overwritten after it read its own back stops, and never undoes the winner\'s freeze', async () => {
    // Prepare: A is about to write its freeze when B writes its own and reads it back; then A writes (last writer wins).
    // Every hand-over waits for the other side's observed call (bounded by real time, 20 s), never
    // for a fixed time: on a loaded machine A's write could land after B's claim had settled (B's
    // pause is real time), and B then went on migrating.
    const name = 'adv/interleaved';
    await smallRepository(name, 300);
    const before = await pictureOf(ecr, name);
    const HAND_OVER_MS = 20_000;
    const bounded = (event: Promise<unknown>): Promise<unknown> => {
      let timer: NodeJS.Timeout | undefined;
      return Promise.race([event, new Promise((resolve) => (timer = setTimeout(resolve, HAND_OVER_MS)))]).finally(() => clearTimeout(timer));
    };
    let bReadBack: () => void = () => undefined;
    const bHasReadBack = new Promise<void>((resolve) => (bReadBack = resolve));
    let aWrote: () => void = () => undefined;
    const aHasWritten = new Promise<void>((resolve) => (aWrote = resolve));
    let bWrote = false;
    // B's pause before it reads its claim again (the time a rival's write on its way has to land)
    // ends once A's write has landed.
    const bClock: Clock = { now: () => new Date(), sleep: () => bounded(aHasWritten).then(() => undefined) };
    const b = hookedRegistry(
      (command) => {
        if (command === 'after:SetRepositoryPolicyCommand') bWrote = true;
        else if (bWrote && command.startsWith('after:')) bReadBack();
        return Promise.resolve();
      },
      { initialDelayMs: 250, maxDelayMs: 500, timeoutMs: 5000 },
      bClock,
    );
    const bJournal = memoryJournal();
    let bResult: ReturnType<EncryptedRegistry['migrateRepository']> | undefined;
    let aWrites = 0;
    const a = hookedRegistry(async (command) => {
      if (command === 'before:SetRepositoryPolicyCommand' && aWrites++ === 0) {
        bResult = b.registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: bJournal });
        await bounded(bHasReadBack);
      } else if (command === 'after:SetRepositoryPolicyCommand' && aWrites === 1) {
        aWrote();
        // Keep A's freeze in place until B has looked again (else A may finish, and restore the
        // original policy, before B's second read: a different interleaving, tested nowhere here).
        await bounded(Promise.resolve(bResult));
      }
    });

    // Act
    const aResult = await a.registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: memoryJournal() });
    const bOutcome = await bResult;
    a.destroy();
    b.destroy();

    // Assess: A (last writer) ran to the end; B stopped at its claim and left nothing.
    expect(aResult._unsafeUnwrap()).toMatchObject({ changed: true });
    expect(bOutcome?._unsafeUnwrapErr()).toMatchObject({ kind: 'MigrationInProgress', foundIn: 'repositoryPolicy', migrationId: aResult._unsafeUnwrap().migrationId });
    expect(bJournal.snapshot()).toBeUndefined();
    expect(stagingLeftovers(name)).toEqual([]);
    const after = await pictureOf(ecr, name);
    expect(after.images).toEqual(before.images);
    expect(after.settings).toEqual(before.settings);
  });

  it('journal lock: of two resumes of one file journal one runs, the other names the lock owner; a dead owner\'s lock is taken over, another host\'s is not', async () => {
    // Prepare
    const name = 'adv/locked';
    const { path } = await stoppedMigration(name, 41);
    const lockPath = `${path}.lock`;

    // Act + Assess: another host holds it.
    writeFileSync(lockPath, JSON.stringify({ pid: 1, hostname: 'elsewhere.example', startedAt: '2026-01-01T00:00:00.000Z', token: 'other' }));
    expect((await registry.resumeMigration({ journal: fileJournal(path) }))._unsafeUnwrapErr()).toMatchObject({
      kind: 'MigrationInProgress',
      foundIn: 'journalLock',
      repositoryName: name,
      owner: { pid: 1, hostname: 'elsewhere.example' },
    });
    // A dead process of this host held it: taken over.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    writeFileSync(lockPath, JSON.stringify({ pid: dead, hostname: hostname(), startedAt: '2026-01-01T00:00:00.000Z', token: 'dead' }));
    // Two resumes at once: one runs, the other is refused naming this process.
    const results = await Promise.all([registry.resumeMigration({ journal: fileJournal(path) }), registry.resumeMigration({ journal: fileJournal(path) })]);
    const refused = results.flatMap((r) => (r.isErr() ? [r.error] : []));
    expect(results.filter((r) => r.isOk())).toHaveLength(1);
    expect(refused).toMatchObject([{ kind: 'MigrationInProgress', foundIn: 'journalLock', owner: { pid: process.pid, hostname: hostname() } }]);
    expect(existsSync(lockPath)).toBe(false);
    expect(existsSync(path)).toBe(false);
    expect(stagingLeftovers(name)).toEqual([]);
  });

  it('D3: a journal whose save rejects or throws mid-copy settles with JournalFailed instead of hanging', { timeout: 120_000 }, async () => {
    /**
     * When the broken save happened: the migration must settle within seconds of it, however loaded
     * the machine is before. 20 s: a hang never settles, and a loaded 2-core machine unwinds the
     * copies in flight in well under that.
     */
    let brokeAt: number | undefined;
    const settled = <T>(run: PromiseLike<T>): Promise<T> => settlesWithin(run, () => brokeAt, 20_000);
    const failing = (nth: number, how: 'reject' | 'throw'): MigrationJournal => {
      const inner = memoryJournal();
      let calls = 0;
      brokeAt = undefined;
      return {
        ...inner,
        save: (state) => {
          calls++;
          if (calls !== nth) return inner.save(state);
          brokeAt = Date.now();
          if (how === 'throw') throw new Error('the store is gone');
          return new ResultAsync(Promise.reject(new Error('the store is gone')));
        },
      };
    };
    for (const [index, how] of (['reject', 'throw'] as const).entries()) {
      // Prepare: the 10th save falls in the copy to staging (blob and manifest progress).
      const name = `adv/broken-journal-${how}`;
      await smallRepository(name, 400 + index * 10);

      // Act
      const result = await settled(registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: failing(10, how) }));

      // Assess
      const error = result._unsafeUnwrapErr();
      expect(error).toMatchObject({ kind: 'MigrationFailed', cause: { kind: 'JournalFailed', operation: 'save' } });
      expect(error.kind === 'MigrationFailed' && error.cause.kind === 'JournalFailed' ? error.cause.reason : '').toContain('the store is gone');
      // On its very first save: nothing changed at all.
      const other = `${name}-first`;
      await smallRepository(other, 500 + index * 10);
      const before = await pictureOf(ecr, other);
      expect((await settled(registry.migrateRepository({ repositoryName: other, encryption: { type: 'KMS' }, journal: failing(1, how) })))._unsafeUnwrapErr()).toMatchObject({
        kind: 'JournalFailed',
        operation: 'save',
      });
      expect(await pictureOf(ecr, other)).toEqual(before);
    }
  });

  it('D4: a journal that parses but has a wrong inner type anywhere is JournalFailed, never a throw or a hang', { timeout: 120_000 }, async () => {
    // Prepare: a real journal, and every field of it corrupted in turn with every other JSON type.
    const { state } = await stoppedMigration('adv/schema', 43);
    const valid = { ...state, completedAt: undefined, final: { ...state.final, createdAt: state.startedAt, verifiedAt: state.startedAt } } as unknown as JournalState;
    const wrongs: unknown[] = [5, 'x', null, true, [], {}];
    const kindOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
    const paths: (string | number)[][] = [];
    const walk = (value: unknown, path: (string | number)[]): void => {
      if (path.length > 0) paths.push(path);
      if (Array.isArray(value)) value.slice(0, 2).forEach((v, i) => walk(v, [...path, i]));
      else if (typeof value === 'object' && value !== null) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
    };
    walk(JSON.parse(JSON.stringify(valid)), []);
    // Optional fields the journal above lacks.
    paths.push(['completedAt'], ['final', 'repositoryArn'], ['snapshot', 'images', 0, 'subject']);
    const corrupt = (path: (string | number)[], wrong: unknown): unknown => {
      const copy = JSON.parse(JSON.stringify(valid)) as Record<string | number, unknown>;
      let at: Record<string | number, unknown> = copy;
      for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
      at[path[path.length - 1] ?? ''] = wrong;
      return copy;
    };
    const accepted: string[] = [];
    let checked = 0;

    // Act
    for (const path of paths) {
      const original = path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], JSON.parse(JSON.stringify(valid)));
      for (const wrong of wrongs) {
        // Absent optional fields are strings when present.
        if (kindOf(wrong) === (original === undefined ? 'string' : kindOf(original))) continue;
        const value = corrupt(path, wrong);
        const journal: MigrationJournal = { description: `corrupt ${path.join('.')}`, load: () => okAsync(value as MigrationJournalRecord), save: () => okAsync(undefined), clear: () => okAsync(undefined) };
        const result = await registry.resumeMigration({ journal });
        checked++;
        if (!result.isErr() || result.error.kind !== 'JournalFailed') accepted.push(`${path.join('.')} = ${JSON.stringify(wrong)}`);
      }
    }
    // The review's examples, through a file journal.
    for (const [path, wrong] of [
      [['snapshot', 'images'], 5],
      [['original', 'settings'], null],
      [['to'], null],
      [['staging', 'blobs'], 'x'],
    ] as const) {
      const file = join(dir, 'corrupt.json');
      writeFileSync(file, JSON.stringify(corrupt([...path], wrong)));
      expect((await registry.resumeMigration({ journal: fileJournal(file) }))._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load' });
    }

    // Assess
    expect(checked).toBeGreaterThan(300);
    expect(accepted).toEqual([]);
  });

  it('D5: a forged completedAt is checked against the repositories: not reported as success, the journal kept', async () => {
    // Prepare: a migration stopped at copyToStaging, its journal forged to say it completed.
    const name = 'adv/forged';
    const { path, state } = await stoppedMigration(name, 47);
    const forged = {
      ...state,
      completedAt: new Date().toISOString(),
      steps: Object.fromEntries(Object.keys({ ...state.steps, verifyStaging: 1, deleteOriginal: 1, recreate: 1, copyBack: 1, verifyFinal: 1, restoreSettings: 1, deleteStaging: 1, createStaging: 1, copyToStaging: 1 }).map((k) => [k, { status: 'done', startedAt: state.startedAt, attempts: 1 }])),
    };
    writeFileSync(path, JSON.stringify(forged));

    // Act
    const result = await registry.resumeMigration({ journal: fileJournal(path) });

    // Assess
    const error = result._unsafeUnwrapErr();
    expect(error).toMatchObject({ kind: 'JournalFailed' });
    if (error.kind !== 'JournalFailed') throw new Error('unreachable');
    expect(error.reason).toContain('still carries a migration freeze statement');
    expect(error.reason).toContain(`staging ${state.stagingRepositoryName} still exists`);
    expect(existsSync(path)).toBe(true);
    // completedAt alone, with steps unfinished, is refused by the schema.
    writeFileSync(path, JSON.stringify({ ...state, completedAt: new Date().toISOString() }));
    const refused = (await registry.resumeMigration({ journal: fileJournal(path) }))._unsafeUnwrapErr();
    expect(refused.kind === 'JournalFailed' ? refused.reason : refused.kind).toContain('completedAt');
    expect(existsSync(path)).toBe(true);
  });

  it('D14: a journal in a missing directory is JournalFailed before any AWS change, with no resume hint', async () => {
    // Prepare
    const name = 'adv/nowhere';
    await smallRepository(name, 600);
    const before = await pictureOf(ecr, name);
    const mark = aws.inspect.calls().length;

    // Act
    const result = await registry.migrateRepository({ repositoryName: name, encryption: { type: 'KMS' }, journal: fileJournal(join(dir, 'missing', 'j.json')) });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed' });
    const writes = aws.inspect.calls().slice(mark).filter((c) => /^(Put|Set|Create|Delete|Tag|Untag|Update|Initiate|Upload|Complete)/.test(c.operation));
    expect(writes.map((c) => c.operation)).toEqual([]);
    expect(await pictureOf(ecr, name)).toEqual(before);
  });

  it('D15: default journal names are one per repository, and an old-style journal of the repository is still found', () => {
    // Prepare
    const here = mkdtempSync(join(dir, 'names-'));

    // Act + Assess
    expect(defaultJournalPath('team/app', here)).not.toBe(defaultJournalPath('team_app', here));
    expect(defaultJournalPath('a/b_c', here)).not.toBe(defaultJournalPath('a_b/c', here));
    const legacy = join(here, '.migration-journal-team_app.json');
    writeFileSync(legacy, JSON.stringify({ format: 'encrypted-ecr/migration', repositoryName: 'team/app' }));
    expect(defaultJournalPath('team/app', here)).toBe(legacy);
    expect(defaultJournalPath('team_app', here)).not.toBe(legacy);
  });
});
