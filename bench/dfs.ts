// DFS benchmarks: fs put/get of a large file versus cp + sync and dd
// conv=fdatasync on the same disk (rotated rounds, caches dropped before each),
// create+stat+readdir of many empty files (flat and in a 3-level tree), and
// `fs ls` of a huge directory with its peak RSS.
// Sizes: DFS_BENCH_FILE_MB (default 1024), DFS_BENCH_FILES (default 100000),
// DFS_BENCH_LS_ENTRIES (default 1000000, 50000 with --quick, 0 skips; the
// entries are made 1000 per transaction through DfsBatch).
import { dropCaches, median, pairedRatio, rounds, runMeasured, size, type Row } from './util.js';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../src/engine/open.js';
import { Container, type ContainerRecord, type ContPerm } from '../src/container/container.js';
import { mountDfs, type Dfs } from '../src/dfs/index.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'strata.js');
const ALL = new Set<ContPerm>(['r', 'w', 'd', 't', 'T', 'a', 'A', 'o']);

function cont(engine: Awaited<ReturnType<typeof openEngine>>): Container {
  const label = 'bench-' + randomUUID().slice(0, 8);
  const rec: ContainerRecord = {
    uuid: randomUUID(), poolUuid: randomUUID(), label, type: 'POSIX',
    props: { chunk_size: 1048576, oclass: 'SX', layout_type: 'POSIX', label, owner: 'bench@', group: 'bench@' },
    acl: [], attrs: {}, createdAt: new Date().toISOString(),
  };
  return new Container(engine, rec, ALL);
}

function secs(t0: bigint): number { return Number(process.hrtime.bigint() - t0) / 1e9; }

function cli(home: string, args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, STRATA_HOME: home, STRATA_ENGINE: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`strata ${args.join(' ')}: ${r.stderr.toString()}`);
}

async function manyFiles(dfs: Dfs, n: number, tree: boolean): Promise<{ create: number; stat: number; readdir: number; readdirPlus: number }> {
  const dirs: string[] = [];
  if (tree) {
    for (let a = 0; a < 10; a++) for (let b = 0; b < 10; b++) {
      await dfs.mkdir(`/t/${a}/${b}`, { recursive: true });
      dirs.push(`/t/${a}/${b}`);
    }
  } else {
    await dfs.mkdir('/flat');
    dirs.push('/flat');
  }
  const paths = Array.from({ length: n }, (_, i) => `${dirs[i % dirs.length]}/f${i}`);
  const par = 32;
  let t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += par) await Promise.all(paths.slice(i, i + par).map((p) => dfs.open(p, { create: true, exclusive: true })));
  const create = n / secs(t0);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i += par) await Promise.all(paths.slice(i, i + par).map((p) => dfs.stat(p)));
  const stat = n / secs(t0);
  t0 = process.hrtime.bigint();
  let seen = 0;
  for (const d of dirs) for await (const e of dfs.readdir(d)) { void e; seen++; }
  if (seen !== n) throw new Error(`readdir saw ${seen} of ${n}`);
  const readdir = n / secs(t0);
  t0 = process.hrtime.bigint();
  seen = 0;
  for (const d of dirs) {
    const oid = (await dfs.lookupPath(d)).oid;
    let after: string | undefined;
    do {
      const page = await dfs.readdirPlus(oid, { after, limit: 1024 });
      seen += page.entries.length;
      after = page.next;
    } while (after !== undefined);
  }
  if (seen !== n) throw new Error(`readdirPlus saw ${seen} of ${n}`);
  return { create, stat, readdir, readdirPlus: n / secs(t0) };
}

export async function benchDfs(workDir: string): Promise<Row[]> {
  const out: Row[] = [];
  const mb = size('DFS_BENCH_FILE_MB', 1024, 128);
  const nFiles = size('DFS_BENCH_FILES', 100000, 5000);
  const lsEntries = size('DFS_BENCH_LS_ENTRIES', 1000000, 50000);
  const home = path.join(workDir, 'dfs-home');
  fs.mkdirSync(home, { recursive: true });

  // 1. put/get of a big file against the durable references (cp + sync, dd
  // conv=fdatasync), in rotated rounds with caches dropped before every run.
  cli(home, ['pool', 'create', 'bp']);
  cli(home, ['container', 'create', 'bp', 'bc', '--type', 'POSIX']);
  const src = path.join(workDir, 'big.src');
  const fd = fs.openSync(src, 'w');
  const block = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mb; i++) { block.fill(i & 0xff); block[0] = 1; fs.writeSync(fd, block); }
  fs.closeSync(fd);
  cli(home, ['fs', 'put', src, 'daos://bp/bc/from']);
  let n = 0;
  const outs: string[] = [];
  const fresh = () => { const o = path.join(workDir, `big.out${n++}`); outs.push(o); return o; };
  const run = (f: () => void) => { const t0 = process.hrtime.bigint(); f(); return secs(t0); };
  const t = await rounds(size('BENCH_ROUNDS', 3, 3), {
    'cp + sync': () => run(() => execFileSync('bash', ['-c', `cp '${src}' '${fresh()}' && sync`])),
    'dd conv=fdatasync': () => run(() => execFileSync('dd', [`if=/dev/zero`, `of=${fresh()}`, 'bs=1M', `count=${mb}`, 'conv=fdatasync', 'status=none'])),
    put: () => { const name = `put${n++}`; outs.push(name); return run(() => cli(home, ['fs', 'put', src, `daos://bp/bc/${name}`])); },
    get: () => run(() => cli(home, ['fs', 'get', 'daos://bp/bc/from', fresh()])),
  }, {
    afterRound: async () => {
      for (const o of outs.splice(0)) {
        if (o.startsWith('put')) cli(home, ['fs', 'rm', `daos://bp/bc/${o}`]);
        else fs.rmSync(o, { force: true });
      }
      execFileSync('sync');
      await new Promise((res) => setTimeout(res, 2000));
    },
  });
  const mbs = (ts: number[]) => `${(mb / median(ts)).toFixed(0)} MiB/s`;
  const runs = (ts: number[]) => ts.map((x) => x.toFixed(2)).join(', ');
  for (const ref of ['cp + sync', 'dd conv=fdatasync'] as const) {
    out.push({ name: `dfs: ${ref} ${mb} MiB`, value: `median ${median(t[ref]).toFixed(2)} s (${mbs(t[ref])}); runs ${runs(t[ref])} s` });
  }
  for (const op of ['put', 'get'] as const) {
    const refs = (['cp + sync', 'dd conv=fdatasync'] as const).map((r) => ({ vs: r, p: pairedRatio(t[op], t[r]) }));
    out.push({
      name: `dfs: fs ${op} ${mb} MiB (source cold)`,
      value: `median ${median(t[op]).toFixed(2)} s (${mbs(t[op])}); runs ${runs(t[op])} s; per-round ratios: ${refs.map((r) => `${r.vs} ${r.p.median.toFixed(2)} (${r.p.min.toFixed(2)}-${r.p.max.toFixed(2)})`).join('; ')}`,
      speed: refs.map((r) => ({ vs: r.vs, ratio: r.p.median })),
    });
  }
  fs.rmSync(src, { force: true });
  cli(home, ['fs', 'rm', 'daos://bp/bc/from']);

  // 2. many empty files, flat and 3-level tree
  const engine = await openEngine(`lmdb:${path.join(workDir, 'dfs-meta')}`);
  try {
    const dfs = await mountDfs(cont(engine));
    const flat = await manyFiles(dfs, nFiles, false);
    const tree = await manyFiles(dfs, nFiles, true);
    for (const [k, r] of [['one dir', flat], ['3-level tree', tree]] as const) {
      out.push({ name: `dfs: create ${nFiles} empty files (${k})`, value: `${r.create.toFixed(0)} ops/s` });
      out.push({ name: `dfs: stat ${nFiles} files (${k})`, value: `${r.stat.toFixed(0)} ops/s` });
      out.push({ name: `dfs: readdir ${nFiles} entries (${k})`, value: `${r.readdir.toFixed(0)} entries/s` });
      out.push({ name: `dfs: readdirPlus ${nFiles} entries (${k})`, value: `${r.readdirPlus.toFixed(0)} entries/s` });
    }
  } finally {
    await engine.close();
  }

  // 3. fs ls of a huge directory: peak RSS of the CLI process
  if (lsEntries > 0) {
    const eng = await openEngine(`lmdb:${home}`);
    try {
      const { openContainer } = await import('../src/container/index.js');
      const c = await openContainer(eng, 'bp', 'bc', { write: true });
      const dfs = await mountDfs(c);
      await dfs.mkdir('/huge');
      // Bulk creation: one transaction (one durable commit) per 1000 entries (DfsBatch).
      const dir = (await dfs.lookupPath('/huge')).oid;
      const tc = process.hrtime.bigint();
      for (let i = 0; i < lsEntries; i += 1000) {
        const b = dfs.batch();
        for (let j = i; j < Math.min(lsEntries, i + 1000); j++) void b.create(dir, `f${j}`, 'file');
        await b.commit();
      }
      out.push({ name: `dfs: create ${lsEntries} entries, 1000 per transaction`, value: `${secs(tc).toFixed(1)} s (${(lsEntries / secs(tc)).toFixed(0)} entries/s)` });
    } finally {
      await eng.close();
    }
    // A 64 MB heap limit proves the listing streams: a CLI that held the directory would die.
    const args = ['--max-old-space-size=64', CLI, 'fs', 'ls', 'daos://bp/bc/huge'];
    const env = { ...process.env, STRATA_HOME: home, STRATA_ENGINE: '' };
    const m = await runMeasured(process.execPath, args, env);
    if (m.code !== 0) throw new Error(`fs ls failed (exit ${m.code})`);
    out.push({ name: `dfs: fs ls of ${lsEntries} entries`, value: `${m.seconds.toFixed(1)} s with a 64 MB heap limit, peak anonymous memory ${m.peakAnonMB.toFixed(0)} MB (heap and buffers), peak RSS ${m.peakRssMB.toFixed(0)} MB (includes the LMDB index pages it maps: clean page cache the kernel can take back)` });
    // The same listing under a 150 MB memory limit, as a batch scheduler sets
    // one (a cgroup charged for the page cache the command reads in as well):
    // from a cold cache, so the index pages it maps are charged to it.
    dropCaches();
    const c = await runMeasured(process.execPath, args, env, { memoryLimitMB: 150 });
    if (c.limited) {
      if (c.code !== 0) throw new Error(`fs ls in a 150 MB memory cgroup failed (exit ${c.code})`);
      out.push({ name: `dfs: fs ls of ${lsEntries} entries in a 150 MB memory cgroup (cold cache)`, value: `${c.seconds.toFixed(1)} s, peak RSS ${c.peakRssMB.toFixed(0)} MB, peak anonymous ${c.peakAnonMB.toFixed(0)} MB, cgroup peak charge ${c.cgroupPeakMB?.toFixed(0) ?? '?'} MB (memory and page cache)` });
    }
  }
  return out;
}
