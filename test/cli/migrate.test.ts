import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CreateRepositoryCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { seedRealisticRepository } from '../../src/testing/index.js';
import { useCliEmulator } from '../fixtures/cli-emulator.js';
import { at, CLI, runCli } from './helpers.js';

const cli = useCliEmulator({ dirPrefix: 'encrypted-ecr-cli-migrate-', key: { description: 'migration target', alias: 'alias/target' } });

interface Plan {
  readonly ready: boolean;
  readonly nothingToDo: boolean;
  readonly counts: { readonly images: number; readonly tags: number };
  readonly to: { readonly type: string; readonly keyArn?: string };
}
interface Result {
  readonly changed: boolean;
  readonly resumed: boolean;
  readonly counts: { readonly images: number; readonly tags: number };
  readonly to: { readonly type: string; readonly keyArn?: string };
}

const seed = async (name: string): Promise<number> => {
  await cli.ecr.send(new CreateRepositoryCommand({ repositoryName: name }));
  const seeded = await seedRealisticRepository(cli.ecr, name, { layerBytes: 64 * 1024 });
  return seeded.images.length;
};

// Each test runs the built CLI several times, a whole migration among them: 27 s of the default
// 30 s on a loaded 2-core machine (two CPU hogs).
describe('encrypted-ecr migrate', { timeout: 120_000 }, () => {
  it('--plan reads only and says what would move; then the migration needs --yes off a terminal, and keeps every image', async () => {
    const images = await seed('legacy/app');

    const plan = await runCli(['migrate', 'legacy/app', '--kms-key', 'alias/target', '--plan', ...at(cli.aws)], cli.env);
    expect(plan.code).toBe(0);
    expect(plan.json<Plan>()).toMatchObject({ ready: true, nothingToDo: false, counts: { images }, to: { type: 'KMS', keyArn: cli.keyArn } });
    expect(await cli.encryptionOf('legacy/app')).toMatchObject({ encryptionType: 'AES256' });

    const refused = await runCli(['migrate', 'legacy/app', '--kms-key', 'alias/target', ...at(cli.aws)], cli.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('pass --yes');

    const journal = join(cli.dir, 'app.json');
    const run = await runCli(['migrate', 'legacy/app', '--kms-key', 'alias/target', '--yes', '--journal', journal, ...at(cli.aws)], cli.env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const result = run.json<Result>();
    expect(result).toMatchObject({ changed: true, resumed: false, counts: { images }, to: { type: 'KMS', keyArn: cli.keyArn } });
    expect(await cli.encryptionOf('legacy/app')).toEqual({ encryptionType: 'KMS', kmsKey: cli.keyArn });
    expect(existsSync(journal)).toBe(false);

    const again = await runCli(['migrate', 'legacy/app', '--kms-key', cli.keyArn, '--plan', ...at(cli.aws)], cli.env);
    expect(again.json<Plan>().nothingToDo).toBe(true);
    // The older spelling `migrate start <repository>` still works.
    const viaStart = await runCli(['migrate', 'start', 'legacy/app', '--kms-key', cli.keyArn, '--plan', ...at(cli.aws)], cli.env);
    expect(viaStart.code).toBe(0);
    expect(viaStart.json<Plan>().nothingToDo).toBe(true);
  });

  it('Ctrl-C stops the migration with exit 130 and says how to resume; migrate resume finishes it', async () => {
    const images = await seed('legacy/two');
    const journal = join(cli.dir, 'two.json');
    // Slow layer downloads keep the copy in flight while the test interrupts it (layer bytes go
    // over the registry API, so the copy's first ECR call per layer is GetDownloadUrlForLayer).
    const slow = cli.aws.faults.latency(300, { operation: 'GetDownloadUrlForLayer' });
    const uploadsBefore = cli.aws.inspect.calls({ operation: 'GetDownloadUrlForLayer' }).length;
    const child = spawn(process.execPath, [CLI, 'migrate', 'legacy/two', '--kms-key', 'alias/target', '--yes', '--journal', journal, ...at(cli.aws)], {
      env: cli.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    try {
      // Interrupt once the copy has started: the migration's first layer download reached the emulator.
      await new Promise<void>((done) => {
        const check = (): void => {
          if (cli.aws.inspect.calls({ operation: 'GetDownloadUrlForLayer' }).length > uploadsBefore || child.exitCode !== null) done();
          else setTimeout(check, 20);
        };
        check();
      });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      slow.remove();
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toContain(`encrypted-ecr migrate resume --journal ${journal}`);
    expect(JSON.parse(stdout)).toMatchObject({ error: { kind: 'MigrationFailed', stepError: { kind: 'Aborted' } } });
    expect(existsSync(journal)).toBe(true);

    const resumed = await runCli(['migrate', 'resume', '--journal', journal, '--yes', ...at(cli.aws)], cli.env);
    expect(resumed.code).toBe(0);
    expect(resumed.json<Result>()).toMatchObject({ changed: true, resumed: true, counts: { images }, to: { type: 'KMS', keyArn: cli.keyArn } });
    expect(await cli.encryptionOf('legacy/two')).toEqual({ encryptionType: 'KMS', kmsKey: cli.keyArn });
  });

  it('an unknown repository is exit 3; a missing journal for resume is a usage error', async () => {
    const missing = await runCli(['migrate', 'no-such-repo', '--kms-key', 'alias/target', '--plan', ...at(cli.aws)], cli.env);
    expect(missing.code).toBe(3);
    expect(missing.json<{ error: { kind: string } }>().error.kind).toBe('RepositoryNotFound');

    const noJournal = await runCli(['migrate', 'resume', '--yes', ...at(cli.aws)], cli.env);
    expect(noJournal.code).toBe(2);
    expect(noJournal.stderr).toContain('migrate resume needs --journal <file> (one repository) or --fleet-journal <file>');
  });
});
