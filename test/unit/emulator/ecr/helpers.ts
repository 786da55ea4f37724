/**
 * A small world for driving the emulated ECR directly: a fake KMS that records calls, enforces
 * ECR's grants on data keys and can be told to fail, a scripted authorizer and a movable clock.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  ApiError,
  type AuthorizeOptions,
  type Authorizer,
  type CallContext,
  type DataKey,
  type EcrGrantRequest,
  type EcrService,
  type KmsForEcr,
  type KmsKeyInfo,
} from '../../../../src/testing/emulator/core.js';
import { createEcrService, type EcrServiceOptions } from '../../../../src/testing/emulator/ecr/index.js';

export { ACCOUNT, REGION } from '../../../fixtures/index.js';
import { ACCOUNT, REGION } from '../../../fixtures/index.js';

export const ctxFor = (overrides: Partial<CallContext> = {}): CallContext => ({
  region: REGION,
  principal: {
    arn: `arn:aws:iam::${ACCOUNT}:user/dev`,
    account: ACCOUNT,
    userId: 'AIDAEXAMPLE',
    type: 'user',
    accessKeyId: 'AKIAEXAMPLE',
  },
  requestId: randomUUID(),
  ...overrides,
});

type KmsOperation = 'describeKey' | 'createGrant' | 'retireGrant' | 'generateDataKey' | 'decrypt';

export interface KmsCall {
  readonly operation: KmsOperation;
  readonly ctx?: CallContext;
  readonly args: readonly unknown[];
}

interface FakeGrant {
  readonly grantId: string;
  readonly request: EcrGrantRequest;
  retired: boolean;
}

const MASTER = randomBytes(32);

/** KMS as ECR sees it, with keys whose state tests can change. */
export class FakeKms implements KmsForEcr {
  readonly keys = new Map<string, KmsKeyInfo>();
  readonly aliases = new Map<string, string>();
  readonly grants: FakeGrant[] = [];
  readonly calls: KmsCall[] = [];
  /** Errors to throw per operation (persist until deleted); a number skips that many calls first. */
  readonly failures = new Map<KmsOperation, { error: ApiError; skip: number }>();

  addKey(options: Partial<KmsKeyInfo> & { alias?: string } = {}): KmsKeyInfo {
    const keyId = options.keyId ?? randomUUID();
    const region = options.region ?? REGION;
    const account = options.account ?? ACCOUNT;
    const key: KmsKeyInfo = {
      keyId,
      region,
      account,
      arn: `arn:aws:kms:${region}:${account}:key/${keyId}`,
      state: options.state ?? 'Enabled',
      usage: options.usage ?? 'ENCRYPT_DECRYPT',
      spec: options.spec ?? 'SYMMETRIC_DEFAULT',
      keyManager: options.keyManager ?? 'CUSTOMER',
    };
    this.keys.set(key.arn, key);
    if (options.alias !== undefined) this.aliases.set(`${region}:${options.alias}`, key.arn);
    return key;
  }

  setState(arn: string, state: string): void {
    const key = this.keys.get(arn);
    if (key === undefined) throw new Error(`no key ${arn}`);
    this.keys.set(arn, { ...key, state });
  }

  fail(operation: KmsOperation, code: string, skip = 0): void {
    this.failures.set(operation, { error: new ApiError(code, `${code} from the fake KMS`), skip });
  }

  callsOf(operation: KmsOperation): KmsCall[] {
    return this.calls.filter((call) => call.operation === operation);
  }

  private check(operation: KmsOperation): void {
    const failure = this.failures.get(operation);
    if (failure === undefined) return;
    if (failure.skip > 0) {
      failure.skip -= 1;
      return;
    }
    throw failure.error;
  }

  private resolve(region: string, ref: string): KmsKeyInfo {
    let arn: string | undefined;
    if (ref.startsWith('arn:aws:kms:')) {
      const [, , , keyRegion, , resource = ''] = ref.split(':');
      arn = resource.startsWith('alias/') ? this.aliases.get(`${String(keyRegion)}:${resource}`) : ref;
    } else if (ref.startsWith('alias/')) {
      arn = this.aliases.get(`${region}:${ref}`);
      if (arn === undefined && ref === 'alias/aws/ecr') {
        arn = this.addKey({ region, keyManager: 'AWS', alias: 'alias/aws/ecr' }).arn;
      }
    } else {
      arn = `arn:aws:kms:${region}:${ACCOUNT}:key/${ref}`;
    }
    const key = arn === undefined ? undefined : this.keys.get(arn);
    if (key === undefined) throw new ApiError('NotFoundException', `Key '${ref}' does not exist`);
    return key;
  }

  describeKey(ctx: CallContext, keyRef: string): KmsKeyInfo {
    this.calls.push({ operation: 'describeKey', ctx, args: [keyRef] });
    this.check('describeKey');
    return this.resolve(ctx.region, keyRef);
  }

  createGrant(ctx: CallContext, request: EcrGrantRequest): { readonly grantId: string } {
    this.calls.push({ operation: 'createGrant', ctx, args: [request] });
    this.check('createGrant');
    const key = this.resolve(ctx.region, request.keyArn);
    if (key.state !== 'Enabled') throw new ApiError('DisabledException', `${key.arn} is disabled.`);
    const grant = { grantId: randomBytes(16).toString('hex'), request, retired: false };
    this.grants.push(grant);
    return { grantId: grant.grantId };
  }

  retireGrant(ctx: CallContext, keyArn: string, grantId: string, options: { readonly dryRun?: boolean } = {}): void {
    this.calls.push({ operation: 'retireGrant', ctx, args: [keyArn, grantId] });
    this.check('retireGrant');
    const grant = this.grants.find((g) => g.grantId === grantId && g.request.keyArn === keyArn && !g.retired);
    if (grant === undefined) throw new ApiError('NotFoundException', `Grant ${grantId} not found`);
    if (options.dryRun === true) throw new ApiError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
    grant.retired = true;
  }

  /** ECR's own calls succeed only through a live grant whose constraint the context satisfies. */
  private requireGrant(region: string, keyArn: string, operation: string, context: Readonly<Record<string, string>>): KmsKeyInfo {
    const key = this.keys.get(keyArn);
    if (key === undefined) throw new ApiError('NotFoundException', `Key '${keyArn}' does not exist`);
    if (key.state === 'Disabled') throw new ApiError('DisabledException', `${keyArn} is disabled.`);
    if (key.state !== 'Enabled') throw new ApiError('KMSInvalidStateException', `${keyArn} is ${key.state}.`);
    const allowed = this.grants.some(
      (grant) =>
        !grant.retired &&
        grant.request.keyArn === keyArn &&
        grant.request.granteePrincipal === `ecr.${region}.amazonaws.com` &&
        grant.request.operations.includes(operation) &&
        Object.entries(grant.request.encryptionContextSubset ?? {}).every(([k, v]) => context[k] === v),
    );
    if (!allowed) throw new ApiError('AccessDeniedException', `ECR has no grant for ${operation} on ${keyArn}`);
    return key;
  }

  generateDataKey(region: string, keyArn: string, encryptionContext: Readonly<Record<string, string>>): DataKey {
    this.calls.push({ operation: 'generateDataKey', args: [region, keyArn, encryptionContext] });
    this.check('generateDataKey');
    this.requireGrant(region, keyArn, 'GenerateDataKey', encryptionContext);
    const plaintext = randomBytes(32);
    return { plaintext, ciphertextBlob: wrap(keyArn, encryptionContext, plaintext) };
  }

  decrypt(region: string, keyArn: string, ciphertextBlob: Buffer, encryptionContext: Readonly<Record<string, string>>): Buffer {
    this.calls.push({ operation: 'decrypt', args: [region, keyArn, ciphertextBlob, encryptionContext] });
    this.check('decrypt');
    this.requireGrant(region, keyArn, 'Decrypt', encryptionContext);
    return unwrap(keyArn, encryptionContext, ciphertextBlob);
  }
}

/** A ciphertext bound to key and context, as real KMS binds them. */
const aad = (keyArn: string, context: Readonly<Record<string, string>>): Buffer =>
  createHash('sha256').update(JSON.stringify([keyArn, Object.entries(context).sort()])).digest();

const wrap = (keyArn: string, context: Readonly<Record<string, string>>, plaintext: Buffer): Buffer => {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', MASTER, iv).setAAD(aad(keyArn, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
};

const unwrap = (keyArn: string, context: Readonly<Record<string, string>>, blob: Buffer): Buffer => {
  try {
    const decipher = createDecipheriv('aes-256-gcm', MASTER, blob.subarray(0, 12)).setAAD(aad(keyArn, context));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]);
  } catch {
    throw new ApiError('InvalidCiphertextException', 'The ciphertext does not match the key and encryption context');
  }
};

export interface AuthorizeCall {
  readonly action: string;
  readonly resource: string;
  readonly options: AuthorizeOptions | undefined;
  readonly ctx: CallContext;
}

/** Allows everything except what `deny` says; records every question. */
export class ScriptedAuthorizer implements Authorizer {
  readonly calls: AuthorizeCall[] = [];
  deny: (call: AuthorizeCall) => boolean = () => false;

  authorize(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): void {
    if (!this.isAllowed(ctx, action, resource, options)) {
      throw new ApiError('AccessDeniedException', `User: ${ctx.principal.arn} is not authorized to perform: ${action} on resource: ${resource}`);
    }
  }

  isAllowed(ctx: CallContext, action: string, resource: string, options?: AuthorizeOptions): boolean {
    const call = { action, resource, options, ctx };
    this.calls.push(call);
    return !this.deny(call);
  }
}

export class TestClock {
  constructor(public ms = Date.UTC(2026, 0, 1)) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface World {
  readonly ecr: EcrService;
  readonly kms: FakeKms;
  readonly authorizer: ScriptedAuthorizer;
  readonly clock: TestClock;
  readonly dataDir: string;
  /** Calls an action as the default caller (or `ctx`). */
  call(action: string, input: Record<string, unknown>, ctx?: CallContext): Record<string, unknown>;
  /** A fresh service over the same data directory, restored from this one's snapshot. */
  reopen(): World;
  cleanup(): void;
}

export const createWorld = (
  options: EcrServiceOptions & { onGrantRetireFailure?: 'kms-exception' | 'succeed'; baseUrl?: string } = {},
  shared?: { kms: FakeKms; authorizer: ScriptedAuthorizer; clock: TestClock; dataDir: string },
): World => {
  const kms = shared?.kms ?? new FakeKms();
  const authorizer = shared?.authorizer ?? new ScriptedAuthorizer();
  const clock = shared?.clock ?? new TestClock();
  const dataDir = shared?.dataDir ?? mkdtempSync(join(tmpdir(), 'ecr-emulator-'));
  const baseUrl = options.baseUrl ?? 'http://127.0.0.1:4566';
  const ecr = createEcrService(
    {
      kms,
      authorizer,
      clock,
      dataDir,
      baseUrl: () => baseUrl,
      ...(options.onGrantRetireFailure === undefined ? {} : { onGrantRetireFailure: options.onGrantRetireFailure }),
    },
    options,
  );
  const world: World = {
    ecr,
    kms,
    authorizer,
    clock,
    dataDir,
    call: (action, input, ctx) => ecr.handle(action, input, ctx ?? ctxFor()) as Record<string, unknown>,
    reopen: () => {
      const next = createWorld(options, { kms, authorizer, clock, dataDir });
      next.ecr.restore(JSON.parse(JSON.stringify(ecr.snapshot())));
      return next;
    },
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
  return world;
};

/** Runs `fn` and returns the ApiError it throws, checking its code. */
export const apiError = (fn: () => unknown, code: string): ApiError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(code);
    return error as ApiError;
  }
  throw new Error(`expected ${code}, but the call succeeded`);
};

export const sha256 = (data: Buffer | string): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Uploads `data` as one layer in parts of `partSize` bytes; returns its digest (also when it was already there). */
export const uploadBlob = (world: World, repositoryName: string, data: Buffer, partSize = data.length): string => {
  const { uploadId } = world.call('InitiateLayerUpload', { repositoryName }) as { uploadId: string };
  for (let first = 0; first < data.length; first += partSize) {
    const part = data.subarray(first, Math.min(data.length, first + partSize));
    world.call('UploadLayerPart', {
      repositoryName,
      uploadId,
      partFirstByte: first,
      partLastByte: first + part.length - 1,
      layerPartBlob: part.toString('base64'),
    });
  }
  const digest = sha256(data);
  try {
    world.call('CompleteLayerUpload', { repositoryName, uploadId, layerDigests: [digest] });
  } catch (error) {
    // As real clients do: a layer that is already there is a success.
    if (!(error instanceof ApiError) || error.code !== 'LayerAlreadyExistsException') throw error;
  }
  return digest;
};

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

/** Uploads a config and one layer and returns an OCI image manifest text using them. */
export const imageManifest = (world: World, repositoryName: string, seed: string, extra: Record<string, unknown> = {}): string => {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', seed }));
  const layer = Buffer.from(`layer bytes for ${seed}`);
  const configDigest = uploadBlob(world, repositoryName, config);
  const layerDigest = uploadBlob(world, repositoryName, layer);
  // Deliberately unusual spacing: the stored manifest must stay byte-exact.
  return JSON.stringify(
    {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
      ...extra,
    },
    null,
    3,
  );
};

export const putImage = (world: World, repositoryName: string, manifest: string, imageTag?: string): string => {
  const result = world.call('PutImage', { repositoryName, imageManifest: manifest, ...(imageTag === undefined ? {} : { imageTag }) }) as {
    image: { imageId: { imageDigest: string } };
  };
  return result.image.imageId.imageDigest;
};
