// fs copy -j 2 reads a POSIX source's small files and xattrs on a read thread
// (posix-read-threads.ts) while the main thread writes: the copy it makes is
// the one -j 1 makes, byte for byte and attribute for attribute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hasSetfattr, makeTree, moverEnv, ok, sh, statList } from './util.js';

const { home, env } = moverEnv();
const skip = process.getuid?.() !== 0 ? 'needs root to make a device and keep owners' : !fs.existsSync('/usr/bin/python3') ? 'needs /usr/bin/python3' : false;

/** The tree of makeTree plus special files, more hard links and many small files with xattrs (many reads in flight). */
function source(root: string): void {
  makeTree(root, { sparse: 8 * 1024 * 1024 });
  const run = (cmd: string, args: string[]) => assert.equal(spawnSync(cmd, args).status, 0, `${cmd} ${args.join(' ')}`);
  run('mkfifo', [path.join(root, 'fifo')]);
  run('mknod', ['-m', '0640', path.join(root, 'null'), 'c', '1', '3']);
  run('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(root, 'sock')]);
  const many = path.join(root, 'many');
  fs.mkdirSync(many);
  const t = new Date('2011-12-13T14:15:16.123Z');
  for (let i = 0; i < 300; i++) {
    const f = path.join(many, `f${i}`);
    fs.writeFileSync(f, Buffer.alloc(i * 97, i & 0xff));
    fs.chmodSync(f, 0o600 + (i % 8) * 0o10);
    fs.utimesSync(f, t, new Date(t.getTime() + i * 1000));
    if (i % 10 === 0) fs.linkSync(f, path.join(many, `link${i}`));
  }
  if (hasSetfattr()) for (let i = 0; i < 300; i += 3) sh(`setfattr -n user.n -v v${i} '${many}/f${i}'`);
  fs.utimesSync(many, t, t);
}

/** Everything compared: stat lines (type, mode, owner, size, mtime, links), file digests, xattrs. */
function describeTree(root: string): string {
  const digests = sh(`cd '${root}' && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum`);
  const xattrs = hasSetfattr() ? sh(`cd '${root}' && getfattr -R -h -d -m - --absolute-names . 2>/dev/null | grep -v '^security.selinux' || true`) : '';
  return `${statList(root)}\n${digests}\n${xattrs}`;
}

test('fs copy -j 2 makes the same copy as -j 1 (content, modes, owners, times, xattrs, hard links, special files), into a directory and into a container', { skip, timeout: 180000 }, async () => {
  const src = path.join(home, 'src');
  fs.mkdirSync(src);
  source(src);
  await ok(env, ['pool', 'create', 'tank']);
  const out: Record<string, string> = {};
  for (const j of ['1', '2']) {
    const dst = path.join(home, `posix-j${j}`);
    await ok(env, ['fs', 'copy', '-j', j, '--src', `${src}/`, '--dst', dst, '-q']);
    out[`posix ${j}`] = describeTree(dst);
    await ok(env, ['fs', 'copy', '-j', j, '--src', `${src}/`, '--dst', `daos://tank/j${j}`, '-q']);
    const back = path.join(home, `back-j${j}`);
    await ok(env, ['fs', 'copy', '-j', '1', '--src', `daos://tank/j${j}/`, '--dst', back, '-q']);
    out[`container ${j}`] = describeTree(back);
  }
  const want = describeTree(src);
  assert.match(want, /user\.n="v297"/, 'the source has the xattrs compared');
  assert.match(want, /\.\/many\/link290 f 6[0-7]{2} 0:0 \d+ [\d.]+ 2/, 'the source has the hard links compared');
  assert.equal(out['posix 1'], want, 'the -j 1 copy is the source');
  assert.equal(out['posix 2'], out['posix 1'], '-j 2 into a directory: the -j 1 copy');
  assert.equal(out['container 2'], out['container 1'], '-j 2 into a container: the -j 1 copy');
});
