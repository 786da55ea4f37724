// Fails when a runtime dependency (dependencies and peerDependencies, transitively) is not
// permissively licensed. Our users ship these packages: no GPL, AGPL, LGPL or SSPL.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PERMISSIVE = /^(MIT|ISC|Apache-2\.0|BSD-2-Clause|BSD-3-Clause|0BSD|Unlicense|CC0-1\.0|BlueOak-1\.0\.0|Python-2\.0)$/;
const root = JSON.parse(readFileSync('package.json', 'utf8'));
const seen = new Map();
const problems = [];

const findPackage = (name, fromDir) => {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
};

const licenseOk = (license) => {
  if (typeof license !== 'string') return false;
  // SPDX expressions: "(MIT OR Apache-2.0)" is fine if any alternative is; "A AND B" needs both.
  const expr = license.replace(/[()]/g, '').trim();
  if (/ OR /.test(expr)) return expr.split(/ OR /).some((l) => licenseOk(l.trim()));
  if (/ AND /.test(expr)) return expr.split(/ AND /).every((l) => licenseOk(l.trim()));
  return PERMISSIVE.test(expr);
};

const visit = (name, fromDir) => {
  const file = findPackage(name, fromDir);
  if (!file) return problems.push(`${name}: not installed`);
  if (seen.has(file)) return;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  seen.set(file, pkg.license);
  if (!licenseOk(pkg.license)) problems.push(`${pkg.name}@${pkg.version}: ${JSON.stringify(pkg.license)}`);
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    if (pkg.peerDependenciesMeta?.[dep]?.optional && !findPackage(dep, dirname(file))) continue;
    visit(dep, dirname(file));
  }
};

if (!licenseOk(root.license)) problems.push(`encrypted-ecr itself: ${root.license}`);
for (const dep of Object.keys({ ...root.dependencies, ...root.peerDependencies })) visit(dep, process.cwd());

if (problems.length > 0) {
  console.error(`licences: ${problems.length} runtime package(s) not permissively licensed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`licences: ${seen.size} runtime packages, all permissive`);
