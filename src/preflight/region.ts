/** Region and partition: a key must be in the repository's region (and so in its partition). */
import type { ParsedEncryption } from '../encryption/spec.js';
import { errorFinding } from './finding.js';
import type { BlockingFinding } from './types.js';

/**
 * The partition of a region, as the AWS SDK's endpoint rules read region names
 * (`@aws-sdk/core` `util-endpoints/lib/aws/partitions.json`, `regionRegex` of each partition).
 * `undefined` for a name no partition claims (a local emulator's region, a region not yet known):
 * then nothing is compared.
 *
 * @example
 * ```ts
 * partitionOfRegion('cn-north-1'); // 'aws-cn'
 * partitionOfRegion('eu-west-1'); // 'aws'
 * ```
 */
export const partitionOfRegion = (region: string): string | undefined => PARTITIONS.find(([pattern]) => pattern.test(region))?.[1];

// The specific partitions first: `aws`'s pattern is the loosest.
const PARTITIONS: readonly (readonly [RegExp, string])[] = [
  [/^cn-\w+-\d+$/, 'aws-cn'],
  [/^us-gov-\w+-\d+$/, 'aws-us-gov'],
  [/^us-iso-\w+-\d+$/, 'aws-iso'],
  [/^us-isob-\w+-\d+$/, 'aws-iso-b'],
  [/^eu-isoe-\w+-\d+$/, 'aws-iso-e'],
  [/^us-isof-\w+-\d+$/, 'aws-iso-f'],
  [/^eusc-de-\w+-\d+$/, 'aws-eusc'],
  [/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, 'aws'],
];

/** A key ARN of another partition than the repository's region: no key there can be the repository's. */
export const partitionFinding = (keyArn: string, keyPartition: string, region: string): BlockingFinding[] => {
  const expected = partitionOfRegion(region);
  if (expected === undefined || expected === keyPartition) return [];
  return [
    errorFinding(
      'keyRegion',
      `the key ${keyArn} is in partition ${keyPartition}, the repository's region ${region} is in partition ${expected}: ECR needs a key of the same region`,
      {
        kind: 'InvalidEncryption',
        reason: `the key ARN's partition ${keyPartition} is not the partition ${expected} of the region ${region}`,
        key: keyArn,
      },
    ),
  ];
};

/** A key ARN or alias ARN names its partition and region: compare them with the repository's before any call. */
export const checkKeyReferenceRegion = (encryption: ParsedEncryption | undefined, region: string): BlockingFinding[] => {
  const key = encryption?.key;
  if (key === undefined || (key.form !== 'key-arn' && key.form !== 'alias-arn')) return [];
  const partition = partitionFinding(key.value, key.partition, region);
  if (partition.length > 0) return partition;
  if (key.region === region) return [];
  return [
    errorFinding(
      'keyRegion',
      `the key ${key.value} is in ${key.region}, the repository would be in ${region}: ECR needs a key in the same region` +
        ' (for a multi-Region key, use its replica in this region)',
      { kind: 'KeyRegionMismatch', keyArn: key.value, keyRegion: key.region, repositoryRegion: region },
    ),
  ];
};
