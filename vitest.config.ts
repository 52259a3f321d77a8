import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Forks, not threads: several tests start child processes and servers.
    pool: 'forks',
    // Two files at once even on 2 CPUs. Vitest's default (CPUs - 1) ran the suite one file
    // at a time on the 2-CPU CI machine, while most files spend much of their time waiting
    // on PostgreSQL, child processes and sockets.
    maxWorkers: Math.max(2, availableParallelism()),
    // Each worker process runs its files in one module registry instead of re-importing
    // lib/, hono, zod, pg… for every file (a third of the suite's CPU). So a test file
    // must leave shared state as it found it: no vi.mock / vi.stubEnv / vi.stubGlobal, no
    // process listeners or process.env writes, spies restored, servers and pools closed.
    // `npx vitest run --isolate` runs with a fresh registry per file, to rule this out.
    isolate: false,
    // The edge bundles the run builds (test/support/edge-build.ts, in a directory named
    // aisvc-edge-build-*) are imported by Node itself: through Vite's transform, 44
    // minified ~300 KB files took ~35 s to import instead of ~9 s.
    server: { deps: { external: [/[\\/]aisvc-edge-build-/] } },
  },
});
