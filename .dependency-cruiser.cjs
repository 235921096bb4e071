/**
 * Layer rules, checked in CI by `npm run lint:layers` (dependency-cruiser). The folders and what
 * each may use are described in CONTRIBUTING.md ("Map of the folders") and docs/architecture.md.
 */
/**
 * The engine's folders from the bottom up (docs/architecture.md, "Layers"). A folder may use its
 * own layer's folders and those below, never one above: a new import that goes up is a design
 * change, made here and in the docs, not by accident.
 */
const CORE_LAYERS = [
  ['errors', 'azure'],
  ['util'],
  ['manifest'],
  ['staging', 'drives'],
  ['journal'],
  ['chunks', 'session'],
  ['job', 'plan', 'restore', 'verify', 'demo'],
  ['check', 'hardware', 'report'],
  ['pipeline', 'datacenter'],
];

const layerRules = CORE_LAYERS.slice(0, -1).map((layer, i) => ({
  name: `layer-${layer.join('-')}`,
  comment: `core/{${layer.join(',')}} may not use a folder of a higher layer (.dependency-cruiser.cjs CORE_LAYERS).`,
  severity: 'error',
  from: { path: `^core/(${layer.join('|')})/` },
  to: {
    path: `^core/(${CORE_LAYERS.slice(i + 1)
      .flat()
      .join('|')})/`,
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-folder-cycle',
      comment: 'Folders form a DAG: a folder never reaches back to one that uses it (docs/architecture.md, "Layers").',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-module-cycle',
      comment: 'No module imports itself through others.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'core-not-cli',
      comment: 'The engine knows nothing of the command line.',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^(cli|bench|test|fixtures)/' },
    },
    {
      name: 'native-not-core',
      comment:
        'native/ implements the interfaces core/ uses; of core/ it may only use the leaves core/azure/ (the service definitions it implements) and core/errors/ (the error every layer throws).',
      severity: 'error',
      from: { path: '^native/' },
      to: { path: '^(core|cli|bench|test|fixtures)/', pathNot: '^core/(azure|errors)/' },
    },
    {
      name: 'errors-is-a-leaf',
      comment: 'core/errors/ holds SeedshipError and its codes (docs/errors.md): it imports no module of ours.',
      severity: 'error',
      from: { path: '^core/errors/' },
      to: { path: '^(core|native|cli)/', pathNot: '^core/errors/' },
    },
    {
      name: 'azure-is-a-leaf',
      comment:
        'core/azure/ holds the Azure service definitions as plain data and pure functions: it imports no module of ours.',
      severity: 'error',
      from: { path: '^core/azure/' },
      to: { path: '^(core|native|cli)/', pathNot: '^core/azure/' },
    },
    {
      name: 'core-uses-native-interfaces-only',
      comment: 'core/ reaches the OS only through the interfaces native/ implements (and the byte-name encoding).',
      severity: 'error',
      from: { path: '^core/' },
      to: { path: '^native/', pathNot: '^native/(interfaces|blob-store-types|raw-names)\\.ts$' },
    },
    {
      name: 'commands-not-program',
      comment: 'A command module uses cli/shared/ (types in cli/shared/types.ts), never the program that registers it.',
      severity: 'error',
      from: { path: '^cli/(commands|shared)/' },
      to: { path: '^cli/(program|main)\\.ts$' },
    },
    {
      name: 'shared-not-commands',
      comment: 'cli/shared/ serves every command and knows none of them.',
      severity: 'error',
      from: { path: '^cli/shared/' },
      to: { path: '^cli/commands/' },
    },
    {
      name: 'cli-through-core-index',
      comment: 'cli/ and bench/ use the engine through core/index.ts (and the leaves core/azure/, core/errors/).',
      severity: 'error',
      from: { path: '^(cli|bench)/' },
      to: { path: '^core/', pathNot: '^core/(index\\.ts|azure/|errors/)' },
    },
    {
      name: 'no-test-code-in-product',
      comment: 'Product code never imports test code.',
      severity: 'error',
      from: { path: '^(core|native|cli|bench|fixtures)/' },
      to: { path: '^test/' },
    },
    {
      name: 'no-unresolvable',
      comment:
        "@cloudpss/zstd's subpath exports (bench/micro-bench.ts only) are not resolved by dependency-cruiser 17.",
      severity: 'error',
      from: {},
      to: { couldNotResolve: true, pathNot: '^@cloudpss/zstd/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|native/addon/build)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
