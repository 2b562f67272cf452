// ACL parsing, validation, editing and DAOS-order evaluation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseAce, formatAce, validateAcl, parseAclText, updateAclEntries, deleteAclPrincipal, effectivePerms,
  DEFAULT_CONT_ACL, DEFAULT_POOL_ACL, type Caller,
} from '../../src/container/index.js';
import { isStrataError } from '../../src/errors.js';

const caller = (user: string, groups: string[] = [], uid = 1000): Caller => ({ uid, gids: groups.map((_, i) => 2000 + i), user, groups });
const perms = (s: Set<string>) => [...s].join('');

test('parses and formats DAOS entries', () => {
  assert.deepEqual(parseAce('A::OWNER@:rwdtTaAo'), { type: 'A', flags: '', principal: 'OWNER@', perms: 'rwdtTaAo' });
  assert.deepEqual(parseAce('A:G:GROUP@:rwtT'), { type: 'A', flags: 'G', principal: 'GROUP@', perms: 'rwtT' });
  assert.equal(formatAce(parseAce('A::alice@:wr')), 'A::alice@:rw');
  assert.equal(formatAce(parseAce('A:G:staff@:r')), 'A:G:staff@:r');
  assert.equal(formatAce(parseAce('U:GS:staff@:r')), 'U:GS:staff@:r');
  assert.equal(formatAce(parseAce('A::bob@example.com:r')), 'A::bob@example.com:r');
  assert.equal(formatAce(parseAce('A::EVERYONE@:rc', 'pool')), 'A::EVERYONE@:rc');
});

test('rejects bad entries with EINVAL naming the problem', () => {
  const bad: Array<[string, RegExp]> = [
    ['A::alice@', /TYPE:FLAGS:PRINCIPAL:PERMISSIONS/],
    ['X::alice@:r', /unknown type 'X'/],
    ['A:Q:alice@:r', /unknown flag 'Q'/],
    ['A::alice:r', /bad principal 'alice'/],
    ['A::GROUP@:r', /needs the G flag/],
    ['A:G:OWNER@:r', /cannot have the G flag/],
    ['A::alice@:rx', /unknown container permission 'x'/],
    ['A::alice@:rc', /unknown container permission 'c'/],
    ['A:S:alice@:r', /only for audit/],
    ['U::alice@:r', /needs flag S or F/],
    ['A:::r', /missing principal/],
  ];
  for (const [e, re] of bad) {
    assert.throws(() => parseAce(e), (err: unknown) => isStrataError(err, 'EINVAL') && re.test((err as Error).message), e);
  }
  assert.throws(() => validateAcl(['A::alice@:r', 'A::alice@:rw']), /second entry/);
  // user alice and group alice are different principals
  assert.deepEqual(validateAcl(['A::alice@:r', 'A:G:alice@:rw']), ['A::alice@:r', 'A:G:alice@:rw']);
});

test('ACL files: comments and blank lines; canonical DAOS order', () => {
  const acl = parseAclText('# a comment\n\nA::EVERYONE@:r\nA:G:staff@:rw   # trailing\nA::OWNER@:rwdtTaAo\nA::alice@:r\nA:G:GROUP@:rwtT\n');
  assert.deepEqual(acl, ['A::OWNER@:rwdtTaAo', 'A::alice@:r', 'A:G:GROUP@:rwtT', 'A:G:staff@:rw', 'A::EVERYONE@:r']);
});

test('update replaces the same principal, delete removes it', () => {
  let acl = updateAclEntries(DEFAULT_CONT_ACL, ['A::alice@:r']);
  assert.deepEqual(acl, ['A::OWNER@:rwdtTaAo', 'A::alice@:r', 'A:G:GROUP@:rwtT']);
  acl = updateAclEntries(acl, ['A::alice@:rwt', 'A:G:GROUP@:r']);
  assert.deepEqual(acl, ['A::OWNER@:rwdtTaAo', 'A::alice@:rwt', 'A:G:GROUP@:r']);
  assert.deepEqual(deleteAclPrincipal(acl, 'u:alice@'), ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:r']);
  assert.deepEqual(deleteAclPrincipal(acl, 'alice@'), ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:r']);
  assert.deepEqual(deleteAclPrincipal(acl, 'GROUP@'), ['A::OWNER@:rwdtTaAo', 'A::alice@:rwt']);
  assert.throws(() => deleteAclPrincipal(acl, 'g:alice@'), (e: unknown) => isStrataError(e, 'ENOENT'));
  assert.throws(() => deleteAclPrincipal(acl, 'nobody'), (e: unknown) => isStrataError(e, 'EINVAL'));
});

test('evaluation follows DAOS order: owner, user, groups (union), everyone', () => {
  const acl = ['A::OWNER@:rwdtTaAo', 'A::alice@:r', 'A:G:GROUP@:rwtT', 'A:G:staff@:d', 'A::EVERYONE@:t'];
  const ev = (c: Caller) => perms(effectivePerms(acl, 'olive@', 'owners@', c));
  assert.equal(ev(caller('olive')), 'rwdtTaAo');                       // owner
  assert.equal(ev(caller('alice', ['owners', 'staff'])), 'r');         // named user wins over groups
  assert.equal(ev(caller('bob', ['owners'])), 'rwtT');                 // owning group
  assert.equal(ev(caller('bob', ['owners', 'staff'])), 'rwdtT');       // union of groups
  assert.equal(ev(caller('bob', ['staff'])), 'd');                     // a named group only (no EVERYONE@)
  assert.equal(ev(caller('eve', ['others'])), 't');                    // everyone
  assert.equal(perms(effectivePerms(['A::OWNER@:r'], 'olive@', 'owners@', caller('eve'))), '');
  // audit/alarm entries grant nothing
  assert.equal(perms(effectivePerms(['U:S:EVERYONE@:rw'], 'olive@', 'owners@', caller('eve'))), '');
  // root gets no bypass
  assert.equal(perms(effectivePerms(DEFAULT_CONT_ACL, 'olive@', 'owners@', caller('root', ['root'], 0))), '');
  // the owner keeps exactly what OWNER@ gives
  assert.equal(perms(effectivePerms(['A::OWNER@:r', 'A::EVERYONE@:rw'], 'olive@', 'owners@', caller('olive'))), 'r');
});

test('pool perms: w implies create/delete containers and set-prop, r implies get-prop', () => {
  assert.equal(perms(effectivePerms(DEFAULT_POOL_ACL, 'olive@', 'owners@', caller('olive'), 'pool')), 'rwcdtT');
  assert.equal(perms(effectivePerms(DEFAULT_POOL_ACL, 'olive@', 'owners@', caller('eve'), 'pool')), 'rt');
});

test('property: every valid entry survives format(parse(x)) unchanged', () => {
  const name = fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,12}$/);
  const principal = fc.oneof(fc.constant('OWNER@'), fc.constant('EVERYONE@'), name.map((n) => `${n}@`));
  const permsArb = fc.subarray([...'rwdtTaAo']).map((a) => a.join(''));
  fc.assert(fc.property(principal, fc.boolean(), permsArb, (p, g, ps) => {
    const group = g && p !== 'OWNER@' && p !== 'EVERYONE@';
    const text = `A:${group ? 'G' : ''}:${p}:${ps}`;
    assert.equal(formatAce(parseAce(text)), text);
  }));
});
