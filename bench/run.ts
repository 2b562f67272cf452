// `npm run bench [-- --quick] [section...]`: runs the benchmarks, each against
// the tools users would use instead (dd, cp -a, rsync, tar, h5copy) in the same
// run, prints every line and writes bench/RESULTS.md and bench/results.svg.
// --quick uses small sizes (a few minutes in all). STRATA_BENCH_DIR picks the
// disk (default: a directory under the system temp dir).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Row } from './util.js';
import { writeReports, type Section } from './report.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');
const args = process.argv.slice(2);
if (args.includes('--quick')) process.env['BENCH_QUICK'] = '1';
const quick = process.env['BENCH_QUICK'] === '1';
const only = args.filter((a) => !a.startsWith('--'));
const base = process.env['STRATA_BENCH_DIR'] || os.tmpdir();
const work = fs.mkdtempSync(path.join(base, 'strata-bench-'));

// Sections load after BENCH_QUICK is set: their sizes (util.size) are read when
// a section module loads.
const sections: Array<{ title: string; run: (dir: string) => Promise<Row[]> }> = [
  { title: 'engine', run: async (d) => (await import('./engine.js')).benchEngine(d) },
  { title: 'dfs', run: async (d) => (await import('./dfs.js')).benchDfs(d) },
  { title: 'mover', run: async (d) => (await import('./mover.js')).benchMover(d) },
  { title: 'park', run: async (d) => (await import('./park.js')).benchPark(d) },
  { title: 'fuse', run: async (d) => (await import('./fuse.js')).benchFuse(d) },
  { title: 'hdf5', run: async (d) => (await import('./hdf5.js')).benchHdf5(d) },
];
const unknown = only.filter((o) => !sections.some((s) => s.title === o));
if (unknown.length) {
  process.stderr.write(`bench: unknown section(s) ${unknown.join(', ')} (known: ${sections.map((s) => s.title).join(', ')})\n`);
  process.exit(2);
}

const machine = `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}, disk of ${base}`;
const done: Section[] = [];
try {
  for (const s of sections) {
    if (only.length && !only.includes(s.title)) continue;
    const dir = path.join(work, s.title);
    fs.mkdirSync(dir, { recursive: true });
    process.stderr.write(`bench: ${s.title}${quick ? ' (quick)' : ''}...\n`);
    const t0 = Date.now();
    const rows = await s.run(dir);
    process.stderr.write(`bench: ${s.title} took ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    done.push({ title: s.title, ranAt: new Date().toISOString(), quick, machine, rows });
    for (const r of rows) {
      const sp = (r.speed ?? []).map((x) => `${x.ratio.toFixed(2)}x ${x.vs}`).join('; ');
      process.stdout.write(`${s.title}: ${r.name}: ${r.value}${sp ? `  [speed: ${sp}]` : ''}\n`);
    }
  }
} finally {
  fs.rmSync(work, { recursive: true, force: true });
  if (done.length) writeReports(path.join(repo, 'bench'), done);
}
process.stdout.write('wrote bench/RESULTS.md, bench/results.svg\n');
