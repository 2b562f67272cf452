// Who can read an engine home's bytes directly. Container ACLs are enforced
// by strata, not by the filesystem, so a home is private (directories 0700,
// files 0600, whatever the umask) unless `strata engine init --mode 0770
// --group NAME` shares it with one group; a home that exists keeps its modes
// until engine init is told otherwise. The sharing checks run as real
// unprivileged users (root only).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { openEngine } from '../../src/engine/open.js';
import { runCli, tempDir } from '../helpers.js';
import { createUser, isRoot, removeUser, runAs } from '../security/util.js';

const WRITER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stale-read-worker.js');

/** Every entry under dir (dir included) with its mode (octal, permission and setgid bits) and group. */
function modes(dir: string): Map<string, { mode: string; gid: number }> {
  const out = new Map<string, { mode: string; gid: number }>();
  const walk = (p: string, rel: string) => {
    const st = fs.lstatSync(p);
    out.set(rel || '.', { mode: (st.mode & 0o7777).toString(8).padStart(4, '0'), gid: st.gid });
    if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n), rel ? `${rel}/${n}` : n);
  };
  walk(dir, '');
  return out;
}

/** Writes large values (they go to extent files) through the engine of this process. */
async function writeLarge(home: string): Promise<void> {
  const engine = await openEngine(`lmdb:${home}`);
  try {
    const cont = randomUUID();
    for (let i = 0; i < 3; i++) {
      await engine.commit({ ops: [{ op: 'write', cont, oid: Buffer.alloc(16, i), dkey: Buffer.from('d'), akey: Buffer.from('a'), offset: 0, data: Buffer.alloc(100000, i + 1) }] });
    }
  } finally {
    await engine.close();
  }
}

test('a new engine home is private: directories 0700, the index, its lock file and extent files 0600, whatever the umask', async () => {
  const home = path.join(tempDir('strata-access-'), 'a', 'home');
  const old = process.umask(0); // the most permissive umask must not matter
  try {
    await writeLarge(home);
  } finally {
    process.umask(old);
  }
  const m = modes(home);
  for (const name of ['index.mdb', 'index.mdb-lock']) assert.ok(m.has(name), name);
  assert.ok([...m.keys()].some((n) => /^extents\/\d+\.ext$/.test(n)), 'large values went to extent files');
  for (const [name, { mode }] of m) {
    const want = name === '.' || name === 'extents' ? '0700' : '0600';
    assert.equal(mode, want, `${name} is ${mode}`);
  }
});

test('engine init refuses modes that open a home to other users, and --mode 0770 without a group', async () => {
  const home = path.join(tempDir('strata-access-'), 'home');
  for (const args of [['--mode', '0755'], ['--mode', '0777'], ['--mode', '0770'], ['--group', 'no-such-group-here']]) {
    const r = await runCli(['--engine', `lmdb:${home}`, 'engine', 'init', ...args]);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^strata: \S[^\n]*\n$/, args.join(' '));
    assert.equal(fs.existsSync(home), false, `${args.join(' ')} created nothing`);
  }
});

test('an existing home keeps its modes until engine init --mode 0700 makes it private', async () => {
  const home = path.join(tempDir('strata-access-'), 'home');
  await writeLarge(home);
  // As an older strata left it: readable by every local user.
  for (const [name] of modes(home)) fs.chmodSync(path.join(home, name), fs.statSync(path.join(home, name)).isDirectory() ? 0o755 : 0o644);
  const had = new Set(modes(home).keys());
  await writeLarge(home);
  for (const [name, { mode }] of modes(home)) {
    if (!had.has(name)) assert.equal(mode, '0600', `new file ${name}`);
    else assert.ok(mode === '0755' || mode === '0644', `${name} re-moded to ${mode} without being asked`);
  }
  const said = await runCli(['--engine', `lmdb:${home}`, 'engine', 'info', '--json']);
  assert.match(JSON.parse(said.stdout).access, /^readable by other users .*engine init --mode 0700/, 'engine info says so');
  const r = await runCli(['--engine', `lmdb:${home}`, 'engine', 'init', '--mode', '0700']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /access: private/);
  for (const [name, { mode }] of modes(home)) assert.equal(mode, name === '.' || name === 'extents' ? '0700' : '0600', name);
  const info = await runCli(['--engine', `lmdb:${home}`, 'engine', 'info', '--json']);
  assert.match(JSON.parse(info.stdout).access, /^private/);
});

test('a home shared with a group by engine init --mode 0770 --group gives its members, and only them, the bytes', { skip: isRoot ? false : 'needs root to create users and run as them' }, async () => {
  const member = createUser('hmem');
  const outsider = createUser('hout');
  try {
    const parent = tempDir('strata-access-');
    fs.chmodSync(parent, 0o755);
    const readable = (u: typeof member, file: string) => runAs(u, 'cat', [file]).status === 0;
    const extentFile = (home: string) => path.join(home, 'extents', fs.readdirSync(path.join(home, 'extents')).find((n) => n.endsWith('.ext'))!);

    // A private home: nobody else reads it.
    const priv = path.join(parent, 'private');
    await writeLarge(priv);
    assert.equal(readable(member, path.join(priv, 'index.mdb')), false, 'a private index is unreadable to others');
    assert.equal(readable(member, extentFile(priv)), false, 'a private extent file is unreadable to others');

    // A shared one.
    const shared = path.join(parent, 'shared');
    const r = await runCli(['--engine', `lmdb:${shared}`, 'engine', 'init', '--mode', '0770', '--group', member.group]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`access: shared with group ${member.group}`));
    await writeLarge(shared);
    for (const [name, { mode, gid }] of modes(shared)) {
      assert.equal(mode, name === '.' || name === 'extents' ? '2770' : '0660', name);
      assert.equal(gid, member.gid, `${name} belongs to the group`);
    }
    assert.equal(readable(member, path.join(shared, 'index.mdb')), true, 'a member reads the index');
    assert.equal(readable(member, extentFile(shared)), true, 'a member reads the extent files');
    assert.equal(readable(outsider, path.join(shared, 'index.mdb')), false, 'others do not');
    assert.equal(readable(outsider, extentFile(shared)), false, 'others do not');

    // What a member's process creates there follows the recorded choice (its umask 077 notwithstanding).
    const before = new Set(fs.readdirSync(path.join(shared, 'extents')));
    const w = runAs(member, '/bin/sh', ['-c', 'umask 077 && exec "$0" "$@"', process.execPath, WRITER, `lmdb:${shared}`, randomUUID(), '7']);
    assert.equal(w.status, 0, w.stderr);
    const made = fs.readdirSync(path.join(shared, 'extents')).filter((n) => !before.has(n));
    assert.equal(made.length, 1, `the member wrote an extent file (${made})`);
    const st = fs.statSync(path.join(shared, 'extents', made[0]!));
    assert.equal((st.mode & 0o7777).toString(8), '660');
    assert.equal(st.gid, member.gid);
    assert.equal(st.uid, member.uid);
  } finally {
    await removeUser(member);
    await removeUser(outsider);
  }
});
