/**
 * The emulator's HTTP server: routes AWS JSON 1.1 calls by `X-Amz-Target`, Query calls by
 * `Action`, and anything else to plain routes; verifies SigV4; applies faults; logs every call;
 * renders errors in each protocol's shape so the SDK raises the modeled exception.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, type CallContext, type Clock, type JsonService, type Principal, type RawRoute } from './core.js';
import type { CallLog } from './calls.js';
import type { FaultDecision, Faults } from './faults.js';
import type { IamStore } from './iam.js';
import type { QueryService } from './iam-sts.js';
import type { RateQuotaKeeper } from './rate-quotas.js';
import { uuid } from './ids.js';
import { bodyLimit, declaredLength, readBody, sendAndClose, tooLarge } from './http-body.js';
import { jsonAuthError, jsonError, JSON_TYPE, queryAuthError, queryErrorAnswer, reportExchange, send, type Answer, type Exchange } from './server-wire.js';
import { checkSigV4Headers, parseAuthorization, verifySigV4Payload, type SigV4Failure, type SigV4HeaderCheck } from './sigv4.js';
import { queryResponse } from './xml.js';
import { Input, QUERY_WORDS } from './input.js';
import { queryInput, rejectInvalidRequest } from './request-validation.js';
import type { RestJsonService } from './organizations.js';

/** When the request being served arrived (`performance.now()`), for the call log's `durationMs`. */
const requestStart = new AsyncLocalStorage<number>();

/** What the server dispatches to. */
export interface ServerDeps {
  readonly iam: IamStore;
  readonly clock: Clock;
  /** The clock `X-Amz-Date` is checked against, and the `Date` header of every answer. */
  readonly requestClock: Clock;
  readonly regions: readonly string[];
  readonly jsonServices: () => readonly JsonService[];
  /** AWS JSON services on REST routes (AWS Account `POST /listRegions`). */
  readonly restJsonServices?: () => readonly RestJsonService[];
  /**
   * Regions the accounts have not enabled (opt-in regions): calls signed for them answer as AWS
   * does, `UnrecognizedClientException` (JSON) or `InvalidClientTokenId` (STS), before anything else.
   */
  readonly disabledRegions?: readonly string[];
  readonly queryServices: readonly QueryService[];
  readonly routes: () => readonly RawRoute[];
  readonly faults: Faults;
  readonly calls: CallLog;
  /** Request-rate quotas (`startLocalAws({ rateQuotas })`): answers the throttling error for a call over its quota. */
  readonly rateQuotas?: RateQuotaKeeper | undefined;
  /** Called after every call that may have changed state (persistence). */
  readonly afterCall: () => void;
  /** Called when a `stopDuring` fault fires. */
  readonly onFaultStop: () => void;
  /**
   * Set for a server that stands for a VPC endpoint: it answers only calls signed for
   * `signingName`, and marks them as coming through `id` (`CallContext.sourceVpce`).
   */
  readonly vpcEndpoint?: { readonly id: string; readonly signingName: string };
}

/**
 * How far `X-Amz-Date` may be from the emulator's clock, either way. AWS answers "Signature expired:
 * … (… - 15 min.)" for ECR, IAM and STS (public issue reports; AWS documents only that "in most
 * cases" a request must arrive within five minutes). KMS has been reported with "- 5 min." too: the
 * emulator uses 15 minutes for every service, so the stricter window is not modelled.
 */
const SIGNATURE_WINDOW_MS = 15 * 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const internalError = (error: unknown): ApiError =>
  new ApiError('InternalFailure', `The local AWS emulator failed: ${error instanceof Error ? error.message : String(error)}`, { status: 500 });

/** One HTTP server, restartable on the same port. */
export class EmulatorServer {
  readonly #deps: ServerDeps;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #port = 0;

  constructor(deps: ServerDeps) {
    this.#deps = deps;
  }

  get port(): number {
    return this.#port;
  }

  get running(): boolean {
    return this.#server !== undefined;
  }

  /** Listens on 127.0.0.1 (`port` 0 picks a free one; later starts reuse the same port). */
  async start(port: number = this.#port): Promise<void> {
    if (this.#server) return;
    const server = createServer((req, res) => {
      void this.#serve(req, res);
    });
    server.keepAliveTimeout = 5_000;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    this.#port = typeof address === 'object' && address !== null ? address.port : port;
    this.#server = server;
  }

  /** Stops listening and cuts every open connection. */
  async stop(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    this.#server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await closed;
  }

  #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return requestStart.run(performance.now(), () => this.#serveTimed(req, res));
  }

  async #serveTimed(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = uuid();
    // AWS's Date header is its clock: SDK clients correct their clock skew from it.
    res.setHeader('date', this.#deps.requestClock.now().toUTCString());
    try {
      const target = req.headers['x-amz-target'];
      const contentType = String(req.headers['content-type'] ?? '');
      const rest = this.#restJsonRoute(req);
      if (typeof target === 'string' && target !== '') {
        await this.#serveJson(req, res, target, requestId);
      } else if (rest !== undefined) {
        await this.#serveJsonAction(req, res, rest.service, rest.action, requestId, [], 'application/json');
      } else if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded') && !(req.url ?? '').startsWith('/v2/')) {
        // (A registry upload sent by `curl -d` carries this content type too: /v2/ is never a Query call.)
        await this.#serveQuery(req, res, requestId);
      } else {
        // Plain routes read (or stream) the request body themselves.
        await this.#serveRaw(req, res, requestId);
      }
    } catch (error) {
      // Never leave a call hanging, nor answer an empty 500.
      if (!res.headersSent && !res.destroyed) send(res, jsonError(internalError(error), requestId));
      else res.destroy();
    }
  }

  #log(service: string, operation: string, principal: Principal | undefined, region: string | undefined, status: number, error?: string): void {
    const started = requestStart.getStore();
    this.#deps.calls.add({
      service,
      operation,
      principal: principal?.arn,
      region,
      status,
      ...(error !== undefined ? { error } : {}),
      ...this.#through(),
      time: this.#deps.clock.now(),
      ...(started !== undefined ? { durationMs: Math.round(performance.now() - started) } : {}),
    });
  }

  /** The VPC endpoint a call on this server comes through, as `CallContext` fields. */
  #through(): { readonly sourceVpce?: string } {
    const endpoint = this.#deps.vpcEndpoint;
    return endpoint === undefined ? {} : { sourceVpce: endpoint.id };
  }

  /** A VPC endpoint serves one service: a call for another never reaches it in AWS (its DNS name is the service's). */
  #wrongEndpoint(signingName: string): ApiError | undefined {
    const endpoint = this.#deps.vpcEndpoint;
    if (endpoint === undefined || endpoint.signingName === signingName) return undefined;
    return new ApiError(
      'UnknownOperationException',
      `The local AWS emulator's VPC endpoint ${endpoint.id} serves ${endpoint.signingName}, not ${signingName}: send ${signingName} calls to aws.endpoint or to an endpoint of that service.`,
      { status: 404 },
    );
  }

  /** The header stage of authentication (nothing of the body is read yet). */
  #checkHeaders(req: IncomingMessage, requiredSignedHeaders: readonly string[]): SigV4HeaderCheck {
    return checkSigV4Headers(req.headers, (accessKeyId) => this.#deps.iam.resolveAccessKey(accessKeyId), this.#deps.requestClock.now(), {
      requiredSignedHeaders,
      maxSkewMs: SIGNATURE_WINDOW_MS,
    });
  }

  /**
   * Reads a body of at most `limit` bytes (refusing a larger `content-length` before reading any of
   * it), then finishes authentication: the body's hash in the signature. Answers the caller, or the
   * refusal to send (`undefined` body: too large).
   */
  async #readAndVerify(
    req: IncomingMessage,
    checked: Extract<SigV4HeaderCheck, { ok: true }>,
    limit: number,
  ): Promise<{ readonly body: Buffer; readonly principal: Principal; readonly region: string; readonly service: string } | SigV4Failure | 'tooLarge'> {
    const length = declaredLength(req.headers);
    if (length !== undefined && length > limit) return 'tooLarge';
    const body = await readBody(req, limit);
    if (body === undefined) return 'tooLarge';
    const failure = verifySigV4Payload({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body }, checked, this.#deps.clock.now());
    if (failure !== undefined) return failure;
    const resolved = this.#deps.iam.resolveAccessKey(checked.auth.accessKeyId);
    if (resolved === undefined) return { kind: 'unknownKey', accessKeyId: checked.auth.accessKeyId };
    return { body, principal: resolved.principal, region: checked.auth.region, service: checked.auth.service };
  }

  /** Applies a fault's delay and drop/stop timing around `run`; answers false when the call was cut. */
  async #withFaults(res: ServerResponse, decision: FaultDecision, timing: 'before' | 'after'): Promise<boolean> {
    if (timing === 'before' && decision.delayMs > 0) await sleep(decision.delayMs);
    if (decision.drop === timing) {
      res.socket?.destroy();
      return false;
    }
    if (decision.stop === timing) {
      res.socket?.destroy();
      this.#deps.onFaultStop();
      return false;
    }
    return true;
  }

  async #serveJson(req: IncomingMessage, res: ServerResponse, target: string, requestId: string): Promise<void> {
    const dot = target.lastIndexOf('.');
    const prefix = dot < 0 ? target : target.slice(0, dot);
    const action = dot < 0 ? '' : target.slice(dot + 1);
    const service = this.#deps.jsonServices().find((s) => s.targetPrefix === prefix);
    if (service === undefined || action === '') {
      const error = new ApiError('UnknownOperationException', `The local AWS emulator has no service for X-Amz-Target ${target} (known: ${this.#deps.jsonServices().map((s) => s.targetPrefix).join(', ')}).`);
      this.#log('unknown', target, undefined, undefined, error.status, error.code);
      sendAndClose(req, res, jsonError(error, requestId));
      return;
    }
    // JSON protocols name the action in a header: it must be signed too.
    await this.#serveJsonAction(req, res, service, action, requestId, ['x-amz-target'], JSON_TYPE);
  }

  /** The REST-JSON service and action a request's method and path name, if any. */
  #restJsonRoute(req: IncomingMessage): { readonly service: RestJsonService; readonly action: string } | undefined {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    for (const service of this.#deps.restJsonServices?.() ?? []) {
      const action = service.route(req.method ?? 'GET', path);
      if (action !== undefined) return { service, action };
    }
    return undefined;
  }

  /** One JSON call once its service and action are known (JSON 1.1 by `X-Amz-Target`, or a REST-JSON route). */
  async #serveJsonAction(
    req: IncomingMessage,
    res: ServerResponse,
    service: Pick<JsonService, 'signingName' | 'handle'>,
    action: string,
    requestId: string,
    signedHeaders: readonly string[],
    contentType: string,
  ): Promise<void> {
    const refuse = (error: ApiError): void => {
      this.#log(service.signingName, action, undefined, undefined, error.status, error.code);
      sendAndClose(req, res, jsonError(error, requestId));
    };
    const checked = this.#checkHeaders(req, signedHeaders);
    if (!checked.ok) {
      refuse(jsonAuthError(checked.failure));
      return;
    }
    const limit = bodyLimit(service.signingName, action);
    const auth = await this.#readAndVerify(req, checked, limit);
    if (auth === 'tooLarge') {
      refuse(tooLarge(limit));
      return;
    }
    if ('kind' in auth) {
      refuse(jsonAuthError(auth));
      return;
    }
    const { body } = auth;
    const fail = (error: ApiError): void => {
      this.#log(service.signingName, action, auth.principal, auth.region, error.status, error.code);
      send(res, jsonError(error, requestId));
    };
    if (auth.service !== service.signingName) {
      fail(new ApiError('InvalidSignatureException', `Credential should be scoped to correct service: '${service.signingName}'.`));
      return;
    }
    const wrongEndpoint = this.#wrongEndpoint(service.signingName);
    if (wrongEndpoint !== undefined) {
      fail(wrongEndpoint);
      return;
    }
    if (this.#deps.disabledRegions?.includes(auth.region) === true) {
      // What AWS answers for a region the account has not enabled (public reports; see docs/emulator.md).
      fail(new ApiError('UnrecognizedClientException', 'The security token included in the request is invalid.'));
      return;
    }
    if (!this.#deps.regions.includes(auth.region)) {
      fail(new ApiError('UnrecognizedClientException', `The local AWS emulator serves regions ${this.#deps.regions.join(', ')}, not ${auth.region}.`));
      return;
    }
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      fail(new ApiError('SerializationException', 'The request body is not a JSON object.'));
      return;
    }
    await this.#execute(
      res,
      { protocol: 'json', signingName: service.signingName, action, auth, requestId, request: body },
      (ctx) => {
        rejectInvalidRequest(service.signingName, action, input);
        return {
          status: 200,
          headers: { 'content-type': contentType, 'x-amzn-requestid': requestId },
          body: JSON.stringify(service.handle(action, input, ctx) ?? {}),
        };
      },
      (error) => jsonError(error, requestId),
    );
  }

  async #serveQuery(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    // The action is in the body, which is read only once the headers authenticate: until then the
    // service is the one the credential scope names (IAM's error shape when it names none).
    const scope = parseAuthorization(String(req.headers.authorization ?? ''))?.service;
    const scoped = this.#deps.queryServices.find((s) => s.signingName === scope);
    const signingName = scoped?.signingName ?? 'iam';
    const scopedXmlns = scoped?.xmlns ?? 'https://iam.amazonaws.com/doc/2010-05-08/';
    const refuse = (error: ApiError, xmlns: string, action: string): void => {
      this.#log(signingName, action, undefined, undefined, error.status, error.code);
      sendAndClose(req, res, queryErrorAnswer(error, requestId, xmlns));
    };
    const checked = this.#checkHeaders(req, []);
    if (!checked.ok) {
      refuse(queryAuthError(checked.failure, signingName), scopedXmlns, '');
      return;
    }
    const limit = bodyLimit(signingName, '');
    const auth = await this.#readAndVerify(req, checked, limit);
    if (auth === 'tooLarge') {
      refuse(new ApiError('RequestEntityTooLarge', tooLarge(limit).message, { status: 413 }), scopedXmlns, '');
      return;
    }
    const params = new URLSearchParams('kind' in auth ? '' : auth.body.toString('utf8'));
    const action = params.get('Action') ?? '';
    const version = params.get('Version') ?? '';
    if ('kind' in auth) {
      refuse(queryAuthError(auth, signingName), scopedXmlns, action);
      return;
    }
    const service = scoped ?? this.#deps.queryServices.find((s) => s.version === version);
    const xmlns = service?.xmlns ?? scopedXmlns;
    if (service === undefined) {
      const error = new ApiError('InvalidAction', `The local AWS emulator has no Query service for Action=${action} Version=${version} (it speaks IAM 2010-05-08 and STS 2011-06-15).`);
      this.#log('unknown', action, undefined, undefined, error.status, error.code);
      send(res, queryErrorAnswer(error, requestId, xmlns));
      return;
    }
    const fail = (error: ApiError): void => {
      this.#log(service.signingName, action, auth.principal, auth.region, error.status, error.code);
      send(res, queryErrorAnswer(error, requestId, xmlns));
    };
    if (auth.service !== service.signingName) {
      fail(new ApiError('SignatureDoesNotMatch', `Credential should be scoped to correct service: '${service.signingName}'.`, { status: 403 }));
      return;
    }
    if (action === '') {
      fail(new ApiError('MissingAction', 'Missing Action'));
      return;
    }
    if (service.signingName === 'sts' && this.#deps.disabledRegions?.includes(auth.region) === true) {
      // STS's regional endpoint of a region the account has not enabled (public reports; see docs/emulator.md).
      fail(new ApiError('InvalidClientTokenId', 'The security token included in the request is invalid.', { status: 403 }));
      return;
    }
    const wrongEndpoint = this.#wrongEndpoint(service.signingName);
    if (wrongEndpoint !== undefined) {
      fail(wrongEndpoint);
      return;
    }
    await this.#execute(
      res,
      { protocol: 'query', signingName: service.signingName, action, auth, requestId, request: auth.body },
      (ctx) => {
        rejectInvalidRequest(service.signingName, action, params);
        return {
          status: 200,
          headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
          body: queryResponse(action, xmlns, service.handle(action, new Input(queryInput(service.signingName, action, params), QUERY_WORDS), ctx), requestId),
        };
      },
      (error) => queryErrorAnswer(error, requestId, xmlns),
    );
  }

  /**
   * Runs one authenticated call the same way for both protocols: the fault plan, the service, the
   * call log and persistence, then the answer (or a dropped connection).
   */
  async #execute(
    res: ServerResponse,
    call: {
      readonly protocol: Exchange['protocol'];
      readonly signingName: string;
      readonly action: string;
      readonly auth: { principal: Principal; region: string };
      readonly requestId: string;
      readonly request: Buffer;
    },
    handle: (ctx: CallContext) => Answer,
    renderError: (error: ApiError) => Answer,
  ): Promise<void> {
    const { signingName, action, auth, requestId } = call;
    const decision = this.#deps.faults.decide(signingName, action);
    if (!(await this.#withFaults(res, decision, 'before'))) {
      this.#log(signingName, action, auth.principal, auth.region, 0, 'ConnectionDropped');
      return;
    }
    // Counted on arrival, after the injected latency (the network), as AWS counts what reaches it.
    const error = decision.error ?? this.#deps.rateQuotas?.admit(signingName, action, auth.principal.account, auth.region);
    if (error) {
      this.#log(signingName, action, auth.principal, auth.region, error.status, error.code);
      send(res, renderError(error));
      return;
    }
    const ctx: CallContext = { region: auth.region, principal: auth.principal, requestId, ...this.#through() };
    let answer: Answer;
    let status = 200;
    let code: string | undefined;
    try {
      answer = handle(ctx);
    } catch (error) {
      const apiError = error instanceof ApiError ? error : internalError(error);
      answer = renderError(apiError);
      status = apiError.status;
      code = apiError.code;
    }
    this.#log(signingName, action, auth.principal, auth.region, status, code);
    reportExchange({ protocol: call.protocol, service: signingName, operation: action, request: call.request.toString('utf8'), status, response: answer.body });
    this.#deps.afterCall();
    if (!(await this.#withFaults(res, decision, 'after'))) return;
    send(res, answer);
  }

  async #serveRaw(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = this.#deps.routes().find((r) => r.matches(method, path));
    const operation = `${method} ${path}`;
    if (route === undefined) {
      const error = new ApiError(
        'UnknownOperationException',
        `The local AWS emulator has no route for ${operation}: send AWS JSON 1.1 (X-Amz-Target) or Query (Action=…) requests, or a layer download URL it issued.`,
        { status: 404 },
      );
      this.#log('http', operation, undefined, undefined, error.status, error.code);
      send(res, jsonError(error, requestId));
      return;
    }
    const decision = this.#deps.faults.decide('http', operation);
    if (!(await this.#withFaults(res, decision, 'before'))) return;
    if (decision.error) {
      this.#log('http', operation, undefined, undefined, decision.error.status, decision.error.code);
      send(res, jsonError(decision.error, requestId));
      return;
    }
    await route.handle(req, res, this.#through());
    this.#log('http', operation, undefined, undefined, res.statusCode);
    this.#deps.afterCall();
  }
}
