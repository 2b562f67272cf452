// `strata filesystem compare A B`: walks both trees in lock step and reports
// what is missing on either side and what differs (type, size, mode, owner,
// mtime, xattrs, symlink target, device number, content). Containers are compared live, or
// at --snap for A.
import { engineGetter, openSource } from './ends.js';
import { fileChecksum } from './checksum.js';
import { sameTime } from './times.js';
import { march } from './walk.js';
import { filterXattrs, type XattrMode } from './xattrs.js';
import { WHOLE_MAX, isSpecialEntry, wholeReader, type MStat, type Tree } from './tree.js';
import { rdevMajor, rdevMinor } from '../dfs/layout.js';
import { reasonOf } from './transfer.js';

export interface Difference {
  path: string;
  /** missing-in-a | missing-in-b | type | size | mode | owner | mtime | xattrs | target | rdev | content | error */
  what: string;
  a?: string;
  b?: string;
}

export interface CompareOptions {
  engine?: string;
  snap?: string;
  xattrs?: XattrMode;
  /** Compare content of same-size files (default true). */
  content?: boolean;
  /** Compare mtimes of directories too (default false: copying into a directory changes it). */
  dirTimes?: boolean;
  /** Compare owners (default: when run as root, the only caller whose copies keep them, as with cp -a). */
  owner?: boolean;
  onDifference?: (d: Difference) => void;
}

export interface CompareSummary {
  identical: boolean;
  entries: number;
  differences: number;
  seconds: number;
}

export async function compare(aInput: string, bInput: string, opts: CompareOptions = {}): Promise<CompareSummary> {
  const eng = engineGetter(opts.engine);
  const t0 = process.hrtime.bigint();
  let entries = 0;
  let differences = 0;
  const report = (d: Difference) => { differences++; opts.onDifference?.(d); };
  try {
    const a = await openSource(eng.get, aInput, { snap: opts.snap, live: opts.snap === undefined });
    const trees: Tree[] = [a.tree];
    try {
      const b = await openSource(eng.get, bInput, { live: true });
      trees.push(b.tree);
      const xm = opts.xattrs ?? 'all';
      for await (const ev of march(a.tree, b.tree, '', a.st, b.st)) {
        if (ev.kind === 'leave') continue;
        const rel = ev.rel === '' ? '.' : ev.rel;
        if (ev.kind === 'error') { report({ path: rel, what: 'error', [ev.side === 'src' ? 'a' : 'b']: reasonOf(ev.error) }); continue; }
        entries++;
        const sa = ev.src;
        const sb = ev.dst;
        if (!sa) { report({ path: rel, what: 'missing-in-a', b: sb!.type }); continue; }
        if (!sb) { report({ path: rel, what: 'missing-in-b', a: sa.type }); continue; }
        try {
          await diffEntry(a.tree, b.tree, ev.rel, rel, sa, sb, xm, opts, report);
        } catch (e) {
          report({ path: rel, what: 'error', a: reasonOf(e) });
        }
      }
    } finally {
      // Held directories end with the run (a library caller compares many times).
      await Promise.all(trees.map((t) => t.close()));
      await a.release();
    }
  } finally {
    await eng.close();
  }
  return { identical: differences === 0, entries, differences, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
}

const oct = (n: number) => '0' + n.toString(8);
/** A device number as ls shows it: "major, minor". */
const devString = (rdev: bigint) => `${rdevMajor(rdev)}, ${rdevMinor(rdev)}`;

async function diffEntry(ta: Tree, tb: Tree, rel: string, shown: string, sa: MStat, sb: MStat, xm: XattrMode, opts: CompareOptions, report: (d: Difference) => void): Promise<void> {
  if (sa.type !== sb.type) { report({ path: shown, what: 'type', a: sa.type, b: sb.type }); return; }
  if (sa.type !== 'dir' && sa.size !== sb.size) report({ path: shown, what: 'size', a: String(sa.size), b: String(sb.size) });
  if (sa.type !== 'symlink' && sa.perm !== sb.perm) report({ path: shown, what: 'mode', a: oct(sa.perm), b: oct(sb.perm) });
  if ((opts.owner ?? process.getuid?.() === 0) && (sa.uid !== sb.uid || sa.gid !== sb.gid)) report({ path: shown, what: 'owner', a: `${sa.uid}:${sa.gid}`, b: `${sb.uid}:${sb.gid}` });
  if ((sa.type !== 'dir' || opts.dirTimes) && !sameTime(sa.mtimeNs, sb.mtimeNs)) report({ path: shown, what: 'mtime', a: sa.mtimeNs.toString(), b: sb.mtimeNs.toString() });
  // FIFOs, devices and sockets: by type, mode and device number, never by content (a FIFO would block).
  if (isSpecialEntry(sa.type) && (sa.rdev ?? 0n) !== (sb.rdev ?? 0n)) report({ path: shown, what: 'rdev', a: devString(sa.rdev ?? 0n), b: devString(sb.rdev ?? 0n) });
  if (sa.type === 'symlink') {
    const [x, y] = await Promise.all([ta.readlink(rel), tb.readlink(rel)]);
    if (x !== y) report({ path: shown, what: 'target', a: x, b: y });
    return;
  }
  // A small file's xattrs and bytes in one read where a tree keeps them together (DFS).
  const content = sa.type === 'file' && sa.size === sb.size && opts.content !== false;
  const whole = (t: Tree, s: MStat) => (s.type === 'file' && s.size <= WHOLE_MAX && (content || xm !== 'none') && t.readWhole ? t.readWhole(rel, s) : undefined);
  const [wa, wb] = await Promise.all([whole(ta, sa), whole(tb, sb)]);
  if (xm !== 'none') {
    const [xa, xb] = await Promise.all([wa?.xattrs ?? ta.xattrs(rel, sa), wb?.xattrs ?? tb.xattrs(rel, sb)]);
    const fa = filterXattrs(xm, xa);
    const fb = filterXattrs(xm, xb);
    const show = (x: Array<[string, Buffer]>) => x.map(([n, v]) => `${n}=${v.toString('base64')}`).sort().join(',');
    if (show(fa) !== show(fb)) report({ path: shown, what: 'xattrs', a: show(fa), b: show(fb) });
  }
  if (content) {
    const [ha, hb] = await Promise.all([
      fileChecksum(ta, rel, sa, wa && wholeReader(wa.data)), fileChecksum(tb, rel, sb, wb && wholeReader(wb.data)),
    ]);
    if (ha !== hb) report({ path: shown, what: 'content', a: ha, b: hb });
  }
}
