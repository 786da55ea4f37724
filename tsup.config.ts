import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: one public entry plus the `testing` subpath (the local AWS emulator) and `testing/mocks`.
    entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts', 'testing/mocks/index': 'src/testing/mocks/index.ts' },
    format: ['esm', 'cjs'],
    // tsup's dts step sets `baseUrl`, which TypeScript 6 deprecates.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
  },
  {
    // The `encrypted-ecr` bin: ESM only, the library bundled in, commander and the SDK external.
    entry: { cli: 'src/cli/index.ts' },
    format: ['esm'],
    dts: false,
    sourcemap: true,
    clean: false,
    target: 'node20',
    splitting: false,
    treeshake: true,
    banner: { js: '#!/usr/bin/env node' },
  },
]);
