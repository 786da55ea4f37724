import { describe, expect, it } from 'vitest';
import { parseEncryption, parseKeyReference } from '../../src/encryption/spec.js';
import { validateRepositoryName } from '../../src/validate/repository-name.js';

describe('validateRepositoryName', () => {
  it.each(['ab', 'team/app', 'a.b_c__d-e--f', '9lives', 'x'.repeat(256)])('accepts %s', (name) => {
    expect(validateRepositoryName(name).isOk()).toBe(true);
  });

  it.each([
    ['a', '2 to 256'],
    ['x'.repeat(257), '2 to 256'],
    ['Team/app', 'lowercase'],
    ['app/', 'lowercase'],
    ['-app', 'lowercase'],
    ['a..b', 'lowercase'],
    ['a___b', 'lowercase'],
    ['a//b', 'lowercase'],
  ])('refuses %s', (name, reason) => {
    const error = validateRepositoryName(name)._unsafeUnwrapErr();
    expect(error.kind).toBe('InvalidRepositoryName');
    expect(error.reason).toContain(reason);
  });
});

describe('parseEncryption', () => {
  const keyId = '1234abcd-12ab-34cd-56ef-1234567890ab';

  it('defaults to AES256', () => {
    expect(parseEncryption(undefined)._unsafeUnwrap()).toEqual({ type: 'AES256', awsManagedKey: false });
    expect(parseEncryption('AES256')._unsafeUnwrap()).toEqual({ type: 'AES256', awsManagedKey: false });
  });

  it('reads KMS without a key as the AWS-managed key', () => {
    expect(parseEncryption({ type: 'KMS' })._unsafeUnwrap()).toEqual({ type: 'KMS', awsManagedKey: true });
    expect(parseEncryption({ type: 'KMS', key: 'alias/aws/ecr' })._unsafeUnwrap().awsManagedKey).toBe(true);
  });

  it.each([
    [keyId, 'key-id'],
    ['mrk-1234abcd12ab34cd56ef1234567890ab', 'key-id'],
    [`arn:aws:kms:eu-west-1:111122223333:key/${keyId}`, 'key-arn'],
    ['alias/team/app', 'alias-name'],
    ['arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/app', 'alias-arn'],
  ])('reads the form of %s', (key, form) => {
    expect(parseKeyReference(key)._unsafeUnwrap().form).toBe(form);
  });

  it('reads the region and account of an ARN', () => {
    expect(parseKeyReference(`arn:aws:kms:eu-west-1:111122223333:key/${keyId}`)._unsafeUnwrap()).toMatchObject({
      region: 'eu-west-1',
      account: '111122223333',
      partition: 'aws',
    });
  });

  it.each(['', 'my-key', 'arn:aws:s3:::bucket', `arn:aws:kms:eu-west-1:1111:key/${keyId}`, 'arn:aws:kms:eu-west-1:111122223333:key/nope', 'alias/has space'])(
    'refuses the key reference %j',
    (key) => {
      expect(parseEncryption({ type: 'KMS', key })._unsafeUnwrapErr()).toMatchObject({ kind: 'InvalidEncryption', key });
    },
  );

  it('refuses an unknown type and a key on AES256', () => {
    expect(parseEncryption({ type: 'SSE-C' } as never)._unsafeUnwrapErr().kind).toBe('InvalidEncryption');
    expect(parseEncryption({ type: 'AES256', key: keyId } as never)._unsafeUnwrapErr().reason).toContain('no key');
  });
});
