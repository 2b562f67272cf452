// Small helpers of the tier layer: the test pause hook, path checks, sizes of
// local trees, processes writing below a directory, and a glob matcher.
import fs from 'node:fs';
import path from 'node:path';
import { StrataError, fromSystemError } from '../errors.js';
import { findLink, readLinkAt, type LinkInfo } from '../uns/index.js';
import { isOnLustre } from '../uns/fsx.js';
import { mountTable } from '../mountinfo.js';

/**
 * Test hook: when STRATA_TIER_PAUSE_AT names this step, print
 * "strata: tier: paused at <step> (pid N)" on stderr and stop here — the whole
 * process, work in flight included — so a test can kill it at exactly this
 * point. With STRATA_TIER_PAUSE_FILE set, the run continues once that file is
 * removed; otherwise it waits forever.
 */
export function pauseAt(step: string): void {
  const want = (process.env['STRATA_TIER_PAUSE_AT'] ?? '').split(',').map((s) => s.trim());
  if (!want.includes(step)) return;
  fs.writeSync(2, `strata: tier: paused at ${step} (pid ${process.pid})\n`);
  const file = process.env['STRATA_TIER_PAUSE_FILE'];
  const cell = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    Atomics.wait(cell, 0, 0, 50); // blocks the event loop: nothing else runs meanwhile
    if (file && !fs.existsSync(file)) return;
  }
}

/** The absolute path with its parent resolved (the entry itself is not followed). */
export function entryPath(p: string): string {
  const abs = path.resolve(p);
  if (abs === '/') return abs;
  let parent: string;
  try {
    parent = fs.realpathSync(path.dirname(abs));
  } catch (e) {
    throw fromSystemError(e, p);
  }
  return path.join(parent, path.basename(abs));
}

/** `.NAME.strata-<what>-<id>` beside p. */
export function hiddenSibling(p: string, what: 'archive' | 'restore', id: string): string {
  return path.join(path.dirname(p), `.${path.basename(p)}.strata-${what}-${id}`);
}

export function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromSystemError(e, p);
  }
}

/** Refuses a directory that cannot be archived: missing, not a directory, a link or inside one, a filesystem root. */
export function checkArchivable(p: string): fs.Stats {
  if (p === '/') throw new StrataError('EINVAL', `/ is the root of a filesystem: archive a directory inside it`);
  const r = findLink(p);
  if (r) {
    if (r.rest === '/') throw new StrataError('EINVAL', `${p} is already a UNS link (to container ${r.link.cont} in pool ${r.link.pool}): it is archived already`);
    throw new StrataError('EINVAL', `${p} is inside the container linked at ${r.link.path}: it is in the tier already`);
  }
  const st = lstatOrUndefined(p);
  if (!st) throw new StrataError('ENOENT', `${p}: no such directory`);
  if (st.isSymbolicLink()) throw new StrataError('EINVAL', `${p} is a symbolic link: archive the directory it points to`);
  if (!st.isDirectory()) throw new StrataError('ENOTDIR', `${p} is not a directory (tier archive moves directories)`);
  const parent = fs.statSync(path.dirname(p));
  // A bind mount of a directory of the same filesystem shows in the mount table only.
  if (parent.dev !== st.dev || parent.ino === st.ino || mountPointsAt(p).includes(p)) {
    throw new StrataError('EINVAL', `${p} is the root of a filesystem (a mount point): it cannot be replaced by a link; archive a directory inside it`);
  }
  refuseMountsBelow(p);
  try {
    fs.accessSync(path.dirname(p), fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new StrataError('EACCES', `${p}: no write permission on ${path.dirname(p)} (the directory is replaced by a link there)`);
  }
  return st;
}

/**
 * Mount points at or below `root`, from /proc/self/mountinfo (its real
 * path is compared): a bind mount of a directory of the same filesystem has
 * the same st_dev as its parent and shows only there.
 */
export function mountPointsAt(root: string): string[] {
  let real: string;
  try { real = fs.realpathSync(root); } catch { return []; }
  const prefix = real === '/' ? '/' : `${real}/`;
  const out: string[] = [];
  for (const { mountpoint: mp } of mountTable()) {
    if (mp === real || mp.startsWith(prefix)) out.push(root + mp.slice(real.length));
  }
  return [...new Set(out)].sort();
}

/**
 * Refuses a tree with a mount point inside: its data is not the tree's, the
 * swap cannot remove it (EBUSY), and nothing strata does to the tree (copy,
 * chmod, delete) may reach another filesystem.
 */
export function refuseMountsBelow(root: string, dirsOnOtherDevices: readonly string[] = []): void {
  const mps = [...new Set([...mountPointsAt(root).filter((m) => m !== root), ...dirsOnOtherDevices])];
  if (mps.length) {
    throw new StrataError('EINVAL', `${mps[0]} is a mount point inside ${root}${mps.length > 1 ? ` (and ${mps.length - 1} more)` : ''}: tier archive does not cross into other filesystems; unmount it or archive the directories beside it; ${root} was not changed`);
  }
}

export interface TreeSize {
  bytes: number; files: number; dirs: number; newestMtimeMs: number;
  /** Directories on another device than the root (mount points; not entered, not counted). */
  otherDevices: string[];
  /** With `links`: the UNS links found below the root (not entered, not counted). */
  links: LinkInfo[];
}

/** Apparent size, counts and newest mtime of a local tree (symlinks not followed, other filesystems not entered, hard links once). */
export async function treeSize(root: string, onError?: (p: string, e: unknown) => void, opts: { links?: boolean } = {}): Promise<TreeSize> {
  const out: TreeSize = { bytes: 0, files: 0, dirs: 0, newestMtimeMs: 0, otherDevices: [], links: [] };
  const st0 = fs.lstatSync(root);
  const seen = new Set<string>();
  const walk = async (dir: string, dirDev: number): Promise<void> => {
    let d: fs.Dir;
    try { d = await fs.promises.opendir(dir, { bufferSize: 128 }); } catch (e) { onError?.(dir, e); return; }
    const lustre = opts.links ? isOnLustre(dir, dirDev) : false;
    try {
      for await (const ent of d) {
        const p = path.join(dir, ent.name);
        let st: fs.Stats;
        try { st = fs.lstatSync(p); } catch (e) { onError?.(p, e); continue; }
        if (opts.links) {
          // In the same walk: a link's data is in its container, not below it.
          let link: LinkInfo | undefined;
          try { link = readLinkAt(p, st, lustre, dirDev); } catch (e) { onError?.(p, e); continue; }
          if (link) { out.links.push(link); continue; }
        }
        out.newestMtimeMs = Math.max(out.newestMtimeMs, st.mtimeMs);
        if (st.isDirectory()) {
          out.dirs++;
          if (st.dev === st0.dev) await walk(p, st.dev);
          else out.otherDevices.push(p);
        } else {
          if (st.isFile() && st.nlink > 1) {
            const key = `${st.dev}:${st.ino}`;
            if (seen.has(key)) continue;
            seen.add(key);
          }
          out.files++;
          if (st.isFile()) out.bytes += st.size;
        }
      }
    } finally {
      await d.close().catch(() => {});
    }
  };
  out.newestMtimeMs = st0.mtimeMs;
  if (st0.isDirectory()) await walk(root, st0.dev);
  return out;
}

/** Processes that hold a file at or below `root` open for writing: "pid N (comm): path". */
export function writersBelow(root: string): string[] {
  const out: string[] = [];
  const prefix = root.endsWith('/') ? root : root + '/';
  let pids: string[];
  try { pids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { return out; }
  for (const pid of pids) {
    let fds: string[];
    try { fds = fs.readdirSync(`/proc/${pid}/fd`); } catch { continue; }
    for (const fd of fds) {
      let target: string;
      try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
      if (target !== root && !target.startsWith(prefix)) continue;
      let flags = 0;
      try {
        const m = /flags:\s*([0-7]+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
        flags = m ? parseInt(m[1]!, 8) : 0;
      } catch { continue; }
      if ((flags & 3) === 0) continue; // O_RDONLY
      let comm = '?';
      try { comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { /* gone */ }
      out.push(`pid ${pid} (${comm}): ${target}`);
    }
  }
  return out;
}

export function refuseWriters(root: string, shownAs: string): void {
  const w = writersBelow(root);
  if (w.length) {
    throw new StrataError('EBUSY', `${shownAs} has files open for writing (${w.slice(0, 3).join('; ')}${w.length > 3 ? `; and ${w.length - 3} more` : ''}): close them and run the command again`);
  }
}

/**
 * Removes a tree (best effort chmod of read-only directories first). A tree
 * with a mount point inside is refused whole: a recursive delete would empty
 * the other filesystem's directory, and a chmod would change it.
 */
export function removeTree(p: string): void {
  const mps = mountPointsAt(p);
  if (mps.length) throw new StrataError('EBUSY', `cannot remove ${p}: ${mps[0]} is a mount point${mps[0] === p ? '' : ' inside it'}; unmount it, then remove ${p}`);
  try {
    fs.rmSync(p, { recursive: true, force: true });
  } catch {
    const dev = lstatOrUndefined(p)?.dev;
    const fix = (d: string): void => {
      if (fs.lstatSync(d, { throwIfNoEntry: false })?.dev !== dev) return; // never across devices
      try { fs.chmodSync(d, 0o700); } catch { /* ignore */ }
      let ents: fs.Dirent[] = [];
      try { ents = fs.readdirSync(d, { withFileTypes: true }); } catch { /* ignore */ }
      for (const e of ents) if (e.isDirectory()) fix(path.join(d, e.name));
    };
    fix(p);
    fs.rmSync(p, { recursive: true, force: true });
  }
}

// ---------- units ----------

/** Sizes ("1G", "512M", "4096") are parsed like every other size in strata. */
export { parseSize } from '../container/props.js';

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** "30d", "12h", "90m", "2w", "1y", "45s" -> milliseconds. */
export function parseAge(s: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdwy])\s*$/i.exec(s);
  if (!m) throw new StrataError('EINVAL', `bad age '${s}' (examples: 45s, 90m, 12h, 30d, 2w, 1y)`);
  return Math.round(Number(m[1]) * AGE_UNITS[m[2]!.toLowerCase()]! * 1000);
}

export function formatBytes(n: number): string {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, ms / 1000);
  if (s < 120) return `${Math.floor(s)}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A glob (`*`, `?`, `[...]`, `**`) as a RegExp over a relative path with '/' separators. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') { i++; re += '(?:.*/)?'; } else re += '.*';
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { re += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
