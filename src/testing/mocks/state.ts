/**
 * The small in-memory account behind a mock scenario: repositories with their images, policies
 * and tags, one customer-managed key with its grants, a caller. The command handlers read and
 * change it, so answers stay consistent (the ARN `CreateRepository` returns is the `aws:ecr:arn`
 * of the grants `ListGrants` shows next, and they are gone after `DeleteRepository`).
 */
import { createHash } from 'node:crypto';
import type { GrantListEntry, KeyMetadata } from '@aws-sdk/client-kms';
import type { MockFailure } from './failures.js';

/** An image as the mock stores it. */
export interface MockImage {
  readonly digest: string;
  readonly manifest: string;
  readonly mediaType: string;
  readonly tags: string[];
  readonly pushedAt: Date;
  readonly sizeInBytes: number;
}

/** A repository as the mock stores it. */
export interface MockRepository {
  readonly name: string;
  readonly arn: string;
  readonly uri: string;
  readonly createdAt: Date;
  encryption: { encryptionType: 'AES256' | 'KMS' | 'KMS_DSSE'; kmsKey?: string };
  imageTagMutability: string;
  imageTagMutabilityExclusionFilters: { filterType: 'WILDCARD'; filter: string }[] | undefined;
  scanOnPush: boolean;
  policy: string | undefined;
  lifecyclePolicy: string | undefined;
  tags: { Key: string; Value: string }[];
  /** By digest. */
  readonly images: Map<string, MockImage>;
}

/** The mutable account a scenario answers from. */
export interface MockAccount {
  readonly region: string;
  readonly account: string;
  readonly partition: string;
  readonly keyId: string;
  readonly keyArn: string;
  readonly keyAlias: string;
  readonly callerArn: string;
  readonly repositories: Map<string, MockRepository>;
  /** Grants per key ARN. */
  readonly grants: Map<string, GrantListEntry[]>;
  /** Every layer and config blob an image of the scenario references (see `BatchCheckLayerAvailability`). */
  readonly blobs: Set<string>;
  readonly failures: Set<MockFailure>;
  readonly now: () => Date;
  nextId: number;
}

const sha256 = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

/** The metadata DescribeKey answers for the scenario's key, with the failure switches applied. */
export const keyMetadata = (a: MockAccount): KeyMetadata => {
  const otherRegion = a.region === 'us-east-1' ? 'us-west-2' : 'us-east-1';
  const state = a.failures.has('keyDisabled') ? 'Disabled' : a.failures.has('keyPendingDeletion') ? 'PendingDeletion' : 'Enabled';
  return {
    AWSAccountId: a.account,
    KeyId: a.keyId,
    Arn: a.failures.has('regionMismatch') ? a.keyArn.replace(`:${a.region}:`, `:${otherRegion}:`) : a.keyArn,
    CreationDate: new Date('2025-01-01T00:00:00Z'),
    Enabled: state === 'Enabled',
    KeyState: state,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    KeyManager: 'CUSTOMER',
    Origin: 'AWS_KMS',
    MultiRegion: false,
    Description: 'encrypted-ecr mock key',
    ...(state === 'PendingDeletion' ? { DeletionDate: new Date(a.now().getTime() + 7 * 86_400_000), PendingDeletionWindowInDays: 7 } : {}),
  };
};

/** Whether a key reference (id, ARN, alias name or alias ARN) names the scenario's key. */
export const isScenarioKey = (a: MockAccount, reference: string | undefined): boolean =>
  reference !== undefined &&
  [a.keyId, a.keyArn, a.keyAlias, `arn:${a.partition}:kms:${a.region}:${a.account}:${a.keyAlias}`].includes(reference);

const repositoryArn = (a: MockAccount, name: string): string => `arn:${a.partition}:ecr:${a.region}:${a.account}:repository/${name}`;

/** A new, empty repository (not yet stored). */
export const newRepository = (a: MockAccount, name: string, encryption: MockRepository['encryption']): MockRepository => ({
  name,
  arn: repositoryArn(a, name),
  uri: `${a.account}.dkr.ecr.${a.region}.amazonaws.com/${name}`,
  createdAt: a.now(),
  encryption,
  imageTagMutability: 'MUTABLE',
  imageTagMutabilityExclusionFilters: undefined,
  scanOnPush: false,
  policy: undefined,
  lifecyclePolicy: undefined,
  tags: [],
  images: new Map(),
});

const grantId = (a: MockAccount): string => {
  a.nextId += 1;
  return createHash('sha256').update(`grant-${a.nextId}`).digest('hex');
};

/**
 * The grants ECR creates on the key for a new KMS repository. AWS documents one grant (grantee
 * and retiring principal `ecr.<region>.amazonaws.com`, `GenerateDataKey` and `Decrypt`, constrained
 * to the encryption context `aws:ecr:arn`); the library waits for two, as observed. The second
 * grant's exact shape is undocumented: GUESS, modelled as a twin of the first.
 */
export const addEcrGrants = (a: MockAccount, keyArn: string, repository: MockRepository): void => {
  const service = `ecr.${a.region}.amazonaws.com`;
  const grant = (): GrantListEntry => ({
    KeyId: keyArn,
    GrantId: grantId(a),
    CreationDate: repository.createdAt,
    GranteePrincipal: service,
    RetiringPrincipal: service,
    IssuingAccount: `arn:${a.partition}:iam::${a.account}:root`,
    Operations: ['GenerateDataKey', 'Decrypt'],
    Constraints: { EncryptionContextSubset: { 'aws:ecr:arn': repository.arn } },
  });
  a.grants.set(keyArn, [...(a.grants.get(keyArn) ?? []), grant(), grant()]);
};

/** Removes the grants of a repository ARN from every key (ECR retiring them on delete). */
export const removeEcrGrants = (a: MockAccount, arn: string): void => {
  for (const [keyArn, grants] of a.grants) {
    a.grants.set(keyArn, grants.filter((g) => g.Constraints?.EncryptionContextSubset?.['aws:ecr:arn'] !== arn));
  }
};

const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/**
 * A small OCI image whose config and layer digests are made up (no bytes exist): `n` makes each
 * image distinct. The manifest digest is the sha256 of the manifest text, as ECR computes it.
 */
export const seedImage = (a: MockAccount, repositoryName: string, n: number, pushedAt: Date): MockImage => {
  const config = sha256(`config ${repositoryName} ${n}`);
  const layer = sha256(`layer ${repositoryName} ${n}`);
  a.blobs.add(config);
  a.blobs.add(layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST_TYPE,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 512 },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer, size: 1024 }],
  });
  return { digest: sha256(manifest), manifest, mediaType: MANIFEST_TYPE, tags: [`v${n}`], pushedAt, sizeInBytes: 1536 };
};

/** The digest ECR gives a manifest. */
export const manifestDigest = sha256;

/** The AWS-managed `aws/ecr` key of the scenario's account (ECR's default for `KMS` without a key). */
export const managedKeyArn = (a: MockAccount): string => `arn:${a.partition}:kms:${a.region}:${a.account}:key/00000000-0000-4000-8000-00000000ec12`;

/** What DescribeKey answers for `alias/aws/ecr`: an AWS-managed key (failure switches do not apply). */
export const managedKeyMetadata = (a: MockAccount): KeyMetadata => ({
  ...keyMetadata({ ...a, failures: new Set() }),
  KeyId: managedKeyArn(a).split('/')[1],
  Arn: managedKeyArn(a),
  KeyManager: 'AWS',
  Description: 'Default key that protects my ECR data when no other key is defined',
});
