/**
 * The journal's schema: every field of a journal is checked on load, whoever stored it. A journal
 * is data from disk or from a user's store; nothing in it is trusted until it has the shape this
 * library writes (a wrong inner type would otherwise throw, or hang a copy, far from where it was
 * read).
 */
import { err, ok, type Result } from 'neverthrow';
import { MIGRATION_STEPS, type JournalFailed } from '../errors.js';
import { JOURNAL_FORMAT, JOURNAL_VERSION, type JournalState } from './state.js';

export const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause));

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Answers what is wrong with `value` at `path`, or `undefined` when it fits. */
type Check = (value: unknown, path: string) => string | undefined;

const typeName = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);
const str: Check = (v, p) => (typeof v === 'string' ? undefined : `${p} must be a string, not ${typeName(v)}`);
const nonEmpty: Check = (v, p) => str(v, p) ?? ((v as string).length > 0 ? undefined : `${p} must not be empty`);
const isoTime: Check = (v, p) => str(v, p) ?? (Number.isNaN(Date.parse(v as string)) ? `${p} must be an ISO time` : undefined);
const count: Check = (v, p) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? undefined : `${p} must be a whole number, not ${typeName(v)}`);
const bool: Check = (v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, not ${typeName(v)}`);
const oneOf =
  (...values: readonly (string | number)[]): Check =>
  (v, p) =>
    values.includes(v as string) ? undefined : `${p} must be one of ${values.join(', ')}`;
const matches =
  (pattern: RegExp, what: string): Check =>
  (v, p) =>
    str(v, p) ?? (pattern.test(v as string) ? undefined : `${p} must be ${what}`);
/** Absent is fine (JSON drops `undefined`); `null` is not. */
const optional =
  (check: Check): Check =>
  (v, p) =>
    v === undefined ? undefined : check(v, p);
const arrayOf =
  (check: Check): Check =>
  (v, p) => {
    if (!Array.isArray(v)) return `${p} must be an array, not ${typeName(v)}`;
    for (let i = 0; i < v.length; i++) {
      const problem = check(v[i], `${p}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
/** The named fields are checked; others are left alone (a newer minor version may add some). */
const object =
  (shape: Readonly<Record<string, Check>>): Check =>
  (v, p) => {
    if (!isRecord(v)) return `${p} must be an object, not ${typeName(v)}`;
    for (const [key, check] of Object.entries(shape)) {
      const problem = check(v[key], `${p}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
const recordOf =
  (keys: readonly string[], check: Check): Check =>
  (v, p) => {
    if (!isRecord(v)) return `${p} must be an object, not ${typeName(v)}`;
    for (const [key, value] of Object.entries(v)) {
      if (!keys.includes(key)) return `${p} has an unknown key ${key}`;
      const problem = check(value, `${p}.${key}`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };

const strings = arrayOf(str);
const digests = arrayOf(nonEmpty);
const encryption = object({ type: oneOf('AES256', 'KMS', 'KMS_DSSE'), keyArn: optional(nonEmpty), awsManagedKey: optional(bool) });
const settingsCheck = object({
  repositoryPolicy: optional(str),
  lifecyclePolicy: optional(str),
  scanOnPush: bool,
  imageTagMutability: oneOf('MUTABLE', 'IMMUTABLE', 'MUTABLE_WITH_EXCLUSION', 'IMMUTABLE_WITH_EXCLUSION'),
  imageTagMutabilityExclusionFilters: strings,
  tags: arrayOf(object({ Key: str, Value: str })),
  awsTagKeys: strings,
});
const stepRecord = object({
  status: oneOf('started', 'done'),
  startedAt: isoTime,
  finishedAt: optional(isoTime),
  attempts: count,
  durationMs: optional(count),
});
const copyRecord = object({
  repositoryArn: optional(nonEmpty),
  createdAt: optional(isoTime),
  blobs: digests,
  manifests: digests,
  verifiedAt: optional(isoTime),
});
const graphImage = object({
  digest: nonEmpty,
  tags: strings,
  pushedAt: optional(isoTime),
  status: oneOf('ACTIVE', 'ARCHIVED', 'ACTIVATING'),
  mediaType: optional(str),
  artifactMediaType: optional(str),
  sizeInBytes: optional(count),
  manifest: optional(str),
  children: digests,
  parents: digests,
  subject: optional(nonEmpty),
  referrers: digests,
  blobs: digests,
});
const graphCheck = object({
  repositoryName: str,
  takenAt: isoTime,
  images: arrayOf(graphImage),
  archived: digests,
  blobs: arrayOf(object({ digest: nonEmpty, size: optional(count), mediaType: optional(str), usedBy: digests })),
  externalBlobs: digests,
  totalBytes: count,
  blobsOfUnknownSize: count,
  danglingReferences: arrayOf(object({ from: nonEmpty, to: nonEmpty, relation: oneOf('child', 'subject') })),
  mediaTypes: strings,
});
/** Migration ids go into a policy `Sid` (alphanumeric) and a repository name (lower case). */
const migrationIdCheck = matches(/^[a-z0-9]{1,64}$/, 'lower-case letters and digits (at most 64)');

const journalCheck = object({
  migrationId: migrationIdCheck,
  region: nonEmpty,
  account: nonEmpty,
  repositoryName: nonEmpty,
  stagingRepositoryName: nonEmpty,
  startedAt: isoTime,
  updatedAt: isoTime,
  completedAt: optional(isoTime),
  from: encryption,
  to: encryption,
  exemptPrincipals: arrayOf(nonEmpty),
  original: object({ repositoryArn: str, createdAt: isoTime, settings: settingsCheck }),
  lifecyclePausedAt: optional(isoTime),
  steps: recordOf(MIGRATION_STEPS, stepRecord),
  snapshot: optional(graphCheck),
  staging: copyRecord,
  final: copyRecord,
  warnings: arrayOf(object({ code: nonEmpty, message: str })),
});

/** What is wrong with a journal value (every field, every inner type), or `undefined`. */
const journalProblem = (value: unknown): string | undefined => {
  if (!isRecord(value) || value.format !== JOURNAL_FORMAT) return 'not an encrypted-ecr migration journal';
  if (value.version !== JOURNAL_VERSION) return `journal version ${String(value.version)} is not supported (this library writes version ${JOURNAL_VERSION})`;
  const problem = journalCheck(value, 'journal');
  if (problem !== undefined) return problem;
  // Consistency a crash cannot produce: completion is recorded only after every step is done.
  const steps = value.steps as Record<string, { status: string } | undefined>;
  if (value.completedAt !== undefined && MIGRATION_STEPS.some((step) => steps[step]?.status !== 'done')) {
    return 'journal.completedAt is set although not every step is done';
  }
  const snapshotSteps = MIGRATION_STEPS.slice(MIGRATION_STEPS.indexOf('snapshot'));
  if (value.snapshot === undefined && snapshotSteps.some((step) => steps[step]?.status === 'done')) {
    return 'journal.snapshot is missing although the snapshot step is done';
  }
  return undefined;
};

/** Checks that a value read back is a journal state this version understands, field by field. */
export const parseJournalState = (value: unknown, journal: string): Result<JournalState, JournalFailed> => {
  const problem = journalProblem(value);
  if (problem !== undefined) return err({ kind: 'JournalFailed', operation: 'load', journal, reason: problem });
  // Every field was checked above against the shape this library writes.
  return ok(value as JournalState);
};
