// Data mover benchmark: strata filesystem copy against the durable references
// users would wait for (cp -a + sync, rsync -a + sync, and dd conv=fdatasync as
// the disk's limit; the page-cache cp -a as an extra column), on the same
// disk, in rotated rounds with caches dropped before every run (the source
// cold for every tool alike). (a) 20,000 files of 4 KiB in 200 directories,
// (b) 8 files of 128 MiB; POSIX -> container and container -> POSIX, with
// -j 1 and -j 2; and a sync with nothing to do against rsync -a.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { MiB, median, pairedRatio, rounds, size, timeCommand, type Row } from './util.js';
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

const ROUNDS = size('BENCH_ROUNDS', 3, 3);

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
    // The source of the runs out of a container, written once, untimed.
    strata(['fs', 'copy', `${src}/`, 'daos://bench/from', '-q']);
    execFileSync('sync');
    // Every run writes a directory (or container) of its own. They are removed
    // at the end of each round, followed by a pause: on this disk creating
    // files right after deleting many costs several times more, and every
    // tool of the next round meets the same disk.
    let serial = 0;
    const outs: string[] = [];
    const conts: string[] = [];
    const fresh = () => { const o = path.join(workDir, `out${serial++}`); outs.push(o); return o; };
    const freshCont = () => { const c = `c${serial++}`; conts.push(c); return c; };
    const sh = (cmd: (out: string) => string) => () => timeCommand(cmd(fresh()));
    const contenders: Record<string, () => number> = {
      'cp -a': sh((o) => `cp -a '${src}' '${o}'`),
      'cp -a + sync': sh((o) => `cp -a '${src}' '${o}' && sync`),
      'rsync -a + sync': sh((o) => `rsync -a '${src}/' '${o}/' && sync`),
      'in -j 1': () => strata(['fs', 'copy', src, `daos://bench/${freshCont()}`, '-j', '1', '-q']),
      'in -j 2': () => strata(['fs', 'copy', src, `daos://bench/${freshCont()}`, '-j', '2', '-q']),
      'out -j 1': () => strata(['fs', 'copy', 'daos://bench/from', fresh(), '-j', '1', '-q']),
      'out -j 2': () => strata(['fs', 'copy', 'daos://bench/from', fresh(), '-j', '2', '-q']),
    };
    if (label.startsWith('large')) {
      contenders['dd conv=fdatasync'] = () => {
        const o = fresh();
        fs.mkdirSync(o);
        return timeCommand(`dd if=/dev/zero of='${o}/dd' bs=1M count=${Math.round(bytes / MiB)} conv=fdatasync status=none`);
      };
    }
    const all: Record<string, number[]> = await rounds(ROUNDS, contenders, {
      afterRound: async () => {
        for (const o of outs.splice(0)) rm(o);
        for (const c of conts.splice(0)) strata(['container', 'destroy', 'bench', c, '--force']);
        execFileSync('sync');
        await new Promise((res) => setTimeout(res, 3000));
      },
    });
    const mbs = (s: number) => `${(bytes / MiB / s).toFixed(0)} MiB/s`;
    const list = (ts: number[]) => ts.map((t) => t.toFixed(2)).join(', ');
    for (const ref of ['cp -a', 'cp -a + sync', 'rsync -a + sync', 'dd conv=fdatasync']) {
      const ts = all[ref];
      if (ts) rows.push({ name: `${label}: ${ref}`, value: `median ${median(ts).toFixed(2)} s (${mbs(median(ts))}); runs ${list(ts)} s` });
    }
    for (const dir of ['in', 'out'] as const) {
      for (const j of [1, 2]) {
        const ts = all[`${dir} -j ${j}`]!;
        const refs = ['cp -a + sync', 'rsync -a + sync', 'dd conv=fdatasync', 'cp -a'].filter((r) => all[r]);
        const speed = refs.map((r) => {
          const p = pairedRatio(ts, all[r]!);
          return { vs: r, ratio: p.median, spread: `${p.min.toFixed(2)}-${p.max.toFixed(2)}` };
        });
        const name = dir === 'in' ? `POSIX -> container -j ${j}` : `container -> POSIX -j ${j}`;
        rows.push({
          name: `${label}: ${name}`,
          value: `median ${median(ts).toFixed(2)} s (${mbs(median(ts))}); runs ${list(ts)} s; per-round ratios (median, min-max): ${speed.map((s) => `${s.vs} ${s.ratio.toFixed(2)} (${s.spread})`).join('; ')}`,
          speed: speed.map(({ vs, ratio }) => ({ vs, ratio })),
        });
      }
    }
    const jIn = pairedRatio(all['in -j 2']!, all['in -j 1']!);
    rows.push({ name: `${label}: POSIX -> container, -j 2 against -j 1`, value: `median per-round ratio ${jIn.median.toFixed(2)} (${jIn.min.toFixed(2)}-${jIn.max.toFixed(2)})`, speed: [{ vs: '-j 1', ratio: jIn.median }] });
    if (label.startsWith('small')) rows.push(...await noopSync(src, strata, fresh));
    for (const o of outs) rm(o);
    strata(['container', 'destroy', 'bench', 'from', '--force']);
    rm(src);
  }
  rows.push(...await benchDistributed(workDir));
  return rows;
}

/**
 * A sync with nothing to do (the destination already equal): strata POSIX ->
 * POSIX and POSIX -> container against rsync -a, caches dropped before each.
 */
async function noopSync(src: string, strata: (args: string[]) => number, fresh: () => string): Promise<Row[]> {
  const posix = fresh();
  const rsyncDst = fresh();
  execFileSync('cp', ['-a', `${src}/.`, posix]);
  execFileSync('cp', ['-a', `${src}/.`, rsyncDst]);
  strata(['fs', 'sync', `${src}/`, 'daos://bench/noop', '-q']);
  execFileSync('sync');
  const t = await rounds(ROUNDS, {
    rsync: () => timeCommand(`rsync -a '${src}/' '${rsyncDst}/'`),
    posix: () => strata(['fs', 'sync', `${src}/`, posix, '-q']),
    cont: () => strata(['fs', 'sync', `${src}/`, 'daos://bench/noop', '-q']),
  });
  strata(['container', 'destroy', 'bench', 'noop', '--force']);
  const row = (name: string, ts: number[]): Row => {
    const p = pairedRatio(ts, t.rsync);
    return { name, value: `median ${median(ts).toFixed(2)} s (rsync -a: ${median(t.rsync).toFixed(2)} s); per-round ratio ${p.median.toFixed(2)} (${p.min.toFixed(2)}-${p.max.toFixed(2)})`, speed: [{ vs: 'rsync -a (nothing to do)', ratio: p.median }] };
  };
  return [row('fs sync with nothing to do, POSIX -> POSIX', t.posix), row('fs sync with nothing to do, POSIX -> container', t.cont)];
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
