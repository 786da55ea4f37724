/**
 * The CLI's only ways into the library and the test kit: their public entries (`src/index.ts`,
 * `src/testing/index.ts`), loaded on first use with dynamic `import()`. Everything else in
 * `src/cli/` imports them for types only, so `--version` and `--help` load no AWS SDK module.
 *
 * The build (`tsup.config.ts`) keeps both imports external: `dist/cli.js` imports the built
 * `./index.js` and `./testing/index.js`, so the library is never bundled a second time and the
 * emulator stays out of the bin.
 */

import type * as LibraryModule from '../index.js';
import type * as TestKitModule from '../testing/index.js';

/** The public API of `encrypted-ecr` (`src/index.ts`). */
export type Library = typeof LibraryModule;
/** The public API of `encrypted-ecr/testing` (`src/testing/index.ts`). */
export type TestKit = typeof TestKitModule;

let loaded: Library | undefined;

/**
 * The library, loaded on first call (with the AWS SDK it imports).
 *
 * @example
 * ```ts
 * const { EncryptedRegistry } = await loadLibrary();
 * ```
 */
export const loadLibrary = async (): Promise<Library> => {
  loaded ??= await import('../index.js');
  return loaded;
};

/**
 * The library once {@link loadLibrary} has loaded it. Only code that holds a library value (a
 * `RegistryError`, a report) calls it, so a missing library is a bug.
 *
 * @example
 * ```ts
 * loadedLibrary().isRetryable(error);
 * ```
 */
export const loadedLibrary = (): Library => {
  if (loaded === undefined) throw new Error('bug: the library is used before loadLibrary() loaded it');
  return loaded;
};

let testKit: TestKit | undefined;

/**
 * The test kit (the local AWS emulator, the demo, the live probes), loaded on first call, only by
 * `local`, `demo` and `doctor --live`.
 *
 * @example
 * ```ts
 * const { runDemo } = await loadTestKit();
 * ```
 */
export const loadTestKit = async (): Promise<TestKit> => {
  testKit ??= await import('../testing/index.js');
  return testKit;
};

/**
 * The test kit if {@link loadTestKit} has loaded it: for what commander runs synchronously
 * (option parsers, help text) of a command whose hook loaded it first.
 *
 * @example
 * ```ts
 * const variants = loadedTestKit()?.AWS_VARIANT_VALUES;
 * ```
 */
export const loadedTestKit = (): TestKit | undefined => testKit;
