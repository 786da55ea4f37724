/** The staging repository's name, deterministic from the migration id. */

const MAX_NAME = 256;

/** The staging repository's name: a valid ECR name (≤ 256), deterministic from the migration id. */
export const stagingNameOf = (repositoryName: string, migrationId: string): string => {
  const name = `${repositoryName}-migrating-${migrationId}`;
  return name.length <= MAX_NAME ? name : `encrypted-ecr-migrating-${migrationId}`;
};

/** Migration ids are this many hexadecimal digits (6 random bytes). */
export const MIGRATION_ID_DIGITS = 12;
