// The conventions users bring from coreutils: `-h` is human sizes for `fs du`
// and `fs ls -l` (not help), `ls -l` shows owner names, `strata help A B`
// shows the help of `A B`, and counts agree with their nouns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers.js';
import { humanSize } from '../../src/cli/filesystem.js';

const home = tempDir('strata-cli-conv-');
const env = { STRATA_HOME: path.join(home, 'engine'), STRATA_ENGINE: '', STRATA_CONFIG: path.join(home, 'strata.conf') };
const run = (...args: string[]) => runCli(args, { env });
function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

test('humanSize rounds up as ls -lh does', () => {
  assert.deepEqual([0, 1023, 1024, 1025, 4096, 10239, 10240, 17 * 1024 ** 2 - 1, 1024 ** 3, 1024 ** 2 * 1023.5].map(humanSize),
    ['0', '1023', '1.0K', '1.1K', '4.0K', '10K', '10K', '17M', '1.0G', '1.0G']);
});

test('fs du -h and fs ls -lh print human sizes; ls -l names owners; help A B', async () => {
  ok(await run('pool', 'create', 'cv'));
  ok(await run('cont', 'create', 'cv', 'c'));
  const src = path.join(home, 'f');
  fs.writeFileSync(src, Buffer.alloc(5 * 1024 * 1024 + 1, 1));
  ok(await run('fs', 'put', src, 'daos://cv/c/big'));
  const du = ok(await run('fs', 'du', '-h', 'daos://cv/c/'));
  assert.match(du, /^5\.1M\t5\.1M\t\/\t\(1 file, 1 dir, 0 symlinks; stored, apparent bytes\)\n$/);
  const ls = ok(await run('fs', 'ls', '-lh', 'daos://cv/c/'));
  assert.match(ls, /^-rw-r--r-- +1 root +root +5\.1M .* big\n$/);
  assert.match(ok(await run('fs', 'ls', '-l', 'daos://cv/c/')), / root +root +5242881 /);
  assert.match(ok(await run('fs', 'du', '--help')), /-h, --human-readable/);
  const h = ok(await run('help', 'tier', 'archive'));
  assert.match(h, /^Usage: strata tier archive \[options\] <dir>/);
  assert.doesNotMatch(h, /restore/);
});

test('a read-only command on an engine home that does not exist says so, exit 1, and creates nothing; pool create makes it', async () => {
  const typo = path.join(home, 'typo-home');
  for (const args of [['pool', 'list'], ['engine', 'info'], ['cont', 'list', 'x'], ['pool', 'check']]) {
    const r = await runCli(['--engine', `lmdb:${typo}`, ...args], { env });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `strata: engine home ${typo} does not exist: 'strata pool create' makes one; --engine, STRATA_ENGINE or STRATA_HOME name another\n`);
    assert.equal(fs.existsSync(typo), false, `${args.join(' ')} made no home`);
  }
  ok(await runCli(['--engine', `lmdb:${typo}`, 'pool', 'create', 'first'], { env }));
  assert.match(ok(await runCli(['--engine', `lmdb:${typo}`, 'pool', 'list'], { env })), /first/);
});
