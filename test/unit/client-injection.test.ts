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
    // The registry makes its clients on first use: an operation that calls IAM and STS makes them.
    const context = (registry as unknown as { readonly context: { readonly iam: IAMClient; readonly sts: STSClient } }).context;
    expect(context.iam).toBeInstanceOf(IAMClient);
    expect(context.sts).toBeInstanceOf(STSClient);
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

  it('makes a client only when an operation first uses it, once, and destroys only those it made', () => {
    const made = { ecr: vi.spyOn(ECRClient.prototype, 'destroy'), kms: vi.spyOn(KMSClient.prototype, 'destroy'), iam: vi.spyOn(IAMClient.prototype, 'destroy'), sts: vi.spyOn(STSClient.prototype, 'destroy') };
    const registry = new EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
    const context = (registry as unknown as { readonly context: { readonly ecr: ECRClient } }).context;
    expect(context.ecr).toBe(context.ecr);
    registry.destroy();
    expect(made.ecr).toHaveBeenCalledTimes(1);
    for (const never of [made.kms, made.iam, made.sts]) expect(never).not.toHaveBeenCalled();
    for (const spy of Object.values(made)) spy.mockRestore();
  });
});
