import type { TestProject } from 'vitest/node';
import { startRedisCluster } from './redis-cluster.js';

declare module 'vitest' {
  interface ProvidedContext {
    /** REDIS_CLUSTER_NODES of the run's Redis Cluster (the `cluster` project only). */
    redisClusterNodes: string;
  }
}

/** One Redis Cluster for every file of the `cluster` project; each file still uses its own queue prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startRedisCluster();
  project.provide('redisClusterNodes', cluster.nodes);
  return () => cluster.stop();
}
