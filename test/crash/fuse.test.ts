// SIGKILL of a `strata mount` daemon while dd and cp write through it, at
// seeded random delays. Each file the writer fsync'ed (dd conv=fsync, cp +
// sync FILE) before the kill is acknowledged. After every kill: the dead mount
// is detached (umount -l), pool check passes, and every acknowledged file is
// in the container, complete. Then a new mount copies the whole set; diff -r.
// A second test kills a --write-back mount while its DFS write session
// groups creations, directories and chmods of many small files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { CLI } from '../helpers.js';
import { openEngine } from '../../src/engine/open.js';
import { openContainer } from '../../src/container/index.js';
import { mountDfs } from '../../src/dfs/index.js';
import { Tally, abortFuse, cliPoolCheck, crashEnv, diffR, ok, poolCheck, suiteRng } from './util.js';

const dbg = (s: string) => { if (process.env['STRATA_CRASH_DEBUG']) process.stderr.write(`${s}\n`); };
const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;

function mounted(mp: string): boolean {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mp);
}

async function waitFor(cond: () => boolean, what: string, ms = 60000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function detach(mp: string): void {
  spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
}

/** The suite's engine home with a mountpoint and a source directory in it. */
function mountHome(name: string): { env: Record<string, string>; mp: string; srcDir: string } {
  const { home, env } = crashEnv(name);
  const mp = path.join(home, 'mnt');
  const srcDir = path.join(home, 'src');
  fs.mkdirSync(mp);
  fs.mkdirSync(srcDir);
  return { env, mp, srcDir };
}

/** Starts `strata mount mp ... --foreground` in the daemon's own process; resolves once mounted. */
async function startMount(mp: string, env: Record<string, string>, extra: string[] = []): Promise<ReturnType<typeof spawn>> {
  // With UV_THREADPOOL_SIZE set, --foreground runs the daemon in this very process (no re-spawn), so the kill hits it.
  const d = spawn(process.execPath, [CLI, 'mount', mp, '--pool', 'tank', '--cont', 'fs', '--foreground', ...extra], { env: { ...process.env, ...env, UV_THREADPOOL_SIZE: '32' }, stdio: 'ignore' });
  let gone = false;
  d.on('exit', () => { gone = true; });
  await waitFor(() => mounted(mp) || gone, 'the mount');
  assert.ok(!gone, 'the mount daemon exited');
  return d;
}

/** SIGKILLs the daemon (aborting a connection it cannot finish exiting from), waits for the writer, detaches the mount. */
async function killMount(d: ReturnType<typeof spawn>, w: ReturnType<typeof spawn>, mp: string, tally: Tally): Promise<void> {
  const dexit = d.exitCode !== null ? Promise.resolve() : new Promise((res) => d.on('exit', res));
  const wexit = w.exitCode !== null ? Promise.resolve() : new Promise((res) => w.on('exit', res));
  d.kill('SIGKILL');
  if (!(await Promise.race([dexit.then(() => true), new Promise((res) => setTimeout(() => res(false), 3000))]))) { abortFuse(mp); tally.aborted++; }
  await dexit;
  const t = setTimeout(() => w.kill('SIGKILL'), 60000);
  await wexit;
  clearTimeout(t);
  detach(mp);
  await waitFor(() => !mounted(mp), 'the detach');
}

test('FUSE: SIGKILL of the mount daemon during dd/cp writes; fsync-acknowledged files survive', { skip: !canFuse && 'needs root and /dev/fuse', timeout: 300000 }, async () => {
  const r = suiteRng('fuse');
  const tally = new Tally('FUSE writes', 24, 20, 450);
  const { env, mp, srcDir } = mountHome('fuse');
  const names: string[] = [];
  for (let i = 0; i < 30; i++) {
    const n = `f${i}`;
    const b = Buffer.alloc([0, 1, 5000, 40000, 200000, 1100000][i % 6]! + i);
    for (let j = 0; j + 4 <= b.length; j += 4) b.writeUInt32LE((i * 7919 + j * 31) >>> 0, j);
    fs.writeFileSync(path.join(srcDir, n), b);
    names.push(n);
  }
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'fs', '--chunk-size', '256K']);
  let daemon: ReturnType<typeof spawn> | undefined;
  const startDaemon = async () => (daemon = await startMount(mp, env));
  try {
    for (let round = 0; tally.more(); round++) {
      const d = await startDaemon();
      dbg(`round ${round}: mounted`);
      const dexit = new Promise((res) => d.on('exit', res));
      const dir = `r${round}`;
      const script = [
        `mkdir "$MP/${dir}" || exit 1`,
        ...names.map((n, i) => (i % 2
          ? `cp "$SRC/${n}" "$MP/${dir}/${n}" && sync "$MP/${dir}/${n}" && echo "ack ${n}" || exit 1`
          : `dd if="$SRC/${n}" of="$MP/${dir}/${n}" bs=64k conv=fsync status=none && echo "ack ${n}" || exit 1`)),
      ].join('\n');
      const t0 = Date.now();
      const w = spawn('bash', ['-c', script], { env: { ...process.env, MP: mp, SRC: srcDir }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      w.stdout.on('data', (b: Buffer) => { out += b.toString(); });
      w.stderr.on('data', () => undefined);
      const wexit = new Promise<number | null>((res) => w.on('exit', (c) => res(c)));
      let wdone = false;
      let ms = 0;
      void wexit.then(() => { wdone = true; ms = Date.now() - t0; });
      await new Promise((res) => setTimeout(res, tally.delay(r)));
      const killed = !wdone;
      d.kill('SIGKILL');
      dbg(`killed ${killed}`);
      // A daemon that does not finish dying is stuck on its own mount: abort the connection.
      if (!(await Promise.race([dexit.then(() => true), new Promise((res) => setTimeout(() => res(false), 3000))]))) { abortFuse(mp); tally.aborted++; }
      await dexit;
      dbg('daemon gone');
      const t = setTimeout(() => w.kill('SIGKILL'), 60000);
      await wexit;
      clearTimeout(t);
      dbg('writer gone');
      detach(mp);
      await waitFor(() => !mounted(mp), 'the detach');
      dbg('detached');
      tally.count(killed, ms);
      await poolCheck(env, `FUSE kill ${round}`);
      const acked = [...out.matchAll(/^ack (\S+)$/gm)].map((m) => m[1]!);
      const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
      try {
        const dfs = await mountDfs(await openContainer(e, 'tank', 'fs'), { readOnly: true });
        for (const n of acked) assert.ok((await dfs.readFile(`/${dir}/${n}`)).equals(fs.readFileSync(path.join(srcDir, n))), `round ${round}: acknowledged ${dir}/${n}`);
      } finally {
        await e.close();
      }
    }
    // A new mount completes the work: the whole set, identical.
    const d = await startDaemon();
    const cp = spawnSync('bash', ['-c', `cp -a "$SRC" "$MP/final" && sync -f "$MP/final/f0"`], { env: { ...process.env, MP: mp, SRC: srcDir }, encoding: 'utf8' });
    assert.equal(cp.status, 0, cp.stderr);
    diffR(srcDir, path.join(mp, 'final'));
    spawnSync('umount', [mp], { stdio: 'ignore' });
    await waitFor(() => !mounted(mp), 'the unmount');
    const code = await new Promise((res) => { if (d.exitCode !== null) res(d.exitCode); else d.on('exit', res); });
    assert.equal(code, 0);
    await poolCheck(env, 'FUSE final');
    await cliPoolCheck(env);
  } finally {
    if (daemon && daemon.exitCode === null) { daemon.kill('SIGKILL'); abortFuse(mp); }
    detach(mp);
  }
  tally.report();
});

test('FUSE --write-back: SIGKILL while small files, directories and chmods ride in group commits; what an fsync acknowledged is there with its mode, every visible file is whole', { skip: !canFuse && 'needs root and /dev/fuse', timeout: 300000 }, async () => {
  const r = suiteRng('fuse-groups');
  const tally = new Tally('FUSE write-back groups', 12, 50, 1500);
  const { env, mp, srcDir } = mountHome('fuse-groups');
  const FILES = 24;
  const content = (j: number): Buffer => Buffer.from(`file ${j} `.repeat(1 + ((j * 211) % 700)));
  for (let j = 0; j < FILES; j++) fs.writeFileSync(path.join(srcDir, `f${j}`), content(j), { mode: 0o644 });
  await ok(env, ['pool', 'create', 'tank']);
  await ok(env, ['container', 'create', 'tank', 'fs']);
  let daemon: ReturnType<typeof spawn> | undefined;
  let ackedBatches = 0;
  try {
    for (let round = 0; tally.more(); round++) {
      const d = daemon = await startMount(mp, env, ['--write-back']);
      const dir = `r${round}`;
      // Batch k: a directory two levels down, FILES small files copied in, every third chmod 0640,
      // the directory chmod 0750; then an fsync, which commits everything queued: "ack k".
      const script = [`mkdir "$MP/${dir}" || exit 1`];
      for (let k = 0; k < 8; k++) {
        const b = `"$MP/${dir}/b${k}/sub"`;
        script.push(`mkdir -p ${b} && cp "$SRC"/f* ${b}/ || exit 1`);
        script.push(`chmod 0640 ${Array.from({ length: FILES }, (_, j) => j).filter((j) => j % 3 === 0).map((j) => `${b}/f${j}`).join(' ')} && chmod 0750 ${b} || exit 1`);
        script.push(`sync ${b}/f1 && echo "ack ${k}" || exit 1`);
      }
      const t0 = Date.now();
      const w = spawn('bash', ['-c', script.join('\n')], { env: { ...process.env, MP: mp, SRC: srcDir }, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      w.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
      let ms = 0;
      void new Promise((res) => w.on('exit', res)).then(() => { ms = Date.now() - t0; });
      await new Promise((res) => setTimeout(res, tally.delay(r)));
      const killed = w.exitCode === null;
      await killMount(d, w, mp, tally);
      tally.count(killed, ms);
      await poolCheck(env, `FUSE groups kill ${round}`);
      const acked = new Set([...out.matchAll(/^ack (\d+)$/gm)].map((m) => Number(m[1])));
      ackedBatches += acked.size;
      const e = await openEngine(`lmdb:${env.STRATA_HOME}`);
      try {
        const dfs = await mountDfs(await openContainer(e, 'tank', 'fs'), { readOnly: true });
        for (let k = 0; k < 8; k++) {
          const sub = `/${dir}/b${k}/sub`;
          const names: string[] = [];
          try {
            for await (const ent of dfs.readdir(sub)) names.push(ent.name);
          } catch {
            assert.ok(!acked.has(k), `round ${round}: acknowledged ${sub} is missing`);
            continue;
          }
          if (acked.has(k)) {
            assert.equal(names.length, FILES, `round ${round}: acknowledged ${sub} holds ${names.length} files`);
            assert.equal((await dfs.stat(sub)).perm, 0o750, `round ${round}: mode of acknowledged ${sub}`);
          }
          for (const n of names) {
            const j = Number(n.slice(1));
            // A small file commits with its data: whole whenever it is visible.
            assert.ok((await dfs.readFile(`${sub}/${n}`)).equals(content(j)), `round ${round}: ${sub}/${n} is not whole`);
            if (acked.has(k)) assert.equal((await dfs.stat(`${sub}/${n}`)).perm, j % 3 === 0 ? 0o640 : 0o644, `round ${round}: mode of ${sub}/${n}`);
          }
        }
      } finally {
        await e.close();
      }
    }
    await cliPoolCheck(env);
  } finally {
    if (daemon && daemon.exitCode === null) { daemon.kill('SIGKILL'); abortFuse(mp); }
    detach(mp);
  }
  tally.report();
  process.stderr.write(`# crash FUSE write-back groups: ${ackedBatches} acknowledged batches checked\n`);
  assert.ok(ackedBatches > 0, 'no kill landed after an acknowledged batch: the checks of acknowledged state never ran');
});
