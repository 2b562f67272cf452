// The progress line of `fs copy` on a terminal: counts and rate only while the
// source is being counted, percent and ETA once its total is known, never a
// malformed ETA. The formatter is a pure function; the rendering is checked
// on a pseudo-terminal (script(1) gives the CLI a tty).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI } from '../helpers.js';
import { formatDuration, formatProgress } from '../../src/mover/progress.js';
import { moverEnv } from './util.js';

const MALFORMED = /NaN|Infinity|undefined|null|LL|\+/;
const ETA = /ETA (\d+s|\d+m\d\ds|\d+h\d\dm|--)$/;

test('formatter: unknown total shows done and rate only; known total shows percent and ETA', () => {
  const counting = formatProgress({ files: 823, bytes: 215.1e6, seconds: 5, counted: 12000 });
  assert.equal(counting, '823 files | 215.1 MB | 43.0 MB/s | counting the source: 12000 so far');
  assert.doesNotMatch(counting, /%|ETA/);
  // The count failed (a directory it could not list): no total, no "counting".
  assert.equal(formatProgress({ files: 3, bytes: 0, seconds: 0 }), '3 files | 0.0 MB | 0.0 MB/s');

  const known = formatProgress({ files: 50, bytes: 250e6, seconds: 10, totalFiles: 100, totalBytes: 1000e6 });
  assert.match(known, /^█{10}░{10} 50% \| 50\/100 files \| 250\.0\/1000\.0 MB \| 25\.0 MB\/s \| ETA 10s$/);
  // The larger of the two fractions (sync: most files unchanged, few bytes copied).
  assert.match(formatProgress({ files: 90, bytes: 1e6, seconds: 9, totalFiles: 100, totalBytes: 100e6 }), / 90% .* ETA 1s$/);
  // Nothing done yet, or no time elapsed: no ETA to give.
  assert.match(formatProgress({ files: 0, bytes: 0, seconds: 0, totalFiles: 10, totalBytes: 10 }), / 0% .* ETA --$/);
  assert.match(formatProgress({ files: 0, bytes: 0, seconds: 3, totalFiles: 10, totalBytes: 10 }), / 0% .* ETA --$/);
  // An empty source is complete; a source that grew since it was counted stops at 100%.
  assert.match(formatProgress({ files: 0, bytes: 0, seconds: 1, totalFiles: 0, totalBytes: 0 }), /^█{20} 100% \| 0\/0 files .* ETA 0s$/);
  assert.match(formatProgress({ files: 12, bytes: 5e6, seconds: 1, totalFiles: 10, totalBytes: 4e6 }), / 100% \| 12\/10 files .* ETA 0s$/);
  for (const s of [counting, known]) assert.doesNotMatch(s, MALFORMED);
  assert.deepEqual([0.2, 7, 59.5, 60, 185, 3599, 3600, 7620].map(formatDuration), ['1s', '7s', '1m00s', '1m00s', '3m05s', '59m59s', '1h00m', '2h07m']);
});

/** Child-side hook: the first open of a file named big.bin (the copy's large-file path) waits, so the copy lasts past the count. */
const SLOW_BIG = `
import fs from 'node:fs';
const open = fs.promises.open;
let first = true;
fs.promises.open = async function (p, ...rest) {
  if (first && String(Buffer.isBuffer(p) ? p.toString('latin1') : p).endsWith('/big.bin')) { first = false; await new Promise((r) => setTimeout(r, 1500)); }
  return open.call(this, p, ...rest);
};
`;

test('on a terminal: the line counts first, then shows percent and ETA of the counted total; never a malformed ETA', { skip: spawnSync('script', ['--version']).status !== 0 && 'needs script(1) (util-linux)' }, () => {
  const { home, env } = moverEnv();
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'd'), { recursive: true });
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(src, 'd', `f${i}`), `file ${i}\n`);
  fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(1 << 20, 1));
  const dst = path.join(home, 'dst');
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const r = spawnSync('script', ['-qfec', `${q(process.execPath)} ${q(CLI)} fs copy --src ${q(src)} --dst ${q(dst)}`, '/dev/null'], {
    env: { ...process.env, ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(SLOW_BIG)}`, TERM: 'xterm', COLUMNS: '200' },
    encoding: 'utf8', timeout: 60000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // The frames the bar drew (carriage returns and ANSI sequences between them).
  const frames = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n').split(/[\r\n]+/).map((l) => l.trim()).filter((l) => / MB\/s/.test(l) && !l.startsWith('copy:'));
  assert.ok(frames.length >= 2, r.stdout);
  assert.match(frames[0]!, /^0 files \| 0\.0 MB \| 0\.0 MB\/s \| counting the source/, 'the first line: nothing known yet');
  const withTotal = frames.filter((l) => /%/.test(l));
  assert.ok(withTotal.length > 0, `a line with the total once counted:\n${frames.join('\n')}`);
  for (const l of withTotal) {
    assert.match(l, /\d+% \| \d+\/51 files \| [\d.]+\/1\.0 MB \| /, l);
    assert.match(l, ETA, l);
  }
  assert.match(frames.at(-1)!, /100% \| 51\/51 files .* ETA 0s$/, 'the last line: all done');
  for (const l of frames) assert.doesNotMatch(l, MALFORMED, l);
  assert.match(r.stdout, /copy: 51 files, 2 directories/);
});

test('on a 60-column terminal: every progress line fits (the bar goes first), and the summary says "1 file"', { skip: spawnSync('script', ['--version']).status !== 0 && 'needs script(1) (util-linux)' }, () => {
  const { home, env } = moverEnv();
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, 'big.bin'), Buffer.alloc(1 << 20, 1));
  const dst = path.join(home, 'dst');
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const r = spawnSync('script', ['-qfec', `stty cols 60 rows 24 && ${q(process.execPath)} ${q(CLI)} fs copy --src ${q(src)} --dst ${q(dst)}`, '/dev/null'], {
    env: { ...process.env, ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(SLOW_BIG)}`, TERM: 'xterm' },
    encoding: 'utf8', timeout: 60000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const frames = r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n').split(/[\r\n]+/).map((l) => l.trim()).filter((l) => /\d+ MB|%/.test(l) && !l.startsWith('copy:'));
  const withTotal = frames.filter((l) => /%/.test(l));
  assert.ok(withTotal.length > 0, `a line with the total:\n${frames.join('\n')}`);
  for (const l of frames) assert.ok([...l].length < 60, `fits in 60 columns (${[...l].length}): ${l}`);
  // What matters is kept: the percentage, the counts and the ETA.
  assert.match(frames.at(-1)!, /^100% \| 1\/1 file \| 1\.0\/1\.0 MB \| [\d.]+ MB\/s \| ETA 0s$/, frames.at(-1));
  assert.match(r.stdout, /copy: 1 file, 1 directory, 0 links, 1048576 bytes, .*, 0 errors/);
});

test('formatProgress fits narrower lines: the bar goes first, then the rate, the megabytes, the ETA', () => {
  const p = { files: 50, bytes: 250e6, seconds: 10, totalFiles: 100, totalBytes: 1000e6 };
  assert.equal(formatProgress(p, 60), '50% | 50/100 files | 250.0/1000.0 MB | 25.0 MB/s | ETA 10s');
  assert.equal(formatProgress(p, 40), '50% | 50/100 files | ETA 10s');
  assert.equal(formatProgress(p, 20), '50% | 50/100 files');
  assert.equal(formatProgress(p, 8), '50%');
  assert.equal(formatProgress({ files: 1, bytes: 0, seconds: 0, counted: 5 }, 30), '1 file | 0.0 MB | 0.0 MB/s');
  for (const c of [5, 12, 33, 47, 61, 80]) assert.ok([...formatProgress(p, c)].length < c, String(c));
});
