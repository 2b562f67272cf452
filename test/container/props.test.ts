// Sizes, labels/UUIDs, container types and property validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, formatSize, parseContainerType, checkLabel, parseRef, propDef, CONTAINER_PROPS, parsePropList } from '../../src/container/index.js';
import { isStrataError } from '../../src/errors.js';

const einval = (re: RegExp) => (e: unknown) => isStrataError(e, 'EINVAL') && re.test((e as Error).message);

test('sizes', () => {
  assert.equal(parseSize('4194304'), 4194304);
  assert.equal(parseSize('512K'), 524288);
  assert.equal(parseSize('1M'), 1048576);
  assert.equal(parseSize('1MiB'), 1048576);
  assert.equal(parseSize('2g'), 2 * 1024 ** 3);
  assert.equal(parseSize('1.5K'), 1536);
  assert.throws(() => parseSize('1X'), einval(/bad size/));
  assert.throws(() => parseSize('-1'), einval(/bad size/));
  assert.throws(() => parseSize('0.3'), einval(/whole number/));
  assert.equal(formatSize(1048576), '1 MiB');
  assert.equal(formatSize(100), '100 B');
});

test('chunk_size must be >0 and at most 1 GiB', () => {
  const d = propDef(CONTAINER_PROPS, 'chunk_size', 'container');
  assert.equal(d.parse('1M'), 1048576);
  assert.throws(() => d.parse('0'), einval(/chunk_size/));
  assert.throws(() => d.parse('2G'), einval(/chunk_size/));
});

test('labels and references', () => {
  assert.equal(checkLabel('my.pool:1-a_b', 'pool'), 'my.pool:1-a_b');
  assert.throws(() => checkLabel('', 'pool'), einval(/bad pool label/));
  assert.throws(() => checkLabel('a b', 'pool'), einval(/bad pool label/));
  assert.throws(() => checkLabel('x'.repeat(128), 'pool'), einval(/bad pool label/));
  assert.throws(() => checkLabel('.', 'pool'), einval(/bad pool label/));
  assert.throws(() => checkLabel('..', 'container'), einval(/bad container label/));
  assert.equal(checkLabel('...', 'pool'), '...');
  assert.throws(() => checkLabel('0c645981-805d-4837-b907-188d8c06e0d2', 'container'), einval(/look like a UUID/));
  assert.deepEqual(parseRef('0C645981-805D-4837-B907-188D8C06E0D2', 'pool'), { uuid: '0c645981-805d-4837-b907-188d8c06e0d2' });
  assert.deepEqual(parseRef('dead-beef', 'pool'), { label: 'dead-beef' });
  assert.throws(() => parseRef('0c645981-805d-4837-b907-188d8c06e0d', 'pool'), einval(/bad pool UUID/));
  assert.throws(() => parseRef('a/b', 'pool'), einval(/bad pool label or UUID/));
  assert.throws(() => parseRef('12345678-1234-1234-1234-12345678901', 'container'), einval(/bad container UUID/));
});

test('container types are case-insensitive; UNKNOWN is RAW', () => {
  assert.equal(parseContainerType('posix'), 'POSIX');
  assert.equal(parseContainerType('Hdf5'), 'HDF5');
  assert.equal(parseContainerType('unknown'), 'RAW');
  assert.equal(parseContainerType('seismic'), 'SEISMIC');
  assert.throws(() => parseContainerType('ext4'), einval(/unknown container type 'ext4'/));
});

test('property names and values', () => {
  assert.equal(propDef(CONTAINER_PROPS, 'redun_fac', 'container').name, 'rd_fac');
  assert.throws(() => propDef(CONTAINER_PROPS, 'colour', 'container'), einval(/unknown container property 'colour'/));
  assert.equal(propDef(CONTAINER_PROPS, 'oclass', 'container').parse('rp_2g1'), 'RP_2G1');
  assert.throws(() => propDef(CONTAINER_PROPS, 'oclass', 'container').parse('Z9'), einval(/oclass/));
  assert.throws(() => propDef(CONTAINER_PROPS, 'cksum', 'container').parse('md5'), einval(/cksum/));
  assert.throws(() => propDef(CONTAINER_PROPS, 'rd_fac', 'container').parse('7'), einval(/rd_fac/));
  assert.equal(propDef(CONTAINER_PROPS, 'owner', 'container').parse('alice'), 'alice@');
  assert.deepEqual(parsePropList('a:1, b:x:y,c=2'), [['a', '1'], ['b', 'x:y'], ['c', '2']]);
  assert.throws(() => parsePropList('novalue'), einval(/expected name:value/));
});
