/**
 * The emulator's request-rate quotas on a hand-moved clock: a sliding one-second window per API,
 * per account and Region; the throttling error each service answers.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/testing/index.js';
import { RateQuotaKeeper, resolveRateQuotas } from '../../../src/testing/emulator/rate-quotas.js';

const admitMany = (keeper: RateQuotaKeeper, n: number, service = 'ecr', operation = 'PutImage', account = '111122223333', region = 'eu-west-1') =>
  Array.from({ length: n }, () => keeper.admit(service, operation, account, region)?.code ?? 'ok');

describe('emulator rate quotas', () => {
  it("answers ThrottlingException beyond the quota within one second, and admits again once the second has slid past", () => {
    const clock = manualClock();
    const keeper = new RateQuotaKeeper({ 'ecr:PutImage': 10 }, clock);
    expect(admitMany(keeper, 11)).toEqual([...Array<string>(10).fill('ok'), 'ThrottlingException']);
    clock.advance(999);
    expect(admitMany(keeper, 1)).toEqual(['ThrottlingException']);
    clock.advance(1);
    expect(admitMany(keeper, 11)).toEqual([...Array<string>(10).fill('ok'), 'ThrottlingException']);
  });

  it('counts each API, account and Region on its own, and leaves APIs without a quota alone', () => {
    const keeper = new RateQuotaKeeper({ 'ecr:PutImage': 1, 'kms:CreateGrant': 1 }, manualClock());
    expect(admitMany(keeper, 1)).toEqual(['ok']);
    expect(admitMany(keeper, 1, 'ecr', 'PutImage', '444455556666')).toEqual(['ok']);
    expect(admitMany(keeper, 1, 'ecr', 'PutImage', '111122223333', 'us-east-1')).toEqual(['ok']);
    expect(admitMany(keeper, 1, 'kms', 'CreateGrant')).toEqual(['ok']);
    expect(admitMany(keeper, 5, 'ecr', 'DescribeRepositories')).toEqual(Array<string>(5).fill('ok'));
    expect(admitMany(keeper, 1)).toEqual(['ThrottlingException']);
  });

  it("answers KMS's documented message, and IAM/STS's Throttling code", () => {
    const keeper = new RateQuotaKeeper({ 'kms:ListGrants': 1, 'sts:GetCallerIdentity': 1 }, manualClock());
    keeper.admit('kms', 'ListGrants', '111122223333', 'eu-west-1');
    const kms = keeper.admit('kms', 'ListGrants', '111122223333', 'eu-west-1');
    expect({ code: kms?.code, message: kms?.message, status: kms?.status }).toEqual({
      code: 'ThrottlingException',
      message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.',
      status: 400,
    });
    keeper.admit('sts', 'GetCallerIdentity', '111122223333', 'eu-west-1');
    expect(keeper.admit('sts', 'GetCallerIdentity', '111122223333', 'eu-west-1')?.code).toBe('Throttling');
  });

  it('allows one call per 1/quota seconds for a quota under 1 a second', () => {
    const clock = manualClock();
    const keeper = new RateQuotaKeeper({ 'kms:GetParametersForImport': 0.25 }, clock);
    expect(admitMany(keeper, 2, 'kms', 'GetParametersForImport')).toEqual(['ok', 'ThrottlingException']);
    clock.advance(3_999);
    expect(admitMany(keeper, 1, 'kms', 'GetParametersForImport')).toEqual(['ThrottlingException']);
    clock.advance(1);
    expect(admitMany(keeper, 1, 'kms', 'GetParametersForImport')).toEqual(['ok']);
  });

  it("takes 'aws' for AWS's documented defaults and refuses a malformed table before starting", () => {
    expect(resolveRateQuotas('aws')).toMatchObject({ 'ecr:PutImage': 10, 'kms:CreateGrant': 50 });
    expect(resolveRateQuotas(undefined)).toBeUndefined();
    expect(() => resolveRateQuotas({ PutImage: 1 })).toThrow(/<service>:<Operation>/);
    expect(() => resolveRateQuotas({ 'ecr:PutImage': 0 })).toThrow(/above 0/);
  });
});
