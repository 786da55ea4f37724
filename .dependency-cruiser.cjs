// @ts-check
/**
 * The boundary check (issue 14), run by `npm run lint:boundaries` (part of `npm run lint` and so of
 * `npm test`). THE layer list of `src/` lives here, once: docs/architecture.md quotes it.
 *
 * A module may import modules of its own layer or of a lower one, never of a higher one; no import
 * cycle anywhere in `src/`. Type-only imports (`import type`) count: a type from a higher layer
 * couples the lower one to it just the same (move the type down instead).
 */

/** The layers of `src/`, lowest first. A path ending in `/` is a folder. */
const LAYERS = [
  { name: 'core', paths: ['src/types.ts', 'src/errors.ts'] },
  { name: 'base', paths: ['src/internal/', 'src/validate/', 'src/encryption/'] },
  { name: 'steps', paths: ['src/steps/'] },
  { name: 'domain', paths: ['src/grants/', 'src/policy/'] },
  { name: 'features', paths: ['src/preflight/', 'src/migration/', 'src/operations/', 'src/fleet-migration/'] },
  { name: 'registry', paths: ['src/registry.ts', 'src/registry-options.ts', 'src/registry-context.ts', 'src/registry-inputs.ts', 'src/fleet/'] },
  { name: 'entry', paths: ['src/index.ts'] },
  // The test kit (`encrypted-ecr/testing`, its own bundle): it may use any library module.
  { name: 'test kit', paths: ['src/testing/', 'src/probes/'] },
  // The bin: the library only through its public entries (rule `cli-public-entries-only`).
  { name: 'cli', paths: ['src/cli/'] },
];

/** Modules with an entry: from outside, the library reaches them only through it (or `types.ts`). */
const MODULES_WITH_ENTRY = ['src/preflight/', 'src/policy/', 'src/migration/'];

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pattern = (paths) => `^(${paths.map((p) => (p.endsWith('/') ? escapeRegExp(p) : `${escapeRegExp(p)}$`)).join('|')})`;

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const layerRules = LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.name.replace(/ /g, '-')}`,
  comment: `The ${layer.name} layer imports only from its own layer or lower ones (${LAYERS.slice(0, i + 1)
    .map((l) => l.name)
    .join(', ')}): no import from ${LAYERS.slice(i + 1)
    .map((l) => l.name)
    .join(', ')}. Move the shared code down a layer.`,
  severity: 'error',
  from: { path: pattern(layer.paths) },
  to: { path: pattern(LAYERS.slice(i + 1).flatMap((l) => l.paths)) },
}));

const library = LAYERS.slice(0, LAYERS.findIndex((l) => l.name === 'entry') + 1).flatMap((l) => l.paths);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle in src/ (type-only imports included).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'cli-public-entries-only',
      comment: 'src/cli/ imports the library only through its public entries, src/index.ts and src/testing/index.ts.',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^src/', pathNot: ['^src/cli/', '^src/index\\.ts$', '^src/testing/index\\.ts$'] },
    },
    ...MODULES_WITH_ENTRY.map((dir) => ({
      name: `through-entry-${dir.replace(/^src\/|\/$/g, '')}`,
      comment: `The rest of the library reaches ${dir} only through its index.ts (or types.ts, its public types).`,
      severity: /** @type {const} */ ('error'),
      from: { path: pattern(library), pathNot: `^${escapeRegExp(dir)}` },
      to: { path: `^${escapeRegExp(dir)}`, pathNot: `^${escapeRegExp(dir)}(index|types)\\.ts$` },
    })),
    {
      name: 'no-unresolvable',
      comment: 'Every relative import resolves to a file.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    // See `import type` and type-only re-exports (they count, see above).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'], extensions: ['.ts', '.js', '.mjs', '.cjs', '.d.ts'] },
    // The `.js` specifiers of TS ESM resolve to their `.ts` sources.
    extraExtensionsToScan: [],
    reporterOptions: { text: { highlightFocused: true } },
  },
};
