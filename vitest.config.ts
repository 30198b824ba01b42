import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts', 'bench/**/*.test.ts'],
    // wasm kernels and training steps are CPU-heavy on a 2-core machine; keep forks few and timeouts generous.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    coverage: {
      provider: 'v8',
      include: ['packages/*/src/**/*.ts'],
      exclude: ['**/*.test.ts', '**/*.test-support.ts', '**/cli.ts', '**/*-cli.ts', '**/index.ts'],
      reporter: ['text-summary', 'text', 'json-summary'],
      // The foundation package carries everything else; its coverage is a gate, not a statistic.
      thresholds: { 'packages/core/src/**': { lines: 90 } },
    },
  },
});
