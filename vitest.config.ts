import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One server and one migrated template per run; every test file clones its own database.
    globalSetup: ['test/support/global-setup.ts'],
    // Child processes rather than threads: pg sockets and spawned CLIs behave as in production.
    pool: 'forks',
    // Two cores here; PostgreSQL needs CPU too.
    maxWorkers: 2,
    // Starting an embedded server or a container, and cloning databases, can take a while on CI.
    hookTimeout: 60_000,
    testTimeout: 30_000,
    teardownTimeout: 30_000,
  },
});
