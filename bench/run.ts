// `npm run bench`: runs every benchmark, compares against the tools users would
// use instead (dd, cp) in the same run, prints a table and writes bench/RESULTS.md.
// STRATA_BENCH_DIR picks the disk (default: a directory under the system temp dir).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchEngine } from './engine.js';
import { benchMover } from './mover.js';
import { benchPark } from './park.js';
import { benchFuse } from './fuse.js';
import { benchDfs } from './dfs.js';
import { benchHdf5 } from './hdf5.js';
import type { Row } from './util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const base = process.env['STRATA_BENCH_DIR'] || os.tmpdir();
const work = fs.mkdtempSync(path.join(base, 'strata-bench-'));
const only = process.argv[2];

const sections: Array<{ title: string; run: (dir: string) => Promise<Row[]> }> = [
  { title: 'engine', run: (d) => benchEngine(d) },
  { title: 'mover', run: (d) => benchMover(d) },
  { title: 'park', run: (d) => benchPark(d) },
  { title: 'fuse', run: (d) => benchFuse(d) },
  { title: 'dfs', run: (d) => benchDfs(d) },
  { title: 'hdf5', run: (d) => benchHdf5(d) },
];

const out: string[] = [
  '# Benchmark results',
  '',
  `Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}.`,
  `Run: ${new Date().toISOString()} on ${base}. Ratios compare with the reference tool measured in the same run.`,
  '',
];
try {
  for (const s of sections) {
    if (only && s.title !== only) continue;
    const dir = path.join(work, s.title);
    fs.mkdirSync(dir, { recursive: true });
    process.stderr.write(`bench: ${s.title}...\n`);
    const rows = await s.run(dir);
    out.push(`## ${s.title}`, '', '| measurement | result |', '|---|---|', ...rows.map((r) => `| ${r.name} | ${r.value} |`), '');
    for (const r of rows) process.stdout.write(`${s.title}: ${r.name}: ${r.value}\n`);
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
fs.writeFileSync(path.join(repo, 'bench', 'RESULTS.md'), out.join('\n'));
process.stdout.write(`wrote bench/RESULTS.md\n`);
