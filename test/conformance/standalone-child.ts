// Runs the standalone emulator as its own process on a free port, so a test can SIGKILL it.
// Usage: standalone-child.ts <data-dir>
import { serveLocalAws } from '../../src/testing/standalone.js';

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: standalone-child.ts <data-dir>');
process.exitCode = await serveLocalAws({ port: 0, dataDir });
