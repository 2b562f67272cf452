// `strata filesystem` (alias `fs`): POSIX operations on a POSIX container's
// filesystem, addressed by daos://<pool>/<cont>/<path> URIs, /<pool-uuid>/<cont-uuid>/<path>,
// or a UNS path (a link or a path below one).
import type { Command } from 'commander';
import { StrataError } from '../errors.js';
import type { Engine } from '../engine/types.js';
import type { Dfs, DirEntry, FileType, Stat } from '../dfs/index.js';
import { withEngine, printJson, jsonList, count } from './context.js';

// The DFS, container and UNS layers are loaded when a command runs, not for --help.
const dfsLib = () => import('../dfs/index.js');
const location = () => import('../uns/location.js');
const containerLib = () => import('../container/index.js');

interface SnapOpts { snap?: string; epc?: string }

/** A location in a container: daos://, /<pool-uuid>/<cont-uuid>/..., or a UNS path. */
async function containerLocation(s: string): Promise<{ pool: string; cont: string; path: string }> {
  const { resolveLocation, formatLocation } = await location();
  const l = await resolveLocation(s);
  if (l.kind !== 'container') {
    throw new StrataError('EINVAL', `'${s}' is not in a container (expected daos://<pool>/<cont>[/path], /<pool-uuid>/<cont-uuid>[/path], or a path at or below a UNS link; ${formatLocation(l)} is under no link)`);
  }
  return l;
}

async function withDfs<T>(cmd: Command, uri: string, write: boolean, snap: SnapOpts, fn: (dfs: Dfs, path: string) => Promise<T>): Promise<T> {
  const u = await containerLocation(uri);
  const { openContainer, resolveSnapshot } = await containerLib();
  const { mountDfs } = await dfsLib();
  return withEngine(cmd, async (engine: Engine) => {
    const c = await openContainer(engine, u.pool, u.cont, { write: write && snap.snap === undefined && snap.epc === undefined });
    let epoch: number | undefined;
    if (snap.snap !== undefined || snap.epc !== undefined) epoch = await resolveSnapshot(c, { snap: snap.snap, epc: snap.epc });
    const dfs = await mountDfs(c, { epoch, readOnly: !write });
    return fn(dfs, u.path);
  });
}

function snapOptions(c: Command): Command {
  return c.option('--snap <name>', 'read the view of this snapshot').option('--epc <epoch>', 'read the view of the snapshot at this epoch');
}

const TYPE_CHAR: Record<FileType, string> = { dir: 'd', file: '-', symlink: 'l', fifo: 'p', chr: 'c', blk: 'b', sock: 's' };

/** A device's number as ls -l shows it in the size column ("1, 3"); undefined for other types. */
function deviceString(st: Stat): string | undefined {
  return st.type === 'chr' || st.type === 'blk' ? `${Number(st.rdev >> 32n)}, ${Number(st.rdev & 0xffffffffn)}` : undefined;
}

export function modeString(st: Stat): string {
  const p = st.perm;
  const rwx = (bits: number, special: boolean, ch: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? ch : ch.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return TYPE_CHAR[st.type] + rwx(p >> 6, !!(p & 0o4000), 's') + rwx(p >> 3, !!(p & 0o2000), 's') + rwx(p, !!(p & 0o1000), 't');
}

function timeString(ns: bigint): string {
  return new Date(Number(ns / 1_000_000n)).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

function statJson(st: Stat): Record<string, unknown> {
  const { rdev, ...rest } = st;
  const dev = deviceString(st) !== undefined ? { rdevMajor: Number(rdev >> 32n), rdevMinor: Number(rdev & 0xffffffffn) } : {};
  return { ...rest, mode: '0' + st.mode.toString(8), perm: '0' + st.perm.toString(8), ino: st.ino.toString(), atimeNs: st.atimeNs.toString(), mtimeNs: st.mtimeNs.toString(), ctimeNs: st.ctimeNs.toString(), ...dev };
}

/** Sizes as `ls -lh` and `du -h` print them: 512, 4.0K, 17M (rounded up, one decimal below 10). */
export function humanSize(n: number): string {
  const units = ['K', 'M', 'G', 'T', 'P', 'E'];
  if (n < 1024) return String(n);
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  if (v < 10) {
    const r = Math.ceil(v * 10) / 10;
    return r < 10 ? `${r.toFixed(1)}${units[i]}` : `10${units[i]}`;
  }
  const r = Math.ceil(v);
  return r < 1024 || i === units.length - 1 ? `${r}${units[i]}` : `1.0${units[i + 1]}`;
}

interface LongOpts { human?: boolean; names: { user(uid: number): string; group(gid: number): string } }

async function longLine(dfs: Dfs, path: string, name: string, st: Stat, o: LongOpts): Promise<string> {
  const target = st.type === 'symlink' ? ` -> ${await dfs.readlink(path)}` : '';
  const size = deviceString(st) ?? (o.human ? humanSize(st.size) : String(st.size));
  return `${modeString(st)} ${String(st.nlink).padStart(3)} ${o.names.user(st.uid).padEnd(8)} ${o.names.group(st.gid).padEnd(8)} ${size.padStart(o.human ? 5 : 12)} ${timeString(st.mtimeNs)} ${name}${target}\n`;
}

/** User and group names as `ls -l` shows them (numbers when the system has no name). */
async function ownerNames(): Promise<LongOpts['names']> {
  const { userName, groupName } = await containerLib();
  return { user: userName, group: groupName };
}

function out(s: string): Promise<void> {
  return new Promise((r) => { if (process.stdout.write(s)) r(); else process.stdout.once('drain', () => r()); });
}

type JsonList = ReturnType<typeof jsonList>;

async function listDir(dfs: Dfs, path: string, o: { l?: LongOpts; R?: boolean; json?: JsonList }, header: boolean, first: { v: boolean }): Promise<void> {
  const { joinPath } = await dfsLib();
  if (header) await out(`${first.v ? '' : '\n'}${path}:\n`);
  first.v = false;
  const subdirs: string[] = [];
  // Subdirectory names are kept for -R only (one level at a time).
  for await (const e of dfs.readdir(path, { stat: !!o.l || !!o.json })) {
    const p = joinPath(path, e.name);
    if (o.json) await o.json.item({ path: p, name: e.name, type: e.type, oid: e.oid, ...(e.stat ? statJson(e.stat) : {}) });
    else if (o.l) await out(await longLine(dfs, p, e.name, e.stat!, o.l));
    else await out(e.name + '\n');
    if (o.R && e.type === 'dir') subdirs.push(p);
  }
  for (const d of subdirs) await listDir(dfs, d, o, !o.json, first);
}

export function registerFilesystem(program: Command): void {
  const fsc = program.command('filesystem').alias('fs').description('POSIX filesystem in a POSIX container (daos://<pool>/<cont>/<path>)');

  snapOptions(fsc.command('ls').description('list a directory').argument('<uri>').helpOption('--help', 'display help for command')
    .option('-l', 'long listing').option('-h, --human-readable', 'with -l: sizes as 4.0K, 17M').option('-R', 'recursive')
    .option('--json', 'one JSON array of entries').option('--json-lines', 'one JSON object per line'))
    .action(async (uri: string, o: SnapOpts & { l?: boolean; humanReadable?: boolean; R?: boolean; json?: boolean; jsonLines?: boolean }, cmd: Command) => {
      await withDfs(cmd, uri, false, o, async (dfs, path) => {
        const json = o.json || o.jsonLines ? jsonList(out, !!o.jsonLines) : undefined;
        const long = o.l ? { human: o.humanReadable, names: await ownerNames() } : undefined;
        const st = await dfs.lstat(path);
        if (st.type !== 'dir' && !(st.type === 'symlink' && (await dfs.stat(path)).type === 'dir')) {
          if (json) await json.item({ path, ...statJson(st) });
          else await out(long ? await longLine(dfs, path, path, st, long) : path + '\n');
        } else {
          await listDir(dfs, path, { l: long, R: o.R, json }, !!o.R && !json, { v: true });
        }
        await json?.end();
      });
    });

  snapOptions(fsc.command('stat').description('show an entry\'s inode').argument('<uri>').option('--json', 'JSON output')
    .option('-L, --dereference', 'follow a final symlink'))
    .action(async (uri: string, o: SnapOpts & { json?: boolean; dereference?: boolean }, cmd: Command) => {
      const { fileTypeName } = await dfsLib();
      await withDfs(cmd, uri, false, o, async (dfs, path) => {
        const st = o.dereference ? await dfs.stat(path) : await dfs.lstat(path);
        if (o.json) return printJson({ path, ...statJson(st), ...(st.type === 'symlink' ? { target: await dfs.readlink(path) } : {}) });
        const lines = [
          `  File: ${path}${st.type === 'symlink' ? ` -> ${await dfs.readlink(path)}` : ''}`,
          `  Type: ${fileTypeName(st.type)}  Size: ${st.size}  Chunk: ${st.chunkSize}  Links: ${st.nlink}${deviceString(st) !== undefined ? `  Device type: ${deviceString(st)!.replace(' ', '')}` : ''}`,
          `  Mode: (0${st.perm.toString(8)}/${modeString(st)})  Uid: ${st.uid}  Gid: ${st.gid}  Oid: ${st.oid}`,
          `Access: ${timeString(st.atimeNs)}.${String(st.atimeNs % 1_000_000_000n).padStart(9, '0')}`,
          `Modify: ${timeString(st.mtimeNs)}.${String(st.mtimeNs % 1_000_000_000n).padStart(9, '0')}`,
          `Change: ${timeString(st.ctimeNs)}.${String(st.ctimeNs % 1_000_000_000n).padStart(9, '0')}`,
        ];
        await out(lines.join('\n') + '\n');
      });
    });

  snapOptions(fsc.command('mkdir').description('make a directory').argument('<uri>').option('-p, --parents', 'make parents as needed, no error if existing')
    .option('-m, --mode <octal>', 'permission bits'))
    .action(async (uri: string, o: SnapOpts & { parents?: boolean; mode?: string }, cmd: Command) => {
      await withDfs(cmd, uri, true, o, (dfs, path) => dfs.mkdir(path, { recursive: !!o.parents, mode: parseMode(o.mode, 0o777 & ~process.umask()) }));
    });

  snapOptions(fsc.command('rm').description('remove a file, symlink or empty directory (-r: a tree)').argument('<uri>').option('-r, --recursive', 'remove a tree'))
    .action(async (uri: string, o: SnapOpts & { recursive?: boolean }, cmd: Command) => {
      await withDfs(cmd, uri, true, o, async (dfs, path) => {
        const st = await dfs.lstat(path);
        if (st.type === 'dir' && !o.recursive) return dfs.rmdir(path);
        return dfs.remove(path, { recursive: !!o.recursive });
      });
    });

  snapOptions(fsc.command('mv').description('rename (within one container)').argument('<from>').argument('<to>'))
    .action(async (from: string, to: string, o: SnapOpts, cmd: Command) => {
      const a = await containerLocation(from);
      const b = await containerLocation(to);
      if (a.pool !== b.pool || a.cont !== b.cont) throw new StrataError('EXDEV', `mv: '${from}' and '${to}' are in different containers`);
      const { joinPath } = await dfsLib();
      await withDfs(cmd, from, true, o, async (dfs) => {
        let dest = b.path;
        // mv a dir/ -> into dir, like mv(1)
        if (await dfs.exists(dest)) {
          const st = await dfs.stat(dest).catch(() => undefined);
          if (st?.type === 'dir') {
            const src = await dfs.lstat(a.path);
            const name = a.path.split('/').filter(Boolean).pop() ?? '';
            if (src.type !== 'dir' || b.path.endsWith('/')) dest = joinPath(dest, name);
          }
        }
        await dfs.rename(a.path, dest);
      });
    });

  snapOptions(fsc.command('ln').description('make a symbolic link (-s TARGET URI) or a hard link (URI URI)').argument('<target>').argument('<uri>')
    .option('-s, --symbolic', 'symbolic link: TARGET is stored as given'))
    .action(async (target: string, uri: string, o: SnapOpts & { symbolic?: boolean }, cmd: Command) => {
      await withDfs(cmd, uri, true, o, async (dfs, path) => {
        if (o.symbolic) return dfs.symlink(target, path);
        const { resolveLocation } = await location();
        const tl = await resolveLocation(target);
        const t = tl.kind === 'container' ? tl : undefined;
        const u = await containerLocation(uri);
        if (t && (t.pool !== u.pool || t.cont !== u.cont)) throw new StrataError('EXDEV', 'ln: hard links cannot cross containers');
        return dfs.link(t ? t.path : target, path);
      });
    });

  snapOptions(fsc.command('chown').description('change the owner and/or group: OWNER[:GROUP] or :GROUP, names or numbers (only root changes the owner; the owner may change the group to one of its groups)')
    .argument('<owner>').argument('<uri>').option('-h, --no-dereference', 'change a symlink itself'))
    .action(async (spec: string, uri: string, o: SnapOpts & { dereference: boolean }, cmd: Command) => {
      const { uid, gid } = await parseOwner(spec);
      await withDfs(cmd, uri, true, o, (dfs, path) => (o.dereference ? dfs.chown(path, uid, gid) : dfs.lchown(path, uid, gid)));
    });

  snapOptions(fsc.command('chmod').description('change the permission bits (octal; only the owner or root)').argument('<mode>').argument('<uri>'))
    .action(async (mode: string, uri: string, o: SnapOpts, cmd: Command) => {
      const m = parseMode(mode, 0);
      await withDfs(cmd, uri, true, o, (dfs, path) => dfs.chmod(path, m));
    });

  snapOptions(fsc.command('touch').description('set the access and modification times to now (or -d TIME: only the owner or root); creates a missing file')
    .argument('<uri>').option('-d, --date <time>', 'this time instead of now (ISO 8601, or @SECONDS)'))
    .action(async (uri: string, o: SnapOpts & { date?: string }, cmd: Command) => {
      const t = o.date === undefined ? 'now' as const : parseTime(o.date);
      await withDfs(cmd, uri, true, o, async (dfs, path) => {
        if (!(await dfs.exists(path))) await (await dfs.open(path, { create: true, mode: 0o666 & ~process.umask() })).close();
        await dfs.utimens(path, t, t);
      });
    });

  snapOptions(fsc.command('truncate').description('set a file\'s size (data beyond it is dropped, a larger size leaves a hole)').argument('<uri>')
    .requiredOption('-s, --size <bytes>', 'the new size'))
    .action(async (uri: string, o: SnapOpts & { size: string }, cmd: Command) => {
      const size = o.size === '0' ? 0 : parseCount(o.size);
      await withDfs(cmd, uri, true, o, (dfs, path) => dfs.truncate(path, size));
    });

  snapOptions(fsc.command('cat').description('write a file to stdout').argument('<uri>'))
    .action(async (uri: string, o: SnapOpts, cmd: Command) => {
      const { getFile } = await dfsLib();
      await withDfs(cmd, uri, false, o, async (dfs, path) => { await getFile(dfs, path, process.stdout); });
    });

  snapOptions(fsc.command('put').description('copy a local file (or - for stdin) into the container').argument('<local>').argument('<uri>')
    .option('--chunk-size <bytes>', 'chunk size of the new file').option('-j, --parallel <n>', 'chunk writes in flight', '8')
    .option('-m, --mode <octal>', 'permission bits (default: the local file\'s)'))
    .action(async (local: string, uri: string, o: SnapOpts & { chunkSize?: string; parallel: string; mode?: string }, cmd: Command) => {
      const fsm = await import('node:fs');
      const { putFile, joinPath } = await dfsLib();
      let mode = 0o666 & ~process.umask();
      if (local !== '-') {
        try { mode = fsm.statSync(local).mode & 0o7777; } catch (e) { const { fromSystemError } = await import('../errors.js'); throw fromSystemError(e, `put ${local}`); }
      }
      await withDfs(cmd, uri, true, o, async (dfs, path) => {
        let dest = path;
        if (path.endsWith('/') || (await dfs.exists(path) && (await dfs.stat(path)).type === 'dir')) {
          if (local === '-') throw new StrataError('EISDIR', `put: ${uri} is a directory`);
          dest = joinPath(path, local.split('/').filter(Boolean).pop()!);
        }
        const r = await putFile(dfs, local === '-' ? process.stdin : local, dest, {
          parallel: parseCount(o.parallel), mode: parseMode(o.mode, mode), chunkSize: o.chunkSize ? parseCount(o.chunkSize) : undefined,
        });
        summary('put', r.bytes, r.seconds);
      });
    });

  snapOptions(fsc.command('get').description('copy a file out of the container to a local file (or - for stdout); holes stay holes').argument('<uri>').argument('<local>')
    .option('-j, --parallel <n>', 'chunk reads in flight', '8'))
    .action(async (uri: string, local: string, o: SnapOpts & { parallel: string }, cmd: Command) => {
      const { getFile, joinPath } = await dfsLib();
      await withDfs(cmd, uri, false, o, async (dfs, path) => {
        let dest = local;
        if (local !== '-') {
          const fsm = await import('node:fs');
          try { if (fsm.statSync(local).isDirectory()) dest = joinPath(local, path.split('/').filter(Boolean).pop() ?? 'root'); } catch { /* new file */ }
        }
        const r = await getFile(dfs, path, dest === '-' ? process.stdout : dest, { parallel: parseCount(o.parallel) });
        if (dest !== '-') summary('get', r.bytes, r.seconds);
      });
    });

  snapOptions(fsc.command('getfattr').description('list xattrs with values, or print one').argument('<uri>').argument('[name]')
    .option('--json', 'JSON output (values base64 and, when printable, text)'))
    .action(async (uri: string, name: string | undefined, o: SnapOpts & { json?: boolean }, cmd: Command) => {
      await withDfs(cmd, uri, false, o, async (dfs, path) => {
        const names = name !== undefined ? [name] : await dfs.listxattr(path);
        const vals: Array<[string, Buffer]> = [];
        for (const n of names) vals.push([n, Buffer.from(await dfs.getxattr(path, n))]);
        if (o.json) return printJson(Object.fromEntries(vals.map(([n, v]) => [n, { base64: v.toString('base64'), ...(isText(v) ? { text: v.toString('utf8') } : {}) }])));
        if (name !== undefined) return out(vals[0]![1].toString('utf8') + '\n');
        await out(vals.map(([n, v]) => `${n}=${isText(v) ? JSON.stringify(v.toString('utf8')) : '0s' + v.toString('base64')}\n`).join(''));
      });
    });

  snapOptions(fsc.command('setfattr').description('set an xattr').argument('<uri>').argument('<name>').argument('<value>'))
    .action(async (uri: string, name: string, value: string, o: SnapOpts, cmd: Command) => {
      await withDfs(cmd, uri, true, o, (dfs, path) => dfs.setxattr(path, name, value));
    });

  snapOptions(fsc.command('du').description('space used by a subtree (stored bytes exclude holes)').argument('<uri>').helpOption('--help', 'display help for command')
    .option('-h, --human-readable', 'sizes as 4.0K, 17M').option('--json', 'JSON output'))
    .action(async (uri: string, o: SnapOpts & { json?: boolean; humanReadable?: boolean }, cmd: Command) => {
      await withDfs(cmd, uri, false, o, async (dfs, path) => {
        const r = await dfs.du(path);
        if (o.json) return printJson({ path, ...r });
        const size = (n: number) => (o.humanReadable ? humanSize(n) : String(n));
        await out(`${size(r.storedBytes)}\t${size(r.apparentBytes)}\t${path}\t(${count(r.files, 'file')}, ${count(r.dirs, 'dir')}, ${count(r.symlinks, 'symlink')}; stored, apparent bytes)\n`);
      });
    });
}

function isText(b: Buffer): boolean {
  return !b.some((c) => (c < 0x20 && c !== 9 && c !== 10) || c === 0x7f) && Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

function parseMode(s: string | undefined, dflt: number): number {
  if (s === undefined) return dflt;
  if (!/^[0-7]{1,4}$/.test(s)) throw new StrataError('EINVAL', `bad mode '${s}' (octal, e.g. 755)`);
  return parseInt(s, 8);
}

/** OWNER[:GROUP] or :GROUP (user and group names or numbers). */
async function parseOwner(spec: string): Promise<{ uid?: number; gid?: number }> {
  const { uidOf, gidOf } = await containerLib();
  const m = /^([^:]*)(?::([^:]*))?$/.exec(spec);
  if (!m || (m[1] === '' && !m[2])) throw new StrataError('EINVAL', `bad owner '${spec}' (OWNER[:GROUP] or :GROUP)`);
  const uid = m[1] ? uidOf(m[1]) : undefined;
  if (m[1] && uid === undefined) throw new StrataError('EINVAL', `no user '${m[1]}'`);
  const gid = m[2] ? gidOf(m[2]) : undefined;
  if (m[2] && gid === undefined) throw new StrataError('EINVAL', `no group '${m[2]}'`);
  return { uid, gid };
}

function parseTime(s: string): bigint {
  const sec = /^@(\d+)(?:\.(\d{1,9}))?$/.exec(s);
  if (sec) return BigInt(sec[1]!) * 1_000_000_000n + BigInt((sec[2] ?? '').padEnd(9, '0'));
  const ms = Date.parse(s);
  if (Number.isNaN(ms) || ms < 0) throw new StrataError('EINVAL', `bad time '${s}' (ISO 8601, or @SECONDS)`);
  return BigInt(ms) * 1_000_000n;
}

function parseCount(s: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(s.trim());
  if (!m) throw new StrataError('EINVAL', `bad number '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n) || n <= 0) throw new StrataError('EINVAL', `bad number '${s}'`);
  return n;
}

function summary(what: string, bytes: number, seconds: number): void {
  const mbs = seconds > 0 ? bytes / 1e6 / seconds : 0;
  process.stderr.write(`${what}: 1 file, ${bytes} bytes, ${seconds.toFixed(2)} s, ${mbs.toFixed(1)} MB/s\n`);
}

export type { DirEntry };
