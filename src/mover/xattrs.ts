// Extended attributes of POSIX files, and which ones a move copies.
// `@napi-rs/xattr` works on path strings without following symlinks; a path
// that is not valid UTF-8 cannot be a JS string, so for those the mover falls
// back to getfattr/setfattr (package attr) with the name built by the shell.
// The synchronous calls are used: one xattr syscall costs far less than a trip
// through libuv's thread pool.
import { execFileSync } from 'node:child_process';
import { getAttributeSync, listAttributesSync, removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { StrataError } from '../errors.js';

export type XattrMode = 'none' | 'all' | 'non-lustre';

export function parseXattrMode(s: string | undefined): XattrMode {
  const v = s ?? 'non-lustre';
  if (v !== 'none' && v !== 'all' && v !== 'non-lustre') throw new StrataError('EINVAL', `bad --xattrs '${s}' (none, all or non-lustre)`);
  return v;
}

/** Layout xattrs that describe where a file's data lives on Lustre: copying them breaks the target. */
export function isLustreXattr(name: string): boolean {
  return name.startsWith('lustre.') || /^trusted\.(lov|lma|lmv|link|fid|som|hsm|dmv|lhsm)$/.test(name);
}

export function keepXattr(mode: XattrMode, name: string): boolean {
  if (mode === 'none') return false;
  if (mode === 'all') return true;
  return !isLustreXattr(name);
}

export function filterXattrs(mode: XattrMode, xs: Array<[string, Buffer]>): Array<[string, Buffer]> {
  return mode === 'none' ? [] : xs.filter(([n]) => keepXattr(mode, n));
}

/** A path usable with the string-based xattr calls, or undefined if the bytes are not valid UTF-8. */
function asString(p: Buffer): string | undefined {
  const s = p.toString('utf8');
  return Buffer.from(s, 'utf8').equals(p) ? s : undefined;
}

/** $'...' quoting of arbitrary bytes for bash. */
function bashBytes(p: Buffer): string {
  let s = "$'";
  for (const c of p) s += c >= 0x20 && c < 0x7f && c !== 0x27 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s + "'";
}

function errno(e: unknown): string | undefined {
  const m = /os error (\d+)/.exec(String((e as Error)?.message ?? ''));
  const n = m ? Number(m[1]) : undefined;
  return n === 95 ? 'ENOTSUP' : n === 61 ? 'ENODATA' : n === 1 ? 'EPERM' : n === 13 ? 'EACCES' : n === 28 ? 'ENOSPC' : n === 2 ? 'ENOENT' : n === 7 ? 'E2BIG' : undefined;
}

function xerr(e: unknown, what: string, hint = ''): StrataError {
  const code = errno(e);
  const known = code === 'ENOTSUP' || code === 'EPERM' || code === 'EACCES' || code === 'ENOSPC' || code === 'ENOENT' || code === 'ENODATA';
  return new StrataError(known ? code : 'EIO', `${what}: ${String((e as Error)?.message ?? e)}${hint}`, { cause: e });
}

/** Why a destination refuses an attribute is its own rule: say how to copy without. */
const SET_HINT = ' (the destination does not take this attribute; --xattrs none copies without extended attributes)';

/** All xattrs of a path (symlinks not followed). A filesystem without xattrs gives []. */
export async function readXattrs(p: Buffer): Promise<Array<[string, Buffer]>> {
  const s = asString(p);
  if (s === undefined) return readXattrsShell(p);
  let names: string[];
  try {
    names = listAttributesSync(s);
  } catch (e) {
    if (errno(e) === 'ENOTSUP') return [];
    throw xerr(e, 'listxattr');
  }
  const out: Array<[string, Buffer]> = [];
  for (const n of names.sort()) {
    try {
      const v = getAttributeSync(s, n);
      if (v) out.push([n, Buffer.from(v)]);
    } catch (e) {
      if (errno(e) !== 'ENODATA') throw xerr(e, `getxattr ${n}`);
    }
  }
  return out;
}

function readXattrsShell(p: Buffer): Array<[string, Buffer]> {
  let text: string;
  try {
    text = execFileSync('bash', ['-c', `getfattr -h -d -m - -e hex -- ${bashBytes(p)} 2>/dev/null || true`], { encoding: 'latin1' });
  } catch {
    return [];
  }
  const out: Array<[string, Buffer]> = [];
  for (const line of text.split('\n')) {
    const m = /^([^#=][^=]*)=0x([0-9a-f]*)$/.exec(line.trim());
    if (m) out.push([m[1]!, Buffer.from(m[2]!, 'hex')]);
    else {
      const m2 = /^([^#=][^=]*)$/.exec(line.trim());
      if (m2 && line.trim()) out.push([m2[1]!, Buffer.alloc(0)]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Makes the xattrs of a path exactly `want` (removes others, sets the rest). */
export async function writeXattrs(p: Buffer, want: Array<[string, Buffer]>, have?: Array<[string, Buffer]>): Promise<void> {
  const s = asString(p);
  const cur = have ?? (want.length === 0 ? [] : await readXattrs(p));
  const wantNames = new Set(want.map(([n]) => n));
  if (s === undefined) {
    const cmds: string[] = [];
    for (const [n] of cur) if (!wantNames.has(n)) cmds.push(`setfattr -h -x ${bashBytes(Buffer.from(n))} -- ${bashBytes(p)}`);
    for (const [n, v] of want) cmds.push(`setfattr -h -n ${bashBytes(Buffer.from(n))} -v 0x${v.toString('hex')} -- ${bashBytes(p)}`);
    if (cmds.length === 0) return;
    try {
      execFileSync('bash', ['-c', cmds.join(' && ')], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      throw new StrataError('EIO', `setfattr: ${String((e as { stderr?: Buffer }).stderr ?? e).trim()}${SET_HINT}`);
    }
    return;
  }
  for (const [n] of cur) {
    if (wantNames.has(n)) continue;
    try { removeAttributeSync(s, n); } catch (e) { if (errno(e) !== 'ENODATA') throw xerr(e, `removexattr ${n}`); }
  }
  const curMap = new Map(cur);
  for (const [n, v] of want) {
    if (curMap.get(n)?.equals(v)) continue;
    try { setAttributeSync(s, n, v); } catch (e) { throw xerr(e, `setxattr ${n}`, SET_HINT); }
  }
}
