// Two "nodes" on one PostgreSQL engine, each with its own FUSE mount of the
// same container (two daemons): what one writes and closes the other sees,
// within the cache model of docs/fuse.md (a new name at once, a change to a
// file it has cached within --cache-timeout), and the CLI sees both.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { runCli, tempDir } from '../helpers.js';
import { freshPgDatabase, pgUnavailableReason } from '../pg-server.js';

const skip = pgUnavailableReason() ?? (fs.existsSync('/dev/fuse') && process.getuid?.() === 0 ? undefined : 'needs root and /dev/fuse');
const mounts: string[] = [];
after(() => { for (const m of mounts) { spawnSync('umount', [m], { stdio: 'ignore' }); spawnSync('umount', ['-l', m], { stdio: 'ignore' }); } });

/** Polls fn until it returns true, for at most ms. */
async function soon(what: string, fn: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!fn()) {
    if (Date.now() - t0 > ms) assert.fail(`${what}: not seen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('two mounts of one container on PostgreSQL see each other\'s closed files', { skip, timeout: 120_000 }, async () => {
  const url = await freshPgDatabase();
  const home = tempDir('strata-two-mounts-');
  const env = { STRATA_ENGINE: url, STRATA_HOME: path.join(home, 'unused') };
  const ok = async (args: string[]) => {
    const r = await runCli(args, { env });
    assert.equal(r.code, 0, `strata ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  await ok(['pool', 'create', 'tank']);
  await ok(['container', 'create', 'tank', 'shared']);
  const a = path.join(home, 'node-a');
  const b = path.join(home, 'node-b');
  for (const m of [a, b]) {
    fs.mkdirSync(m);
    await ok(['mount', m, '--pool', 'tank', '--cont', 'shared', '--cache-timeout', '1']);
    mounts.push(m);
  }
  // A new file written and closed on A: B finds it (a name B never looked up), whole.
  const data = crypto.randomBytes(300_000);
  fs.mkdirSync(path.join(a, 'dir'));
  fs.writeFileSync(path.join(a, 'dir', 'from-a'), data);
  assert.ok(fs.readFileSync(path.join(b, 'dir', 'from-a')).equals(data), 'B reads A\'s closed file whole');
  // And the other way, with the CLI as a third client.
  fs.writeFileSync(path.join(b, 'dir', 'from-b'), 'hello from b\n');
  assert.equal(fs.readFileSync(path.join(a, 'dir', 'from-b'), 'utf8'), 'hello from b\n');
  assert.equal(await ok(['fs', 'cat', 'daos://tank/shared/dir/from-b']), 'hello from b\n');
  // A change to a file B has cached: seen within the cache timeout.
  const changed = crypto.randomBytes(200_000);
  fs.writeFileSync(path.join(a, 'dir', 'from-a'), changed);
  await soon('B sees the new content', () => {
    try { return fs.readFileSync(path.join(b, 'dir', 'from-a')).equals(changed); } catch { return false; }
  });
  // Rename and unlink on B are seen on A.
  fs.renameSync(path.join(b, 'dir', 'from-b'), path.join(b, 'dir', 'renamed'));
  await soon('A sees the rename', () => fs.existsSync(path.join(a, 'dir', 'renamed')) && !fs.existsSync(path.join(a, 'dir', 'from-b')));
  fs.unlinkSync(path.join(b, 'dir', 'renamed'));
  await soon('A sees the unlink', () => !fs.existsSync(path.join(a, 'dir', 'renamed')));
  assert.deepEqual(fs.readdirSync(path.join(a, 'dir')).sort(), ['from-a']);
  for (const m of [a, b]) await ok(['umount', m]);
  mounts.length = 0;
  const got = path.join(home, 'got');
  await ok(['fs', 'get', 'daos://tank/shared/dir/from-a', got]);
  assert.ok(fs.readFileSync(got).equals(changed), 'the engine holds the last version');
});
