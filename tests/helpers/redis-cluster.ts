import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';

const run = promisify(execFile);

/**
 * A real Redis Cluster of three masters on loopback ports, for tests that
 * prove retain works on one. Each node is a daemonized redis-server with no
 * persistence in a directory of its own; `stop` shuts them down and removes
 * the directory.
 */
export interface LocalCluster {
  ports: number[];
  /** `127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3`: the value of REDIS_CLUSTER_NODES. */
  nodes: string;
  /**
   * SHUTDOWN NOSAVE one master and start it again: it comes back empty but
   * owning its slots (its nodes.conf is kept), as a master without
   * persistence or replicas does after a crash.
   */
  restartEmpty(port: number): Promise<void>;
  stop(): Promise<void>;
}

const MASTERS = 3;
/** A node also listens on port + 10000 (the cluster bus), so ports stay below 55536. */
const LOW = 30_000;
const HIGH = 45_000;

async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Ports free right now for a node and its bus; another run may still take one first (start-up then fails and is retried). */
async function pickPorts(): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < MASTERS) {
    const p = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (ports.some((q) => Math.abs(q - p) < 2)) continue;
    if ((await canBind(p)) && (await canBind(p + 10_000))) ports.push(p);
  }
  return ports;
}

async function ping(port: number): Promise<boolean> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    c.disconnect();
  }
}

async function clusterState(port: number): Promise<string | null> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 500 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    const info = String(await c.call('CLUSTER', 'INFO'));
    return /^cluster_state:(\w+)/m.exec(info)?.[1] ?? null;
  } catch {
    return null;
  } finally {
    c.disconnect();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function shutdownNode(port: number): Promise<void> {
  await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), 'shutdown', 'nosave']).catch(() => undefined);
}

/** Kill what is left by pid (a node that would not shut down, or a teardown that never ran). */
function killByPidFile(dir: string, port: number): void {
  try {
    const pid = Number(readFileSync(join(dir, `${port}.pid`), 'utf8').trim());
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

async function launchNode(dir: string, port: number): Promise<void> {
  // biome-ignore format: one flag and its value a line reads best
  await run('redis-server', [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--cluster-enabled', 'yes',
      '--cluster-config-file', join(dir, `${port}-nodes.conf`),
      '--save', '',
      '--appendonly', 'no',
      '--maxmemory-policy', 'noeviction',
      '--daemonize', 'yes',
      '--pidfile', join(dir, `${port}.pid`),
      '--logfile', join(dir, `${port}.log`),
      '--dir', dir,
    ]);
}

async function answers(port: number): Promise<boolean> {
  for (let i = 0; i < 60; i++) {
    if (await ping(port)) return true;
    await sleep(50);
  }
  return false;
}

async function startNodes(dir: string, ports: number[]): Promise<boolean> {
  for (const port of ports) await launchNode(dir, port);
  for (const port of ports) if (!(await answers(port))) return false;
  return true;
}

async function untilClusterOk(ports: number[]): Promise<void> {
  for (let i = 0; ; i++) {
    const states = await Promise.all(ports.map(clusterState));
    if (states.every((s) => s === 'ok')) return;
    if (i === 400) throw new Error(`cluster did not reach cluster_state:ok (${states.join(', ')})`);
    await sleep(50);
  }
}

export async function startRedisCluster(): Promise<LocalCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'retain-cluster-'));
  let ports: number[] = [];
  const stopAll = async (which: number[]) => {
    await Promise.all(which.map(shutdownNode));
    for (const p of which) killByPidFile(dir, p);
  };
  // A port taken between the check and the start (another run starting its cluster): try other ports.
  for (let attempt = 1; ; attempt++) {
    ports = await pickPorts();
    if (await startNodes(dir, ports)) break;
    await stopAll(ports);
    if (attempt === 5) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error('could not start three redis-server cluster nodes (ports kept being taken)');
    }
  }
  // If the test process ends without teardown, its nodes do not outlive it.
  const onExit = () => {
    for (const p of ports) killByPidFile(dir, p);
  };
  process.once('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    await stopAll(ports);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: 30_000,
    });
    await untilClusterOk(ports);
  } catch (error) {
    await stop();
    throw error;
  }
  const restartEmpty = async (port: number) => {
    await shutdownNode(port);
    while (await ping(port)) await sleep(20);
    await launchNode(dir, port);
    if (!(await answers(port))) throw new Error(`cluster node ${port} did not come back`);
    await untilClusterOk(ports);
  };
  return { ports, nodes: ports.map((p) => `127.0.0.1:${p}`).join(','), restartEmpty, stop };
}
