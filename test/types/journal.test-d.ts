import { expectTypeOf, test } from 'vitest';
import type * as api from '../../src/index.js';

test('the journal record is opaque: its fields are not part of the public types', () => {
  expectTypeOf<api.MigrationJournalRecord>().not.toHaveProperty('migrationId');
  expectTypeOf<api.MigrationJournalRecord>().not.toHaveProperty('steps');
  expectTypeOf<Parameters<api.MigrationJournal['save']>[0]>().toEqualTypeOf<api.MigrationJournalRecord>();
  // A plain object is not a record: only the library (or parseMigrationJournalRecord) makes one.
  expectTypeOf<{ format: 'encrypted-ecr/migration'; version: 1 }>().not.toMatchTypeOf<api.MigrationJournalRecord>();
});

test('the internal journal shapes are not exported', () => {
  // @ts-expect-error JournalState is internal
  type State = api.JournalState;
  // @ts-expect-error ImageGraph is internal
  type Graph = api.ImageGraph;
  // @ts-expect-error CopyRecord is internal
  type Copy = api.CopyRecord;
  // @ts-expect-error StepRecord is internal
  type Step = api.StepRecord;
  expectTypeOf<State>().toBeAny();
  expectTypeOf<Graph>().toBeAny();
  expectTypeOf<Copy>().toBeAny();
  expectTypeOf<Step>().toBeAny();
});

test('the step names are one list, and MigrationStep is derived from it', () => {
  expectTypeOf<api.MigrationStep>().toEqualTypeOf<(typeof api.MIGRATION_STEPS)[number]>();
});
