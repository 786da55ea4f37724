/**
 * The preflight's place in the layers (issue 14): it imports only from the layers below it, the
 * rest of the library reaches it only through its entry (`index.ts`, or `types.ts` for the public
 * types). (That the migration imports nothing from `src/operations/` is for the migration's own
 * check, once it is one module.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });

/** Every relative import of a file, as a path under `src/` (`preflight/index.ts`, `types.ts`, …). */
const importsOf = (file: string): string[] => {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.[^']+)'/g)].map((m) => m[1] ?? '');
  return specifiers.map((s) => relative(SRC, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
};

const within = (dir: string) => (path: string) => path === dir || path.startsWith(`${dir}/`);
const all = filesUnder(SRC).map((file) => ({ file: relative(SRC, file), imports: importsOf(file) }));

describe('layering of the preflight', () => {
  it('reads the imports it checks (the check itself works)', () => {
    const create = all.find((f) => f.file === 'operations/create-repository.ts');
    expect(create?.imports).toContain('preflight/index.ts');
  });

  it('src/preflight/ imports nothing from operations, migration, the registry, the CLI or the test kit', () => {
    const above = ['operations', 'migrate', 'migration', 'registry.ts', 'index.ts', 'cli', 'testing'].map(within);
    const offending = all
      .filter((f) => within('preflight')(f.file))
      .flatMap((f) => f.imports.filter((i) => above.some((a) => a(i))).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });

  it('the rest of the library reaches src/preflight/ only through index.ts (and types.ts for the public types)', () => {
    const offending = all
      .filter((f) => !within('preflight')(f.file))
      .flatMap((f) =>
        f.imports.filter((i) => within('preflight')(i) && i !== 'preflight/index.ts' && i !== 'preflight/types.ts').map((i) => `${f.file} → ${i}`),
      );
    expect(offending).toEqual([]);
  });

  it('the shared layers (types, encryption) import no feature', () => {
    const features = ['preflight', 'operations', 'migrate', 'migration', 'steps', 'registry.ts'].map(within);
    const offending = all
      .filter((f) => f.file === 'types.ts' || within('encryption')(f.file))
      .flatMap((f) => f.imports.filter((i) => features.some((a) => a(i))).map((i) => `${f.file} → ${i}`));
    expect(offending).toEqual([]);
  });
});
