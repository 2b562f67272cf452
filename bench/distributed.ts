// Distributed copy of 20,000 × 4 KiB files (200 directories) POSIX -> container
// on a throwaway PostgreSQL server, with 1 and 2 `strata worker` processes, and
// the local mover on the same tree for reference: `node dist/bench/distributed.js [runs] [--stats]`.
// Prints wall time, files/s and CPU-seconds per 1,000 files by process
// (planner, workers, PostgreSQL: its postmaster's own and reaped children's
// time plus that of live backends), so scaling past this machine can be projected.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { freshPgDatabase, pgServer, restartPgServer } from '../test/pg-server.js';
import { CLI } from '../test/helpers.js';

const runs = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 1);
const DIRS = 200, PER = 100, FILES = DIRS * PER;

/** Runs strata under /usr/bin/time: resolves with its CPU seconds. */
function strata(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/time', ['-f', 'CPU %U %S', process.execPath, CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('error', reject);
    c.on('close', (code) => {
      const m = /CPU ([\d.]+) ([\d.]+)\s*$/.exec(err);
      if (code !== 0 || !m) reject(new Error(`strata ${args.join(' ')}: exit ${code}: ${err}`));
      else resolve(Number(m[1]) + Number(m[2]));
    });
  });
}

/** CPU seconds of the PostgreSQL server so far: postmaster (with reaped children) and live children. */
function pgCpu(): number {
  const tick = 100;
  let total = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let stat: string, comm: string;
    try { stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { continue; }
    if (comm !== 'postgres') continue;
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    const ppidComm = (() => { try { return fs.readFileSync(`/proc/${f[1]}/comm`, 'utf8').trim(); } catch { return ''; } })();
    total += Number(f[11]) + Number(f[12]);
    if (ppidComm !== 'postgres') total += Number(f[13]) + Number(f[14]); // the postmaster: its reaped children
  }
  return total / tick;
}

const work = fs.mkdtempSync(path.join(process.env['STRATA_BENCH_DIR'] || os.tmpdir(), 'strata-bench-dist-'));
const src = path.join(work, 'src');
const data = Buffer.alloc(4096);
for (let d = 0; d < DIRS; d++) {
  fs.mkdirSync(path.join(src, `d${d}`), { recursive: true });
  for (let f = 0; f < PER; f++) { data.writeUInt32LE(d * 1000 + f, 0); fs.writeFileSync(path.join(src, `d${d}`, `f${f}`), data); }
}
// --stats: the statements per file of each distributed run (pg_stat_statements).
const stats = process.argv.includes('--stats');
const admin = await pgServer();
if (stats) {
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
  await c.end();
  restartPgServer();
}
async function statements(url: string, reset: boolean): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    if (reset) { await c.query('SELECT pg_stat_statements_reset()'); return; }
    const r = await c.query(`SELECT query, calls, total_exec_time FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND query NOT ILIKE '%pg_stat%' ORDER BY calls DESC LIMIT 25`);
    let calls = 0;
    for (const row of r.rows as Array<{ query: string; calls: string; total_exec_time: number }>) {
      calls += Number(row.calls);
      process.stdout.write(`  ${(Number(row.calls) / FILES).toFixed(3).padStart(7)} per file ${(row.total_exec_time / Number(row.calls)).toFixed(3).padStart(8)} ms  ${row.query.replace(/\s+/g, ' ').slice(0, 120)}\n`);
    }
    process.stdout.write(`  statements per file (top 25): ${(calls / FILES).toFixed(2)}\n`);
  } finally {
    await c.end();
  }
}
const per1000 = (s: number) => (s / FILES * 1000).toFixed(2);
try {
  for (let r = 0; r < runs; r++) {
    const home = path.join(work, `lmdb${r}`);
    const lenv = { ...process.env, STRATA_ENGINE: `lmdb:${home}` };
    await strata(['pool', 'create', 'bench'], lenv);
    let t0 = process.hrtime.bigint();
    const lcpu = await strata(['fs', 'copy', '--src', src, '--dst', 'daos://bench/d', '-q'], lenv);
    const local = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(`run ${r + 1}: local mover (lmdb): ${local.toFixed(2)} s, ${(FILES / local).toFixed(0)} files/s, CPU ${per1000(lcpu)} s per 1,000 files\n`);
    fs.rmSync(home, { recursive: true, force: true });
    for (const n of [1, 2]) {
      const url = await freshPgDatabase();
      const env = { ...process.env, STRATA_ENGINE: url };
      await strata(['pool', 'create', 'bench'], env);
      if (stats) await statements(url, true);
      const pg0 = pgCpu();
      t0 = process.hrtime.bigint();
      const [planner, ...workers] = await Promise.all([
        strata(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://bench/d', '-q'], env),
        ...Array.from({ length: n }, () => strata(['worker', '-q'], env)),
      ]);
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      const pg = pgCpu() - pg0;
      const w = workers.reduce((a, b) => a + b, 0);
      if (stats) await statements(url, false);
      process.stdout.write(`run ${r + 1}: distributed (postgres), ${n} worker${n > 1 ? 's' : ''}: ${s.toFixed(2)} s, ${(FILES / s).toFixed(0)} files/s (${(local / s).toFixed(2)}x local); CPU s per 1,000 files: planner ${per1000(planner)}, workers ${per1000(w)}, PostgreSQL ${per1000(pg)}\n`);
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(0);
