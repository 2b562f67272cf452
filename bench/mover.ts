// Data mover benchmark: strata filesystem copy against cp -a, rsync -a and
// tar|tar on the same disk, plus dd as the disk limit. (a) 20,000 files of
// 4 KiB in 200 directories, (b) 8 files of 128 MiB; POSIX -> container and
// container -> POSIX, with -j 1 and -j 2.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { MiB, ratio, settle, size, timeCommand, type Row } from './util.js';
import { freshPgDatabase, pgUnavailableReason } from '../test/pg-server.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLI = path.resolve(here, '..', '..', 'bin', 'strata.js');

const SMALL_DIRS = size('MOVER_BENCH_SMALL_DIRS', 200, 20);
const LARGE_MB = size('MOVER_BENCH_LARGE_MB', 128, 32);

function makeSmall(dir: string): number {
  const data = Buffer.alloc(4096);
  for (let d = 0; d < SMALL_DIRS; d++) {
    const sub = path.join(dir, `d${d}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < 100; f++) {
      data.writeUInt32LE(d * 1000 + f, 0);
      data.fill(1 + ((d + f) % 200), 4);
      fs.writeFileSync(path.join(sub, `f${f}`), data);
    }
  }
  return SMALL_DIRS * 100 * 4096;
}

function makeLarge(dir: string): number {
  fs.mkdirSync(dir, { recursive: true });
  const chunk = Buffer.alloc(MiB);
  for (let i = 0; i < 8; i++) {
    const fd = fs.openSync(path.join(dir, `big${i}`), 'w');
    for (let m = 0; m < LARGE_MB; m++) {
      for (let k = 0; k < MiB; k += 4096) chunk.writeUInt32LE((i * 131 + m * 7 + k) >>> 0, k);
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
  }
  return 8 * LARGE_MB * MiB;
}

export async function benchMover(workDir: string): Promise<Row[]> {
  const rows: Row[] = [];
  const home = path.join(workDir, 'engine');
  const env = { ...process.env, STRATA_HOME: home, STRATA_ENGINE: '' };
  const strata = (args: string[]) => {
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  strata(['pool', 'create', 'bench']);
  const rm = (p: string) => fs.rmSync(p, { recursive: true, force: true });
  for (const [label, make] of [[`small: ${SMALL_DIRS * 100} x 4 KiB in ${SMALL_DIRS} dirs`, makeSmall], [`large: 8 x ${LARGE_MB} MiB`, makeLarge]] as const) {
    const src = path.join(workDir, 'src');
    const bytes = make(src);
    execFileSync('sync');
    // Every run writes a directory of its own, removed only after the
    // section: on this disk creating files right after deleting many costs
    // several times more (cp -a of the small tree went 0.8 s -> 12 s after a
    // few rm -rf), which would time the deletes, not the copies.
    const outs: string[] = [];
    const fresh = () => { const o = path.join(workDir, `out${outs.length}`); outs.push(o); return o; };
    const t = (cmd: (out: string) => string) => { const out = fresh(); settle(src); return timeCommand(cmd(out)); };
    const cp = t((out) => `cp -a '${src}' '${out}'`);
    const rsync = t((out) => `rsync -a '${src}/' '${out}/'`);
    const tar = t((out) => `mkdir '${out}' && (cd '${src}' && tar cf - .) | (cd '${out}' && tar xf -)`);
    // The durable equivalent: strata's container commits are on disk when they
    // return, and a copy into a directory ends with a flush (its resume journal).
    const cpSync = t((out) => `cp -a '${src}' '${out}' && sync -f '${out}'`);
    const mbs = (s: number) => `${(bytes / MiB / s).toFixed(0)} MiB/s`;
    rows.push({ name: `${label}: cp -a`, value: `${cp.toFixed(2)} s (${mbs(cp)})` });
    rows.push({ name: `${label}: rsync -a`, value: `${rsync.toFixed(2)} s (${mbs(rsync)})` });
    rows.push({ name: `${label}: tar | tar`, value: `${tar.toFixed(2)} s (${mbs(tar)})` });
    rows.push({ name: `${label}: cp -a + sync`, value: `${cpSync.toFixed(2)} s (${mbs(cpSync)})` });
    if (label.startsWith('large')) {
      const ddFile = path.join(workDir, 'dd.out');
      settle();
      const dd = timeCommand(`dd if=/dev/zero of='${ddFile}' bs=1M count=1024 conv=fdatasync status=none`);
      rm(ddFile);
      rows.push({ name: `${label}: dd 1 GiB (fdatasync)`, value: `${dd.toFixed(2)} s (${(1024 / dd).toFixed(0)} MiB/s)` });
    }
    // The disk's speed drifts during a run: every strata run is paired with a
    // cp -a run just before it, and the cp -a ratio uses that one.
    const row = (name: string, secs: number, cpNow: number): Row => ({
      name, value: `${secs.toFixed(2)} s (${mbs(secs)}), ${ratio(cpNow, secs)} of cp -a speed (cp -a just before: ${cpNow.toFixed(2)} s)`,
      speed: [{ vs: 'cp -a', ratio: cpNow / secs }, { vs: 'cp -a + sync', ratio: cpSync / secs }, { vs: 'rsync -a', ratio: rsync / secs }, { vs: 'tar|tar', ratio: tar / secs }],
    });
    for (const j of [1, 2]) {
      const cont = `c${label[0]}${j}`;
      const cpIn = t((out) => `cp -a '${src}' '${out}'`);
      settle(src, home);
      const toCont = strata(['fs', 'copy', '--src', src, '--dst', `daos://bench/${cont}`, '-j', String(j), '-q']);
      rows.push(row(`${label}: POSIX -> container -j ${j}`, toCont, cpIn));
      const cpOut = t((out) => `cp -a '${src}' '${out}'`);
      const out = fresh();
      settle(home);
      const fromCont = strata(['fs', 'copy', '--src', `daos://bench/${cont}`, '--dst', out, '-j', String(j), '-q']);
      rows.push(row(`${label}: container -> POSIX -j ${j}`, fromCont, cpOut));
    }
    for (const o of outs) rm(o);
    for (const j of [1, 2]) strata(['container', 'destroy', 'bench', `c${label[0]}${j}`, '--force']);
    rm(src);
  }
  rows.push(...await benchDistributed(workDir));
  return rows;
}

function runStrata(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(0) : reject(new Error(`strata ${args.join(' ')}: exit ${code}`))));
  });
}

/** Distributed copy (fs copy --queue + N `strata worker` processes) of the small-file tree on the PostgreSQL engine. */
export async function benchDistributed(workDir: string): Promise<Row[]> {
  const why = pgUnavailableReason();
  if (why) return [{ name: 'distributed copy', value: `not measured: ${why}` }];
  const src = path.join(workDir, 'dsrc');
  const files = makeSmall(src) / 4096;
  const rows: Row[] = [];
  let one = 0;
  for (const n of [1, 2, 4]) {
    const url = await freshPgDatabase();
    const env = { ...process.env, STRATA_ENGINE: url };
    await runStrata(['pool', 'create', 'bench'], env);
    const t0 = process.hrtime.bigint();
    await Promise.all([
      runStrata(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://bench/d', '-q'], env),
      ...Array.from({ length: n }, () => runStrata(['worker', '-q'], env)),
    ]);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (n === 1) one = s;
    rows.push({ name: `distributed: ${files} x 4 KiB POSIX -> container (postgres), ${n} worker${n > 1 ? 's' : ''}`, value: `${s.toFixed(2)} s (${(files / s).toFixed(0)} files/s)${n > 1 ? `, ${(one / s).toFixed(2)}x of 1 worker` : ''}`, speed: n > 1 ? [{ vs: '1 worker', ratio: one / s }] : undefined });
  }
  fs.rmSync(src, { recursive: true, force: true });
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = fs.mkdtempSync(path.join(process.env['STRATA_BENCH_DIR'] || '/tmp', 'strata-bench-mover-'));
  try {
    for (const r of await benchMover(dir)) process.stdout.write(`${r.name}: ${r.value}\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
