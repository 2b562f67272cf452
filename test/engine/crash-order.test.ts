// What reaches the disk in which order, for an OS crash (power loss) at any
// instant: read from the system calls of a real engine process (strace).
// - An extent file is deleted only after the index commits that dropped the
//   last references to it are on disk (else a crash in between leaves the
//   index pointing into a deleted file).
// - A new extent file's directory entry is on disk (fsync of extents/)
//   before the first index commit that points into the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../helpers.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-order-worker.js');
const noStrace = spawnSync('strace', ['-V']).status === 0 ? false : 'strace is not installed';

interface Call { name: string; path: string; line: string }

/** The worker's calls that write or sync the index, sync a file or directory, create or delete an extent file. */
function trace(home: string): Call[] {
  const log = path.join(tempDir('strata-strace-'), 'trace');
  const r = spawnSync('strace', ['-f', '-y', '-qq', '-o', log, '-e', 'trace=openat,pwrite64,write,pwritev,fsync,fdatasync,msync,unlink,unlinkat',
    process.execPath, WORKER, `lmdb:${home}`, randomUUID()], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const calls: Call[] = [];
  for (const line of (spawnSync('cat', [log], { encoding: 'utf8' }).stdout).split('\n')) {
    const m = /^\d+\s+(\w+)\((?:\d+<([^>]*)>|AT_FDCWD, "([^"]*)"|"([^"]*)")?/.exec(line);
    if (!m || / = -1 /.test(line)) continue;
    calls.push({ name: m[1]!, path: m[2] ?? m[3] ?? m[4] ?? '', line });
  }
  return calls;
}

let traced: { calls: Call[]; home: string } | undefined;
/** One traced run serves both tests. */
function run(): { calls: Call[]; home: string } {
  if (!traced) { const home = tempDir('strata-order-'); traced = { calls: trace(home), home }; }
  return traced;
}
const isIndexWrite = (index: string) => (c: Call) => c.path === index && /^(pwrite64|write|pwritev)$/.test(c.name);
const show = (calls: Call[]) => calls.map((c) => c.line).join('\n');

test('an extent file is deleted only after the index commits that dropped its last references are synced', { skip: noStrace }, () => {
  const { calls, home } = run();
  const index = path.join(home, 'index.mdb');
  const first = path.join(home, 'extents', '00000001.ext');
  const unlink = calls.findIndex((c) => /^unlink/.test(c.name) && c.line.includes(first));
  assert.ok(unlink > 0, 'the first extent file was deleted');
  let lastWrite = -1;
  for (let i = 0; i < unlink; i++) if (isIndexWrite(index)(calls[i]!)) lastWrite = i;
  assert.ok(lastWrite >= 0, 'the index was written before');
  assert.ok(calls.slice(lastWrite + 1, unlink).some((c) => c.path === index && /^(fsync|fdatasync|msync)$/.test(c.name)),
    `the index was synced between its last write and the unlink:\n${show(calls.slice(lastWrite, unlink + 1))}`);
});

test('the directory entry of a new extent file is synced before the first index commit that points into it', { skip: noStrace }, () => {
  const { calls, home } = run();
  const index = path.join(home, 'index.mdb');
  const ext = path.join(home, 'extents');
  for (const name of ['00000001.ext', '00000002.ext']) {
    const file = path.join(ext, name);
    const created = calls.findIndex((c) => c.name === 'openat' && c.line.includes(`"${file}`) && /O_CREAT/.test(c.line));
    assert.ok(created >= 0, `${name} was created`);
    const dataSync = calls.findIndex((c, i) => i > created && c.path === file && /^(fsync|fdatasync)$/.test(c.name));
    assert.ok(dataSync > created, `${name}'s bytes were synced`);
    const nextIndexWrite = calls.findIndex((c, i) => i > dataSync && isIndexWrite(index)(c));
    assert.ok(nextIndexWrite > dataSync, 'the index was written after');
    assert.ok(calls.slice(created + 1, nextIndexWrite).some((c) => c.path === ext && /^(fsync|fdatasync)$/.test(c.name)),
      `extents/ was synced between creating ${name} and the index commit pointing into it:\n${show(calls.slice(created, nextIndexWrite + 1))}`);
  }
});
