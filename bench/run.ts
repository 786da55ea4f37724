/**
 * `npm run bench [-- --only throughput,memory] [--quick] [--out file.json]`: runs the benchmarks
 * against the local emulator, prints the table and writes `bench/results/latest.json`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTable } from './lib/table.js';
import type { BenchName } from './lib/types.js';

// The SDK warns once per process that Node 20 support ends in 2027; the package supports Node >= 20.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { parseOnly, runBenchmarks } = await import('./harness.js');

const USAGE = 'usage: npm run bench -- [--only throughput,concurrency,memory,calls,audit,policy,peer,fleet,orgAudit] [--quick] [--out <file.json>]';

const main = async (argv: readonly string[]): Promise<number> => {
  let only: BenchName[] | undefined;
  let quick = false;
  let out = resolve(dirname(fileURLToPath(import.meta.url)), 'results', 'latest.json');
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--only':
        only = parseOnly(value());
        break;
      case '--quick':
        quick = true;
        break;
      case '--out':
        out = resolve(value());
        break;
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        throw new Error(`unknown option ${arg}\n${USAGE}`);
    }
  }
  const results = await runBenchmarks({ ...(only ? { only } : {}), quick, log: (line) => console.error(line) });
  console.log(formatTable(results));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwritten ${out}`);
  const failed = results.figures.filter((f) => f.pass === false);
  // A missed target is a finding, not a crash: the exit code says so for scripts. A quick run's
  // sizes are too small for the targets to mean anything, so it only has to produce every figure.
  if (quick) {
    if (failed.length > 0) console.log(`(--quick: ${failed.length} target(s) missed at tiny sizes; targets are judged on full sizes only)`);
    return 0;
  }
  return failed.length > 0 ? 1 : 0;
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 2;
  },
);
