/**
 * The journal as users see it (issue 14): an opaque, versioned record, read back checked; what a
 * journal says, without its internal shape; journals written before the record became opaque.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errAsync, okAsync } from 'neverthrow';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EncryptedRegistry,
  fileJournal,
  memoryJournal,
  type MigrationJournal,
  parseMigrationJournalRecord,
  readMigrationJournal,
  serializeMigrationJournalRecord,
} from '../../../src/index.js';

/** Written by the journal code as it was before the record became opaque (format v1). */
const V1_FIXTURE = new URL('../../data/migration/journal-v1.json', import.meta.url);
const v1Text = (): string => readFileSync(V1_FIXTURE, 'utf8');

describe('the migration journal record', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-record-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a v1 journal file written before the record became opaque, and writes it back byte for byte', async () => {
    // Prepare
    const path = join(dir, 'team-app.json');
    copyFileSync(V1_FIXTURE, path);

    // Act
    const record = parseMigrationJournalRecord(v1Text(), path)._unsafeUnwrap();
    const loaded = (await fileJournal(path).load())._unsafeUnwrap();
    (await fileJournal(path).save(record))._unsafeUnwrap();

    // Assess
    expect(serializeMigrationJournalRecord(record)).toBe(v1Text());
    expect(loaded).toEqual(record);
    expect(readFileSync(path, 'utf8')).toBe(v1Text());
  });

  it('says what a journal records: its migration, the steps done and where a resume goes on', async () => {
    // Act
    const summary = (await readMigrationJournal(fileJournal(V1_FIXTURE.pathname)))._unsafeUnwrap();

    // Assess
    expect(summary).toEqual({
      version: 1,
      migrationId: 'a1b2c3d4e5f6',
      region: 'eu-west-1',
      account: '111122223333',
      repositoryName: 'team/app',
      stagingRepositoryName: 'team/app-migrating-a1b2c3d4e5f6',
      from: { type: 'AES256' },
      to: { type: 'KMS', keyArn: 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab', awsManagedKey: false },
      startedAt: '2026-11-01T12:00:00.000Z',
      updatedAt: '2026-11-01T12:00:05.000Z',
      completedAt: undefined,
      stepsDone: ['freeze', 'snapshot', 'createStaging'],
      nextStep: 'copyToStaging',
    });
    expect((await readMigrationJournal(memoryJournal()))._unsafeUnwrap()).toBeUndefined();
  });

  it('resumes from a v1 file journal: the registry loads and checks it before any AWS call', async () => {
    // Prepare: the journal's migration runs in eu-west-1; these clients are in us-east-1 (no endpoint is ever reached).
    const path = join(dir, 'team-app.json');
    copyFileSync(V1_FIXTURE, path);
    const registry = new EncryptedRegistry({ clientConfig: { region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } } });

    // Act
    const result = await registry.resumeMigration({ journal: fileJournal(path) });
    registry.destroy();

    // Assess
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'journal', reason: expect.stringContaining('runs in eu-west-1') as unknown });
  });

  it('answers JournalFailed, never a throw, for text that is not JSON, a newer version, or a wrong field', () => {
    const v1 = JSON.parse(v1Text()) as Record<string, unknown>;
    expect(parseMigrationJournalRecord('{"format":', 'j')._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load', journal: 'j' });
    expect(parseMigrationJournalRecord(JSON.stringify({ hello: 'world' }))._unsafeUnwrapErr().reason).toBe('not an encrypted-ecr migration journal');
    expect(parseMigrationJournalRecord(JSON.stringify({ ...v1, version: 2 }))._unsafeUnwrapErr().reason).toMatch(/version 2 is not supported/);
    expect(parseMigrationJournalRecord(JSON.stringify({ ...v1, staging: { blobs: 'x', manifests: [] } }))._unsafeUnwrapErr().reason).toBe(
      'journal.staging.blobs must be an array, not string',
    );
  });

  it('answers JournalFailed when a store breaks or gives back something else', async () => {
    const broken = (load: MigrationJournal['load']): MigrationJournal => ({ description: 'store', load, save: () => okAsync(undefined), clear: () => okAsync(undefined) });
    expect((await readMigrationJournal(broken(() => errAsync({ kind: 'JournalFailed', operation: 'load', journal: 'store', reason: 'gone' }))))._unsafeUnwrapErr()).toMatchObject({
      reason: 'gone',
    });
    expect(
      (await readMigrationJournal(broken(() => {
        throw new Error('the store threw');
      })))._unsafeUnwrapErr().reason,
    ).toContain('the store threw');
    expect((await readMigrationJournal(broken(() => okAsync({ hello: 'world' } as never))))._unsafeUnwrapErr()).toMatchObject({
      kind: 'JournalFailed',
      operation: 'load',
      reason: 'not an encrypted-ecr migration journal',
    });
  });
});
