// SIGKILL of a `strata mount` daemon while dd and cp write through it, at
// seeded random delays. Each file the writer fsync'ed (dd conv=fsync, cp +
// sync FILE) before the kill is acknowledged. After every kill: the dead mount
// is detached (umount -l), pool check passes, and every acknowledged file is
// in the container, complete. Then a new mount copies the whole set; diff -r.
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

test('FUSE: SIGKILL of the mount daemon during dd/cp writes; fsync-acknowledged files survive', { skip: !canFuse && 'needs root and /dev/fuse', timeout: 300000 }, async () => {
  const r = suiteRng('fuse');
  const tally = new Tally('FUSE writes', 24, 20, 450);
  const { home, env } = crashEnv('fuse');
  const mp = path.join(home, 'mnt');
  const srcDir = path.join(home, 'fsrc');
  fs.mkdirSync(mp);
  fs.mkdirSync(srcDir);
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
  const startDaemon = async () => {
    // With UV_THREADPOOL_SIZE set, --foreground runs the daemon in this very process (no re-spawn), so the kill hits it.
    daemon = spawn(process.execPath, [CLI, 'mount', mp, '--pool', 'tank', '--cont', 'fs', '--foreground'], { env: { ...process.env, ...env, UV_THREADPOOL_SIZE: '32' }, stdio: 'ignore' });
    const d = daemon;
    let gone = false;
    d.on('exit', () => { gone = true; });
    await waitFor(() => mounted(mp) || gone, 'the mount');
    assert.ok(!gone, 'the mount daemon exited');
    return d;
  };
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
