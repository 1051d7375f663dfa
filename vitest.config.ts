import { configDefaults, defineConfig } from 'vitest/config';

/** Test files that run against a streaming replica of the test cluster (started once for them). */
const REPLICA_TESTS = 'tests/**/*.replica.test.ts';

/**
 * Files that run a second time against a real Redis Cluster of three masters
 * (started once for the run by the `cluster` project): rescoring, warnings,
 * delivery with its pacing scripts, and the digest — plus tests/cluster/.
 */
const ON_CLUSTER = [
  'tests/cluster/**/*.test.ts',
  'tests/e2e/alerts-rescore.e2e.test.ts',
  'tests/integration/rescore.test.ts',
  'tests/e2e/alerts.e2e.test.ts',
  'tests/e2e/outbox.e2e.test.ts',
  'tests/integration/alerts.pacing.test.ts',
  'tests/e2e/digest.e2e.test.ts',
];

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
      {
        extends: true,
        test: { name: 'redis', include: ['tests/{unit,integration,e2e}/**/*.test.ts'], exclude: [...configDefaults.exclude, REPLICA_TESTS] },
      },
      { extends: true, test: { name: 'replica', include: [REPLICA_TESTS], globalSetup: ['tests/helpers/replica-setup.ts'] } },
      {
        extends: true,
        test: {
          name: 'cluster',
          include: ON_CLUSTER,
          globalSetup: ['tests/helpers/redis-cluster.setup.ts'],
          // tests/helpers/db.ts reads the cluster's nodes (provided by the setup) when this is set.
          env: { RETAIN_TEST_REDIS: 'cluster' },
        },
      },
    ],
  },
});
