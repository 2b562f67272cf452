// The lock that proves an extent file's writer alive or gone
// (src/engine/writer-lock.ts), with real processes: a live holder's lock is
// held, a holder killed with SIGKILL leaves it free (even while a program it
// started still runs), and another open in the holder's own process sees it
// held too. A lock wrongly free loses a live writer's next appends; one held
// forever leaks its file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { holdLock, lockFree } from '../../src/engine/writer-lock.js';
import { tempDir } from '../helpers.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'writer-lock-worker.js');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

test("a live process's lock is held; killed with SIGKILL, its lock is free though a program it started still runs", async () => {
  const file = path.join(tempDir('strata-lock-'), '00000001.ext');
  const child = spawn(process.execPath, [WORKER, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d; });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const started = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      const m = /ready (\d+)\n/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    void exited.then(() => reject(new Error(`the holder exited early: ${err}`)));
  });
  try {
    assert.equal(lockFree(file), false, "a live process's lock is held");
    assert.equal(lockFree(file), false, 'and still held after a check (a check releases only its own lock)');
    child.kill('SIGKILL');
    await exited;
    assert.ok(alive(started), 'the program the holder started still runs');
    assert.equal(lockFree(file), true, "a killed holder's lock is free");
  } finally {
    child.kill('SIGKILL');
    try { process.kill(started, 'SIGKILL'); } catch { /* gone */ }
  }
});

test('a lock held in this process is held for another open of the same file here; released, it is free', () => {
  const file = path.join(tempDir('strata-lock-'), '00000001.ext.new');
  const fd = fs.openSync(file, 'wx');
  const lock = holdLock(fd, file);
  try {
    assert.equal(lockFree(file), false);
    const renamed = file.replace(/\.new$/, '');
    fs.renameSync(file, renamed);
    assert.equal(lockFree(renamed), false, 'the lock follows the file to its name');
    fs.closeSync(fd);
    assert.equal(lockFree(renamed), false, 'the writer closing its descriptor does not release the lock');
    lock.release();
    assert.equal(lockFree(renamed), true);
    lock.release(); // twice is harmless
  } finally {
    lock.release();
  }
});

test('a missing file or a symlink is neither free nor held, and no file is made', () => {
  const dir = tempDir('strata-lock-');
  const missing = path.join(dir, '00000009.ext');
  assert.equal(lockFree(missing), undefined);
  assert.equal(fs.existsSync(missing), false, 'a check creates no file');
  const link = path.join(dir, '00000008.ext');
  fs.writeFileSync(path.join(dir, 'target'), '');
  fs.symlinkSync('target', link);
  assert.equal(lockFree(link), undefined, 'a symlink is not followed');
});
