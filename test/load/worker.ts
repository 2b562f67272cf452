// One load-suite process: runs a seeded random plan of file operations against
// the container through one backend (library, CLI or FUSE mount) until its
// deadline, and appends a JSON line to its log for every operation that
// returned success (the test rebuilds the expected namespace from these).
//
// Ownership keeps the expected state well defined while directories are
// shared: every name this process makes starts with p<id>-, and only this
// process creates, changes, renames or removes such names. Name classes:
//   p<id>-a<k>  whole versions only (atomic create, or temp file + rename over,
//               or a one-transaction replace); other processes read these
//   p<id>-i<k>  changed in place (truncate + write, pwrite, truncate); only the owner reads them
//   p<id>-t<k>  temp files on their way to an a-name
//   p<id>-d<k>  directories (in shared directories or in /p<id>)
//
// Log lines: {o:'v',v,n} version attempted; {o:'w',p,n,h} file content;
// {o:'mv',a,b}; {o:'rm',p}; {o:'mkdir',p}; {o:'rmdir',p}; {o:'seen',w,v,n}
// another process's version read; {o:'bad',...} a failed check; {o:'err',...}
// an operation failing unexpectedly (followed by what was observed);
// {o:'stall',...}; {o:'end',...}.
import fs from 'node:fs';
import path from 'node:path';
import { CliBackend, FuseBackend, LibBackend, codeOf, type Backend, type Kind } from './backends.js';
import { HEADER, content, sha1, verify } from './content.js';
import { rng } from '../rng.js';

export interface WorkerArgs {
  id: number;
  kind: Kind;
  seed: number;
  seconds: number;
  log: string;
  pool: string;
  cont: string;
  shared: string[];
  /** fuse: the mountpoint (container root). */
  root?: string;
  /** cli: the strata script, the daos:// base URI, a scratch directory. */
  cli?: string;
  base?: string;
  scratch?: string;
  /** An operation running longer than this is logged as a stall. */
  stallMs: number;
}

type Cls = 'a' | 'i' | 't';
interface FileM { data: Buffer; ver?: number }

const join = (d: string, n: string) => (d === '/' ? `/${n}` : `${d}/${n}`);
const parentOf = (p: string) => path.posix.dirname(p);
const clsOf = (p: string): Cls => /-([ait])\d+$/.exec(p)![1] as Cls;

async function main(): Promise<void> {
  const a = JSON.parse(process.argv[2]!) as WorkerArgs;
  const logFd = fs.openSync(a.log, 'a');
  const log = (o: Record<string, unknown>) => fs.writeSync(logFd, JSON.stringify(o) + '\n');
  const r = rng(a.seed);
  const id = a.id;
  const me = `p${id}-`;
  const home = `/p${id}`;
  let b: Backend;
  if (a.kind === 'lib') b = await LibBackend.open(a.pool, a.cont);
  else if (a.kind === 'fuse') b = new FuseBackend(a.root!);
  else b = new CliBackend(a.cli!, a.base!, a.scratch!, Math.max(a.stallMs, 30000));

  const files = new Map<string, FileM>();
  const dirs = new Set<string>(); // own directories
  let k = 0;
  let ver = 0;
  const counts: Record<string, number> = {};
  const stats = { ownReads: 0, otherReads: 0, vanished: 0, gone: 0, listings: 0, bad: 0, errors: 0, stalls: 0 };
  const count = (op: string) => { counts[op] = (counts[op] ?? 0) + 1; };
  const bad = (o: Record<string, unknown>) => { stats.bad++; log({ o: 'bad', ...o }); };

  const wrote = (p: string, data: Buffer, v?: number) => {
    files.set(p, { data, ver: v });
    log({ o: 'w', p, n: data.length, h: sha1(data) });
  };
  const moved = (from: string, to: string) => {
    if (dirs.has(from)) {
      const pre = from + '/';
      for (const d of [...dirs]) if (d === from || d.startsWith(pre)) { dirs.delete(d); dirs.add(to + d.slice(from.length)); }
      for (const [p, f] of [...files]) if (p.startsWith(pre)) { files.delete(p); files.set(to + p.slice(from.length), f); }
    } else {
      const f = files.get(from)!;
      files.delete(from);
      files.set(to, f);
    }
    log({ o: 'mv', a: from, b: to });
  };
  const removed = (p: string) => { files.delete(p); log({ o: 'rm', p }); };

  const pickSize = (max = 1_600_000) => {
    const x = r.next();
    const n = x < 0.45 ? r.int(HEADER, 4096) : x < 0.8 ? r.int(4097, 100_000) : x < 0.97 ? r.int(100_001, 400_000) : r.int(1_000_000, 1_600_000);
    return Math.min(n, max);
  };
  const newVersion = (size: number): { v: number; data: Buffer } => {
    const v = ++ver;
    log({ o: 'v', v, n: size });
    return { v, data: content(id, v, size) };
  };
  const placeDirs = () => [...a.shared, ...dirs];
  const mkdirParents = () => [...a.shared, home];
  const own = (cls?: Cls) => [...files.keys()].filter((p) => !cls || clsOf(p) === cls);
  const fresh = (cls: Cls | 'd') => `${me}${cls}${k++}`;
  const ownDirs = () => [...dirs].filter((d) => d !== home);

  // ---- operations: each throws only on an unexpected failure ----
  interface Op { name: string; w: number; run(): Promise<void> }
  // The own paths the running operation changes (files, directories): resynced if it fails.
  let cur: string[] = [];
  let curDirs: string[] = [];
  let ran = false;
  const touch = (...ps: string[]) => { ran = true; cur.push(...ps); };
  const touchDir = (...ps: string[]) => { ran = true; curDirs.push(...ps); };

  const writeWhole = async (p: string, size: number, replaceIfLib: boolean) => {
    const { v, data } = newVersion(size);
    if (replaceIfLib && b.replace && r.chance(0.5)) {
      touch(p);
      await b.replace(p, data);
      wrote(p, data, v);
      return;
    }
    if (!files.has(p) && size <= b.atomicCreateMax) {
      touch(p);
      await b.create(p, data);
      wrote(p, data, v);
      return;
    }
    // Temp file in the target's directory (or in our own), then rename (over the old version).
    const tmp = join(r.chance(0.7) ? parentOf(p) : r.pick([home, ...a.shared]), fresh('t'));
    touch(tmp, p);
    await b.create(tmp, data);
    wrote(tmp, data, v);
    await b.rename(tmp, p);
    moved(tmp, p);
  };

  const ops: Op[] = [
    {
      name: 'create', w: 12, run: async () => {
        const p = join(r.pick(placeDirs()), fresh(r.chance(0.75) ? 'a' : 'i'));
        if (clsOf(p) === 'i') { const { v, data } = newVersion(pickSize(300_000)); touch(p); await b.create(p, data); wrote(p, data, v); } else await writeWhole(p, pickSize(), false);
      },
    },
    {
      name: 'replace', w: 12, run: async () => {
        const c = own('a');
        if (c.length === 0) return;
        await writeWhole(r.pick(c), pickSize(), true);
      },
    },
    {
      name: 'modify', w: 8, run: async () => {
        const c = own('i');
        if (c.length === 0) return;
        const p = r.pick(c);
        const old = files.get(p)!.data;
        touch(p);
        const x = r.next();
        if (x < 0.4 && b.pwrite) {
          const off = r.int(0, old.length + 16384);
          const piece = content(id, ++ver, r.int(HEADER, 70_000));
          await b.pwrite(p, piece, off);
          const next = Buffer.alloc(Math.max(old.length, off + piece.length));
          old.copy(next);
          piece.copy(next, off);
          wrote(p, next);
        } else if (x < 0.6 && b.truncate) {
          const n = r.int(0, Math.floor(old.length * 1.5) + 10);
          await b.truncate(p, n);
          const next = Buffer.alloc(n);
          old.copy(next, 0, 0, Math.min(n, old.length));
          wrote(p, next);
        } else {
          const { v, data } = newVersion(pickSize(300_000));
          await b.overwrite(p, data);
          wrote(p, data, v);
        }
      },
    },
    {
      name: 'rename', w: 14, run: async () => {
        const c = [...own('a'), ...own('i')];
        if (c.length === 0) return;
        const from = r.pick(c);
        const same = own(clsOf(from)).filter((p) => p !== from);
        const to = same.length > 0 && r.chance(0.4) ? r.pick(same) : join(r.pick(placeDirs()), fresh(clsOf(from)));
        touch(from, to);
        await b.rename(from, to);
        moved(from, to);
      },
    },
    {
      name: 'unlink', w: 7, run: async () => {
        const c = own();
        if (c.length === 0) return;
        const p = r.pick(c);
        touch(p);
        await b.unlink(p);
        removed(p);
      },
    },
    {
      name: 'read', w: 10, run: async () => {
        const c = own();
        if (c.length === 0) return;
        const p = r.pick(c);
        touch(p);
        const got = await b.read(p);
        stats.ownReads++;
        const want = files.get(p)!.data;
        if (!got.equals(want)) bad({ kind: 'own-read', p, n: got.length, h: sha1(got), want: want.length, wantH: sha1(want) });
      },
    },
    {
      name: 'list', w: 14, run: async () => {
        const dir = r.chance(0.85) || dirs.size === 0 ? r.pick(a.shared) : r.pick([...dirs]);
        ran = true;
        const ents = await b.list(dir);
        stats.listings++;
        // Our own entries in it must be exactly what we made there.
        const want = [...[...files.keys()].filter((p) => parentOf(p) === dir).map((p) => `${path.posix.basename(p)} file`),
          ...[...dirs].filter((d) => d !== home && parentOf(d) === dir).map((d) => `${path.posix.basename(d)} dir`)].sort();
        const got = ents.filter((e) => e.name.startsWith(me)).map((e) => `${e.name} ${e.type}`).sort();
        if (want.join('|') !== got.join('|')) bad({ kind: 'listing', dir, missing: want.filter((x) => !got.includes(x)), extra: got.filter((x) => !want.includes(x)) });
        // Read other processes' whole-version files found there.
        const theirs = ents.filter((e) => e.type === 'file' && /^p(\d+)-a\d+$/.test(e.name) && !e.name.startsWith(me));
        for (let i = 0; i < (b.kind === 'cli' ? 1 : 2) && theirs.length > 0; i++) {
          const e = theirs.splice(r.int(0, theirs.length - 1), 1)[0]!;
          const owner = Number(/^p(\d+)-/.exec(e.name)![1]);
          const p = join(dir, e.name);
          let buf: Buffer;
          try {
            buf = await b.read(p);
          } catch (err) {
            // Renamed or removed by its owner since the listing.
            if (['ENOENT', 'ESTALE'].includes(codeOf(err))) { stats.gone++; continue; }
            throw err;
          }
          stats.otherReads++;
          const v = verify(buf, owner);
          if (v.kind === 'ok') log({ o: 'seen', w: owner, v: v.ver, n: v.size, p });
          else if (v.kind === 'vanished') { stats.vanished++; if (v.ver !== undefined) log({ o: 'seen', w: owner, v: v.ver, n: v.size, p, partial: true }); }
          else bad({ kind: 'torn', p, owner, why: v.why, n: buf.length, h: sha1(buf) });
        }
      },
    },
    {
      name: 'mkdir', w: 3, run: async () => {
        if (ownDirs().length >= 8) return;
        const p = join(r.pick(mkdirParents()), fresh('d'));
        touchDir(p);
        await b.mkdir(p);
        dirs.add(p);
        log({ o: 'mkdir', p });
      },
    },
    {
      name: 'rmdir', w: 3, run: async () => {
        const c = ownDirs().filter((d) => ![...files.keys()].some((p) => p.startsWith(d + '/')));
        if (c.length === 0) return;
        const p = r.pick(c);
        touchDir(p);
        await b.rmdir(p);
        dirs.delete(p);
        log({ o: 'rmdir', p });
      },
    },
    {
      name: 'rename-dir', w: 3, run: async () => {
        const c = ownDirs();
        if (c.length === 0) return;
        const from = r.pick(c);
        const to = join(r.pick(mkdirParents()), fresh('d'));
        touchDir(from, to);
        await b.rename(from, to);
        moved(from, to);
      },
    },
  ];

  /** After an unexpected failure: what is really there now becomes the model (and is logged as such). */
  const resync = async () => {
    for (const p of new Set(cur)) {
      const st = await b.stat(p);
      if (st?.type === 'file') wrote(p, await b.read(p));
      else if (!st && files.has(p)) removed(p);
    }
    if (curDirs.length === 2) {
      const [from, to] = curDirs as [string, string];
      if (dirs.has(from) && !(await b.stat(from)) && (await b.stat(to))?.type === 'dir') moved(from, to);
    } else if (curDirs.length === 1) {
      const p = curDirs[0]!;
      const st = await b.stat(p);
      if (st?.type === 'dir' && !dirs.has(p)) { dirs.add(p); log({ o: 'mkdir', p }); }
      if (!st && dirs.has(p)) { dirs.delete(p); log({ o: 'rmdir', p }); }
    }
  };

  const deadline = Date.now() + a.seconds * 1000;
  // Our own top directory first.
  try { await b.mkdir(home); dirs.add(home); log({ o: 'mkdir', p: home }); count('mkdir'); } catch (e) { log({ o: 'err', op: 'mkdir', paths: [home], code: codeOf(e), msg: String((e as Error).message) }); stats.errors++; }
  let n = 0;
  while (Date.now() < deadline) {
    const live = files.size;
    const weights = ops.map((op) => (op.name === 'create' && live > 40 ? 2 : op.name === 'unlink' && live > 40 ? 20 : op.w));
    let x = r.next() * weights.reduce((s, w) => s + w, 0);
    let i = 0;
    while ((x -= weights[i]!) > 0) i++;
    const op = ops[i]!;
    cur = [];
    curDirs = [];
    ran = false;
    const t0 = Date.now();
    const stall = setTimeout(() => { stats.stalls++; log({ o: 'stall', op: op.name, paths: [...cur, ...curDirs], ms: Date.now() - t0 }); }, a.stallMs);
    try {
      await op.run();
      if (ran) { count(op.name); n++; }
    } catch (e) {
      stats.errors++;
      const paths = [...cur, ...curDirs];
      log({ o: 'err', op: op.name, paths, code: codeOf(e), msg: String((e as Error).message).slice(0, 500) });
      try {
        await resync();
      } catch (e2) {
        // The state of these paths is unknown now: the test leaves them out of the comparison.
        log({ o: 'err', op: 'resync', paths, code: codeOf(e2), msg: String((e2 as Error).message).slice(0, 500) });
        log({ o: 'unknown', paths });
      }
    } finally {
      clearTimeout(stall);
    }
  }
  const commands = b instanceof CliBackend ? b.commands : undefined;
  await b.close();
  log({ o: 'end', ops: n, counts, ...stats, commands });
  fs.closeSync(logFd);
}

main().catch((e) => {
  process.stderr.write(`load worker: ${(e as Error).stack ?? e}\n`);
  process.exit(2);
});
