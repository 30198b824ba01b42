// The house's dependency rules (see README "Layout"), checked by `pnpm lint`:
// core <- data, core <- runtime, model <- (data, runtime), serve <- (model, data, runtime); no cycles anywhere;
// core stays light (no TF.js); packages meet only through their index.ts.
const layer = (from, forbidden) => ({
  name: `${from}-layering`,
  comment: `@tfmlops/${from} may not depend on ${forbidden.join(', ')} (dependencies run one way)`,
  severity: 'error',
  from: { path: `^packages/${from}/src` },
  to: { path: `^packages/(${forbidden.join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment:
        'Import cycles (types included) make load order fragile; move shared types into a small types file.',
      severity: 'error',
      from: { path: '^packages/' },
      to: { circular: true },
    },
    layer('core', ['data', 'runtime', 'model', 'serve']),
    layer('data', ['runtime', 'model', 'serve']),
    layer('runtime', ['data', 'model', 'serve']),
    layer('model', ['serve']),
    {
      name: 'core-without-tfjs',
      comment: '@tfmlops/core is config, errors, logger and storage: importing it must not load TF.js.',
      severity: 'error',
      from: { path: '^packages/core/src' },
      to: { path: '@tensorflow/' },
    },
    {
      name: 'through-index-only',
      comment:
        "A package is used through its index.ts (its exports map), never through another package's files.",
      severity: 'error',
      from: { path: '^packages/([^/]+)/src' },
      to: { path: '^packages/([^/]+)/src/(?!index\\.ts$)', pathNot: '^packages/$1/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
};
