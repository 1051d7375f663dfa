import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A private redis-server for tests that restart, flush or stop Redis —
 * never the shared one other test files (and other people) use. It keeps
 * its dump in its own directory, so a SHUTDOWN SAVE and a start again bring
 * the data back, as a production Redis with persistence does.
 */
export interface PrivateRedis {
  url: string;
  port: number;
  /** A client for poking at it (FLUSHALL, lock keys). */
  client(): Redis;
  /** SHUTDOWN SAVE (keep data) or NOSAVE; resolves once the process has exited. */
  shutdown(save: boolean): Promise<void>;
  /** Start it again on the same port and directory (loading its dump, if saved). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'retain-redis-'));
  let proc: ChildProcess | undefined;
  const clients: Redis[] = [];

  const launch = async () => {
    proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--dbfilename',
        'dump.rdb',
        '--save',
        '',
        '--appendonly',
        'no',
        '--maxmemory-policy',
        'noeviction',
      ],
      {
        stdio: 'ignore',
      },
    );
    const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    for (let i = 0; i < 100; i++) {
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        return;
      } catch {
        probe.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`private redis-server on ${port} did not start`);
  };
  await launch();

  const exited = () =>
    new Promise<void>((resolve) => (proc && proc.exitCode === null && proc.signalCode === null ? proc.once('exit', () => resolve()) : resolve()));
  const self: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    client() {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async shutdown(save) {
      const c = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      const done = exited();
      await c.call('SHUTDOWN', save ? 'SAVE' : 'NOSAVE').catch(() => undefined);
      c.disconnect();
      await done;
    },
    restart: launch,
    async stop() {
      for (const c of clients) c.disconnect();
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        const done = exited();
        proc.kill('SIGKILL');
        await done;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}
