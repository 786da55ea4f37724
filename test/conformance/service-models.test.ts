/**
 * The emulator against AWS's published service models (botocore `service-2.json`, pinned in
 * `test/data/service-models/`, see its README): the checker itself on hand-made shapes, every
 * exchange of a scenario that touches each operation the library uses, and the refusals the models
 * require (a missing required member, a value outside an enum, a length or value over its bound),
 * generated from the models for every operation the emulator serves.
 */
import { ECRClient, ListImagesCommand } from '@aws-sdk/client-ecr';
import {
  CreateAliasCommand,
  CreateGrantCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GetKeyPolicyCommand,
  GetKeyRotationStatusCommand,
  KMSClient,
  ListAliasesCommand,
  ListGrantsCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ListRetirableGrantsCommand,
  RetireGrantCommand,
  RevokeGrantCommand,
  TagResourceCommand as KmsTagResourceCommand,
  ScheduleKeyDeletionCommand,
  CancelKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { GetRoleCommand, GetUserCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import {
  BatchDeleteImageCommand,
  BatchGetImageCommand,
  CreateRepositoryCommand,
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  GetAuthorizationTokenCommand,
  GetLifecyclePolicyCommand,
  GetRepositoryPolicyCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  SetRepositoryPolicyCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
/** The part of the SDK's HTTP request the body-replacing middleware touches. */
interface HttpRequest {
  body: unknown;
  headers: Record<string, string>;
}
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ECR_ACTIONS } from '../../src/testing/emulator/ecr/index.js';
import { MODEL_CONSTRAINTS } from '../../src/testing/emulator/model-constraints.js';
import { pushImage, randomBytes, startLocalAws, type LocalAws } from '../../src/testing/index.js';
import type { Exchange } from '../../src/testing/emulator/server-wire.js';
import { checkExchange, formatViolation, modelViolations, startRecording, stopRecording } from '../helpers/model-check.js';
import { compileJavaPattern, loadModel, parseXml, queryRequestValue, queryResponseValue, ServiceModel, type ModelJson } from '../helpers/service-model.js';

/** A hand-made model that exercises every rule, so that the checker cannot pass everything. */
const FAKE: ModelJson = {
  metadata: { protocol: 'json', endpointPrefix: 'fake' },
  operations: {
    Put: { name: 'Put', input: { shape: 'PutRequest' }, output: { shape: 'PutResponse' } },
    Ping: { name: 'Ping' },
  },
  shapes: {
    PutRequest: {
      type: 'structure',
      required: ['name', 'kind'],
      members: {
        name: { shape: 'Name' },
        kind: { shape: 'Kind' },
        items: { shape: 'Items' },
        labels: { shape: 'Labels' },
        count: { shape: 'Count' },
        flag: { shape: 'Flag' },
        at: { shape: 'At' },
        data: { shape: 'Data' },
        word: { shape: 'Word' },
        skipped: { shape: 'Skipped' },
      },
    },
    PutResponse: { type: 'structure', members: { items: { shape: 'Items' } } },
    Name: { type: 'string', min: 2, max: 5, pattern: '[a-z]+' },
    Kind: { type: 'string', enum: ['A', 'B'] },
    Items: { type: 'list', member: { shape: 'Item' }, min: 1, max: 2 },
    Item: { type: 'structure', required: ['id'], members: { id: { shape: 'Count' } } },
    Labels: { type: 'map', key: { shape: 'Name' }, value: { shape: 'Kind' }, max: 1 },
    Count: { type: 'integer', min: 1, max: 10 },
    Flag: { type: 'boolean' },
    At: { type: 'timestamp' },
    Data: { type: 'blob', max: 3 },
    Word: { type: 'string', pattern: '[\\p{L}\\-]+' },
    Skipped: { type: 'string', pattern: '[a-z]*+' },
  },
};

describe('the model checker (on hand-made shapes)', () => {
  const model = new ServiceModel(FAKE);
  const rules = (value: unknown, direction: 'request' | 'response' = 'request'): string[] =>
    model.check('Put', direction, value).map((v) => `${v.path} ${v.rule}`);

  it('passes a value that keeps every constraint', () => {
    expect(
      rules({ name: 'abc', kind: 'A', items: [{ id: 1 }], labels: { ab: 'B' }, count: 10, flag: false, at: 1700000000.5, data: 'AAEC', word: 'Größe-x' }),
    ).toEqual([]);
  });

  it('reports each broken rule with its path', () => {
    expect(rules({ kind: 'C' })).toEqual(['name required', 'kind enum']);
    expect(rules({ name: 'a', kind: 'A' })).toEqual(['name min']);
    expect(rules({ name: 'abcdef', kind: 'A' })).toEqual(['name max']);
    expect(rules({ name: 'ab1', kind: 'A' })).toEqual(['name pattern']);
    expect(rules({ name: 'ab', kind: 'A', extra: 1 })).toEqual(['extra unknown member']);
    expect(rules({ name: 'ab', kind: 'A', items: [] })).toEqual(['items min items']);
    expect(rules({ name: 'ab', kind: 'A', items: [{ id: 1 }, { id: 2 }, { id: 3 }] })).toEqual(['items max items']);
    expect(rules({ name: 'ab', kind: 'A', items: [{}] })).toEqual(['items[0].id required']);
    expect(rules({ name: 'ab', kind: 'A', labels: { a: 'A', bc: 'Z' } })).toEqual(['labels max items', 'labels.a(key) min', 'labels.bc enum']);
    expect(rules({ name: 'ab', kind: 'A', count: 0 })).toEqual(['count min']);
    expect(rules({ name: 'ab', kind: 'A', count: 11 })).toEqual(['count max']);
    expect(rules({ name: 'ab', kind: 'A', count: 1.5 })).toEqual(['count type']);
    expect(rules({ name: 'ab', kind: 'A', flag: 'true' })).toEqual(['flag type']);
    expect(rules({ name: 'ab', kind: 'A', at: '2024-01-01T00:00:00Z' })).toEqual(['at type']);
    expect(rules({ name: 'ab', kind: 'A', data: 'not base64!' })).toEqual(['data type']);
    expect(rules({ name: 'ab', kind: 'A', data: 'AAECAw==' })).toEqual(['data max']);
    expect(rules({ name: 'ab', kind: 'A', word: 'a b' })).toEqual(['word pattern']);
    expect(rules({ name: 'ab', kind: 'A', items: null })).toEqual(['items null']);
    expect(rules({ items: [] }, 'response')).toEqual(['items min items']);
    expect(model.check('Ping', 'response', { surprise: true }).map((v) => v.rule)).toEqual(['no shape']);
  });

  it('matches patterns whole, as AWS does, and counts the ones JS cannot compile instead of passing them silently', () => {
    expect(compileJavaPattern('[a-z]+')?.test('ab1')).toBe(false);
    expect(compileJavaPattern('[\\w+=,.@-]+')?.test('role@x')).toBe(true);
    // Java's \u takes exactly four hex digits, as JS's does: \u10000 is U+1000 then '0'.
    expect(compileJavaPattern('[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u0085\\u00A0-\\uD7FF\\uE000-\\uFFFD\\u10000-\\u10FFFF]+')?.test('x\u0001')).toBe(false);
    expect(rules({ name: 'ab', kind: 'A', skipped: 'anything' })).toEqual([]);
    // A Java possessive quantifier: JS cannot compile it, so the pattern is counted, not enforced.
    expect([...model.skippedPatterns]).toEqual(['[a-z]*+']);
  });

  it('reads Query parameters and XML answers into the shapes, and flags what does not fit', () => {
    const iam = loadModel('iam');
    const params = new URLSearchParams(
      'Action=SimulatePrincipalPolicy&Version=2010-05-08&PolicySourceArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Auser%2Fa&ActionNames.member.1=kms%3ACreateGrant' +
        '&ContextEntries.member.1.ContextKeyName=kms%3AViaService&ContextEntries.member.1.ContextKeyType=string&ContextEntries.member.1.ContextKeyValues.member.1=ecr.us-east-1.amazonaws.com' +
        '&MaxItems=ten&Bogus=1',
    );
    const decoded = queryRequestValue(iam, 'SimulatePrincipalPolicy', params);
    expect(decoded.unknown).toEqual(['Bogus']);
    expect(decoded.malformed).toEqual(['MaxItems']);
    expect(decoded.value).toMatchObject({
      ActionNames: ['kms:CreateGrant'],
      ContextEntries: [{ ContextKeyName: 'kms:ViaService', ContextKeyType: 'string', ContextKeyValues: ['ecr.us-east-1.amazonaws.com'] }],
    });
    expect(iam.check('SimulatePrincipalPolicy', 'request', { ...decoded.value, MaxItems: 1 })).toEqual([]);
    expect(iam.check('SimulatePrincipalPolicy', 'request', { ActionNames: ['kms:CreateGrant'] }).map((v) => v.path)).toEqual(['PolicySourceArn']);

    const xml =
      '<?xml version="1.0"?>\n<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetRoleResult><Role><Path>/</Path><RoleName>r</RoleName>' +
      '<RoleId>AROAEXAMPLEEXAMPLE01</RoleId><Arn>arn:aws:iam::111122223333:role/r</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate><Colour>red</Colour></Role>' +
      '</GetRoleResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetRoleResponse>';
    const answer = queryResponseValue(iam, 'GetRole', xml);
    expect(answer.unknown).toEqual(['Role.Colour']);
    expect(answer.malformed).toEqual([]);
    expect(iam.check('GetRole', 'response', answer.value)).toEqual([]);
    const broken = queryResponseValue(iam, 'GetRole', xml.replace('2024-01-01T00:00:00Z', '1704067200').replace('<RoleName>r</RoleName>', ''));
    expect(iam.check('GetRole', 'response', broken.value).map((v) => `${v.path} ${v.rule}`)).toEqual(['Role.RoleName required', 'Role.CreateDate type']);
    expect(() => parseXml('<a><b></a>')).toThrow(/closes/);
  });

  it('checks an exchange as the server reports it, and only the accepted ones', () => {
    const exchange: Exchange = { protocol: 'json', service: 'kms', operation: 'DescribeKey', request: '{}', status: 200, response: '{"KeyMetadata":{"KeyId":"k"}}' };
    expect(checkExchange(exchange).map((v) => formatViolation('kms', v))).toEqual(['kms DescribeKey request KeyId: required — DescribeKeyRequest.KeyId is required']);
    expect(checkExchange({ ...exchange, request: '{"KeyId":"k"}', response: '{"KeyMetadata":{"KeyId":"k","CreationDate":"2024-01-01T00:00:00Z"}}' }).map((v) => `${v.path} ${v.rule}`)).toEqual([
      'KeyMetadata.CreationDate type',
    ]);
    expect(checkExchange({ ...exchange, status: 400 })).toEqual([]);
    expect(checkExchange({ ...exchange, service: 'other' })).toEqual([]);
  });
});

describe('the pinned models', () => {
  it('the emulator\'s request constraints are generated from them, for every operation it serves', () => {
    const generated = execFileSync(process.execPath, ['scripts/gen-model-constraints.mjs', '--check'], { encoding: 'utf8', stdio: 'pipe' });
    expect(generated).toBe('');
    expect(Object.keys(MODEL_CONSTRAINTS['ecr']?.operations ?? {})).toEqual([...ECR_ACTIONS]);
  });


  it.each(['ecr', 'kms', 'iam', 'sts'] as const)('%s loads, speaks its protocol, and every pattern it uses compiles in JS', (service) => {
    const model = loadModel(service);
    expect(model.protocol).toBe(service === 'ecr' || service === 'kms' ? 'json' : 'query');
    for (const shape of Object.values(model.json.shapes)) if (shape.pattern !== undefined) model.pattern(shape.pattern);
    expect([...model.skippedPatterns]).toEqual([]);
  });
});

let aws: LocalAws;
let ecr: ECRClient;
let kms: KMSClient;
let iam: IAMClient;
let sts: STSClient;
let scenario: Exchange[] = [];

beforeAll(async () => {
  aws = await startLocalAws();
  const config = { ...aws.clientConfig(), maxAttempts: 1 };
  ecr = new ECRClient(config);
  kms = new KMSClient(config);
  iam = new IAMClient(config);
  sts = new STSClient(config);
});
afterAll(async () => {
  stopRecording();
  await aws.stop();
});

describe('the emulator answers within the models', () => {
  it('every request it accepts and every answer it sends in a scenario of each operation the library uses', async () => {
    const recorded = startRecording();
    // KMS
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'models', Tags: [{ TagKey: 'team', TagValue: 'a' }] }));
    const keyId = KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/models', TargetKeyId: keyId }));
    await kms.send(new DescribeKeyCommand({ KeyId: 'alias/models' }));
    await kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ecr' }));
    await kms.send(new ListKeysCommand({ Limit: 10 }));
    await kms.send(new ListAliasesCommand({ KeyId: keyId }));
    await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
    await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    await kms.send(new KmsTagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'env', TagValue: 'test' }] }));
    await kms.send(new ListResourceTagsCommand({ KeyId: keyId }));
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: new TextEncoder().encode('hi') }));
    await kms.send(new DecryptCommand({ CiphertextBlob }));
    await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
    const grant = await kms.send(
      new CreateGrantCommand({
        KeyId: keyId,
        GranteePrincipal: 'arn:aws:iam::111122223333:user/admin',
        RetiringPrincipal: 'arn:aws:iam::111122223333:user/admin',
        Operations: ['Decrypt'],
        Constraints: { EncryptionContextSubset: { purpose: 'models' } },
        Name: 'models',
      }),
    );
    await kms.send(new ListGrantsCommand({ KeyId: keyId, Limit: 50 }));
    await kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal: 'arn:aws:iam::111122223333:user/admin' }));
    await kms.send(new RetireGrantCommand({ KeyId: KeyMetadata!.Arn!, GrantId: grant.GrantId! }));
    const second = await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Encrypt'] }));
    await kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: second.GrantId! }));
    const spare = await kms.send(new CreateKeyCommand({}));
    await kms.send(new DisableKeyCommand({ KeyId: spare.KeyMetadata!.KeyId! }));
    await kms.send(new EnableKeyCommand({ KeyId: spare.KeyMetadata!.KeyId! }));
    await kms.send(new ScheduleKeyDeletionCommand({ KeyId: spare.KeyMetadata!.KeyId!, PendingWindowInDays: 7 }));
    await kms.send(new CancelKeyDeletionCommand({ KeyId: spare.KeyMetadata!.KeyId! }));
    // ECR
    const { repository } = await ecr.send(
      new CreateRepositoryCommand({
        repositoryName: 'models/app',
        encryptionConfiguration: { encryptionType: 'KMS', kmsKey: 'alias/models' },
        imageTagMutability: 'IMMUTABLE_WITH_EXCLUSION',
        imageTagMutabilityExclusionFilters: [{ filterType: 'WILDCARD', filter: 'latest*' }],
        tags: [{ Key: 'team', Value: 'a' }],
      }),
    );
    await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: ['models/app'] }));
    await ecr.send(new DescribeRepositoriesCommand({ maxResults: 1 }));
    await ecr.send(new TagResourceCommand({ resourceArn: repository!.repositoryArn!, tags: [{ Key: 'env', Value: 'test' }] }));
    await ecr.send(new ListTagsForResourceCommand({ resourceArn: repository!.repositoryArn! }));
    await ecr.send(new SetRepositoryPolicyCommand({
      repositoryName: 'models/app',
      policyText: JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: ['ecr:BatchGetImage'] }] }),
    }));
    await ecr.send(new GetRepositoryPolicyCommand({ repositoryName: 'models/app' }));
    await ecr.send(new PutLifecyclePolicyCommand({
      repositoryName: 'models/app',
      lifecyclePolicyText: JSON.stringify({ rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }] }),
    }));
    await ecr.send(new GetLifecyclePolicyCommand({ repositoryName: 'models/app' }));
    await ecr.send(new ListImagesCommand({ repositoryName: 'models/app' }));
    const image = await pushImage(ecr, 'models/app', { layers: [randomBytes(2048, 7)], tags: ['v1'] });
    await ecr.send(new ListImagesCommand({ repositoryName: 'models/app', filter: { tagStatus: 'TAGGED' } }));
    await ecr.send(new DescribeImagesCommand({ repositoryName: 'models/app', imageIds: [{ imageTag: 'v1' }] }));
    await ecr.send(new BatchGetImageCommand({ repositoryName: 'models/app', imageIds: [{ imageDigest: image.digest }], acceptedMediaTypes: [image.mediaType] }));
    await ecr.send(new BatchGetImageCommand({ repositoryName: 'models/app', imageIds: [{ imageTag: 'missing' }] }));
    await ecr.send(new GetAuthorizationTokenCommand({}));
    await ecr.send(new BatchDeleteImageCommand({ repositoryName: 'models/app', imageIds: [{ imageTag: 'v1' }] }));
    await ecr.send(new DeleteRepositoryCommand({ repositoryName: 'models/app', force: true }));
    // IAM and STS
    const role = aws.principals.createRole('models-role', { path: '/ci/' });
    await iam.send(new GetRoleCommand({ RoleName: 'models-role' }));
    await iam.send(new GetUserCommand({}));
    await iam.send(
      new SimulatePrincipalPolicyCommand({
        PolicySourceArn: aws.principals.default.arn,
        ActionNames: ['kms:CreateGrant', 'ecr:CreateRepository'],
        ResourceArns: [KeyMetadata!.Arn!],
        ContextEntries: [{ ContextKeyName: 'kms:ViaService', ContextKeyType: 'string', ContextKeyValues: ['ecr.us-east-1.amazonaws.com'] }],
      }),
    );
    await sts.send(new GetCallerIdentityCommand({}));
    const user = aws.principals.createUser('assumer', { policies: [{ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'sts:AssumeRole', Resource: role.arn }] }] });
    await new STSClient({ ...aws.clientConfig({ credentials: user.credentials }), maxAttempts: 1 }).send(
      new AssumeRoleCommand({ RoleArn: role.arn, RoleSessionName: 'models', DurationSeconds: 900 }),
    );
    stopRecording();
    scenario = recorded;

    const accepted = recorded.filter((e) => e.status === 200);
    const operations = new Set(accepted.map((e) => `${e.service} ${e.operation}`));
    expect(operations.size).toBeGreaterThanOrEqual(40);
    expect(accepted.flatMap((e) => checkExchange(e).map((v) => formatViolation(e.service, v)))).toEqual([]);
    expect(modelViolations()).toEqual([]);
  });
});

/** The codes each service answers a request its model forbids with (see the README in test/data/service-models). */
const VALIDATION_CODES: Readonly<Record<string, readonly string[]>> = {
  ecr: ['InvalidParameterException', 'ValidationException'],
  kms: ['ValidationException'],
  iam: ['ValidationError'],
  sts: ['ValidationError'],
};
const UNSERVED = new Set(['UnknownOperationException', 'InvalidAction']);

describe('the emulator refuses what the models forbid', () => {
  /** Sends `body` as `operation` (signed by the SDK), answering the status and error code. */
  const sendRaw = async (service: 'ecr' | 'kms' | 'iam' | 'sts', operation: string, body: string): Promise<{ status: number; code: string | undefined }> => {
    const config = { ...aws.clientConfig(), maxAttempts: 1 };
    const recorded = startRecording();
    const replace = (request: HttpRequest): void => {
      request.body = body;
      request.headers['content-length'] = String(Buffer.byteLength(body));
      if (service === 'ecr') request.headers['x-amz-target'] = `AmazonEC2ContainerRegistry_V20150921.${operation}`;
      if (service === 'kms') request.headers['x-amz-target'] = `TrentService.${operation}`;
    };
    const middleware = { step: 'build', priority: 'low', name: 'replaceBody' } as const;
    let error: unknown;
    try {
      if (service === 'ecr') {
        const client = new ECRClient(config);
        client.middlewareStack.add((next) => (args) => (replace(args.request as HttpRequest), next(args)), middleware);
        await client.send(new ListImagesCommand({ repositoryName: 'x' }));
      } else if (service === 'kms') {
        const client = new KMSClient(config);
        client.middlewareStack.add((next) => (args) => (replace(args.request as HttpRequest), next(args)), middleware);
        await client.send(new ListKeysCommand({}));
      } else if (service === 'iam') {
        const client = new IAMClient(config);
        client.middlewareStack.add((next) => (args) => (replace(args.request as HttpRequest), next(args)), middleware);
        await client.send(new GetUserCommand({}));
      } else {
        const client = new STSClient(config);
        client.middlewareStack.add((next) => (args) => (replace(args.request as HttpRequest), next(args)), middleware);
        await client.send(new GetCallerIdentityCommand({}));
      }
    } catch (e) {
      error = e;
    } finally {
      stopRecording();
    }
    const exchange = recorded.at(-1);
    if (exchange !== undefined) {
      const code = exchange.status === 200 ? undefined : exchange.protocol === 'json' ? (JSON.parse(exchange.response) as { __type?: string }).__type : /<Code>([^<]*)<\/Code>/.exec(exchange.response)?.[1];
      return { status: exchange.status, code };
    }
    const failed = error as { name?: string; $metadata?: { httpStatusCode?: number } } | undefined;
    return { status: failed?.$metadata?.httpStatusCode ?? 0, code: failed?.name };
  };

  /** The Query text of a decoded top-level map of parameters. */
  const form = (operation: string, version: string, params: URLSearchParams): string => {
    const out = new URLSearchParams(params);
    out.set('Action', operation);
    out.set('Version', version);
    return out.toString();
  };
  const VERSIONS = { iam: '2010-05-08', sts: '2011-06-15' } as const;

  it("answers in each service's words: ECR's InvalidParameterException, KMS's ValidationException, IAM's ValidationError", async () => {
    const refusal = (sent: Promise<unknown>): Promise<{ name?: string; message?: string } | undefined> =>
      sent.then(
        () => undefined,
        (error: unknown) => error as { name?: string; message?: string },
      );
    expect(await refusal(ecr.send(new CreateRepositoryCommand({ repositoryName: 'a' })))).toMatchObject({
      name: 'InvalidParameterException',
      message: "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length greater than or equal to 2'",
    });
    const upper = await refusal(ecr.send(new CreateRepositoryCommand({ repositoryName: 'Upper/Case' })));
    expect(upper?.name).toBe('InvalidParameterException');
    expect(upper?.message).toContain("failed to satisfy constraint: 'must satisfy regular expression '[a-z0-9]+");
    const long = await refusal(kms.send(new DescribeKeyCommand({ KeyId: 'k'.repeat(2049) })));
    expect(long?.name).toBe('ValidationException');
    expect(long?.message).toMatch(/^1 validation error detected: Value 'k+…' at 'keyId' failed to satisfy constraint: Member must have length less than or equal to 2048$/);
    expect(await refusal(iam.send(new GetRoleCommand({ RoleName: 'has space' })))).toMatchObject({
      name: 'ValidationError',
      message: "1 validation error detected: Value 'has space' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+",
    });
  });

  it('for every operation it serves: each required member dropped, each enum or bound broken, is refused with the service validation error (never accepted, never a 500)', async () => {
    expect(scenario.length).toBeGreaterThan(0);
    const failures: string[] = [];
    const tried = new Set<string>();
    const expectRefused = async (service: 'ecr' | 'kms' | 'iam' | 'sts', operation: string, what: string, body: string): Promise<void> => {
      const { status, code } = await sendRaw(service, operation, body);
      tried.add(`${service} ${operation}`);
      if (status === 200 || status >= 500 || code === undefined || !VALIDATION_CODES[service]!.includes(code)) {
        failures.push(`${service} ${operation} ${what}: answered ${String(status)} ${code ?? ''} (expected ${VALIDATION_CODES[service]!.join(' or ')})`);
      }
    };

    // Mutations of a request the emulator accepted in the scenario: one per required member, enum and bound.
    const bases = new Map<string, Exchange>();
    for (const e of scenario) if (e.status === 200 && !bases.has(`${e.service} ${e.operation}`)) bases.set(`${e.service} ${e.operation}`, e);
    for (const base of bases.values()) {
      const service = base.service as 'ecr' | 'kms' | 'iam' | 'sts';
      const model = loadModel(service);
      const inputRef = model.operation(base.operation)?.input;
      if (inputRef === undefined) continue;
      const input = model.shape(inputRef.shape);
      const json = base.protocol === 'json' ? (JSON.parse(base.request || '{}') as Record<string, unknown>) : undefined;
      const params = base.protocol === 'query' ? new URLSearchParams(base.request) : undefined;
      const without = (member: string): string => {
        if (json !== undefined) {
          const copy = { ...json };
          delete copy[member];
          return JSON.stringify(copy);
        }
        const copy = new URLSearchParams([...params!].filter(([k]) => k !== member && !k.startsWith(`${member}.`)));
        return form(base.operation, VERSIONS[service as 'iam' | 'sts'], copy);
      };
      const withValue = (member: string, value: string | number): string => {
        if (json !== undefined) return JSON.stringify({ ...json, [member]: value });
        const copy = new URLSearchParams(params);
        copy.set(member, String(value));
        return form(base.operation, VERSIONS[service as 'iam' | 'sts'], copy);
      };
      const present = (member: string): boolean => (json !== undefined ? json[member] !== undefined : params!.has(member) || [...params!.keys()].some((k) => k.startsWith(`${member}.`)));
      for (const member of input.required ?? []) {
        if (present(member)) await expectRefused(service, base.operation, `without ${member}`, without(member));
      }
      for (const [member, ref] of Object.entries(input.members ?? {})) {
        const shape = model.shape(ref.shape);
        if (shape.type === 'string' && shape.enum !== undefined) {
          await expectRefused(service, base.operation, `${member} outside its enum`, withValue(member, 'NOT_A_MODELED_VALUE'));
        } else if (shape.type === 'string' && shape.max !== undefined && shape.max <= 65_536) {
          await expectRefused(service, base.operation, `${member} of length ${String(shape.max + 1)}`, withValue(member, 'a'.repeat(shape.max + 1)));
        } else if ((shape.type === 'integer' || shape.type === 'long') && shape.max !== undefined) {
          await expectRefused(service, base.operation, `${member} = ${String(shape.max + 1)}`, withValue(member, shape.max + 1));
        }
      }
    }

    // Every other operation of the models: one it serves must refuse a request without its required members.
    let served = 0;
    for (const service of ['ecr', 'kms', 'iam', 'sts'] as const) {
      const model = loadModel(service);
      for (const operation of Object.keys(model.json.operations)) {
        const inputRef = model.operation(operation)?.input;
        const required = inputRef === undefined ? [] : (model.shape(inputRef.shape).required ?? []);
        if (required.length === 0) continue;
        const body = model.protocol === 'json' ? '{}' : form(operation, VERSIONS[service as 'iam' | 'sts'], new URLSearchParams());
        const { status, code } = await sendRaw(service, operation, body);
        if (code !== undefined && UNSERVED.has(code)) continue;
        served += 1;
        tried.add(`${service} ${operation}`);
        const codes = VALIDATION_CODES[service] ?? [];
        if (status === 200 || status >= 500 || code === undefined || !codes.includes(code)) {
          failures.push(`${service} ${operation} without ${required.join(', ')}: answered ${String(status)} ${code ?? ''} (expected ${codes.join(' or ')})`);
        }
      }
    }
    expect(served).toBeGreaterThanOrEqual(30);
    expect(tried.size).toBeGreaterThanOrEqual(40);
    expect(failures).toEqual([]);
  }, 120_000);
});
