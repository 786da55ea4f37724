import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it, vi } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';

describe('EncryptedRegistry clients', () => {
  it('never destroys a client it was given, and destroys those it made', () => {
    const ecr = new ECRClient({ region: 'eu-west-1' });
    const kms = new KMSClient({ region: 'eu-west-1' });
    const userEcrDestroy = vi.spyOn(ecr, 'destroy');
    const userKmsDestroy = vi.spyOn(kms, 'destroy');
    const iamDestroy = vi.spyOn(IAMClient.prototype, 'destroy');
    const stsDestroy = vi.spyOn(STSClient.prototype, 'destroy');

    const registry = new EncryptedRegistry({ clients: { ecr, kms }, clientConfig: { region: 'eu-west-1' } });
    registry.destroy();

    expect(userEcrDestroy).not.toHaveBeenCalled();
    expect(userKmsDestroy).not.toHaveBeenCalled();
    expect(iamDestroy).toHaveBeenCalledTimes(1);
    expect(stsDestroy).toHaveBeenCalledTimes(1);
    registry.destroy();
    expect(iamDestroy, 'a second destroy() is a no-op').toHaveBeenCalledTimes(1);
    iamDestroy.mockRestore();
    stsDestroy.mockRestore();
  });
});
