/**
 * `encrypted-ecr/testing`: a local AWS emulator (ECR + KMS + IAM/STS over real HTTP) and helpers
 * for testing code that uses `encrypted-ecr`.
 *
 * @packageDocumentation
 */
export { ApiError } from './emulator/core.js';
export type { Clock, EcrInspection, ReplicationAttemptInfo, StoredObjectInfo } from './emulator/core.js';
export { startLocalAws } from './emulator/local-aws.js';
export { manualClock } from './emulator/manual-clock.js';
export type { ManualClock } from './emulator/manual-clock.js';
export type { Inspect, LocalAws, LocalAwsOptions, Principals } from './emulator/local-aws.js';
export type { EmulatorRateQuotas } from './emulator/rate-quotas.js';
export { AWS_VARIANT_VALUES, DEFAULT_AWS_VARIANTS, resolveAwsVariants } from './emulator/variants.js';
export type {
  AwsVariants,
  CreateOnPushPermissionVariant,
  DeleteWhenRetireFailsVariant,
  SecondGrantVariant,
  SimulateMissingContextVariant,
  TemplateKmsWithoutRoleVariant,
} from './emulator/variants.js';
export type { EmulatorCredentials, PrincipalHandle, RoleHandle } from './emulator/iam.js';
export type { GrantInfo, KeyInfo } from './emulator/kms/index.js';
export type { CallFilter, CallList, CallRecord } from './emulator/calls.js';
export type { FaultHandle, FaultTarget, FaultTiming, Faults } from './emulator/faults.js';
export type { PersistenceStatus } from './emulator/persistence.js';
export type { EmulatedAccountState } from './emulator/organizations.js';
export { exportLines, serveLocalAws } from './standalone.js';
export type { LocalAwsEnvironment, ServeLocalAwsOptions, StandaloneIo } from './standalone.js';
export {
  MEDIA_TYPES,
  pushImage,
  pushIndex,
  pushManifest,
  randomBytes,
  seedRealisticRepository,
  streamedBlob,
  uploadBlob,
} from './images.js';
export type { BlobSource, ImageSpec, PushedBlob, PushedImage, SeededRepository } from './images.js';
export type { Network, VpcEndpointInfo, VpcEndpointOptions, VpcEndpointService } from './emulator/local-aws.js';
export { runDemo } from './demo.js';
export type { DemoOptions } from './demo.js';
export { runLiveProbes } from '../probes/live-aws.js';
export type { LiveProbeOptions, LiveReport, Observation, ProbeClients, ProbeCredentials } from '../probes/live-aws.js';
