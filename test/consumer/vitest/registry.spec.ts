import { CreateRepositoryCommand, DeleteRepositoryCommand } from '@aws-sdk/client-ecr';
import 'aws-sdk-client-mock-vitest/extend';
import { EncryptedRegistry } from 'encrypted-ecr';
import { mockRegistryClients, type RegistryScenario } from 'encrypted-ecr/testing/mocks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('my service on encrypted-ecr (Vitest)', () => {
  let scenario: RegistryScenario;
  let registry: EncryptedRegistry;

  beforeEach(() => {
    scenario = mockRegistryClients({ region: 'eu-west-1', repositories: [{ name: 'team/old', encryption: 'KMS' }] });
    registry = new EncryptedRegistry(scenario.options);
  });
  afterEach(() => scenario.restore());

  it('creates a repository encrypted with the team key', async () => {
    const result = await registry.createEncryptedRepository({ repositoryName: 'team/app', encryption: { type: 'KMS', key: scenario.keyAlias } });

    expect(result.isOk()).toBe(true);
    expect(scenario.ecr).toHaveReceivedCommandWith(CreateRepositoryCommand, {
      repositoryName: 'team/app',
      encryptionConfiguration: { encryptionType: 'KMS', kmsKey: scenario.keyArn },
    });
  });

  it('deletes a repository and proves its grants are gone', async () => {
    const result = await registry.deleteRepository({ repositoryName: 'team/old' });

    expect(result._unsafeUnwrap().verified).toBe(true);
    expect(scenario.ecr).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: 'team/old' });
    expect(scenario.grantIds()).toEqual([]);
  });

  it('reports a disabled key as a typed error, before creating anything', async () => {
    scenario.fail('keyDisabled');

    const result = await registry.createEncryptedRepository({ repositoryName: 'team/app', encryption: { type: 'KMS', key: scenario.keyAlias } });

    expect(result.isErr() && result.error.kind).toBe('KeyNotUsable');
    expect(scenario.ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
  });
});
