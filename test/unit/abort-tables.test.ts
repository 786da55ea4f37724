/**
 * What an abort keeps is decided in one declarative place each: per operation (`OPERATIONS`: does
 * an ok result stand?) and per error category (`STATE_LEFT_BY_CATEGORY`: does the error say what
 * state the run left?). These tests fail when the tables drift from the registry's methods or from
 * the error kinds, and show in a diff when what an abort keeps changes.
 */
import { err, ok } from 'neverthrow';
import { describe, expect, it } from 'vitest';
import { ERROR_KINDS, type RegistryError } from '../../src/errors.js';
import { EncryptedRegistry } from '../../src/index.js';
import { abortedUnlessSettled, OPERATIONS, type OperationName, STATE_LEFT_BY_CATEGORY } from '../../src/internal/context.js';

const aborted = (): AbortSignal => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

/** An error of `kind` with the fields `errorCategory` reads (a `cause` that is not `Aborted`, a client fault). */
const errorOf = (kind: string): RegistryError => ({ kind, cause: { kind: 'AccessDenied' }, fault: 'client' }) as unknown as RegistryError;

describe('the tables of what an abort keeps', () => {
  it('names every operation of EncryptedRegistry, and nothing else', () => {
    // Prepare
    const methods = Object.getOwnPropertyNames(EncryptedRegistry.prototype).filter((name) => name !== 'constructor' && name !== 'destroy');

    // Assess
    expect(Object.keys(OPERATIONS).sort()).toEqual(methods.sort());
  });

  it('lets an ok result stand after an abort only for the operations that ran to the end (the migrations of one repository)', () => {
    // Act
    const standing = (Object.keys(OPERATIONS) as OperationName[]).filter((name) => abortedUnlessSettled(name, aborted(), ok('done')).isOk());

    // Assess
    expect(standing.sort()).toEqual(['migrateRepository', 'resumeMigration']);
    expect(abortedUnlessSettled('audit', aborted(), ok('done'))._unsafeUnwrapErr()).toEqual({ kind: 'Aborted', operation: 'audit' });
  });

  it('decides for every error category of ERROR_KINDS, and for no other', () => {
    // Prepare
    const used = new Set(Object.values(ERROR_KINDS).flatMap((row) => ('unless' in row ? [row.category, row.unless.category] : [row.category])));

    // Assess
    expect(Object.keys(STATE_LEFT_BY_CATEGORY).sort()).toEqual([...used].sort());
  });

  it('keeps, after an abort, exactly the errors that say what state the run left', () => {
    // Act
    const kept = Object.keys(ERROR_KINDS).filter((kind) => {
      const error = errorOf(kind);
      return abortedUnlessSettled('deleteRepository', aborted(), err(error))._unsafeUnwrapErr() === error;
    });

    // Assess
    expect(kept.sort()).toEqual(['Aborted', 'DeletedButGrantsRemain', 'MigrationFailed', 'RepositoryPolicyRefused', 'RollbackFailed']);
    expect(abortedUnlessSettled('deleteRepository', aborted(), err(errorOf('AccessDenied')))._unsafeUnwrapErr()).toEqual({ kind: 'Aborted', operation: 'deleteRepository' });
  });
});
