// The tier as a FUSE filesystem: decodes kernel requests, maps them onto
// pools, containers, snapshots and DFS calls, and encodes the replies.
// This file dispatches each request to the module that handles it: lookup.ts
// (names), attr.ts (attributes), dir-ops.ts, file-ops.ts, xattr-ops.ts; the
// checks are in access.ts, the state of uncommitted changes in pending.ts.
//
// Layout (mounting everything): /<pool-uuid>/<cont-uuid>/<dfs path>; labels
// resolve on lookup too. A POSIX container's root also answers the hidden name
// `.snapshots` (not listed): one read-only directory per snapshot (by name,
// or by epoch for unnamed ones). Non-POSIX containers show as empty read-only
// directories.
//
// Access: the kernel checks mode bits for each caller (default_permissions);
// strata checks the pool and container ACLs for the user who mounts, or with
// aclPerCaller for the caller of every request too (uid, gid and the
// supplementary groups of the calling process).
import fs from 'node:fs';
import type { Engine } from '../engine/types.js';
import type { ContainerRecord } from '../container/container.js';
import type { PoolRecord } from '../container/pool.js';
import { ROOT_OID, PATH_MAX } from '../dfs/index.js';
import type { Channel } from './channel.js';
import { StrataError } from '../errors.js';
import {
  ERRNO, INIT, OP, OP_NAME,
  attrOut, cstr, initOut, statfsOut,
  type InHeader,
} from './proto.js';
import { NodeTable, type Node, type NodeKind } from './nodes.js';
import { Fail, errnoOf } from './fail.js';
import { Access } from './access.js';
import { Mounts } from './mounts.js';
import { PendingChanges, okey } from './pending.js';
import { Attrs } from './attr.js';
import { FileOps } from './file-ops.js';
import { Lookup } from './lookup.js';
import { DirOps } from './dir-ops.js';
import { XattrOps } from './xattr-ops.js';
import { RequestStats } from './stats.js';

export type TierRoot =
  | { kind: 'all' }
  | { kind: 'pool'; pool: PoolRecord }
  | { kind: 'cont'; pool: PoolRecord; cont: ContainerRecord };

export interface TierFsOptions {
  /**
   * Check the pool and container ACLs for the caller of each request as well
   * (a shared multi-user mount); by default they are checked for the user who
   * mounts, and mode bits decide for each caller (default_permissions).
   */
  aclPerCaller?: boolean;
  /** Seconds the kernel may cache names and attributes (default 1). */
  entryTimeout?: number;
  attrTimeout?: number;
  /** Largest WRITE the kernel sends (default 1 MiB). */
  maxWrite?: number;
  /** Chunk transactions in flight per open file (default 8). */
  writeInflight?: number;
  /** Chunks read ahead on sequential reads (default 8). */
  readAhead?: number;
  /** Log every request to stderr. */
  debug?: boolean;
  /**
   * Metadata write-back (weaker, dfuse-like): close, mkdir, symlink and
   * setattr are answered before their commit, which follows within
   * milliseconds in a batch; fsync still waits. Default off: every answered
   * change except writes into an open file is committed (close-to-open for
   * other clients). `STRATA_MOUNT_WRITEBACK=1` turns it on for `strata mount`.
   */
  writeBack?: boolean;
}

export class TierFs {
  readonly table: NodeTable;
  private nextFh = 1n;
  private readonly access: Access;
  private readonly mounts: Mounts;
  private readonly meta: PendingChanges;
  private readonly attrs: Attrs;
  private readonly files: FileOps;
  private readonly lookups: Lookup;
  private readonly dirOps: DirOps;
  private readonly xattrs: XattrOps;
  private readonly stats = process.env['STRATA_FUSE_STATS'] ? new RequestStats() : undefined;
  readonly maxWrite: number;
  /** See TierFsOptions.writeBack. */
  readonly writeBack: boolean;
  private initDone!: () => void;
  /** Resolves once the kernel's INIT has been answered. */
  readonly ready: Promise<void> = new Promise((r) => { this.initDone = r; });

  constructor(private readonly engine: Engine, private readonly root: TierRoot, private readonly ch: Channel, private readonly opts: TierFsOptions = {}) {
    this.maxWrite = opts.maxWrite ?? 1 << 20;
    this.writeBack = opts.writeBack ?? process.env['STRATA_MOUNT_WRITEBACK'] === '1';
    const kind: NodeKind = root.kind === 'all' ? 'root' : root.kind === 'pool' ? 'pool' : root.cont.type === 'POSIX' ? 'cont' : 'empty';
    const init: Partial<Node> = {};
    if (root.kind !== 'all') init.poolUuid = root.pool.uuid;
    if (root.kind === 'cont') { init.contUuid = root.cont.uuid; init.oid = ROOT_OID; init.type = 'dir'; init.mntRoot = true; }
    this.table = new NodeTable(kind, init);
    const newFh = () => this.nextFh++;
    this.access = new Access(engine, opts.aclPerCaller);
    this.mounts = new Mounts(engine);
    this.meta = new PendingChanges(this.table, this.writeBack);
    this.files = new FileOps(this.table, this.access, this.meta, newFh, opts, () => engine.sync());
    this.attrs = new Attrs(this.access, this.meta, this.files, opts.entryTimeout ?? 1, opts.attrTimeout ?? 1);
    this.lookups = new Lookup(engine, this.table, this.access, this.mounts, this.meta, this.attrs);
    this.dirOps = new DirOps(engine, this.table, this.access, this.meta, this.attrs, this.files, newFh);
    this.xattrs = new XattrOps(this.access, this.meta);
  }

  /** Prepares the root node (mounts the container when a single container is mounted). */
  async prepare(): Promise<void> {
    if (this.root.kind === 'cont' && this.root.cont.type === 'POSIX') {
      this.table.root.mnt = await this.mounts.mntFor(this.root.cont, undefined);
    }
  }

  // ---- plumbing ----

  /** Entry point for every request read from /dev/fuse. */
  handle(h: InHeader, body: Buffer): void {
    if (this.opts.debug) process.stderr.write(`fuse: ${OP_NAME[h.opcode] ?? h.opcode} node ${h.nodeid} uid ${h.uid}\n`);
    switch (h.opcode) {
      case OP.INIT: return this.init(h, body);
      case OP.FORGET: this.table.forget(h.nodeid, Number(body.readBigUInt64LE(0))); return;
      case OP.BATCH_FORGET: {
        const n = body.readUInt32LE(0);
        for (let i = 0; i < n; i++) this.table.forget(body.readBigUInt64LE(8 + i * 16), Number(body.readBigUInt64LE(16 + i * 16)));
        return;
      }
      case OP.INTERRUPT: return;
      case OP.DESTROY: this.ch.reply(h.unique, 0); return;
    }
    const t0 = this.stats ? process.hrtime.bigint() : 0n;
    // Close-to-open between clients: what another client committed before this request is seen by it.
    this.engine.refresh();
    this.op(h, body).then(
      (out) => { this.invalidate(h, body); this.ch.reply(h.unique, 0, ...out); if (this.stats) this.stats.count(h.opcode, t0); },
      (e: unknown) => {
        this.invalidate(h, body);
        if (this.stats) this.stats.count(h.opcode, t0);
        const errno = errnoOf(e);
        if (errno === ERRNO['EIO'] || this.opts.debug) {
          // One line for errors strata knows (a damaged record, a disk error);
          // the stack trace only for anything else (a bug) or with --debug.
          const known = e instanceof StrataError || e instanceof Fail || typeof (e as NodeJS.ErrnoException)?.code === 'string';
          const text = this.opts.debug || !known ? (e as Error)?.stack ?? String(e) : (e as Error).message;
          process.stderr.write(`strata mount: ${OP_NAME[h.opcode] ?? h.opcode}: ${text}\n`);
        }
        this.ch.reply(h.unique, -errno);
      },
    );
  }

  /** Work running in the background whose completion needs the event loop (see Channel.serve). */
  background(): boolean {
    return this.meta.busy || this.files.busy;
  }

  /** Requests served so far per opcode: count and total microseconds from read to reply (STRATA_FUSE_STATS). */
  statsReport(): Record<string, { n: number; us: number }> { return this.stats?.report() ?? {}; }

  private init(h: InHeader, body: Buffer): void {
    const major = body.readUInt32LE(0);
    const kflags = body.readUInt32LE(12);
    if (major !== 7) { this.ch.reply(h.unique, -ERRNO['EPROTO']!); return; }
    // HANDLE_KILLPRIV: strata clears suid/sgid on write, truncate and chown itself, so the
    // kernel does not fetch attributes (GETATTR) before every chown.
    const want = INIT.ASYNC_READ | INIT.ATOMIC_O_TRUNC | INIT.BIG_WRITES | INIT.AUTO_INVAL_DATA | INIT.PARALLEL_DIROPS | INIT.MAX_PAGES | INIT.ASYNC_DIO | INIT.HANDLE_KILLPRIV;
    this.ch.reply(h.unique, 0, initOut({
      maxReadahead: 4 << 20, flags: want & kflags, maxBackground: 64, congestion: 48,
      maxWrite: this.maxWrite, maxPages: Math.ceil(this.maxWrite / 4096),
    }));
    this.initDone();
  }

  private node(id: bigint): Node {
    const n = this.table.get(id);
    if (!n) throw new Fail(ERRNO['ENOENT']!, `stale node ${id}`);
    return n;
  }

  /** Commits every pending change (held creations included) and waits: a barrier before namespace reads and changes, fsync, unmount. */
  async drain(): Promise<void> {
    await this.meta.drain();
  }

  // ---- the operations ----

  /** Forgets cached attributes of what a request may change. */
  private invalidate(h: InHeader, body: Buffer): void {
    const attrCache = this.meta.attrCache;
    if (attrCache.size === 0) return;
    switch (h.opcode) {
      case OP.LOOKUP: case OP.GETATTR: case OP.READ: case OP.READLINK: case OP.OPENDIR: case OP.READDIR: case OP.RELEASEDIR:
      case OP.GETXATTR: case OP.LISTXATTR: case OP.ACCESS: case OP.STATFS:
        return;
      case OP.MKDIR: case OP.MKNOD: case OP.SYMLINK: case OP.CREATE: {
        // The parent directory's nlink (a new subdirectory), mtime and ctime change.
        const p = this.table.get(h.nodeid);
        if (p?.mnt && p.oid) attrCache.delete(okey(p.mnt, p.oid));
        return;
      }
      case OP.WRITE: case OP.FLUSH: case OP.FSYNC: case OP.RELEASE: case OP.OPEN: case OP.SETATTR: case OP.SETXATTR: case OP.REMOVEXATTR: {
        const n = this.table.get(h.nodeid);
        if (n?.mnt && n.oid) attrCache.delete(okey(n.mnt, n.oid));
        const fh = h.opcode === OP.WRITE || h.opcode === OP.FLUSH || h.opcode === OP.FSYNC || h.opcode === OP.RELEASE ? this.files.handles.get(body.readBigUInt64LE(0)) : undefined;
        if (fh?.node.mnt && fh.node.oid) attrCache.delete(okey(fh.node.mnt, fh.node.oid));
        return;
      }
      default: attrCache.clear(); // unlink, rmdir, rename, link: nlink/ctime of others change
    }
  }

  private async op(h: InHeader, body: Buffer): Promise<Buffer[]> {
    this.invalidate(h, body);
    switch (h.opcode) {
      case OP.LOOKUP: return this.lookups.lookup(h, this.node(h.nodeid), cstr(body, 0)[0]);
      case OP.GETATTR: {
        const n = this.node(h.nodeid);
        return [attrOut(await this.attrs.attr(n), this.attrs.attrTimeout)];
      }
      case OP.SETATTR: return this.attrs.setattr(h, this.node(h.nodeid), body);
      case OP.READLINK: return this.lookups.readlink(h, this.node(h.nodeid));
      case OP.MKDIR: {
        const mode = body.readUInt32LE(0);
        return this.dirOps.create(h, this.node(h.nodeid), cstr(body, 8)[0], 'dir', mode);
      }
      case OP.MKNOD: {
        // struct fuse_mknod_in: mode (with the type bits), rdev (the kernel's 32-bit encoding), umask, padding.
        return this.dirOps.mknod(h, this.node(h.nodeid), cstr(body, 16)[0], body.readUInt32LE(0), body.readUInt32LE(4));
      }
      case OP.SYMLINK: {
        const [name, at] = cstr(body, 0);
        const [target] = cstr(body, at);
        if (target.length === 0) throw new Fail(ERRNO['ENOENT']!);
        if (Buffer.byteLength(target) >= PATH_MAX) throw new Fail(ERRNO['ENAMETOOLONG']!);
        return this.dirOps.create(h, this.node(h.nodeid), name, 'symlink', 0o777, target);
      }
      case OP.CREATE: return this.dirOps.createOpen(h, this.node(h.nodeid), body);
      case OP.UNLINK: case OP.RMDIR: return this.dirOps.remove(h, this.node(h.nodeid), cstr(body, 0)[0], h.opcode === OP.RMDIR);
      case OP.RENAME: {
        const newdir = body.readBigUInt64LE(0);
        const [from, at] = cstr(body, 8);
        return this.dirOps.rename(h, this.node(h.nodeid), from, this.node(newdir), cstr(body, at)[0], 0);
      }
      case OP.RENAME2: {
        const newdir = body.readBigUInt64LE(0);
        const flags = body.readUInt32LE(8);
        const [from, at] = cstr(body, 16);
        return this.dirOps.rename(h, this.node(h.nodeid), from, this.node(newdir), cstr(body, at)[0], flags);
      }
      case OP.LINK: return this.dirOps.link(h, this.node(body.readBigUInt64LE(0)), this.node(h.nodeid), cstr(body, 8)[0]);
      case OP.OPEN: return this.files.open(h, this.node(h.nodeid), body.readUInt32LE(0));
      case OP.READ: return this.files.read(body);
      case OP.WRITE: return this.files.write(body);
      case OP.FLUSH: return this.files.flush(body.readBigUInt64LE(0));
      case OP.FSYNC: return this.files.fsync(body.readBigUInt64LE(0));
      case OP.RELEASE: return this.files.release(body.readBigUInt64LE(0));
      case OP.OPENDIR: return this.dirOps.opendir(h, this.node(h.nodeid));
      case OP.READDIR: return this.dirOps.readdir(body);
      case OP.RELEASEDIR: return this.dirOps.releasedir(body.readBigUInt64LE(0));
      case OP.FSYNCDIR: await this.drain(); await this.engine.sync(); return [];
      case OP.STATFS: return [this.statfs()];
      case OP.SETXATTR: return this.xattrs.setxattr(h, this.node(h.nodeid), body);
      case OP.GETXATTR: return this.xattrs.getxattr(h, this.node(h.nodeid), body);
      case OP.LISTXATTR: return this.xattrs.listxattr(h, this.node(h.nodeid), body);
      case OP.REMOVEXATTR: return this.xattrs.removexattr(h, this.node(h.nodeid), body);
      case OP.ACCESS: {
        const n = this.node(h.nodeid);
        const mask = body.readUInt32LE(0);
        await this.access.check(h, n, mask & 2 ? 'w' : 'r');
        return [];
      }
      default:
        throw new Fail(ERRNO['ENOSYS']!);
    }
  }

  private statfs(): Buffer {
    const loc = this.engine.location;
    let s: fs.StatsFs | undefined;
    try { if (loc.startsWith('/')) s = fs.statfsSync(loc); } catch { /* not a local path */ }
    const bsize = 4096;
    if (!s) return statfsOut({ blocks: 1 << 30, bfree: 1 << 30, bavail: 1 << 30, files: 1 << 30, ffree: 1 << 30, bsize, namelen: 255, frsize: bsize });
    const f = s.bsize / bsize;
    return statfsOut({ blocks: s.blocks * f, bfree: s.bfree * f, bavail: s.bavail * f, files: 1 << 30, ffree: 1 << 30, bsize, namelen: 255, frsize: bsize });
  }

  /** Commits every open handle's buffered writes (on unmount or signal). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.files.handles.values()].map((hd) => this.files.flushHandle(hd).catch(() => undefined)));
    await this.drain();
    await this.engine.sync();
  }
}
