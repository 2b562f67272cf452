// A throwaway PostgreSQL server for tests and benchmarks. STRATA_TEST_PG
// (a postgres:// URL of a server where we may create databases) wins; else,
// as root, initdb a cluster in a temporary directory owned by `postgres`, start
// it on its own port on 127.0.0.1 (fsync on) and stop it at process exit.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { initSchema } from '../src/engine/postgres/schema.js';

const PG_BINS = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'];

let server: Promise<string> | undefined;
let started: { bin: string; data: string; dir: string; uid: number; gid: number } | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Why a server cannot be started here, or undefined when it can. */
export function pgUnavailableReason(): string | undefined {
  if (process.env['STRATA_TEST_PG']) return undefined;
  if (process.getuid?.() !== 0) return 'not root and STRATA_TEST_PG is not set (set it to postgres://user@host:port/db of a server where tests may create databases)';
  if (!PG_BINS.some((d) => fs.existsSync(path.join(d, 'initdb')))) return 'PostgreSQL server binaries not found (apt-get install postgresql, or scripts/install-deps.sh --test)';
  try { execFileSync('id', ['postgres'], { stdio: 'ignore' }); } catch { return "no 'postgres' user"; }
  return undefined;
}

async function startServer(): Promise<string> {
  const bin = PG_BINS.find((d) => fs.existsSync(path.join(d, 'initdb')))!;
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pg-'));
  fs.chownSync(dir, uid, gid);
  const data = path.join(dir, 'data');
  const run = (cmd: string, args: string[]) => {
    const r = spawnSync(path.join(bin, cmd), args, { uid, gid, cwd: dir, encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout || r.error}`);
  };
  run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  fs.appendFileSync(path.join(data, 'postgresql.conf'), [
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${dir}'`,
    'fsync = on',
    'max_connections = 200',
    'shared_buffers = 256MB',
    'max_wal_size = 4GB',
    '',
  ].join('\n'));
  run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
  started = { bin, data, dir, uid, gid };
  process.on('exit', () => {
    spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { uid, gid, stdio: 'ignore' });
    fs.rmSync(dir, { recursive: true, force: true });
  });
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));
  return `postgres://postgres@127.0.0.1:${port}/postgres`;
}

/** URL of an administrative database on a test server (started on first use). */
export function pgServer(): Promise<string> {
  const given = process.env['STRATA_TEST_PG'];
  if (given) return Promise.resolve(given);
  server ??= startServer();
  return server;
}

/**
 * Restarts the server this process started (fast shutdown: every connection
 * is cut), waiting until it accepts connections again; false when the server
 * is not ours (STRATA_TEST_PG) or not started.
 */
export function restartPgServer(): boolean {
  if (!started) return false;
  const { bin, data, dir, uid, gid } = started;
  const r = spawnSync(path.join(bin, 'pg_ctl'), ['-D', data, '-l', path.join(dir, 'log'), '-m', 'fast', '-w', '-t', '60', 'restart'], { uid, gid, cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`pg_ctl restart failed: ${r.stderr || r.stdout || r.error}`);
  return true;
}

/**
 * A new, empty, initialized database on the test server; returns its engine
 * URL. Large extents stay in PostgreSQL unless `query` names a data= directory.
 */
export async function freshPgDatabase(query = ''): Promise<string> {
  const url = await emptyPgDatabase();
  const full = query ? `${url}${url.includes('?') ? '&' : '?'}${query}` : url;
  await initSchema(full, 'postgres');
  return full;
}

/** A new database on the test server without a strata schema; returns its URL. */
export async function emptyPgDatabase(): Promise<string> {
  const admin = await pgServer();
  const name = `strata_test_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}
