import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { exemptPrincipalsOf, FREEZE_ACTIONS, freezeOf, frozenPolicy } from '../../../src/policy/freeze.js';
import { defaultJournalPath, fileJournal } from '../../../src/migration/file-journal.js';
import { memoryJournal } from '../../../src/migration/journal.js';
import { stagingNameOf } from '../../../src/migration/staging-name.js';
import { type JournalState, recordOf, stateOf } from '../../../src/migration/state.js';
import { journalFields } from '../../fixtures/journal.js';
import { validateRepositoryName } from '../../../src/validate/repository-name.js';

const state = (overrides: Partial<JournalState> = {}): JournalState =>
  journalFields({
    steps: { freeze: { status: 'done', startedAt: '2026-11-01T12:00:00.000Z', finishedAt: '2026-11-01T12:00:01.000Z', attempts: 1, durationMs: 1000 } },
    staging: { blobs: ['sha256:aa'], manifests: [] },
    ...overrides,
  });

describe('the freeze statement', () => {
  it('exempts a user by its ARN, and an assumed role by its role ARN with or without a path', () => {
    expect(exemptPrincipalsOf('arn:aws:iam::111122223333:user/dev')).toEqual(['arn:aws:iam::111122223333:user/dev']);
    expect(exemptPrincipalsOf('arn:aws-cn:sts::111122223333:assumed-role/deployer/ci-42')).toEqual([
      'arn:aws-cn:iam::111122223333:role/deployer',
      'arn:aws-cn:iam::111122223333:role/*/deployer',
    ]);
    expect(exemptPrincipalsOf('arn:aws:sts::111122223333:assumed-role/deployer/ci', 'arn:aws:iam::111122223333:role/team/deployer')[0]).toBe(
      'arn:aws:iam::111122223333:role/team/deployer',
    );
  });

  it('is added to the original policy, replaced (not duplicated) when applied again, and carries the migration id', () => {
    // Prepare
    const original = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'Pull', Effect: 'Allow', Principal: '*', Action: 'ecr:BatchGetImage' }] });

    // Act
    const once = frozenPolicy(original, 'abc123', ['arn:aws:iam::1:user/a'])._unsafeUnwrap();
    const twice = frozenPolicy(once, 'abc123', ['arn:aws:iam::1:user/a'])._unsafeUnwrap();

    // Assess
    expect(twice).toBe(once);
    const doc = JSON.parse(once) as { Statement: { Sid: string; Effect: string; Action: string[]; Condition: unknown }[] };
    expect(doc.Statement.map((s) => s.Sid)).toEqual(['Pull', 'EncryptedEcrMigrationFreezeabc123']);
    expect(doc.Statement[1]).toMatchObject({ Effect: 'Deny', Action: FREEZE_ACTIONS, Condition: { ArnNotLike: { 'aws:PrincipalArn': ['arn:aws:iam::1:user/a'] } } });
    expect(FREEZE_ACTIONS).toEqual(expect.arrayContaining(['ecr:PutImage', 'ecr:CompleteLayerUpload', 'ecr:BatchDeleteImage', 'ecr:DeleteRepository']));
    expect(freezeOf(once)).toEqual({ migrationId: 'abc123' });
    expect(freezeOf(original)).toBeNull();
    expect(freezeOf(undefined)).toBeNull();
  });

  it('stands alone when there was no policy, and refuses a policy that is not JSON', () => {
    expect(JSON.parse(frozenPolicy(undefined, 'f00', ['x'])._unsafeUnwrap())).toMatchObject({ Version: '2012-10-17', Statement: [{ Sid: 'EncryptedEcrMigrationFreezef00' }] });
    expect(frozenPolicy('not json', 'f00', ['x'])._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'repositoryPolicy' });
  });
});

describe('staging names and journal paths', () => {
  it('derives a valid ECR name of at most 256 characters from the migration id', () => {
    expect(stagingNameOf('team/app', 'a1b2c3d4e5f6')).toBe('team/app-migrating-a1b2c3d4e5f6');
    const long = `${'a'.repeat(120)}/${'b'.repeat(130)}`;
    const staging = stagingNameOf(long, 'a1b2c3d4e5f6');
    expect(staging.length).toBeLessThanOrEqual(256);
    expect(validateRepositoryName(staging).isOk()).toBe(true);
    expect(validateRepositoryName(stagingNameOf('team/app', 'a1b2c3d4e5f6')).isOk()).toBe(true);
    expect(defaultJournalPath('team/app')).toMatch(/\.encrypted-ecr-migration-team%2Fapp\.json$/);
  });
});

describe('fileJournal', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'journal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('saves atomically (no temporary file left), loads what it saved, and clears', async () => {
    // Prepare
    const path = join(dir, 'm.json');
    const journal = fileJournal(path);

    // Act + Assess
    expect((await journal.load())._unsafeUnwrap()).toBeUndefined();
    (await journal.save(recordOf(state())))._unsafeUnwrap();
    (await journal.save(recordOf(state({ updatedAt: '2026-11-01T13:00:00.000Z' }))))._unsafeUnwrap();
    expect(readdirSync(dir)).toEqual(['m.json']);
    expect((await fileJournal(path).load())._unsafeUnwrap()).toEqual(state({ updatedAt: '2026-11-01T13:00:00.000Z' }));
    (await journal.clear())._unsafeUnwrap();
    (await journal.clear())._unsafeUnwrap();
    expect(readdirSync(dir)).toEqual([]);
  });

  it('reports a torn, foreign or newer file as JournalFailed instead of guessing', async () => {
    const path = join(dir, 'm.json');
    writeFileSync(path, '{"format":"encrypted-ecr/migr');
    expect((await fileJournal(path).load())._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'load', journal: path });
    writeFileSync(path, JSON.stringify({ hello: 'world' }));
    expect((await fileJournal(path).load())._unsafeUnwrapErr()).toMatchObject({ reason: 'not an encrypted-ecr migration journal' });
    writeFileSync(path, JSON.stringify({ ...state(), version: 2 }));
    expect((await fileJournal(path).load())._unsafeUnwrapErr().reason).toMatch(/version 2/);
  });

  it('reports a directory that cannot be written as JournalFailed on save', async () => {
    const journal = fileJournal(join(dir, 'missing', 'm.json'));
    expect((await journal.save(recordOf(state())))._unsafeUnwrapErr()).toMatchObject({ kind: 'JournalFailed', operation: 'save' });
  });

  it('writes plain JSON another process can read', async () => {
    const path = join(dir, 'm.json');
    (await fileJournal(path).save(recordOf(state())))._unsafeUnwrap();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ format: 'encrypted-ecr/migration', migrationId: 'a1b2c3d4e5f6' });
  });
});

describe('memoryJournal', () => {
  it('keeps a copy, not the caller object', async () => {
    const journal = memoryJournal();
    const s = state();
    (await journal.save(recordOf(s)))._unsafeUnwrap();
    s.staging.blobs.push('sha256:bb');
    const saved = journal.snapshot();
    expect(saved === undefined ? undefined : stateOf(saved).staging.blobs).toEqual(['sha256:aa']);
    (await journal.clear())._unsafeUnwrap();
    expect((await journal.load())._unsafeUnwrap()).toBeUndefined();
  });
});
