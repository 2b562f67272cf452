// Names as the mover carries them. POSIX names are arbitrary bytes (no NUL, no
// '/'); DFS names are UTF-8 strings. The mover carries every name as a string
// in an escaped form that maps bytes to strings one-to-one, so names that are
// not valid UTF-8 survive POSIX -> container -> POSIX byte-exactly:
//  - a valid UTF-8 sequence is its character, except characters in
//    U+EF80..U+EFFF (Private Use Area), which are escaped byte by byte;
//  - a byte that is not part of a valid sequence (always >= 0x80) becomes
//    U+EF00 + byte.
// Decoding maps U+EF80..U+EFFF back to single bytes. (The same scheme as
// "UTF-8b"/OPTU-8; a name of plain UTF-8 is unchanged.) Symlink targets use it too.

const ESC_LO = 0xef80;
const ESC_HI = 0xefff;

function hasEscapeRange(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= ESC_LO && c <= ESC_HI) return true;
  }
  return false;
}

/** Bytes -> escaped string. */
export function encodeName(raw: Uint8Array): string {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.length);
  const s = b.toString('utf8');
  if (!s.includes('\ufffd') && !hasEscapeRange(s)) return s;
  // Slow path: walk the bytes.
  let out = '';
  for (let i = 0; i < b.length;) {
    const c = b[i]!;
    if (c < 0x80) { out += String.fromCharCode(c); i++; continue; }
    const len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    let cp = -1;
    if (len > 0 && i + len <= b.length) {
      let v = len === 2 ? c & 0x1f : len === 3 ? c & 0x0f : c & 0x07;
      let ok = true;
      for (let k = 1; k < len; k++) {
        const d = b[i + k]!;
        if ((d & 0xc0) !== 0x80) { ok = false; break; }
        v = (v << 6) | (d & 0x3f);
      }
      const min = len === 2 ? 0x80 : len === 3 ? 0x800 : 0x10000;
      if (ok && v >= min && v <= 0x10ffff && !(v >= 0xd800 && v <= 0xdfff)) cp = v;
    }
    if (cp >= 0 && !(cp >= ESC_LO && cp <= ESC_HI)) {
      out += String.fromCodePoint(cp);
      i += len;
    } else if (cp >= 0) {
      for (let k = 0; k < len; k++) out += String.fromCharCode(0xef00 + b[i + k]!);
      i += len;
    } else {
      out += String.fromCharCode(0xef00 + c);
      i++;
    }
  }
  return out;
}

/** Escaped string -> bytes. */
export function decodeName(s: string): Buffer {
  if (!hasEscapeRange(s)) return Buffer.from(s, 'utf8');
  const parts: Buffer[] = [];
  let run = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c >= ESC_LO && c <= ESC_HI) {
      if (run) { parts.push(Buffer.from(run, 'utf8')); run = ''; }
      parts.push(Buffer.from([c - 0xef00]));
    } else run += ch;
  }
  if (run) parts.push(Buffer.from(run, 'utf8'));
  return Buffer.concat(parts);
}

/** True when the escaped string stands for bytes that are valid UTF-8 (no escapes). */
export function isPlain(s: string): boolean {
  return !hasEscapeRange(s);
}

/** Byte order of names (the order DFS lists them in, and the order of every walk). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Walk (pre-)order of relative paths: component by component, so a directory
 * comes right before its content, and "a/x" before "a-b". '' (the root) first.
 */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a.replaceAll('/', '\0'), 'utf8'), Buffer.from(b.replaceAll('/', '\0'), 'utf8'));
}

export function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

export function parentRel(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

export function baseRel(rel: string): string {
  return rel.slice(rel.lastIndexOf('/') + 1);
}

/** Names of temporary files written before they are renamed into place (fs put writes them too). */
export { TEMP_RE, tempName } from '../dfs/path.js';
