// Path traversal: symlinks in a copied tree that point outside it (relative
// `../..`, absolute, to a directory) are copied as symlinks and never
// followed; inside a container every path resolves under the container root
// (`..` above it is refused, an absolute symlink target means the container's
// root, never the host's); names `.` and `..` cannot be created; `daos://`
// locations with `..` are resolved inside the container or refused, with one
// error line, exit 1 and no change.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { cli, digest, fingerprint, listTree, makeContainer, ok, refused } from './util.js';

const home = tempDir('strata-sec-paths-');
fs.chmodSync(home, 0o755);
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '' };
const o = { env };
const OUTSIDE = path.join(home, 'outside'); // what the symlinks point at
const SRC = path.join(home, 'a/b/src');
const ESCAPES = /escapes the container root/;

/** The symlinks of the source tree, name -> target. */
const LINKS: Record<string, string> = {
  'up': '../../../outside', // relative, leaves the tree (SRC is home/a/b/src)
  'up-file': '../../../outside/secret.txt',
  'abs-dir': OUTSIDE,
  'abs-file': path.join(OUTSIDE, 'secret.txt'),
  'etc': '/etc',
  'dir/deep-up': '../../../../outside',
  'dir/dotdot': '..',
};

before(async () => {
  fs.mkdirSync(path.join(OUTSIDE, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(OUTSIDE, 'secret.txt'), 'host secret\n');
  fs.writeFileSync(path.join(OUTSIDE, 'sub/more.txt'), 'more\n');
  fs.mkdirSync(path.join(SRC, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(SRC, 'plain.txt'), 'plain\n');
  fs.writeFileSync(path.join(SRC, 'dir/inner.txt'), 'inner\n');
  for (const [name, target] of Object.entries(LINKS)) fs.symlinkSync(target, path.join(SRC, name));
  await makeContainer(env, 'tank', 'c', {
    dirs: ['/d'],
    files: { '/f': 'in the container\n' },
    symlinks: {
      '/abs': path.join(OUTSIDE, 'secret.txt'),
      '/up': '../../../outside/secret.txt',
      '/etc': '/etc',
      '/d/to-root-f': '/f',
    },
  });
  await makeContainer(env, 'tank', 'other', { files: { '/f': 'other container\n' } });
});

function checkLinks(root: string): void {
  for (const [name, target] of Object.entries(LINKS)) {
    const p = path.join(root, name);
    assert.ok(fs.lstatSync(p).isSymbolicLink(), `${name} is a symlink`);
    assert.equal(fs.readlinkSync(p), target, `${name} keeps its target byte for byte`);
  }
}

test('symlinks pointing outside the source are copied as symlinks, never followed (POSIX -> container -> POSIX, POSIX -> POSIX)', async () => {
  const fp = fingerprint(OUTSIDE);
  const r1 = await ok(['fs', 'copy', '--src', SRC, '--dst', 'daos://tank/links', '--json'], o);
  const s1 = JSON.parse(r1.stdout) as { files: number; symlinks: number; errors: number };
  assert.deepEqual([s1.files, s1.symlinks, s1.errors], [2, Object.keys(LINKS).length, 0], 'only the two real files were read');
  // In the container: the symlinks, and nothing of the host below them.
  const ls = JSON.parse((await ok(['fs', 'ls', '-R', '--json', 'daos://tank/links'], o)).stdout) as Array<{ path: string; type: string }>;
  const types = Object.fromEntries(ls.map((e) => [e.path.slice(1), e.type]));
  const expected: Record<string, string> = { 'plain.txt': 'file', 'dir': 'dir', 'dir/inner.txt': 'file' };
  for (const name of Object.keys(LINKS)) expected[name] = 'symlink';
  assert.deepEqual(types, expected);
  const out = path.join(home, 'out-via-container');
  await ok(['fs', 'copy', '--src', 'daos://tank/links', '--dst', out, '-q'], o);
  checkLinks(out);
  assert.deepEqual(listTree(out), listTree(SRC));
  const out2 = path.join(home, 'out-direct');
  await ok(['fs', 'copy', '--src', SRC, '--dst', out2, '-q'], o);
  checkLinks(out2);
  assert.deepEqual(listTree(out2), listTree(SRC));
  assert.equal(fingerprint(OUTSIDE), fp, 'the host tree the links name was neither read into nor written');
});

test('inside a container, symlink targets resolve under the container root: never the host\'s files', async () => {
  // The container holds symlinks abs -> OUTSIDE/secret.txt, up -> ../../../outside/secret.txt, etc -> /etc, d/to-root-f -> /f.
  const got = path.join(home, 'got.txt');
  const [toRoot] = await Promise.all([
    // An absolute target is the container's root: /f of the container, not of the host.
    ok(['fs', 'cat', 'daos://tank/c/d/to-root-f'], o),
    refused(['fs', 'cat', 'daos://tank/c/abs'], o, /no such file or directory/),
    // /etc inside the container is this very symlink: a loop, not the host's /etc.
    refused(['fs', 'cat', 'daos://tank/c/etc/passwd'], o, /too many levels of symbolic links|no such file or directory/),
    refused(['fs', 'cat', 'daos://tank/c/up'], o, ESCAPES),
    refused(['fs', 'get', 'daos://tank/c/abs', got], o, /no such file or directory/),
    // Writing through them stays inside too (or is refused).
    refused(['fs', 'put', '-', 'daos://tank/c/up/planted'], { env, input: 'x' }, ESCAPES),
  ]);
  assert.equal(toRoot.stdout, 'in the container\n');
  assert.ok(!fs.existsSync(got), 'fs get made no file');
  assert.ok(!fs.existsSync(path.join(OUTSIDE, 'planted')));
  assert.equal(fs.readFileSync(path.join(OUTSIDE, 'secret.txt'), 'utf8'), 'host secret\n');
});

async function inOrder<T>(steps: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = [];
  for (const step of steps) out.push(await step());
  return out;
}

test('`..` in daos:// locations is resolved inside the container or refused above its root; names `.` and `..` cannot be created', async () => {
  const before = await digest(env, 'tank', 'c');
  const out = path.join(home, 'dotdot-out');
  const x = { env, input: 'x' };
  // One after the other: this test is about paths, not about many processes
  // opening the engine at the same instant (see docs/reliability.md).
  const [a] = await inOrder([
    // Physically inside the container: d/.. is the root.
    () => ok(['fs', 'cat', 'daos://tank/c/./d/../d/.././f'], o),
    // Above the root: one error line, nothing done; never the neighbour container.
    () => refused(['fs', 'cat', 'daos://tank/c/../other/f'], o, ESCAPES),
    () => refused(['fs', 'ls', 'daos://tank/c/..'], o, ESCAPES),
    () => refused(['fs', 'put', '-', 'daos://tank/c/../other/g'], x, ESCAPES),
    () => refused(['fs', 'mv', 'daos://tank/c/f', 'daos://tank/c/../f2'], o, ESCAPES),
    () => refused(['fs', 'rm', 'daos://tank/c/d/../../other/f'], o, ESCAPES),
    () => refused(['fs', 'copy', '--src', 'daos://tank/c/..', '--dst', out], o, ESCAPES),
    () => refused(['fs', 'copy', '--src', SRC, '--dst', 'daos://tank/c/../other'], o, ESCAPES),
    // Pool and container parts are names, not paths.
    () => refused(['fs', 'ls', 'daos://tank//c'], o, /bad container ''/),
    () => refused(['fs', 'ls', 'daos://../c'], o, /no pool '\.\.'|no container/),
    // These name an existing directory (or escape the root): no entry `.` or `..` is made.
    () => refused(['fs', 'put', '-', 'daos://tank/c/..'], x, ESCAPES),
    () => refused(['fs', 'put', '-', 'daos://tank/c/d/..'], x, /is a directory|already exists/),
    () => refused(['fs', 'mkdir', 'daos://tank/c/d/..'], o, /already exists/),
    () => refused(['fs', 'ln', '-s', 'x', 'daos://tank/c/d/..'], o, /already exists/),
  ]);
  assert.equal(a.stdout, 'in the container\n');
  assert.ok(!fs.existsSync(out));
  // `mv f d/..` moves f into the root, where it already is.
  await cli(['fs', 'mv', 'daos://tank/c/f', 'daos://tank/c/d/..'], o);
  assert.equal(await digest(env, 'tank', 'c'), before, 'container c unchanged');
  assert.equal((await ok(['fs', 'ls', 'daos://tank/other'], o)).stdout, 'f\n', 'container other unchanged');
  const names = (await ok(['fs', 'ls', 'daos://tank/c'], o)).stdout.split('\n').filter(Boolean);
  assert.ok(!names.includes('..') && !names.includes('.'), names.join(' '));
});

test('a refused `fs mkdir -p` through `..` above the root creates nothing', async () => {
  const before = await digest(env, 'tank', 'c');
  await refused(['fs', 'mkdir', '-p', 'daos://tank/c/made-by-refused/../../b'], o, ESCAPES);
  assert.equal(await digest(env, 'tank', 'c'), before, 'container c unchanged');
});
