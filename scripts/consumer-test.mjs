#!/usr/bin/env node
/**
 * The package as a user gets it: `npm pack` the built package into a temp folder, make a consumer
 * project there (test/consumer/), and run in it what docs/testing.md recommends:
 * - `tsc --noEmit` under `nodenext`, `node10` and `bundler` (every subpath resolves, with its types);
 * - the Vitest suite (test/consumer/vitest/), and the Jest suite (test/consumer/jest/, compiled to
 *   CommonJS by tsc and run by Jest without a transform);
 * - `encrypted-ecr/testing` loads where aws-sdk-client-mock is NOT installed (optional peer).
 *
 * No network: the tarball is extracted into the consumer's node_modules, and its dependencies
 * (the AWS SDK clients, neverthrow, commander, aws-sdk-client-mock, the test runners, TypeScript)
 * are symlinks to this repository's node_modules, which `npm ci` filled. Node and TypeScript
 * resolve a symlinked package from its real path, so each finds its own dependencies there.
 *
 * Needs `npm run build` first. Usage: `node scripts/consumer-test.mjs [--keep]`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(root, 'node_modules');
const keep = process.argv.includes('--keep');

/** What the consumer project installs besides encrypted-ecr itself. */
const DEPENDENCIES = [
  '@aws-sdk/client-ecr',
  '@aws-sdk/client-iam',
  '@aws-sdk/client-kms',
  '@aws-sdk/client-sts',
  'neverthrow',
  'commander',
  'aws-sdk-client-mock',
  'aws-sdk-client-mock-vitest',
  'aws-sdk-client-mock-jest',
  'vitest',
  'jest',
  '@jest/globals',
  'typescript',
  '@types/node',
];
/** What `encrypted-ecr/testing` needs at run time: no aws-sdk-client-mock. */
const RUNTIME_ONLY = DEPENDENCIES.slice(0, 6);

if (!existsSync(join(root, 'dist', 'testing', 'mocks', 'index.js'))) {
  console.error('consumer-test: dist/ is missing or stale: run `npm run build` first');
  process.exit(1);
}

const started = Date.now();
const step = (name, fn) => {
  const t = Date.now();
  fn();
  console.log(`consumer-test: ${name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
};
const run = (cwd, command, args) => {
  try {
    execFileSync(command, args, { cwd, stdio: 'pipe', encoding: 'utf8', env: { ...process.env, CI: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  } catch (error) {
    console.error(`consumer-test: \`${command} ${args.join(' ')}\` failed in ${cwd}`);
    console.error(String(error.stdout ?? ''));
    console.error(String(error.stderr ?? ''));
    throw error;
  }
};

const work = mkdtempSync(join(tmpdir(), 'encrypted-ecr-consumer-'));
/** A project folder whose node_modules has the package (extracted tarball) and the given dependencies (symlinks). */
const project = (name, tarball, dependencies) => {
  const dir = join(work, name);
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, 'encrypted-ecr'), { recursive: true });
  run(dir, 'tar', ['-xzf', tarball, '-C', join(nm, 'encrypted-ecr'), '--strip-components=1']);
  for (const dependency of dependencies) {
    const target = join(modules, dependency);
    if (!existsSync(target)) throw new Error(`consumer-test: ${dependency} is not in node_modules (run npm ci)`);
    mkdirSync(dirname(join(nm, dependency)), { recursive: true });
    symlinkSync(target, join(nm, dependency), 'dir');
  }
  return dir;
};

let failed = false;
try {
  let tarball = '';
  step('npm pack', () => {
    run(root, 'npm', ['pack', '--silent', '--pack-destination', work]);
    const packed = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (packed === undefined) throw new Error('consumer-test: npm pack made no tarball');
    tarball = join(work, packed);
  });

  const consumer = project('consumer', tarball, DEPENDENCIES);
  cpSync(join(root, 'test', 'consumer'), consumer, { recursive: true });
  const bin = (name) => join(modules, '.bin', name);

  // The Vitest and Jest matcher types cannot share one program (both augment `expect`): one check each.
  // node10 also checks the package's own declaration files (skipLibCheck off); the others skip them for speed.
  step('tsc --noEmit under nodenext (Vitest suite, subpaths)', () => run(consumer, bin('tsc'), ['-p', 'tsconfig.nodenext.json']));
  step('tsc --noEmit under nodenext (Jest suite)', () => run(consumer, bin('tsc'), ['-p', 'tsconfig.nodenext-jest.json']));
  step('tsc --noEmit under node10 (Jest suite, subpaths)', () => run(consumer, bin('tsc'), ['-p', 'tsconfig.node10.json']));
  step('tsc --noEmit under bundler (subpaths)', () => run(consumer, bin('tsc'), ['-p', 'tsconfig.bundler.json']));
  step('vitest run (the docs recipe)', () => run(consumer, bin('vitest'), ['run', 'vitest/', '--reporter=dot']));
  step('jest (the docs recipe, compiled to CommonJS)', () => {
    run(consumer, bin('tsc'), ['-p', 'tsconfig.jest.json']);
    writeFileSync(join(consumer, 'build', 'package.json'), '{ "type": "commonjs" }\n');
    run(consumer, bin('jest'), ['--ci', '--silent', '--config', 'jest.config.cjs']);
  });

  const bare = project('bare', tarball, RUNTIME_ONLY);
  step('encrypted-ecr/testing without aws-sdk-client-mock (import and require)', () => {
    run(bare, process.execPath, ['--input-type=module', '-e', "const t = await import('encrypted-ecr/testing'); if (typeof t.startLocalAws !== 'function') process.exit(1);"]);
    run(bare, process.execPath, ['-e', "if (typeof require('encrypted-ecr/testing').startLocalAws !== 'function') process.exit(1);"]);
  });
  console.log(`consumer-test: passed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
} catch (error) {
  failed = true;
  if (!String(error?.message ?? '').includes('failed')) console.error(error);
} finally {
  if (keep) console.log(`consumer-test: kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
