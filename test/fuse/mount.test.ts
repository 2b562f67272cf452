// End-to-end tests of `strata mount`: a real FUSE filesystem, driven by shell
// commands, compared with the same commands on the local disk. Every mount is
// unmounted in teardown (lazily if need be), even when a test fails.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync, execFileSync } from 'node:child_process';
import { runCli, tempDir } from '../helpers.js';

const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const home = tempDir('strata-fuse-home-');
const env = { STRATA_HOME: home, STRATA_ENGINE: '' };
const mounts = new Set<string>();
let poolUuid = '';
let contUuid = '';

async function cli(args: string[], ok = true): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await runCli(args, { env });
  if (ok) assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function mount(args: string[], mp: string): Promise<void> {
  await cli(['mount', ...(args.includes(mp) ? args : [mp, ...args])]);
  mounts.add(mp);
}

function umountQuiet(mp: string): void {
  spawnSync('umount', [mp], { stdio: 'ignore' });
  spawnSync('umount', ['-l', mp], { stdio: 'ignore' });
}

function sh(script: string, cwd: string, extraEnv: Record<string, string> = {}): string {
  const r = spawnSync('bash', ['-c', script], { cwd, env: { ...process.env, ...extraEnv }, encoding: 'utf8' });
  assert.equal(r.status, 0, `script failed in ${cwd}:\n${r.stderr}`);
  return r.stdout;
}

/** The daemon serving a mountpoint (found by its command line). */
function daemonPid(mp: string): number | undefined {
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd = '';
    try { cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8'); } catch { continue; }
    const a = cmd.split('\0');
    if (a.includes('mount') && a.includes('--foreground') && a.includes(mp)) return Number(d);
  }
  return undefined;
}

before(async () => {
  if (!canFuse) return;
  poolUuid = (await cli(['pool', 'create', 'tank'])).stdout.trim();
  contUuid = (await cli(['container', 'create', 'tank', 'data'])).stdout.trim();
});

after(() => {
  for (const mp of mounts) umountQuiet(mp);
});

const skip = canFuse ? false : 'needs root and /dev/fuse';

// The script runs in the directory it changes; $SRC is a random input file.
const SCRIPT = `
set -e
echo hello > a.txt
mkdir -p d/e/f
printf 'line %s\\n' $(seq 1 3000) > d/e/lines
cp a.txt d/b.txt
mv d/b.txt d/c.txt
ln d/c.txt d/hard
ln -s ../a.txt d/sym
ln -s nowhere dangling
chmod 640 a.txt
chmod 750 d/e
setfattr -n user.color -v blue a.txt
setfattr -n user.empty d/e
setfattr -n user.gone -v x d/c.txt
setfattr -x user.gone d/c.txt
truncate -s 3000 d/e/lines
truncate -s 200000 sparse
dd if="$SRC" of=big bs=64k count=40 status=none
dd if="$SRC" of=big bs=1M skip=1 seek=3 count=2 conv=notrunc status=none
dd if="$SRC" of=odd bs=7777 count=13 status=none
cat d/sym >> d/e/lines
mkdir moved && mv d/e moved/ && mv moved/e moved/e2
touch -d '2020-01-02 03:04:05' a.txt
rm d/hard
mkdir gone && rmdir gone
echo tmp > t && mv -f a.txt t2 && mv t2 a.txt && rm t
cp -r moved copy
`;

function describeTree(dir: string): string {
  return sh(`find . -mindepth 1 \\( -type d -printf '%p d %m\\n' \\) -o \\( -type f -printf '%p f %m %s %n\\n' \\) -o \\( -type l -printf '%p l %l\\n' \\) | LC_ALL=C sort
    getfattr -R -d --absolute-names . 2>/dev/null | grep -v '^#' | sort | grep . || true
    stat -c '%n %Y' a.txt`, dir);
}

test('a shell script through the mount gives the same tree as on the local disk', { skip, timeout: 60000 }, async () => {
  const mp = tempDir('strata-fuse-mnt-');
  const local = tempDir('strata-fuse-local-');
  const src = path.join(tempDir('strata-fuse-src-'), 'src');
  fs.writeFileSync(src, crypto.randomBytes(4 << 20));
  await mount([mp], mp);
  // Pools and containers by UUID (directories) and by label (symlinks to them, which find and du do not follow).
  assert.deepEqual(fs.readdirSync(mp).sort(), [poolUuid, 'tank'].sort());
  assert.deepEqual(fs.readdirSync(path.join(mp, poolUuid)).sort(), [contUuid, 'data'].sort());
  assert.ok(fs.lstatSync(path.join(mp, 'tank')).isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(mp, 'tank')), poolUuid);
  assert.equal(fs.readlinkSync(path.join(mp, poolUuid, 'data')), contUuid);
  assert.ok(fs.statSync(path.join(mp, 'tank', 'data')).isDirectory());
  assert.deepEqual(execFileSync('find', [mp, '-maxdepth', '2', '-type', 'd'], { encoding: 'utf8' }).trim().split('\n').sort(), [mp, `${mp}/${poolUuid}`, `${mp}/${poolUuid}/${contUuid}`].sort());
  const inCont = path.join(mp, poolUuid, contUuid);
  fs.mkdirSync(path.join(inCont, 'w'));
  fs.mkdirSync(path.join(local, 'w'));
  sh(SCRIPT, path.join(inCont, 'w'), { SRC: src });
  sh(SCRIPT, path.join(local, 'w'), { SRC: src });
  execFileSync('diff', ['-r', '--no-dereference', path.join(local, 'w'), path.join(inCont, 'w')]);
  assert.equal(describeTree(path.join(inCont, 'w')), describeTree(path.join(local, 'w')));
  // Hard links share an inode; the data is in the container for the CLI too.
  assert.equal(fs.statSync(path.join(inCont, 'w', 'big')).size, 5 << 20);
  const got = path.join(local, 'odd.got');
  await cli(['fs', 'get', `daos://tank/data/w/odd`, got]);
  assert.ok(fs.readFileSync(got).equals(fs.readFileSync(path.join(local, 'w', 'odd'))));
  // Streaming readdir of a larger directory.
  sh('mkdir many && cd many && for i in $(seq 1 1500); do : > f$i; done', inCont);
  assert.equal(fs.readdirSync(path.join(inCont, 'many')).length, 1500);
  // statfs works.
  assert.match(sh('df -P .', inCont), /strata/);
  await cli(['umount', mp]);
  mounts.delete(mp);
  assert.deepEqual(fs.readdirSync(mp), []);
});

test('snapshots are read-only under .snapshots; one container and one pool mounts', { skip, timeout: 30000 }, async () => {
  const mp = tempDir('strata-fuse-one-');
  await mount(['--pool', 'tank', '--cont', 'data'], mp);
  fs.writeFileSync(path.join(mp, 'snapfile'), 'before');
  await cli(['container', 'create-snap', 'tank', 'data', '--snap', 's1']);
  fs.writeFileSync(path.join(mp, 'snapfile'), 'after!');
  assert.deepEqual(fs.readdirSync(path.join(mp, '.snapshots')), ['s1']);
  assert.equal(fs.readFileSync(path.join(mp, '.snapshots', 's1', 'snapfile'), 'utf8'), 'before');
  assert.equal(fs.readFileSync(path.join(mp, 'snapfile'), 'utf8'), 'after!');
  assert.throws(() => fs.writeFileSync(path.join(mp, '.snapshots', 's1', 'x'), 'no'), /EROFS|EACCES/);
  await cli(['umount', mp]);
  mounts.delete(mp);
  const mp2 = tempDir('strata-fuse-pool-');
  await mount(['--pool', 'tank'], mp2);
  assert.deepEqual(fs.readdirSync(mp2).sort(), [contUuid, 'data'].sort(), 'a pool mount: each container by UUID and by label');
  assert.equal(fs.readFileSync(path.join(mp2, 'data', 'snapfile'), 'utf8'), 'after!');
  // A non-POSIX container shows as an empty read-only directory.
  const raw = (await cli(['container', 'create', 'tank', 'rawc', '--type', 'RAW'])).stdout.trim();
  assert.deepEqual(fs.readdirSync(path.join(mp2, raw)), []);
  assert.throws(() => fs.writeFileSync(path.join(mp2, raw, 'x'), 'no'), /EROFS|EACCES/);
  await cli(['umount', mp2]);
  mounts.delete(mp2);
});

test('a symlink UNS link is followed by cat into the tier mount; an xattr link mounts with --path', { skip, timeout: 30000 }, async () => {
  const mp = tempDir('strata-fuse-prefix-');
  const dir = tempDir('strata-fuse-links-');
  await mount([mp], mp);
  const link = path.join(dir, 'proj');
  const made = await cli(['container', 'create', 'tank', '--path', link, '--link', 'symlink', '--prefix', mp], false);
  let cont: string;
  if (made.code === 0) {
    cont = made.stdout.trim().split('\n').pop()!.trim();
    assert.ok(fs.lstatSync(link).isSymbolicLink());
  } else {
    cont = (await cli(['container', 'create', 'tank', 'proj'])).stdout.trim();
    fs.symlinkSync(path.join(mp, poolUuid, cont), link);
  }
  const put = await runCli(['fs', 'put', '-', `daos://tank/${cont}/hello.txt`], { env, input: 'through the link\n' });
  assert.equal(put.code, 0, put.stderr);
  assert.equal(execFileSync('cat', [path.join(link, 'hello.txt')], { encoding: 'utf8' }), 'through the link\n');
  await cli(['umount', mp]);
  mounts.delete(mp);

  const xl = path.join(dir, 'xlink');
  const mk = await cli(['container', 'create', 'tank', '--path', xl, '--link', 'xattr'], false);
  if (mk.code !== 0) return; // UNS xattr links need user xattrs on the temp filesystem
  await mount(['--path', xl], xl);
  fs.writeFileSync(path.join(xl, 'inside'), 'xattr link data');
  await cli(['umount', xl]);
  mounts.delete(xl);
  assert.ok(!fs.existsSync(path.join(xl, 'inside')));
  const uuid = mk.stdout.trim().split('\n').pop()!.trim();
  assert.equal((await cli(['fs', 'cat', `daos://tank/${uuid}/inside`])).stdout, 'xattr link data');
});

test('SIGKILL of the daemon: the next mount recovers the stale mountpoint and fsynced data is there', { skip, timeout: 30000 }, async () => {
  const mp = tempDir('strata-fuse-kill-');
  await mount(['--pool', 'tank', '--cont', 'data'], mp);
  const data = crypto.randomBytes(3 << 20);
  const fd = fs.openSync(path.join(mp, 'durable'), 'w');
  fs.writeSync(fd, data);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const pid = daemonPid(fs.realpathSync(mp));
  assert.ok(pid, 'daemon found');
  process.kill(pid!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  assert.throws(() => fs.readdirSync(mp), /ENOTCONN/);
  await mount(['--pool', 'tank', '--cont', 'data'], mp);
  assert.ok(fs.readFileSync(path.join(mp, 'durable')).equals(data));
  await cli(['umount', mp]);
  mounts.delete(mp);
});

/** Processes whose parent is pid. */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function gone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test('a daemon SIGKILLed while busy always finishes exiting: its waker is a separate process without /dev/fuse', { skip, timeout: 90000 }, async () => {
  // A thread of the daemon waiting on its own mount kept a killed daemon from
  // exiting (and every client of the mount hung): the daemon now makes no
  // requests through its own mount.
  const mp = tempDir('strata-fuse-waker-');
  for (let round = 0; round < 6; round++) {
    await mount(['--pool', 'tank', '--cont', 'data'], mp);
    const pid = daemonPid(fs.realpathSync(mp))!;
    assert.ok(pid, 'daemon found');
    const wakers = childrenOf(pid).filter((c) => fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').includes('waker.js'));
    assert.equal(wakers.length, 1, 'one waker process');
    const fds = fs.readdirSync(`/proc/${wakers[0]}/fd`).map((f) => { try { return fs.readlinkSync(`/proc/${wakers[0]}/fd/${f}`); } catch { return ''; } });
    assert.ok(!fds.includes('/dev/fuse'), `the waker holds no /dev/fuse: ${fds.join(' ')}`);
    // Busy: a writer streaming small writes with fsyncs (commits in the background).
    const writer = spawnSync('bash', ['-c', `(for i in $(seq 1 400); do dd if=/dev/urandom of=${mp}/f$i bs=4k count=4 conv=fsync status=none || exit 0; done) >/dev/null 2>&1 & sleep 0.${3 + round}; kill -0 $! && echo writer running`], { encoding: 'utf8', timeout: 30000 });
    process.kill(pid, 'SIGKILL');
    assert.ok(await gone(pid, 5000), `round ${round}: the killed daemon did not finish exiting (${writer.stdout.trim()})`);
    assert.ok(await gone(wakers[0]!, 5000), `round ${round}: the waker did not exit with its daemon`);
    assert.throws(() => fs.readdirSync(mp), /ENOTCONN/);
  }
  await cli(['umount', mp]);
  mounts.delete(mp);
});

test('umount --force detaches a mount whose daemon hangs; calls waiting on it fail instead of hanging', { skip, timeout: 30000 }, async () => {
  const mp = tempDir('strata-fuse-hung-');
  await mount(['--pool', 'tank', '--cont', 'data', '--cache-timeout', '0'], mp);
  fs.writeFileSync(path.join(mp, 'x'), 'x');
  const pid = daemonPid(fs.realpathSync(mp))!;
  process.kill(pid, 'SIGSTOP');
  try {
    const { spawn } = await import('node:child_process');
    const stuck = spawn('stat', [path.join(mp, 'x')], { stdio: 'ignore' });
    const stuckExit = new Promise<number | null>((res) => stuck.on('exit', (c) => res(c)));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(stuck.exitCode, null, 'stat waits on the hung daemon');
    const r = await cli(['umount', '--force', mp]);
    assert.equal(r.stderr, '');
    assert.notEqual(await stuckExit, 0, 'the waiting stat failed');
    assert.ok(!fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === fs.realpathSync(mp)), 'detached');
  } finally {
    process.kill(pid, 'SIGKILL');
    process.kill(pid, 'SIGCONT');
  }
  assert.ok(await gone(pid, 5000));
  mounts.delete(mp);
  const r = await cli(['umount', '--force', mp], false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^strata: .*not a strata mount/);
});

test('a READ the engine fails (a truncated extent file) answers EIO and logs one line per request, no stack trace', { skip, timeout: 30000 }, async () => {
  const own = { STRATA_HOME: tempDir('strata-fuse-eio-home-'), STRATA_ENGINE: '' };
  const run = async (args: string[]) => {
    const r = await runCli(args, { env: own });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
  };
  await run(['pool', 'create', 'p']);
  await run(['container', 'create', 'p', 'c']);
  const mp = tempDir('strata-fuse-eio-');
  const log = path.join(tempDir('strata-fuse-eio-log-'), 'daemon.log');
  await run(['mount', mp, '--pool', 'p', '--cont', 'c']);
  mounts.add(mp);
  fs.writeFileSync(path.join(mp, 'big'), crypto.randomBytes(1 << 20));
  await run(['umount', mp]);
  for (const f of fs.readdirSync(path.join(own.STRATA_HOME, 'extents'))) fs.truncateSync(path.join(own.STRATA_HOME, 'extents', f), 0);
  await run(['mount', mp, '--pool', 'p', '--cont', 'c', '--log', log]);
  const r = spawnSync('cat', [path.join(mp, 'big')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /Input\/output error/);
  await run(['umount', mp]);
  mounts.delete(mp);
  const lines = fs.readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.ok(lines.some((l) => /^strata mount: READ: .*extent file/.test(l)), lines.join('\n'));
  assert.ok(!lines.some((l) => /^\s+at /.test(l)), `a stack trace in the log:\n${lines.join('\n')}`);
});

test('by default the mounting user\'s ACL opens the container and mode bits decide for each caller (allow_other)', { skip, timeout: 30000 }, async () => {
  const parent = tempDir('strata-fuse-modes-');
  fs.chmodSync(parent, 0o755);
  const mp = path.join(parent, 'mnt');
  fs.mkdirSync(mp);
  // The container's ACL names only its owner (root, who mounts): nobody (65534) has no entry.
  await mount(['--pool', 'tank', '--cont', 'data', '--allow-other', '--cache-timeout', '0'], mp);
  fs.mkdirSync(path.join(mp, 'drop'));
  fs.chmodSync(path.join(mp, 'drop'), 0o777);
  fs.writeFileSync(path.join(mp, 'shared'), 'shared\n');
  fs.chmodSync(path.join(mp, 'shared'), 0o666);
  fs.writeFileSync(path.join(mp, 'readonly'), 'ro\n');
  fs.chmodSync(path.join(mp, 'readonly'), 0o644);
  const asNobody = (script: string) => spawnSync('sh', ['-c', script], { uid: 65534, gid: 65534, encoding: 'utf8' });
  let r = asNobody(`echo mine > '${mp}/drop/new' && cat '${mp}/shared' && echo more >> '${mp}/shared'`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'shared\n');
  const st = fs.statSync(path.join(mp, 'drop', 'new'));
  assert.deepEqual([st.uid, st.gid], [65534, 65534], 'the new file belongs to its creator');
  assert.equal(fs.readFileSync(path.join(mp, 'shared'), 'utf8'), 'shared\nmore\n');
  // Mode bits refuse what they do not grant; ownership rules hold.
  for (const script of [`echo x >> '${mp}/readonly'`, `echo x > '${mp}/not-mine'`, `chmod 600 '${mp}/shared'`]) {
    r = asNobody(script);
    assert.notEqual(r.status, 0, script);
    assert.match(r.stderr, /Permission denied|Operation not permitted/, script);
  }
  assert.equal(fs.readFileSync(path.join(mp, 'readonly'), 'utf8'), 'ro\n');
  assert.ok(!fs.existsSync(path.join(mp, 'not-mine')));
  await cli(['umount', mp]);
  mounts.delete(mp);
  for (const n of ['drop', 'shared', 'readonly']) await cli(['fs', 'rm', '-r', `daos://tank/data/${n}`]);
});

test('--acl-per-caller: the container ACL is checked for each caller as well (allow_other)', { skip, timeout: 30000 }, async () => {
  const parent = tempDir('strata-fuse-acl-');
  fs.chmodSync(parent, 0o755);
  const mp = path.join(parent, 'mnt');
  fs.mkdirSync(mp);
  await mount(['--pool', 'tank', '--cont', 'data', '--allow-other', '--acl-per-caller', '--cache-timeout', '0'], mp);
  fs.writeFileSync(path.join(mp, 'open-to-all'), 'public\n');
  fs.chmodSync(path.join(mp, 'open-to-all'), 0o644);
  const asNobody = () => spawnSync('cat', [path.join(mp, 'open-to-all')], { uid: 65534, gid: 65534, encoding: 'utf8' });
  let r = asNobody();
  assert.notEqual(r.status, 0, 'nobody has no ACL entry');
  assert.match(r.stderr, /Permission denied/);
  await cli(['container', 'update-acl', 'tank', 'data', '--entry', 'A::EVERYONE@:r']);
  await new Promise((res) => setTimeout(res, 2200));
  r = asNobody();
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'public\n');
  const w = spawnSync('bash', ['-c', `echo x > ${mp}/nobody-was-here`], { uid: 65534, gid: 65534, encoding: 'utf8' });
  assert.notEqual(w.status, 0);
  await cli(['umount', mp]);
  mounts.delete(mp);
});

test('bad input: clear errors and nothing mounted', { skip, timeout: 30000 }, async () => {
  const missing = path.join(tempDir('strata-fuse-bad-'), 'nope');
  let r = await cli(['mount', missing], false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^strata: .*does not exist/);
  const full = tempDir('strata-fuse-full-');
  fs.writeFileSync(path.join(full, 'x'), '');
  r = await cli(['mount', full], false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^strata: .*not empty/);
  const empty = tempDir('strata-fuse-empty-');
  r = await cli(['mount', empty, '--pool', 'no-such-pool'], false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^strata: .*no pool/);
  r = await cli(['umount', empty], false);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^strata: .*not a strata mount/);
});

test('mount --path: a user.daos value whose UUIDs are not 8-4-4-4-12 is refused with one line naming the link', { skip, timeout: 30000 }, async () => {
  const dir = tempDir('strata-fuse-badlink-');
  const good = '0123abcd-0123-4567-89ab-0123456789ab';
  const bad = [
    '------------------------------------',
    '0123456789abcdef0123456789abcdef----',
    '0123abcd0-123-4567-89ab-0123456789ab',
  ];
  for (const [i, u] of bad.entries()) {
    for (const value of [`DAOS.POSIX://${u}/${good}`, `DAOS.POSIX://${poolUuid}/${u}`]) {
      const link = path.join(dir, `l${i}-${value.length}-${value.indexOf(u)}`);
      fs.mkdirSync(link);
      execFileSync('setfattr', ['-n', 'user.daos', '-v', value, link]);
      const r = await cli(['mount', '--path', link], false);
      assert.equal(r.code, 1, r.stderr);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, new RegExp(`^strata: ${link}: malformed user\\.daos value \\((pool|container) UUID '${u}' cannot be parsed\\)$`));
      assert.ok(!fs.readFileSync('/proc/mounts', 'utf8').includes(link), 'nothing mounted');
    }
  }
});

/** The options of a mount as /proc/mounts shows them. */
function mountOptions(mp: string): string[] {
  const line = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mp);
  assert.ok(line, `${mp} is mounted`);
  return line.split(' ')[3]!.split(',');
}

test('a default mount is nosuid,nodev; root may ask for --suid and --dev', { skip, timeout: 30000 }, async () => {
  const mp = tempDir('strata-fuse-nosuid-');
  await mount(['--pool', 'tank', '--cont', 'data'], mp);
  const dflt = mountOptions(mp);
  assert.ok(dflt.includes('nosuid') && dflt.includes('nodev'), dflt.join(','));
  await cli(['umount', mp]);
  mounts.delete(mp);
  await mount(['--pool', 'tank', '--cont', 'data', '--suid', '--dev'], mp);
  const opted = mountOptions(mp);
  assert.ok(!opted.includes('nosuid') && !opted.includes('nodev'), opted.join(','));
  await cli(['umount', mp]);
  mounts.delete(mp);
});
