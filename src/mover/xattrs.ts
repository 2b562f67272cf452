// Extended attributes of POSIX files, and which ones a move copies.
// Paths and attribute names are bytes. `@napi-rs/xattr` (l* calls: a final
// symlink is never followed) takes strings: it serves every path and name
// that is valid UTF-8, nearly all of them, without loading a native library.
// A path or an attribute name that is not UTF-8 goes through the byte-path
// calls of the project's native addon (native/h5, loaded on first need).
// Attribute names are carried escaped like file names (names.ts), so their
// bytes survive a container. Any failure is an error for that path: never an
// empty list. The synchronous calls are used: one xattr syscall costs far
// less than a trip through libuv's thread pool.
import { getAttributeSync, listAttributesSync, removeAttributeSync, setAttributeSync } from '@napi-rs/xattr';
import { StrataError } from '../errors.js';
import { nativeAddon } from '../native-addon.js';
import { decodeName, encodeName } from './names.js';

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

/** A path or name usable with the string-based xattr calls, or undefined if the bytes are not valid UTF-8. */
function asString(p: Buffer): string | undefined {
  const s = p.toString('utf8');
  return Buffer.from(s, 'utf8').equals(p) ? s : undefined;
}

/** The byte-path calls of the native addon (see native/h5/h5.c, "extended attributes of byte paths"). */
interface ByteXattrs {
  xattrList(p: Buffer): Buffer[];
  xattrGet(p: Buffer, name: Buffer): Buffer | null;
  xattrSet(p: Buffer, name: Buffer, value: Buffer): void;
  xattrRemove(p: Buffer, name: Buffer): void;
}
function bytes(): ByteXattrs {
  return nativeAddon<ByteXattrs>('extended attributes of names that are not UTF-8 need');
}

/** The errno name of a failed xattr call: the addon's `code`, or "os error N" in @napi-rs/xattr's message. */
function errno(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return code;
  const m = /os error (\d+)/.exec(String((e as Error)?.message ?? ''));
  const n = m ? Number(m[1]) : undefined;
  return n === 95 ? 'ENOTSUP' : n === 61 ? 'ENODATA' : n === 1 ? 'EPERM' : n === 13 ? 'EACCES' : n === 28 ? 'ENOSPC' : n === 2 ? 'ENOENT' : n === 7 ? 'E2BIG' : n === 5 ? 'EIO' : n === 20 ? 'ENOTDIR' : n === 122 ? 'EDQUOT' : n === 30 ? 'EROFS' : n !== undefined ? 'EIO' : undefined;
}

function xerr(e: unknown, what: string, hint = ''): StrataError {
  const code = errno(e);
  const known = code === 'ENOTSUP' || code === 'EPERM' || code === 'EACCES' || code === 'ENOSPC' || code === 'ENOENT' || code === 'ENODATA' || code === 'EROFS' || code === 'ENOTDIR';
  return new StrataError(known ? code : 'EIO', `${what}: ${String((e as Error)?.message ?? e)}${hint}`, { cause: e });
}

/** Why a destination refuses an attribute is its own rule: say how to copy without. */
const SET_HINT = ' (the destination does not take this attribute; --xattrs none copies without extended attributes)';

/**
 * All xattrs of a path (a final symlink not followed), sorted by name; names
 * escaped (names.ts). A filesystem without xattrs gives [].
 */
export async function readXattrs(p: Buffer): Promise<Array<[string, Buffer]>> {
  const s = asString(p);
  if (s !== undefined) {
    let names: string[] | undefined;
    try {
      names = listAttributesSync(s);
    } catch (e) {
      if (errno(e) === 'ENOTSUP') return [];
      // Not an OS error: an attribute name that is not UTF-8 ("Invalid attribute"): read by bytes.
      if (errno(e) !== undefined) throw xerr(e, 'listxattr');
    }
    if (names) {
      const out: Array<[string, Buffer]> = [];
      for (const n of names) {
        try {
          const v = getAttributeSync(s, n);
          if (v) out.push([encodeName(Buffer.from(n, 'utf8')), Buffer.from(v)]);
        } catch (e) {
          if (errno(e) !== 'ENODATA') throw xerr(e, `getxattr ${n}`); // ENODATA: removed since the listing
        }
      }
      return out.sort(byName);
    }
  }
  return readXattrsBytes(p);
}

function readXattrsBytes(p: Buffer): Array<[string, Buffer]> {
  const b = bytes();
  let names: Buffer[];
  try {
    names = b.xattrList(p);
  } catch (e) {
    if (errno(e) === 'ENOTSUP') return [];
    throw xerr(e, 'listxattr');
  }
  const out: Array<[string, Buffer]> = [];
  for (const n of names) {
    let v: Buffer | null;
    try {
      v = b.xattrGet(p, n);
    } catch (e) {
      throw xerr(e, `getxattr ${encodeName(n)}`);
    }
    if (v) out.push([encodeName(n), v]); // null: removed since the listing
  }
  return out.sort(byName);
}

function byName(a: [string, Buffer], b: [string, Buffer]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Makes the xattrs of a path exactly `want` (removes others, sets the rest); names escaped. */
export async function writeXattrs(p: Buffer, want: Array<[string, Buffer]>, have?: Array<[string, Buffer]>): Promise<void> {
  const cur = have ?? (want.length === 0 ? [] : await readXattrs(p));
  const wantNames = new Set(want.map(([n]) => n));
  const curMap = new Map(cur);
  const s = asString(p);
  // Each name as the string calls take it, or undefined when only the byte calls can.
  const str = (n: string): string | undefined => (s === undefined ? undefined : asString(decodeName(n)));
  for (const [n] of cur) {
    if (wantNames.has(n)) continue;
    const ns = str(n);
    try {
      if (ns !== undefined) removeAttributeSync(s!, ns);
      else bytes().xattrRemove(p, decodeName(n));
    } catch (e) {
      if (errno(e) !== 'ENODATA') throw xerr(e, `removexattr ${n}`);
    }
  }
  for (const [n, v] of want) {
    if (curMap.get(n)?.equals(v)) continue;
    const ns = str(n);
    try {
      if (ns !== undefined) setAttributeSync(s!, ns, v);
      else bytes().xattrSet(p, decodeName(n), v);
    } catch (e) {
      throw xerr(e, `setxattr ${n}`, SET_HINT);
    }
  }
}
