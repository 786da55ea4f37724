import { defineConfig } from 'tsup';

export default defineConfig([
  {
    // The library: one public entry plus the `testing` subpath (the local AWS emulator).
    entry: { index: 'src/index.ts', 'testing/index': 'src/testing/index.ts' },
    format: ['esm', 'cjs'],
    // tsup's dts step sets `baseUrl`, which TypeScript 6 deprecates.
    dts: { compilerOptions: { ignoreDeprecations: '6.0' } },
    sourcemap: true,
    clean: true,
    target: 'node20',
    splitting: false,
    treeshake: true,
  },
]);
