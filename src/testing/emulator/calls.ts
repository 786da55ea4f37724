/** The emulator's call log: every HTTP call and every call ECR makes to KMS in process. */

/** One call, as `inspect.calls()` lists it. */
export interface CallRecord {
  /** The signing name: `kms`, `ecr`, `iam`, `sts`, or `http` for plain routes (layer downloads). */
  readonly service: string;
  /** The action, e.g. `CreateGrant`; for plain routes `GET /path`. */
  readonly operation: string;
  /** The caller's ARN (`ecr.<region>.amazonaws.com` for ECR's own KMS calls); undefined when unauthenticated. */
  readonly principal: string | undefined;
  readonly region: string | undefined;
  readonly status: number;
  /** The error code answered, if any. */
  readonly error?: string;
  /** Set when a service called on the caller's behalf (`ecr.<region>.amazonaws.com`). */
  readonly viaService?: string;
  /** The VPC endpoint the call came through, when the client sent it to that endpoint's URL. */
  readonly sourceVpce?: string;
  readonly time: Date;
  /** Milliseconds from the request's arrival to its answer; absent for the calls ECR makes in process. */
  readonly durationMs?: number;
}

/** The calls, with counts. */
export interface CallList extends ReadonlyArray<CallRecord> {
  /** Counts per `service:Operation` (e.g. `kms:CreateGrant`) or per principal ARN. */
  countBy(key: 'operation' | 'principal'): Readonly<Record<string, number>>;
}

/** A filter for `inspect.calls()`. */
export interface CallFilter {
  readonly service?: string;
  readonly operation?: string;
  readonly principal?: string;
}

/** Appends and lists calls. */
export class CallLog {
  readonly #records: CallRecord[] = [];
  readonly #onCall: ((record: CallRecord) => void) | undefined;

  /** `onCall` hears every call as it is logged (`encrypted-ecr local --log-requests`). */
  constructor(onCall?: (record: CallRecord) => void) {
    this.#onCall = onCall;
  }

  add(record: CallRecord): void {
    this.#records.push(record);
    this.#onCall?.(record);
  }

  list(filter: CallFilter = {}): CallList {
    const selected = this.#records.filter(
      (r) =>
        (filter.service === undefined || r.service === filter.service) &&
        (filter.operation === undefined || r.operation === filter.operation) &&
        (filter.principal === undefined || r.principal === filter.principal),
    );
    const countBy = (key: 'operation' | 'principal'): Readonly<Record<string, number>> => {
      const counts: Record<string, number> = {};
      for (const r of selected) {
        const name = key === 'operation' ? `${r.service}:${r.operation}` : (r.principal ?? 'anonymous');
        counts[name] = (counts[name] ?? 0) + 1;
      }
      return counts;
    };
    return Object.assign(selected, { countBy });
  }
}
