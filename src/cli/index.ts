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

/**
 * The streams whose reader went away (`encrypted-ecr audit | head -1`): what is written to them
 * later is dropped, quietly, and the command finishes as it would have (a migration is not cut
 * short because nobody reads its output). Without this, Node throws the EPIPE as an unhandled
 * 'error' event, with a stack trace.
 */
const gone = new Set<NodeJS.WriteStream>();
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
    gone.add(stream);
  });
}
const write = (stream: NodeJS.WriteStream, text: string): void => {
  if (!gone.has(stream)) stream.write(text);
};

const io: CliIo = {
  out: (text) => write(process.stdout, `${text}\n`),
  err: (text) => write(process.stderr, `${text}\n`),
  errRaw: (text) => write(process.stderr, text),
  stdoutIsTty: process.stdout.isTTY === true,
  stderrIsTty: process.stderr.isTTY === true,
  stdinIsTty: process.stdin.isTTY === true,
  stderrColumns: () => process.stderr.columns,
  columns: process.stdout.columns,
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
