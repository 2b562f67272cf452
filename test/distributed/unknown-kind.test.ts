// A job of a kind this worker does not run (a newer strata's, or a typo'd
// producer): the worker leaves its items for a worker that knows the kind and
// says so once, however often it looks at the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';
import { openWorkQueue } from '../../src/engine/open.js';

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
