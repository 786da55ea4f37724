/**
 * The examples are runnable: each one runs as a user would run it, in its own process, against
 * the local emulator configured through the environment (as `encrypted-ecr local` prints it).
 * They import the package by name (`encrypted-ecr`, `encrypted-ecr/testing`), as users do; in
 * this repository tsx maps the name to the sources (tsconfig.json "paths"), so `npm run demo`
 * works right after `npm ci`, with no build.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalAws, seedRealisticRepository, startLocalAws } from '../../src/testing/index.js';

const ROOT = resolve(import.meta.dirname, '../..');
const EXAMPLES = join(ROOT, 'examples');
// tsx's loader by absolute URL: the examples run from a scratch directory (the migration journal goes there).
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
// tsx reads tsconfig.json from the working directory; the examples run elsewhere, so name it.
const TSCONFIG = join(ROOT, 'tsconfig.json');

describe('examples/ import the package as users do', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports only encrypted-ecr, its subpaths, node: and the AWS SDK', (file) => {
    const source = readFileSync(join(EXAMPLES, file), 'utf8');
    const specifiers = [...source.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
    expect(specifiers.length).toBeGreaterThan(0);
    expect(specifiers.filter((s) => !/^(encrypted-ecr(\/testing(\/mocks)?)?|node:.+|@aws-sdk\/.+)$/.test(s))).toEqual([]);
  });

  it('resolves encrypted-ecr to the sources under tsx from the repository root, as `npm run demo` runs (no build needed)', () => {
    const script = "console.log(import.meta.resolve('encrypted-ecr'), import.meta.resolve('encrypted-ecr/testing'), import.meta.resolve('encrypted-ecr/testing/mocks'))";
    const out = execFileSync(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect(out.trim().split(' ')).toEqual(['src/index.ts', 'src/testing/index.ts', 'src/testing/mocks/index.ts'].map((f) => pathToFileURL(join(ROOT, f)).href));
  });
});

// Each example is a tsx child process: allow for a loaded machine (2 cores running the whole suite).
// Each example runs in a new tsx process: 74 s for one of them on a loaded 2-core machine (two CPU hogs).
describe('examples/ on the local emulator', { timeout: 240_000 }, () => {
  let aws: LocalAws;
  let cwd: string;
  const run = (file: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((done) => {
      const child = spawn(process.execPath, ['--import', TSX, join(EXAMPLES, file), ...args], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          AWS_ENDPOINT_URL: aws.endpoint,
          AWS_REGION: aws.region,
          AWS_ACCESS_KEY_ID: aws.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: aws.credentials.secretAccessKey,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          TSX_TSCONFIG_PATH: TSCONFIG,
          // No profile files: the credentials come from the environment only.
          AWS_CONFIG_FILE: join(cwd, 'none'),
          AWS_SHARED_CREDENTIALS_FILE: join(cwd, 'none'),
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => done({ code, stdout, stderr }));
    });

  beforeAll(async () => {
    aws = await startLocalAws();
    cwd = mkdtempSync(join(tmpdir(), 'encrypted-ecr-examples-'));
    const kms = new KMSClient(aws.clientConfig());
    const key = await kms.send(new CreateKeyCommand({}));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/ecr-app', TargetKeyId: key.KeyMetadata!.KeyId! }));
    kms.destroy();
  });
  afterAll(async () => {
    await aws.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('creates, migrates, deletes and sweeps as their comments say', async () => {
    // create-repository: preflight, then create with the key by alias.
    const created = await run('create-repository.ts', ['team/app', 'alias/ecr-app']);
    expect(created.code, created.stderr).toBe(0);
    expect(aws.inspect.ecr?.repositories().map((r) => [r.repositoryName, r.encryptionType])).toContainEqual(['team/app', 'KMS']);

    // migrate-repository: plan only without --yes, then migrate to AES256 keeping the images.
    const ecr = new ECRClient(aws.clientConfig());
    const seeded = await seedRealisticRepository(ecr, 'team/app', { layerBytes: 64 * 1024 });
    ecr.destroy();
    const planned = await run('migrate-repository.ts', ['team/app', 'AES256']);
    expect(planned.code, planned.stderr).toBe(0);
    expect(aws.inspect.ecr?.repositories().find((r) => r.repositoryName === 'team/app')?.encryptionType).toBe('KMS');
    const migrated = await run('migrate-repository.ts', ['team/app', 'AES256', '--yes']);
    expect(migrated.code, migrated.stderr).toBe(0);
    const after = aws.inspect.ecr?.repositories().find((r) => r.repositoryName === 'team/app');
    expect(after).toMatchObject({ encryptionType: 'AES256', imageCount: seeded.images.length });

    // delete-repository: refuses a non-empty repository without --force, deletes with it.
    const refused = await run('delete-repository.ts', ['team/app']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--force');
    const deleted = await run('delete-repository.ts', ['team/app', '--force']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(aws.inspect.ecr?.repositories().some((r) => r.repositoryName === 'team/app')).toBe(false);

    // sweep-orphaned-grants: a dry run over every key of the region.
    const swept = await run('sweep-orphaned-grants.ts', []);
    expect(swept.code, swept.stderr).toBe(0);
  });

  it('demo.ts (`npm run demo`) runs the lifecycle on its own emulator', async () => {
    const demo = await run('demo.ts', []);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain('deleted: verified: true');
  });
});
