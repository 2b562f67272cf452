// DAOS access control lists: parsing, validation, editing and evaluation.
//
// An entry (ACE) is `TYPE:FLAGS:PRINCIPAL:PERMS`, e.g. `A::OWNER@:rwdtTaAo`,
// `A:G:GROUP@:rwtT`, `A::alice@:r`, `A:G:staff@:rw`.
//   TYPE   A (allow), U (audit), L (alarm) - only A grants anything
//   FLAGS  G (principal is a group), P (pool inherit), S/F (audit/alarm on success/failure)
//   PRINCIPAL  OWNER@, GROUP@ (needs G), EVERYONE@, or name@[domain]
//   PERMS  pools: r w c d t T a A o; containers: r w d t T a A o
//
// Evaluation, in DAOS order: the OWNER@ entry if the caller owns the object;
// else the caller's named-user entry; else the union of every group entry the
// caller matches (GROUP@ if it is in the owning group, named groups); else
// EVERYONE@; else nothing. There is no root bypass.
import { StrataError } from '../errors.js';
import type { Caller } from './identity.js';

export type AclTarget = 'pool' | 'container';

export interface Ace {
  type: 'A' | 'U' | 'L';
  /** Flag letters in canonical order (subset of "GPSF"). */
  flags: string;
  /** e.g. OWNER@, GROUP@, EVERYONE@, alice@ */
  principal: string;
  /** Permission letters in canonical order. */
  perms: string;
}

/** Every permission letter, in the order DAOS prints them. */
const PERM_ORDER = 'rwcdtTaAo';
export const POOL_PERMS = 'rwcdtTaAo';
export const CONT_PERMS = 'rwdtTaAo';
const FLAG_ORDER = 'GPSF';
const SPECIAL = ['OWNER@', 'GROUP@', 'EVERYONE@'];
const NAME_RE = /^[A-Za-z0-9_.$][A-Za-z0-9_.$-]{0,254}@([A-Za-z0-9_.-]{0,200})$/;

export const DEFAULT_POOL_ACL: readonly string[] = ['A::OWNER@:rw', 'A:G:GROUP@:rw', 'A::EVERYONE@:r'];
export const DEFAULT_CONT_ACL: readonly string[] = ['A::OWNER@:rwdtTaAo', 'A:G:GROUP@:rwtT'];

function bad(entry: string, why: string): StrataError {
  return new StrataError('EINVAL', `bad ACL entry '${entry}': ${why}`);
}

function canon(letters: string, order: string): string {
  return [...order].filter((c) => letters.includes(c)).join('');
}

/** Parses and validates one entry for a pool or container ACL. */
export function parseAce(text: string, target: AclTarget = 'container'): Ace {
  const entry = text.trim();
  const parts = entry.split(':');
  if (parts.length !== 4) throw bad(entry, 'expected TYPE:FLAGS:PRINCIPAL:PERMISSIONS (e.g. A::alice@:rw)');
  const [type, flags, principal, perms] = parts as [string, string, string, string];
  if (type !== 'A' && type !== 'U' && type !== 'L') throw bad(entry, `unknown type '${type}' (A allow, U audit, L alarm)`);
  for (const f of flags) if (!FLAG_ORDER.includes(f)) throw bad(entry, `unknown flag '${f}' (G group, P pool-inherit, S success, F failure)`);
  if (new Set(flags).size !== flags.length) throw bad(entry, 'repeated flag');
  if (type === 'A' && (flags.includes('S') || flags.includes('F'))) throw bad(entry, 'flags S and F are only for audit (U) and alarm (L) entries');
  if (type !== 'A' && !flags.includes('S') && !flags.includes('F')) throw bad(entry, `type ${type} needs flag S or F`);
  if (!principal) throw bad(entry, 'missing principal');
  if (principal === 'GROUP@' && !flags.includes('G')) throw bad(entry, 'GROUP@ needs the G flag (A:G:GROUP@:...)');
  if ((principal === 'OWNER@' || principal === 'EVERYONE@') && flags.includes('G')) throw bad(entry, `${principal} cannot have the G flag`);
  if (!SPECIAL.includes(principal) && !NAME_RE.test(principal)) {
    throw bad(entry, `bad principal '${principal}' (expected OWNER@, GROUP@, EVERYONE@ or name@)`);
  }
  const allowed = target === 'pool' ? POOL_PERMS : CONT_PERMS;
  for (const p of perms) {
    if (!allowed.includes(p)) throw bad(entry, `unknown ${target} permission '${p}' (allowed: ${allowed})`);
  }
  return { type, flags: canon(flags, FLAG_ORDER), principal, perms: canon(perms, PERM_ORDER) };
}

export function formatAce(a: Ace): string {
  return `${a.type}:${a.flags}:${a.principal}:${a.perms}`;
}

/** Identity of an entry in an ACL: one entry per (type, user-or-group, principal). */
function aceKey(a: Ace): string {
  return `${a.type}:${a.flags.includes('G') ? 'g' : 'u'}:${a.principal}`;
}

function rank(a: Ace): number {
  if (a.principal === 'OWNER@') return 0;
  if (a.principal === 'GROUP@') return 2;
  if (a.principal === 'EVERYONE@') return 4;
  return a.flags.includes('G') ? 3 : 1;
}

/** Sorts like DAOS prints ACLs: owner, users, owning group, groups, everyone. */
export function sortAcl(aces: Ace[]): Ace[] {
  return aces.map((a, i) => ({ a, i })).sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i).map((x) => x.a);
}

/** Parses and validates a whole ACL (no two entries for the same principal). Returns it in canonical text form. */
export function validateAcl(entries: readonly string[], target: AclTarget = 'container'): string[] {
  const seen = new Set<string>();
  const aces: Ace[] = [];
  for (const e of entries) {
    const a = parseAce(e, target);
    const k = aceKey(a);
    if (seen.has(k)) throw bad(e, `a second entry for ${a.flags.includes('G') ? 'group' : 'user'} ${a.principal}`);
    seen.add(k);
    aces.push(a);
  }
  return sortAcl(aces).map(formatAce);
}

/** Parses ACL file text: one entry per line, blank lines and `#` comments ignored. */
export function parseAclText(text: string, target: AclTarget = 'container'): string[] {
  const entries = text.split(/\r?\n/).map((l) => l.replace(/#.*$/, '').trim()).filter((l) => l.length > 0);
  return validateAcl(entries, target);
}

/** Adds entries, replacing any existing entry for the same principal. */
export function updateAclEntries(acl: readonly string[], add: readonly string[], target: AclTarget = 'container'): string[] {
  const cur = acl.map((e) => parseAce(e, target));
  const next = validateAcl(add, target).map((e) => parseAce(e, target));
  for (const n of next) {
    const i = cur.findIndex((c) => aceKey(c) === aceKey(n));
    if (i >= 0) cur[i] = n; else cur.push(n);
  }
  return sortAcl(cur).map(formatAce);
}

/**
 * Parses a principal as `daos cont delete-acl --principal` takes it:
 * `u:alice@`, `g:staff@`, `alice@` (a user), `OWNER@`, `GROUP@`, `EVERYONE@`.
 */
export function parsePrincipal(text: string): { group: boolean; principal: string } {
  const t = text.trim();
  let group = false;
  let p = t;
  const m = /^([ug]):(.*)$/.exec(t);
  if (m) { group = m[1] === 'g'; p = m[2]!; }
  if (p === 'GROUP@') group = true;
  if (!SPECIAL.includes(p) && !NAME_RE.test(p)) {
    throw new StrataError('EINVAL', `bad principal '${text}' (expected OWNER@, GROUP@, EVERYONE@, u:name@ or g:name@)`);
  }
  if (m && SPECIAL.includes(p) && (p === 'GROUP@') !== group) {
    throw new StrataError('EINVAL', `bad principal '${text}'`);
  }
  return { group, principal: p };
}

/** Removes every entry for a principal; ENOENT if there is none. */
export function deleteAclPrincipal(acl: readonly string[], principalText: string, target: AclTarget = 'container'): string[] {
  const { group, principal } = parsePrincipal(principalText);
  const cur = acl.map((e) => parseAce(e, target));
  const keep = cur.filter((a) => !(a.principal === principal && a.flags.includes('G') === group));
  if (keep.length === cur.length) throw new StrataError('ENOENT', `no ACL entry for principal ${principalText}`);
  return keep.map(formatAce);
}

function nameOf(principal: string): string {
  return principal.slice(0, principal.indexOf('@'));
}

/**
 * The permissions an ACL grants a caller, in DAOS order. `owner` and `group`
 * are principals (`alice@`, `staff@`). Pool 'w' also grants c (create
 * containers), d (delete containers) and T; pool 'r' also grants t, as in DAOS.
 */
export function effectivePerms(acl: readonly string[], owner: string, group: string, caller: Caller, target: AclTarget = 'container'): Set<string> {
  const aces = acl.map((e) => parseAce(e, target)).filter((a) => a.type === 'A');
  const isGroupAce = (a: Ace) => a.flags.includes('G');
  const result = (() => {
    if (nameOf(owner) === caller.user) {
      const e = aces.find((a) => a.principal === 'OWNER@');
      if (e) return e.perms;
    }
    const u = aces.find((a) => !isGroupAce(a) && !SPECIAL.includes(a.principal) && nameOf(a.principal) === caller.user);
    if (u) return u.perms;
    let matched = false;
    let union = '';
    for (const a of aces) {
      if (!isGroupAce(a)) continue;
      const g = a.principal === 'GROUP@' ? nameOf(group) : nameOf(a.principal);
      if (caller.groups.includes(g)) { matched = true; union += a.perms; }
    }
    if (matched) return union;
    return aces.find((a) => a.principal === 'EVERYONE@')?.perms ?? '';
  })();
  const set = new Set<string>(result);
  if (target === 'pool') {
    if (set.has('r')) set.add('t');
    if (set.has('w')) { set.add('c'); set.add('d'); set.add('T'); }
  }
  return new Set([...PERM_ORDER].filter((c) => set.has(c)));
}
