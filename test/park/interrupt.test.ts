// Ctrl-C during `cont serialize`: a real SIGINT mid-run stops the ranks
// (in-process and worker processes), removes their temporary files and exits
// 130 with one line. A run killed outright (SIGKILL) leaves its temporary file;
// the next run in that directory removes it (its writer is gone) and keeps one
// whose writer still runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI } from '../helpers.js';
import { ok, tierEnv } from '../tier/util.js';

const { home, env } = tierEnv('intr');

/** Starts `strata cont serialize`, waits until a temporary file in out holds more than 4 MiB, sends sig. */
function serializeUntilWriting(out: string, sig: NodeJS.Signals, ...more: string[]): Promise<{ code: number | null; signal: string | null; stderr: string; seen: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'cont', 'serialize', 'tank', 'big', '-o', out, ...more], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let seen: string[] = [];
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setInterval(() => {
      let names: string[] = [];
      try { names = fs.readdirSync(out).filter((n) => n.endsWith('.tmp')); } catch { return; }
      const big = names.filter((n) => { try { return fs.statSync(path.join(out, n)).size > 4 << 20; } catch { return false; } });
      if (big.length) { seen = names; clearInterval(timer); child.kill(sig); }
    }, 5);
    child.on('close', (code, signal) => { clearInterval(timer); resolve({ code, signal, stderr, seen }); });
    child.on('error', reject);
  });
}

test('setup: a container of 120 MiB', async () => {
  await ok(env, 'pool', 'create', 'tank');
  await ok(env, 'cont', 'create', 'tank', 'big', '--type', 'POSIX');
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  for (let i = 0; i < 60; i++) fs.writeFileSync(path.join(src, `f${i}`), Buffer.alloc(2 << 20, i + 1));
  await ok(env, 'fs', 'copy', '--src', src, '--dst', 'daos://tank/big/');
});

for (const jobs of ['1', '2']) {
  test(`SIGINT mid-run (-j ${jobs}): exit 130, one line, no file left`, async () => {
    const out = path.join(home, `out-int-${jobs}`);
    fs.mkdirSync(out);
    const r = await serializeUntilWriting(out, 'SIGINT', '-j', jobs);
    assert.ok(r.seen.length > 0, 'a temporary file was being written');
    assert.equal(r.code, 130, `exit ${r.code} ${r.signal}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^strata: container serialize: interrupted/);
    assert.deepEqual(fs.readdirSync(out), [], 'no temporary file left');
  });
}

test('a temporary file whose writer was killed is removed by the next run; one whose writer runs is kept', async () => {
  const out = path.join(home, 'out-kill');
  fs.mkdirSync(out);
  const r = await serializeUntilWriting(out, 'SIGKILL');
  assert.equal(r.signal, 'SIGKILL');
  const left = fs.readdirSync(out);
  assert.equal(left.length, 1, `the killed run's temporary file: ${left.join(' ')}`);
  // a file named as being written by a live process of this host (this test)
  const live = `.${left[0]!.replace(/^\./, '').replace(/\.strata-.*$/, '')}.strata-${os.hostname()}-${process.pid}-0123456789ab.tmp`;
  fs.writeFileSync(path.join(out, live), 'being written');
  await ok(env, 'cont', 'serialize', 'tank', 'big', '-o', out);
  const now = fs.readdirSync(out).sort();
  assert.ok(!now.includes(left[0]!), `stale temporary removed: ${now.join(' ')}`);
  assert.ok(now.includes(live), 'a live writer\'s file is kept');
  assert.equal(now.filter((n) => n.endsWith('.h5')).length, 1);
});
