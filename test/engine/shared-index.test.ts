// Several processes on one LMDB index: long-lived writers committing
// 'visible' (no meta-page sync, as a FUSE mount does) beside short-lived
// processes that open the index, commit and close it, over and over. Each
// writer checks its own files; then `strata pool check` must pass.
// Regression test: on lmdb-js's prebuilt LMDB branch (0.9.90), which keeps
// the free-page list in each process between transactions, this stress lost
// and resurrected entries and reused pages still in use (in 3 of 4 runs of
// 30 s); on LMDB 0.9 (native/lmdb/build.mjs) it never did. The test also
// checks the engine refuses to run on that branch and names an index it
// wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as lmdb from 'lmdb';
import { runCli, tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { createPool } from '../../src/container/pool.js';
import { createContainer, openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'shared-index-worker.js');
const WRITERS = 6;
const OPENERS = 2;
const SECONDS = Math.max(5, Number(process.env['STRATA_SHARED_INDEX_SECONDS'] ?? 25) || 25);

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WORKER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => { stdout += d; });
    child.stderr.on('data', (d: Buffer) => { stderr += d; });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

test('the engine runs on LMDB 0.9, not lmdb-js\'s prebuilt 0.9.90 branch', () => {
  const v = (lmdb as unknown as { version: { major: number; minor: number; patch: number } }).version;
  assert.equal(`${v.major}.${v.minor}`, '0.9');
  assert.ok(v.patch < 90, `LMDB 0.9.${v.patch}`);
});

test('an index in the 0.9.90 branch\'s data format is refused with one line, untouched', async () => {
  const home = tempDir();
  // The first meta page as that branch writes it: a 24-byte page header, then magic and format 2.
  const page = Buffer.alloc(8192);
  page.writeUInt32LE(0x80000, 16);
  page.writeUInt32LE(0xbeefc0de, 24);
  page.writeUInt32LE(2, 28);
  fs.writeFileSync(path.join(home, 'index.mdb'), page);
  const r = await runCli(['pool', 'list'], { env: { STRATA_HOME: home, STRATA_ENGINE: '' } });
  assert.notEqual(r.code, 0);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /LMDB data format 2/);
  assert.ok(fs.readFileSync(path.join(home, 'index.mdb')).equals(page), 'the index was changed');
});

test(`${WRITERS} writers committing 'visible' beside short-lived openers lose nothing; pool check passes`, async (t) => {
  const home = tempDir();
  const engine = await openEngine(`lmdb:${home}`);
  let rawUuid: string;
  try {
    await createPool(engine, 'tank');
    await createContainer(engine, 'tank', 'fs', { type: 'POSIX' });
    rawUuid = (await createContainer(engine, 'tank', 'raw', { type: 'RAW' })).uuid;
    const dfs = await mountDfs(await openContainer(engine, 'tank', 'fs', { write: true }));
    for (const d of ['/s0', '/s1', '/s2']) await dfs.mkdir(d);
  } finally {
    await engine.close();
  }
  const writers = Array.from({ length: WRITERS }, (_, i) => run(['writer', home, String(i), String(SECONDS)]));
  const openers = Array.from({ length: OPENERS }, () => run(['opener', home, rawUuid, String(SECONDS - 2)]));
  const results = await Promise.all(writers);

  let ops = 0;
  const problems: string[] = [];
  results.forEach((r, i) => {
    if (r.code !== 0) { problems.push(`writer ${i}: exit ${r.signal ?? r.code}: ${r.stderr.trim().slice(-500)}`); return; }
    const out = JSON.parse(r.stdout) as { ops: number; bad: string[] };
    ops += out.ops;
    for (const b of out.bad) problems.push(`writer ${i}: ${b}`);
  });
  let opens = 0;
  for (const op of await Promise.all(openers)) {
    assert.equal(op.code, 0, op.stderr);
    const out = JSON.parse(op.stdout) as { opens: number; failures: string[] };
    opens += out.opens;
    for (const f of out.failures) problems.push(`opener: ${f}`);
  }
  t.diagnostic(`shared index: ${WRITERS} writers, ${ops} operations; ${opens} short-lived openers; ${problems.length} problems`);
  assert.deepEqual(problems.slice(0, 20), []);
  assert.ok(ops > WRITERS * 100, `only ${ops} operations`);
  assert.ok(opens >= 10, `only ${opens} openers`);

  const check = await runCli(['pool', 'check'], { env: { STRATA_HOME: home, STRATA_ENGINE: '' } });
  assert.equal(check.code, 0, check.stdout + check.stderr);
});

test('20 CLI processes starting at once on one index all work and print nothing on stderr', async () => {
  // On the prebuilt addon, about fifteen at once could fail a first read
  // transaction ("No transaction to renew"), and lmdb-js printed a line.
  const env = { STRATA_HOME: tempDir(), STRATA_ENGINE: '' };
  assert.equal((await runCli(['pool', 'create', 'tank'], { env })).code, 0);
  for (const args of [['pool', 'list'], ['container', 'create', 'tank']]) {
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => runCli(args[0] === 'container' ? [...args, `c${i}`] : args, { env })));
    for (const r of rs) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    }
  }
  const list = await runCli(['container', 'list', 'tank', '--json'], { env });
  assert.equal((JSON.parse(list.stdout) as unknown[]).length, 20);
});
