/**
 * What every operation needs from the registry: the four clients, the region, a logger and the
 * clock. Operations take a `RegistryContext` rather than the class, so each one is a plain
 * function that tests can drive directly.
 */
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { IAMClient } from '@aws-sdk/client-iam';
import type { KMSClient } from '@aws-sdk/client-kms';
import type { STSClient } from '@aws-sdk/client-sts';
import { err, type Result, type ResultAsync } from 'neverthrow';
import { type Aborted, type ErrorCategory, errorCategory, type InsecureEndpoint, isRegistryError, type SdkClientError } from '../errors.js';
import type { RegistryLogger } from '../types.js';
import type { RateGovernor } from './rate-governor.js';

/** Timing of the polls that wait for eventually consistent state (KMS grants). */
export interface PollSettings {
  /** First pause, in milliseconds. */
  readonly initialDelayMs: number;
  /** Longest single pause. */
  readonly maxDelayMs: number;
  /** Give up after waiting this long in total. */
  readonly timeoutMs: number;
}

/** Not exported from the package: operations are reached through `EncryptedRegistry`. */
export interface RegistryContext {
  readonly ecr: ECRClient;
  readonly kms: KMSClient;
  readonly iam: IAMClient;
  readonly sts: STSClient;
  readonly logger: RegistryLogger;
  /** The region the clients talk to; resolved once. */
  readonly region: () => ResultAsync<string, SdkClientError>;
  /** Set when a configured endpoint is unsafe: every operation returns it before any AWS call. */
  readonly transportError: InsecureEndpoint | undefined;
  /** `EncryptedRegistryOptions.allowInsecureHttp`: plain `http://` to any host (layer downloads included). */
  readonly allowInsecureHttp?: boolean;
  readonly poll: PollSettings;
  /** The registry's clock (`EncryptedRegistryOptions.clock`): every pause of the library goes through it. */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now: () => Date;
  /** The running operation's `signal`: every AWS call checks it first and passes it to the SDK. */
  readonly signal?: AbortSignal | undefined;
  /** The registry's rate governor (`EncryptedRegistryOptions.rateQuotas`), shared by all its operations; absent when turned off. */
  readonly rate?: RateGovernor | undefined;
  /**
   * ECR and KMS clients for another region of the same credentials, made (once per region) and
   * destroyed with the registry; absent when you passed your own clients (the library cannot
   * know how to make them). Used for replicas in other regions of the same account.
   */
  readonly regionClients?: ((region: string) => { readonly ecr: ECRClient; readonly kms: KMSClient }) | undefined;
}

/** A pause that ends at `ms`, or as soon as `signal` fires (at once when it already has). */
const abortableSleep = (sleep: (ms: number, signal?: AbortSignal) => Promise<void>, ms: number, signal: AbortSignal): Promise<void> => {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    sleep(ms, signal).then(done, done);
  });
};

/**
 * The context of one operation run: `signal` reaches every AWS call (see `awsCall`) and cuts every
 * pause short, so an abort stops the operation at its next call with `Aborted`.
 */
export const scopedTo = (ctx: RegistryContext, signal: AbortSignal | undefined): RegistryContext => {
  if (signal === undefined) return ctx;
  // The properties are copied as they are, so clients made on first use (getters) stay lazy: a
  // spread would make every one of them.
  const scoped = Object.defineProperties({}, Object.getOwnPropertyDescriptors(ctx)) as RegistryContext;
  return Object.assign(scoped, { signal, sleep: (ms: number) => abortableSleep(ctx.sleep, ms, signal) });
};

export const silentLogger: RegistryLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
};

/**
 * Every operation of `EncryptedRegistry`, by the name it runs under (`Aborted.operation`), with
 * whether an ok result of it stands when its signal fired while it ran: `true` when success means
 * it ran to the end (a migration checks its signal between steps); `false` when its calls after the
 * abort were not sent and what it reports (findings, warnings, sweeps) is partial, so it answers
 * `Aborted`. The registry runs only the names of this table ({@link OperationName}), so a new
 * operation cannot be added without deciding.
 */
export const OPERATIONS = {
  createEncryptedRepository: { okStandsWhenAborted: false },
  preflight: { okStandsWhenAborted: false },
  doctor: { okStandsWhenAborted: false },
  deleteRepository: { okStandsWhenAborted: false },
  findOrphanedGrants: { okStandsWhenAborted: false },
  retireOrphanedGrants: { okStandsWhenAborted: false },
  audit: { okStandsWhenAborted: false },
  ensureCreationTemplate: { okStandsWhenAborted: false },
  listCreationTemplates: { okStandsWhenAborted: false },
  planMigration: { okStandsWhenAborted: false },
  migrateRepository: { okStandsWhenAborted: true },
  resumeMigration: { okStandsWhenAborted: true },
  migrateRepositories: { okStandsWhenAborted: false },
} as const satisfies Readonly<Record<string, { readonly okStandsWhenAborted: boolean }>>;

/** The name of an operation of `EncryptedRegistry` (a key of {@link OPERATIONS}). */
export type OperationName = keyof typeof OPERATIONS;

/**
 * Whether an error of a category says what state the run left, and so is kept as it is even when
 * the signal fired: `partial` (something was done, something was not) and `interrupted` (`Aborted`
 * itself). One entry per category of {@link ERROR_KINDS}: a new category cannot be left out.
 */
export const STATE_LEFT_BY_CATEGORY: { readonly [C in ErrorCategory]: boolean } = {
  usage: false,
  notFound: false,
  conflict: false,
  permissions: false,
  key: false,
  retryable: false,
  partial: true,
  interrupted: true,
  unexpected: false,
};
const reportsStateLeft = (error: unknown): boolean => isRegistryError(error) && STATE_LEFT_BY_CATEGORY[errorCategory(error)];

/**
 * What an operation answers when its signal fired while it ran: `Aborted`, since its calls after
 * the abort were not sent and what it reports (findings, warnings, sweeps) is partial; except an
 * error that says what state the run left, and an operation whose ok result means it finished
 * (see {@link OPERATIONS}).
 */
export const abortedUnlessSettled = <T, E>(name: OperationName, signal: AbortSignal, result: Result<T, E>): Result<T, E | Aborted> => {
  if (!signal.aborted) return result;
  if (result.isOk()) return OPERATIONS[name].okStandsWhenAborted ? result : err({ kind: 'Aborted', operation: name });
  return reportsStateLeft(result.error) ? result : err({ kind: 'Aborted', operation: name });
};
