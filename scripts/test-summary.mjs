// Prints one closing line for the whole test command, in the plain form CI reads:
// "tests: N passed, N failed". It reads vitest's JSON reports of the runtime and type tests.
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of ['.vitest/unit.json', '.vitest/types.json']) {
  if (!existsSync(file)) {
    console.error(`test-summary: ${file} is missing: did the tests run?`);
    process.exit(1);
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + report.numTodoTests;
}
if (passed === 0) {
  console.error('test-summary: no test ran');
  process.exit(1);
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 ? 0 : 1);
