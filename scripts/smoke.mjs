// Loads the built package through both module systems, as a user's project would.
import { createRequire } from 'node:module';
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
console.log('smoke: encrypted-ecr loads through import and require, with its testing subpath');
