import { CreateRepositoryCommand, DeleteRepositoryCommand, ECRClient, PutImageCommand } from '@aws-sdk/client-ecr';
import { ListGrantsCommand, RetireGrantCommand } from '@aws-sdk/client-kms';
import { afterEach, describe, expect, it } from 'vitest';
import { EncryptedRegistry, memoryJournal } from '../../src/index.js';
import { type MockFailure, mockFailures, mockRegistryClients, type RegistryScenario } from '../../src/testing/mocks/index.js';
import { recordingClock } from '../helpers/clock.js';
import { loadModel } from '../helpers/service-model.js';

const NAME = 'team/app';
const LIFECYCLE = JSON.stringify({
  rules: [{ rulePriority: 1, selection: { tagStatus: 'untagged', countType: 'sinceImagePushed', countUnit: 'days', countNumber: 14 }, action: { type: 'expire' } }],
});
const POLICY = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'pull', Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'ecr:BatchGetImage' }] });
let scenario: RegistryScenario | undefined;

const start = (...args: Parameters<typeof mockRegistryClients>): { scenario: RegistryScenario; registry: EncryptedRegistry } => {
  scenario = mockRegistryClients(...args);
  waits = recordingClock();
  return { scenario, registry: new EncryptedRegistry({ ...scenario.options, clock: waits.clock }) };
};

/** The pauses the registry asks of its (real) clock: the kit's instant polls make them next to none. */
let waits = recordingClock();

/**
 * Runs an operation and returns its result with how long it paused (ms asked of the registry's
 * clock; not its wall time, which a loaded machine stretches).
 */
const timed = async <T>(run: () => PromiseLike<T>): Promise<{ result: T; ms: number }> => {
  waits.reset();
  const result = await run();
  return { result, ms: waits.sleptMs() };
};

afterEach(() => {
  scenario?.restore();
  scenario = undefined;
});

describe('mockRegistryClients: the happy path of every operation', () => {
  it('createEncryptedRepository succeeds with under a second of pauses, with the ARN the grants then carry', async () => {
    const { scenario, registry } = start();
    const { result, ms } = await timed(() => registry.createEncryptedRepository({ repositoryName: NAME, encryption: { type: 'KMS', key: scenario.keyAlias } }));
    const created = result._unsafeUnwrap();
    expect(ms).toBeLessThan(1000);
    expect(created.created).toBe(true);
    expect(created.encryption.keyArn).toBe(scenario.keyArn);
    expect(created.repository.arn).toBe(scenario.repositoryArn(NAME));
    expect(created.grants).toHaveLength(2);
    expect(scenario.ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, {
      repositoryName: NAME,
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: scenario.keyArn },
    });
    expect(scenario.repositoryNames()).toEqual([NAME]);
    expect(scenario.grantIds()).toHaveLength(2);
  });

  it('deleteRepository succeeds with under a second of pauses, its grants verified retired', async () => {
    const { scenario, registry } = start({ repositories: [{ name: NAME, encryption: 'KMS' }] });
    expect(scenario.grantIds()).toHaveLength(2);
    const { result, ms } = await timed(() => registry.deleteRepository({ repositoryName: NAME }));
    expect(ms).toBeLessThan(1000);
    expect(result._unsafeUnwrap()).toMatchObject({ verified: true });
    expect(scenario.ecr).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: NAME });
    expect(scenario.kms).toHaveReceivedCommand(ListGrantsCommand);
    expect(scenario.kms).not.toHaveReceivedCommand(RetireGrantCommand);
    expect(scenario.repositoryNames()).toEqual([]);
    expect(scenario.grantIds()).toEqual([]);
  });

  it('migrateRepository moves every image and tag to the new key with under a second of pauses', async () => {
    const { scenario, registry } = start({ repositories: [{ name: NAME, encryption: 'AES256', images: 3 }] });
    const before = scenario.images(NAME);
    const { result, ms } = await timed(() =>
      registry.migrateRepository({ repositoryName: NAME, encryption: { type: 'KMS', key: scenario.keyAlias }, journal: memoryJournal() }),
    );
    const migrated = result._unsafeUnwrap();
    expect(ms).toBeLessThan(1000);
    expect(migrated).toMatchObject({ changed: true, counts: { images: 3 } });
    expect(scenario.images(NAME)).toEqual(before);
    expect(scenario.repositoryNames()).toEqual([NAME]);
    expect(scenario.ecr).toHaveReceivedCommandTimes(PutImageCommand, 6);
    // The new incarnation holds ECR's two grants; the staging repository's are gone.
    expect(scenario.grantIds()).toHaveLength(2);
  });

  it('planMigration, audit, findOrphanedGrants and retireOrphanedGrants succeed', async () => {
    const { scenario, registry } = start({ repositories: [{ name: NAME, encryption: 'KMS', images: 2 }, { name: 'plain', images: 1 }] });
    const plan = (await registry.planMigration({ repositoryName: 'plain', encryption: { type: 'KMS', key: scenario.keyAlias } }))._unsafeUnwrap();
    expect(plan).toMatchObject({ ready: true, nothingToDo: false });
    const audit = (await registry.audit({ require: 'cmk' }))._unsafeUnwrap();
    expect(audit.repositories.map((r) => [r.name, r.compliant])).toEqual([
      [NAME, true],
      ['plain', false],
    ]);
    const orphans = (await registry.findOrphanedGrants())._unsafeUnwrap();
    expect(orphans.keys.flatMap((k) => k.orphans)).toEqual([]);
    const sweep = (await registry.retireOrphanedGrants({ dryRun: false }))._unsafeUnwrap();
    expect(sweep.keys.flatMap((k) => k.retired)).toEqual([]);
  });

  it('mocks the clients you pass, as instances', async () => {
    const ecr = new ECRClient({ region: 'eu-west-1' });
    const { scenario, registry } = start({ clients: { ecr } });
    expect(scenario.clients.ecr).toBe(ecr);
    (await registry.createEncryptedRepository({ repositoryName: NAME, encryption: { type: 'AES256' } }))._unsafeUnwrap();
    expect(scenario.ecr).toHaveReceivedCommand(CreateRepositoryCommand);
  });
});

describe('mockRegistryClients: each failure switch gives its documented error kind', () => {
  const cases = Object.entries(mockFailures) as [MockFailure, (typeof mockFailures)[MockFailure]][];
  it.each(cases)('%s', async (failure, spec) => {
    const { scenario, registry } = start(spec.operation === 'deleteRepository' ? { repositories: [{ name: NAME, encryption: 'KMS' }] } : {});
    scenario.fail(failure);
    const { result, ms } =
      spec.operation === 'deleteRepository'
        ? await timed(() => registry.deleteRepository({ repositoryName: NAME }))
        : await timed(() => registry.createEncryptedRepository({ repositoryName: NAME, encryption: { type: 'KMS', key: scenario.keyAlias } }));
    expect(ms).toBeLessThan(1000);
    expect(result._unsafeUnwrapErr().kind).toBe(spec.kind);
    const [service, command] = spec.command.split(':');
    expect(scenario.commandsSent()).toContain(`${service ?? ''}:${command ?? ''}`);
  });

  it('an unknown switch is a bug in the test: it throws', () => {
    const { scenario } = start();
    expect(() => scenario.fail('nope' as MockFailure)).toThrow(/unknown mock failure 'nope'/);
  });
});

/** A value in its wire form: timestamps as epoch seconds (JSON 1.1) or ISO 8601 text (Query). */
const wire = (value: unknown, protocol: 'json' | 'query'): unknown => {
  if (value instanceof Date) return protocol === 'json' ? value.getTime() / 1000 : value.toISOString();
  if (Array.isArray(value)) return value.map((v) => wire(v, protocol));
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).filter(([k, v]) => k !== '$metadata' && v !== undefined).map(([k, v]) => [k, wire(v, protocol)]));
  }
  return value;
};

describe('mockRegistryClients: answers in the shapes of AWS service models', () => {
  it('every request the library sends and every answer the scenario gives fit botocore models', async () => {
    const { scenario, registry } = start({
      repositories: [
        { name: 'plain', images: 2, tags: [{ Key: 'team', Value: 'platform' }], policy: POLICY, lifecyclePolicy: LIFECYCLE },
        { name: 'old', encryption: 'KMS', images: 1 },
      ],
    });
    const key = { type: 'KMS' as const, key: scenario.keyAlias };
    (await registry.createEncryptedRepository({ repositoryName: NAME, encryption: key }))._unsafeUnwrap();
    (await registry.migrateRepository({ repositoryName: 'plain', encryption: key, journal: memoryJournal() }))._unsafeUnwrap();
    (await registry.deleteRepository({ repositoryName: 'old', force: true }))._unsafeUnwrap();
    (await registry.audit())._unsafeUnwrap();
    (await registry.retireOrphanedGrants({ dryRun: false }))._unsafeUnwrap();
    const violations: string[] = [];
    let checked = 0;
    for (const service of ['ecr', 'kms', 'iam', 'sts'] as const) {
      const model = loadModel(service);
      for (const call of scenario[service].calls()) {
        const command = call.args[0] as { constructor: { name: string }; input: unknown };
        const operation = command.constructor.name.replace(/Command$/, '');
        const answer: unknown = await Promise.resolve(call.returnValue).catch(() => undefined);
        const checks = [...model.check(operation, 'request', wire(command.input, model.protocol))];
        if (answer !== undefined) checks.push(...model.check(operation, 'response', wire(answer, model.protocol)));
        checked += 1;
        violations.push(...checks.map((v) => `${service} ${v.operation} ${v.direction} ${v.path}: ${v.rule} (${v.detail})`));
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect([...new Set(violations)]).toEqual([]);
  });
});
