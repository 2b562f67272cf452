// What tier archive must refuse because the result would lose a path to data:
// a symlink link that does not resolve (nothing mounted at the prefix, or a
// prefix that shows something else), a tree with UNS links inside (they would
// become empty directories), a directory inside strata's own mount. Each
// refusal is one "strata:" line and leaves the tree as it was, no container.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runCli } from '../helpers.js';
import { ok, fails, makeTree, statList, tierEnv, sh, hiddenSiblings } from './util.js';

const { home, env } = tierEnv('links');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);
const mounts: string[] = [];
after(() => { for (const m of mounts.reverse()) { spawnSync('umount', [m]); spawnSync('umount', ['-l', m]); } });
const canFuse = fs.existsSync('/dev/fuse') && process.getuid?.() === 0;
const conts = async () => (JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as unknown[]).length;

function tree(name: string): { dir: string; kept: string } {
  const dir = path.join(ws, name);
  const kept = path.join(home, `kept-${name}`);
  fs.mkdirSync(dir);
  makeTree(dir, { files: 5 });
  sh(`cp -a '${dir}' '${kept}'`);
  return { dir, kept };
}

async function unchanged(dir: string, kept: string, before: number): Promise<void> {
  assert.ok(fs.lstatSync(dir).isDirectory(), `${dir} is a directory again`);
  assert.equal(statList(dir), statList(kept));
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await conts(), before, 'no container left');
}

test('symlink link with nothing mounted at the prefix: refused before anything is copied', async () => {
  await ok(env, 'pool', 'create', 'tank');
  const { dir, kept } = tree('unmounted');
  const prefix = path.join(home, 'not-mounted');
  fs.mkdirSync(prefix);
  const r = await fails(env, /a symlink link to .*not-mounted would not resolve: .* does not exist \(is the tier mounted there\?/, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', prefix);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  await unchanged(dir, kept, 0);
  // a missing prefix as well
  await fails(env, /would not resolve/, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', '/strata-nowhere');
  await unchanged(dir, kept, 0);
});

test('symlink link whose target shows other data: refused after the link is made, before the source is removed', async () => {
  const { dir, kept } = tree('wrong-prefix');
  // The prefix has the pool's directory (as a stale copy or another tier would) but not this container.
  const pool = (JSON.parse(await ok(env, 'pool', 'list', '--json')) as Array<{ uuid: string }>)[0]!.uuid;
  const prefix = path.join(home, 'fake-prefix');
  fs.mkdirSync(path.join(prefix, pool), { recursive: true });
  const r = await fails(env, /the symlink link to .* does not give the archived data \(.*\): archive refused, .* was not changed/, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', prefix);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  await unchanged(dir, kept, 0);
  assert.equal((await runCli(['tier', 'recover'], { env })).code, 0);
  await unchanged(dir, kept, 0);
});

test('symlink link through a real mount of the tier at the prefix: archived, the link reads the data', { skip: canFuse ? false : 'needs root and /dev/fuse' }, async () => {
  const { dir, kept } = tree('served');
  const mnt = path.join(home, 'mnt');
  fs.mkdirSync(mnt);
  await ok(env, 'mount', mnt);
  mounts.push(mnt);
  await ok(env, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', mnt);
  assert.ok(fs.lstatSync(dir).isSymbolicLink());
  assert.equal(sh(`cat '${dir}/hello.txt'`), 'hello\n');
  assert.equal(sh(`cd '${dir}/' && sha256sum dir/big.bin`), sh(`cd '${kept}' && sha256sum dir/big.bin`));
  await ok(env, 'tier', 'restore', dir);
  assert.equal(statList(dir), statList(kept));
});

test('a tree with UNS links inside is refused, naming the link; the links stay links', async () => {
  const outer = path.join(ws, 'outer');
  fs.mkdirSync(outer);
  fs.writeFileSync(path.join(outer, 'a.txt'), 'a\n');
  const inner = path.join(outer, 'deep', 'inner');
  fs.mkdirSync(path.dirname(inner));
  fs.mkdirSync(inner);
  makeTree(inner, { files: 3 });
  await ok(env, 'tier', 'archive', inner);
  const before = await conts();
  const r = await fails(env, new RegExp(`${inner} is a UNS link \\(to container [0-9a-f-]+\\) inside ${outer}: archiving would turn it into an empty directory`), 'tier', 'archive', outer);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.ok(fs.lstatSync(outer).isDirectory());
  assert.equal(sh(`getfattr --only-values -n user.daos '${inner}' | head -c 13`), 'DAOS.POSIX://', 'still a link');
  assert.equal(await conts(), before);
  const st = JSON.parse(await ok(env, 'tier', 'status', outer, '-R', '--json')) as Array<{ path: string; state: string }>;
  assert.ok(st.some((e) => e.path === inner && e.state === 'archived'), JSON.stringify(st));
});

test('a directory inside the strata mount is refused, naming the mount', { skip: canFuse ? false : 'needs root and /dev/fuse' }, async () => {
  const mnt = path.join(home, 'mnt2');
  fs.mkdirSync(mnt);
  await ok(env, 'mount', mnt);
  mounts.push(mnt);
  await ok(env, 'cont', 'create', 'tank', 'box', '--type', 'POSIX');
  const pool = (JSON.parse(await ok(env, 'pool', 'list', '--json')) as Array<{ uuid: string }>)[0]!.uuid;
  const box = (JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as Array<{ label: string; uuid: string }>).find((c) => c.label === 'box')!.uuid;
  const sub = path.join(mnt, pool, box, 'sub');
  fs.mkdirSync(sub);
  fs.writeFileSync(path.join(sub, 'f'), 'x\n');
  const before = await conts();
  const r = await fails(env, new RegExp(`${sub} is inside the strata mount at ${mnt}: its data is in the tier already`), 'tier', 'archive', sub);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(fs.readFileSync(path.join(sub, 'f'), 'utf8'), 'x\n');
  assert.equal(await conts(), before);
});
