import { defineConfig } from 'vitest/config';

// One process per test file (`forks`): Temporal's native worker and PGlite's WASM heap do not
// share well across threads. Every project runs with TZ=UTC from `npm test`; `domain-tz` re-runs
// the pure domain suite under a zone with a half-hour offset and DST so host-zone leaks show up.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: { name: 'domain', include: ['test/domain/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'domain-tz',
          include: ['test/domain/**/*.test.ts'],
          env: { TZ: 'Australia/Adelaide' },
        },
      },
      {
        extends: true,
        test: {
          name: 'storage',
          include: ['test/storage/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: { name: 'channels', include: ['test/channels/**/*.test.ts'] },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/setup/dev-server.global.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'timeskipping',
          include: ['test/timeskipping/**/*.test.ts'],
          globalSetup: ['test/setup/time-skipping.global.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
        },
      },
      {
        // Process-level faults (worker SIGKILL, Temporal and PostgreSQL restarts) on servers this
        // suite starts itself: no shared globalSetup. Not part of the default quick loop's budget:
        // a few minutes on 2 cores.
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
          testTimeout: 420_000,
          hookTimeout: 240_000,
        },
      },
      {
        // The Temporal Web UI in a real browser (Debian's chromium, driven by playwright-core): a
        // dev server with its UI and the embedded stack, started by the test file itself.
        extends: true,
        test: {
          name: 'ui',
          include: ['test/ui/**/*.test.ts'],
          setupFiles: ['test/setup/quiet-runtime.ts'],
          testTimeout: 180_000,
          hookTimeout: 240_000,
        },
      },
    ],
  },
});
