/**
 * The KMS reads of the key posture (audit): rotation status and completed rotations. Exception
 * names are matched here, where KMS threw them.
 */
import { GetKeyRotationStatusCommand, type GetKeyRotationStatusResponse, ListKeyRotationsCommand, type RotationsListEntry } from '@aws-sdk/client-kms';
import type { ResultAsync } from 'neverthrow';
import type { GenericAwsError } from '../errors.js';
import { allPages, awsCall, expectField, expectList } from '../internal/aws.js';
import type { RegistryContext } from '../internal/context.js';

/**
 * The key does not support automatic rotation: KMS answers `UnsupportedOperationException` for
 * asymmetric, HMAC, imported-material and custom-key-store keys (KMS API reference,
 * GetKeyRotationStatus / EnableKeyRotation).
 */
export interface RotationNotSupported {
  readonly kind: 'RotationNotSupported';
  readonly message: string;
}

/** GetKeyRotationStatus of one key (works across accounts with the key ARN). */
export const getKeyRotationStatus = (
  ctx: RegistryContext,
  keyArn: string,
): ResultAsync<GetKeyRotationStatusResponse & { readonly KeyRotationEnabled: boolean }, RotationNotSupported | GenericAwsError> =>
  awsCall(
    ctx,
    'kms',
    'GetKeyRotationStatus',
    (o) => ctx.kms.send(new GetKeyRotationStatusCommand({ KeyId: keyArn }), o),
    (e): RotationNotSupported | undefined => (e.name === 'UnsupportedOperationException' ? { kind: 'RotationNotSupported', message: e.message } : undefined),
  ).andThen((out) => expectField('kms', 'GetKeyRotationStatus', 'KeyRotationEnabled', out.KeyRotationEnabled).map((KeyRotationEnabled) => ({ ...out, KeyRotationEnabled })));

/** Every completed rotation of a key (ListKeyRotations, 1,000 a page), automatic and on-demand. */
export const listAllKeyRotations = (ctx: RegistryContext, keyArn: string): ResultAsync<RotationsListEntry[], RotationNotSupported | GenericAwsError> =>
  allPages((marker) =>
    awsCall(
      ctx,
      'kms',
      'ListKeyRotations',
      (o) => ctx.kms.send(new ListKeyRotationsCommand({ KeyId: keyArn, Limit: 1000, ...(marker ? { Marker: marker } : {}) }), o),
      (e): RotationNotSupported | undefined => (e.name === 'UnsupportedOperationException' ? { kind: 'RotationNotSupported', message: e.message } : undefined),
    ).andThen((out) =>
      expectList('kms', 'ListKeyRotations', 'Rotations', out.Rotations).map((items) => ({ items, nextToken: out.Truncated ? out.NextMarker : undefined })),
    ),
  );
