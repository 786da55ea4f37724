/**
 * The fleet journal's lock (`<journal>.lock`): two `migrateRepositories` on one fleet journal never
 * run at once (the second is `JournalFailed` with the owner, before any AWS call), a plan only
 * takes no lock, the lock of a dead process of this host is taken over, one of another host is
 * not, and the lock is released however the run ends. aws-sdk-client-mock, real SDK exceptions.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeRepositoriesCommand, ECRClient, ECRServiceException } from '@aws-sdk/client-ecr';
import { KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';

const ecr = mockClient(ECRClient);
const kms = mockClient(KMSClient);
const dir = mkdtempSync(join(tmpdir(), 'fleet-lock-'));
const registry = () => new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', credentials: { accessKeyId: 'AKIA', secretAccessKey: 's' } } });
let n = 0;
const freshJournal = (): string => join(dir, `fleet-${++n}.json`);

/** A lock file as the lock writes it. */
const writeLock = (journal: string, pid: number, host: string): void =>
  writeFileSync(`${journal}.lock`, `${JSON.stringify({ pid, hostname: host, startedAt: '2026-01-01T00:00:00.000Z', token: 'abcdef0123456789' })}\n`);

/** A pid no process of this host has any more. */
const deadPid = (): number => {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
};

describe('the fleet journal lock', () => {
  beforeEach(() => {
    ecr.reset();
    kms.reset();
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [] });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a second run (and a resume) on a fleet journal in use, before any AWS call, and frees it when the first ends', async () => {
    // Prepare: the first run waits in its registry listing, holding the lock.
    const journal = freshJournal();
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    ecr.on(DescribeRepositoriesCommand).callsFake(async () => {
      await gate;
      return { repositories: [] };
    });
    const first = registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });
    // vi.waitFor gives up after 1 s by default: too little for a first SDK call on a loaded machine.
    await vi.waitFor(() => expect(ecr.calls()).toHaveLength(1), { timeout: 10_000, interval: 5 });

    // Act
    const second = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });
    const resumed = await registry().migrateRepositories({ resume: true, journal });
    const callsWhileHeld = ecr.calls().length + kms.calls().length;
    open();
    const firstResult = await first;
    const third = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });

    // Assess
    for (const refused of [second, resumed]) {
      expect(refused._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'lock', journal, owner: { pid: process.pid, hostname: hostname() } });
      expect(refused._unsafeUnwrapErr()).toHaveProperty('reason', expect.stringContaining(`in use by process ${process.pid}`) as unknown);
    }
    expect(callsWhileHeld).toBe(1);
    expect(firstResult.isOk()).toBe(true);
    expect(third.isOk()).toBe(true);
    expect(existsSync(`${journal}.lock`)).toBe(false);
  });

  it('takes over the lock of a dead process of this host', async () => {
    // Prepare
    const journal = freshJournal();
    writeLock(journal, deadPid(), hostname());

    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });

    // Assess
    expect(result.isOk()).toBe(true);
    expect(ecr.commandCalls(DescribeRepositoriesCommand)).toHaveLength(1);
    expect(existsSync(`${journal}.lock`)).toBe(false);
  });

  it('never takes over a lock of another host (its process cannot be checked from here)', async () => {
    // Prepare
    const journal = freshJournal();
    writeLock(journal, deadPid(), 'build-box-2');

    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'lock', owner: { hostname: 'build-box-2' } });
    expect(ecr.calls()).toHaveLength(0);
    expect(existsSync(`${journal}.lock`)).toBe(true);
  });

  it('plans without the lock: a plan only is not refused by a run in progress', async () => {
    // Prepare
    const journal = freshJournal();
    writeLock(journal, process.pid, hostname());

    // Act
    const plan = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal, planOnly: true });

    // Assess
    expect(plan._unsafeUnwrap().planOnly).toBe(true);
    expect(existsSync(`${journal}.lock`)).toBe(true);
  });

  it('releases the lock when the run fails', async () => {
    // Prepare
    const journal = freshJournal();
    ecr.on(DescribeRepositoriesCommand).rejects(new ECRServiceException({ name: 'AccessDeniedException', $fault: 'client', message: 'not allowed', $metadata: { httpStatusCode: 400 } }));

    // Act
    const result = await registry().migrateRepositories({ encryption: 'AES256', where: {}, journal });

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'AccessDenied' });
    expect(existsSync(`${journal}.lock`)).toBe(false);
  });
});
