/**
 * Parsing an {@link EncryptionSpec} before any AWS call: the type, and the form of the key
 * reference (key id, key ARN, alias name, alias ARN). Resolving the reference to the canonical key
 * ARN needs DescribeKey and happens in the key preflight.
 */
import { err, ok, type Result } from 'neverthrow';
import type { InvalidEncryption } from '../errors.js';
import type { EncryptionSpec, EncryptionType } from '../types.js';

/** A key reference as the caller wrote it, with what can be read from it without AWS. */
export type KeyReference =
  | { readonly form: 'key-id'; readonly value: string }
  | { readonly form: 'alias-name'; readonly value: string }
  | {
      readonly form: 'key-arn' | 'alias-arn';
      readonly value: string;
      readonly partition: string;
      readonly region: string;
      readonly account: string;
    };

/** An encryption spec, checked and normalised. */
export interface ParsedEncryption {
  readonly type: EncryptionType;
  /** Absent for AES256, and for KMS/KMS_DSSE with the AWS-managed `aws/ecr` key. */
  readonly key?: KeyReference;
  /** KMS or KMS_DSSE with no key, or with `alias/aws/ecr`: the AWS-managed key. */
  readonly awsManagedKey: boolean;
}

/** The alias of the AWS-managed key ECR uses when no key is given. */
export const AWS_MANAGED_ECR_ALIAS = 'alias/aws/ecr';

const KEY_ID = /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const KMS_ARN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso(?:-[a-z])?):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/(.+)$/;

/** Reads the form of a key reference, or says why it is none. */
export const parseKeyReference = (key: string): Result<KeyReference, InvalidEncryption> => {
  const invalid = (reason: string) => err<never, InvalidEncryption>({ kind: 'InvalidEncryption', reason, key });
  if (key.length === 0 || key.length > 2048) return invalid('the key reference must be 1 to 2048 characters long');
  if (KEY_ID.test(key)) return ok({ form: 'key-id', value: key });
  if (ALIAS_NAME.test(key)) return ok({ form: 'alias-name', value: key });
  const arn = KMS_ARN.exec(key);
  if (arn) {
    const [, partition = '', region = '', account = '', resource = '', id = ''] = arn;
    if (resource === 'key' && !KEY_ID.test(id)) return invalid(`"${id}" is not a KMS key id (a UUID or mrk-…)`);
    if (resource === 'alias' && !ALIAS_NAME.test(`alias/${id}`)) return invalid(`"alias/${id}" is not a valid alias name`);
    return ok({ form: resource === 'key' ? 'key-arn' : 'alias-arn', value: key, partition, region, account });
  }
  if (key.startsWith('arn:')) return invalid('not a KMS key or alias ARN (arn:<partition>:kms:<region>:<account>:key/<id> or …:alias/<name>)');
  return invalid('not a key id (UUID or mrk-…), key ARN, alias name (alias/…) or alias ARN');
};

const isAwsManagedAlias = (ref: KeyReference): boolean =>
  (ref.form === 'alias-name' && ref.value === AWS_MANAGED_ECR_ALIAS) ||
  (ref.form === 'alias-arn' && ref.value.endsWith(':alias/aws/ecr'));

/** Checks an encryption spec before any AWS call. */
export const parseEncryption = (spec: EncryptionSpec | undefined): Result<ParsedEncryption, InvalidEncryption> => {
  if (spec === undefined || spec === 'AES256') return ok({ type: 'AES256', awsManagedKey: false });
  if (typeof spec !== 'object' || spec === null) {
    return err({ kind: 'InvalidEncryption', reason: `unsupported encryption ${JSON.stringify(spec)}: use 'AES256', { type: 'KMS', key? } or { type: 'KMS_DSSE', key? }` });
  }
  const type: unknown = spec.type;
  if (type === 'AES256') {
    if ('key' in spec && spec.key !== undefined) return err({ kind: 'InvalidEncryption', reason: 'AES256 takes no key' });
    return ok({ type: 'AES256', awsManagedKey: false });
  }
  if (type !== 'KMS' && type !== 'KMS_DSSE') {
    return err({ kind: 'InvalidEncryption', reason: `unsupported encryption type ${JSON.stringify(type)}: use AES256, KMS or KMS_DSSE` });
  }
  const key = 'key' in spec ? spec.key : undefined;
  if (key === undefined) return ok({ type, awsManagedKey: true });
  if (typeof key !== 'string') return err({ kind: 'InvalidEncryption', reason: 'the key must be a string' });
  return parseKeyReference(key).map((ref) => ({ type, key: ref, awsManagedKey: isAwsManagedAlias(ref) }));
};
