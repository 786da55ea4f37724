import { dirname, resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';

type EsbuildPlugin = NonNullable<Options['esbuildPlugins']>[number];

const SRC = resolve(import.meta.dirname, 'src');

/**
 * The bin imports the library only through its public entries (`src/index.ts`,
 * `src/testing/index.ts`, with dynamic `import()`; eslint enforces it). This keeps those imports
 * external, pointing at the files the library build writes next to `dist/cli.js`, so the library is
 * not bundled a second time and the emulator never enters the bin.
 */
const publicEntriesExternal: EsbuildPlugin = {
  name: 'encrypted-ecr-public-entries-external',
  setup(build) {
    const entries = new Map([
      [resolve(SRC, 'index.js'), './index.js'],
      [resolve(SRC, 'testing/index.js'), './testing/index.js'],
    ]);
    build.onResolve({ filter: /(^|\/)index\.js$/ }, (args) => {
      if (!args.path.startsWith('.')) return undefined;
      const built = entries.get(resolve(dirname(args.importer), args.path));
      return built === undefined ? undefined : { path: built, external: true };
    });
  },
};

export default defineConfig([
  {
    // The library: one public entry plus the `testing` subpath (the local AWS emulator) and `testing/mocks`.
    entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts', 'testing/mocks/index': 'src/testing/mocks/index.ts' },
    format: ['esm', 'cjs'],
    // tsup's dts step sets `baseUrl`, which TypeScript 6 deprecates.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    // No source maps in the package: the output is not minified (stack traces read as is), and the
    // maps were 5 MB of the tarball, pointing at src/ files the package does not ship.
    sourcemap: false,
    clean: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
  },
  {
    // The `encrypted-ecr` bin: ESM only; commander, the SDK and the library's built entries external.
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: false,
    clean: false,
    target: 'node20',
    splitting: false,
    treeshake: true,
    esbuildPlugins: [publicEntriesExternal],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
