import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, runCli, tempDir } from '../helpers.js';

const home = tempDir('strata-fs-cli-');
const env = { STRATA_HOME: home, STRATA_ENGINE: '' };
const run = (args: string[], input?: string | Buffer) => runCli(args, { env, input });
const U = 'daos://tank/fsc';

async function ok(args: string[], input?: string | Buffer): Promise<string> {
  const r = await run(args, input);
  assert.equal(r.code, 0, `strata ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
async function fails(args: string[], code: string): Promise<string> {
  const r = await run(args);
  assert.notEqual(r.code, 0, `strata ${args.join(' ')} should fail`);
  assert.match(r.stderr, /^strata: /);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
  void code;
  return r.stderr;
}

test('fs CLI end to end', async () => {
  await ok(['pool', 'create', 'tank']);
  await ok(['container', 'create', 'tank', 'fsc', '--type', 'POSIX', '--chunk-size', '64K']);
  await ok(['container', 'create', 'tank', 'h5', '--type', 'HDF5']);
  const local = path.join(home, 'in.bin');
  const content = Buffer.alloc(300 * 1024);
  for (let i = 0; i < content.length; i++) content[i] = (i * 7) & 0xff;
  content.fill(0, 64 * 1024, 192 * 1024); // two zero chunks -> holes
  fs.writeFileSync(local, content);

  await ok(['fs', 'mkdir', '-p', `${U}/a/b`]);
  await ok(['fs', 'put', local, `${U}/a/b/data.bin`]);
  await ok(['fs', 'put', '-', `${U}/a/hello.txt`], 'hello\n');
  assert.equal(await ok(['fs', 'cat', `${U}/a/hello.txt`]), 'hello\n');
  assert.equal(await ok(['fs', 'ls', `${U}/a`]), 'b\nhello.txt\n');
  const ll = await ok(['fs', 'ls', '-l', `${U}/a`]);
  assert.match(ll, /^d[rwx-]{9} .* b$/m);
  assert.match(ll, /^-[rwx-]{9} +1 .* 6 .* hello\.txt$/m);
  const rec = await ok(['fs', 'ls', '-R', `${U}/`]);
  assert.match(rec, /\/a\/b:\ndata\.bin/);
  const st = JSON.parse(await ok(['fs', 'stat', '--json', `${U}/a/b/data.bin`]));
  assert.equal(st.type, 'file');
  assert.equal(st.size, content.length);
  assert.equal(st.chunkSize, 65536);
  const du = JSON.parse(await ok(['fs', 'du', '--json', `${U}/a`]));
  assert.equal(du.apparentBytes, content.length + 6);
  assert.equal(du.storedBytes, content.length - 128 * 1024 + 6);

  const out = path.join(home, 'out.bin');
  await ok(['fs', 'get', `${U}/a/b/data.bin`, out]);
  assert.ok(fs.readFileSync(out).equals(content));
  const blocks = fs.statSync(out).blocks * 512;
  assert.ok(blocks < content.length, `local copy keeps holes (${blocks} bytes allocated)`);
  const viaStdout = await runCli(['fs', 'get', `${U}/a/hello.txt`, '-'], { env });
  assert.equal(viaStdout.stdout, 'hello\n');

  await ok(['fs', 'setfattr', `${U}/a/hello.txt`, 'user.color', 'blue']);
  assert.equal(await ok(['fs', 'getfattr', `${U}/a/hello.txt`, 'user.color']), 'blue\n');
  assert.equal(await ok(['fs', 'getfattr', `${U}/a/hello.txt`]), 'user.color="blue"\n');

  await ok(['fs', 'ln', '-s', 'hello.txt', `${U}/a/link`]);
  assert.equal(await ok(['fs', 'cat', `${U}/a/link`]), 'hello\n');
  await ok(['fs', 'ln', `${U}/a/hello.txt`, `${U}/a/hard`]);
  assert.equal(JSON.parse(await ok(['fs', 'stat', '--json', `${U}/a/hard`])).nlink, 2);
  await ok(['fs', 'mv', `${U}/a/hello.txt`, `${U}/a/b/`]);
  assert.equal(await ok(['fs', 'cat', `${U}/a/b/hello.txt`]), 'hello\n');

  // snapshot view
  const epoch = (await ok(['container', 'create-snap', 'tank', 'fsc', '--snap', 's1'])).trim();
  await ok(['fs', 'put', '-', `${U}/a/b/hello.txt`], 'changed\n');
  await ok(['fs', 'rm', '-r', `${U}/a/b`]);
  assert.equal(await ok(['fs', 'cat', '--snap', 's1', `${U}/a/b/hello.txt`]), 'hello\n');
  assert.equal(await ok(['fs', 'cat', '--epc', epoch, `${U}/a/b/hello.txt`]), 'hello\n');
  assert.equal(await ok(['fs', 'ls', '--snap', 's1', `${U}/a/b`]), 'data.bin\nhello.txt\n');
  assert.equal(await ok(['fs', 'ls', `${U}/a`]), 'hard\nlink\n');
  const e1 = await fails(['fs', 'mkdir', '--snap', 's1', `${U}/x`], 'EROFS');
  assert.match(e1, /read-only/);

  // errors: one clear line, nothing changed
  assert.match(await fails(['fs', 'cat', `${U}/nope`], 'ENOENT'), /no such file/);
  assert.match(await fails(['fs', 'mkdir', `${U}/a`], 'EEXIST'), /exists/);
  await ok(['fs', 'mkdir', `${U}/full`]);
  await ok(['fs', 'put', '-', `${U}/full/f`], 'x');
  assert.match(await fails(['fs', 'rm', `${U}/full`], 'ENOTEMPTY'), /not empty/);
  assert.match(await fails(['fs', 'put', '-', `${U}/full/f/g`], 'ENOTDIR'), /not a directory/);
  assert.match(await fails(['fs', 'ls', `${U}/../etc`], 'EINVAL'), /escapes/);
  assert.match(await fails(['fs', 'mkdir', `${U}/${'n'.repeat(256)}`], 'ENAMETOOLONG'), /longer than 255/);
  assert.match(await fails(['fs', 'ls', 'daos://tank/h5/'], 'EINVAL'), /not POSIX/);
  assert.match(await fails(['fs', 'ls', 'daos://tank/nocont/'], 'ENOENT'), /nocont/);
  assert.equal(await ok(['fs', 'ls', `${U}/`]), 'a\nfull\n');
});

test('a reader that goes away (fs ls | head) ends the command quietly, as ls does', async () => {
  await ok(['pool', 'create', 'pipes']);
  const local = path.join(home, 'many/d');
  fs.mkdirSync(local, { recursive: true });
  // More names than a pipe buffer (64 KiB) holds: the listing cannot finish before head exits.
  for (let i = 0; i < 5000; i++) fs.writeFileSync(path.join(local, `entry-with-a-long-name-${i}`), '');
  await ok(['fs', 'copy', '--src', path.join(home, 'many'), '--dst', 'daos://pipes/c', '-q']);
  for (const args of [['fs', 'ls', 'daos://pipes/c/d'], ['fs', 'ls', '-R', 'daos://pipes/c'], ['fs', 'ls', '-l', 'daos://pipes/c/d']]) {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI}" ${args.join(' ')} | head -c 10 >/dev/null; echo "\${PIPESTATUS[0]}" >&2`], { env: { ...process.env, ...env }, encoding: 'utf8' });
    assert.equal(r.stderr.trim(), '141', `strata ${args.join(' ')}: only the status of a program stopped by SIGPIPE, no stack: ${r.stderr}`);
  }
});

test('fs get of a file another client replaces meanwhile: one clear error, never zeros, nothing half-written', async () => {
  await ok(['pool', 'create', 'race']);
  await ok(['container', 'create', 'race', 'c', '--type', 'POSIX']);
  const a = path.join(home, 'race-a');
  const b = path.join(home, 'race-b');
  fs.writeFileSync(a, Buffer.alloc(48 << 20, 0x41));
  fs.writeFileSync(b, Buffer.alloc(48 << 20, 0x42));
  await ok(['fs', 'put', a, 'daos://race/c/f']);
  // In the child: after its second read of engine data, say so and wait until the file was replaced.
  const waiting = path.join(home, 'race-waiting');
  const go = path.join(home, 'race-go');
  const hook = `
import fs from 'node:fs';
const read = fs.read; let n = 0;
fs.read = function (...args) {
  if (++n === 2) {
    fs.writeFileSync(${JSON.stringify(waiting)}, '');
    const t0 = Date.now();
    while (!fs.existsSync(${JSON.stringify(go)}) && Date.now() - t0 < 20000) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return read.apply(this, args);
};`;
  const out = path.join(home, 'race-out');
  const getting = runCli(['fs', 'get', 'daos://race/c/f', out], { env: { ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(hook)}` } });
  for (const t0 = Date.now(); !fs.existsSync(waiting); await new Promise((r) => setTimeout(r, 20))) {
    assert.ok(Date.now() - t0 < 20000, 'the reader reached its second read');
  }
  await ok(['fs', 'rm', 'daos://race/c/f']);
  await ok(['fs', 'put', b, 'daos://race/c/f']);
  fs.writeFileSync(go, '');
  const r = await getting;
  assert.equal(r.code, 1, `the reader notices: ${r.stderr}`);
  assert.match(r.stderr, /^strata: .*removed or replaced while being read/);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.deepEqual(fs.readdirSync(home).filter((n) => n.includes('race-out')), [], 'no partial file, no temporary file');
  // The next reader gets the new version whole.
  await ok(['fs', 'get', 'daos://race/c/f', out]);
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(b)));
});
