// A `strata worker` SIGKILLed in the middle of a queued parking rank
// (`container serialize --queue`, `container deserialize --queue`, PostgreSQL
// engine). The victim runs in short slices (SIGCONT … SIGSTOP) and the kill
// point is checked while it is stopped, so it is killed exactly at the chosen
// state: a rank file half written, a rank file half loaded (some engine
// batches committed, the rank not done). Then, with no worker running, the
// lease of its rank runs out and the command must still be waiting (no rank
// file under a final name, no container visible); a second worker takes the
// rank over; the command completes; the directory holds the rank files and
// nothing else, each sealed; and the container deserialized from them has the
// source's `container check` digest. A second case stops (not kills) a
// worker past its lease and resumes it after another worker did its rank: the
// file put in place must still be whole. Bounded waits; no timing assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import type { CliResult } from '../helpers.js';
import { pgUnavailableReason } from '../pg-server.js';
import { killStarted, queueEnv, started, type Started as Proc } from '../park/queued.js';
import { USERBLOCK, verifyFile } from '../../src/park/format.js';

const skip = pgUnavailableReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One lane: one rank at a time. A short lease, so a dead worker's rank is free again soon. */
const worker = (env: Record<string, string>) => started(['worker', '--lease', '1s', '-j', '1'], env);

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try { return (await c.query<T>(text, values)).rows; } finally { await c.end(); }
}

/** Polls cond() every 50 ms; fails (naming what) after ms. */
async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  for (const t0 = Date.now(); !(await cond());) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function stopped(pid: number): boolean {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

/**
 * Lets p run in slices of 20 ms and checks at() after each, with p stopped
 * (SIGSTOP, and the kernel reports it stopped); returns with p stopped once
 * at() holds. So the state at() saw is the state p is killed in.
 */
async function stopWhen(p: Proc, what: string, at: () => Promise<boolean>): Promise<void> {
  const pid = p.child.pid!;
  await waitFor(what, async () => {
    if (p.exited()) throw new Error(`the worker ended before ${what}: ${(await p.result).stderr}`);
    p.child.kill('SIGSTOP');
    await waitFor('the worker to stop', () => stopped(pid), 10_000);
    if (await at()) return true;
    p.child.kill('SIGCONT');
    await sleep(20);
    return false;
  });
}

interface Item { seq: number; state: string; claimedBy: string | null; expired: boolean }

/** The rank items of the one open park job, by seq (rank r is item r + 1). */
async function items(url: string): Promise<Item[]> {
  const rows = await sql<{ seq: string; state: string; claimed_by: string | null; expired: boolean | null }>(url,
    `SELECT i.seq, i.state, i.claimed_by, i.lease_until < now() AS expired FROM strata_queue.items i
     JOIN strata_queue.jobs j ON j.id = i.job WHERE j.kind = 'park' AND j.status <> 'done' ORDER BY i.seq`).catch(() => []);
  return rows.map((r) => ({ seq: Number(r.seq), state: r.state, claimedBy: r.claimed_by, expired: !!r.expired }));
}

const heldBy = (it: Item | undefined, p: Proc) => !!it && it.state === 'claimed' && !!it.claimedBy?.includes(`:${p.child.pid}:`);

async function kill(p: Proc): Promise<void> {
  p.child.kill('SIGKILL');
  const r = await p.result;
  assert.equal(r.code, 128, `the worker died of the kill: ${r.stderr}`);
}

/** The dead worker's rank item: still claimed by it (not done, not taken by anyone) until its lease has run out. */
async function leaseRunsOut(url: string, seq: number, dead: Proc): Promise<void> {
  await waitFor(`the lease of rank item ${seq} to run out`, async () => {
    const it = (await items(url)).find((i) => i.seq === seq);
    assert.ok(heldBy(it, dead), `rank item ${seq} is still the dead worker's: ${JSON.stringify(it)}`);
    return it!.expired;
  });
}

/** The command completes (exit 0) once the worker has done `items` ranks; the worker exits 0 too. */
async function completedBy(cmd: Proc, w: Proc, items: number, what: string): Promise<CliResult> {
  await waitFor(`the command to complete (${what})`, () => cmd.exited(), 90_000);
  const r = await cmd.result;
  assert.equal(r.code, 0, r.stderr);
  await waitFor('the worker to exit', () => w.exited(), 90_000);
  const wr = await w.result;
  assert.equal(wr.code, 0, wr.stderr);
  assert.match(wr.stderr, new RegExp(`^worker: ${items} items, 0 failed`, 'm'), what);
  return r;
}

function sealed(file: string): boolean {
  const head = Buffer.alloc(USERBLOCK);
  const fd = fs.openSync(file, 'r');
  try { fs.readSync(fd, head, 0, USERBLOCK, 0); } finally { fs.closeSync(fd); }
  return head.toString('latin1').startsWith('{"magic":"strata-park"');
}

/** A container to park (files of 9 MiB, so that loading any rank file takes more than one engine batch of 8 MiB, and a few small ones), its digest, and the output directory. */
async function parkedSource() {
  const { url, home, env, ok } = await queueEnv('strata-crash-park-queue-');
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'small'), { recursive: true });
  for (let i = 0; i < 3; i++) fs.writeFileSync(path.join(src, `big${i}`), crypto.randomBytes(9 * 1024 * 1024 + i * 4099));
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'small', `f${i}`), `small ${i}\n`.repeat(1 + i * 9));
  await ok(['pool', 'create', 'tank']);
  await ok(['fs', 'copy', '--src', src, '--dst', 'daos://tank/orig', '-q']);
  await ok(['container', 'set-attr', 'tank', 'orig', 'parked', 'by workers']);
  const digestOf = async (c: string) => (await ok(['container', 'check', 'tank', c])).split(/\s+/)[0]!;
  const out = path.join(home, 'parked');
  const ls = () => (fs.existsSync(out) ? fs.readdirSync(out) : []);
  /** Temporary files of rank r (names starting with a dot). */
  const tmpOf = (rank: number) => ls().filter((n) => n.startsWith('.') && n.includes(`_rank${rank}.h5.`)).map((n) => path.join(out, n));
  return { url, env, ok, digestOf, want: await digestOf('orig'), out, ls, tmpOf };
}

test('queued serialize and deserialize: a worker SIGKILLed mid-rank; another takes the rank after its lease; files and container exact', { skip, timeout: 240_000 }, async () => {
  const { url, env, ok, digestOf, want, out, ls, tmpOf } = await parkedSource();
  try {
    // ---- serialize -j 2: the victim writes rank 0, then is killed half-way through rank 1.
    const ser = started(['container', 'serialize', 'tank', 'orig', '-o', out, '-j', '2', '--queue', '--json'], env);
    const victim = worker(env);
    let partial = '';
    await waitFor('the victim done with rank 0 and on rank 1', async () => {
      const [r0, r1] = await items(url);
      return r0?.state === 'done' && heldBy(r1, victim);
    });
    await stopWhen(victim, 'the victim half-way through rank 1', async () => {
      const [r0, r1] = await items(url);
      assert.notEqual(r1?.state, 'done', 'rank 1 was written whole before the kill point');
      const t = tmpOf(1);
      if (r0?.state !== 'done' || !heldBy(r1, victim) || t.length !== 1) return false;
      if (fs.statSync(t[0]!).size < 64 * 1024 || sealed(t[0]!)) return false;
      partial = t[0]!;
      return true;
    });
    await kill(victim);
    await leaseRunsOut(url, 2, victim);
    // The victim's rank is free for others; with no worker the command waits: nothing under a final name.
    assert.equal(ser.exited(), false, 'serialize has not finished with rank 1 missing');
    assert.deepEqual(ls().filter((n) => !n.startsWith('.')), [], 'no rank file under its final name');
    await assert.rejects(verifyFile(partial), 'the killed rank was half written, under its temporary name');
    const s = await completedBy(ser, worker(env), 1, 'the second worker wrote the killed rank');
    const finals = (JSON.parse(s.stdout) as { files: string[] }).files.map((f) => path.basename(f));
    assert.equal(finals.length, 2);
    assert.deepEqual(ls().sort(), [...finals].sort(), 'the rank files and nothing else (the partial file is gone)');
    for (const f of finals) assert.equal(await verifyFile(path.join(out, f)), 'sealed', `${f} is whole`);

    // ---- deserialize: the victim is killed while loading rank file 0 (some batches
    // committed, the rank not done); rank file 1 is still queued.
    const records = async () => Number((await sql<{ n: string }>(url, 'SELECT count(*) AS n FROM records'))[0]!.n);
    const before = await records();
    const des = started(['container', 'deserialize', 'tank', out, '--label', 'back', '--queue'], env);
    const victim2 = worker(env);
    await stopWhen(victim2, 'the victim half-way through rank file 0', async () => {
      const [r0] = await items(url);
      assert.notEqual(r0?.state, 'done', 'rank file 0 was loaded whole before the kill point');
      return heldBy(r0, victim2) && (await records()) > before;
    });
    await kill(victim2);
    await leaseRunsOut(url, 1, victim2);
    // Rank file 1 is not done: still queued, or claimed by the killed worker
    // together with rank file 0 (a claim can take both when both are queued).
    const r1 = (await items(url))[1];
    assert.ok(r1?.state === 'ready' || heldBy(r1, victim2), `rank file 1 not done: ${JSON.stringify(r1)}`);
    assert.equal(des.exited(), false, 'deserialize has not finished with rank file 0 missing');
    assert.doesNotMatch(await ok(['container', 'list', 'tank']), /\bback\b/, 'no container visible');
    await completedBy(des, worker(env), 2, 'the second worker loaded both rank files, the killed one again');
    assert.equal(await digestOf('back'), want, 'the container deserialized from the files equals the source');
    assert.equal(await sql(url, `SELECT 1 FROM catalog WHERE k LIKE 'pending/%'`).then((r) => r.length), 0, 'no pending marker left');
  } finally {
    killStarted();
  }
});

test('queued serialize: a worker stopped past its lease, resumed after another did its rank, never puts a partial file in place', { skip, timeout: 240_000 }, async () => {
  const { url, env, ok, digestOf, want, out, ls, tmpOf } = await parkedSource();
  const ser = started(['container', 'serialize', 'tank', 'orig', '-o', out, '-j', '1', '--queue', '--json'], env);
  // The victim claims the rank and is stopped before it writes anything: the
  // engine it opens for its first rank waits on a lock the test holds.
  await waitFor('the rank queued', async () => (await items(url)).length === 1);
  const lock = new pg.Client({ connectionString: url });
  await lock.connect();
  await lock.query('BEGIN');
  await lock.query('LOCK TABLE schema_version IN ACCESS EXCLUSIVE MODE');
  const late = worker(env);
  try {
    await stopWhen(late, 'the victim holding the rank', async () => heldBy((await items(url))[0], late));
  } finally {
    await lock.query('COMMIT');
    await lock.end();
  }
  assert.deepEqual(tmpOf(0), [], 'nothing written yet');
  await leaseRunsOut(url, 1, late);
  // The command is stopped too, so the late worker can resume before it puts the rank in place.
  ser.child.kill('SIGSTOP');
  await waitFor('serialize to stop', () => stopped(ser.child.pid!));
  const h = await worker(env).result;
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stderr, /^worker: 1 items, 0 failed/m, 'a second worker wrote the rank');
  assert.equal((await items(url))[0]?.state, 'done');
  // The late worker resumes and writes the rank again; the command resumes while that write is half done.
  await stopWhen(late, 'the late worker half-way through its own write', async () =>
    tmpOf(0).some((t) => fs.statSync(t, { throwIfNoEntry: false }) && fs.statSync(t).size >= 64 * 1024 && !sealed(t)));
  ser.child.kill('SIGCONT');
  const s = await ser.result;
  assert.equal(s.code, 0, s.stderr);
  const final = (JSON.parse(s.stdout) as { files: string[] }).files[0]!;
  assert.equal(await verifyFile(final), 'sealed', 'the file put in place is whole');
  await kill(late);
  assert.deepEqual(ls(), [path.basename(final)], 'the rank file and nothing else');
  await ok(['container', 'deserialize', 'tank', out, '--label', 'back']);
  assert.equal(await digestOf('back'), want, 'the container deserialized from the file equals the source');
  killStarted();
});
