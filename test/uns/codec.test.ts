// UNS codecs: golden bytes against Lustre's struct layouts (written out by hand
// from lustre_user.h / lustre_idl.h), and fast-check properties (>= 10,000 cases each).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StrataError } from '../../src/errors.js';
import {
  encodeDunsAttr, decodeDunsAttr, encodeForeign, decodeForeign, encodeDaosForeign, decodeDaosForeign, daosForeignValue,
  parseUpcallFormat, formatUpcallFormat, encodeUpcallItems, decodeUpcallItems, applyUpcall, foreignSymlinkTarget,
  LEGACY_POOL_COLON_CONT, LMV_MAGIC_FOREIGN, LOV_USER_MAGIC_FOREIGN, LU_FOREIGN_TYPE_SYMLINK, type UpcallItem,
} from '../../src/uns/index.js';
import { CONTAINER_TYPES } from '../../src/container/index.js';

const RUNS = Number(process.env['UNS_PROP_RUNS'] ?? 10_000);
const POOL = '0b5ca1ab-1e55-4c0d-9f5e-cafef00d1234';
const CONT = 'decafbad-0000-4abc-8def-0123456789ab';

const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const u64le = (n: number) => [...u32le(n), 0, 0, 0, 0];
const ascii = (s: string) => [...Buffer.from(s, 'latin1')];
const einval = (f: () => unknown) => assert.throws(f, (e: unknown) => e instanceof StrataError && e.code === 'EINVAL');

test('golden: user.daos value is DAOS.<TYPE>://<pool>/<cont> plus one NUL', () => {
  const b = encodeDunsAttr({ type: 'POSIX', pool: POOL, cont: CONT });
  assert.deepEqual([...b], [...ascii(`DAOS.POSIX://${POOL}/${CONT}`), 0]);
  assert.equal(b.length, 5 + 5 + 3 + 36 + 1 + 36 + 1);
  assert.deepEqual(decodeDunsAttr(b, 'x'), { type: 'POSIX', pool: POOL, cont: CONT });
  // RAW is DAOS's UNKNOWN layout, written the way DAOS prints it
  assert.equal(encodeDunsAttr({ type: 'RAW', pool: POOL, cont: CONT }).toString('latin1'), `DAOS.unknown://${POOL}/${CONT}\0`);
  // case-insensitive types, DAOS aliases, no NUL
  assert.equal(decodeDunsAttr(Buffer.from(`DAOS.hdf5://${POOL}/${CONT}`), 'x').type, 'HDF5');
  assert.equal(decodeDunsAttr(Buffer.from(`DAOS.fdb://${POOL.toUpperCase()}/${CONT}\0`), 'x').type, 'METEO');
  assert.equal(decodeDunsAttr(Buffer.from(`DAOS.fdb://${POOL.toUpperCase()}/${CONT}\0`), 'x').pool, POOL);
});

test('golden: bad user.daos values are EINVAL naming the path', () => {
  const bad = [
    '', '\0', 'DAOS.POSIX://', `DAOS.POSIX://${POOL}`, `DAOS.POSIX://${POOL}/${CONT.slice(0, 35)}`, `DAOS.NOPE://${POOL}/${CONT}`,
    `DAOS.://${POOL}/${CONT}`, `XAOS.POSIX://${POOL}/${CONT}`, `DAOS.POSIX:/${POOL}/${CONT}`, `DAOS.POSIX://${POOL}/${CONT}/x`,
    `DAOS.POSIX://${POOL}/${CONT}\0\0`, `DAOS.POSIX://${POOL}/${CONT}`.padEnd(171, 'x'),
  ];
  for (const s of bad) {
    assert.throws(() => decodeDunsAttr(Buffer.from(s, 'latin1'), '/some/link'), (e: unknown) => e instanceof StrataError && e.code === 'EINVAL' && e.message.includes('/some/link'), JSON.stringify(s));
  }
});

test('golden: lmv_foreign_md / lov_foreign_md bytes', () => {
  const value = `${POOL}/${CONT}`;
  const want = (magic: number, flags: number) => [...u32le(magic), ...u32le(73), ...u32le(0xda05), ...u32le(flags), ...ascii(value)];
  // struct lmv_foreign_md { __u32 lfm_magic = 0x0CD50CD0; __u32 lfm_length; __u32 lfm_type; __u32 lfm_flags; char lfm_value[]; }
  assert.deepEqual([...encodeDaosForeign('dir', { type: 'POSIX', pool: POOL, cont: CONT })], want(0x0cd50cd0, 1));
  assert.deepEqual(want(0x0cd50cd0, 1).slice(0, 16), [0xd0, 0x0c, 0xd5, 0x0c, 73, 0, 0, 0, 0x05, 0xda, 0, 0, 1, 0, 0, 0]);
  // struct lov_foreign_md, magic LOV_USER_MAGIC_FOREIGN 0x0BD70BD0; HDF5 = layout 2
  assert.deepEqual([...encodeDaosForeign('file', { type: 'HDF5', pool: POOL, cont: CONT })], want(0x0bd70bd0, 2));
  assert.deepEqual(want(0x0bd70bd0, 2).slice(0, 4), [0xd0, 0x0b, 0xd7, 0x0b]);
  assert.equal(daosForeignValue(POOL, CONT), value);
  const d = decodeDaosForeign(Buffer.from(want(0x0bd70bd0, 2)), 'f', 'file');
  assert.deepEqual(d, { type: 'HDF5', pool: POOL, cont: CONT, format: 'uuids' });
  // RAW <-> DAOS UNKNOWN (0); SEISMIC 7; METEO 8
  assert.equal(decodeDaosForeign(Buffer.from(want(0x0cd50cd0, 0)), 'd').type, 'RAW');
  assert.equal(decodeDaosForeign(Buffer.from(want(0x0cd50cd0, 8)), 'd').type, 'METEO');
  // older DAOS: "DAOS.<TYPE>://..." with flags 0xda05
  const old = Buffer.from([...u32le(0x0cd50cd0), ...u32le(86), ...u32le(0xda05), ...u32le(0xda05), ...ascii(`DAOS.POSIX://${POOL}/${CONT}`)]);
  assert.deepEqual(decodeDaosForeign(old, 'd', 'dir'), { type: 'POSIX', pool: POOL, cont: CONT, format: 'duns' });
  // padding after the value (ioctl buffers) is ignored
  assert.equal(decodeForeign(Buffer.from([...want(0x0cd50cd0, 1), 0, 0, 0, 0]), 'd').value.toString(), value);
});

test('golden: bad foreign EAs are EINVAL', () => {
  const good = encodeDaosForeign('dir', { type: 'POSIX', pool: POOL, cont: CONT });
  einval(() => decodeForeign(good.subarray(0, 15), 'd'));
  einval(() => decodeForeign(good.subarray(0, 50), 'd')); // length past the buffer
  einval(() => decodeForeign(good, 'd', 'file')); // LMV magic where LOV expected
  const wrongMagic = Buffer.from(good); wrongMagic.writeUInt32LE(0x0cd20cd0, 0);
  einval(() => decodeForeign(wrongMagic, 'd'));
  const wrongType = Buffer.from(good); wrongType.writeUInt32LE(2, 8);
  einval(() => decodeDaosForeign(wrongType, 'd'));
  const badFlags = Buffer.from(good); badFlags.writeUInt32LE(9, 12);
  einval(() => decodeDaosForeign(badFlags, 'd'));
  einval(() => decodeDaosForeign(encodeForeign({ magic: LMV_MAGIC_FOREIGN, type: LU_FOREIGN_TYPE_SYMLINK, flags: 1, value: Buffer.from('not/uuids') }), 'd'));
});

test('golden: upcall items of the legacy <pool>:<cont> format, and the target a Lustre client builds', () => {
  // l_foreign_symlink: {POSLEN 0,36} {STRING "/"} {POSLEN 37,36} {EOB}
  const want = [
    ...u32le(3), 0, 0, 0, 0, ...u32le(0), ...u32le(36), // POSLEN_ITEM_SZ = offsetof(len) + 4 = 16
    ...u32le(2), 0, 0, 0, 0, ...u64le(1), 0x2f, 0, 0, 0, // STRING_ITEM_SZ(1) = 16 + 4
    ...u32le(3), 0, 0, 0, 0, ...u32le(37), ...u32le(36),
    ...u32le(1), // EOB
  ];
  const items = parseUpcallFormat(LEGACY_POOL_COLON_CONT);
  const buf = encodeUpcallItems(items);
  assert.deepEqual([...buf], want);
  assert.deepEqual(decodeUpcallItems(buf), items);
  // a legacy EA value "<pool>:<cont>" resolves to "/" + prefix + "/" + "<pool>/<cont>"
  const value = Buffer.from(`${POOL}:${CONT}`);
  const suffix = applyUpcall(decodeUpcallItems(buf), value);
  assert.equal(suffix.toString(), `${POOL}/${CONT}`);
  assert.equal(foreignSymlinkTarget('/mnt/daos', suffix), `//mnt/daos/${POOL}/${CONT}`);
  // and strata reads such a link as that container
  const ea = encodeForeign({ magic: LOV_USER_MAGIC_FOREIGN, type: LU_FOREIGN_TYPE_SYMLINK, flags: 2, value });
  assert.deepEqual(decodeDaosForeign(ea, 'f', 'file', items), { type: 'HDF5', pool: POOL, cont: CONT, format: 'upcall' });
  // too-short value: EINVAL, as the client's "foreign EA too short"
  einval(() => applyUpcall(items, value.subarray(0, 72)));
});

test('golden: a trailing string of 4n bytes is split so the client accepts it', () => {
  const items = parseUpcallFormat('[0,36]/dat');
  assert.equal(items.length, 2);
  const buf = encodeUpcallItems(items);
  const dec = decodeUpcallItems(buf);
  assert.equal(dec.length, 3); // POSLEN, "/da", "t"
  assert.equal(applyUpcall(dec, Buffer.from(POOL)).toString(), `${POOL}/dat`);
  // the unsplit form is what the client rejects
  const unsplit = Buffer.from([...u32le(2), 0, 0, 0, 0, ...u64le(4), ...ascii('abcd'), ...u32le(1)]);
  einval(() => decodeUpcallItems(unsplit));
});

test('golden: bad upcall formats and buffers', () => {
  for (const t of ['', '[0,36', 'a]b', '[x,1]', '[0,-1]', '[65520,1]', '[4294967295,2]', 'a\\b', '[0,1]'.repeat(31), 'x'.repeat(5000)]) {
    einval(() => parseUpcallFormat(t));
  }
  assert.equal(parseUpcallFormat('[0,1]'.repeat(30)).length, 30);
  einval(() => decodeUpcallItems(Buffer.alloc(6)));
  einval(() => decodeUpcallItems(Buffer.from(u32le(9))));
  einval(() => decodeUpcallItems(Buffer.from([...u32le(1), ...u32le(1)]))); // EOB not last
  einval(() => decodeUpcallItems(Buffer.from([...u32le(3), 0, 0, 0, 0, ...u32le(0), ...u32le(1)]))); // no EOB
  einval(() => decodeUpcallItems(Buffer.from([...u32le(2), 0, 0, 0, 0, ...u64le(1000), ...u32le(1)]))); // string past the end
  const many: number[] = [];
  for (let i = 0; i < 31; i++) many.push(...u32le(3), 0, 0, 0, 0, ...u32le(0), ...u32le(1));
  einval(() => decodeUpcallItems(Buffer.from([...many, ...u32le(1)])));
});

// ---- properties ----

const uuid = fc.uuid().map((u) => u.toLowerCase());
const ctype = fc.constantFrom(...CONTAINER_TYPES);

test('property: duns values round-trip; arbitrary bytes decode or throw EINVAL', () => {
  fc.assert(fc.property(ctype, uuid, uuid, fc.boolean(), (type, pool, cont, upper) => {
    const b = encodeDunsAttr({ type, pool: upper ? pool.toUpperCase() : pool, cont });
    assert.ok(b.length <= 170 && b[b.length - 1] === 0);
    assert.deepEqual(decodeDunsAttr(b, 'p'), { type, pool, cont });
    const s = b.toString('latin1');
    const mixed = Buffer.from(s.replace(/^DAOS\.([^:]+)/, (_m, t: string) => `DAOS.${upper ? t.toLowerCase() : t.toUpperCase()}`), 'latin1');
    assert.deepEqual(decodeDunsAttr(mixed, 'p'), { type, pool, cont });
  }), { numRuns: RUNS });
  const noise = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(ctype, uuid, uuid, fc.nat(), fc.uint8Array({ maxLength: 4 })).map(([t, p, c, cut, junk]) => {
      const b = encodeDunsAttr({ type: t, pool: p, cont: c });
      return Uint8Array.from([...b.subarray(0, cut % (b.length + 1)), ...junk]);
    }),
  );
  fc.assert(fc.property(noise, (bytes) => {
    try {
      const a = decodeDunsAttr(bytes, 'p');
      assert.deepEqual(decodeDunsAttr(encodeDunsAttr(a), 'p'), a);
    } catch (e) {
      assert.ok(e instanceof StrataError && e.code === 'EINVAL', String(e));
    }
  }), { numRuns: RUNS });
});

test('property: foreign EAs round-trip; arbitrary bytes decode within bounds or throw EINVAL', () => {
  const md = fc.record({
    magic: fc.constantFrom(LMV_MAGIC_FOREIGN, LOV_USER_MAGIC_FOREIGN),
    type: fc.nat({ max: 0xffffffff }),
    flags: fc.nat({ max: 0xffffffff }),
    value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  });
  fc.assert(fc.property(md, (m) => {
    const b = encodeForeign(m);
    assert.equal(b.length, 16 + m.value.length);
    assert.equal(b.readUInt32LE(4), m.value.length);
    assert.deepEqual(decodeForeign(b, 'p'), { ...m });
    if (m.value.length > 0) einval(() => decodeForeign(b.subarray(0, b.length - 1), 'p'));
  }), { numRuns: RUNS });
  fc.assert(fc.property(ctype, uuid, uuid, fc.constantFrom('dir' as const, 'file' as const), (type, pool, cont, o) => {
    assert.deepEqual(decodeDaosForeign(encodeDaosForeign(o, { type, pool, cont }), 'p', o), { type, pool, cont, format: 'uuids' });
  }), { numRuns: RUNS });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, magic) => {
    const b = Buffer.from(bytes);
    if (magic && b.length >= 4) b.writeUInt32LE(LMV_MAGIC_FOREIGN, 0);
    try {
      const m = decodeForeign(b, 'p');
      assert.ok(16 + m.value.length <= b.length);
    } catch (e) {
      assert.ok(e instanceof StrataError && e.code === 'EINVAL', String(e));
    }
  }), { numRuns: RUNS });
});

/** Merges adjacent strings: the text form does not keep string boundaries. */
function merged(items: UpcallItem[]): UpcallItem[] {
  const out: UpcallItem[] = [];
  for (const it of items) {
    const last = out[out.length - 1];
    if (it.kind === 'string' && last?.kind === 'string') out[out.length - 1] = { kind: 'string', bytes: Buffer.concat([last.bytes, it.bytes]) };
    else out.push(it);
  }
  return out;
}

test('property: upcall formats round-trip through text and bytes, and build the same suffix as a reference', () => {
  const item: fc.Arbitrary<UpcallItem> = fc.oneof(
    fc.string({ minLength: 1, maxLength: 12 }).map((s) => ({ kind: 'string' as const, bytes: Buffer.from(s, 'utf8') })),
    fc.tuple(fc.nat({ max: 200 }), fc.nat({ max: 60 })).map(([pos, len]) => ({ kind: 'poslen' as const, pos, len })),
  );
  fc.assert(fc.property(fc.array(item, { minLength: 1, maxLength: 28 }), fc.uint8Array({ maxLength: 300 }), (raw, value) => {
    const items = merged(raw);
    const text = formatUpcallFormat(items);
    const parsed = parseUpcallFormat(text);
    assert.deepEqual(parsed, items);
    const buf = encodeUpcallItems(parsed);
    assert.equal(buf.length % 4, 0);
    assert.equal(buf.readUInt32LE(buf.length - 4), 1);
    const dec = decodeUpcallItems(buf);
    assert.ok(dec.length + 1 <= 31);
    assert.deepEqual(merged(dec), items);
    // reference: concatenate, EINVAL when a slice runs past the value
    const v = Buffer.from(value);
    const tooShort = items.some((it) => it.kind === 'poslen' && it.pos + it.len > v.length);
    if (tooShort) einval(() => applyUpcall(dec, v));
    else {
      const ref = Buffer.concat(items.map((it) => (it.kind === 'string' ? it.bytes : v.subarray(it.pos, it.pos + it.len))));
      assert.deepEqual(applyUpcall(dec, v), ref);
    }
  }), { numRuns: RUNS });
  fc.assert(fc.property(fc.uint8Array({ maxLength: 160 }), (bytes) => {
    try {
      const items = decodeUpcallItems(bytes);
      assert.ok(items.length <= 30);
    } catch (e) {
      assert.ok(e instanceof StrataError && e.code === 'EINVAL', String(e));
    }
  }), { numRuns: RUNS });
  fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => {
    try {
      const items = parseUpcallFormat(s);
      assert.deepEqual(parseUpcallFormat(formatUpcallFormat(items)), items);
    } catch (e) {
      assert.ok(e instanceof StrataError && e.code === 'EINVAL', String(e));
    }
  }), { numRuns: RUNS });
});
