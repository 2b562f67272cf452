// SIGKILL at every step of `tier archive` (and of restore, park, unpark): after
// re-running the command or `strata tier recover`, the data is complete in
// exactly one place — the directory, or the container behind a link at the
// same path — and the path works.
import { test, after } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ok, makeTree, statList, tierEnv, runUntilPaused, exists, hiddenSiblings, sh } from './util.js';
import { runCli } from '../helpers.js';

const { home, env } = tierEnv('crash');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);
let n = 0;

async function containers(): Promise<number> {
  return (JSON.parse(await ok(env, 'cont', 'list', 'tank', '--json')) as unknown[]).length;
}

/** A fresh tree at ws/<name> and a copy of it aside. */
function fresh(name: string): { dir: string; kept: string } {
  const dir = path.join(ws, name);
  const kept = path.join(home, `kept-${name}`);
  fs.mkdirSync(dir);
  makeTree(dir, { files: 60 });
  sh(`cp -a '${dir}' '${kept}'`);
  return { dir, kept };
}

/** The data is in the directory only: no link, no leftovers, no container. */
async function assertLocalOnly(dir: string, kept: string, conts: number): Promise<void> {
  assert.ok(fs.lstatSync(dir).isDirectory());
  assert.equal(fs.existsSync(dir) && sh(`getfattr -n user.daos '${dir}' 2>/dev/null || true`), '');
  assert.equal(statList(dir), statList(kept));
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await containers(), conts);
}

/** The data is in the container only: dir is a link, content identical, no leftovers. */
async function assertArchivedOnly(dir: string, kept: string, conts: number): Promise<void> {
  const r = JSON.parse(await ok(env, 'uns', 'resolve', dir, '--json')) as { dangling: boolean };
  assert.equal(r.dangling, false);
  const cmp = await runCli(['fs', 'compare', kept, dir, '--xattrs', 'non-lustre'], { env });
  assert.equal(cmp.code, 0, `compare: ${cmp.stdout}${cmp.stderr}`);
  assert.equal(await ok(env, 'fs', 'cat', `${dir}/hello.txt`), 'hello\n');
  assert.deepEqual(hiddenSiblings(dir), []);
  assert.equal(await containers(), conts);
}

async function noJournals(): Promise<void> {
  const r = await runCli(['tier', 'recover'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /nothing to do/);
}

test('setup', async () => {
  await ok(env, 'pool', 'create', 'tank');
});

for (const [step, how, expect] of [
  ['copy', 'rerun', 'archived'],
  ['copy', 'recover', 'local'],
  ['verify', 'recover', 'local'],
  ['verify', 'rerun', 'archived'],
  ['rename', 'rerun', 'archived'],
  ['renamed', 'recover', 'archived'],
  ['renamed', 'rerun', 'archived'],
  ['linked', 'recover', 'archived'],
] as const) {
  test(`archive killed at ${step}, then ${how === 'rerun' ? 'the same command again' : 'tier recover'}: ${expect}`, async () => {
    const { dir, kept } = fresh(`t${n++}-${step}`);
    const before = await containers();
    const p = await runUntilPaused(env, step, ['tier', 'archive', dir, '-j', '2']);
    // While paused, the data is readable somewhere: never gone from both places.
    if (step === 'renamed') {
      assert.equal(exists(dir), false, 'moved aside');
      assert.equal(hiddenSiblings(dir).length, 1);
    } else {
      assert.ok(exists(dir));
    }
    await p.kill();
    // A second run while the journal exists is refused only while the first is alive: it is dead now.
    if (how === 'rerun') {
      const out = await runCli(['tier', 'archive', dir], { env });
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, /continuing the interrupted archive/);
    } else {
      const out = await runCli(['tier', 'recover'], { env });
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stderr, new RegExp(`archive ${dir} \\(step \\w+\\): ${expect === 'local' ? 'rolled back' : 'finished'}`));
    }
    if (expect === 'local') await assertLocalOnly(dir, kept, before);
    else await assertArchivedOnly(dir, kept, before + 1);
    await noJournals();
  });
}

test('a live archive blocks a second one on the same path', async () => {
  const { dir } = fresh(`t${n++}-busy`);
  const p = await runUntilPaused(env, 'verify', ['tier', 'archive', dir]);
  try {
    const r = await runCli(['tier', 'archive', dir], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /strata: .*a tier archive is in progress \(pid \d+/);
    const rec = JSON.parse((await runCli(['tier', 'recover', '--json'], { env })).stdout) as Array<{ outcome: string }>;
    assert.deepEqual(rec.map((x) => x.outcome), ['running']);
  } finally {
    await p.kill();
  }
  await ok(env, 'tier', 'recover', dir);
});

test('restore killed before and after the swap; park and unpark killed', async () => {
  const { dir, kept } = fresh(`t${n++}-restore`);
  await ok(env, 'tier', 'archive', dir);
  const base = await containers();
  // before the link is removed: rolled back, still archived
  let p = await runUntilPaused(env, 'restore-swap', ['tier', 'restore', dir]);
  assert.equal(hiddenSiblings(dir).length, 1, 'the copy being made');
  await p.kill();
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /restore .*: rolled back/);
  await assertArchivedOnly(dir, kept, base);
  // park killed before the record: rolled back, container intact, no files left
  const cold = path.join(home, `cold-${n}`);
  p = await runUntilPaused(env, 'park-record', ['tier', 'park', dir, '--to', cold]);
  await p.kill();
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /park .*: rolled back/);
  assert.deepEqual(fs.readdirSync(cold), []);
  await assertArchivedOnly(dir, kept, base);
  // park killed while its files are read back (the rebuilt copy is registered): rolled back, the copy removed too
  p = await runUntilPaused(env, 'park-readback', ['tier', 'park', dir, '--to', cold]);
  assert.equal(await containers(), base + 1, 'the read-back copy exists');
  await p.kill();
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /park .*: rolled back/);
  assert.deepEqual(fs.readdirSync(cold), []);
  await assertArchivedOnly(dir, kept, base);
  // park killed after the record: finished
  p = await runUntilPaused(env, 'park-destroy', ['tier', 'park', dir, '--to', cold]);
  await p.kill();
  assert.match((await runCli(['tier', 'recover'], { env })).stderr, /park .*: finished/);
  assert.equal(await containers(), base - 1);
  const st = JSON.parse(await ok(env, 'tier', 'status', dir, '--json')) as Array<{ state: string }>;
  assert.equal(st[0]!.state, 'parked');
  // unpark killed before relinking: re-running finishes it
  p = await runUntilPaused(env, 'unpark-relink', ['tier', 'unpark', dir]);
  await p.kill();
  assert.match((await runCli(['tier', 'unpark', dir], { env })).stderr, /continuing the interrupted unpark/);
  await assertArchivedOnly(dir, kept, base);
  // restore killed after the link is gone, before the rename: the path is missing, the copy beside it
  p = await runUntilPaused(env, 'restore-rename', ['tier', 'restore', dir]);
  assert.equal(exists(dir), false);
  assert.equal(hiddenSiblings(dir).length, 1);
  await p.kill();
  const r = await runCli(['tier', 'restore', dir], { env });
  assert.equal(r.code, 0, r.stderr);
  await assertLocalOnly(dir, kept, base - 1);
  await noJournals();
});

test('unpark of a symlink link killed between making the new symlink and renaming it over the old one: re-running finishes it', async () => {
  const { dir, kept } = fresh(`t${n++}-relink`);
  const prefix = path.join(home, 'mnt');
  // The tier's root mounted at the prefix: archive refuses a symlink link that would not resolve.
  fs.mkdirSync(prefix);
  await ok(env, 'mount', prefix);
  after(() => { spawnSync('umount', [prefix]); spawnSync('umount', ['-l', prefix]); });
  await ok(env, 'tier', 'archive', dir, '--link', 'symlink', '--prefix', prefix);
  const base = await containers();
  const cold = path.join(home, `cold-${n}`);
  await ok(env, 'tier', 'park', dir, '--to', cold);
  const parkedTarget = fs.readlinkSync(dir);
  // SIGKILL the unpark at the rename of its temporary symlink: the new link exists beside the old one.
  const hook = `import fs from 'node:fs'; const r = fs.renameSync; fs.renameSync = function (a, b, ...x) { if (String(a).endsWith('.strata-relink')) process.kill(process.pid, 'SIGKILL'); return r.call(fs, a, b, ...x); };`;
  const killed = await runCli(['tier', 'unpark', dir], { env: { ...env, NODE_OPTIONS: `--import=data:text/javascript,${encodeURIComponent(hook)}` } });
  assert.equal(killed.code, -1, `killed at the rename: ${killed.stderr}`);
  assert.equal(fs.readlinkSync(dir), parkedTarget, 'the path still names the parked container');
  assert.deepEqual(hiddenSiblings(dir), [`.${path.basename(dir)}.strata-relink`]);
  assert.match((await runCli(['tier', 'unpark', dir], { env })).stderr, /continuing the interrupted unpark/);
  assert.notEqual(fs.readlinkSync(dir), parkedTarget);
  assert.ok(fs.readlinkSync(dir).startsWith(`${prefix}/`));
  await assertArchivedOnly(dir, kept, base);
  await noJournals();
});

test('archive killed while probing for xattrs: the next archive removes the dead probe', async () => {
  const { dir } = fresh(`t${n++}-probe`);
  // The probe of a process that is gone (a child that has exited), as a SIGKILL during the probe leaves it.
  const dead = Number(sh('sh -c \'echo $$\''));
  const probe = path.join(path.dirname(dir), `.${path.basename(dir)}.strata-probe-${dead}`);
  fs.writeFileSync(probe, '');
  await ok(env, 'tier', 'archive', dir, '--link', 'xattr');
  assert.equal(exists(probe), false);
  assert.deepEqual(hiddenSiblings(dir), []);
});
