/**
 * `EncryptedFleet` sweeps reuse HTTP connections across targets: every target's clients share the
 * sweep's keep-alive agents (unless the caller gave a `requestHandler`), so a sweep of many targets
 * opens about as many connections as it has calls in flight, not a set per target. Counted by a
 * TCP proxy in front of the emulator.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedFleet, type FleetOptions, type PolicyDocument } from '../../src/index.js';
import { startLocalAws, type LocalAws } from '../../src/testing/index.js';
import { TEST_POLL } from '../helpers/local-aws.js';

const CALLER = '111111111111';
const MEMBERS = ['222222222222', '333333333333'];
const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-2'];
const TARGETS = (1 + MEMBERS.length) * REGIONS.length;

let aws: LocalAws;
let proxy: Server;
let proxyEndpoint: string;
let connections = 0;
const open = new Set<Socket>();

const auditorPolicy: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecr:Describe*', 'ecr:List*', 'kms:Describe*', 'kms:List*'], Resource: '*' }] };
const trustCaller: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${CALLER}:root` }, Action: 'sts:AssumeRole' }] };

/** A fleet over the counting proxy, one target at a time. */
const fleetOf = (options: Partial<FleetOptions> = {}): EncryptedFleet => {
  const { endpoint: _direct, ...config } = aws.clientConfig();
  return new EncryptedFleet({
    clientConfig: { ...config, endpoint: proxyEndpoint, maxAttempts: 1, ...options.clientConfig },
    poll: TEST_POLL,
    accounts: [CALLER, ...MEMBERS],
    regions: REGIONS,
    roleName: 'ecr-auditor',
    concurrency: 1,
  });
};

beforeAll(async () => {
  aws = await startLocalAws({ accounts: [CALLER, ...MEMBERS], regions: REGIONS });
  for (const account of MEMBERS) aws.principals.createRole('ecr-auditor', { account, trust: trustCaller, policies: [auditorPolicy] });
  const upstream = new URL(aws.clientConfig().endpoint);
  proxy = createServer((client) => {
    connections += 1;
    open.add(client);
    const server = connect(Number(upstream.port), upstream.hostname);
    open.add(server);
    client.pipe(server).pipe(client);
    const close = (): void => {
      client.destroy();
      server.destroy();
    };
    client.on('error', close).on('close', close);
    server.on('error', close).on('close', close);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const address = proxy.address();
  if (address === null || typeof address === 'string') throw new Error('the proxy has no port');
  proxyEndpoint = `http://127.0.0.1:${String(address.port)}`;
});
afterAll(async () => {
  for (const socket of open) socket.destroy();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  await aws.stop();
});

describe('EncryptedFleet connections', () => {
  it('audits 9 targets one at a time over fewer connections than targets: the targets share keep-alive agents', async () => {
    // Prepare
    const fleet = fleetOf();
    connections = 0;

    // Act
    const report = (await fleet.audit())._unsafeUnwrap();
    fleet.destroy();

    // Assess: every target audited; per target at most 4 ECR calls in flight (the listing and the
    // three registry rules), plus the fleet's own STS client.
    expect(report.targets.filter((t) => t.status === 'ok')).toHaveLength(TARGETS);
    expect(connections).toBeGreaterThan(0);
    expect(connections).toBeLessThan(TARGETS);
  });

  it('leaves a requestHandler you give as it is: each target opens its own connections', async () => {
    // Prepare
    const fleet = fleetOf({ clientConfig: { requestHandler: { connectionTimeout: 5_000 } } });
    connections = 0;

    // Act
    const report = (await fleet.audit())._unsafeUnwrap();
    fleet.destroy();

    // Assess
    expect(report.targets.filter((t) => t.status === 'ok')).toHaveLength(TARGETS);
    expect(connections).toBeGreaterThanOrEqual(TARGETS);
  });
});
