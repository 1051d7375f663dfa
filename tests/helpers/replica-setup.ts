import type { TestProject } from 'vitest/node';
import { startReplica, type ReplicaInfo } from './pg-replica.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The streaming replica of the test cluster that the `replica` project's files share (replicaOf(inject('replica'))). */
    replica: ReplicaInfo;
  }
}

/** One streaming replica for the `replica` project's files: started before them, stopped and removed after. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const replica = await startReplica();
  project.provide('replica', { port: replica.port, dir: replica.dir, slot: replica.slot });
  return () => replica.destroy();
}
