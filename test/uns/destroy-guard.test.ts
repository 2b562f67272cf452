// Destroying a container that a UNS link still names strands what users reach
// through that path (after `tier archive`, the only copy of a directory):
// container destroy, destroy --path, pool destroy --recursive and unlink of a
// parked link refuse, naming the links, unless --force; --force names what
// then leads nowhere. Links that are gone no longer count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setAttributeSync } from '@napi-rs/xattr';
import { runCli, type CliResult } from '../helpers.js';
import { ok, refused as refusedLine, unsHome } from './util.js';
import { makeTree } from '../tier/util.js';

const { home, env, run } = unsHome('strata-uns-guard-');
const ws = path.join(home, 'ws');
fs.mkdirSync(ws);

function refused(r: CliResult, re: RegExp): void {
  refusedLine(r, re);
  assert.equal(r.stdout, '');
}
const labels = async (pool: string) => (JSON.parse(ok(await run('cont', 'list', pool, '--json'))) as Array<{ label: string }>).map((c) => c.label).sort();

test('container destroy refuses while a link names the container; a removed link no longer counts; --force names the stranded link', async () => {
  ok(await run('pool', 'create', 'g1'));
  const a = path.join(ws, 'a');
  ok(await run('cont', 'create', 'g1', 'ca', '--path', a));
  ok(await runCli(['fs', 'put', '-', `${a}/f`], { env, input: 'data\n' }));
  refused(await run('cont', 'destroy', 'g1', 'ca'), new RegExp(`container ca is still reached through ${a} \\(xattr link\\).*--force`));
  assert.deepEqual(await labels('g1'), ['ca']);
  assert.equal(ok(await run('fs', 'cat', `${a}/f`)), 'data\n');

  // A second link to the same container: destroy --path of one refuses because of the other.
  const a2 = path.join(ws, 'a2');
  ok(await run('cont', 'link', 'g1', 'ca', '--path', a2));
  refused(await run('cont', 'destroy', '--path', a), new RegExp(`reached through ${a2} `));
  assert.ok(fs.existsSync(a), 'the link destroy --path was given stays when it refuses');
  assert.match(ok(await run('cont', 'unlink', '--path', a2)), /container [0-9a-f-]{36} kept/);
  // Now only `a` names it: destroy --path removes both.
  assert.match(ok(await run('cont', 'destroy', '--path', a)), /destroyed, link .* removed/);
  assert.deepEqual(await labels('g1'), []);

  // A link removed by hand (rm -rf) is not a reason to refuse.
  const b = path.join(ws, 'b');
  ok(await run('cont', 'create', 'g1', 'cb', '--path', b));
  fs.rmSync(b, { recursive: true });
  ok(await run('cont', 'destroy', 'g1', 'cb'));

  // A link replaced by a plain directory of the same name does not count either.
  const c = path.join(ws, 'c');
  ok(await run('cont', 'create', 'g1', 'cc', '--path', c));
  fs.rmSync(c, { recursive: true });
  fs.mkdirSync(c);
  ok(await run('cont', 'destroy', 'g1', 'cc'));

  // --force destroys and names what now leads nowhere.
  const d = path.join(ws, 'd');
  ok(await run('cont', 'create', 'g1', 'cd', '--path', d));
  const r = await run('cont', 'destroy', 'g1', 'cd', '--force');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, `strata: warning: ${d} (xattr link) now names a destroyed container\n`);
  assert.deepEqual(await labels('g1'), []);
});

test('pool destroy --recursive refuses before destroying anything while a link names one of its containers', async () => {
  ok(await run('pool', 'create', 'g2'));
  ok(await run('cont', 'create', 'g2', 'plain'));
  const l = path.join(ws, 'g2link');
  ok(await run('cont', 'create', 'g2', 'linked', '--path', l));
  refused(await run('pool', 'destroy', 'g2', '--recursive'), new RegExp(`container linked of pool g2 is still reached through ${l} `));
  assert.deepEqual(await labels('g2'), ['linked', 'plain'], 'nothing destroyed');
  const r = await run('pool', 'destroy', 'g2', '--force');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, new RegExp(`warning: ${l} \\(xattr link\\) now names a destroyed container`));
});

test('a link made by hand is adopted by uns scan and then protects its container', async () => {
  ok(await run('pool', 'create', 'g3'));
  const pool = JSON.parse(ok(await run('pool', 'query', 'g3', '--json'))) as { uuid: string };
  const uuid = ok(await run('cont', 'create', 'g3', 'byhand')).trim();
  const h = path.join(ws, 'byhand');
  fs.mkdirSync(h);
  setAttributeSync(h, 'user.daos', Buffer.from(`DAOS.POSIX://${pool.uuid}/${uuid}\0`));
  ok(await run('uns', 'scan', ws));
  refused(await run('cont', 'destroy', 'g3', 'byhand'), new RegExp(`reached through ${h} `));
});

test('tier: the archive link protects the only copy; a parked link is not dangling and unlink refuses without --force', async () => {
  ok(await run('pool', 'create', 'lab'));
  const proj = path.join(ws, 'old-project');
  fs.mkdirSync(proj);
  makeTree(proj, { files: 3 });
  ok(await run('tier', 'archive', proj, '--pool', 'lab'));
  const st = JSON.parse(ok(await run('tier', 'status', proj, '--json'))) as { contUuid: string } | Array<{ contUuid: string }>;
  const contUuid = (Array.isArray(st) ? st[0]! : st).contUuid;
  refused(await run('cont', 'destroy', 'lab', contUuid), new RegExp(`still reached through ${proj} \\(xattr link\\)`));
  refused(await run('pool', 'destroy', 'lab', '--recursive'), new RegExp(`still reached through ${proj} `));
  assert.match(ok(await run('fs', 'ls', proj)), /^dir$/m, 'the archived data is still reached through its link');

  const cold = path.join(home, 'cold');
  ok(await run('tier', 'park', proj, '--to', cold));
  const res = JSON.parse(ok(await run('uns', 'resolve', proj, '--json'))) as { dangling: boolean; away?: string };
  assert.equal(res.dangling, false);
  assert.match(res.away ?? '', /parked in/);
  refused(await run('cont', 'destroy', '--path', proj), /is parked \(parked in .*\); nothing destroyed: bring it back with 'strata tier unpark/);
  assert.doesNotMatch((await run('cont', 'destroy', '--path', proj)).stderr, /dangling/);
  refused(await run('cont', 'unlink', '--path', proj), /link to parked container .*tier unpark .*--force/);
  assert.ok(fs.existsSync(proj), 'the parked link stays');
  ok(await run('tier', 'unpark', proj));
  // After unpark the link protects the rebuilt container again.
  const st2 = JSON.parse(ok(await run('tier', 'status', proj, '--json'))) as { contUuid: string } | Array<{ contUuid: string }>;
  refused(await run('cont', 'destroy', 'lab', (Array.isArray(st2) ? st2[0]! : st2).contUuid), new RegExp(`still reached through ${proj} `));
  // Forced unlink of a parked link says the data stays parked with nothing pointing at it.
  ok(await run('tier', 'park', proj, '--to', path.join(home, 'cold2')));
  assert.match(ok(await run('cont', 'unlink', '--path', proj, '--force')), /stays parked \(parked in .*\); nothing links to it now/);
});

test('every --json listing is one JSON document; --json-lines gives one object a line', async () => {
  ok(await run('pool', 'create', 'jl'));
  const j = path.join(ws, 'jsondoc');
  ok(await run('cont', 'create', 'jl', 'jc', '--path', j));
  ok(await run('fs', 'mkdir', '-p', `${j}/a/b`));
  ok(await runCli(['fs', 'put', '-', `${j}/a/f`], { env, input: 'x' }));
  const ls = JSON.parse(ok(await run('fs', 'ls', '-R', '--json', j))) as Array<{ path: string }>;
  assert.deepEqual(ls.map((e) => e.path).sort(), ['/a', '/a/b', '/a/f']);
  assert.deepEqual(JSON.parse(ok(await run('fs', 'ls', '--json', `${j}/a/b`))), []);
  assert.equal((JSON.parse(ok(await run('fs', 'ls', '--json', `${j}/a/f`))) as unknown[]).length, 1);
  const lines = ok(await run('fs', 'ls', '-R', '--json-lines', j)).trim().split('\n').map((l) => JSON.parse(l) as { path: string });
  assert.equal(lines.length, 3);
  const scan = JSON.parse(ok(await run('uns', 'scan', ws, '--json'))) as Array<{ path: string }>;
  assert.ok(scan.some((s) => s.path === j));
  assert.ok(Array.isArray(JSON.parse(ok(await run('uns', 'scan', ws, '--orphans', 'jl', '--json')))));
});
