import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Forks, not threads: several tests start child processes and servers.
    pool: 'forks',
    // The edge bundles the run builds (test/support/edge-build.ts, in a directory named
    // aisvc-edge-build-*) are imported by Node itself: through Vite's transform, 44
    // minified ~300 KB files took ~35 s to import instead of ~9 s.
    server: { deps: { external: [/[\\/]aisvc-edge-build-/] } },
  },
});
