/**
 * The `encrypted-ecr` bin. Wires the process's streams to {@link runCli}; Ctrl-C exits 130.
 */
import { createRequire } from 'node:module';
import { type CliIo, errorLine } from './output.js';
import { EXIT } from './exit-codes.js';
import { interrupt } from './interrupt.js';
import { runCli } from './program.js';

// The SDK warns on every run that its releases after January 2027 need Node 22; this package
// supports Node >= 20, and one warning per command is noise in pipelines. Users can set it to 'false'.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const version = (): string => {
  try {
    // dist/cli.js → the package's own package.json.
    const pkg = createRequire(import.meta.url)('../package.json') as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
};

const io: CliIo = {
  out: (text) => void process.stdout.write(`${text}\n`),
  err: (text) => void process.stderr.write(`${text}\n`),
  errRaw: (text) => void process.stderr.write(text),
  stdoutIsTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
  stdinIsTty: process.stdin.isTTY === true,
  env: process.env,
};

// `local` handles its own signals (it stops the emulator cleanly). Otherwise Ctrl-C exits 130 at
// once, unless a command took it to stop cleanly (migrate: the journal); a second Ctrl-C always exits.
if (process.argv[2] !== 'local') {
  process.on('SIGINT', () => {
    if (interrupt()) return;
    if (io.stderrIsTty) io.errRaw('\r\x1b[2K');
    io.err(errorLine('Interrupted', 'interrupted (Ctrl-C)'));
    process.exit(EXIT.interrupted);
  });
}

runCli(process.argv.slice(2), io, version()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    io.err(errorLine('Unexpected', `unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`));
    process.exitCode = EXIT.unexpected;
  },
);
