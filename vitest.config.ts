import { configDefaults, defineConfig } from 'vitest/config';

/** Test files that run against a streaming replica of the test cluster (started once for them). */
const REPLICA_TESTS = 'tests/**/*.replica.test.ts';

export default defineConfig({
  test: {
    // Integration and e2e files each use their own database and queue prefix,
    // so files can run in parallel; two cores is the CI machine.
    fileParallelism: true,
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'default', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, REPLICA_TESTS] } },
      { extends: true, test: { name: 'replica', include: [REPLICA_TESTS], globalSetup: ['tests/helpers/replica-setup.ts'] } },
    ],
  },
});
