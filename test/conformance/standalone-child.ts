// Runs the standalone emulator as its own process, so a test can SIGKILL it.
import { runLocalAwsStandalone } from '../../src/testing/standalone.js';

process.exitCode = await runLocalAwsStandalone(process.argv.slice(2));
