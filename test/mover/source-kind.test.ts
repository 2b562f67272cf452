// What `fs copy` can make of a source that is not a directory when the
// destination names a container that does not exist: a container's root is
// a directory, so a FIFO, socket, device, symlink or regular file cannot
// become it. Such a copy is refused in one line that names the source and
// what it is, before anything is made: no container is left behind. Into a
// path of a new container the special file is made as `cp -a` makes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers.js';
import { moverEnv, ok } from './util.js';

const { home, env } = moverEnv();
const noDevice = process.getuid?.() !== 0 ? 'needs root to make a device' : false;

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

async function containers(): Promise<string[]> {
  return (JSON.parse((await ok(env, ['container', 'list', 'tank', '--json'])).stdout) as Array<{ label: string }>).map((c) => c.label);
}

/** Copies src to daos://tank/<label> (a container that does not exist): refused in one line matching what, nothing created. */
async function refused(src: string, label: string, what: RegExp): Promise<void> {
  const r = await runCli(['fs', 'copy', '--src', src, '--dst', `daos://tank/${label}`], { env });
  assert.equal(r.code, 1, `exit status (stderr: ${r.stderr})`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `one line: ${r.stderr}`);
  assert.match(lines[0]!, /^strata: /);
  assert.ok(!(await containers()).includes(label), `no container ${label} is left behind: ${lines[0]}`);
  assert.ok(lines[0]!.includes(src), `names the source: ${lines[0]}`);
  assert.match(lines[0]!, what);
}

const src = path.join(home, 'src');
let made: Promise<void> | undefined;
function setup(): Promise<void> {
  return made ??= (async () => {
    fs.mkdirSync(src, { recursive: true });
    run('mkfifo', [path.join(src, 'fifo')]);
    run('/usr/bin/python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', path.join(src, 'sock')]);
    fs.writeFileSync(path.join(src, 'file'), 'data\n');
    fs.symlinkSync('file', path.join(src, 'link'));
    if (!noDevice) run('mknod', ['-m', '0600', path.join(src, 'null'), 'c', '1', '3']);
    await ok(env, ['pool', 'create', 'tank']);
  })();
}

test('a FIFO as the source of a copy to a container that does not exist: refused, naming it, no container made', async () => {
  await setup();
  await refused(path.join(src, 'fifo'), 'x-fifo', /\bFIFO\b/);
});

test('a socket as the source of a copy to a container that does not exist: refused, naming it, no container made', async () => {
  await setup();
  await refused(path.join(src, 'sock'), 'x-sock', /\bsocket\b/);
});

test('a device as the source of a copy to a container that does not exist: refused, naming it, no container made', { skip: noDevice }, async () => {
  await setup();
  await refused(path.join(src, 'null'), 'x-dev', /\bcharacter device\b/);
});

test('a regular file or a symlink as the source of a copy to a container that does not exist: refused, no container made', async () => {
  await setup();
  await refused(path.join(src, 'file'), 'x-file', /\bregular file\b/);
  await refused(path.join(src, 'link'), 'x-link', /\bsymbolic link\b/);
});

test('a source that does not exist: refused, no container made', async () => {
  await setup();
  await refused(path.join(src, 'missing'), 'x-missing', /no such file or directory/);
});

test('a FIFO copied to a path in a container that does not exist: the container is made with the FIFO in it, as cp -a makes it', async () => {
  await setup();
  await ok(env, ['fs', 'copy', '--src', path.join(src, 'fifo'), '--dst', 'daos://tank/y/fifo']);
  assert.ok((await containers()).includes('y'));
  assert.match((await ok(env, ['fs', 'ls', '-l', 'daos://tank/y'])).stdout, /^p.* fifo$/m);
});

test("a FIFO in a container as the source of a copy to a container that does not exist: refused, no container made, the source's run snapshot gone", async () => {
  await setup();
  await ok(env, ['container', 'create', 'tank', 'holder']);
  await ok(env, ['fs', 'copy', '--src', path.join(src, 'fifo'), '--dst', 'daos://tank/holder']);
  await refused('daos://tank/holder/fifo', 'x-from-container', /\bFIFO\b/);
  assert.equal((await ok(env, ['container', 'list-snaps', 'tank', 'holder', '--json'])).stdout.trim(), '[]', 'the snapshot the copy took of its source is gone');
});
