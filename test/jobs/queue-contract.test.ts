// The work queue's contract, driven through its interface (WorkQueueStore,
// src/engine/work-queue.ts) on every registered engine that keeps one; an
// engine without a queue is skipped with the reason. Two handles on one queue
// are two workers (each its own `me`). The last part runs the jobs layer's
// worker (src/jobs/worker.ts) in this process with a job kind registered here.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engineDrivers } from '../../src/engine/registry.js';
import '../../src/engine/drivers.js';
import type { QueueOp, WorkQueueStore } from '../../src/engine/work-queue.js';
import { openQueue } from '../../src/jobs/queue.js';
import { registerJobKind } from '../../src/jobs/registry.js';
import { runWorker } from '../../src/jobs/worker.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

/** How a test gets a throwaway store of each engine kind that keeps a queue. */
const servers: Record<string, { unavailable: () => string | undefined; url: () => Promise<string> }> = {
  postgres: { unavailable: pgUnavailableReason, url: () => freshPgDatabase() },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until cond() holds (bounded: a failure, not a hang). */
async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let roots = 0;
/** A job spec on a destination root of its own (one live planner per root). */
const spec = () => ({ dst: `contract-${++roots}`, dstRoot: { kind: 'posix', path: `/contract/${process.pid}/${roots}` } });

/** n independent items of kind k, seq 1..n, payload {n: seq}. */
const items = (n: number, k = 'entry'): QueueOp[] =>
  Array.from({ length: n }, (_, i) => ({ op: 'item' as const, item: { seq: i + 1, kind: k, rel: `f${i + 1}`, st: JSON.stringify({ n: i + 1 }), size: 10 } }));

/** Claimed items by seq (a claim takes the lowest ready seqs; it returns them in no particular order). */
const bySeq = <T extends { seq: number }>(l: T[]): T[] => [...l].sort((x, y) => x.seq - y.seq);

const states = async (q: WorkQueueStore, job: number) => (await q.taskStates(job)).map((s) => s.state);

// A kind the worker test registers; jobs of it echo their payload.
let echoed = 0;
registerJobKind({
  name: 'contract-echo',
  async open(s) {
    return {
      async run(it) { echoed++; return { result: { echo: it.st, spec: s['what'] } }; },
      close: async () => undefined,
    };
  },
});

for (const driver of engineDrivers()) {
  const server = servers[driver.kind];
  const skip = !driver.openWorkQueue
    ? `the ${driver.kind} engine keeps no work queue (it serves one machine; distributed jobs need an engine shared by the nodes)`
    : server?.unavailable();

  describe(`work queue contract: ${driver.kind}`, { skip }, () => {
    let url = '';
    let a: WorkQueueStore;
    let b: WorkQueueStore;
    before(async () => {
      if (!server) throw new Error(`the ${driver.kind} engine keeps a work queue: give this test a way to start a store of it (servers)`);
      url = await server.url();
      a = await openQueue(url);
      b = await openQueue(url);
    });
    after(async () => { await a?.close(); await b?.close(); });

    it('two handles are two claimers', () => {
      assert.notEqual(a.me, b.me);
    });

    it('enqueues, and claims in batches under a lease: each item to one claimer, the lowest first, with its payload', async () => {
      const job = await a.createJob('contract', spec());
      await a.apply(job, items(10));
      // Applying the same operations again changes nothing (a planner's retry).
      await a.apply(job, items(10));
      assert.equal((await a.counts(job)).total, 10);
      const first = bySeq(await a.claim(job, 4, 60_000));
      assert.deepEqual(first.map((x) => x.seq), [1, 2, 3, 4]);
      assert.deepEqual(first[0]!.st, { n: 1 }, 'the payload comes back parsed');
      assert.equal(first[0]!.attempts, 1);
      const second = bySeq(await b.claim(job, 100, 60_000));
      assert.deepEqual(second.map((x) => x.seq), [5, 6, 7, 8, 9, 10], 'claimed items are not claimed again while their lease runs');
      assert.deepEqual(await a.claim(job, 100, 60_000), []);
      assert.equal((await a.counts(job)).open, 10);
    });

    it('concurrent claimers never get the same item', async () => {
      const job = await a.createJob('contract', spec());
      await a.apply(job, items(300));
      const got: number[] = [];
      const drain = async (q: WorkQueueStore) => {
        for (;;) {
          const c = await q.claim(job, 7, 60_000);
          if (c.length === 0) return;
          got.push(...c.map((x) => x.seq));
        }
      };
      await Promise.all([drain(a), drain(b), drain(a), drain(b)]);
      assert.equal(got.length, 300);
      assert.equal(new Set(got).size, 300);
    });

    it('an item whose lease ran out returns to ready, and its old holder\'s outcome is ignored', async () => {
      const job = await a.createJob('contract', spec());
      await a.apply(job, items(2));
      assert.equal((await a.claim(job, 2, 300)).length, 2);
      // a "dies": after its lease, b gets the items (their second attempt).
      let taken: Awaited<ReturnType<WorkQueueStore['claim']>> = [];
      await until('the lease to run out', async () => (taken = await b.claim(job, 2, 60_000)).length === 2);
      assert.deepEqual(bySeq(taken).map((x) => [x.seq, x.attempts]), [[1, 2], [2, 2]]);
      // a comes back and reports: nothing changes, the items are b's.
      await a.finish(job, [{ seq: 1, state: 'done', made: 'file' }, { seq: 2, state: 'failed', error: 'late' }]);
      assert.deepEqual(await states(a, job), ['claimed', 'claimed']);
      await b.finish(job, [{ seq: 1, state: 'done', made: 'file' }, { seq: 2, state: 'done', made: 'file' }]);
      assert.deepEqual(await states(a, job), ['done', 'done']);
      assert.equal((await a.counts(job)).failed, 0);
    });

    it('a renewed lease keeps the items with their holder', async () => {
      const job = await a.createJob('contract', spec());
      await a.apply(job, items(1));
      assert.equal((await a.claim(job, 1, 500)).length, 1);
      await a.renew(600_000);
      await sleep(800);
      assert.deepEqual(await b.claim(job, 1, 60_000), [], 'renewed: not expired');
    });

    it('outcomes apply only to items the reporter holds; retry and again return them to ready', async () => {
      const job = await a.createJob('contract', spec());
      await a.apply(job, items(3));
      // Not claimed by anyone: an outcome for it is ignored.
      await b.finish(job, [{ seq: 1, state: 'done' }]);
      assert.deepEqual(await states(a, job), ['ready', 'ready', 'ready']);
      await a.claim(job, 3, 60_000);
      // Held by a, reported by b: ignored.
      await b.finish(job, [{ seq: 1, state: 'done' }]);
      assert.deepEqual(await states(a, job), ['claimed', 'claimed', 'claimed']);
      await a.finish(job, [{ seq: 1, state: 'retry', error: 'try again' }, { seq: 2, state: 'again' }, { seq: 3, state: 'done' }]);
      assert.deepEqual(await states(a, job), ['ready', 'ready', 'done']);
      const again = bySeq(await b.claim(job, 3, 60_000));
      // A retry counts the attempt; again (a lost connection) does not.
      assert.deepEqual(again.map((x) => [x.seq, x.attempts]), [[1, 2], [2, 1]]);
    });

    it('an item is finished exactly once: a repeated report counts nothing twice', async () => {
      const job = await a.createJob('contract', spec());
      // A directory (seq 1) holding two files, sealed: ready once both are finished.
      await a.apply(job, [
        { op: 'item', item: { seq: 1, kind: 'dir', rel: 'd', st: '{}', size: 0 } },
        { op: 'item', item: { seq: 2, kind: 'entry', rel: 'd/x', st: '{}', parent: 1, size: 5 } },
        { op: 'item', item: { seq: 3, kind: 'entry', rel: 'd/y', st: '{}', parent: 1, size: 7 } },
        { op: 'item', item: { seq: 4, kind: 'entry', rel: 'd/z', st: '{}', parent: 1, size: 9 } },
        { op: 'seal', seq: 1, children: 3 },
      ]);
      assert.deepEqual(bySeq(await a.claim(job, 10, 60_000)).map((x) => x.seq), [2, 3, 4], 'the directory waits for its content');
      const outs = [{ seq: 2, state: 'done' as const, made: 'file' }, { seq: 3, state: 'done' as const, made: 'file' }];
      await a.finish(job, outs);
      await a.finish(job, outs);
      // Two of three finished, reported twice: the directory must not count them twice.
      assert.deepEqual(await states(a, job), ['waiting', 'done', 'done', 'claimed']);
      const c = await a.counts(job);
      assert.equal(c.files, 2);
      assert.equal(c.bytes, 12);
      await a.finish(job, [{ seq: 4, state: 'done', made: 'file' }]);
      assert.deepEqual((await b.claim(job, 10, 60_000)).map((x) => x.seq), [1], 'the directory, once all of it is finished');
      await b.finish(job, [{ seq: 1, state: 'done', made: 'dir' }]);
      await b.finish(job, [{ seq: 1, state: 'done', made: 'dir' }]);
      const end = await a.counts(job);
      assert.deepEqual([end.total, end.done, end.open, end.files, end.bytes], [4, 4, 0, 3, 21]);
    });

    it('a second producer on the same destination is refused while the first lives', async () => {
      const s = spec();
      const job = await a.createJob('contract', s);
      await assert.rejects(b.createJob('contract', s), (e: Error & { code?: string }) => e.code === 'EBUSY' && /another planner is running on the same destination/.test(e.message));
      await a.setJobStatus(job, 'done');
      assert.ok(await b.createJob('contract', s) > job, 'once the first is done, a new job');
    });

    it('the worker runs registered kinds, leaves unknown kinds alone and says so once', async () => {
      // Only these two jobs are open: close what the cases above left.
      for (const j of await a.openJobs(3600)) await a.setJobStatus(j.id, 'done');
      const known = await a.createTaskJob('contract-echo', { what: 'echo' }, [{ rel: 'one', task: { n: 1 } }, { rel: 'two', task: { n: 2 } }, { rel: 'three', task: { n: 3 } }]);
      const unknown = await a.createTaskJob('contract-unknown', { what: 'x' }, [{ rel: 'u', task: { n: 9 } }]);
      const log: string[] = [];
      echoed = 0;
      const s = await runWorker({ engine: url, waitMs: 1000, leaseMs: 5000, onLog: (m) => log.push(m) });
      assert.equal(echoed, 3);
      assert.deepEqual(s.jobs, [known]);
      assert.deepEqual((await a.taskStates(known)).map((x) => [x.state, x.result]), [1, 2, 3].map((n) => ['done', { echo: { n }, spec: 'echo' }]));
      assert.deepEqual(await states(a, unknown), ['ready'], 'left for a worker that runs its kind');
      assert.deepEqual(log.filter((l) => l.includes(`job ${unknown}`)), [`job ${unknown} is of kind 'contract-unknown', which this worker does not run: left for a worker that does`]);
    });
  });
}
