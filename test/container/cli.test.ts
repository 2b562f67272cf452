// End-to-end: the real `strata pool` / `strata container` commands.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli, tempDir, type CliResult } from '../helpers.js';

const home = tempDir('strata-cont-cli-');
const env = { STRATA_HOME: path.join(home, 'engine') };
const run = (...args: string[]) => runCli(args, { env });

function ok(r: CliResult): string {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}
/** A failure: non-zero exit, one line "strata: ..." matching re, nothing on stdout. */
function fails(r: CliResult, re: RegExp): void {
  assert.notEqual(r.code, 0, `expected failure, got: ${r.stdout}`);
  assert.match(r.stderr, /^strata: .+\n$/, r.stderr);
  assert.match(r.stderr, re);
  assert.equal(r.stdout, '');
}
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/;

test('help everywhere', async () => {
  assert.match(ok(await run('pool', '--help')), /create.*\n[\s\S]*destroy/);
  assert.match(ok(await run('container', '--help')), /create-snap/);
  assert.match(ok(await run('cont', 'create', '--help')), /--chunk-size/);
  assert.match(ok(await run('cont', 'destroy-snap', '--help')), /--epcrange/);
});

test('pool create/list/query/destroy and bad input', async () => {
  const uuid = ok(await run('pool', 'create', 'cp1'));
  assert.match(uuid, UUID);
  fails(await run('pool', 'create', 'cp1'), /pool labelled 'cp1' already exists/);
  fails(await run('pool', 'create', 'bad/label'), /bad pool label/);
  fails(await run('pool', 'create', uuid.trim()), /cannot look like a UUID/);
  fails(await run('pool', 'create', 'cpx', '--properties', 'nosuch:1'), /unknown pool property 'nosuch'/);
  const list = JSON.parse(ok(await run('pool', 'list', '--json'))) as Array<{ label: string; uuid: string }>;
  assert.deepEqual(list.map((p) => p.label), ['cp1']);
  assert.match(ok(await run('pool', 'list')), /cp1\s+[0-9a-f-]{36}/);
  const q = JSON.parse(ok(await run('pool', 'query', uuid.trim(), '--json'))) as { label: string; containers: number; engine: { usage: { totalBytes: number } } };
  assert.equal(q.label, 'cp1');
  assert.equal(q.containers, 0);
  assert.ok(q.engine.usage.totalBytes > 0);
  assert.match(ok(await run('pool', 'query', 'cp1')), /Containers: 0/);
  fails(await run('pool', 'query', 'nopool'), /no pool 'nopool'/);
  fails(await run('pool', 'query', '12345678-1234-1234-1234-12345678901'), /bad pool UUID/);
  assert.match(ok(await run('pool', 'get-acl', 'cp1')), /A::OWNER@:rw\nA:G:GROUP@:rw\nA::EVERYONE@:r\n/);
  assert.match(ok(await run('pool', 'update-acl', 'cp1', '--entry', 'A::alice@:r')), /A::alice@:r/);
  fails(await run('pool', 'update-acl', 'cp1', '--entry', 'A::alice@:q'), /bad ACL entry/);
  ok(await run('pool', 'set-prop', 'cp1', 'reclaim:time'));
  assert.match(ok(await run('pool', 'get-prop', 'cp1')), /reclaim\s+time/);
  // non-empty pool
  ok(await run('container', 'create', 'cp1', 'c1'));
  fails(await run('pool', 'destroy', 'cp1'), /still holds 1 container; .*--recursive/);
  assert.equal(JSON.parse(ok(await run('cont', 'list', 'cp1', '--json'))).length, 1, 'nothing changed');
  ok(await run('pool', 'destroy', 'cp1', '--recursive'));
  fails(await run('pool', 'query', 'cp1'), /no pool/);
  assert.match(ok(await run('pool', 'list')), /no pools/);
});

test('container create/list/query/props/acl/attrs/snapshots/destroy', async () => {
  ok(await run('pool', 'create', 'cp2'));
  const aclFile = path.join(home, 'acl.txt');
  fs.writeFileSync(aclFile, '# container ACL\nA::OWNER@:rwdtTaAo\n\nA:G:GROUP@:rwtT  # group\nA::EVERYONE@:r\n');
  const uuid = ok(await run('container', 'create', 'cp2', 'c1', '--type', 'hdf5', '--chunk-size', '512K', '--oclass', 'S2',
    '--properties', 'cksum:crc64,rd_fac:1', '--acl-file', aclFile, '--attrs', 'project:x,owner:y')).trim();
  assert.match(uuid + '\n', UUID);
  ok(await run('cont', 'create', 'cp2', 'c2'));
  fails(await run('cont', 'create', 'cp2', 'c1'), /container labelled 'c1' already exists in pool cp2/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--type', 'ext4'), /unknown container type 'ext4'/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--chunk-size', '0'), /chunk_size/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--chunk-size', '3'), /bad value '3' for property chunk_size \(must be 4 KiB \.\. 1 GiB\)/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--chunk-size', '4095'), /must be 4 KiB/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--chunk-size', 'lots'), /bad value for property chunk_size 'lots'|bad .*'lots'/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--oclass', 'Q7'), /unknown object class 'Q7'/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--properties', 'color:red'), /unknown container property 'color'/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--properties', 'cksum:md5'), /bad value 'md5' for property cksum/);
  fails(await run('cont', 'create', 'nopool', 'c3'), /no pool 'nopool'/);
  fs.writeFileSync(path.join(home, 'bad.acl'), 'A::OWNER@:rwdtTaAo\nA::bob:rw\n');
  fails(await run('cont', 'create', 'cp2', 'c3', '--acl-file', path.join(home, 'bad.acl')), /bad ACL entry 'A::bob:rw'/);
  fails(await run('cont', 'create', 'cp2', 'c3', '--acl-file', path.join(home, 'missing.acl')), /cannot read ACL file/);
  const list = JSON.parse(ok(await run('cont', 'list', 'cp2', '--json'))) as Array<{ label: string; type: string }>;
  assert.deepEqual(list.map((c) => [c.label, c.type]), [['c1', 'HDF5'], ['c2', 'POSIX']], 'failed creates left nothing');

  const q = JSON.parse(ok(await run('cont', 'query', 'cp2', uuid, '--json'))) as { label: string; chunkSize: number; oclass: string; type: string };
  assert.deepEqual([q.label, q.chunkSize, q.oclass, q.type], ['c1', 524288, 'S2', 'HDF5']);
  assert.match(ok(await run('cont', 'query', 'cp2', 'c1')), /Chunk Size\s+: 512 KiB/);
  fails(await run('cont', 'query', 'cp2', 'nope'), /no container 'nope' in pool cp2/);
  fails(await run('cont', 'query', 'cp2', '0c645981-805d-4837-b907-188d8c06e0d'), /bad container UUID/);

  // properties
  const props = JSON.parse(ok(await run('cont', 'get-prop', 'cp2', 'c1', '--json'))) as Array<{ name: string; value: unknown }>;
  const pv = Object.fromEntries(props.map((p) => [p.name, p.value]));
  assert.equal(pv['chunk_size'], 524288);
  assert.equal(pv['layout_type'], 'HDF5');
  assert.equal(pv['cksum'], 'crc64');
  assert.equal(pv['rd_fac'], 1);
  assert.match(String(pv['owner']), /@$/);
  assert.match(ok(await run('cont', 'get-prop', 'cp2', 'c1')), /chunk_size\s+512 KiB/);
  ok(await run('cont', 'set-prop', 'cp2', 'c1', 'label:c1b,status:healthy'));
  fails(await run('cont', 'set-prop', 'cp2', 'c1b', 'label:c2'), /'c2' already exists/);
  fails(await run('cont', 'set-prop', 'cp2', 'c1b', 'chunk_size:2M'), /chunk_size can only be set when the container is created/);
  fails(await run('cont', 'set-prop', 'cp2', 'c1b', 'nonsense:1'), /unknown container property 'nonsense'/);
  fails(await run('cont', 'set-prop', 'cp2', 'c1b', 'status:great'), /bad value 'great' for property status/);
  ok(await run('cont', 'set-prop', 'cp2', 'c1b', 'label:c1'));

  // ACL
  assert.equal(ok(await run('cont', 'get-acl', 'cp2', 'c1')).split('\n').filter((l) => l && !l.startsWith('#')).join(','),
    'A::OWNER@:rwdtTaAo,A:G:GROUP@:rwtT,A::EVERYONE@:r');
  assert.match(ok(await run('cont', 'update-acl', 'cp2', 'c1', '--entry', 'A::alice@:rw')), /A::alice@:rw/);
  fails(await run('cont', 'update-acl', 'cp2', 'c1', '--entry', 'A::alice@:rwz'), /unknown container permission 'z'/);
  fails(await run('cont', 'update-acl', 'cp2', 'c1'), /exactly one of --entry or --acl-file/);
  assert.doesNotMatch(ok(await run('cont', 'delete-acl', 'cp2', 'c1', '--principal', 'u:alice@')), /alice/);
  fails(await run('cont', 'delete-acl', 'cp2', 'c1', '--principal', 'u:alice@'), /no ACL entry for principal/);
  const acl = JSON.parse(ok(await run('cont', 'overwrite-acl', 'cp2', 'c1', '--acl-file', aclFile) && await run('cont', 'get-acl', 'cp2', 'c1', '--json'))) as { entries: string[] };
  assert.deepEqual(acl.entries, ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:rwtT', 'A::EVERYONE@:r']);

  // attributes
  assert.equal(ok(await run('cont', 'get-attr', 'cp2', 'c1', 'project')), 'x\n');
  ok(await run('cont', 'set-attr', 'cp2', 'c1', 'greeting', 'hello: world, ok'));
  assert.equal(ok(await run('cont', 'get-attr', 'cp2', 'c1', 'greeting')), 'hello: world, ok\n');
  assert.deepEqual(JSON.parse(ok(await run('cont', 'get-attr', 'cp2', 'c1', 'greeting', '--json'))).base64, Buffer.from('hello: world, ok').toString('base64'));
  assert.equal(ok(await run('cont', 'list-attrs', 'cp2', 'c1')), 'greeting\nowner\nproject\n');
  assert.deepEqual(JSON.parse(ok(await run('cont', 'list-attrs', 'cp2', 'c1', '--json'))), ['greeting', 'owner', 'project']);
  ok(await run('cont', 'del-attr', 'cp2', 'c1', 'owner'));
  fails(await run('cont', 'get-attr', 'cp2', 'c1', 'owner'), /no attribute 'owner'/);

  // snapshots
  const e1 = Number(ok(await run('cont', 'create-snap', 'cp2', 'c1', '--snap', 'one')));
  const e2 = Number(ok(await run('cont', 'create-snap', 'cp2', 'c1')));
  const e3 = Number(ok(await run('cont', 'create-snap', 'cp2', 'c1', '--snap', 'three')));
  const e4 = Number(ok(await run('cont', 'create-snap', 'cp2', 'c1', '--snap', 'four')));
  assert.ok(e1 > 0 && e1 < e2 && e2 < e3 && e3 < e4);
  fails(await run('cont', 'create-snap', 'cp2', 'c1', '--snap', 'one'), /already has a snapshot named 'one'/);
  const snaps = JSON.parse(ok(await run('cont', 'list-snaps', 'cp2', 'c1', '--json'))) as Array<{ epoch: number; name?: string }>;
  assert.deepEqual(snaps.map((s) => s.epoch), [e1, e2, e3, e4]);
  assert.match(ok(await run('cont', 'list-snaps', 'cp2', 'c1')), new RegExp(`${e1}\\s+one`));
  ok(await run('cont', 'destroy-snap', 'cp2', 'c1', '--snap', 'one'));
  ok(await run('cont', 'destroy-snap', 'cp2', 'c1', '--epc', String(e2)));
  fails(await run('cont', 'destroy-snap', 'cp2', 'c1', '--epc', String(e2)), /no snapshot at epoch/);
  fails(await run('cont', 'destroy-snap', 'cp2', 'c1', '--snap', 'one'), /no snapshot named 'one'/);
  fails(await run('cont', 'destroy-snap', 'cp2', 'c1'), /exactly one of --snap/);
  fails(await run('cont', 'destroy-snap', 'cp2', 'c1', '--epcrange', 'x-y'), /bad epoch range/);
  assert.match(ok(await run('cont', 'destroy-snap', 'cp2', 'c1', '--epcrange', `${e3}-${e4}`)), new RegExp(`${e3}, ${e4}`));
  assert.match(ok(await run('cont', 'list-snaps', 'cp2', 'c1')), /no snapshots/);
  assert.equal(JSON.parse(ok(await run('cont', 'query', 'cp2', 'c1', '--json'))).snapshots, 0);

  // destroy
  ok(await run('cont', 'destroy', 'cp2', 'c1'));
  ok(await run('cont', 'destroy', 'cp2', 'c2', '--force'));
  fails(await run('cont', 'destroy', 'cp2', 'c1'), /no container 'c1'/);
  assert.match(ok(await run('cont', 'list', 'cp2')), /no containers/);
  ok(await run('pool', 'destroy', 'cp2'));
});
