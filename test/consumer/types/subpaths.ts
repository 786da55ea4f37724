// Every subpath resolves, with its types, under the consumer's module resolution.
import { EncryptedRegistry, type EncryptedRegistryOptions } from 'encrypted-ecr';
import { startLocalAws, type LocalAwsOptions } from 'encrypted-ecr/testing';
import { mockFailures, mockRegistryClients, type MockFailure } from 'encrypted-ecr/testing/mocks';

const options: EncryptedRegistryOptions = mockRegistryClients().options;
const failure: MockFailure = 'keyDisabled';
const emulator: LocalAwsOptions = {};
export const checks = [new EncryptedRegistry(options), mockFailures[failure].kind, startLocalAws, emulator] as const;
