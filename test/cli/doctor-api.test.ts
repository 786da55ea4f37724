/**
 * `EncryptedRegistry#doctor`, the public method `encrypted-ecr doctor` now calls (it used to reach
 * the internal operation through a subclass, past the registry's input and endpoint checks).
 */
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';

describe('EncryptedRegistry#doctor', () => {
  it('answers InvalidInput for a malformed input, before any AWS call', async () => {
    const mocks = [mockClient(ECRClient), mockClient(KMSClient), mockClient(IAMClient), mockClient(STSClient)];
    try {
      const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
      const result = await registry.doctor({ kmsKey: 42 } as unknown as { kmsKey: string });
      expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidInput', field: 'kmsKey' });
      for (const mock of mocks) expect(mock.calls()).toHaveLength(0);
      registry.destroy();
    } finally {
      for (const mock of mocks) mock.restore();
    }
  });

  it('refuses plain http to a non-loopback endpoint, as every operation does', async () => {
    const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1', endpoint: 'http://ecr.example.com' } });
    const result = await registry.doctor();
    expect(result._unsafeUnwrapErr()).toMatchObject({ kind: 'InsecureEndpoint' });
    registry.destroy();
  });
});
