/** Runs a bench script in a child Node process (through tsx) and reads the one JSON line it prints last. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs `script` with `job` as its one argument (JSON), with `nodeFlags` before it (e.g.
 * `--expose-gc`), and answers the last line it printed, parsed. A child that fails rejects.
 * `BENCH_CHILD_FLAGS` adds Node flags to every child, e.g. to profile the library side alone:
 * `BENCH_CHILD_FLAGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench -- --only orgAudit`.
 */
export const runJsonChild = async <T>(script: string, job: Readonly<Record<string, unknown>>, nodeFlags: readonly string[] = []): Promise<T> => {
  const extra = (process.env.BENCH_CHILD_FLAGS ?? '').split(/\s+/).filter((flag) => flag !== '');
  const { stdout } = await run(process.execPath, [...nodeFlags, ...extra, '--import', 'tsx', script, JSON.stringify(job)], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    maxBuffer: 1024 * 1024,
  });
  const last = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as T;
};
