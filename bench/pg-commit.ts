// Where a commit's time goes on PostgreSQL: `node dist/bench/pg-commit.js [N]`.
// Starts a throwaway server (test/pg-server.ts) with pg_stat_statements
// loaded, runs N small durable puts (64 B, each its own commit) with 1 and
// with 256 in flight (N/10 with 1), and prints per commit: statements (from
// pg_stat_statements, BEGIN/COMMIT included), this process's CPU time, and how often the server's backends were seen waiting on a row lock (the
// epoch row) while the run went on (pg_stat_activity, sampled every 2 ms).
// Then the same puts on LMDB for the ratio. Numbers go to docs/engine.md.
//
// `node dist/bench/pg-commit.js --writers P [--one-container] [SECONDS]`
// instead runs P writer processes at once, each putting small values with
// 256 in flight for SECONDS (default 5) into a container of its own (or all
// into one), and prints the commits/s of each and their sum: whether writers
// of different containers wait on each other (docs/scale.md).
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { openEngine } from '../src/engine/open.js';
import type { Engine } from '../src/engine/types.js';
import { freshPgDatabase, pgServer, restartPgServer } from '../test/pg-server.js';

const args = process.argv.slice(2);

async function inFlight(count: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => { while (next < count) await fn(next++); }));
}

async function puts(engine: Engine, n: number, width: number, tag: string): Promise<number> {
  const cont = randomUUID();
  const small = Buffer.alloc(64, 7);
  const t0 = process.hrtime.bigint();
  await inFlight(n, width, (i) => engine.commit({ ops: [{ op: 'put', cont, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`${tag}-${i}`), akey: Buffer.from('v'), value: small }] }));
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

/**
 * Samples every 2 ms what the backends of database db (but not, if given,
 * backend skip) are doing: busy (active or inside a transaction), waiting on a
 * lock (row, transaction or advisory). stop() ends it and returns the counts.
 */
function sampleWaits(url: string, db: string, skip = 0): { stop(): Promise<{ samples: number; active: number; lockWaits: number }> } {
  let samples = 0, active = 0, lockWaits = 0;
  let sampling = true;
  const sampler = (async () => {
    const s = new pg.Client({ connectionString: url });
    await s.connect();
    while (sampling) {
      const r = await s.query(`SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid() AND pid <> $2`, [db, skip]);
      samples++;
      for (const row of r.rows as Array<{ state: string; wait_event_type: string | null }>) {
        if (row.state === 'active' || row.state === 'idle in transaction') active++;
        if (row.wait_event_type === 'Lock') lockWaits++;
      }
      await new Promise((res) => setTimeout(res, 2));
    }
    await s.end();
  })();
  return { stop: async () => { sampling = false; await sampler; return { samples, active, lockWaits }; } };
}

if (args[0] === '--child') {
  // One writer process: [--child, url, cont, seconds]; prints its commits and seconds.
  const [, url, cont, secs] = args;
  const engine = await openEngine(url!);
  const small = Buffer.alloc(64, 7);
  let n = 0;
  const t0 = process.hrtime.bigint();
  const end = Date.now() + Number(secs) * 1000;
  await Promise.all(Array.from({ length: 256 }, async () => {
    while (Date.now() < end) {
      const i = n++;
      await engine.commit({ ops: [{ op: 'put', cont: cont!, oid: Buffer.alloc(16, 2), dkey: Buffer.from(`p${process.pid}-${i}`), akey: Buffer.from('v'), value: small }] });
    }
  }));
  process.stdout.write(`${JSON.stringify({ n, s: Number(process.hrtime.bigint() - t0) / 1e9 })}\n`);
  await engine.close();
  process.exit(0);
}
if (args[0] === '--writers') {
  const procs = Number(args[1]);
  const one = args.includes('--one-container');
  const secs = Number(args.slice(2).find((a) => /^\d+$/.test(a)) ?? 5);
  const url = await freshPgDatabase();
  const shared = randomUUID();
  const me = fileURLToPath(import.meta.url);
  const waits = sampleWaits(url, new URL(url).pathname.slice(1));
  const runs = await Promise.all(Array.from({ length: procs }, () => new Promise<{ n: number; s: number }>((resolve, reject) => {
    const c = spawn(process.execPath, [me, '--child', url, one ? shared : randomUUID(), String(secs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d; });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as { n: number; s: number }) : reject(new Error(`writer exited ${code}`))));
  })));
  const { samples, active, lockWaits } = await waits.stop();
  const rates = runs.map((r) => r.n / r.s);
  process.stdout.write(`${procs} writer processes, ${one ? 'one container' : 'a container each'}, 256 in flight each, ${secs} s: ${rates.reduce((a, b) => a + b, 0).toFixed(0)} commits/s (${rates.map((r) => r.toFixed(0)).join(' + ')}); backends busy per sample ${(active / samples).toFixed(2)}, waiting on a lock ${(lockWaits / samples).toFixed(2)} (${(100 * lockWaits / Math.max(1, active)).toFixed(0)}% of busy backend time)\n`);
  process.exit(0);
}

const N = Number(args[0] ?? 20000);
const admin = await pgServer();
{
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await c.end();
  restartPgServer();
}
const url = await freshPgDatabase();
const mon = new pg.Client({ connectionString: url });
await mon.connect();
await mon.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
const db = new URL(url).pathname.slice(1);

const engine = await openEngine(url);
await puts(engine, 500, 16, 'warm');
for (const width of [1, 256]) {
  // One at a time is bound by the WAL flush: a tenth of the puts tells as much.
  const n = width === 1 ? Math.ceil(N / 10) : N;
  await mon.query('SELECT pg_stat_statements_reset()');
  const waits = sampleWaits(url, db, (mon as unknown as { processID: number }).processID);
  const cpu0 = process.cpuUsage();
  const rate = await puts(engine, n, width, `w${width}`);
  const cpu = process.cpuUsage(cpu0);
  const { samples, active, lockWaits } = await waits.stop();
  await new Promise((res) => setTimeout(res, 600)); // stats reach pg_stat_database after PGSTAT_MIN_INTERVAL
  const st = await mon.query(`SELECT query, calls, total_exec_time FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 AND query NOT ILIKE '%pg_stat%' ORDER BY calls DESC`, [db]);
  let calls = 0;
  process.stdout.write(`\n== ${n} small puts, ${width} in flight: ${rate.toFixed(0)} puts/s\n`);
  for (const row of st.rows as Array<{ query: string; calls: string; total_exec_time: number }>) {
    calls += Number(row.calls);
    process.stdout.write(`  ${(Number(row.calls) / n).toFixed(3).padStart(7)} per put  ${(row.total_exec_time / Number(row.calls)).toFixed(3).padStart(7)} ms each  ${row.query.replace(/\s+/g, ' ').slice(0, 110)}\n`);
  }
  process.stdout.write(`  statements per put ${(calls / n).toFixed(2)}; this process's CPU ${((cpu.user + cpu.system) / n).toFixed(0)} µs per put\n`);
  process.stdout.write(`  backends busy (active or in a transaction) per sample ${(active / samples).toFixed(2)}, waiting on a lock ${(lockWaits / samples).toFixed(2)} (${(100 * lockWaits / Math.max(1, active)).toFixed(0)}% of busy backend time)\n`);
}
await engine.close();
await mon.end();

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-pgcommit-'));
const lm = await openEngine(`lmdb:${home}`);
await puts(lm, 500, 16, 'warm');
const lrate = await puts(lm, N, 256, 'w');
await lm.close();
fs.rmSync(home, { recursive: true, force: true });
process.stdout.write(`\n== lmdb: ${N} small puts, 256 in flight: ${lrate.toFixed(0)} puts/s\n`);
process.exit(0);
