import { it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { esc, unesc, parseKey, recordKey, akeyPrefix, uuidBytes } from '../../src/engine/keys.js';
import { decodeRecord, encodeRecord, type RecordValue } from '../../src/engine/records.js';

it('property: escaped keys keep byte order and decode back', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), (a, b) => {
    const ea = esc(a), eb = esc(b);
    assert.equal(Math.sign(Buffer.compare(ea, eb)), Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))));
    assert.deepEqual(unesc(ea, 0), { key: Buffer.from(a), end: ea.length });
  }), { numRuns: 2000 });
});

it('property: record keys parse back to their parts', () => {
  const cont = uuidBytes('0f0e0d0c-0b0a-0908-0706-050403020100');
  fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ maxLength: 30 }), fc.uint8Array({ maxLength: 30 }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 2 ** 50 }), (oid, dkey, akey, epoch, offset) => {
      const p = parseKey(recordKey(akeyPrefix(cont, oid, dkey, akey), epoch, offset));
      assert.deepEqual([Buffer.from(p.oid), p.dkey, p.akey, p.epoch, p.offset, p.kind], [Buffer.from(oid), Buffer.from(dkey), Buffer.from(akey), epoch, offset, 1]);
    }), { numRuns: 1000 });
});

it('property: newer epochs of one akey sort first', () => {
  const cont = uuidBytes('0f0e0d0c-0b0a-0908-0706-050403020100');
  const p = akeyPrefix(cont, new Uint8Array(16), Buffer.from('d'), Buffer.from('a'));
  fc.assert(fc.property(fc.nat(), fc.nat(), (e1, e2) => {
    fc.pre(e1 !== e2);
    assert.equal(Buffer.compare(recordKey(p, e1, 0), recordKey(p, e2, 0)) < 0, e1 > e2);
  }));
});

it('property: record values round-trip', () => {
  const rec: fc.Arbitrary<RecordValue> = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((data) => ({ t: 'single' as const, data: Buffer.from(data) })),
    fc.uint8Array({ maxLength: 64 }).map((data) => ({ t: 'inline' as const, data: Buffer.from(data) })),
    fc.constant({ t: 'tomb' as const }),
    fc.constant({ t: 'dpunch' as const }),
    fc.nat().map((len) => ({ t: 'hole' as const, len })),
    fc.record({ file: fc.nat(2 ** 32 - 1), pos: fc.nat(), len: fc.nat() }).map((r) => ({ t: 'file' as const, ...r })),
  );
  fc.assert(fc.property(rec, (v) => assert.deepEqual(decodeRecord(encodeRecord(v)), v)));
});
