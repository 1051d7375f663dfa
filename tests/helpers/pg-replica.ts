import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/**
 * A real streaming replica of the local PostgreSQL cluster: `pg_basebackup -R`
 * into a directory of its own, started on a free port as the postgres user.
 * It replicates every database of the cluster, so the databases tests create
 * on the primary appear on it by themselves. A permanent replication slot
 * keeps the primary's WAL until the replica has it (without one, a busy
 * shared machine recycles a segment between the copy and the start); the slot
 * is dropped on teardown, and one left by a run that died (its process gone)
 * is dropped by the next run, with its directory and server.
 */
const run = promisify(execFile);

const PRIMARY_HOST = '127.0.0.1';
const PRIMARY_PORT = Number(new URL(process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432').port || 5432);
const DIR_PREFIX = 'retain-replica-';
const SLOT_PREFIX = 'retain_replica_';

export interface PgReplica {
  port: number;
  dir: string;
  slot: string;
  /** The replica's URL for a database of the cluster. */
  url(database: string): string;
  /** Stop replaying WAL (it is still received): what the primary writes from now on is not on the replica. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Wait until the replica has replayed everything the primary had written when called. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** Stop the server at once (as a crash would); the directory stays until destroy. */
  stop(): Promise<void>;
  /** Stop it if running, drop the slot, remove the directory. */
  destroy(): Promise<void>;
}

function pgBin(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (!versions.length) throw new Error('no PostgreSQL under /usr/lib/postgresql: set PG_BIN to its bin directory');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** The server tools refuse to run as root: as root, run them as postgres. */
async function asPostgres(cmd: string, args: string[]): Promise<string> {
  const asRoot = process.getuid?.() === 0;
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const { stdout } = await run(file, argv, { maxBuffer: 1 << 20, cwd: tmpdir() });
  return stdout;
}

async function primaryQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ host: PRIMARY_HOST, port: PRIMARY_PORT, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

/** What a run that died left behind: its server, directory and slot. */
export async function removeLeftovers(): Promise<void> {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(name.slice(DIR_PREFIX.length).split('-')[0]);
    if (!name.startsWith(DIR_PREFIX) || !pid || alive(pid)) continue;
    const data = join(tmpdir(), name, 'data');
    if (existsSync(join(data, 'postmaster.pid'))) await asPostgres(join(pgBin(), 'pg_ctl'), ['-D', data, 'stop', '-m', 'immediate']).catch(() => undefined);
    rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  const slots = await primaryQuery<{ slot_name: string; active_pid: number | null }>(
    'SELECT slot_name, active_pid FROM pg_replication_slots WHERE slot_name LIKE $1',
    [`${SLOT_PREFIX}%`],
  );
  for (const { slot_name, active_pid } of slots) {
    const pid = Number(slot_name.slice(SLOT_PREFIX.length).split('_')[0]);
    if (!pid || alive(pid)) continue;
    // A server of a dead run may still be streaming from it (its directory gone by hand): end that sender first.
    if (active_pid) await primaryQuery('SELECT pg_terminate_backend($1)', [active_pid]).catch(() => undefined);
    for (let i = 0; i < 20; i++) {
      const dropped = await primaryQuery('SELECT pg_drop_replication_slot($1)', [slot_name]).then(
        () => true,
        () => false,
      );
      if (dropped) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface ReplicaInfo {
  port: number;
  dir: string;
  slot: string;
}

/** Control over a replica started by startReplica, from its port, directory and slot (a test file gets them from the global setup). */
export function replicaOf({ port, dir, slot }: ReplicaInfo): PgReplica {
  const data = join(dir, 'data');
  const pgCtl = (...args: string[]) => asPostgres(join(pgBin(), 'pg_ctl'), ['-D', data, ...args]);
  async function replicaQuery<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end();
    }
  }
  const replica: PgReplica = {
    port,
    dir,
    slot,
    url: (database) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    pauseReplay: () => replicaQuery('SELECT pg_wal_replay_pause()').then(() => undefined),
    resumeReplay: () => replicaQuery('SELECT pg_wal_replay_resume()').then(() => undefined),
    async caughtUp(timeoutMs = 30_000) {
      const [{ lsn }] = (await primaryQuery<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')) as [{ lsn: string }];
      const until = Date.now() + timeoutMs;
      for (;;) {
        const [row] = await replicaQuery<{ done: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]);
        if (row?.done) return;
        if (Date.now() > until) throw new Error(`replica did not replay up to ${lsn} in ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (existsSync(join(data, 'postmaster.pid'))) await pgCtl('stop', '-m', 'immediate', '-w');
    },
    async destroy() {
      await replica.stop().catch(() => undefined);
      await primaryQuery('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return replica;
}

export async function startReplica(): Promise<PgReplica> {
  await removeLeftovers();
  const bin = pgBin();
  const slot = `${SLOT_PREFIX}${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  const data = join(dir, 'data');
  const root = process.getuid?.() === 0;
  const ids = root ? await postgresIds() : null;
  if (ids) chownSync(dir, ids.uid, ids.gid);
  chmodSync(dir, 0o700);
  const port = await freePort();
  const replica = replicaOf({ port, dir, slot });
  try {
    // -R writes primary_conninfo and standby.signal; -C -S creates the slot and names it there; a fast checkpoint starts the copy at once.
    await asPostgres(join(bin, 'pg_basebackup'), [
      ...['-h', PRIMARY_HOST, '-p', String(PRIMARY_PORT), '-U', 'postgres', '-D', data],
      ...['-R', '-X', 'stream', '-C', '-S', slot, '--checkpoint=fast', '--no-sync'],
    ]);
    // A distribution's cluster keeps its configuration outside the data directory: the copy gets its own.
    const conf = join(data, 'postgresql.conf');
    const hba = join(data, 'pg_hba.conf');
    if (!existsSync(conf)) writeFileSync(conf, '');
    writeFileSync(hba, 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    if (ids) for (const f of [conf, hba]) chownSync(f, ids.uid, ids.gid);
    // Slow statements and waits on replay are logged (server.log in the directory), for a bench to tell why a read was slow.
    const logging = '-c log_min_duration_statement=250 -c log_recovery_conflict_waits=on -c log_lock_waits=on';
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${dir} -c hot_standby=on -c fsync=off ${logging}`;
    await asPostgres(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-o', options, '-w', '-t', '60', 'start']);
    await replica.caughtUp(60_000);
    return replica;
  } catch (error) {
    await replica.destroy();
    const said = String((error as { stderr?: string }).stderr || (error as Error).message);
    const hint = /no pg_hba.conf entry for replication/.test(said)
      ? ' (the primary must accept replication connections from 127.0.0.1: .ci/run adds the pg_hba line)'
      : '';
    throw new Error(`could not start a streaming replica${hint}: ${said}`);
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: g } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(g.trim()) };
}
