// Loads the built package through both module systems, as a user's project would.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const require = createRequire(import.meta.url);
const esm = await import('encrypted-ecr');
const cjs = require('encrypted-ecr');
const esmTesting = await import('encrypted-ecr/testing');
const cjsTesting = require('encrypted-ecr/testing');

for (const [name, mod] of [['import', esm], ['require', cjs]]) {
  assert.equal(typeof mod.EncryptedRegistry, 'function', `${name}: EncryptedRegistry`);
  assert.equal(typeof mod.isRegistryError, 'function', `${name}: isRegistryError`);
  const registry = new mod.EncryptedRegistry({ clientConfig: { region: 'eu-west-1' } });
  registry.destroy();
}
for (const [name, mod] of [['import', esmTesting], ['require', cjsTesting]]) {
  assert.ok(Object.keys(mod).length > 0, `${name}: encrypted-ecr/testing exports something`);
}
// The bin imports these from the built entries at run time (src/cli/library.ts): a rename would
// otherwise surface only when a user runs the command.
for (const name of ['EncryptedRegistry', 'isRetryable', 'explainAccess', 'generateEcrKeyPolicy', 'generateEndpointPolicy', 'generateRepositoryAdminPolicy', 'fileJournal', 'defaultJournalPath']) {
  assert.equal(typeof esm[name], 'function', `the bin needs ${name} from encrypted-ecr`);
}
assert.equal(typeof esm.EncryptedRegistry.prototype.doctor, 'function', 'the bin needs EncryptedRegistry#doctor');
for (const name of ['serveLocalAws', 'runDemo', 'runLiveProbes', 'resolveAwsVariants']) {
  assert.equal(typeof esmTesting[name], 'function', `the bin needs ${name} from encrypted-ecr/testing`);
}
const version = execFileSync(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), '--version'], { encoding: 'utf8' }).trim();
assert.equal(version, require('encrypted-ecr/package.json').version, 'encrypted-ecr --version');
console.log('smoke: encrypted-ecr loads through import and require, with its testing subpath, and the bin finds what it imports');
