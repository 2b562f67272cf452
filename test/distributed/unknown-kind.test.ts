// A job of a kind this worker does not run (a newer strata's, or a typo'd
// producer): the worker leaves its items for a worker that knows the kind and
// says so once, however often it looks at the queue. An item of a kind its
// job's kind does not have fails with its reason, alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';
import { openWorkQueue } from '../../src/engine/open.js';
import { PosixTree } from '../../src/mover/posix.js';
import { stToJson } from '../../src/mover/queue.js';

const skip = pgUnavailableReason();

test('a job of an unknown kind: the worker leaves its items and says so once', { skip, timeout: 60_000 }, async () => {
  const url = await freshPgDatabase();
  const queue = await openWorkQueue(url);
  try {
    const job = await queue.createTaskJob('frobnicate', { what: 'test' }, [{ rel: 'one', task: { n: 1 } }, { rel: 'two', task: { n: 2 } }]);
    const r = await runCli(['worker', '--wait', '2s'], { env: { STRATA_ENGINE: url } });
    assert.equal(r.code, 0, r.stderr);
    const said = r.stderr.split('\n').filter((l) => l.includes(`job ${job}`));
    assert.equal(said.length, 1, r.stderr);
    assert.match(said[0]!, /^strata: worker: job \d+ is of kind 'frobnicate', which this worker does not run: left for a worker that does$/);
    assert.deepEqual((await queue.taskStates(job)).map((s) => s.state), ['ready', 'ready']);
  } finally {
    await queue.close();
  }
});

test('an item of a kind its job does not have fails with its reason; the rest of the job is done and the worker goes on', { skip, timeout: 60_000 }, async () => {
  const url = await freshPgDatabase();
  const home = tempDir('strata-unknown-item-');
  const src = path.join(home, 'src');
  const dst = path.join(home, 'dst');
  fs.mkdirSync(src);
  fs.mkdirSync(dst);
  fs.writeFileSync(path.join(src, 'f'), 'hello\n');
  const tree = new PosixTree(src);
  const st = await tree.lstat('f');
  await tree.close();
  const queue = await openWorkQueue(url);
  try {
    const job = await queue.createJob('copy', { src, dst, dstRoot: { kind: 'posix', path: dst }, xattrs: 'non-lustre', verify: false });
    await queue.apply(job, [
      { op: 'item', item: { seq: 1, kind: 'entry', rel: 'f', st: stToJson(st!), size: 6 } },
      // A newer planner's item, say, with a payload this worker could read.
      { op: 'item', item: { seq: 2, kind: 'frobnicate', rel: 'g', st: stToJson(st!), size: 0 } },
    ]);
    await queue.setJobStatus(job, 'planned');
    const r = await runCli(['worker', '--wait', '2s'], { env: { STRATA_ENGINE: url } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^strata: .*g: item kind frobnicate in a copy job \(EINVAL\)$/m);
    assert.match(r.stderr, /^worker: 2 items, 1 failed/m);
    const c = await queue.counts(job);
    assert.deepEqual([c.done, c.failed, c.files], [1, 1, 1]);
    assert.equal(fs.readFileSync(path.join(dst, 'f'), 'utf8'), 'hello\n');
    assert.deepEqual(fs.readdirSync(dst), ['f'], 'nothing else made');
  } finally {
    await queue.close();
  }
});
