/**
 * Helpers for integration tests on the local emulator: real SDK clients over HTTP, the library's
 * registry signed as a given principal, and keys made through the emulator's KMS.
 */
import { CreateAliasCommand, CreateKeyCommand, type CreateKeyCommandInput, KMSClient } from '@aws-sdk/client-kms';
import { EncryptedRegistry } from '../../src/index.js';
import type { PolicyDocument } from '../../src/policy/types.js';
import type { LocalAws, PrincipalHandle } from '../../src/testing/index.js';
// Checks every exchange with the emulator against AWS's service models (also on through test/setup.ts).
import './model-check.js';

/** Polls short enough for tests: the emulator's grants are consistent unless a delay is configured. */
export const TEST_POLL = { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 } as const;

/** The library, over clients it creates, signed as `who` (default: the admin user). */
export const registryFor = (
  aws: LocalAws,
  who?: PrincipalHandle,
  options: { readonly region?: string; readonly maxAttempts?: number; readonly poll?: { initialDelayMs: number; maxDelayMs: number; timeoutMs: number } } = {},
): EncryptedRegistry =>
  new EncryptedRegistry({
    clientConfig: {
      ...aws.clientConfig({ ...(who ? { credentials: who.credentials } : {}), ...(options.region ? { region: options.region } : {}) }),
      ...(options.maxAttempts !== undefined ? { maxAttempts: options.maxAttempts } : {}),
    },
    poll: options.poll ?? TEST_POLL,
  });

/** A KMS client signed as `who` (default: the admin user), with no retries so errors surface at once. */
export const kmsFor = (aws: LocalAws, who?: PrincipalHandle, region?: string): KMSClient =>
  new KMSClient({ ...aws.clientConfig({ ...(who ? { credentials: who.credentials } : {}), ...(region ? { region } : {}) }), maxAttempts: 1 });

/** Creates a key (and an alias for it when given) through the emulator's KMS; answers its ARN and id. */
export const createKey = async (
  kms: KMSClient,
  options: { readonly alias?: string; readonly input?: CreateKeyCommandInput } = {},
): Promise<{ readonly arn: string; readonly id: string }> => {
  const { KeyMetadata } = await kms.send(new CreateKeyCommand(options.input ?? {}));
  const arn = KeyMetadata?.Arn;
  const id = KeyMetadata?.KeyId;
  if (arn === undefined || id === undefined) throw new Error('CreateKey answered no key');
  if (options.alias !== undefined) await kms.send(new CreateAliasCommand({ AliasName: options.alias, TargetKeyId: id }));
  return { arn, id };
};

/** An identity policy of one statement per entry: `[actions, resources?]`. */
export const allow = (...statements: readonly (readonly [readonly string[], (string | readonly string[])?])[]): PolicyDocument => ({
  Version: '2012-10-17',
  Statement: statements.map(([actions, resource]) => ({ Effect: 'Allow' as const, Action: actions, Resource: resource ?? '*' })),
});

/** What a repository administrator needs, minus whatever is left out. */
export const ADMIN_ACTIONS = [
  'ecr:*',
  'kms:CreateGrant',
  'kms:DescribeKey',
  'kms:ListGrants',
  'kms:RetireGrant',
  'kms:GetKeyPolicy',
  'kms:ListKeys',
  'kms:ListAliases',
  'iam:GetRole',
  'iam:SimulatePrincipalPolicy',
] as const;

/** A user allowed `ADMIN_ACTIONS` except those given. */
export const userWithout = (aws: LocalAws, name: string, ...missing: readonly string[]): PrincipalHandle =>
  aws.principals.createUser(name, { policies: [allow([ADMIN_ACTIONS.filter((a) => !missing.includes(a))])] });
