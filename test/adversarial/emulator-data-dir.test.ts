/**
 * The emulator's data directory as an attacker meets it (issue 12, D8, D9, D20): a crafted
 * `state.json`, the secrets it holds, and a data directory that stops accepting writes.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startLocalAws } from '../../src/testing/index.js';
import { ObjectStore, pathInside } from '../../src/testing/emulator/ecr/storage.js';
import type { KmsForEcr } from '../../src/testing/emulator/core.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'emusec-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

const mode = (path: string): number => statSync(path).mode & 0o777;

type StateJson = { parts: { ecr: { state: { registries: Record<string, Record<string, { uuid: string; blobs: Record<string, { sealed: { file: string } }> }>> } } } };

/** A data directory holding one repository, and a victim folder beside it. */
const withRepository = async (dataDir: string): Promise<void> => {
  const aws = await startLocalAws({ dataDir });
  try {
    await new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 }).send(new CreateRepositoryCommand({ repositoryName: 'victim/path' }));
  } finally {
    await aws.stop();
  }
};

const editState = (dataDir: string, edit: (state: StateJson) => void): void => {
  const file = join(dataDir, 'state.json');
  const state = JSON.parse(readFileSync(file, 'utf8')) as StateJson;
  edit(state);
  writeFileSync(file, JSON.stringify(state));
};

describe('a crafted state.json', () => {
  it('refuses a repository uuid that climbs out of the data directory, and deletes nothing there', async () => {
    // Arrange: a victim folder beside the data directory, and a uuid that reaches it from the
    // repository's folder (<dataDir>/ecr/ecr/<account>/<region>/<uuid>).
    const dataDir = join(root, 'data');
    const victim = join(root, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious.txt'), 'keep me');
    await withRepository(dataDir);
    editState(dataDir, (state) => {
      for (const registry of Object.values(state.parts.ecr.state.registries)) for (const repository of Object.values(registry)) repository.uuid = '../../../../../victim';
    });
    // Act
    const started = await startLocalAws({ dataDir }).then(
      async (aws) => {
        // The code as it was: the uuid is trusted, and DeleteRepository removes the victim folder.
        await new ECRClient({ ...aws.clientConfig(), maxAttempts: 1 }).send(new DeleteRepositoryCommand({ repositoryName: 'victim/path', force: true })).catch(() => undefined);
        await aws.stop();
        return undefined;
      },
      (error: unknown) => error,
    );
    // Assert
    expect(existsSync(join(victim, 'precious.txt'))).toBe(true);
    expect(started).toBeInstanceOf(Error);
    expect((started as Error).message).toMatch(/uuid "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/victim" is not valid/);
  });

  it('refuses stored object paths outside the repository folder', async () => {
    const dataDir = join(root, 'data');
    await withRepository(dataDir);
    editState(dataDir, (state) => {
      for (const registry of Object.values(state.parts.ecr.state.registries)) {
        for (const repository of Object.values(registry)) repository.blobs['sha256:x'] = { sealed: { file: '../../etc/passwd' } };
      }
    });
    await expect(startLocalAws({ dataDir })).rejects.toThrow(/file "\.\.\/\.\.\/etc\/passwd" is not valid/);
  });

  it('resolves every stored path through one helper that refuses anything outside the data directory', () => {
    const dataDir = join(root, 'blobs');
    expect(pathInside(dataDir, 'ecr/111122223333/us-east-1/x/blobs/sha256-a')).toBe(join(dataDir, 'ecr/111122223333/us-east-1/x/blobs/sha256-a'));
    for (const bad of ['../outside', 'ecr/../../outside', '/etc/passwd', '', '.', 'ecr/..']) {
      expect(() => pathInside(dataDir, bad), bad).toThrow(/not inside its data directory/);
    }
    const store = new ObjectStore(dataDir, {} as KmsForEcr);
    mkdirSync(join(root, 'outside'));
    expect(() => store.remove('../outside')).toThrow(/not inside its data directory/);
    expect(existsSync(join(root, 'outside'))).toBe(true);
  });

  it('refuses a region that would name a folder elsewhere', async () => {
    await expect(startLocalAws({ regions: ['../../x'] })).rejects.toThrow(/not a region name/);
  });
});

describe('the secrets in state.json', () => {
  it('are written owner-only (0600) in a data directory created owner-only (0700)', async () => {
    const dataDir = join(root, 'new', 'data');
    const aws = await startLocalAws({ dataDir });
    try {
      await new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 }).send(new CreateKeyCommand({}));
      expect(mode(join(dataDir, 'state.json'))).toBe(0o600);
      expect(mode(dataDir)).toBe(0o700);
      expect(mode(join(root, 'new'))).toBe(0o700);
      expect(mode(join(dataDir, 'ecr'))).toBe(0o700);
      expect(readFileSync(join(dataDir, 'state.json'), 'utf8')).toContain(aws.credentials.secretAccessKey);
    } finally {
      await aws.stop();
    }
  });

  it('narrows an existing world-readable state.json, and a leftover temporary file does not pass its mode on', async () => {
    const dataDir = join(root, 'data');
    await withRepository(dataDir);
    const file = join(dataDir, 'state.json');
    chmodSync(file, 0o644);
    writeFileSync(`${file}.${process.pid}.tmp`, '', { mode: 0o644 });
    const aws = await startLocalAws({ dataDir });
    try {
      expect(mode(file)).toBe(0o600);
      await new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 }).send(new CreateKeyCommand({}));
      expect(mode(file)).toBe(0o600);
    } finally {
      await aws.stop();
    }
  });
});

describe('a data directory that stops accepting writes', () => {
  it('answers the call it applied, reports the failure once on stderr and in inspect.persistence(), and recovers', async () => {
    // Arrange: the data directory is swapped for a regular file (root ignores chmod; ENOTDIR does not).
    const dataDir = join(root, 'data');
    const aws = await startLocalAws({ dataDir });
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const kms = new KMSClient({ ...aws.clientConfig(), maxAttempts: 1 });
      renameSync(dataDir, `${dataDir}.moved`);
      writeFileSync(dataDir, 'not a directory');
      // Act (the code as it was answered 500 InternalFailure here, for a key it had created)
      const first = await kms.send(new CreateKeyCommand({}));
      const second = await kms.send(new CreateKeyCommand({}));
      // Assert: both calls answered and applied; one report.
      expect(first.KeyMetadata?.KeyId).toBeDefined();
      expect(aws.inspect.keys().map((k) => k.keyId)).toEqual(expect.arrayContaining([first.KeyMetadata?.KeyId, second.KeyMetadata?.KeyId]));
      const status = aws.inspect.persistence();
      expect(status).toMatchObject({ ok: false, failedSaves: 2, file: join(dataDir, 'state.json') });
      expect(status?.lastError).toMatch(/ENOTDIR/);
      const reports = stderr.mock.calls.map(([line]) => String(line)).filter((line) => line.includes('cannot save its state'));
      expect(reports).toHaveLength(1);
      // Recovery: the directory is back; the next call saves everything, and says so.
      rmSync(dataDir);
      renameSync(`${dataDir}.moved`, dataDir);
      await kms.send(new CreateKeyCommand({}));
      expect(aws.inspect.persistence()).toMatchObject({ ok: true, failedSaves: 2 });
      expect(stderr.mock.calls.some(([line]) => String(line).includes('works again'))).toBe(true);
      expect(readFileSync(join(dataDir, 'state.json'), 'utf8')).toContain(String(second.KeyMetadata?.KeyId));
    } finally {
      stderr.mockRestore();
      await aws.stop();
    }
  });

  it('fails the start when the data directory cannot be made (nothing has been answered yet)', async () => {
    writeFileSync(join(root, 'file'), 'x');
    await expect(startLocalAws({ dataDir: join(root, 'file', 'data') })).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});
