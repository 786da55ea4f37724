// @ts-check
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bench/results/**', 'test/consumer/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A dropped ResultAsync is a lost error: ResultAsync is a thenable, not a Promise.
      '@typescript-eslint/no-floating-promises': ['error', { checkThenables: true }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Focused or skipped tests must never be committed.
      'no-restricted-properties': [
        'error',
        { object: 'it', property: 'only' },
        { object: 'it', property: 'skip' },
        { object: 'test', property: 'only' },
        { object: 'test', property: 'skip' },
        { object: 'describe', property: 'only' },
        { object: 'describe', property: 'skip' },
      ],
    },
  },
  // The CLI uses the public API only, and loads it lazily (src/cli/library.ts): from the library it
  // may import types of the public entries; values come through `await import()` (this rule does
  // not see dynamic imports), so --version and --help load no AWS SDK module (test/cli/lazy.test.ts).
  ...[
    { files: ['src/cli/*.ts'], up: '\\.\\./' },
    { files: ['src/cli/commands/*.ts'], up: '\\.\\./\\.\\./' },
  ].map(({ files, up }) => ({
    files,
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^${up}(?!(testing/)?index\\.js$)`,
              message: 'src/cli imports the library only through its public entries, src/index.ts and src/testing/index.ts.',
            },
            {
              regex: `^${up}(testing/)?index\\.js$`,
              allowTypeImports: true,
              message: 'Load the library lazily: loadLibrary() / loadTestKit() of src/cli/library.ts (import types only).',
            },
            {
              regex: '^@aws-sdk/',
              allowTypeImports: true,
              message: "Load the AWS SDK lazily (await import('@aws-sdk/...')): --version and --help must not load it.",
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } } },
  { files: ['scripts/**', '**/*.mjs'], languageOptions: { globals: { ...globals.node } } },
);
