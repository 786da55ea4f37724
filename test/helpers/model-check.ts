/**
 * Checks every call the local emulator's services answer against AWS's published service models
 * (`test/data/service-models/`): each request the emulator ACCEPTS (status 200) must satisfy the
 * operation's input shape, each answer the output shape. Importing this module turns the check on
 * for the test file (through the emulator's internal exchange observer) and adds an `afterAll` that
 * fails the file listing every violation (operation, path, rule).
 */
import { afterAll, expect } from 'vitest';
import { observeExchanges, type Exchange } from '../../src/testing/emulator/server-wire.js';
import { loadModel, queryRequestValue, queryResponseValue, type Violation } from './service-model.js';

const MODELED = new Set(['ecr', 'kms', 'iam', 'sts', 'organizations', 'account'] as const);
type Modeled = 'ecr' | 'kms' | 'iam' | 'sts' | 'organizations' | 'account';
const isModeled = (service: string): service is Modeled => MODELED.has(service as Modeled);

/**
 * Where AWS itself answers outside its model, with the evidence: such a violation is not reported.
 * Keep each entry narrow (service, operation, direction, path, rule).
 */
export const AWS_DEVIATIONS: readonly { readonly key: string; readonly evidence: string }[] = [
  {
    // A list's `min` binds requests only: ImageIdentifierList has min 1, yet ECR answers
    // `"imageIds":[]` when nothing was deleted, so an empty list in an answer is AWS's own form
    // (ListImages of an empty repository, DescribeImages with no match, …).
    key: '* * response * min items',
    evidence: 'aws/aws-cli#6424 (botocore debug log of a real BatchDeleteImage answer: {"failures":[…ImageNotFound…],"imageIds":[]})',
  },
];
const matches = (pattern: string, actual: string): boolean => pattern === '*' || pattern === actual;
const deviates = (service: string, v: Violation): boolean =>
  AWS_DEVIATIONS.some((d) => {
    const [s = '', o = '', dir = '', path = '', ...rule] = d.key.split(' ');
    return matches(s, service) && matches(o, v.operation) && matches(dir, v.direction) && matches(path, v.path) && rule.join(' ') === v.rule;
  });

/** What one exchange breaks; an exchange of a service without a pinned model breaks nothing. */
export const checkExchange = (exchange: Exchange): Violation[] => {
  if (!isModeled(exchange.service) || exchange.status !== 200) return [];
  const model = loadModel(exchange.service);
  const { operation } = exchange;
  const out: Violation[] = [];
  const wire = (direction: Violation['direction'], rule: string, items: readonly string[]): void => {
    for (const item of items) out.push({ operation, direction, path: item, rule, detail: `${rule} in the ${direction}` });
  };
  try {
    if (exchange.protocol === 'json') {
      const request: unknown = exchange.request === '' ? {} : JSON.parse(exchange.request);
      out.push(...model.check(operation, 'request', request));
      out.push(...model.check(operation, 'response', JSON.parse(exchange.response)));
    } else {
      const request = queryRequestValue(model, operation, new URLSearchParams(exchange.request));
      wire('request', 'unknown parameter', request.unknown);
      wire('request', 'malformed parameter', request.malformed);
      out.push(...model.check(operation, 'request', request.value));
      const response = queryResponseValue(model, operation, exchange.response);
      wire('response', 'unknown element', response.unknown);
      wire('response', 'malformed', response.malformed);
      out.push(...model.check(operation, 'response', response.value));
    }
  } catch (error) {
    out.push({ operation, direction: 'response', path: '', rule: 'unreadable', detail: error instanceof Error ? error.message : String(error) });
  }
  return out.filter((v) => !deviates(exchange.service, v));
};

/** `<service> <Operation> <request|response> <path>: <rule> — <detail>`. */
export const formatViolation = (service: string, v: Violation): string => `${service} ${v.operation} ${v.direction} ${v.path || '(top)'}: ${v.rule} — ${v.detail}`;

const collected: string[] = [];
let exchanges = 0;

/** Violations seen so far in this test file, formatted. */
export const modelViolations = (): readonly string[] => [...collected];
/** How many exchanges of modeled services were checked so far in this test file. */
export const checkedExchanges = (): number => exchanges;

let recording: Exchange[] | undefined;
/** Keeps every exchange of a modeled service from now on (whatever its status), until {@link stopRecording}. */
export const startRecording = (): Exchange[] => (recording = []);
export const stopRecording = (): void => {
  recording = undefined;
};

observeExchanges((exchange) => {
  if (recording !== undefined && isModeled(exchange.service)) recording.push(exchange);
  if (isModeled(exchange.service) && exchange.status === 200) exchanges += 1;
  for (const v of checkExchange(exchange)) collected.push(formatViolation(exchange.service, v));
});

afterAll(() => {
  expect([...new Set(collected)], 'requests the emulator accepted or answers it sent that break the AWS service models').toEqual([]);
});
