/**
 * The fleet migration's done-when test (issue 16): a fleet migration in a child process is
 * SIGKILLed once one repository is finished and another is in the middle of a copy; a new process
 * resumes from the fleet journal. No image is lost, every repository has the target encryption, no
 * staging repository and no orphan grant is left, and no journal remains.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateRepositoryCommand, DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EncryptedRegistry } from '../../src/index.js';
import { type LocalAws, pushImage, randomBytes, startLocalAws } from '../../src/testing/index.js';
import type { FleetChildConfig } from './migrate-fleet-child.js';

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'migrate-fleet-child.ts');

interface ChildOutcome {
  readonly signal: NodeJS.Signals | null;
  readonly line: { readonly ok: boolean; readonly totals?: Record<string, number> } | undefined;
  readonly stderr: string;
}

const runChild = (config: FleetChildConfig): Promise<ChildOutcome> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      const last = stdout.trim().split('\n').filter(Boolean).pop();
      resolve({ signal, line: last === undefined ? undefined : (JSON.parse(last) as ChildOutcome['line']), stderr });
    });
  });

describe('migrateRepositories survives SIGKILL mid-run and resumes in a new process', () => {
  let aws: LocalAws;
  let ecr: ECRClient;
  let registry: EncryptedRegistry;
  let dir: string;
  let keyArn: string;

  beforeAll(async () => {
    aws = await startLocalAws();
    ecr = new ECRClient(aws.clientConfig());
    registry = new EncryptedRegistry({ clientConfig: aws.clientConfig(), poll: { initialDelayMs: 5, maxDelayMs: 20, timeoutMs: 2000 } });
    const kms = new KMSClient(aws.clientConfig());
    keyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn ?? '';
    kms.destroy();
    dir = mkdtempSync(join(tmpdir(), 'fleet-crash-'));
  });
  afterAll(async () => {
    registry.destroy();
    ecr.destroy();
    await aws.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const digestsOf = async (name: string): Promise<string[]> =>
    ((await ecr.send(new DescribeImagesCommand({ repositoryName: name, maxResults: 1000 }))).imageDetails ?? []).map((d) => d.imageDigest ?? '').sort();

  it('is killed after one repository finished and another is mid-copy; the resumed run loses no image and leaves no staging repository or orphan grant', async () => {
    // Prepare: four AES256 repositories with a few images each.
    const names = ['crashfleet/one', 'crashfleet/two', 'crashfleet/three', 'crashfleet/four'];
    for (const [i, name] of names.entries()) {
      await ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
      for (let image = 0; image < 3; image++) {
        const seed = 1000 * (i + 1) + 10 * image;
        await pushImage(ecr, name, { layers: [randomBytes(40 * 1024, seed), randomBytes(20 * 1024, seed + 1)], tags: [`v${image}`], label: `${name}-${image}` });
      }
    }
    const before = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await digestsOf(n)] as const)));
    const journal = join(dir, 'fleet.json');
    const config = (mode: 'migrate' | 'resume', killMidCopy: boolean): FleetChildConfig => ({
      endpoint: aws.endpoint,
      region: aws.region,
      credentials: { accessKeyId: aws.credentials.accessKeyId, secretAccessKey: aws.credentials.secretAccessKey },
      journal,
      mode,
      encryption: { type: 'KMS', key: keyArn },
      namePattern: 'crashfleet/*',
      killMidCopy,
    });

    // Act: the first process dies mid-run; a second one resumes.
    const killed = await runChild(config('migrate', true));
    const atKill = JSON.parse(readFileSync(journal, 'utf8')) as { repositories: { repositoryName: string; status: string }[] };
    const inFlight = readdirSync(dir).filter((f) => f.startsWith('.encrypted-ecr-migration-') && f.endsWith('.json'));
    const stagingAtKill = (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName).filter((n) => n.includes('-migrating-'));
    const resumed = await runChild(config('resume', false));

    // Assess: killed where intended (one finished, one mid-copy with its staging repository and journal).
    expect({ signal: killed.signal, line: killed.line }).toEqual({ signal: 'SIGKILL', line: undefined });
    expect(atKill.repositories.filter((r) => r.status === 'migrated').length).toBeGreaterThanOrEqual(1);
    expect(atKill.repositories.filter((r) => r.status === 'running').length).toBeGreaterThanOrEqual(1);
    expect(inFlight.length).toBeGreaterThanOrEqual(1);
    expect(stagingAtKill.length).toBeGreaterThanOrEqual(1);
    // The resumed run finished everything.
    expect({ line: resumed.line, stderr: resumed.stderr }).toMatchObject({ line: { ok: true, totals: { migrated: expect.any(Number) as number, failed: 0, pending: 0 } }, stderr: '' });
    for (const name of names) {
      const repo = (await ecr.send(new DescribeRepositoriesCommand({ repositoryNames: [name] }))).repositories?.[0];
      expect({ name, digests: await digestsOf(name), type: repo?.encryptionConfiguration?.encryptionType, key: repo?.encryptionConfiguration?.kmsKey }).toEqual({
        name,
        digests: before[name],
        type: 'KMS',
        key: keyArn,
      });
      const objects = aws.inspect.ecr?.storedObjects(undefined, name) ?? [];
      expect(new Set(objects.map((o) => o.encryptedWith))).toEqual(new Set([keyArn]));
    }
    const repositories = (aws.inspect.ecr?.repositories() ?? []).map((r) => r.repositoryName);
    expect(repositories.filter((n) => n.includes('-migrating-'))).toEqual([]);
    expect((await registry.findOrphanedGrants())._unsafeUnwrap().keys.flatMap((k) => k.orphans)).toEqual([]);
    expect(existsSync(journal)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 240_000);
});
