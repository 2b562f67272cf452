// The distributed copy: `strata fs copy --queue` plans into the work queue of a
// PostgreSQL engine and `strata worker` processes do the copying. The result
// must be identical to a serial copy, also when a worker is SIGKILLed mid-copy
// and when the PostgreSQL server restarts under the copy. Assertions are on
// data only; every wait is bounded; workers are always killed at the end.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import pg from 'pg';
import { CLI, runCli, tempDir, type CliResult } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason, restartPgServer } from '../pg-server.js';
import { makeTree } from '../mover/util.js';

const skip = pgUnavailableReason();
const asRoot = process.getuid?.() === 0;
/** The summary line of a copy of setup()'s tree: as root it has special files too (a hard-linked FIFO pair: one link more). */
const summaryRe = asRoot
  ? /^copy: \d+ files, \d+ directories, 6 links, 3 special files, \d+ bytes, [\d.]+ s, [\d.]+ MB\/s, 0 errors$/m
  : /^copy: \d+ files, \d+ directories, 5 links, \d+ bytes, [\d.]+ s, [\d.]+ MB\/s, 0 errors$/m;
const children = new Set<ChildProcess>();
const killAll = () => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
after(killAll);
process.on('exit', killAll);

interface Worker { child: ChildProcess; done: Promise<CliResult> }

function startWorker(env: Record<string, string>, args: string[] = []): Worker {
  const child = spawn(process.execPath, [CLI, 'worker', '--lease', '2s', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : -1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
  return { child, done };
}

/** Resolves p, or rejects after ms (then the caller's finally kills the workers). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, rej) => { t = setTimeout(() => rej(new Error(`${what}: no result after ${ms / 1000} s`)), ms); })]).finally(() => clearTimeout(t));
}

async function setup(files = 1200): Promise<{ env: Record<string, string>; url: string; src: string }> {
  const url = await freshPgDatabase();
  const home = tempDir('strata-dist-');
  fs.chmodSync(home, 0o755);
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  makeTree(src, { sparse: 64 * 1024 * 1024 });
  for (let d = 0; d < 12; d++) {
    const dir = path.join(src, 'many', `d${String(d).padStart(2, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < files / 12; i++) fs.writeFileSync(path.join(dir, `f${i}`), `file ${d}/${i}\n`.repeat(1 + (i % 50)));
  }
  for (let i = 0; i < 4; i++) fs.writeFileSync(path.join(src, 'many', `large${i}`), Buffer.alloc(3 * 1024 * 1024 + i, 0x41 + i));
  if (asRoot) {
    // Special files: a hard-linked FIFO pair, a device, a socket (items like files, never opened).
    fs.mkdirSync(path.join(src, 'special'));
    const mk = (cmd: string, args: string[]) => assert.equal(spawnSync(cmd, args).status, 0, `${cmd} ${args.join(' ')}`);
    mk('mkfifo', [path.join(src, 'special', 'fifo')]);
    fs.linkSync(path.join(src, 'special', 'fifo'), path.join(src, 'special', 'fifo-too'));
    mk('mknod', [path.join(src, 'special', 'null'), 'c', '1', '3']);
    mk('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(src, 'special', 'sock')]);
  }
  const env = { STRATA_ENGINE: url, STRATA_HOME: path.join(home, 'engine') };
  const r = await runCli(['pool', 'create', 'tank'], { env });
  assert.equal(r.code, 0, r.stderr);
  return { env, url, src };
}

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[] | undefined> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.query<T>(text, values)).rows;
  } catch {
    return undefined; // server restarting, queue not created yet
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Polls until cond() (bounded). */
async function until(what: string, cond: () => Promise<boolean>, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function compareOk(env: Record<string, string>, a: string, b: string): Promise<void> {
  const r = await runCli(['fs', 'compare', a, b], { env });
  assert.equal(r.code, 0, `compare ${a} ${b}:\n${r.stdout}${r.stderr}`);
}

test('distributed copy POSIX -> container with 3 workers equals a serial copy', { skip, timeout: 180_000 }, async () => {
  const { env, src } = await setup();
  try {
    const serial = await runCli(['fs', 'copy', '--src', src, '--dst', 'daos://tank/serial', '--json'], { env });
    assert.equal(serial.code, 0, serial.stderr);
    const planner = runCli(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://tank/dist', '--json'], { env });
    const workers = [0, 1, 2].map(() => startWorker(env));
    const p = await within(planner, 150_000, 'planner');
    assert.equal(p.code, 0, p.stderr);
    const ws = await within(Promise.all(workers.map((w) => w.done)), 60_000, 'workers');
    for (const w of ws) assert.equal(w.code, 0, w.stderr);
    const a = JSON.parse(serial.stdout);
    const b = JSON.parse(p.stdout);
    for (const k of ['files', 'dirs', 'symlinks', 'hardlinks', 'specials', 'bytes', 'dataBytes', 'errors']) assert.equal(b[k], a[k], `summary ${k}`);
    if (asRoot) assert.equal(b.specials, 3, 'a FIFO (and its hard link), a device, a socket');
    assert.equal(b.errors, 0);
    // The work was shared: every worker did something.
    for (const w of ws) assert.match(w.stderr, /^worker: [1-9]\d* items, 0 failed/m);
    await compareOk(env, src, 'daos://tank/dist');
    await compareOk(env, 'daos://tank/serial', 'daos://tank/dist');
    const st = JSON.parse((await runCli(['fs', 'stat', '--json', 'daos://tank/dist/dir/sub/linked-too'], { env })).stdout);
    assert.equal(st.nlink, 2, 'hard link kept');
  } finally {
    killAll();
  }
});

test('a worker SIGKILLed mid-copy: its items go to the others after the lease, the copy is identical', { skip, timeout: 180_000 }, async () => {
  const { env, url, src } = await setup(1800);
  try {
    const planner = runCli(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://tank/dist'], { env });
    const workers = [0, 1, 2].map(() => startWorker(env));
    const victim = workers[0]!;
    // Kill the victim while it holds claimed items.
    await until('the victim to hold items', async () => {
      const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM strata_queue.items WHERE claimed_by LIKE $1 AND state = 'claimed'`, [`%:${victim.child.pid}:%`]);
      return !!rows && Number(rows[0]!.n) > 0;
    });
    victim.child.kill('SIGKILL');
    const p = await within(planner, 150_000, 'planner');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, summaryRe);
    const ws = await within(Promise.all(workers.map((w) => w.done)), 60_000, 'workers');
    assert.notEqual(ws[0]!.code, 0, 'the victim was killed');
    assert.equal(ws[1]!.code, 0, ws[1]!.stderr);
    assert.equal(ws[2]!.code, 0, ws[2]!.stderr);
    await compareOk(env, src, 'daos://tank/dist');
  } finally {
    killAll();
  }
});

test('the PostgreSQL server restarts during a distributed copy: the copy completes identical', { skip: skip ?? (process.env['STRATA_TEST_PG'] ? 'needs a server the test started (STRATA_TEST_PG is set)' : undefined), timeout: 180_000 }, async () => {
  const { env, url, src } = await setup(1800);
  try {
    const planner = runCli(['fs', 'copy', '--queue', '--src', src, '--dst', 'daos://tank/dist'], { env });
    const workers = [0, 1, 2].map(() => startWorker(env));
    await until('the plan and some items done', async () => {
      const rows = await query<{ status: string; done: string }>(url,
        `SELECT j.status, (SELECT count(*) FROM strata_queue.items i WHERE i.job = j.id AND i.state = 'done') AS done FROM strata_queue.jobs j`);
      return !!rows && rows.length > 0 && (rows[0]!.status !== 'planning') && Number(rows[0]!.done) >= 100;
    });
    assert.ok(restartPgServer(), 'server restarted');
    const p = await within(planner, 150_000, 'planner');
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stderr, /0 errors$/m);
    const ws = await within(Promise.all(workers.map((w) => w.done)), 60_000, 'workers');
    for (const w of ws) assert.equal(w.code, 0, w.stderr);
    await compareOk(env, src, 'daos://tank/dist');
  } finally {
    killAll();
  }
});

test('distributed sync (fs sync --queue): only what differs becomes work; --delete removes extras; a second run copies nothing', { skip, timeout: 240_000 }, async () => {
  const { env, src } = await setup(600);
  const run = async (extra: string[]) => {
    const planner = runCli(['fs', 'sync', '--queue', '--src', `${src}/`, '--dst', 'daos://tank/mirror', '--json', ...extra], { env });
    const workers = [0, 1].map(() => startWorker(env));
    const p = await within(planner, 150_000, 'planner');
    assert.equal(p.code, 0, p.stderr);
    const ws = await within(Promise.all(workers.map((w) => w.done)), 60_000, 'workers');
    for (const w of ws) assert.equal(w.code, 0, w.stderr);
    return JSON.parse(p.stdout) as { files: number; unchanged: number; deleted: number; hardlinks: number; errors: number };
  };
  try {
    const first = await run([]);
    assert.equal(first.errors, 0);
    assert.equal(first.unchanged, 0);
    await compareOk(env, src, 'daos://tank/mirror');
    // Change the source: new content (same size), a new tree, a removed tree, a file that became a directory.
    fs.writeFileSync(path.join(src, 'hello.txt'), 'HELLO\n');
    fs.utimesSync(path.join(src, 'hello.txt'), 1_000_000, 1_000_000);
    fs.mkdirSync(path.join(src, 'new/deep'), { recursive: true });
    fs.writeFileSync(path.join(src, 'new/deep/file'), 'new\n');
    fs.rmSync(path.join(src, 'many/d00'), { recursive: true });
    fs.rmSync(path.join(src, 'zero'));
    fs.mkdirSync(path.join(src, 'zero'));
    fs.writeFileSync(path.join(src, 'zero/inside'), 'was a file\n');
    const second = await run(['--delete']);
    assert.equal(second.errors, 0);
    assert.equal(second.files, 3, 'hello.txt, new/deep/file and zero/inside are copied, nothing else');
    assert.ok(second.unchanged > 500, `the rest is unchanged (${second.unchanged})`);
    assert.ok(second.deleted >= 2, `many/d00 and the file zero are removed (${second.deleted})`);
    await compareOk(env, src, 'daos://tank/mirror');
    const st = JSON.parse((await runCli(['fs', 'stat', '--json', 'daos://tank/mirror/dir/sub/linked-too'], { env })).stdout);
    assert.equal(st.nlink, 2, 'hard link kept');
    const third = await run(['--delete']);
    assert.equal(third.files, 0, 'a second run right after copies nothing');
    assert.equal(third.deleted, 0);
  } finally {
    killAll();
  }
});

test('a queued copy whose planner is SIGKILLed: a second planner is told; --resume finishes into the same place, skipping what is done', { skip, timeout: 240_000 }, async () => {
  const { env, url, src } = await setup(1200);
  try {
    // A destination directory that exists: cp -a semantics put the copy in dst/src.
    const dstDir = path.join(path.dirname(src), 'out');
    fs.mkdirSync(dstDir);
    const first = spawn(process.execPath, [CLI, 'fs', 'copy', '--queue', '--src', src, '--dst', dstDir, '-q'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    children.add(first);
    const firstClosed = new Promise((r) => first.once('close', r));
    const count = async (where: string) => {
      const rows = await query<{ n: string }>(url, `SELECT count(*) AS n FROM strata_queue.items WHERE ${where}`);
      return rows ? Number(rows[0]!.n) : 0;
    };
    // No workers yet: the first planner plans and waits, alive.
    await until('the first planner to plan', async () => (await count('true')) > 50);
    // A second planner on the same destination while the first lives: refused.
    const second = await within(runCli(['fs', 'copy', '--queue', '--src', src, '--dst', dstDir], { env }), 60_000, 'second planner');
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, /^strata: another planner is running on the same destination/m);
    const workers = [0, 1].map(() => startWorker(env));
    await until('some items done', async () => (await count(`state = 'done'`)) > 50);
    first.kill('SIGKILL');
    await firstClosed;
    await within(Promise.all(workers.map((w) => w.done.then(() => undefined))), 120_000, 'workers after the planner died');
    const doneBefore = fs.readdirSync(path.join(dstDir, 'src', 'many')).length;
    assert.ok(doneBefore > 0, 'the first run copied something');
    // --resume: the same mapping (dst/src, not dst/src/src), the rest copied.
    const planner = runCli(['fs', 'copy', '--queue', '--resume', '--src', src, '--dst', dstDir, '--json'], { env });
    const more = [0, 1].map(() => startWorker(env));
    const p = await within(planner, 150_000, 'resumed planner');
    assert.equal(p.code, 0, p.stderr);
    await within(Promise.all(more.map((w) => w.done)), 60_000, 'workers');
    const s = JSON.parse(p.stdout) as { resumed: boolean; skipped: number; errors: number };
    assert.equal(s.resumed, true);
    assert.equal(s.errors, 0);
    assert.ok(s.skipped > 0, `files the first run finished are not copied again (${s.skipped} skipped)`);
    assert.equal(fs.existsSync(path.join(dstDir, 'src', 'src')), false, 'resumed into the same place');
    await compareOk(env, src, path.join(dstDir, 'src'));
  } finally {
    killAll();
  }
});
