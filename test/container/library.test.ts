// The pool & container library against a real (temporary) engine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tempEngine } from '../helpers.js';
import type { Engine } from '../../src/engine/types.js';
import { isStrataError, type ErrorCode } from '../../src/errors.js';
import * as C from '../../src/container/index.js';
import { OTYPE } from '../../src/object/oid.js';

let engine: Engine;
before(async () => { engine = (await tempEngine()).engine; });
after(async () => { await engine.close(); });

const is = (code: ErrorCode, re?: RegExp) => (e: unknown) => isStrataError(e, code) && (!re || re.test((e as Error).message));
const owner = C.currentCaller();
const stranger: C.Caller = { uid: 54321, gids: [54321], user: 'stranger', groups: ['strangers'] };

test('pools: create, resolve by label or UUID, list, query, unique labels', async () => {
  const p = await C.createPool(engine, 'lib-p1');
  assert.match(p.uuid, /^[0-9a-f-]{36}$/);
  assert.equal(p.props['owner'], `${owner.user}@`);
  assert.deepEqual(p.acl, ['A::OWNER@:rw', 'A:G:GROUP@:rw', 'A::EVERYONE@:r']);
  assert.equal((await C.resolvePool(engine, p.uuid)).label, 'lib-p1');
  assert.equal((await C.resolvePool(engine, p.uuid.toUpperCase())).label, 'lib-p1');
  await assert.rejects(C.createPool(engine, 'lib-p1'), is('EEXIST', /lib-p1/));
  await assert.rejects(C.createPool(engine, 'bad label'), is('EINVAL'));
  await assert.rejects(C.createPool(engine, 'lib-px', { props: [['colour', 'red']] }), is('EINVAL', /colour/));
  await assert.rejects(C.createPool(engine, 'lib-px', { acl: ['A::OWNER@:rz'] }), is('EINVAL', /'z'/));
  await assert.rejects(C.resolvePool(engine, 'nope'), is('ENOENT', /no pool 'nope'/));
  await assert.rejects(C.resolvePool(engine, '0c645981-805d-4837-b907-188d8c06e0d'), is('EINVAL', /bad pool UUID/));
  assert.equal((await C.listPools(engine)).filter((x) => x.label === 'lib-px').length, 0, 'nothing half-made');
  const q = await C.queryPool(engine, 'lib-p1');
  assert.equal(q.containers, 0);
  assert.equal(typeof q.engine.usage.totalBytes, 'number');
  assert.ok((await C.listPools(engine)).some((x) => x.uuid === p.uuid));
  // a stranger sees the pool (EVERYONE@:r) but may not create containers
  assert.ok((await C.listPools(engine, { caller: stranger })).some((x) => x.uuid === p.uuid));
  await assert.rejects(C.createContainer(engine, 'lib-p1', 'c', { caller: stranger }), is('EACCES', /permission denied/));
  await C.updatePoolAcl(engine, 'lib-p1', ['A::EVERYONE@:']);
  assert.ok(!(await C.listPools(engine, { caller: stranger })).some((x) => x.uuid === p.uuid));
  await assert.rejects(C.queryPool(engine, 'lib-p1', { caller: stranger }), is('EACCES'));
  await C.setPoolProps(engine, 'lib-p1', [['reclaim', 'time'], ['label', 'lib-p1b']]);
  assert.equal((await C.resolvePool(engine, p.uuid)).props['reclaim'], 'time');
  await assert.rejects(C.resolvePool(engine, 'lib-p1'), is('ENOENT'));
  await C.setPoolProps(engine, p.uuid, [['label', 'lib-p1']]);
  await assert.rejects(C.destroyPool(engine, 'lib-p1', { caller: stranger }), is('EACCES'));
  await C.destroyPool(engine, 'lib-p1');
  await assert.rejects(C.resolvePool(engine, p.uuid), is('ENOENT'));
});

test('pool destroy refuses while containers exist unless recursive', async () => {
  await C.createPool(engine, 'lib-p2');
  const c = await C.createContainer(engine, 'lib-p2', 'c1');
  await assert.rejects(C.destroyPool(engine, 'lib-p2'), is('EBUSY', /1 container/));
  assert.equal((await C.listContainers(engine, 'lib-p2')).length, 1, 'nothing changed');
  await C.destroyPool(engine, 'lib-p2', { recursive: true });
  await assert.rejects(C.resolvePool(engine, 'lib-p2'), is('ENOENT'));
  assert.equal(await C.poolOfContainer(engine, c.uuid), undefined);
  // the label is free again
  await C.createPool(engine, 'lib-p2');
  await C.destroyPool(engine, 'lib-p2');
});

test('containers: create with type, chunk size, oclass, props, acl, attrs; unique labels', async () => {
  const p = await C.createPool(engine, 'lib-p3');
  const c = await C.createContainer(engine, 'lib-p3', 'c1', {
    type: 'hdf5', chunkSize: '512K', oclass: 's1', props: { cksum: 'crc32', redun_fac: '1' }, attrs: { a: 'x', bin: new Uint8Array([0, 255, 1]) },
  });
  assert.equal(c.type, 'HDF5');
  assert.equal(c.props['chunk_size'], 524288);
  assert.equal(c.props['oclass'], 'S1');
  assert.equal(c.props['cksum'], 'crc32');
  assert.equal(c.props['rd_fac'], 1);
  assert.equal(c.props['layout_type'], 'HDF5');
  assert.equal(c.props['label'], 'c1');
  assert.equal(c.props['owner'], `${owner.user}@`);
  assert.deepEqual(c.acl, ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:rwtT']);
  assert.equal((await C.createContainer(engine, p.uuid, 'c2')).type, 'POSIX');
  assert.equal((await C.createContainer(engine, p.uuid, 'c3', { type: 'unknown' })).type, 'RAW');
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c1'), is('EEXIST', /'c1' already exists in pool lib-p3/));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { type: 'ext4' }), is('EINVAL', /ext4/));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { chunkSize: '0' }), is('EINVAL', /chunk_size/));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { oclass: 'XX' }), is('EINVAL', /XX/));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { props: { layout_version: '2' } }), is('EINVAL', /read-only/));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { acl: ['A:G:GROUP@:rwx'] }), is('EINVAL'));
  await assert.rejects(C.createContainer(engine, 'lib-p3', 'c9', { uuid: c.uuid }), is('EEXIST'));
  await assert.rejects(C.createContainer(engine, 'nopool', 'c9'), is('ENOENT'));
  const list = await C.listContainers(engine, 'lib-p3');
  assert.deepEqual(list.map((x) => x.label), ['c1', 'c2', 'c3']);
  // the same label in another pool is fine
  await C.createPool(engine, 'lib-p3b');
  await C.createContainer(engine, 'lib-p3b', 'c1');
  // resolve by UUID or label
  const q = await C.queryContainer(engine, 'lib-p3', c.uuid);
  assert.equal(q.label, 'c1');
  assert.equal(q.chunkSize, 524288);
  assert.equal(q.snapshots, 0);
  assert.equal(q.perms, 'rwdtTaAo');
  await assert.rejects(C.queryContainer(engine, 'lib-p3', 'nope'), is('ENOENT', /no container 'nope' in pool lib-p3/));
  await assert.rejects(C.queryContainer(engine, 'lib-p3', '0c645981-805d-4837-b907-188d8c06e0d2'), is('ENOENT'));
  assert.equal(await C.poolOfContainer(engine, c.uuid), p.uuid);
  assert.deepEqual((await C.getAttr(engine, 'lib-p3', 'c1', 'bin')), Buffer.from([0, 255, 1]));
});

test('properties: get, set, immutables refused, labels stay unique', async () => {
  await C.createPool(engine, 'lib-p4');
  await C.createContainer(engine, 'lib-p4', 'a');
  await C.createContainer(engine, 'lib-p4', 'b');
  const props = await C.getProps(engine, 'lib-p4', 'a');
  for (const n of ['label', 'layout_type', 'chunk_size', 'oclass', 'owner', 'group', 'status']) assert.ok(props.some((p) => p.name === n), n);
  assert.equal(await C.getProp(engine, 'lib-p4', 'a', 'chunk_size'), 1048576);
  await assert.rejects(C.setProp(engine, 'lib-p4', 'a', 'chunk_size', '2M'), is('EINVAL', /only be set when the container is created/));
  await assert.rejects(C.setProp(engine, 'lib-p4', 'a', 'layout_type', 'HDF5'), is('EINVAL', /layout_type/));
  await assert.rejects(C.setProp(engine, 'lib-p4', 'a', 'bogus', '1'), is('EINVAL', /unknown container property 'bogus'/));
  await assert.rejects(C.setProp(engine, 'lib-p4', 'a', 'status', 'sad'), is('EINVAL', /status/));
  await assert.rejects(C.setProp(engine, 'lib-p4', 'a', 'label', 'b'), is('EEXIST', /'b' already exists/));
  assert.equal((await C.queryContainer(engine, 'lib-p4', 'a')).label, 'a', 'nothing changed');
  await C.setProps(engine, 'lib-p4', 'a', [['label', 'a2'], ['status', 'unclean']]);
  assert.equal(await C.getProp(engine, 'lib-p4', 'a2', 'label'), 'a2');
  assert.equal(await C.getProp(engine, 'lib-p4', 'a2', 'status'), 'UNCLEAN');
  await assert.rejects(C.queryContainer(engine, 'lib-p4', 'a'), is('ENOENT'));
  await C.createContainer(engine, 'lib-p4', 'a'); // old label is free
});

test('ACL: get, update, overwrite, delete; enforcement for another user', async () => {
  await C.createPool(engine, 'lib-p5');
  await C.createContainer(engine, 'lib-p5', 'c');
  const as = { caller: stranger };
  await assert.rejects(C.getAttrs(engine, 'lib-p5', 'c', as), is('EACCES', /permission denied on container c for stranger/));
  await assert.rejects(C.getProps(engine, 'lib-p5', 'c', as), is('EACCES'));
  await assert.rejects(C.openContainer(engine, 'lib-p5', 'c', as), is('EACCES'));
  await assert.rejects(C.destroyContainer(engine, 'lib-p5', 'c', as), is('EACCES'));
  let acl = await C.updateAcl(engine, 'lib-p5', 'c', ['A::stranger@:rt']);
  assert.deepEqual(acl.entries, ['A::OWNER@:rwdtTaAo', 'A::stranger@:rt', 'A:G:GROUP@:rwtT']);
  assert.ok((await C.getProps(engine, 'lib-p5', 'c', as)).length > 0);
  const h = await C.openContainer(engine, 'lib-p5', 'c', as);
  assert.deepEqual([...h.perms].join(''), 'rt');
  assert.throws(() => h.tx(), is('EACCES'));
  await assert.rejects(h.allocOid(OTYPE.ARRAY), is('EACCES'));
  await assert.rejects(C.openContainer(engine, 'lib-p5', 'c', { ...as, write: true }), is('EACCES'));
  await assert.rejects(C.setAttr(engine, 'lib-p5', 'c', 'k', 'v', as), is('EACCES'));
  await assert.rejects(C.setProp(engine, 'lib-p5', 'c', 'label', 'x', as), is('EACCES'));
  await assert.rejects(C.getAcl(engine, 'lib-p5', 'c', as), is('EACCES'));
  // group entries
  acl = await C.updateAcl(engine, 'lib-p5', 'c', ['A:G:strangers@:a']);
  await assert.rejects(C.getAcl(engine, 'lib-p5', 'c', as), is('EACCES'), 'the named user entry wins over groups');
  acl = await C.deleteAcl(engine, 'lib-p5', 'c', 'u:stranger@');
  assert.deepEqual((await C.getAcl(engine, 'lib-p5', 'c', as)).entries, acl.entries);
  await assert.rejects(C.deleteAcl(engine, 'lib-p5', 'c', 'u:stranger@'), is('ENOENT'));
  await assert.rejects(C.updateAcl(engine, 'lib-p5', 'c', ['A::stranger@:rq']), is('EINVAL'));
  acl = await C.overwriteAcl(engine, 'lib-p5', 'c', ['A::OWNER@:rwdtTaAo', 'A::EVERYONE@:rwd']);
  assert.deepEqual(acl.entries, ['A::OWNER@:rwdtTaAo', 'A::EVERYONE@:rwd']);
  await assert.rejects(C.overwriteAcl(engine, 'lib-p5', 'c', ['A::OWNER@:r', 'A::OWNER@:rw']), is('EINVAL'));
  // the owner is bound by OWNER@ too (no root bypass)
  await C.overwriteAcl(engine, 'lib-p5', 'c', ['A::OWNER@:rA', 'A::EVERYONE@:d']);
  await assert.rejects(C.getProps(engine, 'lib-p5', 'c'), is('EACCES'));
  await C.overwriteAcl(engine, 'lib-p5', 'c', ['A::OWNER@:rwdtTaAo', 'A::EVERYONE@:d']);
  // the stranger may destroy it now (d), and set-owner needs 'o'
  await assert.rejects(C.setProp(engine, 'lib-p5', 'c', 'owner', 'stranger', as), is('EACCES', /needs 'o'/));
  await C.setProp(engine, 'lib-p5', 'c', 'owner', 'stranger');
  assert.equal((await C.getAcl(engine, 'lib-p5', 'c', as)).owner, 'stranger@', 'the new owner gets OWNER@');
  await assert.rejects(C.getAcl(engine, 'lib-p5', 'c'), is('EACCES'), 'the old owner is now EVERYONE@');
  await C.destroyContainer(engine, 'lib-p5', 'c', as);
  assert.equal((await C.listContainers(engine, 'lib-p5')).length, 0);
});

test('user attributes: set, get, list, delete; bytes round-trip; no lost updates', async () => {
  await C.createPool(engine, 'lib-p6');
  await C.createContainer(engine, 'lib-p6', 'c', { attrs: { one: '1' } });
  await C.setAttr(engine, 'lib-p6', 'c', 'two', '2');
  const bytes = new Uint8Array(256).map((_, i) => i);
  await C.setAttr(engine, 'lib-p6', 'c', 'bin', bytes);
  assert.deepEqual(await C.listAttrs(engine, 'lib-p6', 'c'), ['bin', 'one', 'two']);
  assert.deepEqual(new Uint8Array(await C.getAttr(engine, 'lib-p6', 'c', 'bin')), bytes);
  assert.equal((await C.getAttr(engine, 'lib-p6', 'c', 'two')).toString(), '2');
  await C.delAttr(engine, 'lib-p6', 'c', 'two');
  await assert.rejects(C.getAttr(engine, 'lib-p6', 'c', 'two'), is('ENOENT', /no attribute 'two'/));
  await assert.rejects(C.delAttr(engine, 'lib-p6', 'c', 'two'), is('ENOENT'));
  await assert.rejects(C.setAttr(engine, 'lib-p6', 'c', '', 'x'), is('EINVAL'));
  // concurrent updates from many callers all land (compare-and-swap on the record)
  await Promise.all(Array.from({ length: 20 }, (_, i) => C.setAttr(engine, 'lib-p6', 'c', `k${i}`, String(i))));
  assert.equal((await C.listAttrs(engine, 'lib-p6', 'c')).filter((n) => n.startsWith('k')).length, 20);
});

test('concurrent container creation with the same label: exactly one wins', async () => {
  await C.createPool(engine, 'lib-p7');
  const results = await Promise.allSettled(Array.from({ length: 8 }, () => C.createContainer(engine, 'lib-p7', 'same')));
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') assert.ok(is('EEXIST')(r.reason));
  const others = await Promise.all(Array.from({ length: 8 }, (_, i) => C.createContainer(engine, 'lib-p7', `c${i}`)));
  assert.equal(others.length, 8);
  assert.equal((await C.listContainers(engine, 'lib-p7')).length, 9);
});

test('snapshots: named and unnamed, unique names, resolve, destroy by name/epoch/range', async () => {
  await C.createPool(engine, 'lib-p8');
  await C.createContainer(engine, 'lib-p8', 'c');
  const h = await C.openContainer(engine, 'lib-p8', 'c', { write: true });
  const obj = h.object(await h.allocOid(OTYPE.MULTI_LEXICAL));
  await h.tx().put(obj, 'd', 'a', 'v1').commit();
  const s1 = await C.createSnap(engine, 'lib-p8', 'c', { name: 'first' });
  await h.tx().put(obj, 'd', 'a', 'v2').commit();
  const s2 = await C.createSnap(engine, 'lib-p8', 'c');
  const s3 = await C.createSnap(engine, 'lib-p8', 'c', { name: 'third' });
  assert.ok(s1.epoch < s2.epoch && s2.epoch < s3.epoch);
  await assert.rejects(C.createSnap(engine, 'lib-p8', 'c', { name: 'first' }), is('EEXIST', /'first'/));
  const snaps = await C.listSnaps(engine, 'lib-p8', 'c');
  assert.deepEqual(snaps.map((s) => [s.epoch, s.name]), [[s1.epoch, 'first'], [s2.epoch, undefined], [s3.epoch, 'third']]);
  assert.equal(await C.resolveSnapshot(h, { snap: 'first' }), s1.epoch);
  assert.equal(await C.resolveSnapshot(h, { epc: String(s2.epoch) }), s2.epoch);
  await assert.rejects(C.resolveSnapshot(h, { snap: 'nope' }), is('ENOENT'));
  await assert.rejects(C.resolveSnapshot(h, { epc: s3.epoch + 1000 }), is('ENOENT'));
  await assert.rejects(C.resolveSnapshot(h, { epc: 'x' }), is('EINVAL'));
  await assert.rejects(C.resolveSnapshot(h, {}), is('EINVAL'));
  assert.equal(Buffer.from((await obj.get('d', 'a', await C.resolveSnapshot(h, { snap: 'first' })))!).toString(), 'v1');
  assert.equal((await C.queryContainer(engine, 'lib-p8', 'c')).latestSnapshot, s3.epoch);
  assert.deepEqual(await C.destroySnap(engine, 'lib-p8', 'c', { snap: 'first' }), [s1.epoch]);
  await C.createSnap(engine, 'lib-p8', 'c', { name: 'first' }); // the name is free again
  await assert.rejects(C.destroySnap(engine, 'lib-p8', 'c', { snap: 'x', epc: 1 }), is('EINVAL'));
  await assert.rejects(C.destroySnap(engine, 'lib-p8', 'c', { epcrange: '9-3' }), is('EINVAL'));
  await assert.rejects(C.destroySnap(engine, 'lib-p8', 'c', { epc: s1.epoch }), is('ENOENT'));
  assert.deepEqual(await C.destroySnap(engine, 'lib-p8', 'c', { epcrange: `${s2.epoch}-${s3.epoch}` }), [s2.epoch, s3.epoch]);
  assert.deepEqual((await C.listSnaps(engine, 'lib-p8', 'c')).map((s) => s.name), ['first']);
  await assert.rejects(C.createSnap(engine, 'lib-p8', 'c', { caller: stranger }), is('EACCES'));
  // destroying the container removes its data and snapshots
  await C.destroyContainer(engine, 'lib-p8', 'c');
  assert.deepEqual(await engine.listSnapshots(h.uuid), []);
  assert.deepEqual(await engine.listObjects(h.uuid), []);
  assert.deepEqual(await engine.catList(`snap-name/${h.uuid}/`), []);
  assert.deepEqual(await engine.catList(`cont-rev/${h.uuid}/`), []);
});
