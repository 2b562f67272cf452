// Load suite: 8 processes at once on one POSIX container for a bounded time
// (STRATA_LOAD_SECONDS, default 20) — library workers, CLI workers and
// workers doing plain file I/O through a `strata mount` — on shared and own
// directories, each following a seeded random plan (STRATA_LOAD_SEED replays
// the plans; timing still varies). Then the container, seen through the mount,
// the library and the CLI, must equal the namespace rebuilt from the workers'
// logs, every read of another worker's file must have been one whole version,
// and `strata pool check` must pass. See worker.ts for the ownership rules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CLI, runCli, tempDir } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { abortConnection } from '../../src/fuse/channel.js';
import { mix } from './content.js';
import { diffTrees, parseLsJson, readLog, replay, walkDfs, walkLocal, type LogLine } from './model.js';
import type { WorkerArgs } from './worker.js';
import type { Kind } from './backends.js';

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const SEED = process.env['STRATA_LOAD_SEED'] ? Number(process.env['STRATA_LOAD_SEED']) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
const SECONDS = Math.max(1, Number(process.env['STRATA_LOAD_SECONDS'] ?? 20) || 20);
const KINDS: Kind[] = ['lib', 'cli', 'fuse', 'lib', 'fuse', 'cli', 'lib', 'fuse'];
const SHARED = ['/s0', '/s1', '/s2', '/s1/n'];
/** A worker still running this long after its deadline is killed (and reported). */
const GRACE_MS = 30_000;
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'worker.js');

function mounted(mp: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) res(child.exitCode);
    else child.on('exit', (c) => res(c));
  });
}

/** exited(), but gives up after ms (a process stuck in the kernel may never finish exiting). */
async function exitedWithin(child: ChildProcess, ms: number): Promise<number | null | 'stuck'> {
  let timer: NodeJS.Timeout | undefined;
  const r = await Promise.race([exited(child), new Promise<'stuck'>((res) => { timer = setTimeout(() => res('stuck'), ms); })]);
  clearTimeout(timer);
  return r;
}

/** runCli with a time limit: a hung command is killed and reported as exit -1. */
function cliWithin(args: string[], env: Record<string, string>, ms: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => { child.kill('SIGKILL'); err.push(Buffer.from(`(killed: no exit after ${ms} ms)`)); }, ms);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }); });
  });
}

test('load: 8 processes (library, CLI, FUSE) on shared directories; final state equals the logs', { skip: !canFuse && 'needs root and /dev/fuse', timeout: SECONDS * 1000 + 180_000 }, async (t) => {
  process.stderr.write(`# load: STRATA_LOAD_SEED=${SEED} STRATA_LOAD_SECONDS=${SECONDS}\n`);
  t.diagnostic(`STRATA_LOAD_SEED=${SEED}`);
  const home = tempDir('strata-load-');
  fs.chmodSync(home, 0o755);
  const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
  const mp = path.join(home, 'mnt');
  fs.mkdirSync(mp);
  const cli = async (args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r;
  };
  await cli(['pool', 'create', 'tank']);
  // 64 KiB chunks: most files span several chunks (several transactions per put, more chances to tear).
  await cli(['container', 'create', 'tank', 'fs', '--chunk-size', '64K']);
  for (const d of SHARED) await cli(['fs', 'mkdir', '-p', `daos://tank/fs${d}`]);

  const daemonLog = path.join(home, 'daemon.log');
  const daemonOut = fs.openSync(path.join(home, 'daemon.out'), 'w');
  // --foreground with UV_THREADPOOL_SIZE set runs the daemon in this child itself, so the test owns it.
  const daemon = spawn(process.execPath, [CLI, 'mount', mp, '--pool', 'tank', '--cont', 'fs', '--foreground', '--log', daemonLog], {
    env: { ...process.env, ...env, UV_THREADPOOL_SIZE: '32' }, stdio: ['ignore', daemonOut, daemonOut],
  });
  const workers: ChildProcess[] = [];
  try {
    assert.ok(await waitFor(() => mounted(mp) || daemon.exitCode !== null, 30_000), 'the mount appears');
    assert.ok(mounted(mp), `the mount daemon exited: ${fs.readFileSync(path.join(home, 'daemon.out'), 'utf8')}`);

    // ---- the load ----
    const logs = KINDS.map((_, i) => path.join(home, `worker${i}.log`));
    const stderrs: string[] = KINDS.map(() => '');
    const t0 = Date.now();
    const results = await Promise.all(KINDS.map(async (kind, id) => {
      const scratch = path.join(home, `scratch${id}`);
      fs.mkdirSync(scratch);
      const args: WorkerArgs = {
        id, kind, seed: mix(SEED, id), seconds: SECONDS, log: logs[id]!, pool: 'tank', cont: 'fs', shared: SHARED,
        root: mp, cli: CLI, base: 'daos://tank/fs', scratch, stallMs: 15_000,
      };
      const w = spawn(process.execPath, [WORKER, JSON.stringify(args)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
      workers.push(w);
      w.stderr!.on('data', (d: Buffer) => { stderrs[id] += d.toString(); });
      const killer = setTimeout(() => w.kill('SIGKILL'), SECONDS * 1000 + GRACE_MS);
      const code = await exited(w);
      clearTimeout(killer);
      return { code, signal: w.signalCode };
    }));
    const loadSeconds = (Date.now() - t0) / 1000;

    // ---- what the workers saw and did ----
    const lines: LogLine[][] = logs.map(readLog);
    const ends = lines.map((l) => l.find((x) => x.o === 'end'));
    const perKind: Record<Kind, number> = { lib: 0, cli: 0, fuse: 0 };
    let ops = 0;
    const totals = { ownReads: 0, otherReads: 0, vanished: 0, gone: 0, listings: 0, commands: 0 };
    ends.forEach((e, i) => {
      if (!e) return;
      perKind[KINDS[i]!] += e['ops'] as number;
      ops += e['ops'] as number;
      for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += Number(e[k] ?? 0);
    });
    const unfinished = results.flatMap((r, i) => (r.code === 0 && ends[i] ? [] : [`worker ${i} (${KINDS[i]}): exit ${r.code ?? r.signal}${ends[i] ? '' : ', no end record'}: ${stderrs[i]!.slice(-800)}`]));
    const of = (o: string): LogLine[] => lines.flatMap((l, i) => l.filter((x) => x.o === o).map((x) => ({ worker: i, kind: KINDS[i], ...x }) as LogLine));
    const bad = of('bad');
    const errors = of('err');
    const stalls = of('stall');
    // Every version another worker read must be one its owner attempted, with that size.
    const attempted = lines.map((l) => new Map(l.filter((x) => x.o === 'v').map((x) => [x['v'] as number, x['n'] as number])));
    const phantom = of('seen').filter((s) => attempted[s['w'] as number]?.get(s['v'] as number) !== s['n']);

    const { tree: model, unknown, problems } = replay(SHARED, lines);

    // ---- the final state, through the mount (kernel caches expire first) ----
    await new Promise((r) => setTimeout(r, 1200));
    // A hung mount must not hang the test: past the limit the connection is aborted and the walk fails.
    const guard = setTimeout(() => abortConnection(mp), 30_000);
    const viaMount = await walkLocal(mp).then((tree) => diffTrees(model, tree, unknown), (e: Error) => [`walking the mount failed: ${e.message}`]);
    clearTimeout(guard);
    const files = [...model.values()].filter((n) => n.type === 'file').length;
    const dirs = [...model.values()].filter((n) => n.type === 'dir').length;

    // Unmount: the daemon commits what it holds and exits.
    const um = await cliWithin(['umount', mp], env, 20_000);
    let daemonCode = um.code === 0 ? await exitedWithin(daemon, 15_000) : 'stuck';
    if (daemonCode === 'stuck') {
      daemon.kill('SIGKILL');
      abortConnection(mp);
      spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
      await exitedWithin(daemon, 10_000);
    }

    // ---- through the library and the CLI ----
    const engine = await openEngine(`lmdb:${env.STRATA_HOME}`);
    let viaLib: string[];
    try {
      viaLib = diffTrees(model, await walkDfs(await mountDfs(await openContainer(engine, 'tank', 'fs'), { readOnly: true })), unknown);
    } finally {
      await engine.close();
    }
    const ls = await cliWithin(['fs', 'ls', '-R', '--json-lines', 'daos://tank/fs/'], env, 30_000);
    const viaCli = ls.code === 0 ? diffTrees(model, parseLsJson(ls.stdout, ''), unknown) : [`fs ls -R failed: ${ls.stderr}`];
    const poolCheck = await cliWithin(['pool', 'check'], env, 30_000);
    const contCheck = await cliWithin(['container', 'check', 'tank', 'fs'], env, 30_000);

    const mismatches = bad.length + phantom.length + viaMount.length + viaLib.length + viaCli.length;
    const summary = `load: ${KINDS.length} processes, ${ops} operations (cli ${perKind.cli}, library ${perKind.lib}, fuse ${perKind.fuse}), ${mismatches} mismatches, seed ${SEED}`;
    process.stderr.write(`# ${summary}\n`);
    process.stderr.write(`# load: ${loadSeconds.toFixed(1)} s of load; ${totals.commands} strata commands; ${totals.listings} listings, ${totals.ownReads} own reads, ${totals.otherReads} reads of others' files (${totals.vanished} empty or partial, caught mid-write; ${totals.gone} removed or replaced before or while being read); final tree ${files} files, ${dirs} directories; ${errors.length} unexpected errors, ${stalls.length} stalls\n`);
    t.diagnostic(summary);
    const show = (xs: unknown[]) => xs.slice(0, 15).map((x) => JSON.stringify(x)).join('\n') + (xs.length > 15 ? `\n... ${xs.length - 15} more` : '');
    const daemonDiag = () => {
      let d = '';
      for (const f of [daemonLog, path.join(home, 'daemon.out')]) { try { d += fs.readFileSync(f, 'utf8').slice(-2000); } catch { /* none */ } }
      return d;
    };
    await t.test('every worker finishes by its deadline (no stalls, no crashes)', () => {
      assert.deepEqual(unfinished, []);
      assert.equal(stalls.length, 0, show(stalls));
    });
    await t.test('no operation on own names fails', () => {
      assert.equal(errors.length, 0, show(errors));
    });
    await t.test('every read is exact (own files) or one whole version (other workers\' files)', () => {
      assert.equal(bad.length, 0, show(bad));
      assert.equal(phantom.length, 0, `versions never written: ${show(phantom)}`);
    });
    await t.test('the logs replay consistently', () => {
      assert.deepEqual(problems, []);
    });
    await t.test('the mount shows exactly the expected tree', () => {
      assert.deepEqual(viaMount, []);
    });
    await t.test('the daemon commits and exits on unmount', () => {
      assert.equal(daemonCode, 0, `daemon: ${daemonCode}\n${daemonDiag()}`);
    });
    await t.test('the library and the CLI show exactly the expected tree', () => {
      assert.deepEqual(viaLib, []);
      assert.deepEqual(viaCli, []);
    });
    await t.test('strata pool check and container check pass', () => {
      assert.equal(poolCheck.code, 0, poolCheck.stdout + poolCheck.stderr);
      assert.match(poolCheck.stdout, / 0 problem\(s\)\n.* 0 problem\(s\)/s);
      assert.equal(contCheck.code, 0, contCheck.stderr);
    });
    assert.ok(ops > 0, 'operations ran');
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    if (daemon.exitCode === null && daemon.signalCode === null) {
      spawnSync('umount', [mp], { stdio: 'ignore', timeout: 10_000 });
      if ((await exitedWithin(daemon, 10_000)) === 'stuck') { daemon.kill('SIGKILL'); abortConnection(mp); await exitedWithin(daemon, 5_000); }
    }
    if (mounted(mp)) spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
    fs.closeSync(daemonOut);
  }
});
