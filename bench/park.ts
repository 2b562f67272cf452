// Parking benchmark: serialize and deserialize a POSIX container holding
// (a) many small files and (b) a few large files, against `tar cf` / `tar xf`
// of the same tree on the same disk, with -j 1 and -j 2 (CLI, separate processes).
// Sizes: PARK_BENCH_SMALL (default 20000 files of 4 KiB), PARK_BENCH_LARGE
// (default 8 files), PARK_BENCH_LARGE_MB (default 128).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../src/engine/open.js';
import { createPool, createContainer, openContainer } from '../src/container/index.js';
import { mountDfs } from '../src/dfs/index.js';
import { timeCommand, ratio, size, type Row } from './util.js';

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'strata.js');

function cli(home: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...process.env, STRATA_HOME: home, STRATA_ENGINE: '' }, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`strata ${args.join(' ')}: ${r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

interface Case { name: string; files: number; size: number }

export async function benchPark(workDir: string): Promise<Row[]> {
  const cases: Case[] = [
    { name: 'small', files: size('PARK_BENCH_SMALL', 20000, 2000), size: 4096 },
    { name: 'large', files: size('PARK_BENCH_LARGE', 8, 2), size: size('PARK_BENCH_LARGE_MB', 128, 32) * 1024 * 1024 },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const dir = path.join(workDir, c.name);
    const home = path.join(dir, 'engine');
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree, { recursive: true });
    const engine = await openEngine(`lmdb:${home}`);
    await createPool(engine, 'bench');
    await createContainer(engine, 'bench', 'src', { type: 'POSIX' });
    const dfs = await mountDfs(await openContainer(engine, 'bench', 'src', { write: true }));
    const piece = crypto.randomBytes(Math.min(c.size, 16 * 1024 * 1024));
    for (let i = 0; i < c.files; i++) {
      const sub = c.files > 1000 ? `/d${Math.floor(i / 1000)}` : '';
      if (sub && i % 1000 === 0) { await dfs.mkdir(sub); fs.mkdirSync(path.join(tree, sub)); }
      const name = `${sub}/f${i}`;
      const f = await dfs.open(name, { create: true, write: true });
      const fd = fs.openSync(path.join(tree, name), 'w');
      for (let off = 0; off < c.size; off += piece.length) {
        const n = Math.min(piece.length, c.size - off);
        piece.writeUInt32LE(i, 0);
        await f.write(piece.subarray(0, n), off);
        fs.writeSync(fd, piece, 0, n, off);
      }
      fs.closeSync(fd);
    }
    await engine.close();
    const tarFile = path.join(dir, 'tree.tar');
    const untar = path.join(dir, 'untar');
    fs.mkdirSync(untar);
    const tarC = timeCommand(`sync; tar cf ${tarFile} -C ${tree} . && sync`);
    const tarX = timeCommand(`tar xf ${tarFile} -C ${untar} && sync`);
    fs.rmSync(untar, { recursive: true, force: true });
    fs.rmSync(tarFile, { force: true });
    const label = c.name === 'small' ? `${c.files} files of ${c.size / 1024} KiB` : `${c.files} files of ${c.size / 1024 / 1024} MiB`;
    rows.push({ name: `${label}: tar cf / tar xf`, value: `${tarC.toFixed(2)} s / ${tarX.toFixed(2)} s` });
    for (const jobs of [1, 2]) {
      const out = path.join(dir, `out${jobs}`);
      const tS = cli(home, ['container', 'serialize', 'bench', 'src', '-o', out, '-j', String(jobs)]);
      spawnSync('sync');
      const tD = cli(home, ['container', 'deserialize', 'bench', out, '--label', `copy${jobs}`, '-j', String(jobs)]);
      rows.push({ name: `${label}: serialize -j ${jobs} vs tar cf`, value: `${tS.toFixed(2)} s (${ratio(tS, tarC)} the time)`, speed: [{ vs: 'tar cf', ratio: tarC / tS }] });
      rows.push({ name: `${label}: deserialize -j ${jobs} vs tar xf`, value: `${tD.toFixed(2)} s (${ratio(tD, tarX)} the time)`, speed: [{ vs: 'tar xf', ratio: tarX / tD }] });
      fs.rmSync(out, { recursive: true, force: true });
      cli(home, ['container', 'destroy', 'bench', `copy${jobs}`]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
