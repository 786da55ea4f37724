/**
 * `npm run test:aws`: the live probes (src/probes/live-aws.ts) against a REAL AWS account, only when
 * ENCRYPTED_ECR_LIVE_AWS=1 and credentials resolve; otherwise one line saying why, and exit 0.
 *
 * Environment: ENCRYPTED_ECR_LIVE_AWS=1 (required), AWS_REGION / AWS_PROFILE as for the AWS CLI,
 * ENCRYPTED_ECR_LIVE_KMS_KEY (default: the AWS-managed aws/ecr key), ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN
 * (a role to assume that lacks kms:RetireGrant), ENCRYPTED_ECR_LIVE_REPORT (report path; default in the
 * temporary directory). Exit 0 when every observation agrees or was not observed, 1 otherwise.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECRClient } from '@aws-sdk/client-ecr';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import { liveGate, type ProbeCredentials, runLiveProbes } from '../src/probes/live-aws.js';

const env = process.env;
const main = async (): Promise<number> => {
  const probe = new STSClient({});
  let region: string | undefined;
  try {
    const skip = await liveGate(env, () => probe.config.credentials());
    if (skip !== undefined) {
      console.log(`test:aws: did nothing: ${skip}`);
      return 0;
    }
    region = env.AWS_REGION || env.AWS_DEFAULT_REGION || (await probe.config.region().catch(() => undefined));
  } finally {
    probe.destroy();
  }
  if (!region) {
    console.log('test:aws: did nothing: no AWS region (set AWS_REGION)');
    return 0;
  }
  const config = (credentials?: ProbeCredentials) => ({ region, ...(credentials ? { credentials } : {}) });
  const report = await runLiveProbes({
    region,
    clients: (credentials) => ({
      ecr: new ECRClient(config(credentials)),
      kms: new KMSClient(config(credentials)),
      sts: new STSClient(config(credentials)),
      iam: new IAMClient(config(credentials)),
    }),
    ...(env.ENCRYPTED_ECR_LIVE_KMS_KEY ? { kmsKey: env.ENCRYPTED_ECR_LIVE_KMS_KEY } : {}),
    ...(env.ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN ? { noRetireRoleArn: env.ENCRYPTED_ECR_LIVE_NO_RETIRE_ROLE_ARN } : {}),
    log: (line) => console.error(`test:aws: ${line}`),
  });
  const path = env.ENCRYPTED_ECR_LIVE_REPORT || join(tmpdir(), `encrypted-ecr-aws-observations-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  const observations = Object.values(report.observations);
  const disagree = observations.filter((o) => o.agrees === false).map((o) => o.id);
  console.log(`test:aws: report written to ${path}`);
  console.log(
    `test:aws: ${observations.filter((o) => o.agrees === true).length} agree, ${disagree.length} disagree${disagree.length ? ` (${disagree.join(', ')})` : ''}, ` +
      `${observations.filter((o) => o.agrees === null).length} not observed; leftovers: ${report.cleanup.leftovers.length}`,
  );
  return disagree.length > 0 || report.error !== undefined || report.cleanup.leftovers.length > 0 ? 1 : 0;
};

process.exitCode = await main();
