// The resume journal with FIFOs, devices and sockets: a copy that fails under
// one directory keeps its journal; --resume makes what failed and skips the
// special files already made (they are not made again: same inodes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { moverEnv, ok } from './util.js';
import { PosixTree } from '../../src/mover/posix.js';

const { home, env } = moverEnv();
const skip = process.getuid?.() !== 0 ? 'needs root to make a device' : !fs.existsSync('/usr/bin/python3') ? 'needs /usr/bin/python3' : false;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('--resume after a failed copy: special files already made are skipped, the rest is made', { skip }, async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(path.join(src, 'dev'), { recursive: true });
  run('mkfifo', [path.join(src, 'fifo')]);
  run('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(src, 'sock')]);
  run('mknod', ['-m', '0600', path.join(src, 'dev', 'null'), 'c', '1', '3']);
  run('mkfifo', [path.join(src, 'dev', 'fifo')]);
  // cp -a semantics: into an existing directory or container root, the copy is DST/src; a file
  // where its directory dev goes fails that directory (and what is below it) only.
  for (const into of [path.join(home, 'out'), 'daos://tank/c']) {
    const local = !into.startsWith('daos:');
    const dst = `${into}/src`;
    if (local) {
      fs.mkdirSync(dst, { recursive: true });
      fs.writeFileSync(path.join(dst, 'dev'), 'a file where the directory goes\n');
    } else {
      await ok(env, ['pool', 'create', 'tank']);
      await ok(env, ['container', 'create', 'tank', 'c']);
      await ok(env, ['fs', 'mkdir', dst]);
      await ok(env, ['fs', 'put', '/dev/null', `${dst}/dev`]);
    }
    const r1 = await runCli(['fs', 'copy', '--src', src, '--dst', into, '--json'], { env });
    assert.equal(r1.code, 1, r1.stderr);
    assert.match(r1.stderr, /dev: .*cannot overwrite non-directory with directory/);
    const s1 = JSON.parse(r1.stdout) as { specials: number; errors: number };
    assert.equal(s1.specials, 2, 'the FIFO and the socket');
    const ids = local ? ['fifo', 'sock'].map((n) => fs.lstatSync(path.join(dst, n)).ino) : [];
    if (local) fs.rmSync(path.join(dst, 'dev')); else await ok(env, ['fs', 'rm', `${dst}/dev`]);
    const r2 = JSON.parse((await ok(env, ['fs', 'copy', '--src', src, '--dst', into, '--resume', '--json'])).stdout) as { specials: number; skipped: number; errors: number };
    assert.equal(r2.errors, 0);
    assert.equal(r2.specials, 2, 'dev/null and dev/fifo');
    assert.equal(r2.skipped, 2, 'fifo and sock were done');
    if (local) {
      assert.deepEqual(['fifo', 'sock'].map((n) => fs.lstatSync(path.join(dst, n)).ino), ids, 'not made again');
      assert.ok(fs.statSync(path.join(dst, 'dev/null')).isCharacterDevice());
    }
    assert.equal((await ok(env, ['fs', 'compare', src, dst])).code, 0);
  }
});

for (const threads of [0, 1]) {
  test(`a FIFO or a device swapped in for a listed file is never read and never blocks the copy: the open is refused (small and large files), ${threads} read threads`, { skip, timeout: 60000 }, async () => {
    const dir = path.join(home, `swap${threads}`);
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'small'), 'listed as a small file\n');
    fs.writeFileSync(path.join(dir, 'large'), Buffer.alloc(256 * 1024, 1));
    fs.writeFileSync(path.join(dir, 'dev'), 'listed as a file\n');
    const tree = new PosixTree(dir);
    tree.useReadThreads(threads); // -j 2 reads small files on a thread: the same checks there
    const listed = { small: await tree.lstat('small'), large: await tree.lstat('large'), dev: await tree.lstat('dev') };
    // What another user does between the listing and the open: a FIFO nobody writes
    // (an open without O_NONBLOCK waits for a writer forever) and a device.
    for (const n of ['small', 'large']) {
      fs.rmSync(path.join(dir, n));
      run('mkfifo', [path.join(dir, n)]);
    }
    fs.rmSync(path.join(dir, 'dev'));
    run('mknod', [path.join(dir, 'dev'), 'c', '1', '5']);
    for (const [n, st] of Object.entries(listed)) {
      await assert.rejects(tree.openRead(n, st!), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ESTALE', `${n}: ${e.message}`);
        assert.match(e.message, /not the file listed/);
        return true;
      }, n);
    }
    await tree.close();
  });
}
