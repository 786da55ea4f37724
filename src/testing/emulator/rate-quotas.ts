/**
 * Request-rate quotas in the emulator (`startLocalAws({ rateQuotas: 'aws' })`): calls beyond an
 * API's quota per account and Region answer `ThrottlingException`, as AWS does.
 *
 * What AWS documents: quotas are "requests per second" per account and Region, each API counted
 * on its own (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html,
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html: "in each
 * one-second interval"; throttling.html: "if users in your account submit 1000 DescribeKey requests
 * in a second, AWS KMS throttles all subsequent DescribeKey requests in that second"). What it does
 * not: whether the second is fixed or sliding, whether a burst above the rate is tolerated, whether
 * throttled requests count.
 *
 * GUESS: the emulator counts the calls it let through in a SLIDING one-second window (on the
 * emulator's clock): the strictest of those readings, so a client that passes here passes a fixed
 * window and a token bucket of the same rate too. Throttled calls do not count. Calls ECR makes to
 * KMS on the caller's behalf (its CreateGrant and RetireGrant) are not counted (AWS counts them;
 * not modelled).
 */
import { AWS_RATE_QUOTAS } from '../../internal/rate-quotas.js';
import { ApiError, type Clock } from './core.js';

/** `'aws'`: AWS's documented defaults (`AWS_RATE_QUOTAS`); or your own table keyed `'<service>:<Operation>'`, in requests per second. */
export type EmulatorRateQuotas = 'aws' | Readonly<Record<string, number>>;

const WINDOW_MS = 1_000;

/** The messages AWS answers: KMS's is documented (throttling.html); ECR's is a GUESS. */
const throttlingError = (service: string): ApiError =>
  service === 'iam' || service === 'sts'
    ? new ApiError('Throttling', 'Rate exceeded', { status: 400 })
    : new ApiError('ThrottlingException', service === 'kms' ? 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.' : 'Rate exceeded', { status: 400 });

/** Checks the table before the emulator starts (a test bug otherwise). */
export const resolveRateQuotas = (given: EmulatorRateQuotas | undefined): Readonly<Record<string, number>> | undefined => {
  if (given === undefined) return undefined;
  if (given === 'aws') return AWS_RATE_QUOTAS;
  if (typeof given !== 'object' || given === null) throw new Error(`startLocalAws: rateQuotas must be 'aws' or an object of quotas (got ${String(given)})`);
  for (const [api, quota] of Object.entries(given)) {
    if (!/^[a-z]+:[A-Z][A-Za-z]+$/.test(api)) throw new Error(`startLocalAws: rateQuotas key "${api}" must be '<service>:<Operation>', e.g. 'ecr:PutImage'`);
    if (typeof quota !== 'number' || !(quota > 0)) throw new Error(`startLocalAws: rateQuotas["${api}"] must be a number above 0 (got ${String(quota)})`);
  }
  return given;
};

/** The emulator's quota keeper: one sliding window per API per account and Region. */
export class RateQuotaKeeper {
  readonly #quotas: Readonly<Record<string, number>>;
  readonly #clock: Clock;
  readonly #admitted = new Map<string, number[]>();

  constructor(quotas: Readonly<Record<string, number>>, clock: Clock) {
    this.#quotas = quotas;
    this.#clock = clock;
  }

  /** Counts one call; answers the error to send instead when it is over the quota. */
  admit(service: string, operation: string, account: string, region: string): ApiError | undefined {
    const quota = this.#quotas[`${service}:${operation}`];
    if (quota === undefined) return undefined;
    const key = `${account}/${region}/${service}:${operation}`;
    const now = this.#clock.now().getTime();
    // A fractional quota (KMS's 0.25/s) allows one call in a window of 1/quota seconds.
    const window = quota < 1 ? WINDOW_MS / quota : WINDOW_MS;
    const times = this.#admitted.get(key) ?? [];
    let first = 0;
    while (first < times.length && (times[first] ?? 0) <= now - window) first += 1;
    if (first > 0) times.splice(0, first);
    if (times.length >= Math.max(1, Math.floor(quota))) return throttlingError(service);
    times.push(now);
    this.#admitted.set(key, times);
    return undefined;
  }
}
